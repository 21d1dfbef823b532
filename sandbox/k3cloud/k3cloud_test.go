package k3cloud

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

const lostEnvelope = `{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"会话信息已丢失，请重新登录","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":1}}}`

func viewStock() map[string]any {
	return map[string]any{"formid": "BD_STOCK", "data": map[string]any{"CreateOrgId": 0, "Number": "CK001", "Id": ""}}
}

func TestHMACHeaders(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		name string
		sig  func(s *signer)
		hdr  func(h http.Header)
		want string // "ok", "lost", "passport"
	}{
		{"valid seconds", nil, nil, "ok"},
		{"valid milliseconds", func(s *signer) { s.millis = true }, nil, "ok"},
		{"valid lcid 1033", func(s *signer) { s.lcid = "1033" }, nil, "ok"},
		{"tampered api signature", nil, func(h http.Header) { h.Set("X-Api-Signature", "AAAA"+h.Get("X-Api-Signature")[4:]) }, "lost"},
		{"tampered kd signature", nil, func(h http.Header) { h.Set("X-Kd-Signature", base64.StdEncoding.EncodeToString([]byte("x"))) }, "lost"},
		{"wrong client id", nil, func(h http.Header) { h.Set("X-Api-ClientID", "999999") }, "lost"},
		{"wrong app secret", func(s *signer) { s.appSecret = "nope" }, nil, "lost"},
		{"wrong user", func(s *signer) { s.user = "someone" }, nil, "lost"},
		{"unknown lcid", func(s *signer) { s.lcid = "9999" }, nil, "lost"},
		// No window by default: ±24 h were accepted in production, and so
		// are repeated nonces (TestSignatureWindow covers the strict mode).
		{"timestamp 24 h behind", func(s *signer) { s.now = func() time.Time { return f.clk.Now().Add(-24 * time.Hour) } }, nil, "ok"},
		{"timestamp 24 h ahead", func(s *signer) { s.now = func() time.Time { return f.clk.Now().Add(24 * time.Hour) } }, nil, "ok"},
		{"no headers", nil, func(h http.Header) {
			for k := range h {
				delete(h, k)
			}
		}, "lost"},
		{"wrong data centre", func(s *signer) { s.acct = "other-acct" }, nil, "passport"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := f.signer()
			if tc.sig != nil {
				tc.sig(&s)
			}
			h := s.headers(t, formPath("View"))
			if tc.hdr != nil {
				tc.hdr(h)
			}
			hdr := map[string]string{}
			for k := range h {
				hdr[k] = h.Get(k)
			}
			r := f.do(t, formPath("View"), viewStock(), auth{header: hdr})
			switch tc.want {
			case "ok":
				st := decodeStatus(t, r)
				if !st.IsSuccess || cookie(r, "kdservice-sessionid") == nil || cookie(r, "ASP.NET_SessionId") == nil {
					t.Fatalf("want success with session cookies, got %s %v", r.body, r.cookies)
				}
			case "lost":
				if r.status != 200 || string(r.body) != lostEnvelope {
					t.Fatalf("want session-lost envelope, got %d %s", r.status, r.body)
				}
				// The observed server sets the session cookies on a failed
				// authentication too.
				if cookie(r, "kdservice-sessionid") == nil || cookie(r, "ASP.NET_SessionId") == nil {
					t.Fatalf("session-lost answer without session cookies: %v", r.cookies)
				}
			case "passport":
				if r.status == 200 || !strings.Contains(string(r.body), "Fail to verify thirty passport") {
					t.Fatalf("want non-200 passport error, got %d %s", r.status, r.body)
				}
			}
		})
	}
	// A session-lost answer of ExecuteBillQuery comes wrapped.
	r := f.do(t, formPath("ExecuteBillQuery"), map[string]any{"data": map[string]any{"FormId": "BD_STOCK", "FieldKeys": "FNumber"}}, auth{})
	if string(r.body) != "[["+lostEnvelope+"]]" {
		t.Fatalf("query session lost: %s", r.body)
	}
	if n := f.env.Stats.Count(Vendor, "View", "MsgCode 1"); n < 7 {
		t.Fatalf("stats MsgCode 1 = %d", n)
	}
}

func loginBody(method string, params ...any) map[string]any {
	return map[string]any{"format": 1, "useragent": "ApiClient", "rid": map[string]any{}, "parameters": params,
		"timestamp": "2025-03-01", "v": "1.0"}
}

func TestLogins(t *testing.T) {
	// The strict window, so a stale LoginBySign timestamp is refused.
	f := newFixture(t, func(_ *core.Options, c *Config) { c.SignatureWindow = 15 * time.Minute })
	c := f.cfg
	ts := fmt.Sprint(f.clk.Now().Unix())
	goodSign := func(parts ...string) string {
		// ordinal sort, concatenate, SHA-256 hex
		p := append([]string(nil), parts...)
		for i := range p {
			for j := i + 1; j < len(p); j++ {
				if p[j] < p[i] {
					p[i], p[j] = p[j], p[i]
				}
			}
		}
		return LoginSign(p...) // LoginSign sorts again; the order is already ordinal
	}
	sign := goodSign(c.AcctID, c.Username, c.AppID, c.AppSecret, ts)
	cases := []struct {
		name   string
		method string
		body   any
		want   int
	}{
		{"LoginBySign ok", "LoginBySign", map[string]any{"parameters": []any{c.AcctID, c.Username, c.AppID, ts, sign, 2052}}, 1},
		{"LoginBySign bad sign", "LoginBySign", map[string]any{"parameters": []any{c.AcctID, c.Username, c.AppID, ts, strings.Repeat("0", 64), 2052}}, -1},
		{"LoginBySign stale", "LoginBySign", map[string]any{"parameters": []any{c.AcctID, c.Username, c.AppID, "1000", goodSign(c.AcctID, c.Username, c.AppID, c.AppSecret, "1000"), 2052}}, -1},
		{"ValidateUser ok legacy", "ValidateUser", loginBody("ValidateUser", c.AcctID, c.Username, c.Password, 2052), 1},
		{"ValidateUser wrong password", "ValidateUser", map[string]any{"parameters": []any{c.AcctID, c.Username, "bad", 2052}}, 0},
		{"ValidateUser wrong acct", "ValidateUser", map[string]any{"parameters": []any{"x", c.Username, c.Password, 2052}}, -1},
		{"LoginByAppSecret ok", "LoginByAppSecret", map[string]any{"parameters": []any{c.AcctID, c.Username, c.AppID, c.AppSecret, 2052}}, 1},
		{"LoginByAppSecret bad secret", "LoginByAppSecret", map[string]any{"parameters": []any{c.AcctID, c.Username, c.AppID, "bad", 2052}}, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, authPath(tc.method), tc.body, auth{})
			var lr struct {
				LoginResultType int
				KDSVCSessionId  *string
				IsSuccessByAPI  bool
				Message         *string
			}
			if err := json.Unmarshal(r.body, &lr); err != nil {
				t.Fatal(err)
			}
			if lr.LoginResultType != tc.want {
				t.Fatalf("LoginResultType %d, want %d: %s", lr.LoginResultType, tc.want, r.body)
			}
			if tc.want != 1 {
				shell := cookie(r, "kdservice-sessionid")
				if lr.KDSVCSessionId != nil || lr.Message == nil || shell == nil || cookie(r, "ASP.NET_SessionId") == nil {
					t.Fatalf("failure must carry a message, no session id and the session cookies: %s %v", r.body, r.cookies)
				}
				// The cookie of a failed login names no session.
				if got := f.do(t, formPath("View"), viewStock(), auth{cookies: []*http.Cookie{shell}}); string(got.body) != lostEnvelope {
					t.Fatalf("shell cookie of a failed login opened a session: %s", got.body)
				}
				return
			}
			ck := cookie(r, "kdservice-sessionid")
			if lr.KDSVCSessionId == nil || ck == nil || ck.Value != *lr.KDSVCSessionId || !lr.IsSuccessByAPI {
				t.Fatalf("session id and cookie differ: %s %v", r.body, r.cookies)
			}
			// The session is reused by cookie, by header and by SID, without signatures.
			for _, a := range []auth{
				{cookies: []*http.Cookie{ck}},
				{header: map[string]string{"kdservice-sessionid": ck.Value}},
				{header: map[string]string{"SID": ck.Value}},
			} {
				if st := decodeStatus(t, f.do(t, formPath("View"), viewStock(), a)); !st.IsSuccess {
					t.Fatalf("session not accepted: %+v", st)
				}
			}
		})
	}
	if n := f.env.Stats.Count(Vendor, "ValidateUser", "LoginResultType 0"); n != 1 {
		t.Fatalf("stats ValidateUser LoginResultType 0 = %d", n)
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.env.SetFaults(core.Faults{SessionTTL: core.Duration(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Login mode: only the cookie.
	r := f.do(t, authPath("ValidateUser"), map[string]any{"parameters": []any{f.cfg.AcctID, f.cfg.Username, f.cfg.Password, 2052}}, auth{})
	login := cookie(r, "kdservice-sessionid")
	if login == nil {
		t.Fatalf("no session: %s", r.body)
	}
	f.clk.Add(40 * time.Second)
	if st := decodeStatus(t, f.do(t, formPath("View"), viewStock(), auth{cookies: []*http.Cookie{login}})); !st.IsSuccess {
		t.Fatal("session expired too early")
	}
	// Sliding expiry: 40 s later it is still alive (renewed by the call above).
	f.clk.Add(40 * time.Second)
	if st := decodeStatus(t, f.do(t, formPath("View"), viewStock(), auth{cookies: []*http.Cookie{login}})); !st.IsSuccess {
		t.Fatal("session not renewed by use")
	}
	f.clk.Add(2 * time.Minute)
	if r := f.do(t, formPath("View"), viewStock(), auth{cookies: []*http.Cookie{login}}); string(r.body) != lostEnvelope {
		t.Fatalf("expired login session: %s", r.body)
	}

	// Mode A: the expired session is replaced silently.
	s := f.signer()
	first := f.do(t, formPath("View"), viewStock(), auth{sign: &s})
	old := cookie(first, "kdservice-sessionid")
	if old == nil {
		t.Fatal("no session from HMAC call")
	}
	f.clk.Add(2 * time.Minute)
	again := f.do(t, formPath("View"), viewStock(), auth{sign: &s, cookies: []*http.Cookie{old}})
	nw := cookie(again, "kdservice-sessionid")
	if st := decodeStatus(t, again); !st.IsSuccess || nw == nil || nw.Value == old.Value {
		t.Fatalf("want a new session, got %s %v", again.body, again.cookies)
	}
	// A live session is accepted even with a broken signature (as observed).
	bad := f.signer()
	bad.appSecret = "wrong"
	if st := decodeStatus(t, f.do(t, formPath("View"), viewStock(), auth{sign: &bad, cookies: []*http.Cookie{nw}})); !st.IsSuccess {
		t.Fatal("live session with a bad signature must be accepted")
	}
}

func TestBatchSavePerRow(t *testing.T) {
	f := newFixture(t, nil)
	if st := decodeStatus(t, f.call(t, "Save", "BD_Customer", map[string]any{"Model": customer("SHOP001", "天猫旗舰店", "100")})); !st.IsSuccess {
		t.Fatalf("seed customer: %+v", st)
	}
	rows := []any{
		customer("SHOP002", "京东店", "100"),
		customer("SHOP001", "重复店", "100"), // duplicate
		customer("SHOP003", "", "100"),    // FName missing
		customer("SHOP004", "拼多多店", "100"),
		customer("SHOP001", "华东店", "101"), // same number, other use-org: allowed
	}
	r := f.call(t, "BatchSave", "BD_Customer", map[string]any{"Model": rows, "NeedReturnFields": []string{"FNumber"}, "BatchCount": 2})
	st := decodeStatus(t, r)
	if st.IsSuccess || st.ErrorCode != 500 || st.MsgCode != 11 {
		t.Fatalf("top level: %+v", st)
	}
	ok := dindexes(st.SuccessEntitys, func(e struct {
		Id     int64
		Number string
		DIndex int
	}) int {
		return e.DIndex
	})
	if !reflect.DeepEqual(ok, []int{0, 3, 4}) {
		t.Fatalf("successes %v: %s", ok, r.body)
	}
	byIdx := map[int]string{}
	for _, e := range st.Errors {
		byIdx[e.DIndex] = *e.FieldName + "|" + e.Message
	}
	want := map[int]string{
		1: "FNumber|违反字段唯一性要求：编码唯一。[SHOP001]在当前系统中已经被使用。",
		2: "FName|“名称”是必填项。",
	}
	if !reflect.DeepEqual(byIdx, want) {
		t.Fatalf("errors %v", byIdx)
	}
	if strings.Contains(string(r.body), `"Id":"`) {
		t.Fatalf("BatchSave must not carry a top-level Id: %s", r.body)
	}
	docs := f.targetDocs(t, "bd_customer")
	if len(docs) != 4 {
		t.Fatalf("want 4 customers, got %d", len(docs))
	}
	// STK: duplicate FBillNo with the exact message, FieldName FBillNo.
	b := bill("QT0001", "100", "x", line("SKU00001", "CK001", 2))
	if st := decodeStatus(t, f.call(t, "Save", "STK_MISCELLANEOUS", map[string]any{"Model": b})); !st.IsSuccess {
		t.Fatalf("save bill: %+v", st)
	}
	st = decodeStatus(t, f.call(t, "Save", "STK_Miscellaneous", map[string]any{"Model": b}))
	if st.IsSuccess || st.MsgCode != 11 || *st.Errors[0].FieldName != "FBillNo" || st.Errors[0].Message != DuplicateMessage("QT0001") {
		t.Fatalf("duplicate bill: %+v", st)
	}
	if n := f.env.Stats.Count(Vendor, "BatchSave", "MsgCode 11"); n != 1 {
		t.Fatalf("stats BatchSave MsgCode 11 = %d", n)
	}
}

func TestSaveValidationAndUpdate(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		name  string
		model map[string]any
		opts  map[string]any
		code  int
		field string
	}{
		{"unknown material dropped then required", bill("B1", "100", "", line("NOPE", "CK001", 1)), nil, 11, "FMATERIALID"},
		{"unknown material verified", bill("B2", "100", "", line("NOPE", "CK001", 1)), map[string]any{"IsVerifyBaseDataField": true}, 9, "FMATERIALID"},
		{"no supplier nor dept", func() map[string]any {
			b := bill("B3", "100", "", line("SKU00001", "CK001", 1))
			delete(b, "FDEPTID")
			return b
		}(), nil, 11, "FSUPPLIERID"},
		{"no entries", bill("B4", "100", ""), nil, 11, "FEntity"},
		{"zero quantity", bill("B5", "100", "", line("SKU00001", "CK001", 0)), nil, 11, "FQty"},
		{"ok", bill("B6", "100", "", line("SKU00001", "CK001", 3)), nil, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := map[string]any{"Model": tc.model}
			for k, v := range tc.opts {
				data[k] = v
			}
			st := decodeStatus(t, f.call(t, "Save", "STK_MISCELLANEOUS", data))
			if tc.code == 0 {
				if !st.IsSuccess {
					t.Fatalf("want success: %+v", st)
				}
				return
			}
			if st.IsSuccess || st.MsgCode != tc.code || st.Errors[0].FieldName == nil || *st.Errors[0].FieldName != tc.field {
				t.Fatalf("want MsgCode %d on %s, got %+v", tc.code, tc.field, st)
			}
		})
	}
	// Update by FID: NeedUpDateFields limits the change; writes counts it.
	docs := f.targetDocs(t, "STK_MISCELLANEOUS")
	if len(docs) != 1 || docs[0].Number != "B6" || docs[0].Writes != 1 {
		t.Fatalf("docs %+v", docs)
	}
	fid := docs[0].Data["FID"]
	upd := map[string]any{"FID": fid, "FNOTE": "改过", "FDate": "2025-01-01"}
	st := decodeStatus(t, f.call(t, "Save", "STK_MISCELLANEOUS", map[string]any{"Model": upd, "NeedUpDateFields": []string{"FNOTE"}}))
	if !st.IsSuccess || st.SuccessEntitys[0].Number != "B6" {
		t.Fatalf("update: %+v", st)
	}
	docs = f.targetDocs(t, "STK_MISCELLANEOUS")
	if docs[0].Writes != 2 || docs[0].Data["FNOTE"] != "改过" || docs[0].Data["FDate"] != "2025-02-20T00:00:00" {
		t.Fatalf("after update: %+v", docs[0])
	}
	entries := docs[0].Data["FEntity"].([]any)
	if len(entries) != 1 || entries[0].(map[string]any)["FUnitID"] == nil {
		t.Fatalf("entry defaults missing: %+v", entries)
	}
}

// seedBills writes four bills used by the query tests.
func seedBills(t *testing.T, f *fixture) {
	t.Helper()
	models := []any{
		bill("QT001", "100", "普通", line("SKU00001", "CK001", 5), line("SKU00002", "CK002", 7)),
		bill("QT002", "101", "it's", line("SKU00003", "CK001", 1)),
		bill("QT003", "100", "第三", line("SKU00004", "CK003", 2)),
		bill("QT004", "102", "第四", line("SKU00005", "CK004", 9)),
	}
	models[3].(map[string]any)["FDate"] = "2025-02-25 08:00:00"
	st := decodeStatus(t, f.call(t, "BatchSave", "STK_MISCELLANEOUS", map[string]any{"Model": models}))
	if !st.IsSuccess || len(st.SuccessEntitys) != 4 {
		t.Fatalf("seed bills: %+v", st)
	}
}

func TestExecuteBillQuery(t *testing.T) {
	f := newFixture(t, nil)
	seedBills(t, f)
	q := func(keys string, filter any, extra map[string]any) map[string]any {
		d := map[string]any{"FormId": "STK_MISCELLANEOUS", "FieldKeys": keys, "FilterString": filter, "OrderString": "", "TopRowCount": 0, "StartRow": 0, "Limit": 2000}
		for k, v := range extra {
			d[k] = v
		}
		return map[string]any{"data": d}
	}
	cases := []struct {
		name string
		body map[string]any
		want string // JSON of the rows
	}{
		{"equals", q("FBillNo", "FBillNo='QT001'", nil), `[["QT001"]]`},
		{"case-insensitive number", q("FBillNo", "FBillNo='qt001'", nil), `[["QT001"]]`},
		{"in", q("FBillNo", "FBillNo IN ('QT001','QT003')", nil), `[["QT001"],["QT003"]]`},
		{"and with reference", q("FBillNo,FStockOrgId.FNumber", "FStockOrgId.FNumber = '100' AND FBillNo <> 'QT001'", nil), `[["QT003","100"]]`},
		{"or", q("FBillNo", "FBillNo='QT002' OR FBillNo='QT004'", nil), `[["QT002"],["QT004"]]`},
		{"quoted quote", q("FBillNo,FNOTE", "FNOTE = 'it''s'", nil), `[["QT002","it's"]]`},
		{"date range", q("FBillNo", "FDate >= '2025-02-21' AND FDate <= '2025-02-26'", nil), `[["QT004"]]`},
		{"entry rows", q("FBillNo,FMATERIALID.FNumber,FQty", "FBillNo='QT001'", nil), `[["QT001","SKU00001",5],["QT001","SKU00002",7]]`},
		{"entry filter", q("FBillNo", "FSTOCKID.FNumber='CK001' AND FQty >= 2", nil), `[["QT001"]]`},
		{"order and page", q("FBillNo", "", map[string]any{"OrderString": "FBillNo DESC", "StartRow": 1, "Limit": 2}), `[["QT003"],["QT002"]]`},
		{"status", q("FBillNo,FDocumentStatus", "FBillNo='QT004'", nil), `[["QT004","A"]]`},
		{"array filter", q("FBillNo", []any{map[string]any{"Left": "", "FieldName": "FBillNo", "Compare": "67", "Value": "QT002", "Right": "", "Logic": 0}}, nil), `[["QT002"]]`},
		{"empty", q("FBillNo", "FBillNo='NONE'", nil), `[]`},
		{"positional shape", map[string]any{"parameters": []any{`{"FormId":"STK_MISCELLANEOUS","FieldKeys":"FBillNo","FilterString":"FBillNo='QT003'"}`}}, `[["QT003"]]`},
	}
	s := f.signer()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, formPath("ExecuteBillQuery"), tc.body, auth{sign: &s})
			rows := queryRows(t, r)
			got, _ := json.Marshal(rows)
			if string(got) != tc.want {
				t.Fatalf("got %s want %s", got, tc.want)
			}
		})
	}
	// Codes and messages as observed in production (MCP session-auth
	// experiments, R3); the bad-filter message only by its beginning.
	errs := []struct {
		name string
		body map[string]any
		code int
		msg  string // the message, or its prefix when it ends in "…"
	}{
		{"unknown form", map[string]any{"data": map[string]any{"FormId": "NO_SUCH_FORM", "FieldKeys": "FID"}}, 4, "标识为“NO_SUCH_FORM”的业务对象不存在，或者被删除"},
		{"empty field keys", q("", "", nil), 8, "data 数据包中的参数 FieldKeys 的值不能为空"},
		{"unknown field", q("FBillNo,FNoSuchField", "", nil), 9, "元数据中标识为 FNoSuchField 的字段不存在"},
		{"bad filter", q("FBillNo", "FBillNo = = 'x'", nil), 4, "GetRealExpress error…"},
		{"unknown filter field", q("FBillNo", "FNoSuch = 1", nil), 4, "GetRealExpress error…"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, formPath("ExecuteBillQuery"), tc.body, auth{sign: &s})
			if code := queryError(t, r); code != tc.code {
				t.Fatalf("MsgCode %d want %d", code, tc.code)
			}
			var v [][]struct {
				Result struct{ ResponseStatus statusT }
			}
			_ = json.Unmarshal(r.body, &v)
			got := v[0][0].Result.ResponseStatus.Errors[0].Message
			if p, ok := strings.CutSuffix(tc.msg, "…"); ok && !strings.HasPrefix(got, p) || !ok && got != tc.msg {
				t.Fatalf("message %q, want %q", got, tc.msg)
			}
		})
	}
	// Seeded materials come from the shared catalog.
	cat := core.Catalog(f.env.Seed)
	r := f.do(t, formPath("ExecuteBillQuery"), map[string]any{"data": map[string]any{"FormId": "bd_material", "FieldKeys": "FNumber,FName,FBaseUnitId.FNumber", "FilterString": "FNumber='" + cat[0].ID + "'"}}, auth{sign: &s})
	got, _ := json.Marshal(queryRows(t, r))
	if want, _ := json.Marshal([][]any{{cat[0].ID, cat[0].Name, cat[0].UnitN}}); string(got) != string(want) {
		t.Fatalf("material %s want %s", got, want)
	}
}

func TestQueryLimitCap(t *testing.T) {
	f := newFixture(t, func(_ *core.Options, c *Config) { c.MaxQueryLimit = 3 })
	s := f.signer()
	r := f.do(t, formPath("ExecuteBillQuery"), map[string]any{"data": map[string]any{"FormId": "BD_MATERIAL", "FieldKeys": "FNumber", "Limit": 50}}, auth{sign: &s})
	if rows := queryRows(t, r); len(rows) != 3 {
		t.Fatalf("want 3 rows, got %d", len(rows))
	}
}

func TestSubmitAuditFlow(t *testing.T) {
	f := newFixture(t, nil)
	seedBills(t, f)
	steps := []struct {
		op   string
		data map[string]any
		code int
	}{
		{"Audit", map[string]any{"Numbers": []string{"QT001"}}, 12},
		{"Submit", map[string]any{"Numbers": []string{"QT001"}}, 0},
		{"Submit", map[string]any{"Numbers": []string{"QT001"}}, 12},
		{"Audit", map[string]any{"Numbers": []string{"QT001"}}, 0},
		{"Submit", map[string]any{"Numbers": []string{"NOPE"}}, 10},
		{"Submit", map[string]any{}, 5},
	}
	for i, s := range steps {
		st := decodeStatus(t, f.call(t, s.op, "STK_MISCELLANEOUS", s.data))
		if s.code == 0 != st.IsSuccess || st.MsgCode != s.code {
			t.Fatalf("step %d %s: want %d, got %+v", i, s.op, s.code, st)
		}
	}
	// Ids: comma-separated internal ids.
	docs := f.targetDocs(t, "STK_MISCELLANEOUS")
	ids := fmt.Sprintf("%v,%v", docs[1].Data["FID"], docs[2].Data["FID"])
	if st := decodeStatus(t, f.call(t, "Submit", "STK_MISCELLANEOUS", map[string]any{"Ids": ids})); !st.IsSuccess || len(st.SuccessEntitys) != 2 {
		t.Fatalf("submit by ids: %+v", st)
	}
	// An audited document cannot be saved over.
	st := decodeStatus(t, f.call(t, "Save", "STK_MISCELLANEOUS", map[string]any{"Model": map[string]any{"FID": docs[0].Data["FID"], "FNOTE": "x"}}))
	if st.IsSuccess || st.MsgCode != 12 {
		t.Fatalf("update audited: %+v", st)
	}
	s := f.signer()
	rows := queryRows(t, f.do(t, formPath("ExecuteBillQuery"), map[string]any{"data": map[string]any{"FormId": "STK_MISCELLANEOUS", "FieldKeys": "FBillNo", "FilterString": "FDocumentStatus='C'"}}, auth{sign: &s}))
	if len(rows) != 1 || rows[0][0] != "QT001" {
		t.Fatalf("audited rows %v", rows)
	}
}

func TestAutoSubmitAndAudit(t *testing.T) {
	f := newFixture(t, nil)
	st := decodeStatus(t, f.call(t, "BatchSave", "BD_Customer", map[string]any{"IsAutoSubmitAndAudit": true, "NeedReturnFields": []string{"FNumber"},
		"Model": []any{customer("SHOP001", "天猫旗舰店", "100")}}))
	if !st.IsSuccess {
		t.Fatalf("%+v", st)
	}
	docs := f.targetDocs(t, "BD_Customer")
	if len(docs) != 1 || docs[0].Data["FDocumentStatus"] != "C" {
		t.Fatalf("want audited customer: %+v", docs)
	}
	if st := decodeStatus(t, f.call(t, "Submit", "BD_Customer", map[string]any{"Numbers": []string{"SHOP001"}})); st.MsgCode != 12 {
		t.Fatalf("submit audited: %+v", st)
	}
	r := f.call(t, "View", "BD_Customer", map[string]any{"Number": "SHOP001"})
	var v struct {
		Result struct{ Result map[string]any }
	}
	if err := json.Unmarshal(r.body, &v); err != nil || v.Result.Result["DocumentStatus"] != "C" || fmt.Sprint(v.Result.Result["Name"]) != "[map[Key:2052 Value:天猫旗舰店]]" {
		t.Fatalf("view: %s", r.body)
	}
	if st := decodeStatus(t, f.call(t, "View", "BD_Customer", map[string]any{"Number": "NOPE"})); st.MsgCode != 10 {
		t.Fatalf("view missing: %+v", st)
	}
}

func TestRowFailDeterministic(t *testing.T) {
	f := newFixture(t, func(o *core.Options, _ *Config) { o.Faults.RowFailRate = 0.5 })
	var models []any
	for i := range 20 {
		models = append(models, customer(fmt.Sprintf("RF%03d", i), "店铺", "100"))
	}
	send := func() (ok, failed map[int]string) {
		st := decodeStatus(t, f.call(t, "BatchSave", "BD_Customer", map[string]any{"Model": models}))
		ok, failed = map[int]string{}, map[int]string{}
		for _, e := range st.SuccessEntitys {
			ok[e.DIndex] = e.Number
		}
		for _, e := range st.Errors {
			failed[e.DIndex] = e.Message
		}
		return ok, failed
	}
	ok1, fail1 := send()
	if len(ok1) == 0 || len(fail1) == 0 || len(ok1)+len(fail1) != 20 {
		t.Fatalf("want a mix, got %d ok %d failed", len(ok1), len(fail1))
	}
	for i, m := range fail1 {
		if !strings.Contains(m, "row_fail_rate") || !f.env.RowFails("BD_Customer:"+fmt.Sprintf("RF%03d", i)) {
			t.Fatalf("row %d: %s", i, m)
		}
	}
	// Retried: bad rows fail again the same way; good rows are now duplicates.
	ok2, fail2 := send()
	if len(ok2) != 0 {
		t.Fatalf("second send saved %v", ok2)
	}
	for i := range fail1 {
		if fail2[i] != fail1[i] {
			t.Fatalf("row %d changed verdict: %q -> %q", i, fail1[i], fail2[i])
		}
	}
	for i, no := range ok1 {
		if fail2[i] != DuplicateMessage(no) {
			t.Fatalf("row %d: %q", i, fail2[i])
		}
	}
}

func TestSessionSerialisation(t *testing.T) {
	f := newFixture(t, func(o *core.Options, _ *Config) { o.RowLatency = 150 * time.Millisecond })
	login := func() *http.Cookie {
		r := f.do(t, authPath("LoginByAppSecret"), map[string]any{"parameters": []any{f.cfg.AcctID, f.cfg.Username, f.cfg.AppID, f.cfg.AppSecret, 2052}}, auth{})
		c := cookie(r, "kdservice-sessionid")
		if c == nil {
			t.Fatalf("login: %s", r.body)
		}
		return c
	}
	run := func(cookies []*http.Cookie) {
		var wg sync.WaitGroup
		for i, c := range cookies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := map[string]any{"formid": "BD_Customer", "data": map[string]any{"Model": []any{customer(fmt.Sprintf("%s-%d", c.Value[:8], i), "店", "100")}}}
				if st := decodeStatus(t, f.do(t, formPath("BatchSave"), body, auth{cookies: []*http.Cookie{c}})); !st.IsSuccess {
					t.Errorf("save: %+v", st)
				}
			}()
		}
		wg.Wait()
	}
	one := login()
	run([]*http.Cookie{one, one, one})
	sess, _ := f.sim.lookupSession(one.Value)
	if sess == nil || sess.peak.Load() != 1 || f.sim.peak.Load() != 1 {
		t.Fatalf("one session overlapped: session peak %d, global peak %d", sess.peak.Load(), f.sim.peak.Load())
	}
	f.sim.peak.Store(0)
	run([]*http.Cookie{login(), login()})
	if p := f.sim.peak.Load(); p != 2 {
		t.Fatalf("two sessions should run concurrently, peak %d", p)
	}
}

func TestNetworkControlConflict(t *testing.T) {
	f := newFixture(t, nil)
	// Another request in flight holds the document.
	f.sim.mu.Lock()
	f.sim.netCtrl["BD_Customer|SHOP009"] = true
	f.sim.mu.Unlock()
	st := decodeStatus(t, f.call(t, "BatchSave", "BD_Customer", map[string]any{"Model": []any{customer("shop009", "a", "100"), customer("SHOP010", "b", "100")}}))
	if st.IsSuccess || st.MsgCode != 13 || len(st.SuccessEntitys) != 1 || st.Errors[0].DIndex != 0 {
		t.Fatalf("%+v", st)
	}
}

func TestBodyShapesAndPaths(t *testing.T) {
	f := newFixture(t, nil)
	s := f.signer()
	model := func(no string) map[string]any { return customer(no, "店", "100") }
	dataText := func(no string) string {
		b, _ := json.Marshal(map[string]any{"Model": model(no)})
		return string(b)
	}
	cases := []struct {
		name string
		path string
		body any
	}{
		{"named object", formPath("Save"), map[string]any{"formid": "BD_Customer", "data": map[string]any{"Model": model("S1")}}},
		{"named string data", formPath("Save"), map[string]any{"formid": "BD_Customer", "data": dataText("S2")}},
		{"positional", formPath("Save"), map[string]any{"parameters": []any{"BD_Customer", dataText("S3")}}},
		{"legacy ApiClient", formPath("Save"), map[string]any{"format": 1, "useragent": "ApiClient", "rid": map[string]any{}, "parameters": []any{"bd_customer", dataText("S4")}, "timestamp": "2025-03-01", "v": "1.0"}},
		{"lower-case method", "/k3cloud/kingdee.bos.webapi.servicesstub.dynamicformservice.save.common.kdsvc", map[string]any{"formid": "BD_Customer", "data": map[string]any{"Model": model("S5")}}},
		{"K3Cloud prefix", "/K3Cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc", map[string]any{"formid": "BD_CUSTOMER", "data": map[string]any{"Model": model("S6")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.path, tc.body, auth{sign: &s})
			var v struct {
				Result struct {
					ResponseStatus statusT
					Id             any
					Number         string
				}
			}
			if err := json.Unmarshal(r.body, &v); err != nil || !v.Result.ResponseStatus.IsSuccess || v.Result.Number == "" {
				t.Fatalf("%s", r.body)
			}
			if _, ok := v.Result.Id.(float64); !ok {
				t.Fatalf("Save Id must be numeric: %s", r.body)
			}
		})
	}
	if n := len(f.targetDocs(t, "BD_Customer")); n != len(cases) {
		t.Fatalf("want %d customers, got %d", len(cases), n)
	}
	// The data-centre probe needs no login.
	r := f.do(t, "/k3cloud/Kingdee.BOS.ServiceFacade.ServicesStub.Account.AccountService.GetDataCenterList.common.kdsvc", "{}", auth{})
	if r.status != 200 || !strings.Contains(string(r.body), f.cfg.AcctID) {
		t.Fatalf("probe: %d %s", r.status, r.body)
	}
	// Materials are listed with their seed (writes 0).
	mats := f.targetDocs(t, "BD_MATERIAL")
	if len(mats) != core.CatalogSize || mats[0].Writes != 0 {
		t.Fatalf("materials: %d", len(mats))
	}
}

func TestNeedReturnFields(t *testing.T) {
	f := newFixture(t, nil)
	r := f.call(t, "Save", "STK_MISCELLANEOUS", map[string]any{"NeedReturnFields": []string{"FBillNo", "FEntity.FSeq"},
		"Model": bill("", "100", "auto", line("SKU00001", "CK001", 1), line("SKU00002", "CK001", 2))})
	var v struct {
		Result struct {
			Number         string
			NeedReturnData []map[string]any
		}
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(v.Result.NeedReturnData)
	want := `[{"FBillNo":"QTRK000001","FEntity":[{"FSeq":1},{"FSeq":2}]}]`
	if v.Result.Number != "QTRK000001" || string(got) != want {
		t.Fatalf("got %s %s", v.Result.Number, got)
	}
}

func TestCallLimitAndLogout(t *testing.T) {
	f := newFixture(t, func(o *core.Options, c *Config) {
		o.Limits = true
		c.CallLimit = core.Rule{N: 2, Per: time.Hour}
	})
	var codes []int
	for range 3 {
		codes = append(codes, decodeStatus(t, f.call(t, "View", "BD_STOCK", map[string]any{"Number": "CK001"})).MsgCode)
	}
	if !reflect.DeepEqual(codes, []int{0, 0, 14}) {
		t.Fatalf("codes %v", codes)
	}
	r := f.do(t, authPath("ValidateUser"), map[string]any{"parameters": []any{f.cfg.AcctID, f.cfg.Username, f.cfg.Password, 2052}}, auth{})
	ck := cookie(r, "kdservice-sessionid")
	f.do(t, authPath("Logout"), map[string]any{"parameters": []any{}}, auth{cookies: []*http.Cookie{ck}})
	if r := f.do(t, formPath("View"), viewStock(), auth{cookies: []*http.Cookie{ck}}); string(r.body) != lostEnvelope {
		t.Fatalf("session survived logout: %s", r.body)
	}
}

// TestSignatureWindow: by default no window is checked (observed in
// production); a configured window refuses stale x-api-timestamp values and
// stale LoginBySign timestamps.
func TestSignatureWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window time.Duration
		skew   time.Duration
		want   bool
	}{
		{"default, a year behind", 0, -365 * 24 * time.Hour, true},
		{"default, 24 h ahead", 0, 24 * time.Hour, true},
		{"strict, inside", 15 * time.Minute, -14 * time.Minute, true},
		{"strict, 16 min behind", 15 * time.Minute, -16 * time.Minute, false},
		{"strict, 16 min ahead", 15 * time.Minute, 16 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(_ *core.Options, c *Config) { c.SignatureWindow = tc.window })
			s := f.signer()
			s.now = func() time.Time { return f.clk.Now().Add(tc.skew) }
			// The same nonce twice: nonces are never remembered.
			for i := 0; i < 2; i++ {
				r := f.do(t, formPath("View"), viewStock(), auth{sign: &s})
				if got := decodeStatus(t, r).IsSuccess; got != tc.want {
					t.Fatalf("call %d: success %v, want %v: %s", i, got, tc.want, r.body)
				}
			}
			c := f.cfg
			ts := fmt.Sprint(s.now().Unix())
			r := f.do(t, authPath("LoginBySign"), map[string]any{"parameters": []any{c.AcctID, c.Username, c.AppID, ts, LoginSign(c.AcctID, c.Username, c.AppID, c.AppSecret, ts), 2052}}, auth{})
			var lr struct{ LoginResultType int }
			if err := json.Unmarshal(r.body, &lr); err != nil {
				t.Fatal(err)
			}
			if (lr.LoginResultType == 1) != tc.want {
				t.Fatalf("LoginBySign: %s", r.body)
			}
		})
	}
}

// TestSessionCookieOnEveryAnswer: the session-lost answer sets a shell
// session id; carrying it with bad credentials stays "lost", carrying it
// with good ones opens a session under that same id (as observed).
func TestSessionCookieOnEveryAnswer(t *testing.T) {
	f := newFixture(t, nil)
	bad := f.signer()
	bad.appSecret = strings.Repeat("0", 32)
	r := f.do(t, formPath("View"), viewStock(), auth{sign: &bad})
	shell := cookie(r, "kdservice-sessionid")
	if string(r.body) != lostEnvelope || shell == nil || shell.Path != "/" {
		t.Fatalf("session-lost answer: %s %v", r.body, r.cookies)
	}
	r = f.do(t, formPath("View"), viewStock(), auth{sign: &bad, cookies: []*http.Cookie{shell}})
	if string(r.body) != lostEnvelope {
		t.Fatalf("shell with bad credentials: %s", r.body)
	}
	if c := cookie(r, "kdservice-sessionid"); c == nil || c.Value != shell.Value {
		t.Fatalf("the shell id should be handed back, got %v", r.cookies)
	}
	good := f.signer()
	r = f.do(t, formPath("View"), viewStock(), auth{sign: &good, cookies: []*http.Cookie{shell}})
	if c := cookie(r, "kdservice-sessionid"); !decodeStatus(t, r).IsSuccess || c == nil || c.Value != shell.Value {
		t.Fatalf("good credentials on the shell: %s %v", r.body, r.cookies)
	}
	// Now a live session: no signature needed, and the cookies come again.
	r = f.do(t, formPath("View"), viewStock(), auth{cookies: []*http.Cookie{shell}})
	if c := cookie(r, "kdservice-sessionid"); !decodeStatus(t, r).IsSuccess || c == nil || c.Value != shell.Value || cookie(r, "ASP.NET_SessionId") == nil {
		t.Fatalf("live session answer: %s %v", r.body, r.cookies)
	}
	// Failed logins set cookies too.
	r = f.do(t, authPath("ValidateUser"), map[string]any{"parameters": []any{f.cfg.AcctID, f.cfg.Username, "wrong", 2052}}, auth{})
	if cookie(r, "kdservice-sessionid") == nil || cookie(r, "ASP.NET_SessionId") == nil {
		t.Fatalf("failed login without cookies: %v", r.cookies)
	}
}
