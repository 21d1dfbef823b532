package kingdee

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/erpsync/erpsync/internal/vendor"
)

// cookieLog records, per request to a .kdsvc stub, the session cookie sent
// and the one the answer set.
type cookieLog struct {
	mu   sync.Mutex
	rt   http.RoundTripper
	sent []string // kdservice-sessionid sent ("" when none)
	got  []string // kdservice-sessionid set by the answer ("" when none)
}

func (l *cookieLog) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := ""
	if c, err := r.Cookie("kdservice-sessionid"); err == nil {
		sent = c.Value
	}
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	got := ""
	for _, c := range resp.Cookies() {
		if c.Name == "kdservice-sessionid" {
			got = c.Value
		}
	}
	l.mu.Lock()
	l.sent, l.got = append(l.sent, sent), append(l.got, got)
	l.mu.Unlock()
	return resp, nil
}

// TestIntegrationCookieOnErrorAnswer: the server sets session cookies on a
// session-lost answer and on a failed login too (observed). The client must
// not mistake that cookie for a session: one re-authentication, one retry
// of the read, then a permanent error — no loop — and the cookie of the
// failed answer is not replayed after the reset.
func TestIntegrationCookieOnErrorAnswer(t *testing.T) {
	sb := startSandbox(t, nil)
	for _, tc := range []struct {
		mode   string
		mutate func(*Config)
		calls  int // HTTP requests of one failing read
	}{
		// lost, reset, retry lost
		{AuthSignature, func(c *Config) { c.AppSecret = "wrong-secret" }, 2},
		// failed login; no DynamicFormService call
		{AuthLoginBySign, func(c *Config) { c.AppSecret = "wrong-secret" }, 1},
		{AuthPassword, func(c *Config) { c.Password = "wrong-pass" }, 1},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			log := &cookieLog{rt: http.DefaultTransport}
			cfg := clientConfig(sb, tc.mode)
			tc.mutate(&cfg)
			cfg.Transport = log
			c, err := NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for round := 0; round < 2; round++ {
				log.mu.Lock()
				log.sent, log.got = nil, nil
				log.mu.Unlock()
				_, err := c.ExecuteBillQuery(context.Background(), Query{FormID: "BD_Customer", FieldKeys: "FNumber"})
				if vendor.KindOf(err) != vendor.Permanent {
					t.Fatalf("round %d: want a permanent error, got %v", round, err)
				}
				log.mu.Lock()
				sent, got := log.sent, log.got
				log.mu.Unlock()
				if len(sent) != tc.calls {
					t.Fatalf("round %d: %d requests, want %d (sent %q)", round, len(sent), tc.calls, sent)
				}
				for i, g := range got {
					if g == "" {
						t.Fatalf("round %d: answer %d set no session cookie", round, i)
					}
				}
				// After the reset the retry does not carry the failed answer's cookie.
				if tc.calls == 2 && sent[1] != "" {
					t.Fatalf("round %d: the retry replayed the cookie of the session-lost answer", round)
				}
			}
		})
	}
}

// TestIntegrationSessionCookieRefreshed: the server sets the session cookie
// on every answer; replaying it keeps one session (no new login, no
// signature needed).
func TestIntegrationSessionCookieRefreshed(t *testing.T) {
	sb := startSandbox(t, nil)
	for _, mode := range []string{AuthSignature, AuthLoginBySign} {
		t.Run(mode, func(t *testing.T) {
			log := &cookieLog{rt: http.DefaultTransport}
			cfg := clientConfig(sb, mode)
			cfg.Transport = log
			logins := 0
			cfg.OnLogin = func() { logins++ }
			c, err := NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if _, err := c.ExecuteBillQuery(context.Background(), Query{FormID: "BD_Customer", FieldKeys: "FNumber"}); err != nil {
					t.Fatal(err)
				}
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			first := log.got[0]
			for i, g := range log.got {
				if g != first {
					t.Fatalf("answer %d set session %q, want %q throughout", i, g, first)
				}
			}
			if last := log.sent[len(log.sent)-1]; last != first {
				t.Fatalf("last request sent %q, want %q", last, first)
			}
			if mode == AuthLoginBySign && logins != 1 {
				t.Fatalf("%d logins, want 1", logins)
			}
		})
	}
}
