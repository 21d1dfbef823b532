package kis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/erpsync/erpsync/internal/vendor"
)

// Good answers of the koas flow and the create interface; the fuzzed step
// gets the fuzzer's answer instead. Expiries are relative (pitfall 8), so
// advancing the clock makes every refresh due.
var koasGood = map[string]string{
	pathAccessToken:   `{"errcode":0,"description":"成功","data":{"access_token":"tok-fuzz-0001","access_token_expire_in":7200,"session_id":"sid-fuzz-0001","session_id_expire_in":7200,"session_secret":"sec-fuzz-0001"}}`,
	pathGateway:       `{"errcode":0,"description":"成功","data":{"auth_data":"auth-fuzz-0001","gw_router_addr":"gw-1","extend_data":{"refresh_auth_data_token":"rt-fuzz-0001","refresh_auth_data_token_expire_in":86400}}}`,
	pathRefreshLogin:  `{"errcode":0,"description":"成功","data":{"access_token":"tok-fuzz-0002","access_token_expire_in":7200,"session_id":"sid-fuzz-0002","session_id_expire_in":7200}}`,
	pathRefreshAuth:   `{"errcode":0,"description":"成功","data":{"auth_data":"auth-fuzz-0002","gw_router_addr":"gw-2","access_token":"tok-fuzz-0003","access_token_expire_in":7200,"extend_data":{"refresh_auth_data_token":"rt-fuzz-0002","refresh_auth_data_token_expire_in":86400}}}`,
	DefaultCreatePath: `{"errcode":0,"description":"成功","data":{"FID":1001,"FBillNo":"JST00001"}}`,
}

// koasSteps orders the paths a fuzz input can pick.
var koasSteps = []string{pathAccessToken, pathGateway, pathRefreshLogin, pathRefreshAuth, DefaultCreatePath}

const (
	fuzzClientSecret = "client-secret-FUZZ-4711"
	fuzzAuthCode     = "auth-code-FUZZ-4711"
)

// FuzzKoasAnswers gives one step of the koas flow (or the create call) an
// arbitrary answer, the others good ones, and runs a login, a refresh of
// every credential and a create: never a panic; every failure a vendor
// error naming kis and the interface, in valid UTF-8, without a secret and
// never a request the client itself cannot send.
func FuzzKoasAnswers(f *testing.F) {
	seeds := []string{
		`{"errcode":40001,"description":"client_secret错误: ` + fuzzClientSecret + `"}`,
		`{"errcode":"40103","description":"Kis-State与登录时不一致，session无效，请重新登录"}`,
		`{"errcode":20002,"description":"单据编号JST00001已存在"}`,
		`{"errcode":1,"description":"系统繁忙，请稍后再试"}`,
		`{"errcode":0,"data":null}`,
		`{"errcode":0,"data":[]}`,
		`{"errcode":0,"data":{"access_token":1,"session_id":{},"session_secret":null,"access_token_expire_in":"1e400"}}`,
		`{"errcode":0,"data":{"auth_data":"a\nb","gw_router_addr":"gw\r\n"}}`,
		`{"errcode":0,"data":{"FID":"x","FBillNo":[1]}}`,
		`{"errcode":0,"data":{"access_token":"t","access_token_expire_in":-1,"session_id":"s","session_id_expire_in":9223372036854775807,"session_secret":"x"}}`,
		`{"errcode":null}`,
		`{"description":"no code"}`,
		`<html><body><h1>502 Bad Gateway</h1></body></html>`,
		"\xff\xfe{\"errcode\":0}",
		``,
		`[]`,
		`{"errcode":0,"data":{"auth_data":"` + strings.Repeat("长", 3000) + `","gw_router_addr":"gw"}}`,
	}
	for step := range koasSteps {
		for _, s := range seeds {
			f.Add(uint8(step), 200, []byte(s))
		}
		f.Add(uint8(step), 200, []byte(koasGood[koasSteps[step]]))
		f.Add(uint8(step), 401, []byte(`{"errcode":401,"description":"token invalid"}`))
		f.Add(uint8(step), 429, []byte(`too many requests`))
		f.Add(uint8(step), 503, []byte(`<html>503</html>`))
	}

	// One server per fuzzing process; the answer of the fuzzed step changes per input.
	type answer struct {
		path   string
		status int
		body   []byte
	}
	var cur atomic.Pointer[answer]
	cur.Store(&answer{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if a := cur.Load(); a.path == r.URL.Path {
			w.WriteHeader(a.status)
			_, _ = w.Write(a.body)
			return
		}
		_, _ = w.Write([]byte(koasGood[r.URL.Path]))
	}))
	f.Cleanup(srv.Close)
	// One HTTP client for all inputs: a client per input would keep its idle
	// connections open until the fuzzing process runs out of descriptors.
	hc := srv.Client()
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, step uint8, status int, body []byte) {
		if status < 200 || status > 599 {
			status = 200
		}
		path := koasSteps[int(step)%len(koasSteps)]
		cur.Store(&answer{path: path, status: status, body: append([]byte(nil), body...)})
		clock := newFakeClock()
		c, err := NewClient(Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: fuzzClientSecret, AuthCode: fuzzAuthCode,
			AcctNumber: "acct", Timeout: 5 * time.Second, Now: clock.Now, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		// Until the code exchange answers, the session secret is not known to
		// the client, so it cannot scrub it from an answer that echoes it.
		secrets := []string{fuzzClientSecret, fuzzAuthCode}
		if path != pathAccessToken {
			secrets = append(secrets, "sec-fuzz-0001")
		}
		checkKISErr(t, c.Login(ctx), secrets, pathAccessToken, pathGateway)
		clock.Advance(7000 * time.Second) // past the refresh margin of token and session
		created, err := c.Create(ctx, DefaultCreatePath, makeBill("JST00001", 1))
		checkKISErr(t, err, secrets, koasSteps...)
		if err == nil && created.FBillNo == "" {
			t.Fatalf("create succeeded without a bill number: %+v from %q", created, body)
		}
	})
}

// checkKISErr fails unless err is nil or a *vendor.Error naming kis and one
// of paths, readable, free of secrets and of client-side refusals.
func checkKISErr(t *testing.T, err error, secrets []string, paths ...string) {
	t.Helper()
	if err == nil {
		return
	}
	var ve *vendor.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error is not a *vendor.Error: %T %v", err, err)
	}
	msg := err.Error()
	named := false
	for _, p := range paths {
		named = named || strings.HasPrefix(msg, "kis: "+p+": ")
	}
	if !named {
		t.Fatalf("error names none of %v: %s", paths, msg)
	}
	if !utf8.ValidString(msg) {
		t.Fatalf("error is not valid UTF-8: %q", msg)
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Fatalf("error leaks a secret: %s", msg)
		}
	}
	if strings.Contains(msg, "invalid header") {
		t.Fatalf("the client built a request net/http refuses (a vendor value it cannot send): %s", msg)
	}
}

// FuzzSignature: KIS-Signature is 64 lowercase hex digits of SHA-256 over
// the plain concatenation, the same on every run, for any input including
// non-UTF-8 and huge values; a Kis-State the client accepts can be sent as
// a header.
func FuzzSignature(f *testing.F) {
	f.Add("erpsync-0123456789abcdef", "sid", "0f8fad5b-d9cb-469f-a165-70867728950e", "secret", "1717207200")
	f.Add("", "", "", "", "")
	f.Add("状态\xff", "会话", "\x00", strings.Repeat("密", 10000), "-1")
	f.Add("state\r\nX-Injected: 1", "s", "t", "k", "0")
	f.Fuzz(func(t *testing.T, state, sid, trace, secret, ts string) {
		s := Signature(state, sid, trace, secret, ts)
		sum := sha256.Sum256([]byte(state + sid + trace + secret + ts))
		if s != hex.EncodeToString(sum[:]) || len(s) != 64 {
			t.Fatalf("Signature = %q", s)
		}
		if s2 := Signature(state, sid, trace, secret, ts); s2 != s {
			t.Fatalf("Signature is not deterministic: %q, %q", s, s2)
		}
		c, err := NewClient(Config{BaseURL: "http://127.0.0.1:1", ClientID: "cid", ClientSecret: "x", AuthCode: "y", AcctNumber: "a", State: state})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "kis: state ") {
				t.Fatalf("a bad State is refused without naming it: %v", err)
			}
			return
		}
		h, _, _ := c.commonHeaders()
		for k, vs := range h {
			for _, v := range vs {
				for i := 0; i < len(v); i++ {
					if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
						t.Fatalf("State %q accepted, but header %s = %q cannot be sent", state, k, v)
					}
				}
			}
		}
	})
}
