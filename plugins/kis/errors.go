package kis

import (
	"errors"
	"net/http"
	"strings"

	"github.com/erpsync/erpsync/internal/vendor"
)

// No source documents the koas error codes (kis.md 4: "No error-code table
// exists in any source"), so failures are classified the way the contract
// recommends: by HTTP status and by what the description says. The markers
// are [I]; this file is the one place to correct them when real answers are
// seen. Codes are reported verbatim but never interpreted.
var (
	// authMarkers: "description about token / auth / session / 登录 / 授权".
	authMarkers = []string{"token", "session", "auth", "登录", "授权", "签名", "signature"}
	// duplicateMarkers: "description naming a duplicate bill number"; the
	// description must also name the number (billNoMarkers or the number sent).
	duplicateMarkers = []string{"重复", "已存在", "duplicate", "already exist"}
	billNoMarkers    = []string{"fbillno", "单据编号", "编号", "bill no", "billno"}
	// rateMarkers: the gateway's "too many requests" wording.
	rateMarkers = []string{"频繁", "限流", "rate limit", "too many"}
	// busyMarkers: the server is overloaded or timed out internally.
	busyMarkers = []string{"系统繁忙", "服务繁忙", "服务暂不可用", "系统异常，请稍后"}
)

// ErrDuplicate is wrapped by the error of a create call that KIS refused
// because the FBillNo already exists: the bill is written. Test with
// IsDuplicate or errors.Is.
var ErrDuplicate = errors.New("bill number already exists in KIS")

// IsDuplicate reports whether err is KIS's "bill number already exists" answer.
func IsDuplicate(err error) bool { return errors.Is(err, ErrDuplicate) }

// AuthError is a failure of the koas token / session / gateway flow (kis.md
// 3.1), as opposed to a failure of the business call itself. It wraps the
// *vendor.Error of the koas endpoint that failed.
type AuthError struct{ Err error }

func (e *AuthError) Error() string { return e.Err.Error() }
func (e *AuthError) Unwrap() error { return e.Err }

// IsAuthFailure reports whether err came from the koas authentication flow.
func IsAuthFailure(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae)
}

// classifyBusiness classifies a failed business call (non-zero errcode or
// non-2xx status) of bill billNo. It returns the kind and whether the answer
// means "this bill number already exists".
func classifyBusiness(status int, desc, billNo string) (vendor.Kind, bool) {
	d := strings.ToLower(desc)
	switch {
	case status == http.StatusTooManyRequests || containsAny(d, rateMarkers):
		return vendor.RateLimited, false
	case containsAny(d, duplicateMarkers) && (containsAny(d, billNoMarkers) || (billNo != "" && strings.Contains(desc, billNo))):
		return vendor.Permanent, true
	case status == http.StatusUnauthorized || status == http.StatusForbidden || containsAny(d, authMarkers):
		return vendor.Expired, false
	case transientStatus(status) || containsAny(d, busyMarkers):
		return vendor.Transient, false
	}
	// Validation or business error: the same bill fails again.
	return vendor.Permanent, false
}

// classifyAuth classifies a failed koas flow call: a bad code, bad app
// credentials or an unknown account do not heal by retrying.
func classifyAuth(status int, desc string) vendor.Kind {
	d := strings.ToLower(desc)
	switch {
	case status == http.StatusTooManyRequests || containsAny(d, rateMarkers):
		return vendor.RateLimited
	case transientStatus(status) || containsAny(d, busyMarkers):
		return vendor.Transient
	}
	return vendor.Permanent
}

// transientStatus: request timeouts and every 5xx (gateways, restarts).
func transientStatus(status int) bool {
	return status == http.StatusRequestTimeout || status >= 500
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// koasParams maps the koas request fields a vendor message may name to the
// kis output's config fields, so a refusal says what the user must change.
// Ordered: longer names first ("client_secret" before "client_id" is not
// needed, but "acctnumber" must win over a bare "code").
var koasParams = []struct{ param, field string }{
	{"acctnumber", koFieldAcctNumber}, {"icrmid", koFieldICRMID}, {"pid", koFieldPID},
	{"client_id", koFieldClientID}, {"client_secret", koFieldClientSecret}, {"code", koFieldAuthCode},
}

// ConfigHint names the config fields (and the environment variables of
// the shipped configs) a permanent koas refusal points at, e.g. for
// "40000 缺少参数pid": "check pid (KIS_PID in the shipped configs)". It
// returns a general hint when the message names no field.
func ConfigHint(err error) string {
	var ve *vendor.Error
	desc := ""
	if errors.As(err, &ve) {
		desc = strings.ToLower(ve.Msg)
	}
	var fields, vars []string
	for _, p := range koasParams {
		if strings.Contains(desc, p.param) {
			fields = append(fields, p.field)
			vars = append(vars, "KIS_"+strings.ToUpper(p.field))
		}
	}
	if len(fields) > 0 {
		return "check " + strings.Join(fields, ", ") + " (" + strings.Join(vars, ", ") + " in the shipped configs)"
	}
	return "check client_id, client_secret, auth_code, acct_number, pid and icrmid (KIS_CLIENT_ID ... KIS_ICRMID in the shipped configs); re-authorize if the code was revoked"
}

// isConfigAnswer reports whether a failed create call can only mean bad
// configuration, whatever the bill: the interface (api) does not exist.
func isConfigAnswer(err error) bool {
	var ve *vendor.Error
	return errors.As(err, &ve) && ve.Kind == vendor.Permanent && (ve.Code == "40400" || ve.Status == http.StatusNotFound)
}
