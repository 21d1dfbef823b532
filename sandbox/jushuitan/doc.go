// Package jushuitan simulates the 聚水潭 Jushuitan open platform ("openweb")
// as described in docs/vendors/jushuitan.md, for the erpsync sandbox.
//
// # Interfaces
//
//   - POST /open/other/inout/query: other in/out bills (dataset
//     jushuitan_other_inout, Doc.ID = io_id in decimal).
//   - POST /open/webapi/wmsapi/skusn/queryinoutitemskusns: unique-code flows
//     (dataset jushuitan_skusn, Doc.ID = "<io_id>:<sku_sn>"; Doc.Modified is
//     both create_time and modified_time).
//   - POST /openWeb/auth/getInitToken, /openWeb/auth/accessToken,
//     /openWeb/auth/refreshToken: the token endpoints.
//   - Any other /open/... path passes the signature and token checks and is
//     answered 190 (interface not granted).
//   - GET /_sandbox/jushuitan/credentials (not a vendor path): the app
//     credentials and the token pair in force.
//
// Calls are form-encoded POSTs signed with md5(secret + k1v1 + k2v2 ...)
// over every received field except sign (see Sign). Every answer is HTTP
// 200 with {"code","msg","data"}; only a non-POST method gets HTTP 405.
// Checks run in this order: app_key (20 [I]), sign (10), timestamp within
// 10 minutes (140), charset (30 [I]), then for business calls version (30
// [I]), access token (100), rate limit (199 per second, 200 per minute;
// only with env.Limits), interface granted (190), biz validation (30 [I]).
// Token endpoints share the first checks and the rate limit; refreshToken in
// Provider mode answers 150.
//
// # Stats convention
//
// env.Stats.Record("jushuitan", iface, code): iface is the request path;
// code is the envelope code in decimal ("0", "10", "100", "199", ...), or
// "http_405" for a wrong method. Transport faults are recorded by env.Wrap
// ("http_500", "http_502", "timeout").
//
// # Data
//
// Rows are generated from the seed; per row only the fields queries filter
// on are stored, everything else (items, receiver, sku, remark) is rendered
// on demand from a per-row generator, so a million rows start quickly and
// stay small. Doc.Body therefore starts as a shared empty map; a mutation
// (mutate_rate fault) gives the document its own body with the overrides it
// changed: "remark" (carrying the version) for both datasets and "ts" (the
// next row version) for other/inout. Rows are kept in sorted indexes
// (modified, ts, io_date; create_time) updated when a row mutates, so a
// window is found by binary search.
//
// Every guess the contract marks as inferred lives in vendor.go, in the
// block headed "[I] Inferred behaviour", or next to the literal tables there.
package jushuitan
