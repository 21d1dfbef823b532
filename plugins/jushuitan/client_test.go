package jushuitan

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/erpsync/erpsync/internal/catalogue"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
	"github.com/erpsync/erpsync/sandbox/core"
	jstsim "github.com/erpsync/erpsync/sandbox/jushuitan"
)

// ---- harness ---------------------------------------------------------------

// offsetClock is the sandbox clock: real time plus a settable offset, so a
// test can age tokens or skew the clock while the client keeps real time.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time        { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) Shift(d time.Duration) { c.off.Store(int64(d)) }

// recorder keeps the last form the sandbox received.
type recorder struct {
	mu   sync.Mutex
	last url.Values
	n    int
}

func (r *recorder) form() (url.Values, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.n
}

type fixture struct {
	env *core.Env
	sim *jstsim.Sim
	cfg jstsim.Config
	url string
	clk *offsetClock
	rec *recorder
}

type sandboxOpts struct {
	limits bool
	faults core.Faults
	sim    func(*jstsim.Config)
	// front, when set, sees every request before the sandbox does.
	front func(w http.ResponseWriter, r *http.Request) bool
}

func newSandbox(t *testing.T, o sandboxOpts) *fixture {
	t.Helper()
	clk := &offsetClock{}
	env, err := core.NewEnv(core.Options{Seed: 1, Records: 300, Limits: o.limits, Faults: o.faults, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := jstsim.DefaultConfig()
	if o.sim != nil {
		o.sim(&cfg)
	}
	sim, err := jstsim.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sim.Register(mux)
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ParseForm is idempotent, so the simulator still sees the form.
		if err := r.ParseForm(); err == nil {
			rec.mu.Lock()
			rec.last, rec.n = r.PostForm, rec.n+1
			rec.mu.Unlock()
		}
		if o.front != nil && o.front(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(env.Close)
	return &fixture{env: env, sim: sim, cfg: cfg, url: srv.URL, clk: clk, rec: rec}
}

func (f *fixture) client(t *testing.T, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{
		BaseURL: f.url, AppKey: f.cfg.AppKey, AppSecret: f.cfg.AppSecret,
		AccessToken: f.cfg.AccessToken, RefreshToken: f.cfg.RefreshToken,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) count(iface, code string) int { return f.env.Stats.Count(jstsim.Vendor, iface, code) }

func vendorErr(t *testing.T, err error) *vendor.Error {
	t.Helper()
	var ve *vendor.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want *vendor.Error, got %T: %v", err, err)
	}
	return ve
}

func assertNoSecrets(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error message %q leaks a secret", msg)
		}
	}
}

func vendorTime(t time.Time) string { return t.In(shanghai).Format(vendorTimeLayout) }

// windowParams builds the window fields of an interface; other/inout gets
// time.Time values (the client formats them), skusn preformatted strings.
func windowParams(api string, b, e time.Time) map[string]any {
	if api == APISkusn {
		return map[string]any{"create_time_start": vendorTime(b), "create_time_end": vendorTime(e)}
	}
	return map[string]any{"modified_begin": b, "modified_end": e}
}

// fetchAll pages every window of span (ends inclusive, so windows are
// [b, b+span-1s]) from 31 days before the sandbox start to just after it.
// after runs after every successful page.
func fetchAll(t *testing.T, f *fixture, c *Client, api string, span time.Duration, pageSize int, after func(pages int)) []vendor.Document {
	t.Helper()
	ctx := context.Background()
	from := f.env.Start().Add(-31 * 24 * time.Hour).Truncate(time.Second)
	to := f.env.Start().Add(time.Minute)
	var docs []vendor.Document
	pages := 0
	for b := from; !b.After(to); b = b.Add(span) {
		e := b.Add(span - time.Second)
		for page := 0; ; page++ {
			if page > 1000 {
				t.Fatalf("window %v: paging does not end", b)
			}
			p, err := c.FetchPage(ctx, api, windowParams(api, b, e), page, pageSize)
			if err != nil {
				t.Fatalf("window %v page %d: %v", b, page, err)
			}
			pages++
			docs = append(docs, p.Docs...)
			if after != nil {
				after(pages)
			}
			if !p.More {
				break
			}
		}
	}
	return docs
}

// assertTruth checks that docs are the dataset exactly once each, with the
// truth's modified time.
func assertTruth(t *testing.T, f *fixture, dataset string, docs []vendor.Document) {
	t.Helper()
	truth := f.env.Dataset(dataset).Truth()
	want := make(map[string]time.Time, len(truth))
	for _, d := range truth {
		m, err := time.ParseInLocation(vendorTimeLayout, d.Modified, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		want[d.ID] = m
	}
	seen := map[string]int{}
	for _, d := range docs {
		seen[d.ID]++
		m, ok := want[d.ID]
		if !ok {
			t.Errorf("document %q is not in the truth", d.ID)
			continue
		}
		if !d.Modified.Equal(m) {
			t.Errorf("document %s: modified %v, truth %v", d.ID, d.Modified, m)
		}
		if !json.Valid(d.Raw) {
			t.Errorf("document %s: raw is not JSON", d.ID)
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

// ---- signing and configuration ---------------------------------------------

func TestSign(t *testing.T) {
	md5hex := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	tests := []struct {
		name   string
		params map[string]string
		secret string
		want   string
	}{
		{"published vector", map[string]string{"timestamp": "100", "app_key": "app", "charset": "utf-8"}, "secret", "706427ca94e342781ac36d501151cb10"},
		{"secret is a prefix only", map[string]string{"b": "2", "a": "1"}, "s", md5hex("sa1b2")},
		{"byte-wise key order", map[string]string{"a_b": "1", "aB": "2", "ab": "3"}, "x", md5hex("xaB2a_b1ab3")},
		{"utf-8 values", map[string]string{"biz": `{"types":["其它进仓"]}`}, "k", md5hex(`kbiz{"types":["其它进仓"]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign(tt.params, tt.secret); got != tt.want {
				t.Errorf("Sign = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	full := ClientConfig{AppKey: "k", AppSecret: "s", AccessToken: "a", RefreshToken: "r"}
	tests := []struct {
		name    string
		mod     func(*ClientConfig)
		wantErr string
	}{
		{"complete", func(*ClientConfig) {}, ""},
		{"no AppKey", func(c *ClientConfig) { c.AppKey = "" }, "jushuitan: app_key is required"},
		{"no AppSecret", func(c *ClientConfig) { c.AppSecret = "" }, "jushuitan: app_secret is required"},
		{"no AccessToken", func(c *ClientConfig) { c.AccessToken = " " }, "jushuitan: access_token is required"},
		{"no RefreshToken: runs until the token expires", func(c *ClientConfig) { c.RefreshToken = "" }, ""},
		{"provider needs no RefreshToken", func(c *ClientConfig) { c.RefreshToken, c.Provider = "", true }, ""},
		{"bad BaseURL", func(c *ClientConfig) { c.BaseURL = "openapi.jushuitan.com" }, "base_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := full
			tt.mod(&cfg)
			c, err := NewClient(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.base != DefaultBaseURL {
					t.Errorf("base %q, want %q", c.base, DefaultBaseURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestPageSizes(t *testing.T) {
	tests := []struct {
		api      string
		def, max int
	}{
		{APIOtherInout, 50, 50},
		{"open/other/inout/query", 50, 50},
		{APISkusn, 1000, 1000},
		{"/open/shops/query", 50, 100},
	}
	for _, tt := range tests {
		if d, m := DefaultPageSize(tt.api), MaxPageSize(tt.api); d != tt.def || m != tt.max {
			t.Errorf("%s: default %d max %d, want %d %d", tt.api, d, m, tt.def, tt.max)
		}
	}
	c, err := NewClient(ClientConfig{AppKey: "k", AppSecret: "s", AccessToken: "a", RefreshToken: "r", BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FetchPage(context.Background(), APIOtherInout, nil, 0, 51)
	if ve := vendorErr(t, err); ve.Kind != vendor.Permanent {
		t.Errorf("page_size over max: kind %v, want permanent", ve.Kind)
	}
}

// ---- paging against the truth ----------------------------------------------

func TestFetchAllExactlyOnce(t *testing.T) {
	tests := []struct {
		name     string
		api      string
		dataset  string
		span     time.Duration
		pageSize int
	}{
		{"other/inout default size", APIOtherInout, jstsim.DatasetOtherInout, 7 * 24 * time.Hour, 0},
		{"other/inout small pages", APIOtherInout, jstsim.DatasetOtherInout, 7 * 24 * time.Hour, 7},
		{"skusn default size", APISkusn, jstsim.DatasetSkusn, 30 * 24 * time.Hour, 0},
		{"skusn small pages", APISkusn, jstsim.DatasetSkusn, 30 * 24 * time.Hour, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSandbox(t, sandboxOpts{})
			c := f.client(t, nil)
			docs := fetchAll(t, f, c, tt.api, tt.span, tt.pageSize, nil)
			assertTruth(t, f, tt.dataset, docs)
			form, _ := f.rec.form()
			var biz map[string]any
			if err := json.Unmarshal([]byte(form.Get("biz")), &biz); err != nil {
				t.Fatal(err)
			}
			wantSize := tt.pageSize
			if wantSize == 0 {
				wantSize = DefaultPageSize(tt.api)
			}
			if biz["page_size"] != float64(wantSize) {
				t.Errorf("page_size sent %v, want %d", biz["page_size"], wantSize)
			}
		})
	}
}

func TestOtherInoutPageFields(t *testing.T) {
	f := newSandbox(t, sandboxOpts{})
	c := f.client(t, nil)
	e := f.env.Start().Add(time.Minute)
	b := e.Add(-7*24*time.Hour + time.Second)
	p0, err := c.FetchPage(context.Background(), APIOtherInout, windowParams(APIOtherInout, b, e), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !p0.More || len(p0.Docs) != 10 || p0.Total <= 10 {
		t.Fatalf("first page: more %v, %d docs, total %d", p0.More, len(p0.Docs), p0.Total)
	}
	form, _ := f.rec.form()
	if !strings.Contains(form.Get("biz"), `"page_index":1`) {
		t.Errorf("engine page 0 sent as %s, want page_index 1", form.Get("biz"))
	}
	last := (p0.Total - 1) / 10
	pl, err := c.FetchPage(context.Background(), APIOtherInout, windowParams(APIOtherInout, b, e), last, 10)
	if err != nil {
		t.Fatal(err)
	}
	if pl.More || len(pl.Docs) != p0.Total-last*10 {
		t.Errorf("last page: more %v, %d docs, want %d", pl.More, len(pl.Docs), p0.Total-last*10)
	}
}

// ---- error classification against the sandbox ------------------------------

func TestWrongSecretIsPermanent(t *testing.T) {
	for _, api := range []string{APIOtherInout, APISkusn} {
		t.Run(api, func(t *testing.T) {
			f := newSandbox(t, sandboxOpts{})
			const secret = "definitely-wrong-secret"
			c := f.client(t, func(c *ClientConfig) { c.AppSecret = secret })
			e := f.env.Start()
			_, err := c.FetchPage(context.Background(), api, windowParams(api, e.Add(-time.Hour), e), 0, 0)
			ve := vendorErr(t, err)
			if ve.Kind != vendor.Permanent || ve.Code != "10" {
				t.Fatalf("kind %v code %q, want permanent 10", ve.Kind, ve.Code)
			}
			msg := err.Error()
			for _, want := range []string{"jushuitan", api, "code 10", "无效签名"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not name %q", msg, want)
				}
			}
			form, _ := f.rec.form()
			assertNoSecrets(t, msg, secret, f.cfg.AccessToken, f.cfg.RefreshToken, form.Get("sign"))
		})
	}
}

func TestErrorFaultsAreTransient(t *testing.T) {
	f := newSandbox(t, sandboxOpts{faults: core.Faults{ErrorRate: 1}})
	c := f.client(t, nil)
	e := f.env.Start()
	for i := range 6 {
		_, err := c.FetchPage(context.Background(), APIOtherInout, windowParams(APIOtherInout, e.Add(-time.Hour), e), 0, 0)
		ve := vendorErr(t, err)
		if ve.Kind != vendor.Transient || (ve.Status != 500 && ve.Status != 502) {
			t.Errorf("call %d: kind %v status %d, want transient 5xx", i, ve.Kind, ve.Status)
		}
	}
}

func TestRateLimitAnswerIsRateLimited(t *testing.T) {
	f := newSandbox(t, sandboxOpts{limits: true})
	c := f.client(t, nil)
	e := f.env.Start()
	var limited *vendor.Error
	for i := 0; i < 20 && limited == nil; i++ {
		_, err := c.FetchPage(context.Background(), APISkusn, windowParams(APISkusn, e.Add(-time.Hour), e), 0, 0)
		if err != nil {
			limited = vendorErr(t, err)
		}
	}
	if limited == nil {
		t.Fatal("a burst of 20 calls was never rate limited")
	}
	if limited.Kind != vendor.RateLimited || limited.Code != "199" || limited.RetryAfter != time.Second {
		t.Errorf("got kind %v code %s retry %v, want rate limited 199 after 1s", limited.Kind, limited.Code, limited.RetryAfter)
	}
}

func TestUnknownInterfaceNotGranted(t *testing.T) {
	f := newSandbox(t, sandboxOpts{})
	c := f.client(t, nil)
	_, err := c.FetchPage(context.Background(), "/open/shops/query", map[string]any{"so_ids": []any{"1"}}, 0, 0)
	ve := vendorErr(t, err)
	if ve.Kind != vendor.Permanent || ve.Code != "190" {
		t.Errorf("kind %v code %s, want permanent 190", ve.Kind, ve.Code)
	}
}

func TestTimeoutsAndCancellation(t *testing.T) {
	f := newSandbox(t, sandboxOpts{faults: core.Faults{TimeoutRate: 1}})
	e := f.env.Start()
	params := windowParams(APIOtherInout, e.Add(-time.Hour), e)

	t.Run("http client timeout is transient", func(t *testing.T) {
		c := f.client(t, func(c *ClientConfig) { c.HTTPClient = &http.Client{Timeout: 150 * time.Millisecond} })
		_, err := c.FetchPage(context.Background(), APIOtherInout, params, 0, 0)
		if ve := vendorErr(t, err); ve.Kind != vendor.Transient {
			t.Errorf("kind %v, want transient", ve.Kind)
		}
	})
	t.Run("ctx deadline returns ctx error", func(t *testing.T) {
		c := f.client(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.FetchPage(ctx, APIOtherInout, params, 0, 0)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("cancelled ctx", func(t *testing.T) {
		c := f.client(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.FetchPage(ctx, APIOtherInout, params, 0, 0)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	})
}

// ---- answers the sandbox does not give: a stub server ----------------------

func TestAnswerClassification(t *testing.T) {
	const token = "stub-access-token-123"
	const secret = "stub-secret-456"
	tests := []struct {
		name      string
		status    int
		body      string
		kind      vendor.Kind
		code      string
		retryMin  time.Duration
		retryMax  time.Duration
		contains  []string
		wantCalls int
	}{
		{name: "html gateway page with 200", status: 200, body: "<html><body>502 Bad Gateway</body></html>", kind: vendor.Transient, contains: []string{"not JSON"}, wantCalls: 1},
		{name: "truncated json", status: 200, body: `{"code":0,"msg":"执行成功","data":{"datas":[{"io_id":1`, kind: vendor.Transient, contains: []string{"truncated"}, wantCalls: 1},
		{name: "http 503", status: 503, body: "busy", kind: vendor.Transient, wantCalls: 1},
		{name: "http 404", status: 404, body: "not found", kind: vendor.Permanent, wantCalls: 1},
		{name: "http 429", status: 429, body: "slow down", kind: vendor.RateLimited, retryMin: time.Second, retryMax: time.Second, wantCalls: 1},
		{name: "no code", status: 200, body: `{"msg":"?"}`, kind: vendor.Transient, wantCalls: 1},
		{name: "10 bad sign", status: 200, body: `{"code":10,"msg":"验证失败！无效签名"}`, kind: vendor.Permanent, code: "10", wantCalls: 1},
		{name: "110 ip echoes token", status: 200, body: `{"code":110,"msg":"IP不在白名单列表 1.2.3.4 token=` + token + ` secret=` + secret + `"}`, kind: vendor.Permanent, code: "110", contains: []string{"白名单", "1.2.3.4"}, wantCalls: 1},
		{name: "150 provider", status: 200, body: `{"code":150,"msg":"服务商应用禁止刷新access_token"}`, kind: vendor.Permanent, code: "150", contains: []string{"服务商应用禁止刷新access_token: the merchant must re-authorize"}, wantCalls: 1},
		{name: "190 no grant", status: 200, body: `{"code":"190","msg":"无API权限"}`, kind: vendor.Permanent, code: "190", wantCalls: 1},
		{name: "199 per second", status: 200, body: `{"code":199,"msg":"调用频次超过限制!请稍后再试"}`, kind: vendor.RateLimited, code: "199", retryMin: time.Second, retryMax: time.Second, wantCalls: 1},
		{name: "200 per minute", status: 200, body: `{"code":200,"msg":"调用频次超过限制"}`, kind: vendor.RateLimited, code: "200", retryMin: time.Second, retryMax: time.Minute, wantCalls: 1},
		{name: "140 twice", status: 200, body: `{"code":140,"msg":"无效的timestamp"}`, kind: vendor.Permanent, code: "140", contains: []string{"clock"}, wantCalls: 2},
		{name: "other code", status: 200, body: `{"code":30,"msg":"参数错误：查询时间跨度不能超过7天"}`, kind: vendor.Permanent, code: "30", contains: []string{"7天"}, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			c, err := NewClient(ClientConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: secret, AccessToken: token, RefreshToken: "stub-refresh-789"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.FetchPage(context.Background(), APIOtherInout, nil, 0, 0)
			ve := vendorErr(t, err)
			if ve.Kind != tt.kind || ve.Code != tt.code {
				t.Errorf("kind %v code %q, want %v %q", ve.Kind, ve.Code, tt.kind, tt.code)
			}
			if ve.RetryAfter < tt.retryMin || ve.RetryAfter > tt.retryMax {
				t.Errorf("retry after %v, want %v..%v", ve.RetryAfter, tt.retryMin, tt.retryMax)
			}
			msg := err.Error()
			for _, want := range append([]string{"jushuitan", APIOtherInout}, tt.contains...) {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			assertNoSecrets(t, msg, token, secret, "stub-refresh-789")
			if n := int(calls.Load()); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

// TestGenericAnswers covers interfaces the catalogue lacks, described by
// the input's interface settings: both data forms, the id from the named
// field(s), and the refusal of a document without them or of an
// interface nobody described.
func TestGenericAnswers(t *testing.T) {
	pageObject := catalogue.Defaults(catalogue.Jushuitan)
	pageObject.Interface, pageObject.ID = "/open/some/list/query", []string{"o_id"}
	bare := pageObject
	bare.List, bare.ID = "", []string{"io_id"}
	joined := bare
	joined.ID = []string{"io_id", "o_id"}
	tests := []struct {
		name     string
		entry    *catalogue.Entry
		data     string
		pageSize int
		ids      []string
		more     bool
		total    int
		modified string
		wantErr  string
	}{
		{name: "page object", entry: &pageObject, data: `{"page_index":1,"page_count":3,"has_next":true,"data_count":5,"datas":[{"o_id":7,"modified":"2024-06-01 10:00:00.807"},{"o_id":"8"}]}`, pageSize: 2, ids: []string{"7", "8"}, more: true, total: 5, modified: "2024-06-01 10:00:00.807"},
		{name: "page object without has_next", entry: &pageObject, data: `{"page_index":3,"page_count":3,"datas":[{"o_id":9}]}`, pageSize: 2, ids: []string{"9"}, total: -1},
		{name: "bare array full", entry: &bare, data: `[{"io_id":1,"o_id":5},{"io_id":"x"}]`, pageSize: 2, ids: []string{"1", "x"}, more: true, total: -1},
		{name: "bare array short", entry: &bare, data: `[{"io_id":12345678901234567}]`, pageSize: 2, ids: []string{"12345678901234567"}, total: -1},
		{name: "joined id", entry: &joined, data: `[{"io_id":1,"o_id":5}]`, pageSize: 2, ids: []string{"1:5"}, total: -1},
		{name: "joined id incomplete", entry: &joined, data: `[{"io_id":1}]`, pageSize: 2, wantErr: "lacks o_id"},
		{name: "null data", entry: &bare, data: `null`, pageSize: 2, total: -1},
		{name: "null page object", entry: &pageObject, data: `null`, pageSize: 2, wantErr: "inconsistent"},
		{name: "no id field", entry: &bare, data: `[{"name":"x"}]`, pageSize: 2, wantErr: "none of the id fields io_id"},
		{name: "not described", data: `{"datas":[{"o_id":1}],"has_next":false}`, pageSize: 2, wantErr: "interface.id_fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"code":0,"msg":"执行成功","data":` + tt.data + `}`))
			}))
			t.Cleanup(srv.Close)
			c, err := NewClient(ClientConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s", AccessToken: "a", RefreshToken: "r", Interface: tt.entry})
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.FetchPage(context.Background(), "/open/some/list/query", nil, 0, tt.pageSize)
			if tt.wantErr != "" {
				ve := vendorErr(t, err)
				if want := vendor.Permanent; tt.wantErr == "inconsistent" {
					want = vendor.Transient
					if ve.Kind != want {
						t.Errorf("kind %v, want %v", ve.Kind, want)
					}
				} else if ve.Kind != want {
					t.Errorf("kind %v, want %v", ve.Kind, want)
				}
				if !strings.Contains(ve.Error(), tt.wantErr) {
					t.Errorf("error %q lacks %q", ve.Error(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, d := range p.Docs {
				ids = append(ids, d.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.ids, ",") || p.More != tt.more || p.Total != tt.total {
				t.Errorf("ids %v more %v total %d, want %v %v %d", ids, p.More, p.Total, tt.ids, tt.more, tt.total)
			}
			if tt.modified != "" {
				want, _ := time.ParseInLocation(vendorTimeLayout, tt.modified, shanghai)
				if !p.Docs[0].Modified.Equal(want) || want.Nanosecond() != 807e6 {
					t.Errorf("modified %v, want %v", p.Docs[0].Modified, want)
				}
			}
		})
	}
}

// ---- tokens ----------------------------------------------------------------

type tokenLog struct {
	mu    sync.Mutex
	calls [][2]string
	ttl   []time.Duration
}

func (l *tokenLog) On(a, r string, ttl time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, [2]string{a, r})
	l.ttl = append(l.ttl, ttl)
}

func (l *tokenLog) get() ([][2]string, []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][2]string(nil), l.calls...), append([]time.Duration(nil), l.ttl...)
}

// TestTokenExpiryMidPaging ages the sandbox clock by 5 minutes and sets a
// 2-minute token lifetime after the first page: the token in use expires
// mid-paging, and the client must refresh, persist and carry on without
// losing or repeating a document.
func TestTokenExpiryMidPaging(t *testing.T) {
	f := newSandbox(t, sandboxOpts{})
	log := &tokenLog{}
	c := f.client(t, func(c *ClientConfig) { c.OnTokens = log.On })
	docs := fetchAll(t, f, c, APIOtherInout, 7*24*time.Hour, 20, func(pages int) {
		if pages == 1 {
			f.clk.Shift(5 * time.Minute) // within the 10-minute timestamp tolerance
			if err := f.env.SetFaults(core.Faults{TokenTTL: core.Duration(2 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	})
	assertTruth(t, f, jstsim.DatasetOtherInout, docs)

	if n := f.count(jstsim.PathOtherInout, "100"); n != 1 {
		t.Errorf("sandbox answered 100 %d times, want 1 (the expiry)", n)
	}
	if n := f.count(jstsim.PathRefreshToken, "0"); n != 1 {
		t.Errorf("%d successful refreshes, want 1", n)
	}
	calls, ttls := log.get()
	if len(calls) != 1 {
		t.Fatalf("OnTokens called %d times, want 1", len(calls))
	}
	access, refresh := c.Tokens()
	creds := f.sim.Credentials().(jstsim.Credentials)
	if calls[0] != [2]string{access, refresh} || access != creds.AccessToken || refresh != creds.RefreshToken {
		t.Errorf("OnTokens %v, Tokens() %s/%s, sandbox %s/%s disagree", calls[0], access, refresh, creds.AccessToken, creds.RefreshToken)
	}
	if access == f.cfg.AccessToken {
		t.Error("access token unchanged after refresh")
	}
	if ttls[0] != 2*time.Minute {
		t.Errorf("expiresIn %v, want 2m", ttls[0])
	}
}

// TestConcurrentRefreshSingleFlight starts many calls with an invalid
// token at once: exactly one refresh may reach the platform (the refresh
// token is single-use, so a second one would fail).
func TestConcurrentRefreshSingleFlight(t *testing.T) {
	f := newSandbox(t, sandboxOpts{})
	log := &tokenLog{}
	c := f.client(t, func(c *ClientConfig) { c.AccessToken, c.OnTokens = "stale-access-token", log.On })
	e := f.env.Start()
	params := windowParams(APISkusn, e.Add(-24*time.Hour), e)
	const n = 8
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			_, err := c.FetchPage(context.Background(), APISkusn, params, 0, 0)
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call failed: %v", err)
		}
	}
	if got := f.count(jstsim.PathRefreshToken, ""); got != 1 {
		t.Errorf("%d refresh calls reached the sandbox, want 1", got)
	}
	if calls, _ := log.get(); len(calls) != 1 {
		t.Errorf("OnTokens called %d times, want 1", len(calls))
	}
	if f.count(jstsim.PathSkusn, "100") < 1 {
		t.Error("the stale token was never rejected: the test proves nothing")
	}
}

func TestTokenRecoveryFailures(t *testing.T) {
	tests := []struct {
		name        string
		simProvider bool
		client      func(*ClientConfig)
		kind        vendor.Kind
		code        string
		contains    []string
		refreshes   int
	}{
		{
			name:   "provider app: no refresh, re-authorize",
			client: func(c *ClientConfig) { c.Provider, c.RefreshToken = true, "" },
			kind:   vendor.Permanent, code: "100",
			contains: []string{"re-authorization", "access_token"}, refreshes: 0,
		},
		{
			name:   "no refresh token: stop, re-authorize",
			client: func(c *ClientConfig) { c.RefreshToken = "" },
			kind:   vendor.Permanent, code: "100",
			contains: []string{APIOtherInout, "access_token expired and no refresh_token is configured", "set refresh_token (JST_REFRESH_TOKEN"}, refreshes: 0,
		},
		{
			name:        "platform forbids refresh (150)",
			simProvider: true,
			client:      func(*ClientConfig) {},
			kind:        vendor.Permanent, code: "150",
			contains: []string{"服务商应用禁止刷新access_token: the merchant must re-authorize", "/openWeb/auth/refreshToken"}, refreshes: 1,
		},
		{
			name:   "refresh token rejected",
			client: func(c *ClientConfig) { c.RefreshToken = "wrong-refresh-token" },
			kind:   vendor.Expired, code: "100",
			contains: []string{"refresh_token", "/openWeb/auth/refreshToken", APIOtherInout}, refreshes: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSandbox(t, sandboxOpts{sim: func(c *jstsim.Config) { c.Provider = tt.simProvider }})
			log := &tokenLog{}
			c := f.client(t, func(c *ClientConfig) {
				c.AccessToken, c.OnTokens = "stale-access-token", log.On
				tt.client(c)
			})
			e := f.env.Start()
			_, err := c.FetchPage(context.Background(), APIOtherInout, windowParams(APIOtherInout, e.Add(-time.Hour), e), 0, 0)
			ve := vendorErr(t, err)
			if ve.Kind != tt.kind || ve.Code != tt.code {
				t.Errorf("kind %v code %q, want %v %q (%v)", ve.Kind, ve.Code, tt.kind, tt.code, err)
			}
			msg := err.Error()
			for _, want := range tt.contains {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			assertNoSecrets(t, msg, "stale-access-token", "wrong-refresh-token", f.cfg.RefreshToken, f.cfg.AppSecret)
			if got := f.count(jstsim.PathRefreshToken, ""); got != tt.refreshes {
				t.Errorf("%d refresh calls, want %d", got, tt.refreshes)
			}
			if calls, _ := log.get(); len(calls) != 0 {
				t.Errorf("OnTokens called after a failed refresh: %v", calls)
			}
			if a, _ := c.Tokens(); a != "stale-access-token" {
				t.Errorf("access token changed to %q after a failed refresh", a)
			}
		})
	}
}

// ---- timestamps --------------------------------------------------------------

func TestTimestampRetry(t *testing.T) {
	t.Run("stale timestamp is rebuilt once", func(t *testing.T) {
		f := newSandbox(t, sandboxOpts{})
		c := f.client(t, nil)
		var calls atomic.Int32
		c.now = func() time.Time {
			if calls.Add(1) == 1 {
				return time.Now().Add(-time.Hour) // a request that sat in a queue
			}
			return time.Now()
		}
		e := f.env.Start()
		p, err := c.FetchPage(context.Background(), APIOtherInout, windowParams(APIOtherInout, e.Add(-24*time.Hour), e), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Docs) == 0 {
			t.Error("no documents in the last day")
		}
		if n := f.count(jstsim.PathOtherInout, "140"); n != 1 {
			t.Errorf("%d answers 140, want 1", n)
		}
	})
	t.Run("skewed clock is permanent after one retry", func(t *testing.T) {
		f := newSandbox(t, sandboxOpts{})
		c := f.client(t, nil)
		f.clk.Shift(time.Hour)
		e := f.env.Start()
		_, err := c.FetchPage(context.Background(), APIOtherInout, windowParams(APIOtherInout, e.Add(-time.Hour), e), 0, 0)
		ve := vendorErr(t, err)
		if ve.Kind != vendor.Permanent || ve.Code != "140" {
			t.Errorf("kind %v code %s, want permanent 140", ve.Kind, ve.Code)
		}
		if n := f.count(jstsim.PathOtherInout, "140"); n != 2 {
			t.Errorf("%d answers 140, want 2", n)
		}
	})
}

// ---- biz encoding --------------------------------------------------------------

// TestChineseTypesSigned sends the Chinese `types` literals: biz must be
// posted as UTF-8 text and signed over exactly that text, and the sandbox
// must apply the filter.
func TestChineseTypesSigned(t *testing.T) {
	f := newSandbox(t, sandboxOpts{})
	c := f.client(t, nil)
	e := f.env.Start().Add(time.Minute)
	b := e.Add(-7*24*time.Hour + time.Second)
	want := map[string]bool{"其它进仓": true, "其它出库": true}
	params := windowParams(APIOtherInout, b, e)
	params["types"] = []any{"其它进仓", "其它出库"}
	params["status"] = nil // unset fields must be omitted, not sent as null

	types := func(params map[string]any) map[string]int {
		t.Helper()
		seen := map[string]int{}
		for page := 0; ; page++ {
			p, err := c.FetchPage(context.Background(), APIOtherInout, params, page, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range p.Docs {
				var row struct{ Type string }
				if err := json.Unmarshal(d.Raw, &row); err != nil {
					t.Fatal(err)
				}
				seen[row.Type]++
			}
			if !p.More {
				return seen
			}
		}
	}
	filtered := types(params)
	form, _ := f.rec.form()
	biz := form.Get("biz")
	if !strings.Contains(biz, `"types":["其它进仓","其它出库"]`) {
		t.Errorf("biz %s does not carry the literals as UTF-8", biz)
	}
	if strings.Contains(biz, "status") || strings.Contains(biz, "null") {
		t.Errorf("biz %s carries a null field", biz)
	}
	signed := map[string]string{}
	for k := range form {
		if k != "sign" {
			signed[k] = form.Get(k)
		}
	}
	keys := make([]string, 0, len(signed))
	for k := range signed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "access_token,app_key,biz,charset,timestamp,version" {
		t.Errorf("posted fields %v", keys)
	}
	if Sign(signed, f.cfg.AppSecret) != form.Get("sign") {
		t.Error("sign does not cover the posted values")
	}
	if len(filtered) == 0 {
		t.Fatal("filtered query returned nothing")
	}
	for typ := range filtered {
		if !want[typ] {
			t.Errorf("filter leaked type %q", typ)
		}
	}
	delete(params, "types")
	if all := types(params); all["其它退货"] == 0 {
		t.Error("unfiltered query has no 其它退货: the filter test proves nothing")
	}
}

func TestBuildBiz(t *testing.T) {
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC) // 08:00 in China
	got, err := buildBiz(map[string]any{
		"modified_begin": at, "note": "<a&b>", "skip": nil,
		"nested": map[string]any{"x": nil, "y": 1}, "page_index": 99,
	}, catalogue.Paging{Page: "page_index", Size: "page_size"}, 3, 50)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"modified_begin":"2024-06-01 08:00:00","nested":{"y":1},"note":"<a&b>","page_index":3,"page_size":50}`
	if got != want {
		t.Errorf("biz\n got %s\nwant %s", got, want)
	}
}

// TestPagePromises: a code-0 answer that contradicts what the interface
// promises is a transient error (asked again), never an empty page that
// would end the window early; where has_next and the counts disagree, the
// reading that cannot lose documents wins.
func TestPagePromises(t *testing.T) {
	tests := []struct {
		name    string
		api     string
		data    string
		wantErr string // "" for success
		more    bool
		total   int
		size    int
	}{
		{name: "other/inout data null", api: APIOtherInout, data: `null`, wantErr: "data is null: this interface always answers a page object"},
		{name: "other/inout data missing", api: APIOtherInout, data: ``, wantErr: "data is missing"},
		{name: "other/inout datas null but counted", api: APIOtherInout, data: `{"page_index":2,"page_size":50,"data_count":120,"page_count":3,"has_next":true,"datas":null}`, wantErr: "data_count 120 but no datas list"},
		{name: "other/inout datas missing but counted", api: APIOtherInout, data: `{"page_index":1,"data_count":3}`, wantErr: "data_count 3"},
		{name: "other/inout empty window", api: APIOtherInout, data: `{"page_index":1,"page_size":50,"data_count":0,"page_count":0,"has_next":false,"datas":null}`, total: 0, size: 50},
		{name: "has_next false contradicts page_count", api: APIOtherInout, data: `{"page_index":1,"page_size":50,"data_count":120,"page_count":3,"has_next":false,"datas":[{"io_id":1}]}`, more: true, total: 120, size: 50},
		{name: "server page_size is the size", api: APIOtherInout, data: `{"page_index":1,"page_size":30,"data_count":31,"page_count":2,"has_next":true,"datas":[{"io_id":1}]}`, more: true, total: 31, size: 30},
		{name: "skusn null is an empty page without a count", api: APISkusn, data: `null`, total: -1, size: 50},
		{name: "page object where skusn is documented is still read", api: APISkusn, data: `{"datas":[{"io_id":1,"sku_sn":"A"}],"data_count":1}`, total: 1, size: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"code":0,"msg":"执行成功"` + map[bool]string{true: `,"data":` + tt.data, false: ``}[tt.data != ""] + `}`
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) }))
			t.Cleanup(srv.Close)
			c, err := NewClient(ClientConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s", AccessToken: "a", RefreshToken: "r"})
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.FetchPage(context.Background(), tt.api, nil, 0, 50)
			if tt.wantErr != "" {
				ve := vendorErr(t, err)
				if ve.Kind != vendor.Transient || !strings.Contains(ve.Msg, tt.wantErr) || !strings.Contains(ve.Error(), tt.api) {
					t.Fatalf("error %v, want a transient one naming %s and saying %q", err, tt.api, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.More != tt.more || p.Total != tt.total || p.Size != tt.size {
				t.Fatalf("more %v total %d size %d, want %v %d %d", p.More, p.Total, p.Size, tt.more, tt.total, tt.size)
			}
		})
	}
}

// TestFilterField: Document.Filter is the window's filter field, never the
// modified time (unique-code flows window on create_time while their
// modified_time may be hours later).
func TestFilterField(t *testing.T) {
	data := `[{"io_id":1,"sku_sn":"A","create_time":"2024-06-01 10:00:00","modified_time":"2024-06-01 13:00:00","io_date":"2024-06-02 08:00:00"}]`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"code":0,"msg":"执行成功","data":` + data + `}`))
	}))
	t.Cleanup(srv.Close)
	at := func(s string) time.Time { v, _ := time.ParseInLocation(vendorTimeLayout, s, shanghai); return v }
	for _, tt := range []struct {
		api, field string
		want       time.Time
	}{
		{APISkusn, "", at("2024-06-01 10:00:00")},
		{APISkusn, "io_date", at("2024-06-02 08:00:00")},
		{APISkusn, "absent_field", time.Time{}},
	} {
		c, err := NewClient(ClientConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s", AccessToken: "a", RefreshToken: "r", FilterField: tt.field})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.FetchPage(context.Background(), tt.api, nil, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		d := p.Docs[0]
		if !d.Filter.Equal(tt.want) || !d.Modified.Equal(at("2024-06-01 13:00:00")) {
			t.Errorf("filter field %q: Filter %v Modified %v, want Filter %v and Modified the modified_time", tt.field, d.Filter, d.Modified, tt.want)
		}
	}
	if DefaultFilterField(APISkusn) != "create_time" || DefaultFilterField(APIOtherInout) != "modified" || DefaultFilterField("open/other/inout/query") != "modified" {
		t.Error("default filter fields")
	}
}

// TestAnswerOverTheLimit: an answer over max_answer_bytes stops the input
// with an error naming the limit and the field, instead of downloading it
// again forever.
func TestAnswerOverTheLimit(t *testing.T) {
	big := `{"code":0,"msg":"执行成功","data":[{"io_id":1,"sku_sn":"` + strings.Repeat("x", 4096) + `"}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(big)) }))
	t.Cleanup(srv.Close)
	c, err := NewClient(ClientConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s", AccessToken: "a", RefreshToken: "r", MaxAnswerBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.FetchPage(context.Background(), APISkusn, nil, 0, 50)
	ve := vendorErr(t, err)
	if ve.Kind != vendor.Permanent || !strings.Contains(ve.Msg, "over the 1024-byte limit (max_answer_bytes)") {
		t.Fatalf("error %v, want a permanent one naming the limit and max_answer_bytes", err)
	}
}
