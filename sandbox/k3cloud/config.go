package k3cloud

import (
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Vendor is the vendor name used in Stats.
const Vendor = "k3cloud"

// Config holds the credentials of the simulated K3Cloud account and the
// switches of the simulator.
type Config struct {
	// AcctID is the data-centre id (DCID) clients send as acctID.
	AcctID string `json:"acct_id"`
	// Username is the integration user.
	Username string `json:"username"`
	// Password is the user's password (ValidateUser only).
	Password string `json:"password"`
	// AppID is the third-party application id, "<clientId>_<32-char encoded secret>".
	AppID string `json:"app_id"`
	// AppSecret is the application secret.
	AppSecret string `json:"app_secret"`
	// LCID is the default language (2052 Simplified Chinese).
	LCID int `json:"lcid"`
	// StrictSignature verifies the mode-A HMAC headers (and the timestamp
	// window when SignatureWindow is set); false accepts any signature values
	// (the headers must still be present).
	StrictSignature bool `json:"strict_signature"`
	// SignatureWindow, when positive, is the accepted clock skew of
	// x-api-timestamp and of the LoginBySign timestamp in strict mode. Zero
	// (the default) checks no window, as observed on a production server
	// (±24 h accepted); set it for tests of clock handling.
	SignatureWindow time.Duration `json:"signature_window"`
	// SessionTTL is the idle lifetime of a session when the session_ttl fault is 0.
	SessionTTL time.Duration `json:"session_ttl"`
	// MaxQueryLimit caps the rows one ExecuteBillQuery answers (Limit, and Limit 0).
	MaxQueryLimit int `json:"max_query_limit"`
	// MaxRequestBytes is the largest request body served (every method);
	// a larger one is refused the way RequestRefusal names, before any
	// login or document is looked at. 0 means defaultMaxRequestBytes,
	// a negative value no limit.
	MaxRequestBytes int `json:"max_request_bytes"`
	// RequestRefusal is how an oversized request is refused:
	// RefusalASPNET (the default), RefusalIIS or RefusalProxy (reqsize.go).
	RequestRefusal string `json:"request_refusal"`
	// CallLimit is the per-identity call rate enforced with MsgCode 14 when
	// the sandbox runs with limits on.
	CallLimit core.Rule `json:"-"`
}

// Credentials are what clients need to reach the simulated account; the
// sandbox prints them at start.
type Credentials struct {
	ServerURLPath string `json:"server_url_path"`
	AcctID        string `json:"acct_id"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	AppID         string `json:"app_id"`
	AppSecret     string `json:"app_secret"`
	LCID          int    `json:"lcid"`
	OrgNum        string `json:"org_num"`
}

// DefaultConfig returns the default sandbox credentials and switches.
func DefaultConfig() Config {
	return Config{
		AcctID:          "sandbox-k3-acct",
		Username:        "sandbox-k3-user",
		Password:        "sandbox-k3-pass",
		AppID:           "200001_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
		AppSecret:       "sandbox-k3-secret",
		LCID:            2052,
		StrictSignature: true,
		SignatureWindow: defaultSignatureWindow,
		SessionTTL:      defaultSessionTTL,
		MaxQueryLimit:   defaultMaxQueryLimit,
		MaxRequestBytes: defaultMaxRequestBytes,
		RequestRefusal:  RefusalASPNET,
		CallLimit:       defaultCallLimit,
	}
}

// Inferred facts ([I] in the contract) and the simulator's own choices. They
// live here so they can be corrected in one place.
const (
	// defaultSignatureWindow: 0, no window. One production server accepted
	// x-api-timestamp skews from ±1 min to ±24 h, and repeated nonces (four
	// requests of one second with one nonce) [C-obs: MCP
	// docs/session-auth-experiments.md §5, "时钟偏移" row: "服务端不校验
	// x-api-timestamp 窗口"]. Skews beyond 24 h were not tried, so "no window
	// at all" is [I]; the LoginBySign timestamp was not tried either and
	// follows the same setting [I]. Nonces are never remembered.
	defaultSignatureWindow = 0
	// defaultSessionTTL: idle lifetime of a session [I]. Expiry is sliding:
	// every accepted request renews it, as ASP.NET sessions do [I].
	defaultSessionTTL = 30 * time.Minute
	// defaultMaxQueryLimit: "Limit ≤ 10000 (newer docs) / ≤ 2000 (older)"
	// [C, conflicting]. The simulator follows the newer docs and, having no
	// documented error, silently caps the rows of one call (also for Limit 0,
	// "no limit") [I]; a client must page on the rows it got, not on Limit.
	defaultMaxQueryLimit = 10000
	// defaultMaxRequestBytes: 4 MiB. Kingdee publishes no request size
	// limit for the WebAPI, nor a cap on documents per BatchSave (one
	// wrapper sends 400; 50-200 is the usual advice) [C: not found]. The
	// .kdsvc stubs are served by ASP.NET on IIS (ASP.NET_SessionId cookie,
	// section 3.4) [C-obs], so the platform defaults apply unless a
	// deployment's web.config raises them: httpRuntime maxRequestLength
	// 4096 KB (4 MiB) and IIS request filtering maxAllowedContentLength
	// 30,000,000 bytes [C: ASP.NET/IIS defaults, several sources]. That
	// K3Cloud keeps the ASP.NET default is [I]; reqsize.go has the answers.
	defaultMaxRequestBytes = 4 << 20
	// msFloor: an x-api-timestamp above this is milliseconds (JSDK), below it
	// seconds (PYSDK).
	msFloor = 100_000_000_000
	// caseInsensitiveNumbers: Kingdee runs on SQL Server with a
	// case-insensitive collation (Chinese_PRC_CI_AS), so "shop001" collides
	// with "SHOP001" in uniqueness checks and '=' filters match either [I].
	caseInsensitiveNumbers = true
	// updatableStatuses: a saved document may be modified while created (A),
	// re-audit pending (D) or a draft (Z); submitted (B) and audited (C) ones
	// must be un-audited first ("已审核的单据不允许修改") [I].
	updatableStatuses = "ADZ"
	// firstInternalID is the first internal id (FID, FCUSTID, ...) handed out [I].
	firstInternalID = 100001
)

// defaultCallLimit: MsgCode 14 (call limit) exists but no figure is published;
// one wrapper paces at 10 calls/s. The simulator allows 20 calls per second
// per identity, only when the sandbox enforces limits [I].
var defaultCallLimit = core.Rule{N: 20, Per: time.Second}

// Messages whose exact wording is not documented [I]. The duplicate-number
// and session-lost messages are confirmed and live with their envelopes.
const (
	msgRequired      = "“%s”是必填项。"
	msgEntryRequired = "明细第%d行：“%s”是必填项。"
	msgNoEntry       = "单据体“明细”至少需要一行分录。"
	msgSupplierDept  = "“供应商”和“部门”不能同时为空。"
	msgBaseData      = "字段“%s”的值“%s”在系统中不存在或未审核。"
	msgEntryBaseData = "明细第%d行：字段“%s”的值“%s”在系统中不存在或未审核。"
	msgBadDate       = "“%s”的值“%s”不是有效的日期。"
	msgBadQty        = "明细第%d行：“%s”必须大于0。"
	msgBadPrice      = "明细第%d行：“%s”不能为负数。"
	msgBillTypeForm  = "单据类型“%s”不属于业务对象“%s”。"
	msgRowFail       = "数据校验不通过：[%s]未通过业务规则校验（沙箱 row_fail_rate 模拟的行级失败）。"
	msgNotUpdatable  = "单据[%s]的状态为“%s”，不允许修改。"
	msgNotFoundID    = "内码为%d的数据不存在或已被删除。"
	msgNotFoundNo    = "编码为“%s”的数据不存在或已被删除。"
	msgStatus        = "单据[%s]的状态为“%s”，不能%s。"
	msgNetCtrl       = "网络控制冲突：单据[%s]正在被其他用户操作，请稍后再试。"
	msgCallLimit     = "接口调用次数超过限制，请稍后再试。"
	msgEmptyForm     = "FormId参数不能为空。"
	msgNoModel       = "Model参数不能为空。"
	msgBadModel      = "Model参数格式错误：%s"
	msgBadData       = "data参数格式错误：%s"
	msgNoFormID      = "formid参数不能为空。"
	msgNoTarget      = "请指定要操作的单据编码（Numbers）或内码（Ids）。"
	msgNotWritable   = "业务对象“%s”在沙箱中只读。"
	msgNotImpl       = "沙箱未实现接口：%s"
	msgLoginBadPwd   = "用户名或密码错误！"
	msgLoginBadAcct  = "数据中心不存在或已被禁用！"
	msgLoginBadSign  = "签名验证失败！"
	msgLoginBadApp   = "第三方系统应用（AppID）或应用密钥不正确！"
	msgLoginBadTime  = "时间戳已过期或格式错误！"
	msgLoginBadUser  = "用户不存在或已被禁用！"
	msgLoginBadLCID  = "不支持的语言（lcid）：%s"
	msgAcctPassport  = "Fail to verify thirty passport."
)

// Messages observed on a production server for ExecuteBillQuery with good
// credentials (MCP docs/session-auth-experiments.md §6 R3, with the MsgCode
// each came with) [C-obs]. The unknown-form text is used for every method;
// that other methods word it the same is [I]. The bad-filter message was
// reported only by its beginning ("GetRealExpress error..."): what follows
// the prefix is the simulator's own detail [I].
const (
	msgUnknownForm  = "标识为“%s”的业务对象不存在，或者被删除"         // MsgCode 4
	msgUnknownField = "元数据中标识为 %s 的字段不存在"             // MsgCode 9
	msgEmptyKeys    = "data 数据包中的参数 FieldKeys 的值不能为空" // MsgCode 8
	msgBadFilter    = "GetRealExpress error: %s"      // MsgCode 4
)

// Document statuses (FDocumentStatus) and their Chinese names [I].
var statusNames = map[string]string{"A": "创建", "B": "审核中", "C": "已审核", "D": "重新审核", "Z": "暂存"}

// knownLCIDs are the languages a login accepts [C: 2052, 1033, 3076].
var knownLCIDs = map[int]bool{2052: true, 1033: true, 3076: true}
