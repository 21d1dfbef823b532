package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Headers of the request contract.
const (
	HeaderTimestamp = "X-Erpsync-Timestamp"
	HeaderSignature = "X-Erpsync-Signature"
)

// Reasons of the answers, the "msg" a sender reads.
const (
	ReasonAccepted  = "accepted"
	ReasonSignature = "bad or missing signature"
	ReasonTimestamp = "timestamp outside the allowed window"
	ReasonNotJSON   = "body is not JSON"
	ReasonReplay    = "replayed request"
)

// Sign returns the signature of a request: hex(HMAC-SHA256(secret,
// timestamp + "." + body)).
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Event is an accepted request.
type Event struct {
	// ID is the first 16 hex digits of the signature: the same for a
	// request sent again, so subscribers can use it as an idempotency key.
	ID string
	// Timestamp is the X-Erpsync-Timestamp header as sent.
	Timestamp string
	// Body is the request body, byte for byte.
	Body []byte
	// RemoteIP is the address the request came from (no proxy header is
	// trusted).
	RemoteIP string
}

// Deliverer hands an accepted event to whatever consumes it. It returns
// nil once the consumer has taken ev, and then done is called exactly once
// with the consumer's verdict (nil: ev is safe with it; an error: ev was
// refused, and the sender is asked to retry). It returns an error, and
// never calls done, when ev was not taken before ctx ended. Deliver may be
// called from many requests at once.
type Deliverer func(ctx context.Context, ev Event, done func(error)) error

// Config of a Receiver. Every field but Path, Now and the callbacks is
// required.
type Config struct {
	// Path is the one path served (404 elsewhere); any path when empty.
	Path string
	// Secret signs requests. It is never logged nor part of an error.
	Secret []byte
	// MaxSkew is how far a request's timestamp may be from the receiver's
	// clock, either way; whole seconds.
	MaxSkew time.Duration
	// MaxBodyBytes is the largest body accepted.
	MaxBodyBytes int64
	// AckTimeout bounds the wait for the consumer to take an event and
	// give its verdict.
	AckTimeout time.Duration
	// Replays records accepted requests for at least MaxSkew after their
	// timestamp.
	Replays ReplayStore
	// Deliver hands accepted events on.
	Deliver Deliverer

	// OnAnswer, optional, hears every answer (for logs and metrics); it
	// must not block.
	OnAnswer func(status int, reason, remoteIP string)
	// OnError, optional, hears failures of the replay store, which are
	// answered 503.
	OnError func(err error)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Receiver is the http.Handler of the request contract.
type Receiver struct {
	cfg  Config
	skew int64 // seconds

	stopOnce sync.Once
	stop     chan struct{}
}

// NewReceiver checks cfg and returns its receiver.
func NewReceiver(cfg Config) (*Receiver, error) {
	switch {
	case len(cfg.Secret) == 0:
		return nil, errors.New("webhook: the secret is empty: set it, the receiver would accept no request")
	case cfg.MaxSkew < time.Second:
		return nil, fmt.Errorf("webhook: max_skew %s is under a second", cfg.MaxSkew)
	case cfg.MaxBodyBytes < 1:
		return nil, fmt.Errorf("webhook: max_body_bytes %d must be at least 1", cfg.MaxBodyBytes)
	case cfg.AckTimeout <= 0:
		return nil, fmt.Errorf("webhook: timeout %s must be positive", cfg.AckTimeout)
	case cfg.Replays == nil:
		return nil, errors.New("webhook: no replay store")
	case cfg.Deliver == nil:
		return nil, errors.New("webhook: no deliverer")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Receiver{cfg: cfg, skew: int64(cfg.MaxSkew / time.Second), stop: make(chan struct{})}, nil
}

// Stop makes the receiver answer 503 to new requests and to requests
// still waiting for the consumer's verdict. It does not close the replay
// store.
func (rc *Receiver) Stop() { rc.stopOnce.Do(func() { close(rc.stop) }) }

// NewServer returns a server for rc whose timeouts keep slow clients from
// holding connections: readTimeout bounds reading a request, headers and
// body.
func NewServer(rc *Receiver, readTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           rc,
		ReadHeaderTimeout: min(readTimeout, 10*time.Second),
		ReadTimeout:       readTimeout,
		WriteTimeout:      readTimeout + rc.cfg.AckTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

type answer struct {
	status int
	reason string
	id     string
	// bodyDone is set when the body was read to its end; otherwise the
	// connection is closed after the answer rather than read further.
	bodyDone bool
}

type answerBody struct {
	Code    int    `json:"code"`
	Msg     string `json:"msg"`
	EventID string `json:"event_id,omitempty"`
}

// ServeHTTP answers one request: refusals as soon as they are known, 202
// once the event is recorded and the consumer took it.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := rc.serve(w, r)
	h := w.Header()
	if !a.bodyDone {
		// Without it the server would read up to 256 KiB of the unread
		// body before answering.
		h.Set("Connection", "close")
	}
	if a.status == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodPost)
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	code := a.status
	if code == http.StatusAccepted {
		code = 0
	}
	_ = json.NewEncoder(w).Encode(answerBody{Code: code, Msg: a.reason, EventID: a.id})
	if rc.cfg.OnAnswer != nil {
		rc.cfg.OnAnswer(a.status, a.reason, remoteIP(r))
	}
}

func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) answer {
	select {
	case <-rc.stop:
		return answer{status: http.StatusServiceUnavailable, reason: "receiver is shutting down; retry later"}
	default:
	}
	if rc.cfg.Path != "" && r.URL.Path != rc.cfg.Path {
		return answer{status: http.StatusNotFound, reason: "not found"}
	}
	if r.Method != http.MethodPost {
		return answer{status: http.StatusMethodNotAllowed, reason: "method " + r.Method + " not allowed: POST only"}
	}
	limit := rc.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return answer{status: http.StatusRequestEntityTooLarge, reason: rc.tooLarge()}
	}
	sig, ok := parseSignature(r.Header.Get(HeaderSignature))
	if !ok {
		return answer{status: http.StatusUnauthorized, reason: ReasonSignature}
	}
	tsHeader := r.Header.Get(HeaderTimestamp)
	ts, ok := parseTimestamp(tsHeader)
	if !ok || !rc.fresh(ts) {
		return answer{status: http.StatusUnauthorized, reason: ReasonTimestamp}
	}

	mac := hmac.New(sha256.New, rc.cfg.Secret)
	mac.Write([]byte(tsHeader + "."))
	body, err := readBody(http.MaxBytesReader(w, r.Body, limit), mac, r.ContentLength, limit)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return answer{status: http.StatusRequestEntityTooLarge, reason: rc.tooLarge()}
		}
		return answer{status: http.StatusBadRequest, reason: "body could not be read"}
	}
	sum := mac.Sum(nil)
	if !hmac.Equal(sum, sig) {
		return answer{status: http.StatusUnauthorized, reason: ReasonSignature, bodyDone: true}
	}
	// The window may have closed while the body arrived.
	if !rc.fresh(ts) {
		return answer{status: http.StatusUnauthorized, reason: ReasonTimestamp, bodyDone: true}
	}
	if !json.Valid(body) {
		return answer{status: http.StatusBadRequest, reason: ReasonNotJSON, bodyDone: true}
	}

	key := hex.EncodeToString(sum)
	switch err := rc.cfg.Replays.Add(r.Context(), key, ts); {
	case errors.Is(err, ErrReplay):
		return answer{status: http.StatusConflict, reason: ReasonReplay, bodyDone: true}
	case errors.Is(err, ErrStale):
		return answer{status: http.StatusUnauthorized, reason: ReasonTimestamp, bodyDone: true}
	case err != nil:
		rc.error(fmt.Errorf("webhook: recording event %s in the replay store: %w", key[:16], err))
		return answer{status: http.StatusServiceUnavailable, reason: "replay store unavailable; retry later", bodyDone: true}
	}
	a := rc.deliver(r.Context(), key, Event{ID: key[:16], Timestamp: tsHeader, Body: body, RemoteIP: remoteIP(r)})
	a.bodyDone = true
	return a
}

func (rc *Receiver) tooLarge() string {
	return "body over " + strconv.FormatInt(rc.cfg.MaxBodyBytes, 10) + " bytes"
}

// deliver hands ev on and waits for the verdict. A request the consumer
// did not take, or refused, is forgotten by the replay store so that the
// sender's retry is accepted; one whose verdict is still pending when the
// wait ends stays recorded (it may yet be delivered), and is forgotten if
// the consumer refuses it later.
func (rc *Receiver) deliver(ctx context.Context, key string, ev Event) answer {
	ctx, cancel := context.WithTimeout(ctx, rc.cfg.AckTimeout)
	defer cancel()
	verdict := make(chan error, 1)
	var once sync.Once
	done := func(err error) {
		once.Do(func() {
			if err != nil {
				rc.forget(key)
			}
			verdict <- err
		})
	}
	if err := rc.cfg.Deliver(ctx, ev, done); err != nil {
		rc.forget(key)
		return answer{status: http.StatusServiceUnavailable, reason: "the stream did not take the event in time; retry later"}
	}
	select {
	case err := <-verdict:
		if err != nil {
			return answer{status: http.StatusServiceUnavailable, reason: "the stream refused the event; retry later"}
		}
		return answer{status: http.StatusAccepted, reason: ReasonAccepted, id: ev.ID}
	case <-ctx.Done():
		return answer{status: http.StatusServiceUnavailable, reason: "the stream did not acknowledge the event in time; retry later"}
	case <-rc.stop:
		return answer{status: http.StatusServiceUnavailable, reason: "receiver is shutting down; retry later"}
	}
}

func (rc *Receiver) forget(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rc.cfg.Replays.Forget(ctx, key); err != nil {
		rc.error(fmt.Errorf("webhook: event %s was not delivered and stays in the replay store, so a retry of it is refused as a replay: %w", key[:16], err))
	}
}

func (rc *Receiver) error(err error) {
	if rc.cfg.OnError != nil {
		rc.cfg.OnError(err)
	}
}

// fresh reports whether ts is within the skew of the receiver's clock.
func (rc *Receiver) fresh(ts int64) bool {
	now := rc.cfg.Now().Unix()
	return ts >= now-rc.skew && ts <= now+rc.skew
}

// parseSignature decodes a signature header: 64 hex digits, either case.
func parseSignature(s string) ([]byte, bool) {
	if len(s) != 2*sha256.Size {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// parseTimestamp reads Unix seconds: 9 to 11 digits, nothing else.
func parseTimestamp(s string) (int64, bool) {
	if len(s) < 9 || len(s) > 11 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	return ts, err == nil
}

var errTooLarge = errors.New("body over the limit")

// readBody reads r to its end through mac, refusing more than limit bytes.
// sizeHint is the declared length (-1 when unknown); the buffer grows as
// bytes arrive, so a declared length costs nothing until it is sent.
func readBody(r io.Reader, mac hash.Hash, sizeHint, limit int64) ([]byte, error) {
	var chunk [32 << 10]byte
	var buf []byte
	for {
		n, err := r.Read(chunk[:])
		if n > 0 {
			if int64(len(buf)+n) > limit {
				return nil, errTooLarge
			}
			mac.Write(chunk[:n])
			buf = grow(buf, n, sizeHint, limit)
			buf = append(buf, chunk[:n]...)
		}
		switch {
		case errors.Is(err, io.EOF):
			return buf, nil
		case err != nil:
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, errTooLarge
			}
			return nil, err
		}
	}
}

// grow makes room for need more bytes: doubling, but never past the
// declared length nor the limit.
func grow(buf []byte, need int, sizeHint, limit int64) []byte {
	if cap(buf)-len(buf) >= need {
		return buf
	}
	c := max(int64(2*cap(buf)), 4<<10)
	if sizeHint > 0 {
		c = min(c, sizeHint)
	}
	c = min(max(c, int64(len(buf)+need)), limit)
	nb := make([]byte, len(buf), c)
	copy(nb, buf)
	return nb
}
