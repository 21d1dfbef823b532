package jushuitan

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
)

// vendorName is vendor.Error.Vendor for every error of this package.
const vendorName = "jushuitan"

// Answer codes the client acts on (contract section 4).
const (
	codeOK        = 0
	codeBadSign   = 10
	codeToken     = 100 // access_token invalid or expired
	codeIP        = 110
	codeTimestamp = 140
	codeNoRefresh = 150 // service-provider apps may not refresh
	codeNoGrant   = 190
	codeRateSec   = 199 // over 5 requests per second
	codeRateMin   = 200 // over 100 requests per minute
)

// rateSecBackoff is the wait the contract gives for code 199 (">= 1 s").
const rateSecBackoff = time.Second

// codeHint tells the operator what to do about a code; it is appended to
// the vendor's message so the error alone says what happened and what next.
func codeHint(code int64) string {
	switch code {
	case codeBadSign:
		return "bad signature: check app_secret"
	case codeIP:
		return "caller IP not whitelisted: add it to the app's IP whitelist"
	case codeTimestamp:
		return "timestamp rejected twice: check this host's clock"
	case codeNoRefresh:
		return "服务商应用禁止刷新access_token: the merchant must re-authorize"
	case codeNoGrant:
		return "interface not granted to the app: apply for the API permission"
	}
	return ""
}

// codeError classifies a non-zero answer code. Code 100 reaching here
// means the client could not recover by itself (see Client.call), so it is
// Expired; 140 reaching here was already retried with a fresh timestamp.
func (c *Client) codeError(api string, code int64, codeText, msg string, redact ...string) *vendor.Error {
	e := &vendor.Error{Vendor: vendorName, Interface: api, Code: codeText, Kind: vendor.Permanent}
	hint := codeHint(code)
	switch code {
	case codeToken:
		e.Kind = vendor.Expired
	case codeRateSec:
		e.Kind, e.RetryAfter = vendor.RateLimited, rateSecBackoff
	case codeRateMin:
		// The per-minute budget refills at the next minute; retrying
		// earlier only spends the per-second budget on more 200s.
		e.Kind, e.RetryAfter = vendor.RateLimited, untilNextMinute(c.now())
	}
	if e.Kind == vendor.RateLimited {
		hint = "rate limited; retry after " + e.RetryAfter.Round(time.Second).String()
	}
	e.Msg = c.redact(joinMsg(msg, hint), redact...)
	return e
}

// untilNextMinute is the wait until the next full minute, at least 1 s so a
// caller never spins at the minute boundary.
func untilNextMinute(now time.Time) time.Duration {
	d := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
	if d < time.Second {
		d = time.Second
	}
	return d
}

func joinMsg(msg, hint string) string {
	switch {
	case hint == "":
		return msg
	case msg == "":
		return hint
	}
	return msg + "; " + hint
}

// httpError classifies a non-2xx answer. 5xx and 408 are the gateway's or
// backend's trouble and pass; 429 is a proxy's rate limit; any other 4xx is
// a configuration problem (wrong base URL, a TLS-stripping proxy answering
// 400) that retrying cannot fix.
func (c *Client) httpError(api string, status int, body []byte, redact ...string) *vendor.Error {
	e := &vendor.Error{
		Vendor: vendorName, Interface: api, Status: status, Kind: vendor.Permanent,
		Msg: c.redact(http.StatusText(status)+": "+vendor.Snippet(body), redact...),
	}
	switch {
	case status >= 500, status == http.StatusRequestTimeout:
		e.Kind = vendor.Transient
	case status == http.StatusTooManyRequests:
		e.Kind, e.RetryAfter = vendor.RateLimited, rateSecBackoff
	}
	return e
}

// transportError wraps a failed round trip: timeouts, resets, refused
// connections and cut bodies are all worth retrying. A cancelled or expired
// ctx is returned as itself (wrapped) so callers can tell it from a vendor
// failure with errors.Is.
func (c *Client) transportError(ctx context.Context, api, what string, err error, redact ...string) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %s: %w", vendorName, api, cerr)
	}
	return &vendor.Error{
		Vendor: vendorName, Interface: api, Kind: vendor.Transient,
		Msg: c.redact(what+": "+err.Error(), redact...), Err: err,
	}
}

// badAnswer is a 2xx answer that is not the JSON envelope: an HTML gateway
// page or a body cut short. The backend may answer properly next time.
func (c *Client) badAnswer(api, what string, body []byte, redact ...string) *vendor.Error {
	return &vendor.Error{
		Vendor: vendorName, Interface: api, Kind: vendor.Transient,
		Msg: c.redact(what+": "+vendor.Snippet(body), redact...),
	}
}

// inconsistent is a success answer that contradicts what the interface
// promises (a null list where a page object is documented, a count
// without its documents): the next answer may well be whole, and taking
// this one as empty would lose documents, so it is transient.
func inconsistent(api, format string, args ...any) *vendor.Error {
	return vendor.Inconsistent(vendorName, api, fmt.Sprintf(format, args...))
}

// permanent is a failure of the caller's input or of the answer's shape
// that retrying cannot fix.
func permanent(api, format string, args ...any) *vendor.Error {
	return &vendor.Error{Vendor: vendorName, Interface: api, Kind: vendor.Permanent, Msg: fmt.Sprintf(format, args...)}
}

// redact removes every secret the client holds (and any extra values, such
// as the sign or the token of the call) from text bound for an error
// message: vendor messages and gateway pages may echo request fields.
func (c *Client) redact(s string, extra ...string) string {
	c.mu.Lock()
	secrets := []string{c.secret, c.access, c.refresh}
	c.mu.Unlock()
	secrets = append(secrets, extra...)
	for _, v := range secrets {
		if len(v) >= 4 { // shorter values would mangle ordinary text
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

// codeText renders a code for vendor.Error.Code.
func codeText(code int64) string { return strconv.FormatInt(code, 10) }
