package xbb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/erpsync/erpsync/internal/catalogue"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
	"github.com/erpsync/erpsync/sandbox/core"
	xbbsim "github.com/erpsync/erpsync/sandbox/xbb"
)

// fixedNow is the sandbox clock: generated data is reproducible and the
// rate limiter's bucket never refills, so a burst is limited exactly.
var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	productList = "product/list"
	productPath = "/pro/v2/api/product/list"
	products    = "xbb_products"
	timeLayout  = "2006-01-02 15:04:05"
)

type sandbox struct {
	url string
	env *core.Env
	cfg xbbsim.Config
}

// newSandbox starts the XBB simulator over real HTTP.
func newSandbox(t *testing.T, o core.Options) *sandbox {
	t.Helper()
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Records == 0 {
		o.Records = 300
	}
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	env, err := core.NewEnv(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg := xbbsim.DefaultConfig()
	sim, err := xbbsim.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sim.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// Registered last, runs first: releases handlers hung by timeout faults
	// so srv.Close does not wait for them.
	t.Cleanup(env.Close)
	return &sandbox{url: srv.URL, env: env, cfg: cfg}
}

// sentRequest is one request as it left the client.
type sentRequest struct {
	path   string
	header http.Header
	body   []byte
}

// recorder is a RoundTripper that keeps every request it forwards.
type recorder struct {
	mu   sync.Mutex
	reqs []sentRequest
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.reqs = append(r.reqs, sentRequest{path: req.URL.Path, header: req.Header.Clone(), body: body})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) all() []sentRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentRequest(nil), r.reqs...)
}

func (r *recorder) last(t *testing.T) sentRequest {
	t.Helper()
	reqs := r.all()
	if len(reqs) == 0 {
		t.Fatal("no request was sent")
	}
	return reqs[len(reqs)-1]
}

// newClient returns a client for url with the sandbox credentials, edited
// by mod, and the recorder that sees its requests.
func newClient(t *testing.T, url string, mod func(*ClientConfig)) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	def := xbbsim.DefaultConfig()
	cfg := ClientConfig{BaseURL: url, Corpid: def.Corpid, Token: def.Token, UserID: def.UserID,
		HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// readAll pages through one query as the engine would, failing on any error.
func readAll(t *testing.T, c *Client, params map[string]any, size int) ([]vendor.Document, []vendor.Page) {
	t.Helper()
	var docs []vendor.Document
	var pages []vendor.Page
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("More never became false")
		}
		p, err := c.FetchPage(context.Background(), productList, params, page, size)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		docs = append(docs, p.Docs...)
		pages = append(pages, p)
		if !p.More {
			return docs, pages
		}
	}
}

// checkTruth asserts docs hold every document of the truth exactly once,
// with its Modified time rendered in China time.
func checkTruth(t *testing.T, docs []vendor.Document, truth []core.TruthDoc) {
	t.Helper()
	want := make(map[string]string, len(truth))
	for _, d := range truth {
		want[d.ID] = d.Modified
	}
	seen := map[string]int{}
	for _, d := range docs {
		seen[d.ID]++
		mod, ok := want[d.ID]
		if !ok {
			t.Errorf("document %q is not in the truth", d.ID)
			continue
		}
		// Formatting in the document's own zone checks the zone too.
		if got := d.Modified.Format(timeLayout); got != mod {
			t.Errorf("document %s: Modified %s, truth %s", d.ID, got, mod)
		}
		var raw struct {
			DataID json.Number `json:"dataId"`
		}
		if err := json.Unmarshal(d.Raw, &raw); err != nil || raw.DataID.String() != d.ID {
			t.Errorf("document %s: Raw %s does not carry its dataId (%v)", d.ID, vendor.Snippet(d.Raw), err)
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("document %s read %d times", id, n)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("read %d distinct documents, truth has %d", len(seen), len(want))
	}
}

func TestSign(t *testing.T) {
	tests := []struct {
		name        string
		body, token string
		want        string
	}{
		// sha256("abc") from FIPS 180-2: the token is appended with no separator.
		{"token appended", "ab", "c", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"empty", "", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign([]byte(tt.body), tt.token); got != tt.want {
				t.Errorf("Sign = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSignLeadingZero sends a body whose sign starts with "0": a client that
// drops leading zeros sends 63 digits and the sandbox refuses it.
func TestSignLeadingZero(t *testing.T) {
	sb := newSandbox(t, core.Options{})
	c, rec := newClient(t, sb.url, nil)
	var params map[string]any
	var body []byte
	var sign string
	// Varying a harmless lower bound (before every record) changes the
	// body; about one sign in sixteen starts with "0".
	for i := 0; i < 2000 && !strings.HasPrefix(sign, "0"); i++ {
		params = map[string]any{"conditions": []map[string]any{
			{"attr": "updateTime", "symbol": "greaterequal", "value": []int64{fixedNow.Add(-40*24*time.Hour).Unix() - int64(i)}},
		}}
		var err error
		if body, err = c.buildBody(params, catalogue.Defaults(catalogue.XBB).Paging, 1, 100); err != nil {
			t.Fatal(err)
		}
		sign = Sign(body, sb.cfg.Token)
	}
	if !strings.HasPrefix(sign, "0") {
		t.Fatal("found no body whose sign starts with 0")
	}
	want := sha256.Sum256(append(append([]byte{}, body...), sb.cfg.Token...))
	if sign != hex.EncodeToString(want[:]) || len(sign) != 64 {
		t.Fatalf("Sign = %q, want the 64-digit digest", sign)
	}

	p, err := c.FetchPage(context.Background(), productList, params, 0, 100)
	if err != nil {
		t.Fatalf("sandbox refused a sign with a leading zero: %v", err)
	}
	if len(p.Docs) != 100 {
		t.Errorf("got %d documents, want 100", len(p.Docs))
	}
	sent := rec.last(t)
	if got := sent.header.Get("sign"); got != sign {
		t.Errorf("sign header %q, want %q", got, sign)
	}
	if !bytes.Equal(sent.body, body) {
		t.Errorf("sent body %s differs from the signed body %s", sent.body, body)
	}
}

func TestFetchPageWholeDataset(t *testing.T) {
	sb := newSandbox(t, core.Options{})
	truth := sb.env.Dataset(products).Truth()
	if len(truth) != 300 {
		t.Fatalf("truth has %d documents", len(truth))
	}
	tests := []struct {
		name      string
		size      int
		wantCalls int
	}{
		{"default size", 0, 3},
		{"max size", 100, 3},
		{"odd size", 7, 43},
		{"size one", 1, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := newClient(t, sb.url, nil)
			docs, pages := readAll(t, c, map[string]any{"viewApproval": "0"}, tt.size)
			checkTruth(t, docs, truth)
			if n := len(rec.all()); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			for i, p := range pages {
				if p.Total != 300 {
					t.Errorf("page %d: Total %d, want 300", i, p.Total)
				}
			}
		})
	}
}

// TestFetchPageWindows reads 30 days as 7-day updateTime windows with
// inclusive second bounds that do not overlap: every product once.
func TestFetchPageWindows(t *testing.T) {
	sb := newSandbox(t, core.Options{})
	c, _ := newClient(t, sb.url, nil)
	start := fixedNow.Add(-core.DataSpan)
	var docs []vendor.Document
	windows := 0
	for from := start; from.Before(fixedNow); from = from.Add(7 * 24 * time.Hour) {
		to := from.Add(7 * 24 * time.Hour)
		if to.After(fixedNow) {
			to = fixedNow
		}
		windows++
		params := map[string]any{"conditions": []map[string]any{
			{"attr": "updateTime", "symbol": "greaterequal", "value": []int64{from.Unix()}},
			{"attr": "updateTime", "symbol": "lessequal", "value": []int64{to.Unix() - 1}},
		}}
		got, _ := readAll(t, c, params, 0)
		for _, d := range got {
			if d.Modified.Before(from) || !d.Modified.Before(to) {
				t.Errorf("document %s modified %s outside window [%s, %s)", d.ID, d.Modified, from, to)
			}
		}
		docs = append(docs, got...)
	}
	if windows != 5 {
		t.Errorf("%d windows, want 5", windows)
	}
	checkTruth(t, docs, sb.env.Dataset(products).Truth())
}

func TestRequestEnvelope(t *testing.T) {
	sb := newSandbox(t, core.Options{})
	tests := []struct {
		name       string
		api        string
		userID     string
		page, size int
		wantPage   float64
		wantSize   float64
	}{
		{"plain name with user", "product/list", sb.cfg.UserID, 0, 0, 1, 100},
		{"leading slash without user", "/product/list", "", 2, 10, 3, 10},
		{"full path", "/pro/v2/api/product/list", sb.cfg.UserID, 1, 100, 2, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := newClient(t, sb.url, func(cfg *ClientConfig) { cfg.UserID = tt.userID })
			// The mapping's paging and company fields are overridden.
			params := map[string]any{"page": 99, "corpid": "other", "formId": 5614247}
			if _, err := c.FetchPage(context.Background(), tt.api, params, tt.page, tt.size); err != nil {
				t.Fatal(err)
			}
			if len(params) != 3 || params["page"] != 99 {
				t.Errorf("caller's params modified: %v", params)
			}
			sent := rec.last(t)
			if sent.path != productPath {
				t.Errorf("path %q, want %q", sent.path, productPath)
			}
			if ct := sent.header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := sent.header.Get("sign"); got != Sign(sent.body, sb.cfg.Token) {
				t.Errorf("sign header %q does not sign the sent body", got)
			}
			var body map[string]any
			if err := json.Unmarshal(sent.body, &body); err != nil {
				t.Fatal(err)
			}
			if body["corpid"] != sb.cfg.Corpid || body["page"] != tt.wantPage || body["pageSize"] != tt.wantSize || body["formId"] != float64(5614247) {
				t.Errorf("body %s", sent.body)
			}
			if uid, ok := body["userId"]; (tt.userID == "") == ok || (ok && uid != tt.userID) {
				t.Errorf("userId in body = %v (present %v), configured %q", uid, ok, tt.userID)
			}
		})
	}
}

func TestErrorsPermanent(t *testing.T) {
	sb := newSandbox(t, core.Options{})
	const wrongToken = "wrong-token-4242"
	tests := []struct {
		name      string
		mod       func(*ClientConfig)
		api       string
		params    map[string]any
		page      int
		size      int
		wantCode  string
		wantMsg   string
		wantSent  bool
		wantIface string
	}{
		{"wrong token", func(c *ClientConfig) { c.Token = wrongToken }, productList, nil, 0, 0, "100010", "签名", true, productPath},
		{"wrong corpid", func(c *ClientConfig) { c.Corpid = "ding-unknown" }, productList, nil, 0, 0, "100020", "corpid", true, productPath},
		{"unknown user", func(c *ClientConfig) { c.UserID = "nobody" }, productList, nil, 0, 0, "100021", "用户不存在", true, productPath},
		{"bad condition", nil, productList, map[string]any{"conditions": []map[string]any{{"attr": "updateTime", "symbol": "like", "value": []int{1}}}}, 0, 0, "100002", "like", true, productPath},
		{"unknown interface", nil, "nothing/here", nil, 0, 0, "100404", "接口不存在", true, "/pro/v2/api/nothing/here"},
		{"page size too large", nil, productList, nil, 0, 101, "", "pageSize 101", false, productPath},
		{"negative page", nil, productList, nil, -1, 0, "", "negative", false, productPath},
		{"empty api", nil, " ", nil, 0, 0, "", "empty api", false, " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := newClient(t, sb.url, tt.mod)
			_, err := c.FetchPage(context.Background(), tt.api, tt.params, tt.page, tt.size)
			var ve *vendor.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *vendor.Error", err)
			}
			if ve.Kind != vendor.Permanent || ve.Vendor != "xbb" || ve.Interface != tt.wantIface || ve.Code != tt.wantCode {
				t.Errorf("got kind %v vendor %q interface %q code %q: %v", ve.Kind, ve.Vendor, ve.Interface, ve.Code, err)
			}
			msg := err.Error()
			for _, part := range []string{"xbb", tt.wantIface, tt.wantCode, tt.wantMsg} {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q does not name %q", msg, part)
				}
			}
			sent := rec.all()
			if (len(sent) > 0) != tt.wantSent {
				t.Errorf("%d requests sent, want sent=%v", len(sent), tt.wantSent)
			}
			for _, secret := range []string{wrongToken, sb.cfg.Token} {
				if strings.Contains(msg, secret) {
					t.Errorf("message %q contains a token", msg)
				}
			}
			for _, s := range sent {
				if sg := s.header.Get("sign"); strings.Contains(msg, sg) {
					t.Errorf("message %q contains the sign", msg)
				}
			}
		})
	}
}

func TestErrorsTransport(t *testing.T) {
	tests := []struct {
		name   string
		faults core.Faults
		client time.Duration // HTTP client timeout
		ctx    time.Duration // 0: background context
		want   func(t *testing.T, err error)
	}{
		{"5xx and gateway pages", core.Faults{ErrorRate: 1}, 10 * time.Second, 0, func(t *testing.T, err error) {
			t.Helper()
			var ve *vendor.Error
			if !errors.As(err, &ve) || ve.Kind != vendor.Transient || (ve.Status != 500 && ve.Status != 502) {
				t.Errorf("want Transient with HTTP 500/502, got %v", err)
			}
		}},
		{"client timeout", core.Faults{TimeoutRate: 1}, 200 * time.Millisecond, 0, func(t *testing.T, err error) {
			t.Helper()
			if vendor.KindOf(err) != vendor.Transient || !strings.Contains(err.Error(), "request failed") {
				t.Errorf("want Transient request failure, got %v", err)
			}
		}},
		{"context deadline", core.Faults{TimeoutRate: 1}, 10 * time.Second, 200 * time.Millisecond, func(t *testing.T, err error) {
			t.Helper()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("want context.DeadlineExceeded, got %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSandbox(t, core.Options{Faults: tt.faults})
			c, _ := newClient(t, sb.url, func(cfg *ClientConfig) { cfg.HTTPClient.Timeout = tt.client })
			statuses := map[int]bool{}
			for range 4 {
				ctx := context.Background()
				if tt.ctx > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.ctx)
					defer cancel()
				}
				_, err := c.FetchPage(ctx, productList, nil, 0, 0)
				tt.want(t, err)
				var ve *vendor.Error
				if errors.As(err, &ve) {
					statuses[ve.Status] = true
				}
			}
			if tt.faults.ErrorRate == 1 {
				// Both shapes the fault serves must have been classified:
				// the plain 500 and the HTML 502 page (seeded, so stable).
				if !statuses[500] || !statuses[502] {
					t.Errorf("statuses seen %v, want both 500 and 502", statuses)
				}
			}
		})
	}
}

func TestContextCanceled(t *testing.T) {
	sb := newSandbox(t, core.Options{})
	c, rec := newClient(t, sb.url, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.FetchPage(ctx, productList, nil, 0, 0)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d requests reached the transport after cancellation", n)
	}
}

func TestRateLimited(t *testing.T) {
	sb := newSandbox(t, core.Options{Limits: true})
	c, _ := newClient(t, sb.url, nil)
	ok, limited := 0, 0
	for range 25 {
		_, err := c.FetchPage(context.Background(), productList, nil, 0, 10)
		if err == nil {
			ok++
			continue
		}
		var ve *vendor.Error
		if !errors.As(err, &ve) || ve.Kind != vendor.RateLimited || ve.RetryAfter != time.Second || ve.Code != "100050" || !strings.Contains(err.Error(), "20次/秒") {
			t.Fatalf("want RateLimited (RetryAfter 1s, code 100050), got %#v: %v", ve, err)
		}
		limited++
	}
	// The sandbox clock is frozen: the bucket of 20 never refills.
	if ok != 20 || limited != 5 {
		t.Errorf("%d calls passed and %d were limited, want 20 and 5", ok, limited)
	}
}

// TestDriftShowsInTotal: a record updated past the window between two pages
// leaves the window, and Page.Total tells the engine the read drifted.
func TestDriftShowsInTotal(t *testing.T) {
	sb := newSandbox(t, core.Options{Faults: core.Faults{MutateRate: 1}})
	c, _ := newClient(t, sb.url, nil)
	params := map[string]any{"conditions": []map[string]any{
		{"attr": "updateTime", "symbol": "lessequal", "value": []int64{fixedNow.Unix() - 1}},
	}}
	var totals []int
	for page := range 3 {
		p, err := c.FetchPage(context.Background(), productList, params, page, 50)
		if err != nil {
			t.Fatal(err)
		}
		totals = append(totals, p.Total)
	}
	if totals[0] != 300 || totals[1] != 299 || totals[2] != 298 {
		t.Errorf("totals %v, want 300 299 298 (one record leaves the window per page)", totals)
	}
}

// stub answers every call with a canned answer, for shapes the sandbox
// does not produce. {sign} and {token} in the body are replaced by the
// request's sign and the client's token, as a server echoing them would.
func stub(t *testing.T, status int, header map[string]string, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		b := strings.ReplaceAll(body, "{sign}", r.Header.Get("sign"))
		b = strings.ReplaceAll(b, "{token}", xbbsim.DefaultConfig().Token)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestErrorsStub(t *testing.T) {
	html := "<html><body><h1>502 Bad Gateway</h1></body></html>"
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		kind       vendor.Kind
		code       string
		retryAfter time.Duration
		contains   string
	}{
		{"html with 200", 200, nil, html, vendor.Transient, "", 0, "not JSON"},
		{"html gateway 502", 502, nil, html, vendor.Transient, "", 0, "HTTP 502"},
		{"truncated json", 200, nil, `{"code":1,"success":true,"result":{"list":[{"dataId":1`, vendor.Transient, "", 0, "not JSON"},
		{"empty body", 200, nil, ``, vendor.Transient, "", 0, "not JSON"},
		{"404 page", 404, nil, "404 page not found", vendor.Permanent, "", 0, "HTTP 404"},
		{"429 with retry-after", 429, map[string]string{"Retry-After": "3"}, "slow down", vendor.RateLimited, "", 3 * time.Second, "HTTP 429"},
		{"503 envelope", 503, nil, `{"code":500,"success":false,"msg":"服务暂不可用"}`, vendor.Transient, "500", 0, "服务暂不可用"},
		{"busy on 200", 200, nil, `{"code":100,"success":false,"msg":"系统繁忙，请稍后再试"}`, vendor.Transient, "100", 0, "系统繁忙"},
		{"throttled on 200", 200, nil, `{"code":100050,"success":false,"msg":"接口限流"}`, vendor.RateLimited, "100050", time.Second, "限流"},
		{"frequency on 200", 200, nil, `{"success":false,"msg":"请求频率超过20次/秒"}`, vendor.RateLimited, "", time.Second, "20次/秒"},
		{"string code", 200, nil, `{"code":"100010","success":false,"msg":"签名错误"}`, vendor.Permanent, "100010", 0, "签名错误"},
		{"http 200 alone is not success", 200, nil, `{"foo":1}`, vendor.Permanent, "", 0, "not an XBB envelope"},
		{"array answer", 200, nil, `[]`, vendor.Permanent, "", 0, "not an XBB envelope"},
		{"list not an array", 200, nil, `{"code":1,"success":true,"result":{"list":{}}}`, vendor.Permanent, "", 0, "result.list"},
		{"item without dataId", 200, nil, `{"code":1,"result":{"list":[{"updateTime":1700000000}]}}`, vendor.Permanent, "", 0, "dataId is missing"},
		{"bad updateTime", 200, nil, `{"code":1,"result":{"list":[{"dataId":1,"updateTime":"soon"}]}}`, vendor.Permanent, "", 0, "updateTime"},
		{"echoed secrets scrubbed", 200, nil, `{"code":2,"success":false,"msg":"sign {sign} does not match token {token}"}`, vendor.Permanent, "2", 0, "[sign]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := newClient(t, stub(t, tt.status, tt.header, tt.body), nil)
			_, err := c.FetchPage(context.Background(), productList, nil, 0, 0)
			var ve *vendor.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *vendor.Error", err)
			}
			if ve.Kind != tt.kind || ve.Code != tt.code || ve.RetryAfter != tt.retryAfter {
				t.Errorf("kind %v code %q retryAfter %v, want %v %q %v: %v", ve.Kind, ve.Code, ve.RetryAfter, tt.kind, tt.code, tt.retryAfter, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.contains) || !strings.Contains(msg, productPath) {
				t.Errorf("message %q lacks %q or the interface", msg, tt.contains)
			}
			if sg := rec.last(t).header.Get("sign"); strings.Contains(msg, sg) || strings.Contains(msg, xbbsim.DefaultConfig().Token) {
				t.Errorf("message %q leaks a secret", msg)
			}
		})
	}
}

func TestPagingStub(t *testing.T) {
	item := `{"updateTime":1700000000, "dataId":7,"data":{"b":1,"a":"产品"}}`
	when := time.Unix(1700000000, 0)
	tests := []struct {
		name      string
		body      string
		page      int
		size      int
		wantMore  bool
		wantTotal int
		wantIDs   []string
		wantMod   time.Time
	}{
		{"success flag only, totalPage", `{"success":true,"result":{"list":[` + item + `],"totalPage":3}}`, 1, 0, true, -1, []string{"7"}, when},
		{"last page by totalPage", `{"code":1,"result":{"list":[` + item + `],"totalPage":3,"totalCount":250}}`, 2, 0, false, 250, []string{"7"}, when},
		{"totalCount only, more", `{"code":"1","result":{"list":[` + item + `],"totalCount":250}}`, 1, 0, true, 250, []string{"7"}, when},
		{"totalCount only, last", `{"code":1,"result":{"list":[` + item + `],"totalCount":250}}`, 2, 0, false, 250, []string{"7"}, when},
		{"totalCount with server pageSize", `{"code":1,"result":{"list":[` + item + `],"totalCount":250,"pageSize":50}}`, 2, 0, true, 250, []string{"7"}, when},
		{"no totals reads until empty", `{"code":1,"result":{"list":[` + item + `]}}`, 5, 0, true, -1, []string{"7"}, when},
		{"empty list ends", `{"code":1,"result":{"list":[],"totalPage":5,"totalCount":0}}`, 0, 0, false, 0, nil, time.Time{}},
		{"milliseconds", `{"code":1,"result":{"list":[{"dataId":8,"updateTime":1700000000123}],"totalPage":1}}`, 0, 0, false, -1, []string{"8"}, time.UnixMilli(1700000000123)},
		{"string id and time", `{"code":1,"result":{"list":[{"dataId":"9","updateTime":"1700000000"}],"totalPage":1}}`, 0, 0, false, -1, []string{"9"}, when},
		{"float id", `{"code":1,"result":{"list":[{"dataId":10.0,"updateTime":1700000000}],"totalPage":1}}`, 0, 0, false, -1, []string{"10"}, when},
		{"no updateTime", `{"code":1,"result":{"list":[{"dataId":11}],"totalPage":1}}`, 0, 0, false, -1, []string{"11"}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, stub(t, 200, nil, tt.body), nil)
			p, err := c.FetchPage(context.Background(), productList, nil, tt.page, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			if p.More != tt.wantMore || p.Total != tt.wantTotal {
				t.Errorf("More %v Total %d, want %v %d", p.More, p.Total, tt.wantMore, tt.wantTotal)
			}
			var ids []string
			for _, d := range p.Docs {
				ids = append(ids, d.ID)
				if !d.Modified.Equal(tt.wantMod) {
					t.Errorf("document %s Modified %v, want %v", d.ID, d.Modified, tt.wantMod)
				}
				if !d.Modified.IsZero() && d.Modified.Location() != shanghai {
					t.Errorf("document %s Modified in %v, want Asia/Shanghai", d.ID, d.Modified.Location())
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.wantIDs) {
				t.Errorf("ids %v, want %v", ids, tt.wantIDs)
			}
			if len(p.Docs) == 1 && p.Docs[0].ID == "7" && string(p.Docs[0].Raw) != item {
				t.Errorf("Raw %s, want the item exactly as received %s", p.Docs[0].Raw, item)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name    string
		cfg     ClientConfig
		wantErr string
		wantURL string
	}{
		{"missing corpid", ClientConfig{Token: "t"}, "corpid is required", ""},
		{"missing token", ClientConfig{Corpid: "c"}, "token is required", ""},
		{"bad base url", ClientConfig{Corpid: "c", Token: "t", BaseURL: "proapi.xbongbong.com"}, "base_url", ""},
		{"default base url", ClientConfig{Corpid: "c", Token: "t"}, "", DefaultBaseURL},
		{"trailing slash", ClientConfig{Corpid: "c", Token: "t", BaseURL: "http://localhost:1/"}, "", "http://localhost:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.base != tt.wantURL {
				t.Errorf("base %q, want %q", c.base, tt.wantURL)
			}
			if c.hc == nil || c.hc.Timeout != 30*time.Second {
				t.Errorf("default HTTP client %+v, want a 30 s timeout", c.hc)
			}
		})
	}
	if DefaultPageSize(productList) != 100 || MaxPageSize(productList) != 100 {
		t.Errorf("page sizes %d/%d, want 100/100", DefaultPageSize(productList), MaxPageSize(productList))
	}
}

// TestListPromises: answers that contradict what a list answer promises are
// transient errors (asked again), never an empty page that would end the
// window early; the filter field is read where the input says.
func TestListPromises(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"null result", `{"code":1,"success":true,"result":null}`, "null result"},
		{"null list while counted", `{"code":1,"result":{"list":null,"totalCount":250,"totalPage":3}}`, "result.list is null while totalCount 250 counts rows for page 2"},
		{"missing list while counted", `{"code":1,"result":{"totalCount":101}}`, "totalCount 101"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, stub(t, 200, nil, tt.body), nil)
			_, err := c.FetchPage(context.Background(), productList, nil, 1, 100)
			var ve *vendor.Error
			if !errors.As(err, &ve) || ve.Kind != vendor.Transient || !strings.Contains(ve.Msg, tt.want) {
				t.Fatalf("error %v, want a transient one saying %q", err, tt.want)
			}
		})
	}
	// A null list past the counted rows is the end.
	c, _ := newClient(t, stub(t, 200, nil, `{"code":1,"result":{"list":null,"totalCount":100,"pageSize":50}}`), nil)
	p, err := c.FetchPage(context.Background(), productList, nil, 2, 50)
	if err != nil || p.More || len(p.Docs) != 0 || p.Total != 100 || p.Size != 50 {
		t.Fatalf("page %+v, %v: want an empty last page counting 100 of size 50", p, err)
	}

	item := `{"dataId":7,"addTime":1600000000,"updateTime":1700000000,"data":{"date_1":1650000000}}`
	for _, tt := range []struct {
		field string
		want  time.Time
	}{
		{"", time.Unix(1700000000, 0)},
		{"addTime", time.Unix(1600000000, 0)},
		{"date_1", time.Unix(1650000000, 0)},
		{"nowhere", time.Time{}},
	} {
		url := stub(t, 200, nil, `{"code":1,"result":{"list":[`+item+`],"totalCount":1}}`)
		c, err := NewClient(ClientConfig{BaseURL: url, Corpid: "c", Token: "tok", FilterField: tt.field})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.FetchPage(context.Background(), productList, nil, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if d := p.Docs[0]; !d.Filter.Equal(tt.want) || !d.Modified.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("filter_field %q: Filter %v Modified %v, want Filter %v and Modified the updateTime", tt.field, d.Filter, d.Modified, tt.want)
		}
	}
}

// TestAnswerOverTheLimit: an answer over max_answer_bytes stops with an
// error naming the limit and the field, instead of being fetched forever.
func TestAnswerOverTheLimit(t *testing.T) {
	url := stub(t, 200, nil, `{"code":1,"result":{"list":[{"dataId":1,"data":{"text_1":"`+strings.Repeat("x", 4096)+`"}}],"totalCount":1}}`)
	c, err := NewClient(ClientConfig{BaseURL: url, Corpid: "c", Token: "tok", MaxAnswerBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FetchPage(context.Background(), productList, nil, 0, 100)
	var ve *vendor.Error
	if !errors.As(err, &ve) || ve.Kind != vendor.Permanent || !strings.Contains(ve.Msg, "over the 1024-byte limit (max_answer_bytes)") {
		t.Fatalf("error %v, want a permanent one naming the limit and max_answer_bytes", err)
	}
}
