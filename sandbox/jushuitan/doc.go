// Package jushuitan simulates the 聚水潭 Jushuitan open platform ("openweb")
// as described in docs/vendors/jushuitan.md, for the erpsync sandbox.
//
// # Interfaces
//
//   - POST /open/other/inout/query: other in/out bills (dataset
//     jushuitan_other_inout, Doc.ID = io_id in decimal).
//   - POST /open/webapi/wmsapi/skusn/queryinoutitemskusns: unique-code flows
//     (dataset jushuitan_skusn, Doc.ID = "<io_id>:<sku_sn>"). The window
//     filters on create_time, which never changes; Doc.Modified is the
//     flow's modified_time, equal to create_time until a mutation moves it
//     [I]. The truth (/_sandbox/source/jushuitan_skusn) reports modified =
//     modified_time as served and created = create_time.
//   - POST /open/orders/out/simple/query: sales-out documents (销售出库单;
//     dataset jushuitan_saleout, Doc.ID = io_id in decimal). Paged like
//     other/inout (same window, date_type, start_ts and id modes, page
//     object, orders and faults); its contract, sources and simulation are
//     described in saleout.go. Limits [C]: window at most 7 days, both ends
//     or neither; page_size default 30, max 50; so_ids, o_ids, io_ids at
//     most 50 each. Refusals are code 30 [I] naming the field.
//   - POST /open/aftersale/received/query: actual receipts of returns
//     (售后实际收货; dataset jushuitan_aftersale_received, Doc.ID = io_id of
//     the 退仓单 in decimal), each returning part of a shipped sales-out
//     document (same o_id, so_id, shop; a subset of its lines at most at
//     the shipped quantity). Paged like sales-out; date_type 0 or 4 (actual
//     in date); 1 and 2 are refused [I]. Limits [C]: window at most 7 days;
//     page_size default 30, max 50; as_ids, io_ids at most 50. See
//     received.go.
//   - POST /open/purchasein/query: purchase-in documents (采购入库单; dataset
//     jushuitan_purchasein, Doc.ID = io_id in decimal): purchase orders
//     (po_id, supplier) received in one to three bills, with the shared
//     suppliers, warehouses and SKUs. Paged like sales-out; without
//     statuss only Confirmed bills are answered [C]. Limits [C]: window at
//     most 7 days; page_size default 30, max 50; po_ids, io_ids at most 30.
//     See purchasein.go.
//   - POST /open/purchaseout/query: purchase returns (采购退货单; dataset
//     jushuitan_purchaseout, Doc.ID = io_id in decimal), each sending back
//     part of a Confirmed purchase-in (same po_id, supplier as seller_id and
//     receiver_name, warehouse). No default status. Limits [C]: window at
//     most 7 days; page_size default 30, max 50; io_ids at most 30. See
//     purchaseout.go.
//   - POST /open/orders/single/query: orders (订单; dataset jushuitan_orders,
//     Doc.ID = o_id in decimal), in data.orders: the orders of the sales-out
//     documents (status from their shipments, combined SKUs as one line)
//     and orders never shipped. date_type 0 or 2 (order_date); 3 is refused
//     [I]. Limits [C]: window at most 7 days; page_size max 100 (default 30
//     [I]); so_ids at most 20. See orders.go.
//   - POST /open/refund/single/query: after-sales (售后单; dataset
//     jushuitan_refunds, Doc.ID = as_id in decimal), one per receipt of
//     jushuitan_aftersale_received, with the same as_id and order. Limits
//     [C]: window at most 7 days; page_size default 30, max 50;
//     shop_buyer_ids at most 50. See refund.go.
//   - POST /open/inventory/query and /open/sku/query: stock rows (dataset
//     jushuitan_inventory, data.inventorys, has_next without totals) and SKU
//     master data (dataset jushuitan_skus), one document per SKU of the
//     shared catalog (Doc.ID = sku_id). Limits [C]: windows at most 7 days;
//     inventory page_size default 30, max 100, sku_ids at most 100, row
//     version parameter ts; SKU page_size default 30, max 50, sku_ids at
//     most 20, date_field created or modified. See items.go.
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
// 10 minutes (140), charset other than utf-8 (30 [I]: the contract requires
// the literal utf-8, but that the server refuses other values, e.g. the
// "uft-8" one public client sends, is not confirmed by any stored source;
// see auth.go), then for business calls version (30
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
// changed: "remark" (carrying the version) for every dataset and "ts" (the
// next row version) for every dataset but skusn ("aftersale_remark"
// instead of "remark" for received returns, "sold", lowering qty, instead
// of it for stock rows); their mutations also move modified, a skusn
// mutation moves modified_time only. The SKU and stock datasets hold one
// document per SKU of the shared catalog, whatever Records says. Rows are kept in
// sorted indexes (modified, ts, io_date; create_time), the first two
// updated when a row mutates, so a window is found by binary search.
//
// # Answer faults
//
// Every answer fault of core.AnswerFaults is a simulation of how servers
// surprise clients, not vendor behaviour: all of it is [I]. Per interface
// (Faults.Interfaces keys jushuitan_other_inout, jushuitan_skusn,
// jushuitan_saleout, jushuitan_aftersale_received, jushuitan_purchasein,
// jushuitan_purchaseout, jushuitan_orders, jushuitan_refunds,
// jushuitan_inventory, jushuitan_skus, else
// Faults.Answers):
//
//   - order: "asc" is the documented order of the query's mode: other/inout
//     by (modified, io_id), (io_date, io_id) with date_type 2, (ts, io_id)
//     with start_ts (also with ids), (modified, io_id) with ids alone
//     (sales-out and received returns the same, by their own io_id, with
//     the receipts' actual in date for date_type 4); skusn
//     by (create_time, io_id, sku_sn). "desc" reverses it; "id_asc" and
//     "id_desc" order by io_id (skusn: io_id, sku_sn); "random" is a
//     permutation of the query's rows fixed by the seed and every biz field
//     except page_index. Orders other than asc collect the query's matching
//     rows and sort them per call; asc keeps the index paths.
//   - null_rate: the page-object interfaces (every one but skusn) answer
//     code 0 with "data":null, or with the page object whose list (datas,
//     orders, inventorys) is null or missing while data_count, page_count
//     and has_next stay truthful (one of the three at random); skusn
//     answers code 0 with "data":null.
//   - total_drift_rate: the page-object interfaces report data_count off by
//     1-3, with page_count and has_next computed from it (the inventory,
//     which has no data_count, shows it in has_next only); skusn has no
//     total, so the fault does nothing there.
//   - duplicate_rate, short_page_rate: as core.AnswerFaults says, on both
//     interfaces. A short skusn page stops a client that stops at the first
//     page shorter than page_size (the contract's stop rule).
//   - modified_after_create applies to skusn only: the flows it picks (by a
//     hash of seed and Doc.ID) are served with modified_time 1-6 hours after
//     create_time, capped at the sandbox start (so never after its clock); a
//     later mutation wins. Truth and answers agree.
//
// Each answer carrying a fault is counted under code "0" as usual and in
// Stats.RecordFault(vendor, path, kind). Documents rendered into answers
// are marked served (core.Dataset.MarkServed).
//
// Every guess the contract marks as inferred lives in vendor.go, in the
// block headed "[I] Inferred behaviour", or next to the literal tables
// there; the answer faults, all [I], are described above.
package jushuitan
