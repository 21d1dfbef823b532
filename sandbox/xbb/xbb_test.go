package xbb

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// fixedNow is the sandbox clock in tests: the rate limiter never refills and
// generated times are reproducible.
var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, core.Shanghai)

type testServer struct {
	url string
	env *core.Env
	sim *Sim
	cfg Config
}

func newTestServer(t *testing.T, o core.Options) *testServer {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	if o.Seed == 0 {
		o.Seed = 7
	}
	env, err := core.NewEnv(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	sim, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sim.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { env.Close(); srv.Close() })
	return &testServer{url: srv.URL, env: env, sim: sim, cfg: cfg}
}

// sign is the client side of the contract: lowercase hex of sha256(body || token).
func sign(body []byte, token string) string {
	sum := sha256.Sum256(append(append([]byte{}, body...), token...))
	return hex.EncodeToString(sum[:])
}

type answer struct {
	Status  int
	Code    int             `json:"code"`
	Success bool            `json:"success"`
	Msg     string          `json:"msg"`
	Result  json.RawMessage `json:"result"`
}

type listAnswer struct {
	List       []listItem `json:"list"`
	TotalCount int64      `json:"totalCount"`
	TotalPage  int64      `json:"totalPage"`
}

// post sends raw bytes with the given sign header ("" sends none).
func (ts *testServer) post(t *testing.T, path string, body []byte, sg string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+apiPrefix+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	if sg != "" {
		req.Header.Set("sign", sg)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%s: answer is not the JSON envelope: %v: %s", path, err, raw)
	}
	return a
}

// call marshals payload once, signs those bytes and sends them.
func (ts *testServer) call(t *testing.T, path string, payload map[string]any) answer {
	t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return ts.post(t, path, body, sign(body, ts.cfg.Token))
}

func (ts *testServer) payload(extra map[string]any) map[string]any {
	p := map[string]any{"corpid": ts.cfg.Corpid, "userId": ts.cfg.UserID, "formId": productFormID, "viewApproval": "0"}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func mustOK(t *testing.T, a answer) {
	t.Helper()
	if a.Status != http.StatusOK || a.Code != codeOK || !a.Success || a.Msg != msgOK {
		t.Fatalf("want success, got HTTP %d code %d success %v msg %q", a.Status, a.Code, a.Success, a.Msg)
	}
}

func mustFail(t *testing.T, a answer, code int, msgPart string) {
	t.Helper()
	if a.Code != code || a.Success || !strings.Contains(a.Msg, msgPart) {
		t.Fatalf("want code %d with %q, got HTTP %d code %d success %v msg %q", code, msgPart, a.Status, a.Code, a.Success, a.Msg)
	}
}

func decodeList(t *testing.T, a answer) listAnswer {
	t.Helper()
	mustOK(t, a)
	var l listAnswer
	if err := json.Unmarshal(a.Result, &l); err != nil {
		t.Fatalf("result: %v: %s", err, a.Result)
	}
	return l
}

func TestSignedProductListSucceeds(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 500})
	l := decodeList(t, ts.call(t, "product/list", ts.payload(map[string]any{"page": 1, "pageSize": 100})))
	if l.TotalCount != 500 || l.TotalPage != 5 || len(l.List) != 100 {
		t.Fatalf("totalCount %d totalPage %d len %d, want 500 5 100", l.TotalCount, l.TotalPage, len(l.List))
	}
	first := l.List[0]
	cat := core.Catalog(ts.env.Seed)
	if first.Data[keySerialNo] != cat[0].ID || first.Data[keyName] != cat[0].Name || first.FormID != productFormID {
		t.Fatalf("first product %+v, want catalog SKU %s %s", first, cat[0].ID, cat[0].Name)
	}
	lo := fixedNow.Add(-core.DataSpan).Unix()
	for i, it := range l.List {
		if it.UpdateTime < lo || it.UpdateTime > fixedNow.Unix() || it.AddTime > it.UpdateTime {
			t.Fatalf("item %d times: add %d update %d", i, it.AddTime, it.UpdateTime)
		}
		if _, ok := it.Data[keyPrice].(float64); !ok {
			t.Fatalf("item %d has no numeric %s: %v", i, keyPrice, it.Data)
		}
		if i > 0 {
			p := l.List[i-1]
			if p.UpdateTime > it.UpdateTime || (p.UpdateTime == it.UpdateTime && p.DataID >= it.DataID) {
				t.Fatalf("items %d,%d not ordered by updateTime, dataId", i-1, i)
			}
		}
	}
	if n := ts.env.Stats.Count(vendorName, apiPrefix+"product/list", "1"); n != 1 {
		t.Fatalf("stats recorded %d successes, want 1", n)
	}
}

func TestDefaultPageSizeAndOptionalFields(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 300})
	l := decodeList(t, ts.call(t, "product/list", ts.payload(nil)))
	if len(l.List) != defaultPageSize || l.TotalPage != (300+defaultPageSize-1)/defaultPageSize {
		t.Fatalf("default page: len %d totalPage %d", len(l.List), l.TotalPage)
	}
	all := collect(t, ts, nil)
	missingSpec, missingCost := 0, 0
	for _, it := range all {
		if _, ok := it.Data[keySpec]; !ok {
			missingSpec++
		}
		if _, ok := it.Data[keyCost]; !ok {
			missingCost++
		}
	}
	if missingSpec == 0 || missingCost == 0 || missingSpec == len(all) {
		t.Fatalf("optional fields: %d without spec, %d without cost of %d", missingSpec, missingCost, len(all))
	}
}

func TestSignStartingWithZero(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 50})
	for page := 1; page < 1000; page++ {
		body, err := json.Marshal(ts.payload(map[string]any{"page": page, "pageSize": 10}))
		if err != nil {
			t.Fatal(err)
		}
		sg := sign(body, ts.cfg.Token)
		if sg[0] != '0' {
			continue
		}
		mustOK(t, ts.post(t, "product/list", body, sg))
		// The XBBNASL bug: the same digest without its leading zeros.
		mustFail(t, ts.post(t, "product/list", body, strings.TrimLeft(sg, "0")), codeSignError, "签名")
		return
	}
	t.Fatal("no body with a sign starting with 0 found")
}

func TestSignatureErrors(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 10})
	body := []byte(`{"corpid":"sandbox-xbb-corp","page":1,"pageSize":10}`)
	good := sign(body, ts.cfg.Token)
	tests := []struct {
		name string
		body []byte
		sign string
		msg  string
	}{
		{"missing sign", body, "", "签名"},
		{"tampered body", bytes.Replace(body, []byte(`"pageSize":10`), []byte(`"pageSize":20`), 1), good, "签名"},
		{"re-encoded body", []byte(`{"corpid": "sandbox-xbb-corp", "page": 1, "pageSize": 10}`), good, "签名"},
		{"wrong token", body, sign(body, "other-token"), "签名"},
		{"upper-case hex", body, strings.ToUpper(good), "签名"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ts.post(t, "product/list", tt.body, tt.sign)
			mustFail(t, a, codeSignError, tt.msg)
		})
	}
	if n := ts.env.Stats.Count(vendorName, apiPrefix+"product/list", "100010"); n != len(tests) {
		t.Fatalf("stats: %d sign errors recorded, want %d", n, len(tests))
	}
	// The sign is checked before parsing: garbage with a good sign gets a
	// parameter error, garbage with a bad sign a sign error.
	junk := []byte(`not json`)
	mustFail(t, ts.post(t, "product/list", junk, "00"), codeSignError, "签名")
	mustFail(t, ts.post(t, "product/list", junk, sign(junk, ts.cfg.Token)), codeParamError, "参数格式错误")
}

func TestCompanyAndUserChecks(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 10})
	tests := []struct {
		name    string
		payload map[string]any
		code    int
		msg     string
	}{
		{"unknown corpid", map[string]any{"corpid": "ding123456", "page": 1}, codeCorpError, "corpid"},
		{"missing corpid", map[string]any{"page": 1}, codeCorpError, "corpid"},
		{"unknown user", map[string]any{"corpid": ts.cfg.Corpid, "userId": "nobody"}, codeUserError, "用户不存在"},
		{"unknown form", map[string]any{"corpid": ts.cfg.Corpid, "formId": 1}, codeFormError, "表单不存在"},
		{"bad viewApproval", map[string]any{"corpid": ts.cfg.Corpid, "viewApproval": "2"}, codeParamError, "viewApproval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustFail(t, ts.call(t, "product/list", tt.payload), tt.code, tt.msg)
		})
	}
}

// collect reads every page of one query and returns the items in order.
func collect(t *testing.T, ts *testServer, conds []map[string]any) []listItem {
	t.Helper()
	var out []listItem
	for page := 1; ; page++ {
		l := decodeList(t, ts.call(t, "product/list", ts.payload(map[string]any{"page": page, "pageSize": 100, "conditions": conds})))
		out = append(out, l.List...)
		if int64(page) >= l.TotalPage {
			if int64(len(out)) != l.TotalCount {
				t.Fatalf("read %d rows, totalCount %d", len(out), l.TotalCount)
			}
			return out
		}
		if page > 1000 {
			t.Fatal("too many pages")
		}
	}
}

func window(lo, hi int64) []map[string]any {
	return []map[string]any{
		{"attr": "updateTime", "symbol": "greaterequal", "value": []any{lo}},
		{"attr": "updateTime", "symbol": "lessequal", "value": []any{hi}},
	}
}

func TestSevenDayWindowsReturnEveryProductOnce(t *testing.T) {
	const n = 2500
	ts := newTestServer(t, core.Options{Records: n})
	seen := map[int64]int{}
	week := int64(7 * 24 * 3600)
	end := fixedNow.Unix()
	for lo := fixedNow.Add(-core.DataSpan).Unix(); lo <= end; lo += week {
		hi := min(lo+week-1, end)
		for _, it := range collect(t, ts, window(lo, hi)) {
			if it.UpdateTime < lo || it.UpdateTime > hi {
				t.Fatalf("dataId %d updateTime %d outside [%d,%d]", it.DataID, it.UpdateTime, lo, hi)
			}
			seen[it.DataID]++
		}
	}
	if len(seen) != n {
		t.Fatalf("saw %d distinct products, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("dataId %d seen %d times", id, c)
		}
	}
}

func TestConditions(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 400})
	all := collect(t, ts, nil)
	mid := all[len(all)/2]
	addLo := mid.AddTime
	tests := []struct {
		name  string
		conds []map[string]any
		keep  func(listItem) bool
	}{
		{"serialNo equal", []map[string]any{{"attr": "serialNo", "symbol": "equal", "value": []any{"SKU00005"}}},
			func(it listItem) bool { return it.Data[keySerialNo] == "SKU00005" }},
		{"serialNo range", []map[string]any{
			{"attr": "serialNo", "symbol": "greaterequal", "value": []any{"CP0000250"}},
			{"attr": "serialNo", "symbol": "lessequal", "value": []any{"CP0000260"}}},
			func(it listItem) bool {
				s := it.Data[keySerialNo].(string)
				return s >= "CP0000250" && s <= "CP0000260"
			}},
		{"addTime from", []map[string]any{{"attr": "addTime", "symbol": "greaterequal", "value": []any{addLo}}},
			func(it listItem) bool { return it.AddTime >= addLo }},
		{"updateTime equal", []map[string]any{{"attr": "updateTime", "symbol": "equal", "value": []any{mid.UpdateTime}}},
			func(it listItem) bool { return it.UpdateTime == mid.UpdateTime }},
		{"updateTime as string", []map[string]any{{"attr": "updateTime", "symbol": "lessequal", "value": []any{fmt.Sprint(mid.UpdateTime)}}},
			func(it listItem) bool { return it.UpdateTime <= mid.UpdateTime }},
		{"milliseconds match everything", []map[string]any{{"attr": "updateTime", "symbol": "lessequal", "value": []any{fixedNow.UnixMilli()}}},
			func(listItem) bool { return true }},
		{"price at least 500", []map[string]any{{"attr": "num_1", "symbol": "greaterequal", "value": []any{500}}},
			func(it listItem) bool { return it.Data[keyPrice].(float64) >= 500 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := 0
			for _, it := range all {
				if tt.keep(it) {
					want++
				}
			}
			got := collect(t, ts, tt.conds)
			if len(got) != want || want == 0 {
				t.Fatalf("got %d rows, want %d (and more than 0)", len(got), want)
			}
			for _, it := range got {
				if !tt.keep(it) {
					t.Fatalf("dataId %d does not satisfy the condition", it.DataID)
				}
			}
		})
	}
}

func TestParameterValidation(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 10})
	tests := []struct {
		name  string
		extra map[string]any
		msg   string
	}{
		{"pageSize over max", map[string]any{"pageSize": maxPageSize + 1}, "pageSize不能超过100"},
		{"negative pageSize", map[string]any{"pageSize": -1}, "pageSize"},
		{"page zero", map[string]any{"page": 0}, "page"},
		{"scalar value", map[string]any{"conditions": []map[string]any{{"attr": "updateTime", "symbol": "greaterequal", "value": 1}}}, "数组"},
		{"empty value", map[string]any{"conditions": []map[string]any{{"attr": "updateTime", "symbol": "greaterequal", "value": []any{}}}}, "不能为空"},
		{"unknown symbol", map[string]any{"conditions": []map[string]any{{"attr": "updateTime", "symbol": "like", "value": []any{1}}}}, "不支持的条件符号"},
		{"unknown attr", map[string]any{"conditions": []map[string]any{{"attr": "text_99", "symbol": "equal", "value": []any{"x"}}}}, "条件字段不存在"},
		{"time not a number", map[string]any{"conditions": []map[string]any{{"attr": "addTime", "symbol": "equal", "value": []any{"yesterday"}}}}, "时间戳"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustFail(t, ts.call(t, "product/list", ts.payload(tt.extra)), codeParamError, tt.msg)
		})
	}
	mustOK(t, ts.call(t, "product/list", ts.payload(map[string]any{"pageSize": maxPageSize})))
	// A page past the end is empty, with the totals still filled in.
	l := decodeList(t, ts.call(t, "product/list", ts.payload(map[string]any{"page": 5, "pageSize": 5})))
	if len(l.List) != 0 || l.TotalCount != 10 || l.TotalPage != 2 {
		t.Fatalf("page past the end: len %d totalCount %d totalPage %d", len(l.List), l.TotalCount, l.TotalPage)
	}
}

func TestRateLimit(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 10, Limits: true})
	p := ts.payload(map[string]any{"pageSize": 1})
	for i := range rateRule.N {
		a := ts.call(t, "product/list", p)
		if a.Code != codeOK {
			t.Fatalf("call %d: code %d %s", i+1, a.Code, a.Msg)
		}
	}
	a := ts.call(t, "product/list", p)
	mustFail(t, a, codeRateLimited, "请求频率超过20次/秒")
	if a.Status != http.StatusOK {
		t.Fatalf("rate limit answered HTTP %d, want 200", a.Status)
	}
	// Another interface of the same corpid shares the budget.
	mustFail(t, ts.call(t, "form/get", ts.payload(nil)), codeRateLimited, "20次/秒")
	if n := ts.env.Stats.Count(vendorName, "", "100050"); n != 2 {
		t.Fatalf("stats: %d rate-limit answers, want 2", n)
	}
	ts.sim.Reset()
	mustOK(t, ts.call(t, "product/list", p))
}

func TestNoRateLimitWithoutLimits(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 10})
	for i := range rateRule.N + 5 {
		if a := ts.call(t, "product/list", ts.payload(map[string]any{"pageSize": 1})); a.Code != codeOK {
			t.Fatalf("call %d: %d %s", i+1, a.Code, a.Msg)
		}
	}
}

func TestFormGet(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 10})
	a := ts.call(t, "form/get", ts.payload(nil))
	mustOK(t, a)
	var res struct {
		FormID      int       `json:"formId"`
		ExplainList []explain `json:"explainList"`
	}
	if err := json.Unmarshal(a.Result, &res); err != nil {
		t.Fatal(err)
	}
	names := map[string]explain{}
	for _, e := range res.ExplainList {
		names[e.Attr] = e
	}
	if res.FormID != productFormID || names[keySerialNo].AttrName != "产品编号" || names[keyName].AttrName != "产品名称" || names[keyPrice].AttrName == "" {
		t.Fatalf("explainList: %+v", res)
	}
	if items := names[keyUnit].Items; len(items) != len(unitOptions) || items[0].Text != unitOptions[0] {
		t.Fatalf("unit items: %+v", items)
	}
	mustFail(t, ts.call(t, "form/get", map[string]any{"corpid": ts.cfg.Corpid}), codeFormError, "formId")
	mustFail(t, ts.call(t, "form/get", map[string]any{"corpid": ts.cfg.Corpid, "formId": "42"}), codeFormError, "表单不存在")
}

func TestOtherPaths(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 10})
	l := decodeList(t, ts.call(t, "opportunity/list", map[string]any{"corpid": ts.cfg.Corpid, "page": 1}))
	if len(l.List) != 0 || l.TotalCount != 0 {
		t.Fatalf("opportunity/list: %+v", l)
	}
	fl := decodeList(t, ts.call(t, "form/list", map[string]any{"corpid": ts.cfg.Corpid}))
	if fl.TotalCount != 3 || len(fl.List) != 3 {
		t.Fatalf("form/list: %+v", fl)
	}
	a := ts.call(t, "no/such", map[string]any{"corpid": ts.cfg.Corpid})
	mustFail(t, a, codeNoSuchAPI, "接口不存在")
	if a.Status != http.StatusNotFound {
		t.Fatalf("unknown path: HTTP %d", a.Status)
	}
	resp, err := http.Get(ts.url + apiPrefix + "product/list")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: HTTP %d", resp.StatusCode)
	}
}

func TestMutationDriftAndReset(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 300, Faults: core.Faults{MutateRate: 1}})
	conds := window(fixedNow.Add(-core.DataSpan).Unix(), fixedNow.Add(-time.Hour).Unix())
	l := decodeList(t, ts.call(t, "product/list", ts.payload(map[string]any{"pageSize": 100, "conditions": conds})))
	if l.TotalCount != 300 {
		t.Fatalf("first page totalCount %d", l.TotalCount)
	}
	// The page just served made one product newer than the window.
	var touched core.TruthDoc
	for _, d := range ts.env.Dataset(DatasetProducts).Truth() {
		if d.Version > 1 {
			touched = d
		}
	}
	if touched.ID == "" {
		t.Fatal("mutate_rate 1 touched nothing")
	}
	l2 := decodeList(t, ts.call(t, "product/list", ts.payload(map[string]any{"pageSize": 100, "page": 2, "conditions": conds})))
	if l2.TotalCount != 299 {
		t.Fatalf("second page totalCount %d, want 299 (one product left the window)", l2.TotalCount)
	}
	// Read without a window: the touched product comes last, renamed with its version.
	if err := ts.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	last := collect(t, ts, nil)
	var found listItem
	for _, it := range last {
		if fmt.Sprint(it.DataID) == touched.ID {
			found = it
		}
	}
	if found.UpdateTime != fixedNow.Unix() || !strings.HasSuffix(found.Data[keyName].(string), " v2") {
		t.Fatalf("touched product %s served as %+v", touched.ID, found)
	}
	if tail := last[len(last)-1]; tail.UpdateTime != fixedNow.Unix() {
		t.Fatalf("last item updateTime %d, want the mutation time %d", tail.UpdateTime, fixedNow.Unix())
	}
	ts.sim.Reset()
	for _, d := range ts.env.Dataset(DatasetProducts).Truth() {
		if d.Version != 1 {
			t.Fatalf("after Reset %s has version %d", d.ID, d.Version)
		}
	}
}

func TestDeterministicForSeed(t *testing.T) {
	get := func() string {
		ts := newTestServer(t, core.Options{Records: 250, Seed: 42})
		a := ts.call(t, "product/list", ts.payload(map[string]any{"page": 3, "pageSize": 100}))
		mustOK(t, a)
		return string(a.Result)
	}
	if a, b := get(), get(); a != b {
		t.Fatal("same seed gave different pages")
	}
	ts := newTestServer(t, core.Options{Records: 250})
	truth := ts.env.Dataset(DatasetProducts).Truth()
	if len(truth) != 250 || truth[0].ID != fmt.Sprint(firstDataID) {
		t.Fatalf("truth: %d docs, first %+v", len(truth), truth[0])
	}
}
