package webhook

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAnswers(t *testing.T) {
	now := nowTS()
	body := `{"event":"return.received","id":42,"remark":"退货入库"}`
	stale := strconv.FormatInt(time.Now().Add(-6*time.Minute).Unix(), 10)
	ahead := strconv.FormatInt(time.Now().Add(6*time.Minute).Unix(), 10)
	for _, tc := range []struct {
		name, ts, sig, body string
		status              int
		msg                 string
	}{
		{"signed and fresh", now, sign(now, body), body, 202, ReasonAccepted},
		{"signature in upper case", now, strings.ToUpper(sign(now, body)), body, 202, ReasonAccepted},
		{"no signature", now, "", body, 401, ReasonSignature},
		{"signature of another body", now, sign(now, body+" "), body, 401, ReasonSignature},
		{"signature of another timestamp", now, sign(stale, body), body, 401, ReasonSignature},
		{"signature with another secret", now, Sign([]byte("other"), now, []byte(body)), body, 401, ReasonSignature},
		{"signature not hex", now, strings.Repeat("zz", 32), body, 401, ReasonSignature},
		{"signature cut short", now, sign(now, body)[:62], body, 401, ReasonSignature},
		{"stale timestamp", stale, sign(stale, body), body, 401, ReasonTimestamp},
		{"timestamp ahead", ahead, sign(ahead, body), body, 401, ReasonTimestamp},
		{"no timestamp", "", sign("", body), body, 401, ReasonTimestamp},
		{"timestamp in milliseconds", now + "000", sign(now+"000", body), body, 401, ReasonTimestamp},
		{"timestamp not a number", "17172072x0", sign("17172072x0", body), body, 401, ReasonTimestamp},
		{"not JSON", now, sign(now, "not json"), "not json", 400, ReasonNotJSON},
		{"empty body", now, sign(now, ""), "", 400, ReasonNotJSON},
		{"body over the limit", now, sign(now, strings.Repeat(" ", 1025)), strings.Repeat(" ", 1025), 413, "body over 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			got := post(t, h.url, tc.ts, tc.sig, tc.body)
			if got.status != tc.status || got.body.Msg != tc.msg {
				t.Fatalf("got %d %+v, want %d %q", got.status, got.body, tc.status, tc.msg)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			evs := h.delivered()
			if tc.status != 202 {
				if got.body.Code != tc.status || got.body.EventID != "" {
					t.Errorf("refusal body %+v: want code %d and no event_id", got.body, tc.status)
				}
				if len(evs) != 0 {
					t.Fatalf("a refused request was delivered: %+v", evs)
				}
				return
			}
			wantID := strings.ToLower(tc.sig)[:16]
			if got.body.Code != 0 || got.body.EventID != wantID {
				t.Errorf("202 body %+v, want code 0 and event_id %s", got.body, wantID)
			}
			if len(evs) != 1 {
				t.Fatalf("%d events delivered, want 1", len(evs))
			}
			if ev := evs[0]; string(ev.Body) != tc.body || ev.ID != wantID || ev.Timestamp != tc.ts || ev.RemoteIP != "127.0.0.1" {
				t.Fatalf("delivered %+v (body %q)", ev, ev.Body)
			}
		})
	}
}

func TestBodyLimitBoundaries(t *testing.T) {
	h := newHarness(t, nil)
	now := nowTS()
	for i, tc := range []struct {
		name    string
		size    int
		chunked bool
		status  int
	}{
		{"Content-Length at the limit", 1024, false, 202},
		{"chunked at the limit", 1024, true, 202},
		{"Content-Length one over", 1025, false, 413},
		{"chunked one over", 1025, true, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A JSON string of exactly tc.size bytes, another for each case.
			body := `"` + strings.Repeat(string(rune('a'+i)), tc.size-2) + `"`
			req, _ := http.NewRequest(http.MethodPost, h.url, strings.NewReader(body))
			if tc.chunked {
				// An io.Reader of unknown length makes the client send chunks.
				req, _ = http.NewRequest(http.MethodPost, h.url, struct{ *strings.Reader }{strings.NewReader(body)})
			}
			req.Header.Set(HeaderTimestamp, now)
			req.Header.Set(HeaderSignature, sign(now, body))
			if got := do(t, req); got.status != tc.status {
				t.Fatalf("%d bytes: got %d %+v, want %d", len(body), got.status, got.body, tc.status)
			}
		})
	}
	if n := len(h.delivered()); n != 2 {
		t.Fatalf("%d events delivered, want the 2 at the limit", n)
	}
}

// The answer comes while the client is still holding back the body: had the
// receiver read any of it, it would wait for the blocker and time out.
func TestRefusedFromTheHeadersBeforeTheBodyIsRead(t *testing.T) {
	h := newHarness(t, nil)
	now := nowTS()
	signed := map[string]string{HeaderTimestamp: now, HeaderSignature: sign(now, "{}")}
	for _, tc := range []struct {
		name          string
		headers       map[string]string
		contentLength int64
		status        int
	}{
		{"a terabyte declared", signed, 1 << 40, 413},
		{"one byte over declared", signed, 1025, 413},
		{"unsigned, within the limit", map[string]string{HeaderTimestamp: now}, 1000, 401},
		{"unsigned, chunked", map[string]string{HeaderTimestamp: now}, -1, 401},
		{"stale timestamp", map[string]string{HeaderTimestamp: "1000000000", HeaderSignature: sign("1000000000", "{}")}, 500, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := blocker{release: make(chan struct{})}
			got := rawPost(t, h.addr(), "/hook", tc.headers, tc.contentLength, b, func() { close(b.release) })
			if got.status != tc.status {
				t.Fatalf("got %d %s, want %d", got.status, got.body, tc.status)
			}
			if !got.close {
				t.Errorf("no Connection: close: the unread body must not be drained, the connection closed")
			}
		})
	}
	if n := len(h.delivered()); n != 0 {
		t.Fatalf("%d events delivered", n)
	}
}

// A chunked body that never ends is cut at the limit: the answer comes,
// and the client could send no more than the limit plus what the sockets
// buffer before the server closed the connection.
func TestEndlessChunkedBodyIsCutAtTheLimit(t *testing.T) {
	h := newHarness(t, nil)
	now := nowTS()
	g := &generator{n: 1 << 40}
	got := rawPost(t, h.addr(), "/hook", map[string]string{HeaderTimestamp: now, HeaderSignature: sign(now, "{}")}, -1, g, nil)
	if got.status != 413 || !strings.Contains(got.body, "body over 1024 bytes") {
		t.Fatalf("got %d %s, want 413", got.status, got.body)
	}
	if r := g.read.Load(); r > 64<<20 {
		t.Fatalf("the client sent %d bytes of an endless body before the server stopped it", r)
	}
}

func TestReplayIsRefused(t *testing.T) {
	h := newHarness(t, nil)
	now := nowTS()
	body := `{"event":"shop.updated","id":4}`
	if got := post(t, h.url, now, sign(now, body), body); got.status != 202 {
		t.Fatalf("first: %d %+v", got.status, got.body)
	}
	for _, sig := range []string{sign(now, body), strings.ToUpper(sign(now, body))} {
		if got := post(t, h.url, now, sig, body); got.status != 409 || got.body.Msg != ReasonReplay {
			t.Fatalf("replay: %d %+v, want 409", got.status, got.body)
		}
	}
	// The same body at another second is another request.
	later := strconv.FormatInt(time.Now().Unix()+1, 10)
	if got := post(t, h.url, later, sign(later, body), body); got.status != 202 {
		t.Fatalf("same body, new timestamp: %d %+v", got.status, got.body)
	}
	if n := len(h.delivered()); n != 2 {
		t.Fatalf("%d events delivered, want 2", n)
	}
}

// Concurrent copies of one request: exactly one is accepted.
func TestConcurrentReplaysOneAccepted(t *testing.T) {
	h := newHarness(t, nil)
	now := nowTS()
	body := `{"event":"shop.updated","id":5}`
	const n = 16
	codes := make(chan int, n)
	for range n {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, h.url, strings.NewReader(body))
			req.Header.Set(HeaderTimestamp, now)
			req.Header.Set(HeaderSignature, sign(now, body))
			resp, err := (&http.Client{Timeout: guard}).Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	count := map[int]int{}
	for range n {
		count[<-codes]++
	}
	if count[202] != 1 || count[409] != n-1 {
		t.Fatalf("answers %v, want one 202 and %d 409", count, n-1)
	}
}

func TestRefusedByTheStreamIsForgotten(t *testing.T) {
	h := newHarness(t, nil)
	h.verdict = func(Event) error { return errors.New("output down") }
	now := nowTS()
	body := `{"id":1}`
	if got := post(t, h.url, now, sign(now, body), body); got.status != 503 {
		t.Fatalf("nacked: %d %+v, want 503", got.status, got.body)
	}
	h.mu.Lock()
	h.verdict = nil
	h.mu.Unlock()
	if got := post(t, h.url, now, sign(now, body), body); got.status != 202 {
		t.Fatalf("retry after a nack: %d %+v, want 202 (not a replay)", got.status, got.body)
	}
}

func TestNotTakenIsForgotten(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AckTimeout = 50 * time.Millisecond })
	// Nobody reads: Deliver gives up when its context ends.
	h.take = func(ctx context.Context, _ Event, _ func(error)) error {
		<-ctx.Done()
		return ctx.Err()
	}
	now := nowTS()
	body := `{"id":2}`
	if got := post(t, h.url, now, sign(now, body), body); got.status != 503 {
		t.Fatalf("not taken: %d %+v, want 503", got.status, got.body)
	}
	h.mu.Lock()
	h.take = nil
	h.mu.Unlock()
	if got := post(t, h.url, now, sign(now, body), body); got.status != 202 {
		t.Fatalf("retry: %d %+v, want 202", got.status, got.body)
	}
}

// Taken but not acknowledged in time: it may still be delivered, so it
// stays in the window until the stream's verdict, and is forgotten if that
// is a refusal.
func TestTakenButUnacknowledgedStaysUntilTheVerdict(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AckTimeout = 50 * time.Millisecond })
	pending := make(chan func(error), 1)
	h.take = func(_ context.Context, _ Event, done func(error)) error {
		pending <- done
		return nil
	}
	now := nowTS()
	body := `{"id":3}`
	if got := post(t, h.url, now, sign(now, body), body); got.status != 503 {
		t.Fatalf("unacknowledged: %d %+v, want 503", got.status, got.body)
	}
	done := <-pending
	if got := post(t, h.url, now, sign(now, body), body); got.status != 409 {
		t.Fatalf("retry while the first may still be delivered: %d %+v, want 409", got.status, got.body)
	}
	done(errors.New("refused later"))
	h.mu.Lock()
	h.take = nil
	h.mu.Unlock()
	if got := post(t, h.url, now, sign(now, body), body); got.status != 202 {
		t.Fatalf("retry after the late refusal: %d %+v, want 202", got.status, got.body)
	}
}

// The window can close while a slow body arrives: the timestamp is checked
// again once the body is in.
func TestWindowClosingWhileTheBodyArrives(t *testing.T) {
	base := time.Now()
	var calls atomic.Int32
	h := newHarness(t, func(c *Config) {
		c.Now = func() time.Time {
			if calls.Add(1) == 1 {
				return base // the header check
			}
			return base.Add(5*time.Minute + 2*time.Second)
		}
	})
	ts := strconv.FormatInt(base.Unix(), 10)
	body := `{"id":4}`
	if got := post(t, h.url, ts, sign(ts, body), body); got.status != 401 || got.body.Msg != ReasonTimestamp {
		t.Fatalf("got %d %+v, want 401 timestamp", got.status, got.body)
	}
	if calls.Load() < 2 {
		t.Fatalf("the clock was read %d times: the timestamp was not checked after the body", calls.Load())
	}
}

func TestMethodPathAndStop(t *testing.T) {
	h := newHarness(t, nil)
	req, _ := http.NewRequest(http.MethodGet, h.url, nil)
	if got := do(t, req); got.status != 405 || got.header.Get("Allow") != "POST" {
		t.Fatalf("GET: %d %v", got.status, got.header)
	}
	now := nowTS()
	if got := post(t, h.srv.URL+"/other", now, sign(now, "{}"), "{}"); got.status != 404 {
		t.Fatalf("other path: %d", got.status)
	}
	h.rc.Stop()
	if got := post(t, h.url, now, sign(now, "{}"), "{}"); got.status != 503 {
		t.Fatalf("stopped: %d %+v", got.status, got.body)
	}
	if n := len(h.delivered()); n != 0 {
		t.Fatalf("%d events delivered", n)
	}
}

func TestNewReceiverRefusesBadConfig(t *testing.T) {
	ok := Config{Secret: []byte("s"), MaxSkew: time.Minute, MaxBodyBytes: 1, AckTimeout: time.Second, Replays: noStore{}, Deliver: func(context.Context, Event, func(error)) error { return nil }}
	if _, err := NewReceiver(ok); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for name, mod := range map[string]func(*Config){
		"empty secret":       func(c *Config) { c.Secret = nil },
		"skew under 1s":      func(c *Config) { c.MaxSkew = 500 * time.Millisecond },
		"no body allowed":    func(c *Config) { c.MaxBodyBytes = 0 },
		"no timeout":         func(c *Config) { c.AckTimeout = 0 },
		"no replay store":    func(c *Config) { c.Replays = nil },
		"nowhere to deliver": func(c *Config) { c.Deliver = nil },
	} {
		c := ok
		mod(&c)
		if _, err := NewReceiver(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
