// Package jushuitan reads data from the 聚水潭 Jushuitan open platform
// ("openweb", https://openapi.jushuitan.com) for erpsync.
//
// client.go is the protocol client: it builds the signed form POST (app_key,
// access_token, timestamp, charset, version, biz, sign), decodes the
// {"code","msg","data"} envelope, translates the poll engine's 0-based page
// into page_index (from 1), extracts each document's id and modified time,
// refreshes the merchant's access token when the platform reports it
// expired (self-built apps with a refresh_token; service-provider apps and
// inputs without a refresh_token stop with a re-authorization error), and
// classifies every failure as a *vendor.Error. It knows
// nothing of Benthos, so it can be used and tested on its own.
//
// The Benthos input that drives the client through the poll engine lives in
// input_jushuitan.go. The contract the client follows is
// docs/vendors/jushuitan.md; the legacy ERP API on open.erp321.com is a
// different protocol and is not spoken here.
//
// # What an answer promises, and what the client does when it breaks it
//
//   - Window filter fields: other/inout's modified_begin/modified_end filter
//     on modified (io_date with date_type 2) [C contract 5.2]; unique-code
//     flows' create_time_start/create_time_end on create_time [C 5.3], which
//     never changes once a flow exists (StableFilter). Document.Filter is
//     read from that field, Document.Modified from modified /
//     modified_time: they differ by hours on real flows.
//   - other/inout always answers a page object (datas, has_next,
//     page_count, data_count) [C JSTJ response class]: data null, or no
//     datas while data_count counts documents, is an inconsistent answer
//     (transient, asked again), never an empty window.
//   - has_next and page_index < page_count are both honoured: when they
//     disagree, one more page is read [I: the docs do not say which wins;
//     this reading cannot lose documents]. Total is data_count, Size the
//     page_size the answer reports.
//   - Unique-code flows answer a bare array without counts [C]: a null or
//     empty array is an empty page, and only a short page can end a read
//     [I: the docs are silent on both]. Their window filters on the create
//     time, which never changes (StableFilter), so the poll engine ends a
//     window on a short page sorted by it at once and starts the next
//     window at the page's newest create_time (plugins/poll rule 7); an
//     empty answer, or one in another order, is confirmed by asking again.
//   - Sort order: undocumented for both interfaces [I]; the engine verifies
//     what it relies on (plugins/poll).
package jushuitan
