// Package jushuitan reads data from the 聚水潭 Jushuitan open platform
// ("openweb", https://openapi.jushuitan.com) for erpsync.
//
// client.go is the protocol client: it builds the signed form POST (app_key,
// access_token, timestamp, charset, version, biz, sign), decodes the
// {"code","msg","data"} envelope, translates the poll engine's 0-based page
// into page_index (from 1), extracts each document's id and modified time,
// refreshes the merchant's access token when the platform reports it
// expired (self-built apps only; service-provider apps must be
// re-authorized), and classifies every failure as a *vendor.Error. It knows
// nothing of Benthos, so it can be used and tested on its own.
//
// The Benthos input that drives the client through the poll engine lives in
// input_jushuitan.go. The contract the client follows is
// docs/vendors/jushuitan.md; the legacy ERP API on open.erp321.com is a
// different protocol and is not spoken here.
package jushuitan
