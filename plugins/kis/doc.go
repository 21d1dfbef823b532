// Package kis writes bills to 金蝶KIS (KIS私有云 / KIS云) through Kingdee's
// koas open API, as described in shared/docs/vendors/kis.md.
//
// client.go speaks the protocol and knows nothing of Benthos: the koas
// token / session / gateway flow (code exchange, signed get_service_gateway,
// refresh_login_access_token and refresh_auth_data, renewed ahead of expiry
// and single-flight), the KIS-Signature of user calls, the business create
// call with the bill wrapped as {"Object": ...}, and the classification of
// answers into vendor.Error kinds (errors.go, the one place the inferred
// error markers live). output_kis.go is the Benthos output `kis`: one
// message per bill, idempotent by FBillNo through a write ledger kept in a
// cache resource. A koas refusal that only configuration can cure (bad app
// credential or code, unknown account, missing pid, unknown interface) and
// a ledger entry that cannot be stored stop the process (internal/fatal)
// with the config field to check (ConfigHint), leaving the bill
// unacknowledged: Benthos would otherwise reconnect every 10 s forever.
//
// The contract is thin (one third-party client as source), so the parts
// marked [I] in kis.md are inferences: the error classification by
// description, the duplicate answer as proof that a bill exists, and the
// expiry semantics of *_expire_in. Each is isolated in one function.
package kis
