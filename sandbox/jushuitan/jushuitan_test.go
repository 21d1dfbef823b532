package jushuitan

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// ---- test harness ---------------------------------------------------------

// clock is a settable fixed clock, so timestamps, token expiry and rate
// limits are deterministic.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var testStart = time.Date(2024, 6, 15, 12, 0, 0, 0, core.Shanghai)

type harness struct {
	t    *testing.T
	url  string
	env  *core.Env
	sim  *Sim
	clk  *clock
	cfg  Config
	tok  string
	http *http.Client
}

type setup struct {
	records int
	limits  bool
	cfg     *Config
	faults  core.Faults
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	clk := &clock{}
	clk.ns.Store(testStart.UnixNano())
	if s.records == 0 {
		s.records = 300
	}
	env, err := core.NewEnv(core.Options{Seed: 7, Records: s.records, Limits: s.limits, Faults: s.faults, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if s.cfg != nil {
		cfg = *s.cfg
	}
	sim, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sim.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(env.Close)
	return &harness{t: t, url: srv.URL, env: env, sim: sim, clk: clk, cfg: cfg, tok: cfg.AccessToken, http: srv.Client()}
}

// testSign is the test's own reading of contract 3.2, independent of Sign.
func testSign(params map[string]string, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := secret
	for _, k := range keys {
		s += k + params[k]
	}
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

type answer struct {
	Code int             `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

// post sends params (sign added over them unless params has one) and
// decodes the envelope.
func (h *harness) post(path string, params map[string]string) answer {
	h.t.Helper()
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	if _, ok := params["sign"]; !ok {
		form.Set("sign", testSign(params, h.cfg.AppSecret))
	}
	resp, err := h.http.PostForm(h.url+path, form)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("%s: HTTP %d", path, resp.StatusCode)
	}
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		h.t.Fatalf("%s: decode: %v", path, err)
	}
	return a
}

// sys returns the system fields of a business call with biz.
func (h *harness) sys(biz any) map[string]string {
	h.t.Helper()
	b, err := json.Marshal(biz)
	if err != nil {
		h.t.Fatal(err)
	}
	return map[string]string{
		"app_key": h.cfg.AppKey, "access_token": h.tok, "charset": "utf-8", "version": "2",
		"timestamp": strconv.FormatInt(h.clk.Now().Unix(), 10), "biz": string(b),
	}
}

func (h *harness) call(path string, biz any) answer {
	h.t.Helper()
	return h.post(path, h.sys(biz))
}

func wantCode(t *testing.T, a answer, code int) {
	t.Helper()
	if a.Code != code {
		t.Fatalf("code = %d (%s), want %d", a.Code, a.Msg, code)
	}
}

type inoutAnswer struct {
	PageSize  int  `json:"page_size"`
	PageIndex int  `json:"page_index"`
	DataCount int  `json:"data_count"`
	PageCount int  `json:"page_count"`
	HasNext   bool `json:"has_next"`
	Datas     []struct {
		IoID     int64  `json:"io_id"`
		Modified string `json:"modified"`
		IoDate   string `json:"io_date"`
		SoID     string `json:"so_id"`
		Remark   string `json:"remark"`
		Type     string `json:"type"`
		Status   string `json:"status"`
		Ts       int64  `json:"ts"`
		Items    []struct {
			SkuID      string  `json:"sku_id"`
			Qty        int     `json:"qty"`
			CostPrice  float64 `json:"cost_price"`
			CostAmount float64 `json:"cost_amount"`
		} `json:"items"`
	} `json:"datas"`
}

func (h *harness) inout(biz any) inoutAnswer {
	h.t.Helper()
	return answerOf[inoutAnswer](h, PathOtherInout, biz)
}

// answerOf calls interface path with biz, requires code 0 and decodes the
// answer's data as T.
func answerOf[T any](h *harness, path string, biz any) T {
	h.t.Helper()
	a := h.call(path, biz)
	wantCode(h.t, a, 0)
	var p T
	if err := json.Unmarshal(a.Data, &p); err != nil {
		h.t.Fatalf("%s data: %v", path, err)
	}
	return p
}

func cst(t time.Time) string { return t.In(core.Shanghai).Format(core.VendorTimeLayout) }

// ---- signing and authentication -------------------------------------------

func TestSignVector(t *testing.T) {
	params := map[string]string{"timestamp": "100", "app_key": "app", "charset": "utf-8"}
	const want = "706427ca94e342781ac36d501151cb10"
	if got := Sign(params, "secret"); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if got := testSign(params, "secret"); got != want {
		t.Fatalf("test signer = %s, want %s", got, want)
	}
}

func TestAuthChecks(t *testing.T) {
	h := newHarness(t, setup{})
	okBiz := map[string]any{"io_ids": []string{"10000001"}}
	cases := []struct {
		name string
		path string
		edit func(p map[string]string) // applied after signing when it sets "sign"
		code int
	}{
		{"signed query succeeds", PathOtherInout, nil, 0},
		{"tampered biz", PathOtherInout, func(p map[string]string) {
			p["sign"] = testSign(p, h.cfg.AppSecret)
			p["biz"] = `{"io_ids":["10000002"]}`
		}, codeBadSign},
		{"wrong secret", PathOtherInout, func(p map[string]string) { p["sign"] = testSign(p, "other") }, codeBadSign},
		{"missing sign", PathOtherInout, func(p map[string]string) { p["sign"] = "" }, codeBadSign},
		{"unsigned extra field", PathOtherInout, func(p map[string]string) {
			p["sign"] = testSign(p, h.cfg.AppSecret)
			p["extra"] = ""
		}, codeBadSign},
		{"unknown app_key", PathOtherInout, func(p map[string]string) { p["app_key"] = "nobody" }, codeBadAppKey},
		{"stale timestamp", PathOtherInout, func(p map[string]string) {
			p["timestamp"] = strconv.FormatInt(h.clk.Now().Add(-11*time.Minute).Unix(), 10)
		}, codeBadTimestamp},
		{"future timestamp", PathOtherInout, func(p map[string]string) {
			p["timestamp"] = strconv.FormatInt(h.clk.Now().Add(11*time.Minute).Unix(), 10)
		}, codeBadTimestamp},
		{"timestamp in skew", PathOtherInout, func(p map[string]string) {
			p["timestamp"] = strconv.FormatInt(h.clk.Now().Add(-9*time.Minute).Unix(), 10)
		}, 0},
		{"version 1", PathOtherInout, func(p map[string]string) { p["version"] = "1" }, codeBadParam},
		{"charset gbk", PathOtherInout, func(p map[string]string) { p["charset"] = "gbk" }, codeBadParam},
		// Refused [I]: no stored source says the server accepts the misspelling.
		{"charset uft-8", PathOtherInout, func(p map[string]string) { p["charset"] = "uft-8" }, codeBadParam},
		{"unknown token", PathOtherInout, func(p map[string]string) { p["access_token"] = "nope" }, codeBadToken},
		{"interface not granted", "/open/shops/query", nil, codeNoPermission},
		{"biz not JSON", PathOtherInout, func(p map[string]string) { p["biz"] = "{" }, codeBadParam},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := h.sys(okBiz)
			if c.edit != nil {
				c.edit(p)
			}
			a := h.post(c.path, p)
			wantCode(t, a, c.code)
			if c.code != 0 && (a.Msg == "" || string(a.Data) != "null") {
				t.Fatalf("error answer must carry a message and null data: %+v", a)
			}
		})
	}
	if n := h.env.Stats.Count(Vendor, PathOtherInout, "10"); n != 4 {
		t.Fatalf("stats code 10 = %d, want 4", n)
	}

	resp, err := h.http.Get(h.url + PathOtherInout)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: HTTP %d, want 405", resp.StatusCode)
	}
}

func (h *harness) tokenCall(path string, extra map[string]string) answer {
	h.t.Helper()
	p := map[string]string{"app_key": h.cfg.AppKey, "charset": "utf-8", "timestamp": strconv.FormatInt(h.clk.Now().Unix(), 10)}
	for k, v := range extra {
		p[k] = v
	}
	return h.post(path, p)
}

type tokenData struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

func decodeToken(t *testing.T, a answer) tokenData {
	t.Helper()
	wantCode(t, a, 0)
	var d tokenData
	if err := json.Unmarshal(a.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.AccessToken == "" || d.RefreshToken == "" || d.Scope != "all" {
		t.Fatalf("token answer incomplete: %+v", d)
	}
	return d
}

func TestTokenLifecycle(t *testing.T) {
	h := newHarness(t, setup{faults: core.Faults{TokenTTL: core.Duration(time.Hour)}})
	biz := map[string]any{"io_ids": []string{"10000001"}}
	wantCode(t, h.call(PathOtherInout, biz), 0)

	h.clk.Advance(2 * time.Hour)
	wantCode(t, h.call(PathOtherInout, biz), codeBadToken)

	refresh := map[string]string{"grant_type": "refresh_token", "refresh_token": h.cfg.RefreshToken, "scope": "all"}
	tok := decodeToken(t, h.tokenCall(PathRefreshToken, refresh))
	if tok.ExpiresIn != 3600 {
		t.Fatalf("expires_in = %d, want 3600", tok.ExpiresIn)
	}
	if tok.AccessToken == h.cfg.AccessToken || tok.RefreshToken == h.cfg.RefreshToken {
		t.Fatal("refresh must issue new tokens")
	}
	// The old refresh token is spent.
	wantCode(t, h.tokenCall(PathRefreshToken, refresh), codeBadToken)

	h.tok = tok.AccessToken
	wantCode(t, h.call(PathOtherInout, biz), 0)

	// A second refresh with the new refresh token invalidates the access
	// token it replaces.
	refresh["refresh_token"] = tok.RefreshToken
	tok2 := decodeToken(t, h.tokenCall(PathRefreshToken, refresh))
	wantCode(t, h.call(PathOtherInout, biz), codeBadToken)
	h.tok = tok2.AccessToken
	wantCode(t, h.call(PathOtherInout, biz), 0)

	if got := h.sim.Credentials().(Credentials); got.AccessToken != tok2.AccessToken {
		t.Fatalf("Credentials show %s, want the token in force", got.AccessToken)
	}

	// The new token expires with the TTL too.
	h.clk.Advance(time.Hour)
	wantCode(t, h.call(PathOtherInout, biz), codeBadToken)

	cases := []struct {
		name  string
		path  string
		extra map[string]string
		code  int
	}{
		{"init token with 6-char code", PathInitToken, map[string]string{"grant_type": "authorization_code", "code": "ab12CD"}, 0},
		{"init token with 5-char code", PathInitToken, map[string]string{"grant_type": "authorization_code", "code": "ab12C"}, codeBadParam},
		{"init token wrong grant", PathInitToken, map[string]string{"grant_type": "refresh_token", "code": "ab12CD"}, codeBadParam},
		{"access token with auth code", PathAccessToken, map[string]string{"grant_type": "authorization_code", "code": "auth-code-1"}, 0},
		{"refresh with unknown token", PathRefreshToken, map[string]string{"grant_type": "refresh_token", "refresh_token": "x", "scope": "all"}, codeBadToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := h.tokenCall(c.path, c.extra)
			wantCode(t, a, c.code)
			if c.code == 0 {
				h.tok = decodeToken(t, a).AccessToken
				wantCode(t, h.call(PathOtherInout, biz), 0)
			}
		})
	}
}

func TestProviderCannotRefresh(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Provider = true
	h := newHarness(t, setup{cfg: &cfg})
	a := h.tokenCall(PathRefreshToken, map[string]string{"grant_type": "refresh_token", "refresh_token": cfg.RefreshToken, "scope": "all"})
	wantCode(t, a, codeNoRefresh)
	if a.Msg != msgNoRefresh {
		t.Fatalf("msg = %q", a.Msg)
	}
	// Re-authorization still works for a provider app.
	decodeToken(t, h.tokenCall(PathAccessToken, map[string]string{"grant_type": "authorization_code", "code": "merchant-auth"}))
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, setup{limits: true})
	biz := map[string]any{"io_ids": []string{"10000001"}}
	for i := 1; i <= 6; i++ {
		want := 0
		if i == 6 {
			want = codeRatePerSec
		}
		a := h.call(PathOtherInout, biz)
		wantCode(t, a, want)
	}
	// Five calls a second stay under the per-second rule but drain the
	// per-minute bucket (refilled at 100/min) within about half a minute.
	got200 := false
	for sec := 0; sec < 60 && !got200; sec++ {
		h.clk.Advance(time.Second)
		for range 5 {
			a := h.call(PathOtherInout, biz)
			if a.Code == codeRatePerMin {
				got200 = true
				break
			}
			wantCode(t, a, 0)
		}
	}
	if !got200 {
		t.Fatal("no 200 after a minute at 5 calls per second")
	}
	if h.env.Stats.Count(Vendor, PathOtherInout, "199") != 1 {
		t.Fatal("stats must record the one 199")
	}
}

// ---- other/inout ---------------------------------------------------------

func TestInoutValidation(t *testing.T) {
	h := newHarness(t, setup{})
	b := testStart.Add(-8 * 24 * time.Hour)
	many := make([]string, 51)
	for i := range many {
		many[i] = strconv.Itoa(10000001 + i)
	}
	cases := []struct {
		name string
		biz  map[string]any
		code int
	}{
		{"7 days is allowed", map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7 * 24 * time.Hour)), "page_size": 50}, 0},
		{"window over 7 days", map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7*24*time.Hour + time.Second))}, codeBadParam},
		{"page_size 51", map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 51}, codeBadParam},
		{"page_index 0", map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_index": 0}, codeBadParam},
		{"begin without end", map[string]any{"modified_begin": cst(b)}, codeBadParam},
		{"end before begin", map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(-time.Hour))}, codeBadParam},
		{"no window and no ids", map[string]any{}, codeBadParam},
		{"51 io_ids", map[string]any{"io_ids": many}, codeBadParam},
		{"50 io_ids", map[string]any{"io_ids": many[:50]}, 0},
		{"unknown type literal", map[string]any{"io_ids": many[:1], "types": []string{"调拨"}}, codeBadParam},
		{"unknown status", map[string]any{"io_ids": many[:1], "status": "Done"}, codeBadParam},
		{"date_type 1", map[string]any{"io_ids": many[:1], "date_type": 1}, codeBadParam},
		{"bad datetime", map[string]any{"modified_begin": "2024/06/01", "modified_end": "2024/06/02"}, codeBadParam},
		{"start_ts alone", map[string]any{"start_ts": 0}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := h.call(PathOtherInout, c.biz)
			wantCode(t, a, c.code)
			if c.code == codeBadParam && !strings.HasPrefix(a.Msg, msgBadParam) {
				t.Fatalf("msg = %q", a.Msg)
			}
		})
	}
}

// windowsOf returns inclusive windows [b, b+span-1s] covering the data span.
func windowsOf(span time.Duration) [][2]time.Time {
	var out [][2]time.Time
	for b := testStart.Add(-core.DataSpan); !b.After(testStart); b = b.Add(span) {
		out = append(out, [2]time.Time{b, b.Add(span - time.Second)})
	}
	return out
}

func TestInoutPagingExactlyOnce(t *testing.T) {
	h := newHarness(t, setup{records: 400})
	seen := map[string]int{}
	for _, w := range windowsOf(7 * 24 * time.Hour) {
		for pi := 1; ; pi++ {
			p := h.inout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_index": pi, "page_size": 50})
			if p.PageIndex != pi || p.PageSize != 50 || p.PageCount != (p.DataCount+49)/50 || p.HasNext != (pi < p.PageCount) {
				t.Fatalf("page header inconsistent: %+v", p)
			}
			for k, d := range p.Datas {
				seen[strconv.FormatInt(d.IoID, 10)]++
				if d.Modified < cst(w[0]) || d.Modified > cst(w[1]) {
					t.Fatalf("row %d modified %s outside window", d.IoID, d.Modified)
				}
				if k > 0 {
					prev := p.Datas[k-1]
					if prev.Modified > d.Modified || (prev.Modified == d.Modified && prev.IoID >= d.IoID) {
						t.Fatalf("page not ordered by (modified, io_id): %v then %v", prev.IoID, d.IoID)
					}
				}
			}
			if !p.HasNext {
				break
			}
		}
	}
	truth := h.env.Dataset(DatasetOtherInout).Truth()
	if len(truth) != 400 || len(seen) != len(truth) {
		t.Fatalf("saw %d distinct of %d documents", len(seen), len(truth))
	}
	for _, d := range truth {
		if seen[d.ID] != 1 {
			t.Fatalf("document %s seen %d times", d.ID, seen[d.ID])
		}
	}
}

func TestInoutContentAndFilters(t *testing.T) {
	h := newHarness(t, setup{records: 400})
	all := map[int64]bool{}
	var empty, chinese, withItems int
	for _, w := range windowsOf(7 * 24 * time.Hour) {
		for pi := 1; ; pi++ {
			p := h.inout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_index": pi, "page_size": 50,
				"types": []string{"其它进仓"}, "status": "Confirmed"})
			for _, d := range p.Datas {
				if d.Type != "其它进仓" || d.Status != "Confirmed" {
					t.Fatalf("filter leaked %s/%s", d.Type, d.Status)
				}
				all[d.IoID] = true
				if len(d.Items) == 0 {
					empty++
				} else {
					withItems++
				}
				for _, it := range d.Items {
					if !strings.HasPrefix(it.SkuID, "SKU") || it.Qty <= 0 || it.CostAmount != round2(it.CostPrice*float64(it.Qty)) {
						t.Fatalf("bad item %+v", it)
					}
				}
				if d.Remark != "" {
					chinese++
				}
			}
			if !p.HasNext {
				break
			}
		}
	}
	if len(all) == 0 || empty == 0 || withItems == 0 || chinese == 0 {
		t.Fatalf("want rows with and without items and with remarks: rows=%d empty=%d items=%d remarks=%d", len(all), empty, withItems, chinese)
	}
	// Rendering is stable: the same io_id answers the same body.
	a := h.call(PathOtherInout, map[string]any{"io_ids": []string{"10000005"}})
	b := h.call(PathOtherInout, map[string]any{"io_ids": []string{"10000005"}})
	if string(a.Data) != string(b.Data) || !strings.Contains(string(a.Data), `"io_id":10000005`) {
		t.Fatalf("unstable or wrong row: %s", a.Data)
	}
	// so_ids finds the bills of those online orders.
	sos := []string{}
	for i := range 10 {
		sos = append(sos, strconv.Itoa(soIDBase+i))
	}
	so := h.inout(map[string]any{"so_ids": sos})
	if so.DataCount == 0 || so.DataCount != len(so.Datas) {
		t.Fatalf("so_ids: %+v", so)
	}
	for _, d := range so.Datas {
		if !slices.Contains(sos, d.SoID) || d.Type == "其它进仓" {
			t.Fatalf("so_ids returned %d with so_id %q type %s", d.IoID, d.SoID, d.Type)
		}
	}
	// date_type 2 filters by io_date.
	w := windowsOf(7 * 24 * time.Hour)[1]
	p := h.inout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "date_type": 2, "page_size": 50})
	if len(p.Datas) == 0 {
		t.Fatal("date_type 2 found nothing")
	}
	for _, d := range p.Datas {
		if d.IoDate < cst(w[0]) || d.IoDate > cst(w[1]) {
			t.Fatalf("io_date %s outside window", d.IoDate)
		}
	}
}

func TestInoutStartTSAndMutation(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	// Static data: start_ts paging sees every row once, ordered by ts.
	seen := map[int64]int{}
	var last int64 = -1
	startTS := int64(0)
	for {
		p := h.inout(map[string]any{"start_ts": startTS, "page_size": 50})
		for _, d := range p.Datas {
			if d.Ts <= last {
				t.Fatalf("ts not ascending: %d after %d", d.Ts, last)
			}
			last = d.Ts
			seen[d.IoID]++
		}
		if len(p.Datas) < 50 {
			break
		}
		startTS = last + 1
	}
	if len(seen) != 300 {
		t.Fatalf("start_ts paging saw %d rows, want 300", len(seen))
	}

	// Every page now mutates one row of the query: it gets a new remark
	// with its version, a new modified time and a larger ts.
	if err := h.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	w := windowsOf(7 * 24 * time.Hour)[0]
	h.inout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 5})
	var touched string
	for _, d := range h.env.Dataset(DatasetOtherInout).Truth() {
		if d.Version == 2 {
			touched = d.ID
		}
	}
	if touched == "" {
		t.Fatal("mutate_rate 1 touched nothing")
	}
	if err := h.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	p := h.inout(map[string]any{"io_ids": []string{touched}})
	if len(p.Datas) != 1 {
		t.Fatalf("io_ids lookup of %s: %d rows", touched, len(p.Datas))
	}
	d := p.Datas[0]
	if !strings.Contains(d.Remark, "第2版") || d.Modified != cst(h.clk.Now()) || d.Ts <= last {
		t.Fatalf("mutation not visible: %+v (last ts %d)", d, last)
	}
	// start_ts after the old maximum finds exactly the mutated row.
	q := h.inout(map[string]any{"start_ts": last + 1})
	if len(q.Datas) != 1 || q.Datas[0].IoID != d.IoID {
		t.Fatalf("start_ts after mutation: %+v", q.Datas)
	}
	// And the modified window around now finds it as well.
	r := h.inout(map[string]any{"modified_begin": cst(h.clk.Now().Add(-time.Second)), "modified_end": cst(h.clk.Now())})
	if r.DataCount != 1 || r.Datas[0].IoID != d.IoID {
		t.Fatalf("window around now: %+v", r)
	}
}

// ---- skusn ----------------------------------------------------------------

func TestSkusn(t *testing.T) {
	h := newHarness(t, setup{records: 500})
	b, e := testStart.Add(-core.DataSpan), testStart
	seen := map[string]int{}
	var prevKey string
	var sample map[string]any
	for pi := 1; ; pi++ {
		a := h.call(PathSkusn, map[string]any{"create_time_start": cst(b), "create_time_end": cst(e), "page_index": pi, "page_size": 120})
		wantCode(t, a, 0)
		if !strings.HasPrefix(strings.TrimSpace(string(a.Data)), "[") {
			t.Fatalf("data must be a bare array: %.60s", a.Data)
		}
		var rows []map[string]any
		dec := json.NewDecoder(strings.NewReader(string(a.Data)))
		dec.UseNumber()
		if err := dec.Decode(&rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			io, _ := r["io_id"].(json.Number)
			sn, _ := r["sku_sn"].(string)
			ct, _ := r["create_time"].(string)
			key := fmt.Sprintf("%s|%012s|%s", ct, io.String(), sn)
			if key <= prevKey {
				t.Fatalf("not ordered by (create_time, io_id, sku_sn): %s after %s", key, prevKey)
			}
			prevKey = key
			seen[io.String()+":"+sn]++
			sample = r
		}
		if len(rows) < 120 {
			break
		}
	}
	truth := h.env.Dataset(DatasetSkusn).Truth()
	if len(seen) != len(truth) || len(truth) != 500 {
		t.Fatalf("saw %d of %d flows", len(seen), len(truth))
	}
	for _, d := range truth {
		if seen[d.ID] != 1 {
			t.Fatalf("flow %s seen %d times", d.ID, seen[d.ID])
		}
	}
	if _, ok := sample["cost_price"].(string); !ok {
		t.Fatalf("cost_price must be a string: %v", sample["cost_price"])
	}
	if _, ok := sample["cost_amount"].(json.Number); !ok {
		t.Fatalf("cost_amount must be a number: %v", sample["cost_amount"])
	}
	if _, ok := sample["o_id"].(string); !ok {
		t.Fatalf("o_id must be a string: %v", sample["o_id"])
	}

	one := truth[3].ID
	sn := one[strings.Index(one, ":")+1:]
	cases := []struct {
		name string
		biz  map[string]any
		code int
		rows int
	}{
		{"span over 30 days", map[string]any{"create_time_start": cst(b.Add(-time.Hour)), "create_time_end": cst(e)}, codeBadParam, 0},
		{"page_size 1001", map[string]any{"create_time_start": cst(b), "create_time_end": cst(e), "page_size": 1001}, codeBadParam, 0},
		{"no window no ids", map[string]any{}, codeBadParam, 0},
		{"sku_sns without window", map[string]any{"sku_sns": []string{sn}}, 0, 1},
		{"unknown sku_sn", map[string]any{"sku_sns": []string{"SN9999999999"}}, 0, 0},
		{"ids ignore span limit", map[string]any{"sku_sns": []string{sn}, "create_time_start": "2020-01-01 00:00:00", "create_time_end": cst(e)}, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := h.call(PathSkusn, c.biz)
			wantCode(t, a, c.code)
			if c.code != 0 {
				return
			}
			var rows []map[string]any
			if err := json.Unmarshal(a.Data, &rows); err != nil {
				t.Fatal(err)
			}
			if len(rows) != c.rows {
				t.Fatalf("%d rows, want %d", len(rows), c.rows)
			}
		})
	}

	// io_ids returns every flow of the document.
	io := one[:strings.Index(one, ":")]
	a := h.call(PathSkusn, map[string]any{"io_ids": []string{io}})
	wantCode(t, a, 0)
	var rows []skusnRow
	if err := json.Unmarshal(a.Data, &rows); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, d := range truth {
		if strings.HasPrefix(d.ID, io+":") {
			want++
		}
	}
	if len(rows) != want || want == 0 {
		t.Fatalf("io_ids %s: %d rows, want %d", io, len(rows), want)
	}

	// A mutation moves the flow's modified_time to now and changes its
	// remark; its create_time stays, so it stays in its create window.
	before := h.call(PathSkusn, map[string]any{"sku_sns": []string{sn}})
	var old []skusnRow
	if err := json.Unmarshal(before.Data, &old); err != nil || len(old) != 1 {
		t.Fatalf("flow %s: %v %s", sn, err, before.Data)
	}
	if err := h.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	h.call(PathSkusn, map[string]any{"sku_sns": []string{sn}})
	if err := h.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	a = h.call(PathSkusn, map[string]any{"create_time_start": cst(h.clk.Now()), "create_time_end": cst(h.clk.Now())})
	if string(a.Data) != "[]" {
		t.Fatalf("a mutation moved a flow into the create window at now: %s", a.Data)
	}
	a = h.call(PathSkusn, map[string]any{"create_time_start": old[0].CreateTime, "create_time_end": old[0].CreateTime, "sku_sns": []string{sn}})
	if err := json.Unmarshal(a.Data, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].SkuSn != sn || !strings.Contains(rows[0].Remark, "第2版") ||
		rows[0].CreateTime != old[0].CreateTime || rows[0].ModifiedTime != cst(h.clk.Now()) {
		t.Fatalf("mutated flow: %+v, before %+v", rows, old[0])
	}
	for _, d := range h.env.Dataset(DatasetSkusn).Truth() {
		if d.ID == one && (d.Version != 2 || d.Modified != cst(h.clk.Now()) || d.Created != old[0].CreateTime || d.ServedVersion != 2) {
			t.Fatalf("truth of the mutated flow: %+v", d)
		}
	}
}

func TestResetAndDeterminism(t *testing.T) {
	h1 := newHarness(t, setup{records: 100})
	h2 := newHarness(t, setup{records: 100})
	biz := map[string]any{"modified_begin": cst(testStart.Add(-3 * 24 * time.Hour)), "modified_end": cst(testStart)}
	a1, a2 := h1.call(PathOtherInout, biz), h2.call(PathOtherInout, biz)
	if string(a1.Data) != string(a2.Data) || len(a1.Data) < 100 {
		t.Fatal("same seed must give the same answer")
	}
	// A refresh followed by Reset restores the configured pair.
	decodeToken(t, h1.tokenCall(PathRefreshToken, map[string]string{"grant_type": "refresh_token", "refresh_token": h1.cfg.RefreshToken, "scope": "all"}))
	wantCode(t, h1.call(PathOtherInout, biz), codeBadToken)
	h1.sim.Reset()
	wantCode(t, h1.call(PathOtherInout, biz), 0)
	if h1.env.Dataset(DatasetOtherInout).Len() != 100 || h1.env.Dataset(DatasetSkusn).Len() != 100 {
		t.Fatal("datasets not registered after Reset")
	}
}

func TestLargeDatasetStartsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("large dataset")
	}
	start := time.Now()
	h := newHarness(t, setup{records: 200000})
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("200k rows took %v to build", el)
	}
	w := windowsOf(7 * 24 * time.Hour)[2]
	p := h.inout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 50, "page_index": 900})
	if p.DataCount < 40000 || len(p.Datas) != 50 {
		t.Fatalf("deep page: count %d, rows %d", p.DataCount, len(p.Datas))
	}
	so := h.saleout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 50, "page_index": 900})
	if so.DataCount < 40000 || len(so.Datas) != 50 {
		t.Fatalf("sales-out deep page: count %d, rows %d", so.DataCount, len(so.Datas))
	}
}

func TestConcurrentPagesWithMutation(t *testing.T) {
	h := newHarness(t, setup{records: 300, faults: core.Faults{MutateRate: 1}})
	w := windowsOf(7 * 24 * time.Hour)
	codes := make(chan int, 40)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for pi := 1; pi <= 5; pi++ {
				h.clk.Advance(time.Second)
				codes <- h.call(PathOtherInout, map[string]any{"modified_begin": cst(w[g][0]), "modified_end": cst(w[g][1]), "page_index": pi, "page_size": 10}).Code
				codes <- h.call(PathSkusn, map[string]any{"create_time_start": cst(w[g][0]), "create_time_end": cst(w[g][1]), "page_index": pi, "page_size": 10}).Code
			}
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 0 {
			t.Fatalf("concurrent page answered %d", c)
		}
	}
	if err := h.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	// A document touched outside the simulator (directly on the dataset)
	// is still found by its new modified time.
	h.clk.Advance(time.Hour)
	ds := h.env.Dataset(DatasetOtherInout)
	if !ds.Touch("10000042", h.clk.Now()) {
		t.Fatal("touch failed")
	}
	// Every row is still served exactly once by start_ts paging, and the
	// externally touched one is last.
	seen := map[int64]int{}
	var lastID int64
	for startTS := int64(0); ; {
		p := h.inout(map[string]any{"start_ts": startTS, "page_size": 50})
		for _, d := range p.Datas {
			seen[d.IoID]++
			startTS, lastID = d.Ts+1, d.IoID
		}
		if !p.HasNext {
			break
		}
	}
	if len(seen) != 300 || lastID != 10000042 {
		t.Fatalf("start_ts after mutations: %d rows, last %d", len(seen), lastID)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("row %d seen %d times", id, n)
		}
	}
	r := h.inout(map[string]any{"modified_begin": cst(h.clk.Now()), "modified_end": cst(h.clk.Now())})
	if r.DataCount != 1 || r.Datas[0].IoID != 10000042 {
		t.Fatalf("externally touched row not indexed: %+v", r)
	}
}
