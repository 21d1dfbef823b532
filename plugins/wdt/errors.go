package wdt

import (
	"strings"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
)

// Vendor is the vendor name every *vendor.Error of this package carries.
const Vendor = "wdt"

// RateLimitWait is the RetryAfter of a rate-limit answer. WDT publishes no
// figure [I]. Community clients wait 300 s after 频率超限 (docs/vendors/wdt.md
// section 6), which stalls a sync for five minutes on one busy burst; limits
// of Chinese open platforms are counted per minute, so one minute is the
// shortest wait that lets a whole window refill. The shared limiter slows
// down on top of it.
const RateLimitWait = 60 * time.Second

// codeRateLimited is the code community clients and the sandbox use for
// 频率超限 (openapi2 code, Qimen errorcode) [I].
const codeRateLimited = "2020"

// classifyCode classifies a non-zero WDT answer code (openapi2 `code`,
// Qimen `errorcode`) with its message, following the community table of
// section 4.1:
//
//	2020, or a message about call frequency (频率超限)  -> RateLimited (RateLimitWait)
//	2030 2060 2100, 签名 / invalid sign / sid is not / app auth fail -> Permanent (credentials)
//	1 100 2104                                          -> Permanent (parameters)
//	权限不足, 无仓库访问权限                             -> Permanent (permission)
//	anything else                                       -> Permanent (unknown; the code and message are kept)
//
// WDT never reports an expired session: openapi2 and Qimen are signed with
// static secrets, so Expired is not used.
func classifyCode(code, msg string) (vendor.Kind, time.Duration) {
	if code == codeRateLimited || rateLimitMessage(msg) {
		return vendor.RateLimited, RateLimitWait
	}
	return vendor.Permanent, 0
}

// rateLimitMessage recognises WDT's rate-limit wording. A bare "超限"
// ("exceeds the limit") is not enough on its own: parameter errors use it
// too (a page_size or time span 超限), and retrying those cannot help, so
// it must come with a word about calls or frequency.
func rateLimitMessage(msg string) bool {
	if strings.Contains(msg, "频率超限") || strings.Contains(msg, "调用频率") {
		return true
	}
	if strings.Contains(msg, "超限") || strings.Contains(msg, "超过") {
		for _, w := range []string{"频率", "调用次数", "访问次数", "流量"} {
			if strings.Contains(msg, w) {
				return true
			}
		}
	}
	lower := strings.ToLower(msg)
	return strings.Contains(lower, "rate limit") || strings.Contains(lower, "too many requests")
}

// classifyQimenFailure classifies a Qimen gateway failure ({"flag":
// "failure", "code", "sub_code", ...}), which comes from Taobao's router,
// not from WDT:
//
//	code 7, sub_code *call-limited / accesscontrol.limited*, frequency message -> RateLimited
//	sub_code (or code) isp.*  (platform-side, by TOP convention [I])         -> Transient
//	anything else: sign-check-failure, isv.*, route-failure, app keys         -> Permanent
func classifyQimenFailure(code, subCode, msg, subMsg string) (vendor.Kind, time.Duration) {
	switch {
	case code == "7", strings.Contains(subCode, "call-limited"),
		strings.HasPrefix(subCode, "accesscontrol.limited"),
		rateLimitMessage(msg), rateLimitMessage(subMsg):
		return vendor.RateLimited, RateLimitWait
	case strings.HasPrefix(subCode, "isp."), strings.HasPrefix(code, "isp."):
		return vendor.Transient, 0
	}
	return vendor.Permanent, 0
}
