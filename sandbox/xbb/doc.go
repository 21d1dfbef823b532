// Package xbb simulates the 销帮帮 (XiaoBangBang, XBB) CRM open API "pro v2"
// for one company, as described in /work/shared/docs/vendors/xbb.md. Clients
// in plugins/xbb are tested against it; it never imports them.
//
// # Interfaces
//
// Every path under /pro/v2/api/ is a signed JSON POST:
//
//   - product/list pages the product dataset "xbb_products" (Doc.ID is the
//     dataId as a decimal string) with conditions on updateTime, addTime,
//     serialNo and the other product form fields (equal, greaterequal,
//     lessequal; time values in Unix seconds), ordered by updateTime then
//     dataId, page from 1, pageSize at most 100.
//   - customer/list pages "xbb_customers" (half as many customers as
//     Env.Records, at most 20,000) the same way; formId (the
//     customer form's, CustomerFormID) is required; del=1 lists the recycle
//     bin instead of the list (deleted customers, their updateTime the
//     deletion; each item's top-level del says which), isPublic 0 / 1 the
//     customers outside / inside the public sea (absent: both).
//   - contract/list pages "xbb_contracts" (as many contracts as
//     Env.Records, at most 50,000); formId is optional. Each contract
//     links an existing customer (text_2: [{"id": dataId, "name"}], a
//     condition on text_2 compares the dataId) and one to four products
//     (subform array_4: product dataId, name, serialNo, unit, quantity, unit
//     price, subtotal); amounts are yuan with fen precision and num_1 is
//     the sum of the subtotals. Some contracts are cancelled (已作废).
//   - form/get answers a form's explainList (formId required).
//   - form/list lists the three forms.
//   - opportunity/list, communicate/list, user/list, department/list,
//     paas/list and workOrder/list answer an empty list (the sandbox tenant
//     holds no such records) after the same checks.
//   - any other path answers HTTP 404 with the vendor envelope.
//
// # Authentication
//
// The header sign must equal lowercase hex(sha256(raw body || token)). It is
// checked on the raw bytes before the body is parsed, so a client that signs
// one encoding and sends another fails, and so does a client that drops the
// digest's leading zeros. Then corpid must be the tenant's and userId, when
// given, the tenant's user.
//
// # Answers and stats codes
//
// Answers use the envelope {"code","success","msg","result"}: code 1 and
// success true on success, success false and a placeholder numeric code
// otherwise (no source shows XBB's numeric error codes; see vendor.go, the
// one place holding every inferred value). Business errors come with HTTP
// 200, as clients are told to classify them by code and message text.
//
// Each answer is recorded in Env.Stats under vendor "xbb", the interface's
// request path (e.g. "/pro/v2/api/product/list", the same key Env.Wrap uses
// for transport faults) and the envelope's code as a decimal string: "1" for
// success, "100010" for a bad sign, "100050" for the rate limit, and so on.
// Transport faults injected by Env.Wrap record "http_500", "http_502" and
// "timeout".
//
// # Rate limit and faults
//
// With Env.Limits on, each corpid may make 20 calls per second (a token
// bucket, core.Limiter), counted after the sign and corpid checks; a call
// beyond it answers 请求频率超过20次/秒. Page-size, paging and condition
// validation are always enforced. After each list page is cut,
// Env.MaybeMutate may modify one record the query covers (a product's or a
// contract's name gets a " vN" version suffix, a customer's remark becomes
// "跟进更新 vN"; its updateTime becomes now), so naive paging drifts.
//
// # Answer faults
//
// product/list, customer/list and contract/list apply core.AnswerFaults
// (Faults.Interfaces["xbb_products"], ["xbb_customers"] or
// ["xbb_contracts"], else Faults.Answers). They simulate server surprises
// and are all [I]:
//
//   - order: "asc" is the documented (updateTime, dataId), whatever the
//     conditions, also a query on addTime only (the sandbox has always
//     ordered so); "desc" is exactly its reverse; "id_asc"/"id_desc" order by
//     dataId; "random" is a permutation fixed by the seed, the conditions
//     and pageSize. An order other than asc collects the query's matches and
//     sorts them per call.
//   - null_rate: success (code 1) with "result":null, or with result whose
//     list is null while totalCount and totalPage stay truthful.
//   - total_drift_rate: totalCount off by 1-3, totalPage computed from it.
//   - duplicate_rate, short_page_rate: as core.AnswerFaults says.
//   - modified_after_create does not apply (addTime and updateTime already
//     differ, and the window is on updateTime).
//
// An answer carrying a fault is still recorded under code "1" and also with
// Stats.RecordFault("xbb", "/pro/v2/api/product/list", kind) (or the
// interface's path). Records rendered into an answer are marked served
// (core.Dataset.MarkServed). The other list interfaces (empty lists) ignore
// answer faults.
package xbb
