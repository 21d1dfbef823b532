package kis

import (
	"net/http"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Everything in this file is inferred ([I] in shared/docs/vendors/kis.md):
// no source documents the koas error codes, lifetimes or limits. It is kept
// in one place so it can be corrected when real answers are seen.

// Errcodes answered in the envelope. 0 is success [C]; every other value is
// [I]. 4xxxx are gateway / authentication answers, 2xxxx are business
// validation answers of the create call.
const (
	codeOK = 0

	codeBadRequest     = 40000 // body is not JSON or a field of a koas call is missing
	codeBadClient      = 40001 // client_id / client_secret wrong
	codeBadCode        = 40002 // authorization code wrong
	codeBadHeader      = 40003 // a common Kis-* header is missing or malformed
	codeBadSignature   = 40004 // KIS-Signature does not match
	codeBadTimestamp   = 40005 // Kis-Timestamp outside the accepted window (signed calls)
	codeBadAccount     = 40006 // acctnumber / pid / icrmid / client_id of a user call unknown
	codeTokenInvalid   = 40101 // access_token unknown
	codeTokenExpired   = 40102 // access_token expired
	codeSessionInvalid = 40103 // session_id unknown, expired, of another login or another Kis-State
	codeAuthData       = 40104 // Kis-Authdata / X-Gw-Router-Addr missing, unknown, expired or mismatched
	codeRefreshToken   = 40105 // refresh_auth_data_token unknown or expired
	codeNotFound       = 40400 // no such koas interface
	codeMethod         = 40500 // not POST
	codeRateLimited    = 42900 // too many business calls

	codeRequired  = 20001 // a required Head / Entry field is missing
	codeDuplicate = 20002 // FBillNo already exists for this FTranType
	codeMaterial  = 20003 // FItemID / FUnitID not in the material master (core.Catalog)
	codeStock     = 20004 // warehouse not in core.Stocks
	codeRowFail   = 20005 // bill rejected by the row_fail_rate fault
	codeFieldType = 20006 // a field has the wrong type or an impossible value
	codeMaster    = 20007 // department / supplier not in the master data
)

// Descriptions of the fixed answers. Auth-class descriptions name the
// credential and say 授权 / 登录 so clients classify them as auth errors.
const (
	descOK             = "成功"
	descBadClient      = "应用授权失败：client_id或client_secret错误"
	descBadCode        = "授权码code无效或已失效，请重新授权"
	descTokenInvalid   = "access_token无效，请重新授权登录"
	descTokenExpired   = "access_token已过期，请刷新登录"
	descSessionInvalid = "session_id无效或已过期，请重新登录"
	descSessionState   = "Kis-State与登录时不一致，session无效，请重新登录"
	descBadSignature   = "KIS-Signature签名校验失败"
	descBadTimestamp   = "Kis-Timestamp与服务器时间相差过大"
	descAuthData       = "auth_data无效或已过期，请刷新授权"
	descGwRouter       = "X-Gw-Router-Addr与auth_data授权的网关不一致，请刷新授权"
	descRefreshToken   = "refresh_auth_data_token无效或已过期，请重新授权"
	descNotFound       = "接口不存在"
	descMethod         = "仅支持POST请求"
	descRateLimited    = "请求过于频繁，请稍后再试"
)

// httpStatus is the HTTP status sent with an errcode. KISTS ignores HTTP
// statuses (validateStatus: null), which suggests the gateway does send
// non-2xx answers with the JSON envelope; the mapping itself is inferred:
// auth errors 401, unknown path 404, wrong method 405, rate limit 429,
// everything else (including business validation) 200.
func httpStatus(code int) int {
	switch code {
	case codeBadClient, codeBadCode, codeBadSignature, codeBadTimestamp,
		codeTokenInvalid, codeTokenExpired, codeSessionInvalid, codeAuthData, codeRefreshToken:
		return http.StatusUnauthorized
	case codeNotFound:
		return http.StatusNotFound
	case codeMethod:
		return http.StatusMethodNotAllowed
	case codeRateLimited:
		return http.StatusTooManyRequests
	default:
		return http.StatusOK
	}
}

// Lifetimes and windows [I]: no lifetime is documented (kis.md 3.1).
const (
	// defaultTokenTTL is the access-token lifetime when Faults().TokenTTL is 0
	// (the usual OAuth 7200 s).
	defaultTokenTTL = 2 * time.Hour
	// defaultSessionTTL is the session_id lifetime when Faults().SessionTTL is 0.
	// auth_data follows the session lifetime too (it is the account session at
	// the gateway), so session_ttl also exercises refresh (b).
	defaultSessionTTL = 24 * time.Hour
	// refreshAuthDataTTL is the refresh_auth_data_token lifetime: a refresh
	// token outlives what it refreshes.
	refreshAuthDataTTL = 30 * 24 * time.Hour
	// timestampWindow bounds |Kis-Timestamp - now| on signed calls, where
	// the timestamp is part of the signature (replay protection).
	timestampWindow = 10 * time.Minute
)

// Session binding [I]: the Kis-State of the code exchange is recorded and a
// signed call from another state is refused (kis.md pitfall 3).
const bindStateToSession = true

// Business rules of the create call [I].
const (
	// miscReceiptTranType is the FTranType of 其他入库 in KIS/K3; the create
	// path refuses other values.
	miscReceiptTranType = 10
	// autoBillNoFormat numbers bills sent without FBillNo (answer example
	// "QTRK000123").
	autoBillNoFormat = "QTRK%06d"
	// firstFID is the first internal id (FID) handed out after a reset.
	firstFID = 1001
)

// fdateLayouts are the accepted Fdate formats: the case study sends
// yyyy-MM-ddTHH:mm:ss [C]; the space form and a bare date are accepted too [I].
var fdateLayouts = []string{"2006-01-02T15:04:05", core.VendorTimeLayout, "2006-01-02", time.RFC3339}

// businessRate is the [I] limit on business calls per client_id when
// Env.Limits is set: the contract only advises clients to write serially at
// 2-5 requests per second, so 10 per second leaves such clients untouched.
var businessRate = core.Rule{N: 10, Per: time.Second}

// Header rules (the headerRules of Config.StrictHeaders). KISTS, the one
// TypeScript client, sends Kis-Ver on every call and signs account,
// account_applist and get_service_gateway [C KISTS]. A Java client of the
// production gateway (https://api.kingdee.com/koas/..., class
// com.util.JingDieRenZheng in a public repository) sends Kis-Ver only on
// business calls and calls oauth2/access_token, get_service_gateway and
// refresh_auth_data with KIS-State, KIS-Timestamp and KIS-TraceID alone,
// get_service_gateway unsigned, with a constant state ("1") and trace id
// [C usage]. No source says the gateway requires the missing headers, so by
// default the simulator accepts them missing [I]; a Kis-Ver other than 1.0
// and a KIS-Signature that is sent but wrong are still refused [I], and the
// account and account_applist calls (which that client never makes) stay
// signed [I].
const unsignedGateway = true
