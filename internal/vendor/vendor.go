// Package vendor holds the types every vendor client (plugins/jushuitan,
// plugins/wdt, plugins/xbb, ...) shares with the poll engine: the classified
// vendor error and the page of documents. It knows nothing of Benthos, so
// clients stay usable and testable on their own.
package vendor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies a failed call by what the caller should do about it.
type Kind int

const (
	// Transient: 5xx, timeouts, resets, gateway pages. Retry with backoff.
	Transient Kind = iota
	// RateLimited: the vendor's rate-limit answer. Slow the shared limiter, then retry.
	RateLimited
	// Expired: token or session expired or lost. Refresh credentials, then retry once.
	Expired
	// Permanent: bad signature, no permission, bad parameters. Stop; retrying cannot help.
	Permanent
)

func (k Kind) String() string {
	switch k {
	case Transient:
		return "transient"
	case RateLimited:
		return "rate limited"
	case Expired:
		return "credentials expired"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a failed vendor call. Its message names the vendor, the
// interface, the vendor's code and message, and never a secret.
type Error struct {
	Vendor    string // "jushuitan", "wdt", "xbb", "k3cloud", "kis"
	Interface string // path or method name
	Code      string // the vendor's code; "" for transport failures
	Msg       string // the vendor's message, or a transport description
	Status    int    // HTTP status when the transport failed, else 0
	Kind      Kind
	// RetryAfter is how long the vendor asks the caller to wait, or how
	// soon a glitch is worth asking again (0: the caller's backoff).
	RetryAfter time.Duration
	// Err is the underlying transport error, if any.
	Err error
}

func (e *Error) Error() string {
	s := e.Vendor + ": " + e.Interface + ": "
	switch {
	case e.Code != "":
		s += "code " + e.Code + " " + e.Msg
	case e.Status != 0:
		s += fmt.Sprintf("HTTP %d %s", e.Status, e.Msg)
	default:
		s += e.Msg
	}
	if e.Err != nil && e.Msg == "" {
		s += e.Err.Error()
	}
	return s + " (" + e.Kind.String() + ")"
}

func (e *Error) Unwrap() error { return e.Err }

// InconsistentRetry is how soon an inconsistent answer is asked for again:
// it is a glitch of the vendor's answer, not an overloaded server, so
// there is no reason to back off as after a 5xx.
const InconsistentRetry = 200 * time.Millisecond

// Inconsistent is a success answer that contradicts what the interface
// promises (a null list where a page object is documented, a count
// without its documents). The next answer may well be whole, and taking
// this one as empty would lose documents, so it is transient, asked for
// again after InconsistentRetry.
func Inconsistent(vendorName, iface, msg string) *Error {
	return &Error{Vendor: vendorName, Interface: iface, Kind: Transient, RetryAfter: InconsistentRetry, Msg: "inconsistent answer: " + msg}
}

// KindOf returns the kind of a vendor error, Transient for context-free
// network errors, and Permanent for anything else that is not a vendor error.
func KindOf(err error) Kind {
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Kind
	}
	return Permanent
}

// Document is one document read from a vendor.
type Document struct {
	// ID is the document's id as reported in metadata source_id.
	ID string
	// Modified is the document's modified (or update) time, reported in
	// metadata source_modified; zero if the API has none. The poll engine
	// never pages on it: see Filter.
	Modified time.Time
	// Filter is the value of the field the window's bounds filter on (the
	// window's filter field: modified for most interfaces, create_time for
	// unique-code flows, io_date when other in/out bills are queried by
	// date_type 2); zero when the document lacks it or it does not parse.
	// The poll engine checks windows and keyset jumps on this field only.
	Filter time.Time
	// Raw is the document's JSON exactly as the vendor sent it.
	Raw json.RawMessage
}

// Page is one page of a list interface.
type Page struct {
	Docs []Document
	// More is true when the vendor says (or its convention implies) that another page follows.
	More bool
	// Total is the vendor's total count of matching documents, or -1 when it gives none.
	Total int
	// Size is the page size in force for this answer: the size the server
	// reports it applied, else the size requested. Without a Total, a page
	// shorter than Size is the only sign of the last page (the poll engine
	// confirms it by asking again); 0 means unknown.
	Size int
	// Code is the vendor's answer code of the successful call ("0" for
	// Jushuitan and WDT, "1" for XBB), for metrics by code.
	Code string
}

// TransportCode names a failure that carried no vendor code, the way the
// metrics and the sandbox's statistics count it: "http_502", "timeout",
// "transport".
func TransportCode(err error) string {
	var ve *Error
	if errors.As(err, &ve) {
		if ve.Code != "" {
			return ve.Code
		}
		if ve.Status != 0 {
			return fmt.Sprintf("http_%d", ve.Status)
		}
		var te interface{ Timeout() bool }
		if errors.As(ve.Err, &te) && te.Timeout() {
			return "timeout"
		}
		if errors.Is(ve.Err, context.DeadlineExceeded) {
			return "timeout"
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "transport"
}

// Observer is told of every answered (or failed) vendor call: the
// interface and the answer code (the vendor's code, or TransportCode).
// Metrics count calls through it.
type Observer func(iface, code string)

// Snippet shortens a response body for an error message.
func Snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		return strings.ToValidUTF8(string(b[:max]), "") + "..."
	}
	return strings.ToValidUTF8(string(b), "?")
}
