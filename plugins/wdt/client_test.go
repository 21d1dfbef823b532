package wdt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/erpsync/erpsync/internal/catalogue"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
	"github.com/erpsync/erpsync/sandbox/core"
	wdtsim "github.com/erpsync/erpsync/sandbox/wdt"
)

// --- known answers -------------------------------------------------------

// The expected signs below were computed outside Go, from the packed
// strings written out by hand, e.g.
//
//	printf '%s' '06-appkey:0004-key1;...;09-timestamp:0010-1700000000s3cret' | md5sum
func TestSignOpenapi2KnownAnswers(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{
			name:   "ascii",
			params: map[string]string{"sid": "sid1", "appkey": "key1", "timestamp": "1700000000"},
			want:   "0097c9d67dc30832463665dda7ed4602",
		},
		{
			// 店铺01 is 4 characters and 8 bytes: "07-shop_no:0004-店铺01".
			name: "chinese value counts characters",
			params: map[string]string{"sid": "sid1", "appkey": "key1", "timestamp": "1700000000",
				"page_no": "0", "page_size": "100", "shop_no": "店铺01"},
			want: "0036864ef9370e55a5db8d2d6d173d42",
		},
		{
			name: "sign field is not signed",
			params: map[string]string{"sid": "sid1", "appkey": "key1", "timestamp": "1700000000",
				"sign": "whatever"},
			want: "0097c9d67dc30832463665dda7ed4602",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SignOpenapi2(tt.params, "s3cret"); got != tt.want {
				t.Errorf("SignOpenapi2 = %s, want %s", got, tt.want)
			}
		})
	}
	// The byte-count variant ("07-shop_no:0008-店铺01") hashes to
	// a868295367eb7bc2dc8fa399b78b2b75; the client must not produce it.
	p := tests[1].params
	if got := SignOpenapi2(p, "s3cret"); got == "a868295367eb7bc2dc8fa399b78b2b75" {
		t.Error("SignOpenapi2 counts bytes, not characters")
	}
}

func TestPackOpenapi2(t *testing.T) {
	long := strings.Repeat("货", 12345)
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"doc example", map[string]string{"shop_no": "店铺01"}, "07-shop_no:0004-店铺01"},
		{"sorted, joined by ;", map[string]string{"sid": "a", "appkey": "b"}, "06-appkey:0001-b;03-sid:0001-a"},
		{"padding is a minimum width", map[string]string{"remark": long}, "06-remark:12345-" + long},
		{"empty value still packs its length", map[string]string{"x": ""}, "01-x:0000-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := packOpenapi2(tt.params); got != tt.want {
				t.Errorf("packOpenapi2 = %.60q, want %.60q", got, tt.want)
			}
		})
	}
}

func TestSignQimenKnownAnswers(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{
			// qmsecret + app_keyqmapp formatjson methodwdt.shop.query page_no0
			// page_size100 sidsid1 sign_methodmd5 target_app_keywdttarget
			// timestamp2024-01-02 03:04:05 v2.0 + qmsecret, uppercase md5.
			name: "system and business fields",
			params: map[string]string{
				"method": "wdt.shop.query", "app_key": "qmapp", "target_app_key": "wdttarget",
				"timestamp": "2024-01-02 03:04:05", "format": "json", "v": "2.0", "sign_method": "md5",
				"sid": "sid1", "page_no": "0", "page_size": "100", "sign": "ignored",
			},
			want: "0D67B01DE1FE07212CEFD39F7DD3F95C",
		},
		{
			name:   "chinese value signed raw",
			params: map[string]string{"app_key": "qmapp", "shop_no": "店铺01"},
			want:   "26193A82779EDF90637EB3EC9AA6D77D",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SignQimen(tt.params, "qmsecret"); got != tt.want {
				t.Errorf("SignQimen = %s, want %s", got, tt.want)
			}
		})
	}
}

// --- sandbox fixture -----------------------------------------------------

type sandbox struct {
	env *core.Env
	srv *httptest.Server
	cfg wdtsim.Config
}

func newSandbox(t *testing.T, opts core.Options) *sandbox {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Records == 0 {
		opts.Records = 300
	}
	env, err := core.NewEnv(opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := wdtsim.DefaultConfig()
	sim, err := wdtsim.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sim.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(env.Close)
	return &sandbox{env: env, srv: srv, cfg: cfg}
}

// config returns working credentials of protocol for the sandbox.
func (s *sandbox) config(protocol string) ClientConfig {
	return ClientConfig{
		BaseURL: s.srv.URL, Protocol: protocol,
		SID: s.cfg.SID, AppKey: s.cfg.AppKey, AppSecret: s.cfg.AppSecret,
		QimenAppKey: s.cfg.QimenAppKey, QimenAppSecret: s.cfg.QimenAppSecret, TargetAppKey: s.cfg.QimenTargetAppKey,
	}
}

func newClient(t *testing.T, cfg ClientConfig) *Client {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// shopAPI is the shop list's interface name on each protocol.
var shopAPI = map[string]string{ProtocolOpenapi2: "shop.php", ProtocolQimen: "wdt.shop.query"}

// fetchAll pages api to the end and returns the documents and the call count.
func fetchAll(t *testing.T, c *Client, api string, params map[string]any, size int) ([]vendor.Document, int) {
	t.Helper()
	var docs []vendor.Document
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatal("paging does not end")
		}
		p, err := c.FetchPage(context.Background(), api, params, page, size)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		docs = append(docs, p.Docs...)
		if !p.More {
			return docs, page + 1
		}
	}
}

// recorder keeps the form fields of every request, to check what was sent.
type recorder struct {
	mu    sync.Mutex
	forms []url.Values
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	f, _ := url.ParseQuery(string(b))
	r.mu.Lock()
	r.forms = append(r.forms, f)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) last() url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.forms) == 0 {
		return nil
	}
	return r.forms[len(r.forms)-1]
}

// --- paging against the truth ------------------------------------------

func TestFetchPageEveryShopOnce(t *testing.T) {
	tests := []struct {
		name     string
		protocol string
		api      string
		baseURL  func(*sandbox) string
		size     int
	}{
		{"openapi2 default size", ProtocolOpenapi2, "shop.php", nil, 0},
		{"openapi2 size 7", ProtocolOpenapi2, "shop.php", nil, 7},
		{"openapi2 size 100", ProtocolOpenapi2, "shop.php", nil, 100},
		{"qimen default size", ProtocolQimen, "wdt.shop.query", nil, 0},
		{"qimen size 13", ProtocolQimen, "wdt.shop.query", nil, 13},
		{"qimen router prefix", ProtocolQimen, "hu3cgwt0tc.wdt.shop.query", nil, 50},
		{"qimen test gateway URL", ProtocolQimen, "wdt.shop.query", func(s *sandbox) string { return s.srv.URL + "/router/qmtest" }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSandbox(t, core.Options{})
			cfg := sb.config(tt.protocol)
			if tt.baseURL != nil {
				cfg.BaseURL = tt.baseURL(sb)
			}
			c := newClient(t, cfg)
			size := tt.size
			if size == 0 {
				size = 100
			}
			// The sandbox lists enabled shops unless is_disabled=1 asks for
			// the disabled ones; both together are the whole dataset.
			var docs []vendor.Document
			calls := 0
			for _, disabled := range []any{0, true} {
				d, n := fetchAll(t, c, tt.api, map[string]any{"is_disabled": disabled}, size)
				docs = append(docs, d...)
				calls += n
				// Every page but the last is full: n = ceil(len/size).
				if want := max(1, (len(d)+size-1)/size); n != want {
					t.Errorf("is_disabled=%v: %d calls for %d shops of page size %d, want %d", disabled, n, len(d), size, want)
				}
			}
			truth := sb.env.Dataset(wdtsim.DatasetShops).Truth()
			if len(docs) != len(truth) {
				t.Fatalf("got %d documents, truth has %d", len(docs), len(truth))
			}
			seen := map[string]vendor.Document{}
			for _, d := range docs {
				if _, dup := seen[d.ID]; dup {
					t.Errorf("shop %s read twice", d.ID)
				}
				seen[d.ID] = d
			}
			for _, want := range truth {
				d, ok := seen[want.ID]
				if !ok {
					t.Errorf("shop %s missing", want.ID)
					continue
				}
				wantMod, err := time.ParseInLocation(vendorTimeLayout, want.Modified, shanghai)
				if err != nil {
					t.Fatal(err)
				}
				if !d.Modified.Equal(wantMod) {
					t.Errorf("shop %s: Modified %v, want %v", want.ID, d.Modified, wantMod)
				}
				if _, off := d.Modified.Zone(); off != 8*3600 {
					t.Errorf("shop %s: Modified zone offset %d, want +08:00", want.ID, off)
				}
				var row struct {
					ShopID json.Number `json:"shop_id"`
				}
				if err := json.Unmarshal(d.Raw, &row); err != nil || row.ShopID.String() != want.ID {
					t.Errorf("shop %s: Raw %s does not carry its shop_id (%v)", want.ID, d.Raw, err)
				}
			}
		})
	}
}

// The Qimen timestamp must be China time even when the host clock is UTC;
// the sandbox allows 10 minutes, so an unconverted UTC time (8 h off) fails.
func TestQimenTimestampIsChinaTime(t *testing.T) {
	sb := newSandbox(t, core.Options{})
	rec := &recorder{}
	cfg := sb.config(ProtocolQimen)
	cfg.HTTPClient = &http.Client{Transport: rec}
	c := newClient(t, cfg)
	c.now = func() time.Time { return time.Now().UTC() }
	if _, err := c.FetchPage(context.Background(), "wdt.shop.query", nil, 0, 1); err != nil {
		t.Fatal(err)
	}
	ts := rec.last().Get("timestamp")
	got, err := time.ParseInLocation(vendorTimeLayout, ts, shanghai)
	if err != nil {
		t.Fatalf("timestamp %q: %v", ts, err)
	}
	if d := time.Since(got); d > time.Minute || d < -time.Minute {
		t.Errorf("timestamp %q is %v off the clock", ts, d)
	}
}

func TestChineseShopNo(t *testing.T) {
	for _, protocol := range []string{ProtocolOpenapi2, ProtocolQimen} {
		t.Run(protocol, func(t *testing.T) {
			sb := newSandbox(t, core.Options{})
			rec := &recorder{}
			cfg := sb.config(protocol)
			cfg.HTTPClient = &http.Client{Transport: rec}
			c := newClient(t, cfg)
			// shop 3 is 店铺01 in the sandbox's data (doc.go: the k-th Chinese
			// shop_no belongs to shop 8(k-1)+3).
			p, err := c.FetchPage(context.Background(), shopAPI[protocol], map[string]any{"shop_no": "店铺01"}, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Docs) != 1 || p.Docs[0].ID != "3" || p.More || p.Total != 1 {
				t.Fatalf("got %d docs (first %v), More %v, Total %d; want shop 3 only", len(p.Docs), p.Docs, p.More, p.Total)
			}
			var row struct {
				ShopNo string `json:"shop_no"`
			}
			if err := json.Unmarshal(p.Docs[0].Raw, &row); err != nil || row.ShopNo != "店铺01" {
				t.Errorf("shop_no %q (%v), want 店铺01", row.ShopNo, err)
			}
			if got := rec.last().Get("shop_no"); got != "店铺01" {
				t.Errorf("sent shop_no %q", got)
			}
		})
	}
}

// --- errors --------------------------------------------------------------

// checkError asserts a *vendor.Error of kind whose message names every
// want and none of the secrets.
func checkError(t *testing.T, err error, kind vendor.Kind, wants, secrets []string) *vendor.Error {
	t.Helper()
	var ve *vendor.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *vendor.Error", err, err)
	}
	if ve.Kind != kind {
		t.Errorf("kind %v, want %v (%v)", ve.Kind, kind, err)
	}
	msg := err.Error()
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not name %q", msg, w)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("message %q leaks secret %q", msg, s)
		}
	}
	return ve
}

func TestCredentialErrorsArePermanent(t *testing.T) {
	tests := []struct {
		name     string
		protocol string
		mutate   func(*ClientConfig)
		wants    []string
	}{
		{"openapi2 wrong secret", ProtocolOpenapi2, func(c *ClientConfig) { c.AppSecret = "wrong-o2-secret" },
			[]string{"wdt", "shop.php", "code 2030", "签名错误"}},
		{"openapi2 unknown sid", ProtocolOpenapi2, func(c *ClientConfig) { c.SID = "nobody" },
			[]string{"wdt", "shop.php", "code 2060", "sid is not"}},
		{"openapi2 wrong appkey", ProtocolOpenapi2, func(c *ClientConfig) { c.AppKey = "other" },
			[]string{"wdt", "shop.php", "code 2100", "app auth fail"}},
		{"qimen wrong secret", ProtocolQimen, func(c *ClientConfig) { c.QimenAppSecret = "wrong-qm-secret" },
			[]string{"wdt", "wdt.shop.query", "sign-check-failure/isv.invalid-signature", "Illegal request", "签名错误"}},
		{"qimen wrong target_app_key", ProtocolQimen, func(c *ClientConfig) { c.TargetAppKey = "nobody" },
			[]string{"wdt", "wdt.shop.query", "route-failure/isv.target-app-key-not-exists"}},
		{"qimen wrong app_key", ProtocolQimen, func(c *ClientConfig) { c.QimenAppKey = "nobody" },
			[]string{"wdt", "wdt.shop.query", "isv.appkey-not-exists"}},
		{"qimen unknown sid", ProtocolQimen, func(c *ClientConfig) { c.SID = "nobody" },
			[]string{"wdt", "wdt.shop.query", "code 2060", "sid is not"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := newSandbox(t, core.Options{})
			rec := &recorder{}
			cfg := sb.config(tt.protocol)
			tt.mutate(&cfg)
			cfg.HTTPClient = &http.Client{Transport: rec}
			c := newClient(t, cfg)
			_, err := c.FetchPage(context.Background(), shopAPI[tt.protocol], map[string]any{"shop_no": "店铺01"}, 0, 0)
			sign := rec.last().Get("sign")
			if sign == "" {
				t.Fatal("no sign was sent")
			}
			checkError(t, err, vendor.Permanent, tt.wants,
				[]string{cfg.AppSecret, cfg.QimenAppSecret, sb.cfg.AppSecret, sb.cfg.QimenAppSecret, sign})
		})
	}
}

func TestErrorFaultsAreTransient(t *testing.T) {
	for _, protocol := range []string{ProtocolOpenapi2, ProtocolQimen} {
		t.Run(protocol, func(t *testing.T) {
			sb := newSandbox(t, core.Options{})
			if err := sb.env.SetFaults(core.Faults{ErrorRate: 1}); err != nil {
				t.Fatal(err)
			}
			c := newClient(t, sb.config(protocol))
			// 500 text and 502 HTML are drawn at random: a few calls see both.
			statuses := map[int]bool{}
			for range 20 {
				_, err := c.FetchPage(context.Background(), shopAPI[protocol], nil, 0, 0)
				ve := checkError(t, err, vendor.Transient, []string{"wdt", shopAPI[protocol], "HTTP 5"}, nil)
				statuses[ve.Status] = true
			}
			if !statuses[500] || !statuses[502] {
				t.Errorf("statuses seen %v, want 500 and 502", statuses)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	for _, protocol := range []string{ProtocolOpenapi2, ProtocolQimen} {
		t.Run(protocol, func(t *testing.T) {
			sb := newSandbox(t, core.Options{Limits: true})
			c := newClient(t, sb.config(protocol))
			// The sandbox's bucket holds 60 calls; a burst must hit it.
			for i := range 200 {
				_, err := c.FetchPage(context.Background(), shopAPI[protocol], nil, 0, 1)
				if err == nil {
					continue
				}
				ve := checkError(t, err, vendor.RateLimited, []string{"wdt", shopAPI[protocol], "code 2020", "频率超限"}, nil)
				if ve.RetryAfter != RateLimitWait {
					t.Errorf("RetryAfter %v, want %v", ve.RetryAfter, RateLimitWait)
				}
				if i < 50 {
					t.Errorf("rate limited after %d calls, the sandbox allows 60", i)
				}
				return
			}
			t.Fatal("200 calls were never rate limited")
		})
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	sb := newSandbox(t, core.Options{Faults: core.Faults{TimeoutRate: 1}})
	cfg := sb.config(ProtocolOpenapi2)
	cfg.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
	c := newClient(t, cfg)
	_, err := c.FetchPage(context.Background(), "shop.php", nil, 0, 0)
	ve := checkError(t, err, vendor.Transient, []string{"wdt", "shop.php"}, []string{sb.cfg.AppSecret})
	if ve.Err == nil {
		t.Error("the transport error is not kept")
	}
}

func TestContextCancellation(t *testing.T) {
	sb := newSandbox(t, core.Options{Faults: core.Faults{TimeoutRate: 1}})
	c := newClient(t, sb.config(ProtocolQimen))

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.FetchPage(cancelled, "wdt.shop.query", nil, 0, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before the call: %v, want context.Canceled", err)
	}
	// The sandbox never answers: only the deadline ends the call.
	ctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := c.FetchPage(ctx, "wdt.shop.query", nil, 0, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline during the call: %v, want context.DeadlineExceeded", err)
	}
}

// fake serves a fixed answer and records the last form.
func fake(t *testing.T, status int, contentType, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fakeClient(t *testing.T, protocol, baseURL string) *Client {
	t.Helper()
	return newClient(t, ClientConfig{
		BaseURL: baseURL, Protocol: protocol,
		SID: "sid", AppKey: "key", AppSecret: "o2-SECRET-value",
		QimenAppKey: "qm", QimenAppSecret: "qm-SECRET-value", TargetAppKey: "target",
	})
}

func TestBadAnswers(t *testing.T) {
	const html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
	tests := []struct {
		name     string
		protocol string
		status   int
		body     string
		kind     vendor.Kind
		wants    []string
	}{
		{"html page with 200", ProtocolOpenapi2, 200, html, vendor.Transient, []string{"not a JSON object", "502 Bad Gateway"}},
		{"html page with 200 qimen", ProtocolQimen, 200, html, vendor.Transient, []string{"not a JSON object"}},
		{"truncated JSON", ProtocolOpenapi2, 200, `{"code":0,"total_count":3,"shoplist":[{"shop_id":1},`, vendor.Transient, []string{"not a JSON object"}},
		{"truncated JSON qimen", ProtocolQimen, 200, `{"response":{"errorcode":0,"shoplist":[`, vendor.Transient, []string{"not a JSON object"}},
		{"503 text", ProtocolOpenapi2, 503, "Service Unavailable", vendor.Transient, []string{"HTTP 503"}},
		{"429", ProtocolQimen, 429, "slow down", vendor.RateLimited, []string{"HTTP 429"}},
		{"404 wrong base URL", ProtocolOpenapi2, 404, "not found", vendor.Permanent, []string{"HTTP 404"}},
		{"JSON without code", ProtocolOpenapi2, 200, `{"error":"upstream"}`, vendor.Transient, []string{"no code"}},
		{"qimen without response", ProtocolQimen, 200, `{"code":0}`, vendor.Transient, []string{"no response"}},
		{"qimen without errorcode", ProtocolQimen, 200, `{"response":{"total_count":1}}`, vendor.Transient, []string{"no errorcode"}},
		{"openapi2 rate limit by message", ProtocolOpenapi2, 200, `{"code":9999,"message":"接口调用频率超限"}`, vendor.RateLimited, []string{"code 9999", "频率超限"}},
		{"openapi2 unknown code is permanent", ProtocolOpenapi2, 200, `{"code":"1234","message":"something"}`, vendor.Permanent, []string{"code 1234", "something"}},
		{"openapi2 parameter 超限 is permanent", ProtocolOpenapi2, 200, `{"code":100,"message":"page_size超限"}`, vendor.Permanent, []string{"code 100"}},
		{"openapi2 no permission", ProtocolOpenapi2, 200, `{"code":2200,"message":"权限不足"}`, vendor.Permanent, []string{"权限不足"}},
		{"qimen isp failure is transient", ProtocolQimen, 200,
			`{"response":{"flag":"failure","code":"15","sub_code":"isp.remote-service-timeout","message":"Remote service error"}}`,
			vendor.Transient, []string{"15/isp.remote-service-timeout", "Remote service error"}},
		{"qimen call limited", ProtocolQimen, 200,
			`{"response":{"flag":"failure","code":"7","sub_code":"accesscontrol.limited-by-app-access-count","message":"App Call Limited"}}`,
			vendor.RateLimited, []string{"App Call Limited"}},
		{"TOP error_response", ProtocolQimen, 200,
			`{"error_response":{"code":25,"msg":"Invalid signature","sub_code":"isv.invalid-signature"}}`,
			vendor.Permanent, []string{"25/isv.invalid-signature", "Invalid signature"}},
		{"qimen errorcode rate limit", ProtocolQimen, 200, `{"response":{"errorcode":2020,"message":"调用频率超限"}}`,
			vendor.RateLimited, []string{"code 2020"}},
		{"secret echoed back is redacted", ProtocolOpenapi2, 200, `{"code":2030,"message":"bad sign for o2-SECRET-value"}`,
			vendor.Permanent, []string{"code 2030", "[redacted]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fake(t, tt.status, "application/json", tt.body)
			c := fakeClient(t, tt.protocol, srv.URL)
			api := shopAPI[tt.protocol]
			_, err := c.FetchPage(context.Background(), api, nil, 0, 0)
			ve := checkError(t, err, tt.kind, append([]string{"wdt", api}, tt.wants...), []string{"o2-SECRET-value", "qm-SECRET-value"})
			if tt.kind == vendor.RateLimited && ve.RetryAfter != RateLimitWait {
				t.Errorf("RetryAfter %v, want %v", ve.RetryAfter, RateLimitWait)
			}
		})
	}
}

// --- lists of other interfaces -------------------------------------------

func TestOtherInterfaces(t *testing.T) {
	tests := []struct {
		name      string
		protocol  string
		api       string
		body      string
		page      int
		size      int
		ids       []string
		modified  string // of the first doc; "" for zero
		more      bool
		total     int
		errSubstr string
		transient bool // the error is transient (else permanent)
		// ids is the input's description of an interface the catalogue lacks.
		idFields []string
	}{
		{name: "trade_query by its known list", protocol: ProtocolOpenapi2, api: "trade_query.php",
			body: `{"code":0,"message":"","total_count":5,"trades":[{"shop_id":9,"trade_id":101,"modified":"2025-01-02 03:04:05"},{"trade_id":"102"}]}`,
			page: 1, size: 2, ids: []string{"101", "102"}, modified: "2025-01-02 03:04:05", more: true, total: 5},
		{name: "last page", protocol: ProtocolOpenapi2, api: "goods_query.php",
			body: `{"code":0,"total_count":5,"goods_list":[{"goods_id":7,"modified":"0000-00-00 00:00:00"}]}`,
			page: 2, size: 2, ids: []string{"7"}, more: false, total: 5},
		{name: "unknown interface: first array", protocol: ProtocolOpenapi2, api: "purchase_order_query.php",
			body: `{"code":0,"tags":"x","purchase_orders":[{"purchase_order_id":1,"warehouse_id":2}],"other":[1],"total_count":1}`,
			page: 0, size: 100, ids: []string{"1"}, total: 1, idFields: []string{"purchase_order_id"}},
		{name: "unknown interface, joined id", protocol: ProtocolOpenapi2, api: "purchase_order_query.php",
			body: `{"code":0,"purchase_orders":[{"purchase_order_id":1,"warehouse_id":2}],"total_count":1}`,
			page: 0, size: 100, ids: []string{"1:2"}, total: 1, idFields: []string{"purchase_order_id", "warehouse_id"}},
		{name: "unknown interface not described", protocol: ProtocolOpenapi2, api: "purchase_order_query.php",
			body: `{"code":0,"purchase_orders":[{"purchase_order_id":1}],"total_count":1}`,
			page: 0, size: 100, errSubstr: "interface.id_fields"},
		{name: "qimen catalogued method", protocol: ProtocolQimen, api: "wdt.trade.query",
			body: `{"response":{"errorcode":0,"total_count":3,"trades":[{"trade_id":1},{"trade_id":2}]}}`,
			page: 0, size: 2, ids: []string{"1", "2"}, more: true, total: 3},
		{name: "no total_count: a full page means more", protocol: ProtocolOpenapi2, api: "refund_query.php",
			body: `{"code":0,"refunds":[{"refund_id":1},{"refund_id":2}]}`,
			page: 0, size: 2, ids: []string{"1", "2"}, more: true, total: -1},
		{name: "empty page ends paging despite total", protocol: ProtocolOpenapi2, api: "shop.php",
			body: `{"code":0,"total_count":500,"shoplist":[]}`, page: 3, size: 100, more: false, total: 500},
		{name: "missing list is empty", protocol: ProtocolQimen, api: "wdt.shop.query",
			body: `{"response":{"errorcode":0,"total_count":0}}`, page: 0, size: 100, total: 0},
		{name: "no id of its own", protocol: ProtocolOpenapi2, api: "stock_query.php",
			body: `{"code":0,"total_count":1,"stocks":[{"spec_no":"A1","warehouse_id":3}]}`,
			page: 0, size: 100, errSubstr: "has no rec_id"},
		{name: "no list at all", protocol: ProtocolOpenapi2, api: "x_query.php",
			body: `{"code":0,"total_count":4}`, page: 0, size: 100, errSubstr: "no list field", transient: true},
		{name: "known list missing while total_count promises rows", protocol: ProtocolOpenapi2, api: "shop.php",
			body: `{"code":0,"total_count":150}`, page: 1, size: 100, errSubstr: "no shoplist list for page_no 1", transient: true},
		{name: "known list null while total_count promises rows", protocol: ProtocolQimen, api: "wdt.shop.query",
			body: `{"response":{"errorcode":0,"total_count":3,"shoplist":null}}`, page: 0, size: 100, errSubstr: "no shoplist list", transient: true},
		{name: "missing list past the total is the end", protocol: ProtocolOpenapi2, api: "shop.php",
			body: `{"code":0,"total_count":100}`, page: 1, size: 100, total: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fake(t, 200, "application/json", tt.body)
			c := fakeClient(t, tt.protocol, srv.URL)
			if tt.idFields != nil {
				e := catalogue.Defaults(catalogue.WDT)
				e.Interface, e.ID = tt.api, tt.idFields
				c.cfg.Interface = &e
			}
			p, err := c.FetchPage(context.Background(), tt.api, nil, tt.page, tt.size)
			if tt.errSubstr != "" {
				kind := vendor.Permanent
				if tt.transient {
					kind = vendor.Transient
				}
				checkError(t, err, kind, []string{tt.api, tt.errSubstr}, nil)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, d := range p.Docs {
				ids = append(ids, d.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.ids, ",") {
				t.Errorf("ids %v, want %v", ids, tt.ids)
			}
			if p.More != tt.more || p.Total != tt.total {
				t.Errorf("More %v Total %d, want %v %d", p.More, p.Total, tt.more, tt.total)
			}
			if len(p.Docs) > 0 {
				got := ""
				if m := p.Docs[0].Modified; !m.IsZero() {
					got = m.In(shanghai).Format(vendorTimeLayout)
				}
				if got != tt.modified {
					t.Errorf("modified %q, want %q", got, tt.modified)
				}
				if !json.Valid(p.Docs[0].Raw) {
					t.Errorf("Raw %s is not JSON", p.Docs[0].Raw)
				}
			}
		})
	}
}

// --- requests ------------------------------------------------------------

func TestRequestFields(t *testing.T) {
	sb := newSandbox(t, core.Options{})
	for _, protocol := range []string{ProtocolOpenapi2, ProtocolQimen} {
		t.Run(protocol, func(t *testing.T) {
			rec := &recorder{}
			cfg := sb.config(protocol)
			cfg.HTTPClient = &http.Client{Transport: rec}
			c := newClient(t, cfg)
			params := map[string]any{"platform": int64(1), "is_disabled": false, "shop_no": "", "remark": nil}
			if _, err := c.FetchPage(context.Background(), shopAPI[protocol], params, 2, 5); err != nil {
				t.Fatal(err)
			}
			f := rec.last()
			want := map[string]string{"page_no": "2", "page_size": "5", "platform": "1", "is_disabled": "0", "sid": sb.cfg.SID}
			if protocol == ProtocolOpenapi2 {
				want["appkey"] = sb.cfg.AppKey
			} else {
				for k, v := range map[string]string{"method": "wdt.shop.query", "app_key": sb.cfg.QimenAppKey,
					"target_app_key": sb.cfg.QimenTargetAppKey, "format": "json", "v": "2.0", "sign_method": "md5"} {
					want[k] = v
				}
			}
			for k, v := range want {
				if got := f.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range []string{"shop_no", "remark"} {
				if f.Has(k) {
					t.Errorf("empty param %s was sent", k)
				}
			}
			// The sent sign is the sign of exactly the other sent fields.
			plain := map[string]string{}
			for k := range f {
				plain[k] = f.Get(k)
			}
			wantSign := SignOpenapi2(plain, sb.cfg.AppSecret)
			if protocol == ProtocolQimen {
				wantSign = SignQimen(plain, sb.cfg.QimenAppSecret)
			}
			if f.Get("sign") != wantSign {
				t.Errorf("sign %s does not sign the sent fields (%s)", f.Get("sign"), wantSign)
			}
		})
	}
}

func TestFormValue(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   any
		want string
	}{
		{"店铺01", "店铺01"}, {nil, ""}, {true, "1"}, {false, "0"},
		{int64(42), "42"}, {7, "7"}, {uint8(3), "3"}, {float64(1e6), "1000000"}, {2.5, "2.5"},
		{json.Number("12"), "12"}, {at, "2025-01-02 11:04:05"},
		{[]any{1, "a"}, `[1,"a"]`}, {map[string]any{"k": 1}, `{"k":1}`},
	}
	for _, tt := range tests {
		got, err := formValue(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("formValue(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRejectedCalls(t *testing.T) {
	srv := fake(t, 200, "application/json", `{"code":0,"total_count":0,"shoplist":[]}`)
	tests := []struct {
		name     string
		protocol string
		api      string
		params   map[string]any
		page     int
		size     int
		want     string
	}{
		{"page_size above 100", ProtocolOpenapi2, "shop.php", nil, 0, 101, "page_size 101"},
		{"negative page", ProtocolOpenapi2, "shop.php", nil, -1, 10, "page -1"},
		{"params set page_no", ProtocolOpenapi2, "shop.php", map[string]any{"page_no": 3}, 0, 0, `"page_no"`},
		{"params set sign", ProtocolQimen, "wdt.shop.query", map[string]any{"sign": "x"}, 0, 0, `"sign"`},
		{"php name on qimen", ProtocolQimen, "shop.php", nil, 0, 0, "openapi2 interface"},
		{"method on openapi2", ProtocolOpenapi2, "wdt.shop.query", nil, 0, 0, "php file name"},
		{"NaN param", ProtocolOpenapi2, "shop.php", map[string]any{"x": nanValue()}, 0, 0, "param \"x\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeClient(t, tt.protocol, srv.URL)
			_, err := c.FetchPage(context.Background(), tt.api, tt.params, tt.page, tt.size)
			checkError(t, err, vendor.Permanent, []string{"wdt", tt.want}, nil)
		})
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestNewClient(t *testing.T) {
	full := ClientConfig{SID: "s", AppKey: "k", AppSecret: "x", QimenAppKey: "q", QimenAppSecret: "y", TargetAppKey: "t"}
	tests := []struct {
		name     string
		mutate   func(*ClientConfig)
		wantErr  string // "" for success
		endpoint string
	}{
		{"openapi2 by default", func(c *ClientConfig) {}, "", DefaultBaseURL},
		{"qimen default router", func(c *ClientConfig) { c.Protocol = "qimen" }, "", DefaultQimenURL},
		{"qimen host override", func(c *ClientConfig) { c.Protocol = "qimen"; c.BaseURL = "http://127.0.0.1:9/" }, "", "http://127.0.0.1:9/router/qm"},
		{"qimen full test router", func(c *ClientConfig) { c.Protocol = "qimen"; c.BaseURL = "http://qimen.api.taobao.com/router/qmtest" }, "", "http://qimen.api.taobao.com/router/qmtest"},
		{"openapi2 host override", func(c *ClientConfig) { c.BaseURL = "https://sandbox.wangdian.cn/" }, "", "https://sandbox.wangdian.cn"},
		{"openapi2 needs SID", func(c *ClientConfig) { c.SID = "" }, "sid is required", ""},
		{"openapi2 needs AppKey", func(c *ClientConfig) { c.AppKey = "" }, "appkey is required", ""},
		{"openapi2 needs AppSecret", func(c *ClientConfig) { c.AppSecret = " " }, "appsecret is required", ""},
		{"openapi2 ignores Qimen fields", func(c *ClientConfig) { c.QimenAppSecret = "" }, "", DefaultBaseURL},
		{"qimen needs QimenAppKey", func(c *ClientConfig) { c.Protocol = "qimen"; c.QimenAppKey = "" }, "app_key is required", ""},
		{"qimen needs QimenAppSecret", func(c *ClientConfig) { c.Protocol = "qimen"; c.QimenAppSecret = "" }, "app_secret is required", ""},
		{"qimen needs TargetAppKey", func(c *ClientConfig) { c.Protocol = "qimen"; c.TargetAppKey = "" }, "target_app_key is required", ""},
		{"qimen needs SID", func(c *ClientConfig) { c.Protocol = "qimen"; c.SID = "" }, "sid is required", ""},
		{"qimen ignores AppSecret", func(c *ClientConfig) { c.Protocol = "qimen"; c.AppSecret = "" }, "", DefaultQimenURL},
		{"unknown protocol", func(c *ClientConfig) { c.Protocol = "qjb" }, "protocol", ""},
		{"bad base URL", func(c *ClientConfig) { c.BaseURL = "api.wangdian.cn" }, "base_url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := full
			tt.mutate(&cfg)
			c, err := NewClient(cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.endpoint != tt.endpoint {
				t.Errorf("endpoint %q, want %q", c.endpoint, tt.endpoint)
			}
		})
	}
}

func TestPageSizes(t *testing.T) {
	for _, api := range []string{"shop.php", "wdt.shop.query", "trade_query.php"} {
		if DefaultPageSize(api) != 100 || MaxPageSize(api) != 100 {
			t.Errorf("%s: default %d max %d, want 100 100", api, DefaultPageSize(api), MaxPageSize(api))
		}
	}
}

// TestAnswerOverTheLimit: an answer over max_answer_bytes stops with an
// error naming the limit and the field, instead of being fetched forever.
func TestAnswerOverTheLimit(t *testing.T) {
	srv := fake(t, 200, "application/json", `{"code":0,"total_count":1,"shoplist":[{"shop_id":1,"remark":"`+strings.Repeat("x", 4096)+`"}]}`)
	c := newClient(t, ClientConfig{BaseURL: srv.URL, SID: "sid", AppKey: "key", AppSecret: "o2-SECRET-value", MaxAnswerBytes: 1024})
	_, err := c.FetchPage(context.Background(), "shop.php", nil, 0, 100)
	checkError(t, err, vendor.Permanent, []string{"shop.php", "over the 1024-byte limit (max_answer_bytes)"}, nil)
}
