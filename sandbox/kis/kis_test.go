package kis

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// clock is a settable test clock: expiry is exercised by moving it, never
// by sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t   *testing.T
	env *core.Env
	clk *clock
	srv *httptest.Server
}

func newFixture(t *testing.T, limits bool) *fixture {
	t.Helper()
	return newFixtureConfig(t, limits, DefaultConfig())
}

// newStrictFixture checks every header as KISTS sends them.
func newStrictFixture(t *testing.T) *fixture {
	t.Helper()
	cfg := DefaultConfig()
	cfg.StrictHeaders = true
	return newFixtureConfig(t, false, cfg)
}

func newFixtureConfig(t *testing.T, limits bool, cfg Config) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2024, 6, 1, 10, 0, 0, 0, core.Shanghai)}
	env, err := core.NewEnv(core.Options{Seed: 7, Records: 10, Limits: limits, Now: clk.Now})
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
	return &fixture{t: t, env: env, clk: clk, srv: srv}
}

func (f *fixture) setFaults(mod func(*core.Faults)) {
	f.t.Helper()
	fl := f.env.Faults()
	mod(&fl)
	if err := f.env.SetFaults(fl); err != nil {
		f.t.Fatal(err)
	}
}

type answer struct {
	status      int
	Errcode     int             `json:"errcode"`
	Description string          `json:"description"`
	Data        json.RawMessage `json:"data"`
}

func (f *fixture) do(method, path string, q url.Values, hdr http.Header, body any) answer {
	f.t.Helper()
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			f.t.Fatal(err)
		}
	}
	u := f.srv.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, &rd)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		f.t.Fatalf("%s: answer is not the JSON envelope: %v", path, err)
	}
	return a
}

func (a answer) data(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Data, &m); err != nil {
		t.Fatalf("data %s: %v", a.Data, err)
	}
	return m
}

func (a answer) want(t *testing.T, code int) {
	t.Helper()
	if a.Errcode != code {
		t.Fatalf("errcode %d (%s), want %d", a.Errcode, a.Description, code)
	}
}

// client is the test's own koas client, written from kis.md 3.1-3.3.
type client struct {
	f                                          *fixture
	state                                      string
	token, sid, secret, auth, router, refreshT string
	tokenExp, sidExp                           float64
}

func newClient(f *fixture) *client { return &client{f: f, state: "test-machine-" + uuid()} }

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sign is the KIS-Signature, computed independently of the simulator.
func sign(state, sid, trace, secret, ts string) string {
	h := sha256.New()
	h.Write([]byte(state))
	h.Write([]byte(sid))
	h.Write([]byte(trace))
	h.Write([]byte(secret))
	h.Write([]byte(ts))
	return hex.EncodeToString(h.Sum(nil))
}

func (c *client) common() http.Header {
	h := http.Header{}
	h.Set("Kis-State", c.state)
	h.Set("Kis-Timestamp", strconv.FormatInt(c.f.clk.Now().Unix(), 10))
	h.Set("Kis-Traceid", uuid())
	h.Set("Kis-Ver", "1.0")
	return h
}

func (c *client) signed() http.Header {
	h := c.common()
	h.Set("KIS-Signature", sign(c.state, c.sid, h.Get("Kis-Traceid"), c.secret, h.Get("Kis-Timestamp")))
	return h
}

func (c *client) tokenQ() url.Values { return url.Values{"access_token": {c.token}} }

func appQ(id, secret string) url.Values {
	return url.Values{"client_id": {id}, "client_secret": {secret}}
}

func (c *client) login() {
	c.f.t.Helper()
	d := DefaultConfig()
	a := c.f.do("POST", pathAccessToken, appQ(d.ClientID, d.ClientSecret), c.common(), map[string]any{"code": d.AuthCode})
	a.want(c.f.t, 0)
	m := a.data(c.f.t)
	c.token, c.sid, c.secret = m["access_token"].(string), m["session_id"].(string), m["session_secret"].(string)
	c.tokenExp, c.sidExp = m["access_token_expire_in"].(float64), m["session_id_expire_in"].(float64)
}

func (c *client) gatewayBody() map[string]any {
	d := DefaultConfig()
	return map[string]any{"session_id": c.sid, "acctnumber": d.AcctNumber, "pid": d.PID, "icrmid": d.ICRMID}
}

func (c *client) takeGateway(m map[string]any) {
	c.auth, c.router = m["auth_data"].(string), m["gw_router_addr"].(string)
	c.refreshT = m["extend_data"].(map[string]any)["refresh_auth_data_token"].(string)
}

func (c *client) gateway() {
	c.f.t.Helper()
	a := c.f.do("POST", pathGateway, c.tokenQ(), c.signed(), c.gatewayBody())
	a.want(c.f.t, 0)
	c.takeGateway(a.data(c.f.t))
}

func (c *client) create(b any) answer {
	c.f.t.Helper()
	h := c.common()
	h.Set("Kis-Authdata", c.auth)
	h.Set("X-Gw-Router-Addr", c.router)
	return c.f.do("POST", pathMiscReceipt, c.tokenQ(), h, b)
}

func (c *client) refreshLogin() answer {
	c.f.t.Helper()
	a := c.f.do("POST", pathRefreshLogin, c.tokenQ(), c.common(), map[string]any{"session_id": c.sid})
	if a.Errcode == 0 {
		m := a.data(c.f.t)
		c.token, c.sid = m["access_token"].(string), m["session_id"].(string)
	}
	return a
}

func (c *client) refreshAuth() answer {
	c.f.t.Helper()
	d := DefaultConfig()
	a := c.f.do("POST", pathRefreshAuth, appQ(d.ClientID, d.ClientSecret), c.common(),
		map[string]any{"refresh_auth_data_token": c.refreshT, "access_token": c.token})
	if a.Errcode == 0 {
		m := a.data(c.f.t)
		c.token = m["access_token"].(string)
		c.takeGateway(m)
	}
	return a
}

// ready returns a client that went through steps 1 and 4.
func ready(f *fixture) *client {
	f.t.Helper()
	c := newClient(f)
	c.login()
	c.gateway()
	return c
}

func miscBill(no string) map[string]any {
	return map[string]any{"Object": map[string]any{
		"Head": map[string]any{"Fdate": "2024-06-01T10:00:00", "FTranType": 10, "FBillNo": no, "FROB": 1, "Fnote": "聚水潭其它进仓"},
		"Entry": []any{map[string]any{"FItemID": "SKU00001", "FQty": 2, "Fauxqty": 2, "FAuxQtyMust": 2,
			"FPlanMode": 14036, "FDCStockID": "CK001", "Famount": 3.0}},
	}}
}

type billsAnswer struct {
	Documents []core.TargetDoc `json:"documents"`
}

func (f *fixture) bills() billsAnswer {
	f.t.Helper()
	resp, err := http.Get(f.srv.URL + pathIntrospection)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b billsAnswer
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		f.t.Fatal(err)
	}
	return b
}

func TestFullFlow(t *testing.T) {
	f := newFixture(t, false)
	c := newClient(f)
	c.login()
	now := f.clk.Now().Unix()
	if c.tokenExp != float64(now+int64(defaultTokenTTL/time.Second)) || c.sidExp != float64(now+int64(defaultSessionTTL/time.Second)) {
		t.Fatalf("expire_in %v/%v are not absolute Unix seconds from %d", c.tokenExp, c.sidExp, now)
	}

	d := DefaultConfig()
	a := f.do("POST", pathAccount, c.tokenQ(), c.signed(), map[string]any{"session_id": c.sid})
	a.want(t, 0)
	if !strings.Contains(string(a.Data), d.AcctNumber) {
		t.Fatalf("account list %s lacks %s", a.Data, d.AcctNumber)
	}
	a = f.do("POST", pathAccountApps, c.tokenQ(), c.signed(),
		map[string]any{"session_id": c.sid, "client_id": d.ClientID, "acctnumber": d.AcctNumber, "pid": d.PID})
	a.want(t, 0)
	c.gateway()
	if c.router != d.GwRouterAddr || c.auth == "" || c.refreshT == "" {
		t.Fatalf("gateway answer: router %q auth %q refresh %q", c.router, c.auth, c.refreshT)
	}

	a = c.create(miscBill("JST10001"))
	a.want(t, 0)
	m := a.data(t)
	if m["FBillNo"] != "JST10001" || m["FID"].(float64) != firstFID {
		t.Fatalf("create answer %v", m)
	}

	a = f.do("POST", pathLoginStatus, c.tokenQ(), c.common(), map[string]any{"session_id": c.sid})
	a.want(t, 0)
	if a.data(t)["login_status"] != true {
		t.Fatalf("login_status %s", a.Data)
	}

	b := f.bills()
	if len(b.Documents) != 1 || b.Documents[0].Number != "JST10001" || b.Documents[0].Writes != 1 {
		t.Fatalf("bills %+v", b)
	}
	entry := b.Documents[0].Data["Entry"].([]any)[0].(map[string]any)
	if entry["FItemID"] != "SKU00001" || entry["FQty"].(float64) != 2 {
		t.Fatalf("stored entry %v", entry)
	}
	if n := f.env.TargetCounts()["kis/bills"]; n != 1 {
		t.Fatalf("target count %d", n)
	}
	if n := f.env.Stats.Count(Vendor, pathMiscReceipt, "0"); n != 1 {
		t.Fatalf("stats for create code 0: %d", n)
	}
}

func TestAccessTokenErrors(t *testing.T) {
	f := newStrictFixture(t) // "missing Kis-Ver" needs the strict mode
	c := newClient(f)
	d := DefaultConfig()
	noVer := c.common()
	noVer.Del("Kis-Ver")
	badTS := c.common()
	badTS.Set("Kis-Timestamp", "2024-06-01")
	tests := []struct {
		name, method, path string
		q                  url.Values
		hdr                http.Header
		body               any
		code, status       int
	}{
		{"wrong secret", "POST", pathAccessToken, appQ(d.ClientID, "nope"), c.common(), map[string]any{"code": d.AuthCode}, codeBadClient, 401},
		{"wrong client", "POST", pathAccessToken, appQ("other", d.ClientSecret), c.common(), map[string]any{"code": d.AuthCode}, codeBadClient, 401},
		{"wrong code", "POST", pathAccessToken, appQ(d.ClientID, d.ClientSecret), c.common(), map[string]any{"code": "x"}, codeBadCode, 401},
		{"missing Kis-Ver", "POST", pathAccessToken, appQ(d.ClientID, d.ClientSecret), noVer, map[string]any{"code": d.AuthCode}, codeBadHeader, 200},
		{"timestamp not seconds", "POST", pathAccessToken, appQ(d.ClientID, d.ClientSecret), badTS, map[string]any{"code": d.AuthCode}, codeBadHeader, 200},
		{"GET", "GET", pathAccessToken, appQ(d.ClientID, d.ClientSecret), c.common(), nil, codeMethod, 405},
		{"unknown path", "POST", "/koas/app007104/api/nothing/create", nil, c.common(), map[string]any{}, codeNotFound, 404},
		{"wrong secret on refresh_auth_data", "POST", pathRefreshAuth, appQ(d.ClientID, "nope"), c.common(), map[string]any{"refresh_auth_data_token": "x", "access_token": "y"}, codeBadClient, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := f.do(tc.method, tc.path, tc.q, tc.hdr, tc.body)
			a.want(t, tc.code)
			if a.status != tc.status {
				t.Fatalf("HTTP %d, want %d", a.status, tc.status)
			}
			if tc.code == codeBadClient && !strings.Contains(a.Description, "client_secret") {
				t.Fatalf("description %q", a.Description)
			}
		})
	}
	if n := f.env.Stats.Count(Vendor, pathAccessToken, strconv.Itoa(codeBadClient)); n != 2 {
		t.Fatalf("stats recorded %d bad-client answers, want 2", n)
	}
}

func TestSignedCallErrors(t *testing.T) {
	f := newStrictFixture(t) // "missing signature" needs the strict mode
	c := newClient(f)
	c.login()
	other := newClient(f)
	other.login()

	tampered := c.signed()
	sig := []byte(tampered.Get("KIS-Signature"))
	sig[0] ^= 1
	tampered.Set("KIS-Signature", string(sig))
	noSig := c.signed()
	noSig.Del("KIS-Signature")
	wrongSecret := c.common()
	wrongSecret.Set("KIS-Signature", sign(c.state, c.sid, wrongSecret.Get("Kis-Traceid"), other.secret, wrongSecret.Get("Kis-Timestamp")))
	otherState := c.common()
	otherState.Set("Kis-State", "another-machine")
	otherState.Set("KIS-Signature", sign("another-machine", c.sid, otherState.Get("Kis-Traceid"), c.secret, otherState.Get("Kis-Timestamp")))
	stale := c.common()
	old := strconv.FormatInt(f.clk.Now().Add(-timestampWindow-time.Minute).Unix(), 10)
	stale.Set("Kis-Timestamp", old)
	stale.Set("KIS-Signature", sign(c.state, c.sid, stale.Get("Kis-Traceid"), c.secret, old))

	gw := c.gatewayBody()
	badAcct := c.gatewayBody()
	badAcct["acctnumber"] = "UE000"
	foreignSession := c.gatewayBody()
	foreignSession["session_id"] = other.sid

	tests := []struct {
		name string
		q    url.Values
		hdr  http.Header
		body map[string]any
		code int
	}{
		{"tampered signature", c.tokenQ(), tampered, gw, codeBadSignature},
		{"missing signature", c.tokenQ(), noSig, gw, codeBadSignature},
		{"signed with another session_secret", c.tokenQ(), wrongSecret, gw, codeBadSignature},
		{"other Kis-State", c.tokenQ(), otherState, gw, codeSessionInvalid},
		{"stale timestamp", c.tokenQ(), stale, gw, codeBadTimestamp},
		{"session of another login", c.tokenQ(), c.signed(), foreignSession, codeSessionInvalid},
		{"unknown token", url.Values{"access_token": {"nope"}}, c.signed(), gw, codeTokenInvalid},
		{"unknown account", c.tokenQ(), c.signed(), badAcct, codeBadAccount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.do("POST", pathGateway, tc.q, tc.hdr, tc.body).want(t, tc.code)
		})
	}
	// The correct signature still works after all of that.
	f.do("POST", pathGateway, c.tokenQ(), c.signed(), gw).want(t, 0)
}

func TestBusinessAuthErrors(t *testing.T) {
	f := newFixture(t, false)
	c := ready(f)
	other := ready(f)
	tests := []struct {
		name   string
		mutate func(q url.Values, h http.Header)
		code   int
	}{
		{"no access_token", func(q url.Values, _ http.Header) { q.Del("access_token") }, codeTokenInvalid},
		{"unknown access_token", func(q url.Values, _ http.Header) { q.Set("access_token", "x") }, codeTokenInvalid},
		{"no Kis-Authdata", func(_ url.Values, h http.Header) { h.Del("Kis-Authdata") }, codeAuthData},
		{"unknown Kis-Authdata", func(_ url.Values, h http.Header) { h.Set("Kis-Authdata", "x") }, codeAuthData},
		{"auth_data of another login", func(_ url.Values, h http.Header) { h.Set("Kis-Authdata", other.auth) }, codeAuthData},
		{"wrong router", func(_ url.Values, h http.Header) { h.Set("X-Gw-Router-Addr", "elsewhere") }, codeAuthData},
		{"missing Kis-Traceid", func(_ url.Values, h http.Header) { h.Del("Kis-Traceid") }, codeBadHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, h := c.tokenQ(), c.common()
			h.Set("Kis-Authdata", c.auth)
			h.Set("X-Gw-Router-Addr", c.router)
			tc.mutate(q, h)
			f.do("POST", pathMiscReceipt, q, h, miscBill("JST-AUTH")).want(t, tc.code)
		})
	}
	if n := len(f.bills().Documents); n != 0 {
		t.Fatalf("%d bills stored by refused calls", n)
	}
}

func TestExpiry(t *testing.T) {
	t.Run("token_ttl then refresh (a)", func(t *testing.T) {
		f := newFixture(t, false)
		c := ready(f)
		f.setFaults(func(fl *core.Faults) { fl.TokenTTL = core.Duration(time.Second) })
		f.clk.Add(2 * time.Second)
		a := c.create(miscBill("JST1"))
		a.want(t, codeTokenExpired)
		if a.status != 401 || !strings.Contains(a.Description, "access_token") {
			t.Fatalf("expired answer HTTP %d %q", a.status, a.Description)
		}
		f.do("POST", pathLoginStatus, c.tokenQ(), c.common(), map[string]any{"session_id": c.sid}).want(t, codeTokenExpired)
		c.refreshLogin().want(t, 0)
		c.create(miscBill("JST1")).want(t, 0)
	})
	t.Run("session_ttl then refresh (b) and a new login", func(t *testing.T) {
		f := newFixture(t, false)
		c := ready(f)
		f.setFaults(func(fl *core.Faults) { fl.SessionTTL = core.Duration(10 * time.Second) })
		f.clk.Add(11 * time.Second)
		c.create(miscBill("JST2")).want(t, codeAuthData)
		c.refreshLogin().want(t, codeSessionInvalid)
		f.do("POST", pathGateway, c.tokenQ(), c.signed(), c.gatewayBody()).want(t, codeSessionInvalid)
		c.refreshAuth().want(t, 0)
		c.create(miscBill("JST2")).want(t, 0)
		// The code can be exchanged again for a fresh session.
		c.login()
		c.gateway()
		c.create(miscBill("JST3")).want(t, 0)
	})
	t.Run("refresh_auth_data_token expires", func(t *testing.T) {
		f := newFixture(t, false)
		c := ready(f)
		f.clk.Add(refreshAuthDataTTL)
		c.refreshAuth().want(t, codeRefreshToken)
	})
}

func TestDuplicateBillNo(t *testing.T) {
	f := newFixture(t, false)
	c := ready(f)
	c.create(miscBill("JST777")).want(t, 0)
	a := c.create(miscBill("JST777"))
	a.want(t, codeDuplicate)
	if !strings.Contains(a.Description, "JST777") {
		t.Fatalf("duplicate description %q does not name the bill", a.Description)
	}
	b := f.bills()
	if len(b.Documents) != 1 || b.Documents[0].Writes != 1 {
		t.Fatalf("bills after duplicate %+v", b)
	}
}

func TestValidation(t *testing.T) {
	f := newFixture(t, false)
	c := ready(f)
	head := func(b map[string]any) map[string]any { return b["Object"].(map[string]any)["Head"].(map[string]any) }
	line := func(b map[string]any) map[string]any {
		return b["Object"].(map[string]any)["Entry"].([]any)[0].(map[string]any)
	}
	tests := []struct {
		name   string
		mutate func(b map[string]any)
		code   int
	}{
		{"no Object", func(b map[string]any) { delete(b, "Object") }, codeRequired},
		{"no Fdate", func(b map[string]any) { delete(head(b), "Fdate") }, codeRequired},
		{"bad Fdate", func(b map[string]any) { head(b)["Fdate"] = "06/01/2024" }, codeFieldType},
		{"no FTranType", func(b map[string]any) { delete(head(b), "FTranType") }, codeRequired},
		{"other FTranType", func(b map[string]any) { head(b)["FTranType"] = 21 }, codeFieldType},
		{"bad FROB", func(b map[string]any) { head(b)["FROB"] = 3 }, codeFieldType},
		{"empty Entry", func(b map[string]any) { b["Object"].(map[string]any)["Entry"] = []any{} }, codeRequired},
		{"no FQty", func(b map[string]any) { delete(line(b), "FQty") }, codeRequired},
		{"no Fauxqty", func(b map[string]any) { delete(line(b), "Fauxqty") }, codeRequired},
		{"no FAuxQtyMust", func(b map[string]any) { delete(line(b), "FAuxQtyMust") }, codeRequired},
		{"no FPlanMode", func(b map[string]any) { delete(line(b), "FPlanMode") }, codeRequired},
		{"FQty not a number", func(b map[string]any) { line(b)["FQty"] = "two" }, codeFieldType},
		{"FItemID object", func(b map[string]any) { line(b)["FItemID"] = map[string]any{} }, codeFieldType},
		{"no FItemID", func(b map[string]any) { delete(line(b), "FItemID") }, codeRequired},
		{"unknown material", func(b map[string]any) { line(b)["FItemID"] = "1.01.001" }, codeMaterial},
		{"wrong unit", func(b map[string]any) { line(b)["FUnitID"] = "吨" }, codeMaterial},
		{"no warehouse", func(b map[string]any) { delete(line(b), "FDCStockID") }, codeRequired},
		{"unknown warehouse", func(b map[string]any) { line(b)["FDCStockID"] = "01" }, codeStock},
		{"unknown head dept", func(b map[string]any) { head(b)["FDeptID"] = "BM999" }, codeMaster},
		// Documented variations that must be accepted.
		{"Fdate with space", func(b map[string]any) { head(b)["Fdate"] = "2024-06-01 10:00:00" }, 0},
		{"numbers as strings", func(b map[string]any) { head(b)["FTranType"] = "10"; line(b)["FQty"] = "2" }, 0},
		{"warehouse on the head", func(b map[string]any) { delete(line(b), "FDCStockID"); head(b)["FDCStockID"] = "CK002" }, 0},
		{"material internal id", func(b map[string]any) { line(b)["FItemID"] = "3" }, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := miscBill(fmt.Sprintf("JSTV%03d", i))
			tc.mutate(b)
			a := c.create(b)
			a.want(t, tc.code)
			if tc.code != 0 && (a.status != 200 || a.Description == "") {
				t.Fatalf("HTTP %d description %q", a.status, a.Description)
			}
		})
	}
	t.Run("no FBillNo gets a number", func(t *testing.T) {
		b := miscBill("")
		delete(head(b), "FBillNo")
		a := c.create(b)
		a.want(t, 0)
		if no, _ := a.data(t)["FBillNo"].(string); !strings.HasPrefix(no, "QTRK") {
			t.Fatalf("generated FBillNo %q", no)
		}
	})
}

func TestRowFailRate(t *testing.T) {
	f := newFixture(t, false)
	c := ready(f)
	f.setFaults(func(fl *core.Faults) { fl.RowFailRate = 0.4 })
	var failed, ok []string
	// Keys vary at the front: core.HashUnit (FNV-1a) spreads keys that
	// differ only in their last characters poorly.
	for i := range 40 {
		no := fmt.Sprintf("%03d-JSTRF", i)
		a := c.create(miscBill(no))
		want := 0
		if f.env.RowFails("kis:" + no) {
			want = codeRowFail
			failed = append(failed, no)
			if !strings.Contains(a.Description, no) {
				t.Fatalf("row-fail description %q does not name %s", a.Description, no)
			}
		} else {
			ok = append(ok, no)
		}
		a.want(t, want)
	}
	if len(failed) == 0 || len(ok) == 0 {
		t.Fatalf("rate 0.4 over 40 bills: %d failed, %d ok", len(failed), len(ok))
	}
	c.create(miscBill(failed[0])).want(t, codeRowFail) // a retried bad bill fails again
	if n := len(f.bills().Documents); n != len(ok) {
		t.Fatalf("%d bills stored, want %d", n, len(ok))
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, true)
	c := ready(f)
	for i := range businessRate.N {
		c.create(miscBill(fmt.Sprintf("JSTRL%02d", i))).want(t, 0)
	}
	a := c.create(miscBill("JSTRL-over"))
	a.want(t, codeRateLimited)
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("HTTP %d", a.status)
	}
	f.clk.Add(businessRate.Per)
	c.create(miscBill("JSTRL-over")).want(t, 0)
}

func TestReset(t *testing.T) {
	env, err := core.NewEnv(core.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := New(env, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sim.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { env.Close(); srv.Close() })
	f := &fixture{t: t, env: env, clk: &clock{}, srv: srv}
	f.clk.t = time.Now()
	c := ready(f)
	c.create(miscBill("JSTR1")).want(t, 0)
	sim.Reset()
	c.create(miscBill("JSTR1")).want(t, codeTokenInvalid)
	if n := env.TargetCounts()["kis/bills"]; n != 0 {
		t.Fatalf("bills after reset: %d", n)
	}
}

// TestProductionHeaders: by default the simulator accepts the calls of a
// production Java client: no Kis-Ver outside business calls, an unsigned
// get_service_gateway, a constant Kis-State and trace id, upper-case header
// names. Business calls still need Kis-Ver; a wrong Kis-Ver or a wrong
// signature is still refused; the strict mode refuses the Java client.
func TestProductionHeaders(t *testing.T) {
	d := DefaultConfig()
	hdr := func(f *fixture, extra ...string) http.Header {
		h := http.Header{}
		h["KIS-State"] = []string{"1"}
		h["KIS-Timestamp"] = []string{strconv.FormatInt(f.clk.Now().Unix(), 10)}
		h["KIS-TraceID"] = []string{"270962"}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = []string{extra[i+1]}
		}
		return h
	}
	f := newFixture(t, false)
	a := f.do("POST", pathAccessToken, appQ(d.ClientID, d.ClientSecret), hdr(f), map[string]any{"code": d.AuthCode})
	a.want(t, 0)
	m := a.data(t)
	token, sid, secret := m["access_token"].(string), m["session_id"].(string), m["session_secret"].(string)
	tq := url.Values{"access_token": {token}}
	body := map[string]any{"session_id": sid, "acctnumber": d.AcctNumber, "pid": d.PID, "icrmid": d.ICRMID}
	a = f.do("POST", pathGateway, tq, hdr(f), body)
	a.want(t, 0)
	g := a.data(t)
	auth, router := g["auth_data"].(string), g["gw_router_addr"].(string)
	refreshT := g["extend_data"].(map[string]any)["refresh_auth_data_token"].(string)

	// A signature that is sent is still checked; so is a Kis-Ver that is sent.
	f.do("POST", pathGateway, tq, hdr(f, "KIS-Signature", strings.Repeat("0", 64)), body).want(t, codeBadSignature)
	f.do("POST", pathGateway, tq, hdr(f, "KIS-Ver", "2.0"), body).want(t, codeBadHeader)
	// account (never called unsigned by any client) stays signed.
	f.do("POST", pathAccount, tq, hdr(f), map[string]any{"session_id": sid}).want(t, codeBadSignature)
	ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
	f.do("POST", pathAccount, tq, hdr(f, "KIS-Signature", sign("1", sid, "270962", secret, ts)), map[string]any{"session_id": sid}).want(t, 0)

	bill := miscBill("QT-PROD-1")
	biz := func(extra ...string) answer {
		return f.do("POST", pathMiscReceipt, tq, hdr(f, append([]string{"KIS-AuthData", auth, "X-GW-Router-Addr", router}, extra...)...), bill)
	}
	biz().want(t, codeBadHeader) // business calls need Kis-Ver
	biz("KIS-Ver", "1.0").want(t, 0)

	a = f.do("POST", pathRefreshAuth, appQ(d.ClientID, d.ClientSecret), hdr(f), map[string]any{"refresh_auth_data_token": refreshT, "access_token": token})
	a.want(t, 0)

	// The strict mode refuses what the Java client sends.
	sf := newStrictFixture(t)
	sf.do("POST", pathAccessToken, appQ(d.ClientID, d.ClientSecret), hdr(sf), map[string]any{"code": d.AuthCode}).want(t, codeBadHeader)
	a = sf.do("POST", pathAccessToken, appQ(d.ClientID, d.ClientSecret), hdr(sf, "KIS-Ver", "1.0"), map[string]any{"code": d.AuthCode})
	a.want(t, 0)
	m = a.data(t)
	body["session_id"] = m["session_id"].(string)
	sf.do("POST", pathGateway, url.Values{"access_token": {m["access_token"].(string)}}, hdr(sf, "KIS-Ver", "1.0"), body).want(t, codeBadSignature)
}
