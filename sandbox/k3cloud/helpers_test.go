package k3cloud

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	env *core.Env
	sim *Sim
	srv *httptest.Server
	clk *clock
	cfg Config
}

func newFixture(t *testing.T, opt func(*core.Options, *Config)) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, core.Shanghai)}
	o := core.Options{Seed: 7, Records: 10, Now: clk.Now}
	cfg := DefaultConfig()
	if opt != nil {
		opt(&o, &cfg)
	}
	env, err := core.NewEnv(o)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sim.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { env.Close(); srv.Close() })
	return &fixture{env: env, sim: sim, srv: srv, clk: clk, cfg: cfg}
}

// signer is the test's own mode-A client, written from the contract
// (section 3.1), independent of the simulator's code.
type signer struct {
	appID, appSecret, acct, user, lcid, org string
	millis                                  bool
	now                                     func() time.Time
}

func (f *fixture) signer() signer {
	return signer{appID: f.cfg.AppID, appSecret: f.cfg.AppSecret, acct: f.cfg.AcctID, user: f.cfg.Username,
		lcid: "2052", org: "0", now: f.clk.Now}
}

func kdHmacT(content, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(content))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

func (s signer) headers(t *testing.T, path string) http.Header {
	t.Helper()
	parts := strings.Split(s.appID, "_")
	raw, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	xkey := []byte("0054f397c6234378b09ca7d3e5debce7")
	for i := range raw {
		raw[i] ^= xkey[i]
	}
	clientSec := base64.StdEncoding.EncodeToString(raw)
	ts := strconv.FormatInt(s.now().Unix(), 10)
	if s.millis {
		ts = strconv.FormatInt(s.now().UnixMilli(), 10)
	}
	enc := strings.ReplaceAll(url.PathEscape(path), "/", "%2F")
	sts := "POST\n" + enc + "\n\nx-api-nonce:" + ts + "\nx-api-timestamp:" + ts + "\n"
	appData := s.acct + "," + s.user + "," + s.lcid + "," + s.org
	h := http.Header{}
	h.Set("X-Api-ClientID", parts[0])
	h.Set("X-Api-Auth-Version", "2.0")
	h.Set("x-api-timestamp", ts)
	h.Set("x-api-nonce", ts)
	h.Set("x-api-signheaders", "x-api-timestamp,x-api-nonce")
	h.Set("X-Api-Signature", kdHmacT(sts, clientSec))
	h.Set("X-Kd-Appkey", s.appID)
	h.Set("X-Kd-Appdata", base64.StdEncoding.EncodeToString([]byte(appData)))
	h.Set("X-Kd-Signature", kdHmacT(s.appID+appData, s.appSecret))
	return h
}

func formPath(method string) string {
	return "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService." + method + ".common.kdsvc"
}

func authPath(method string) string {
	return "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService." + method + ".common.kdsvc"
}

// auth carries how a call authenticates: HMAC headers, cookies, or both.
type auth struct {
	sign    *signer
	cookies []*http.Cookie
	header  map[string]string
}

type reply struct {
	status  int
	body    []byte
	cookies []*http.Cookie
	header  http.Header
}

func (f *fixture) do(t *testing.T, path string, body any, a auth) reply {
	t.Helper()
	var b []byte
	switch x := body.(type) {
	case string:
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.sign != nil {
		for k, v := range a.sign.headers(t, path) {
			req.Header[k] = v
		}
	}
	for k, v := range a.header {
		req.Header.Set(k, v)
	}
	for _, c := range a.cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, body: bytes.TrimSpace(out), cookies: resp.Cookies(), header: resp.Header}
}

// call posts a named-shape DynamicFormService call signed with HMAC headers.
func (f *fixture) call(t *testing.T, method, form string, data any) reply {
	t.Helper()
	s := f.signer()
	return f.do(t, formPath(method), map[string]any{"formid": form, "data": data}, auth{sign: &s})
}

func cookie(r reply, name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// status decodes Result.ResponseStatus of a write answer.
type statusT struct {
	ErrorCode int
	IsSuccess bool
	MsgCode   int
	Errors    []struct {
		FieldName *string
		Message   string
		DIndex    int
	}
	SuccessEntitys []struct {
		Id     int64
		Number string
		DIndex int
	}
}

// A View answer of a found document carries "ResponseStatus": null beside
// the document (as captured from a real server): that is a success.
func decodeStatus(t *testing.T, r reply) statusT {
	t.Helper()
	var v struct {
		Result struct {
			ResponseStatus *statusT
			Result         json.RawMessage
		}
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	if v.Result.ResponseStatus == nil {
		if len(v.Result.Result) > 0 && string(v.Result.Result) != "null" {
			return statusT{IsSuccess: true}
		}
		return statusT{}
	}
	return *v.Result.ResponseStatus
}

// queryRows decodes an ExecuteBillQuery answer, failing on an error envelope.
func queryRows(t *testing.T, r reply) [][]any {
	t.Helper()
	var rows [][]any
	if err := json.Unmarshal(r.body, &rows); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	for _, row := range rows {
		if len(row) == 1 {
			if m, ok := row[0].(map[string]any); ok && m["Result"] != nil {
				t.Fatalf("query failed: %s", r.body)
			}
		}
	}
	return rows
}

// queryError decodes a [[{"Result":...}]] error and returns its MsgCode.
func queryError(t *testing.T, r reply) int {
	t.Helper()
	var v [][]struct {
		Result struct{ ResponseStatus statusT }
	}
	if err := json.Unmarshal(r.body, &v); err != nil || len(v) != 1 || len(v[0]) != 1 {
		t.Fatalf("not a wrapped error: %s", r.body)
	}
	if v[0][0].Result.ResponseStatus.IsSuccess {
		t.Fatalf("wrapped answer says success: %s", r.body)
	}
	return v[0][0].Result.ResponseStatus.MsgCode
}

func customer(no, name, org string) map[string]any {
	m := map[string]any{"FCUSTID": 0, "FNumber": no, "FName": name, "FCreateOrgId": map[string]any{"FNumber": org},
		"FUseOrgId": map[string]any{"FNumber": org}}
	if name == "" {
		delete(m, "FName")
	}
	return m
}

func bill(no, org, note string, entries ...map[string]any) map[string]any {
	es := make([]any, len(entries))
	for i, e := range entries {
		es[i] = e
	}
	return map[string]any{"FID": 0, "FBillNo": no, "FBillTypeID": map[string]any{"FNUMBER": "QTRKD01_SYS"},
		"FStockOrgId": map[string]any{"FNumber": org}, "FStockDirect": "GENERAL", "FDate": "2025-02-20",
		"FDEPTID": map[string]any{"FNumber": "BM000001"}, "FNOTE": note, "FEntity": es}
}

func line(sku, stock string, qty float64) map[string]any {
	return map[string]any{"FMATERIALID": map[string]any{"FNumber": sku}, "FSTOCKID": map[string]any{"FNumber": stock}, "FQty": qty}
}

func dindexes[T any](xs []T, get func(T) int) []int {
	out := make([]int, 0, len(xs))
	for _, x := range xs {
		out = append(out, get(x))
	}
	sort.Ints(out)
	return out
}

// targetDocs reads the introspection endpoint.
func (f *fixture) targetDocs(t *testing.T, form string) []core.TargetDoc {
	t.Helper()
	resp, err := http.Get(f.srv.URL + "/_sandbox/k3cloud/" + form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Documents []core.TargetDoc }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Documents
}
