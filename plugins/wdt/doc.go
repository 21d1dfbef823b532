// Package wdt is the protocol client of 旺店通·企业版 (WDT enterprise
// edition, "qyb"), on the two routes erpsync supports
// (docs/vendors/wdt.md):
//
//   - native openapi2: form POST to BaseURL + "/openapi2/" + "<name>.php",
//     system fields sid, appkey, timestamp (Unix seconds) and sign, the
//     length-prefixed md5 of section 3.1 with CHARACTER counts
//     (SignOpenapi2);
//   - Qimen (奇门), Taobao's gateway to WDT: form POST to the router
//     (DefaultQimenURL) with method, app_key, target_app_key, timestamp
//     (China time), format, v, sign_method and sign, the uppercase md5 with
//     the Qimen app secret on both ends (SignQimen); answers are wrapped in
//     {"response": {...}}.
//
// The client signs, sends one page request, unwraps the envelope, turns
// each list entry into a vendor.Document (ID, Modified, Raw) and classifies
// every failure as a *vendor.Error. It knows nothing of Benthos: the poll
// engine (plugins/poll) drives paging and retries, and the Benthos input
// (input_wdt.go, written separately) maps configuration onto ClientConfig.
//
// Paging is WDT's: page_no from 0 (the engine's page index is sent as is),
// page_size 1-100. The client sends 100 unless told otherwise, because the
// vendor's own default of 30 only costs more calls against the rate limit.
//
// Documents: the shop list (shop.php, wdt.shop.query) is read from
// "shoplist" with ID shop_id; the other list interfaces of the contract from
// their documented list field, unknown ones from the answer's first array.
// Their ID is the list's own *_id (trades -> trade_id, goods_list ->
// goods_id); a list without one is a Permanent error rather than a guess.
// Modified is the entry's "modified" in China time, zero when absent.
//
// Business parameters arrive as map[string]any from the user's mapping and
// are flattened to form fields once: strings as they are, numbers in
// decimal, booleans as 1/0, time.Time as "yyyy-MM-dd HH:mm:ss" in China
// time, nested values as JSON. Empty values are neither signed nor sent.
//
// # What an answer promises, and what the client does when it breaks it
//
//   - Incremental interfaces filter start_time/end_time on the last
//     modified time (按照最后修改时间增量获取) [C open.wangdian.cn, e.g.
//     trade_query.php]; Document.Filter is read from modified unless the
//     input names another window.filter_field.
//   - total_count is the count of the query; a page without it (some
//     interfaces count on the first page only [I]) is not taken as a change.
//   - A list key missing or null is an empty page when nothing is left
//     to show (WDT omits it when nothing matches [I]); while total_count
//     still counts rows for the page it is an inconsistent answer
//     (transient, asked again), never the end of the list.
//   - Sort order: undocumented [I]; the engine verifies what it relies on.
package wdt
