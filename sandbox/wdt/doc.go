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
