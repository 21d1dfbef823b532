// Package kis simulates the 金蝶KIS (KIS私有云 / KIS云) open API as reached
// through Kingdee's koas gateway, following the contract in
// shared/docs/vendors/kis.md (section 3.1 flow, 3.2 KIS-Signature, 4
// envelope, 5.1 其他入库单 create, 5.3 simulator behaviour).
//
// The flow is served end to end under /koas/:
//
//	POST /koas/oauth2/access_token?client_id&client_secret      code exchange
//	POST /koas/user/account?access_token                         signed: accounts (账套)
//	POST /koas/user/account_applist?access_token                 signed: apps of an account
//	POST /koas/user/get_service_gateway?access_token             signed (optional): auth_data + gw_router_addr
//	POST /koas/user/refresh_login_access_token?access_token      refresh (a)
//	POST /koas/user/refresh_auth_data?client_id&client_secret    refresh (b)
//	POST /koas/user/login_status?access_token                    login state (c)
//	POST /koas/app007104/api/miscellaneousreceipt/create?access_token
//	     with Kis-Authdata and X-Gw-Router-Addr headers          business call
//
// Headers: Kis-State, Kis-Timestamp and Kis-Traceid are required on every
// call, Kis-Ver (1.0) on business calls; account and account_applist need
// KIS-Signature. A production Java client sends Kis-Ver only on business
// calls and calls get_service_gateway unsigned [C usage; see errors.go], so
// by default Kis-Ver elsewhere and the get_service_gateway signature are
// optional (checked when sent) [I]. Config.StrictHeaders (CLI
// --kis-strict-headers) requires them as KISTS sends them (40003 missing
// Kis-Ver, 40004 missing signature).
//
// Every answer is the envelope {"errcode":N,"description":"...","data":...}.
// No error-code table of the real gateway is known, so the codes, their
// descriptions and their HTTP statuses are inferred and live in one block in
// errors.go. Descriptions of auth-class errors mention access_token /
// session / auth_data / 授权 / 登录, and the duplicate answer names the bill
// number, so a client can classify them as section 4 of the contract says.
//
// Lifetimes: access tokens live Faults().TokenTTL (default 2 h), sessions
// and auth_data live Faults().SessionTTL (default 24 h), refresh-auth-data
// tokens 30 days. The lifetimes are read when a credential is checked, so
// lowering token_ttl or session_ttl at run time expires credentials already
// issued and exercises the client's refresh path. *_expire_in values are
// absolute Unix seconds, as KISTS reads them.
//
// Stats: vendor "kis", interface = the request path (e.g.
// "/koas/app007104/api/miscellaneousreceipt/create"), code = the errcode of
// the answer as a decimal string ("0" for success, "40102" for an expired
// token, "20002" for a duplicate bill number, ...). Transport faults from
// core.Env.Wrap are recorded as "http_500", "http_502" and "timeout".
//
// Rate limit (only when Env.Limits): none is documented; the simulator
// allows bursts of 10 business calls and 10 per second per client_id and
// answers HTTP 429 with errcode 42900 beyond that (see errors.go).
//
// Introspection (not wrapped by faults): GET /_sandbox/kis/bills lists the
// stored bills as {"documents":[{"number","writes","data"}]}; the target is
// registered as "kis/bills".
package kis
