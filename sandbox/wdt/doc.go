// Package wdt simulates 旺店通·企业版 (WDT enterprise edition) for the shop
// list, on both routes the project supports (docs/vendors/wdt.md):
//
//   - native openapi2: POST /openapi2/shop.php, flat form fields (the query
//     string and a JSON object body are accepted too), system fields sid,
//     appkey, timestamp (Unix seconds, within 5 min of the sandbox clock as
//     the official shop.php page states) and sign, the length-prefixed md5
//     signature with character counts and the appsecret appended
//     (Config.ByteLengthSign also accepts the byte-count variant). Any other
//     /openapi2/*.php answers code 1 接口不存在.
//   - Qimen (奇门): POST /router/qm and /router/qmtest, method
//     wdt.shop.query (also with WDT's router prefix hu3cgwt0tc.), system
//     fields app_key, target_app_key, timestamp ("yyyy-MM-dd HH:mm:ss", China
//     time), format json, v, sign_method md5 and sign (uppercase md5 with the
//     Qimen app secret on both ends), business fields beside them, from the
//     query string, a form or a JSON object body. Answers are wrapped in
//     {"response": {...}}.
//
// Both routes serve the dataset "wdt_shops" (Doc.ID is shop_id in decimal),
// ordered by shop_id, page_no from 0, page_size 1-100 (default 30), with
// total_count on every page. Disabled shops are listed only with
// is_disabled=1. Shop remarks carry a Kingdee org number (core.Orgs), some
// empty or invalid on purpose; some shop_no values are Chinese ("店铺01").
// The mutate fault appends the version to a shop's name (" v2") and moves
// its modified time to now. Doc.Body holds shop_id, shop_no, shop_name,
// platform_id, is_disabled and remark; the address and contact fields are
// derived from (seed, shop_id) when served, so a million shops start in
// about two seconds.
//
// # Document interfaces
//
// Beside shop.php both routes serve seven windowed document interfaces
// (docs.go, table docIfaces; facts and sources in the catalogue,
// internal/catalogue/data/wdt.yaml): trade_query.php / wdt.trade.query
// (dataset wdt_trades, list trades), stockout_order_query_trade.php /
// wdt.stockout.order.query.trade (wdt_stockout_trade, stockout_list),
// refund_query.php / wdt.refund.query (wdt_refunds, refunds),
// stockin_order_query_refund.php / wdt.stockin.order.query.refund
// (wdt_stockin_refund, stockin_list), stockin_order_query_purchase.php /
// wdt.stockin.order.query.purchase (wdt_stockin_purchase, stockin_list),
// stock_query.php / wdt.stock.query (wdt_stocks, stocks) and
// goods_query.php / wdt.goods.query (wdt_goods, goods_list). Doc.ID is the
// interface's id field in decimal (trade_id, stockout_id, refund_id,
// stockin_id, rec_id, goods_id).
//
// Each takes start_time/end_time ("yyyy-MM-dd HH:mm:ss", China time, both
// inclusive) on modified, at most 60 minutes for trades and 30 days for the
// others; a wider window, a missing or half window and a page_size over the
// interface's maximum answer code 100 (Qimen errorcode 100) [I code and
// message]. A document key (trade_no, src_tid, stockout_no, refund_no,
// spec_no, goods_no, ...) replaces the window. Sales stock-outs without
// status, or with a status of 95 and more, are windowed on consign_time
// and, without status, only shipped and completed bills are listed;
// stock-ins without status list completed bills (80) only. Order: by the
// window's time, then id [I]. Pages count from 0 with total_count; the
// answer faults and the mutate fault apply per dataset as for shops (the
// mutation writes the version into cs_remark or remark, or lowers a stock
// row's stock_num).
//
// The data is generated from the seed: env.Records trades (at most
// maxDocs) with one to four lines, combined SKUs split into their
// components (suite_no), gift lines, partial shipments (actual_num below
// num) and cancelled trades; one sales stock-out per approved, shipped or
// completed trade (src_order_no = trade_no, src_tid = the trade's tid);
// refunds of shipped trades (trade_no, tid); refund stock-ins of returned
// goods (refund_no); a quarter as many purchase stock-ins; goods and one
// stock row per spec and warehouse from the shared catalog (core.Catalog,
// core.Stocks). Amounts carry two decimals, quantities four.
//
// Everything the contract marks as inferred ([I]) — error codes and
// messages, clock tolerance, the rate limit, the is_disabled rule — lives in
// config.go; the unknown treatment of empty values in the signature lives
// in signedFields (sign.go).
//
// # Stats codes
//
// Every answer is recorded with Stats.Record("wdt", iface, code):
//
//   - openapi2: iface is the request path ("/openapi2/shop.php"), code the
//     answer's code in decimal ("0", "2030", "100", ...).
//   - Qimen: iface is the method "wdt.shop.query" once the method is
//     recognised, else the request path ("/router/qm"); code is errorcode in
//     decimal for WDT's answers ("0", "2060", "2020", ...) and the gateway
//     failure code for failures ("sign-check-failure", "29", "route-failure").
//   - Transport faults are recorded by core.Env.Wrap under the request path
//     ("http_500", "http_502", "timeout").
//
// # Answer faults
//
// Both routes apply core.AnswerFaults (Faults.Interfaces["wdt_shops"], else
// Faults.Answers) to the shop list, the same way and with the same dice.
// They simulate server surprises and are all [I]:
//
//   - order: "asc" and "id_asc" are by shop_id (the documented order),
//     "desc" and "id_desc" by shop_id descending, "random" a permutation
//     fixed by the seed and the business fields except page_no (shop_no,
//     platform, is_disabled, page_size), the same on both routes. A
//     mutation changes no shop_id, so no order moves a shop.
//   - null_rate: success (code 0 / errorcode 0) with total_count unchanged
//     and shoplist null or missing.
//   - total_drift_rate: total_count off by 1-3 (the contract's "a page
//     whose total_count changes").
//   - duplicate_rate, short_page_rate: as core.AnswerFaults says.
//   - modified_after_create does not apply (shops have no create time).
//
// An answer carrying a fault is recorded under code "0" as usual and with
// Stats.RecordFault("wdt", iface, kind), iface as for the codes below.
// Shops rendered into an answer are marked served (core.Dataset.MarkServed).
//
// # Rate limit
//
// When env.Limits is on, each sid has a token bucket of shopRate (60 calls,
// refilled at 60 per minute) shared by both routes, taken only by calls that
// passed authentication. An exceeded call answers code 2020 (Qimen:
// errorcode 2020) with a message containing 频率超限.
package wdt
