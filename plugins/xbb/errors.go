package xbb

import (
	"net/http"
	"strings"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
)

// rateLimitRetryAfter is how long to wait after a rate-limit answer. The
// only known limit is "20次/秒", a one-second budget, so one second lets the
// budget refill completely.
const rateLimitRetryAfter = time.Second

// XBB publishes no numeric error codes (the contract found none in any
// source), so failures are classified by message text. The markers are the
// ones the XBBEXE export script retries on; everything else is a parameter,
// signature, company or permission problem that a retry cannot fix.
var (
	// rateLimitMarkers: "请求频率超过20次/秒" and variants.
	rateLimitMarkers = []string{"20次/秒", "频率", "限流"}
	// busyMarkers: the server is overloaded or timed out internally.
	busyMarkers = []string{"系统繁忙", "服务暂不可用", "请求超时", "服务繁忙"}
)

// classifyMsg returns the kind of a failed envelope from its message.
// Signature, token, corpid and parameter errors all fall through to
// Permanent: the configuration or the mapping must be fixed.
func classifyMsg(msg string) vendor.Kind {
	switch {
	case containsAny(msg, rateLimitMarkers):
		return vendor.RateLimited
	case containsAny(msg, busyMarkers):
		return vendor.Transient
	}
	return vendor.Permanent
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// transientStatus reports the HTTP statuses worth retrying: request
// timeouts, "too early" and every 5xx (gateways, overload, restarts).
func transientStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooEarly:
		return true
	}
	return status >= 500
}

// retryAfter reads a Retry-After header given in seconds; 0 when absent or
// not a plain number of seconds.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var n int
	for _, r := range v {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
		if n > 3600 {
			return time.Hour
		}
	}
	return time.Duration(n) * time.Second
}
