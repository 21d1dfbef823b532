package wdt

import (
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Config holds the credentials the simulator accepts and its switches.
type Config struct {
	// SID is the WDT seller account (卖家账号) sent as `sid` on both routes.
	SID string `json:"sid"`
	// AppKey and AppSecret are the openapi2 interface account and its secret.
	AppKey    string `json:"appkey"`
	AppSecret string `json:"appsecret"`

	// QimenAppKey and QimenAppSecret are the caller's Taobao/Qimen app
	// (app_key and the secret of the Qimen signature).
	QimenAppKey    string `json:"qimen_app_key"`
	QimenAppSecret string `json:"qimen_app_secret"`
	// QimenTargetAppKey is WDT's Qimen app key (target_app_key).
	QimenTargetAppKey string `json:"qimen_target_app_key"`

	// ByteLengthSign also accepts openapi2 signatures whose length prefixes
	// count UTF-8 bytes instead of characters (a community-port bug), for
	// clients that cannot be fixed. Character counts are always accepted.
	ByteLengthSign bool `json:"byte_length_sign"`

	// TimestampSkew is how far a request timestamp may lie from the sandbox
	// clock. 0 keeps the vendor defaults (see defaultOpenapi2Skew and
	// defaultQimenSkew); a negative value switches the check off.
	TimestampSkew time.Duration `json:"timestamp_skew"`
}

// DefaultConfig returns the sandbox's default credentials.
func DefaultConfig() Config {
	return Config{
		SID:               "sandbox-wdt-sid",
		AppKey:            "sandbox-wdt-key",
		AppSecret:         "sandbox-wdt-secret",
		QimenAppKey:       "sandbox-qm-app",
		QimenAppSecret:    "sandbox-qm-secret",
		QimenTargetAppKey: "sandbox-qm-target",
	}
}

// Credentials is what Sim.Credentials returns (printed at sandbox start).
type Credentials struct {
	Openapi2 Openapi2Credentials `json:"openapi2"`
	Qimen    QimenCredentials    `json:"qimen"`
}

// Openapi2Credentials are the native openapi2 route's credentials.
type Openapi2Credentials struct {
	BasePath  string `json:"base_path"`
	SID       string `json:"sid"`
	AppKey    string `json:"appkey"`
	AppSecret string `json:"appsecret"`
}

// QimenCredentials are the Qimen route's credentials.
type QimenCredentials struct {
	Path         string `json:"path"`
	TestPath     string `json:"test_path"`
	AppKey       string `json:"app_key"`
	AppSecret    string `json:"app_secret"`
	TargetAppKey string `json:"target_app_key"`
	SID          string `json:"sid"`
}

// Inferred vendor behaviour ([I] in docs/vendors/wdt.md). No official error
// table or rate figure is published; everything the simulator guesses lives
// in this block so it can be corrected in one place. The clock tolerances
// are documented ([C], see defaultOpenapi2Skew and defaultQimenSkew).
const (
	// openapi2 answer codes. 2030/2060/2100 are the codes community clients
	// treat as credential errors; 100 as invalid input.
	codeOK            = 0
	codeNoInterface   = 1    // unknown /openapi2/*.php
	codeBadParam      = 100  // missing system field, bad page_size, page_no, platform, is_disabled
	codeRateLimited   = 2020 // message contains 频率超限
	codeSignError     = 2030 // message 签名错误
	codeTimestamp     = 2050 // timestamp missing, malformed or outside the skew
	codeUnknownSID    = 2060 // message contains "sid is not"
	codeAppAuthFailed = 2100 // appkey does not belong to sid

	msgSignError     = "签名错误"
	msgUnknownSID    = "sid is not exist"
	msgAppAuthFailed = "app auth fail: appkey不存在或与sid不匹配"
	msgRateLimited   = "调用频率超限,请稍后再试"
	msgNoInterface   = "接口不存在"

	// defaultOpenapi2Skew: five minutes either way [C]. The official shop.php
	// page, public request parameter timestamp: "北京时间1970-01-01 08:00:00起至
	// 现在的总秒数,10位int值,旺店通企业版API服务端允许请求最大时间误差为5min,
	// date.timezone = Asia/Shanghai"
	// (https://open.wangdian.cn/qyb/open/apidoc/doc?path=shop.php, also
	// https://open.wangdian.cn/open/apidoc/doc?path=shop.php). Whether exactly
	// 5 min is still accepted is not stated; the simulator accepts it [I].
	defaultOpenapi2Skew = 5 * time.Minute
	// defaultQimenSkew: the TOP gateway's documented ten minutes.
	defaultQimenSkew = 10 * time.Minute

	// Page size bounds and default (documented [C]).
	minPageSize     = 1
	maxPageSize     = 100
	defaultPageSize = 30

	// qimenMethodPrefix is WDT's Qimen router prefix; the TOP SDK sends the
	// method as "hu3cgwt0tc.wdt.shop.query", ITITO as "wdt.shop.query".
	// Both are accepted.
	qimenMethodPrefix = "hu3cgwt0tc."
)

// shopRate is the rate limit enforced (when env.Limits) per sid across both
// routes, since both reach the same WDT account [I]: community clients space
// pages 1.1 s apart, read here as one call per second with a burst of a
// minute's worth (token bucket, see core.Limiter).
var shopRate = core.Rule{N: 60, Per: time.Minute}

// qimenFailure is one gateway failure of the Qimen envelope. The codes
// follow the Taobao TOP convention (numeric code, isv.* sub_code for caller
// errors) [I]; a signature failure uses Qimen's "sign-check-failure".
type qimenFailure struct {
	Code, SubCode, Message, SubMessage string
}

var (
	qmMissingMethod   = qimenFailure{"21", "isv.missing-method", "Missing method", "缺少method参数"}
	qmInvalidMethod   = qimenFailure{"22", "isv.invalid-method", "Invalid method", "不存在的方法名"}
	qmInvalidFormat   = qimenFailure{"23", "isv.invalid-format", "Invalid format", "format只支持json"}
	qmMissingAppKey   = qimenFailure{"28", "isv.missing-app-key", "Missing app key", "缺少app_key参数"}
	qmInvalidAppKey   = qimenFailure{"29", "isv.appkey-not-exists", "Invalid app Key", "app_key不存在"}
	qmInvalidTime     = qimenFailure{"31", "isv.invalid-timestamp", "Invalid timestamp", "时间戳错误或已过期(yyyy-MM-dd HH:mm:ss,北京时间,误差10分钟内)"}
	qmInvalidArgs     = qimenFailure{"41", "isv.invalid-parameter", "Invalid arguments", "请求参数解析失败"}
	qmInvalidSignMeth = qimenFailure{"41", "isv.invalid-sign-method", "Invalid arguments", "sign_method只支持md5"}
	qmSignError       = qimenFailure{"sign-check-failure", "isv.invalid-signature", "Illegal request", "签名错误"}
	qmInvalidTarget   = qimenFailure{"route-failure", "isv.target-app-key-not-exists", "Invalid target_app_key", "target_app_key不存在"}
)

// Disabled-shop filtering [I]: without is_disabled, or with is_disabled=0,
// only enabled shops are listed; is_disabled=1 lists only disabled shops.
const (
	disabledEnabledOnly = iota
	disabledOnly
)

func parseDisabled(v string) (int, bool) {
	switch v {
	case "", "0":
		return disabledEnabledOnly, true
	case "1":
		return disabledOnly, true
	}
	return 0, false
}
