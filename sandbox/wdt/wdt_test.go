package wdt

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// testNow is the fixed sandbox clock of every test.
var testNow = time.Date(2025, 3, 1, 10, 0, 0, 0, core.Shanghai)

type fixture struct {
	srv *httptest.Server
	sim *Sim
	env *core.Env
	cfg Config
}

func newFixture(t *testing.T, records int, limits bool, cfg Config) *fixture {
	t.Helper()
	env, err := core.NewEnv(core.Options{Seed: 7, Records: records, Limits: limits, Now: func() time.Time { return testNow }})
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
	t.Cleanup(func() { srv.Close(); env.Close() })
	return &fixture{srv: srv, sim: sim, env: env, cfg: cfg}
}

// --- the tests' own small clients, written apart from the simulator ---

// clientO2Sign is an independent openapi2 signer: "%02d-k:%04d-v" pieces,
// ";" between, secret appended, lowercase md5. bytes selects the wrong
// (byte-count) variant.
func clientO2Sign(p map[string]string, secret string, bytes bool) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pieces := make([]string, len(keys))
	for i, k := range keys {
		n := len([]rune(p[k]))
		if bytes {
			n = len(p[k])
		}
		pieces[i] = fmt.Sprintf("%02d-%s:%04d-%s", len(k), k, n, p[k])
	}
	sum := md5.Sum([]byte(strings.Join(pieces, ";") + secret))
	return hex.EncodeToString(sum[:])
}

func clientQMSign(p map[string]string, secret string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := secret
	for _, k := range keys {
		s += k + p[k]
	}
	sum := md5.Sum([]byte(s + secret))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// o2Params returns signed openapi2 fields for business fields biz.
func o2Params(cfg Config, biz map[string]string, bytes bool) map[string]string {
	p := map[string]string{"sid": cfg.SID, "appkey": cfg.AppKey, "timestamp": strconv.FormatInt(testNow.Unix(), 10)}
	for k, v := range biz {
		p[k] = v
	}
	p["sign"] = clientO2Sign(p, cfg.AppSecret, bytes)
	return p
}

func qmParams(cfg Config, biz map[string]string) map[string]string {
	p := map[string]string{
		"method": "wdt.shop.query", "app_key": cfg.QimenAppKey, "target_app_key": cfg.QimenTargetAppKey,
		"timestamp": testNow.In(core.Shanghai).Format("2006-01-02 15:04:05"), "format": "json", "v": "2.0",
		"sign_method": "md5", "sid": cfg.SID,
	}
	for k, v := range biz {
		p[k] = v
	}
	p["sign"] = clientQMSign(p, cfg.QimenAppSecret)
	return p
}

func form(p map[string]string) url.Values {
	v := url.Values{}
	for k, x := range p {
		v.Set(k, x)
	}
	return v
}

type o2Reply struct {
	Code       int              `json:"code"`
	Message    string           `json:"message"`
	TotalCount int              `json:"total_count"`
	Shoplist   []map[string]any `json:"shoplist"`
}

func postForm(t *testing.T, u string, p map[string]string, out any) {
	t.Helper()
	resp, err := http.PostForm(u, form(p))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func callO2(t *testing.T, f *fixture, path string, p map[string]string) o2Reply {
	t.Helper()
	var r o2Reply
	postForm(t, f.srv.URL+path, p, &r)
	return r
}

type qmReply struct {
	Response struct {
		Flag       string           `json:"flag"`
		Code       string           `json:"code"`
		SubCode    string           `json:"sub_code"`
		Message    string           `json:"message"`
		ErrorCode  *int             `json:"errorcode"`
		TotalCount int              `json:"total_count"`
		Shoplist   []map[string]any `json:"shoplist"`
	} `json:"response"`
}

func callQM(t *testing.T, f *fixture, p map[string]string) qmReply {
	t.Helper()
	var r qmReply
	postForm(t, f.srv.URL+QimenPath, p, &r)
	return r
}

// --- known answers ---

func TestOpenapi2SignKnownAnswer(t *testing.T) {
	p := map[string]string{"sid": "sandbox-wdt-sid", "appkey": "sandbox-wdt-key", "timestamp": "1700000000", "shop_no": "店铺01"}
	// By hand: keys sorted appkey, shop_no, sid, timestamp; 店铺01 is 4
	// characters (8 bytes).
	wantPack := "06-appkey:0015-sandbox-wdt-key;07-shop_no:0004-店铺01;03-sid:0015-sandbox-wdt-sid;09-timestamp:0010-1700000000"
	if got := packOpenapi2(p, false); got != wantPack {
		t.Fatalf("pack = %q, want %q", got, wantPack)
	}
	// md5 of wantPack+"sandbox-wdt-secret", computed outside Go.
	if got, want := openapi2Sign(p, "sandbox-wdt-secret", false), "d4cd7b274ef5b44fed68fa7d55d4fec0"; got != want {
		t.Errorf("char sign = %s, want %s", got, want)
	}
	// The byte-count variant counts 店铺01 as 0008.
	if got, want := openapi2Sign(p, "sandbox-wdt-secret", true), "79a794c84ab931ca68eaa01c0cdd32f0"; got != want {
		t.Errorf("byte sign = %s, want %s", got, want)
	}
	// Padding is a minimum width: a 10000-character value prints 10000.
	long := map[string]string{"v": strings.Repeat("a", 10000)}
	if got := packOpenapi2(long, false); !strings.HasPrefix(got, "01-v:10000-aaa") {
		t.Errorf("long pack starts %q", got[:20])
	}
}

func TestQimenSignKnownAnswer(t *testing.T) {
	p := map[string]string{
		"method": "wdt.shop.query", "app_key": "sandbox-qm-app", "target_app_key": "sandbox-qm-target",
		"timestamp": "2024-01-02 03:04:05", "format": "json", "v": "2.0", "sign_method": "md5",
		"sid": "sandbox-wdt-sid", "page_no": "0", "page_size": "100",
	}
	// By hand: secret + app_key… (byte order) + secret, uppercase md5,
	// computed outside Go.
	want := "D182859A5A33FC83F777F46A4ECD5C3B"
	if got := qimenSign(p, "sandbox-qm-secret"); got != want {
		t.Errorf("qimen sign = %s, want %s", got, want)
	}
	if got := clientQMSign(p, "sandbox-qm-secret"); got != want {
		t.Errorf("test client qimen sign = %s, want %s", got, want)
	}
}

// --- openapi2 ---

func TestOpenapi2Answers(t *testing.T) {
	f := newFixture(t, 120, false, DefaultConfig())
	cfg := f.cfg
	tampered := o2Params(cfg, map[string]string{"page_size": "10"}, false)
	tampered["page_size"] = "20"
	wrongSecret := cfg
	wrongSecret.AppSecret = "other"
	unknownSID := cfg
	unknownSID.SID = "nobody"
	wrongKey := cfg
	wrongKey.AppKey = "other-key"
	stale := map[string]string{"sid": cfg.SID, "appkey": cfg.AppKey, "timestamp": strconv.FormatInt(testNow.Add(-time.Hour).Unix(), 10)}
	stale["sign"] = clientO2Sign(stale, cfg.AppSecret, false)
	// The official shop.php page allows 5 min of clock error either way.
	at := func(d time.Duration) map[string]string {
		p := map[string]string{"sid": cfg.SID, "appkey": cfg.AppKey, "page_size": "10", "timestamp": strconv.FormatInt(testNow.Add(d).Unix(), 10)}
		p["sign"] = clientO2Sign(p, cfg.AppSecret, false)
		return p
	}

	tests := []struct {
		name     string
		path     string
		params   map[string]string
		wantCode int
		wantMsg  string // substring
	}{
		{"signed", "/openapi2/shop.php", o2Params(cfg, map[string]string{"page_size": "10"}, false), 0, ""},
		{"tampered", "/openapi2/shop.php", tampered, 2030, "签名错误"},
		{"wrong secret", "/openapi2/shop.php", o2Params(wrongSecret, nil, false), 2030, "签名错误"},
		{"unknown sid", "/openapi2/shop.php", o2Params(unknownSID, nil, false), 2060, "sid is not"},
		{"wrong appkey", "/openapi2/shop.php", o2Params(wrongKey, nil, false), 2100, "app auth fail"},
		{"stale timestamp", "/openapi2/shop.php", stale, 2050, "timestamp"},
		{"4 min 59 s behind", "/openapi2/shop.php", at(-5*time.Minute + time.Second), 0, ""},
		{"4 min 59 s ahead", "/openapi2/shop.php", at(5*time.Minute - time.Second), 0, ""},
		{"5 min 1 s behind", "/openapi2/shop.php", at(-5*time.Minute - time.Second), 2050, "timestamp"},
		{"5 min 1 s ahead", "/openapi2/shop.php", at(5*time.Minute + time.Second), 2050, "timestamp"},
		{"page_size 101", "/openapi2/shop.php", o2Params(cfg, map[string]string{"page_size": "101"}, false), 100, "page_size"},
		{"page_size 0", "/openapi2/shop.php", o2Params(cfg, map[string]string{"page_size": "0"}, false), 100, "page_size"},
		{"page_no -1", "/openapi2/shop.php", o2Params(cfg, map[string]string{"page_no": "-1"}, false), 100, "page_no"},
		{"is_disabled 2", "/openapi2/shop.php", o2Params(cfg, map[string]string{"is_disabled": "2"}, false), 100, "is_disabled"},
		{"missing sign", "/openapi2/shop.php", map[string]string{"sid": cfg.SID, "appkey": cfg.AppKey, "timestamp": "1"}, 100, "sign"},
		{"unknown php", "/openapi2/nope.php", o2Params(cfg, nil, false), 1, "接口不存在"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := callO2(t, f, tc.path, tc.params)
			if r.Code != tc.wantCode || !strings.Contains(r.Message, tc.wantMsg) {
				t.Fatalf("got code %d %q, want %d containing %q", r.Code, r.Message, tc.wantCode, tc.wantMsg)
			}
			if tc.wantCode == 0 && (len(r.Shoplist) != 10 || r.TotalCount == 0) {
				t.Fatalf("got %d rows, total %d", len(r.Shoplist), r.TotalCount)
			}
		})
	}
	if n := f.env.Stats.Count(Vendor, "/openapi2/shop.php", "2030"); n != 2 {
		t.Errorf("stats 2030 = %d, want 2", n)
	}
}

func TestOpenapi2Transports(t *testing.T) {
	f := newFixture(t, 40, false, DefaultConfig())
	p := o2Params(f.cfg, map[string]string{"page_size": "5"}, false)

	// Query string only (ITITO style), with a JSON body repeating the fields.
	body, _ := json.Marshal(p)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/openapi2/shop.php?"+form(p).Encode(), strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r o2Reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Code != 0 || len(r.Shoplist) != 5 {
		t.Fatalf("query+json: code %d %q, %d rows", r.Code, r.Message, len(r.Shoplist))
	}
}

func TestOpenapi2ChineseCharacterCount(t *testing.T) {
	tests := []struct {
		name      string
		byteCfg   bool
		byteSign  bool
		wantCode  int
		wantFound bool
	}{
		{"characters", false, false, 0, true},
		{"bytes rejected", false, true, 2030, false},
		{"bytes accepted with ByteLengthSign", true, true, 0, true},
		{"characters still accepted with ByteLengthSign", true, false, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ByteLengthSign = tc.byteCfg
			f := newFixture(t, 40, false, cfg)
			r := callO2(t, f, "/openapi2/shop.php", o2Params(cfg, map[string]string{"shop_no": "店铺01"}, tc.byteSign))
			if r.Code != tc.wantCode {
				t.Fatalf("code %d %q, want %d", r.Code, r.Message, tc.wantCode)
			}
			if tc.wantFound && (len(r.Shoplist) != 1 || r.Shoplist[0]["shop_no"] != "店铺01" || r.TotalCount != 1) {
				t.Fatalf("want shop 店铺01, got %v (total %d)", r.Shoplist, r.TotalCount)
			}
		})
	}
}

// --- Qimen ---

func TestQimenAnswers(t *testing.T) {
	f := newFixture(t, 60, false, DefaultConfig())
	cfg := f.cfg
	wrongSecret := cfg
	wrongSecret.QimenAppSecret = "wdt-secret-by-mistake"
	wrongTarget := cfg
	wrongTarget.QimenTargetAppKey = "someone-else"
	wrongApp := cfg
	wrongApp.QimenAppKey = "unknown-app"
	unknownSID := cfg
	unknownSID.SID = "nobody"
	tampered := qmParams(cfg, map[string]string{"page_size": "10"})
	tampered["page_no"] = "1"
	prefixed := qmParams(cfg, map[string]string{"method": "hu3cgwt0tc.wdt.shop.query", "page_size": "3"})
	utc := map[string]string{
		"method": "wdt.shop.query", "app_key": cfg.QimenAppKey, "target_app_key": cfg.QimenTargetAppKey,
		"timestamp": testNow.UTC().Format("2006-01-02 15:04:05"), "format": "json", "v": "2.0", "sign_method": "md5", "sid": cfg.SID,
	}
	utc["sign"] = clientQMSign(utc, cfg.QimenAppSecret)

	tests := []struct {
		name      string
		params    map[string]string
		wantFail  string // gateway code; "" means a WDT answer
		wantError int    // errorcode of a WDT answer
		wantRows  int
	}{
		{"signed", qmParams(cfg, map[string]string{"page_size": "10"}), "", 0, 10},
		{"router prefix", prefixed, "", 0, 3},
		{"wrong secret", qmParams(wrongSecret, nil), "sign-check-failure", 0, 0},
		{"tampered", tampered, "sign-check-failure", 0, 0},
		{"unknown target_app_key", qmParams(wrongTarget, nil), "route-failure", 0, 0},
		{"unknown app_key", qmParams(wrongApp, nil), "29", 0, 0},
		{"UTC timestamp", utc, "31", 0, 0},
		{"unknown sid", qmParams(unknownSID, nil), "", 2060, 0},
		{"page_size 101", qmParams(cfg, map[string]string{"page_size": "101"}), "", 100, 0},
		{"other method", qmParams(cfg, map[string]string{"method": "wdt.purchase.order.query"}), "22", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := callQM(t, f, tc.params).Response
			if tc.wantFail != "" {
				if r.Flag != "failure" || r.Code != tc.wantFail || r.SubCode == "" || r.Message == "" || r.ErrorCode != nil {
					t.Fatalf("want failure %s, got %+v", tc.wantFail, r)
				}
				return
			}
			if r.Flag == "failure" || r.ErrorCode == nil || *r.ErrorCode != tc.wantError {
				t.Fatalf("want errorcode %d, got %+v", tc.wantError, r)
			}
			if len(r.Shoplist) != tc.wantRows {
				t.Fatalf("got %d rows, want %d", len(r.Shoplist), tc.wantRows)
			}
			if tc.wantError == 2060 && !strings.Contains(r.Message, "sid is not") {
				t.Fatalf("message %q", r.Message)
			}
		})
	}
}

func TestQimenTransports(t *testing.T) {
	f := newFixture(t, 30, false, DefaultConfig())
	p := qmParams(f.cfg, map[string]string{"page_size": "4"})
	body, _ := json.Marshal(p)
	tests := []struct {
		name, path, query, ctype, body string
	}{
		{"query string + JSON body (ITITO)", QimenPath, form(p).Encode(), "application/json", string(body)},
		{"JSON body only", QimenPath, "", "application/json", string(body)},
		{"form on the test gateway", QimenTestPath, "", "application/x-www-form-urlencoded", form(p).Encode()},
		{"query string only", QimenPath, form(p).Encode(), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := f.srv.URL + tc.path
			if tc.query != "" {
				u += "?" + tc.query
			}
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r qmReply
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
			if r.Response.ErrorCode == nil || *r.Response.ErrorCode != 0 || len(r.Response.Shoplist) != 4 {
				t.Fatalf("got %+v", r.Response)
			}
		})
	}
}

// --- paging and data ---

// enabledIDs lists the enabled shops of the dataset, by shop_id.
func enabledIDs(t *testing.T, env *core.Env) []string {
	t.Helper()
	var out []string
	for _, d := range env.Dataset(DatasetShops).Select(func(d *core.Doc) bool { return d.Body["is_disabled"] == 0 }, nil) {
		out = append(out, d.ID)
	}
	return out
}

func TestPagingReturnsEachShopOnce(t *testing.T) {
	f := newFixture(t, 257, false, DefaultConfig())
	want := enabledIDs(t, f.env)
	if len(want) == 0 || len(want) == 257 {
		t.Fatalf("dataset should mix enabled and disabled shops, %d enabled", len(want))
	}
	pageFns := map[string]func(page, size int) (int, []map[string]any){
		"openapi2": func(page, size int) (int, []map[string]any) {
			r := callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, map[string]string{"page_no": strconv.Itoa(page), "page_size": strconv.Itoa(size)}, false))
			if r.Code != 0 {
				t.Fatalf("code %d %q", r.Code, r.Message)
			}
			return r.TotalCount, r.Shoplist
		},
		"qimen": func(page, size int) (int, []map[string]any) {
			r := callQM(t, f, qmParams(f.cfg, map[string]string{"page_no": strconv.Itoa(page), "page_size": strconv.Itoa(size)})).Response
			if r.ErrorCode == nil || *r.ErrorCode != 0 {
				t.Fatalf("got %+v", r)
			}
			return r.TotalCount, r.Shoplist
		},
	}
	for route, fetch := range pageFns {
		for _, size := range []int{100, 7} {
			t.Run(fmt.Sprintf("%s/%d", route, size), func(t *testing.T) {
				seen := map[string]int{}
				var order []string
				for page := 0; ; page++ {
					total, rows := fetch(page, size)
					if total != len(want) {
						t.Fatalf("page %d total_count %d, want %d", page, total, len(want))
					}
					for _, row := range rows {
						id := strconv.Itoa(int(row["shop_id"].(float64)))
						seen[id]++
						order = append(order, id)
						if row["is_disabled"].(float64) != 0 {
							t.Fatalf("disabled shop %s listed", id)
						}
					}
					if (page+1)*size >= total {
						break
					}
				}
				if len(order) != len(want) {
					t.Fatalf("read %d rows, want %d", len(order), len(want))
				}
				for i, id := range want {
					if seen[id] != 1 || order[i] != id {
						t.Fatalf("shop %s seen %d times; position %d holds %s", id, seen[id], i, order[i])
					}
				}
			})
		}
	}
}

func TestDisabledAndPlatformFilters(t *testing.T) {
	f := newFixture(t, 200, false, DefaultConfig())
	r := callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, map[string]string{"is_disabled": "1", "page_size": "100"}, false))
	if r.Code != 0 || r.TotalCount == 0 || r.TotalCount != len(r.Shoplist) {
		t.Fatalf("is_disabled=1: code %d total %d rows %d", r.Code, r.TotalCount, len(r.Shoplist))
	}
	for _, row := range r.Shoplist {
		if row["is_disabled"].(float64) != 1 {
			t.Fatalf("enabled shop in disabled list: %v", row)
		}
	}
	r = callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, map[string]string{"platform": "1", "page_size": "100"}, false))
	if r.Code != 0 || len(r.Shoplist) == 0 {
		t.Fatalf("platform=1: code %d rows %d", r.Code, len(r.Shoplist))
	}
	for _, row := range r.Shoplist {
		if row["platform_id"].(float64) != 1 {
			t.Fatalf("platform filter leaked %v", row)
		}
	}
	both := callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, map[string]string{"platform_ids": "1,3", "page_size": "100"}, false))
	three := callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, map[string]string{"platform_id": "3", "page_size": "100"}, false))
	if both.TotalCount != r.TotalCount+three.TotalCount {
		t.Fatalf("platform_ids 1,3 total %d, want %d+%d", both.TotalCount, r.TotalCount, three.TotalCount)
	}
}

func TestShopFields(t *testing.T) {
	f := newFixture(t, 50, false, DefaultConfig())
	o2 := callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, map[string]string{"page_size": "100"}, false))
	qm := callQM(t, f, qmParams(f.cfg, map[string]string{"page_size": "100"})).Response
	if len(o2.Shoplist) == 0 || len(o2.Shoplist) != len(qm.Shoplist) {
		t.Fatalf("openapi2 %d rows, qimen %d rows", len(o2.Shoplist), len(qm.Shoplist))
	}
	fields := []string{"shop_id", "shop_no", "shop_name", "platform_id", "sub_platform_id", "account_id", "account_nick",
		"province", "city", "district", "province_name", "city_name", "district_name", "address",
		"contact", "zip", "mobile", "telno", "remark", "is_disabled", "modified"}
	for i, row := range o2.Shoplist {
		for _, k := range fields {
			if _, ok := row[k]; !ok {
				t.Fatalf("row %d lacks %s: %v", i, k, row)
			}
		}
		// Both routes serve the same data.
		if fmt.Sprint(row) != fmt.Sprint(qm.Shoplist[i]) {
			t.Fatalf("routes differ:\n%v\n%v", row, qm.Shoplist[i])
		}
		if _, err := time.ParseInLocation("2006-01-02 15:04:05", row["modified"].(string), core.Shanghai); err != nil {
			t.Fatalf("modified %v: %v", row["modified"], err)
		}
	}
}

func TestShopNoLookup(t *testing.T) {
	for _, tc := range []struct {
		no string
		id int
		ok bool
	}{
		{"SHOP0001", 1, true}, {"店铺01", 3, true}, {"店铺02", 11, true}, {"SHOP12345", 12345, true},
		{"SHOP0003", 0, false}, {"SHOP1", 0, false}, {"店铺1", 0, false}, {"SHOP", 0, false}, {"x", 0, false},
	} {
		id, ok := shopIDByNo(tc.no)
		if id != tc.id || ok != tc.ok {
			t.Errorf("shopIDByNo(%q) = %d, %v; want %d, %v", tc.no, id, ok, tc.id, tc.ok)
		}
		if ok && shopNo(id) != tc.no {
			t.Errorf("shopNo(%d) = %q", id, shopNo(id))
		}
	}
}

func TestDatasetShape(t *testing.T) {
	f := newFixture(t, 300, false, DefaultConfig())
	ds := f.env.Dataset(DatasetShops)
	if ds == nil || ds.Len() != 300 {
		t.Fatal("dataset wdt_shops not registered with 300 shops")
	}
	orgs := map[string]bool{}
	for _, o := range core.Orgs {
		orgs[o.Number] = true
	}
	var chinese, empty, bad, good int
	for _, d := range ds.Select(nil, nil) {
		if d.ID != strconv.Itoa(d.Body["shop_id"].(int)) {
			t.Fatalf("Doc.ID %s != shop_id %v", d.ID, d.Body["shop_id"])
		}
		if !d.Modified.Before(testNow) || d.Modified.Before(testNow.Add(-core.DataSpan)) {
			t.Fatalf("modified %v outside the data span", d.Modified)
		}
		no := d.Body["shop_no"].(string)
		if strings.HasPrefix(no, "店铺") {
			chinese++
		}
		switch rm := d.Body["remark"].(string); {
		case rm == "":
			empty++
		case orgs[rm]:
			good++
		default:
			bad++
		}
	}
	if chinese == 0 || empty == 0 || bad == 0 || good < 200 {
		t.Fatalf("chinese %d, empty remarks %d, invalid %d, valid %d", chinese, empty, bad, good)
	}
	// Deterministic for a seed, also after Reset.
	before, _ := ds.Get("42")
	f.sim.Reset()
	after, _ := f.env.Dataset(DatasetShops).Get("42")
	if before.Body["shop_name"] != after.Body["shop_name"] || !before.Modified.Equal(after.Modified) {
		t.Fatalf("reset changed shop 42: %v -> %v", before.Body["shop_name"], after.Body["shop_name"])
	}
}

func TestMutateFault(t *testing.T) {
	f := newFixture(t, 20, false, DefaultConfig())
	if err := f.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	r := callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, map[string]string{"page_size": "100"}, false))
	if r.Code != 0 {
		t.Fatalf("code %d", r.Code)
	}
	var touched []core.Doc
	for _, d := range f.env.Dataset(DatasetShops).Select(func(d *core.Doc) bool { return d.Version > 1 }, nil) {
		touched = append(touched, d)
	}
	if len(touched) != 1 {
		t.Fatalf("%d shops touched, want 1", len(touched))
	}
	d := touched[0]
	if d.Body["is_disabled"] != 0 || !strings.HasSuffix(d.Body["shop_name"].(string), " v2") || !d.Modified.Equal(testNow) {
		t.Fatalf("touched shop %s: %v, modified %v", d.ID, d.Body["shop_name"], d.Modified)
	}
	// The next read serves the new name and modified time.
	r = callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, map[string]string{"shop_no": d.Body["shop_no"].(string)}, false))
	if len(r.Shoplist) != 1 || r.Shoplist[0]["shop_name"] != d.Body["shop_name"] || r.Shoplist[0]["modified"] != "2025-03-01 10:00:00" {
		t.Fatalf("served %v", r.Shoplist)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, 10, true, DefaultConfig())
	// The clock is frozen, so the bucket never refills: exactly shopRate.N
	// calls pass, shared by both routes.
	for i := range shopRate.N {
		var code int
		if i%2 == 0 {
			code = callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, nil, false)).Code
		} else if ec := callQM(t, f, qmParams(f.cfg, nil)).Response.ErrorCode; ec != nil {
			code = *ec
		} else {
			code = -1
		}
		if code != 0 {
			t.Fatalf("call %d: code %d", i, code)
		}
	}
	r := callO2(t, f, "/openapi2/shop.php", o2Params(f.cfg, nil, false))
	if r.Code != codeRateLimited || !strings.Contains(r.Message, "频率超限") {
		t.Fatalf("openapi2 over limit: %d %q", r.Code, r.Message)
	}
	q := callQM(t, f, qmParams(f.cfg, nil)).Response
	if q.ErrorCode == nil || *q.ErrorCode != codeRateLimited || !strings.Contains(q.Message, "频率超限") {
		t.Fatalf("qimen over limit: %+v", q)
	}
	// A bad signature does not spend the budget nor get the rate answer.
	bad := o2Params(f.cfg, nil, false)
	bad["sign"] = "0"
	if r := callO2(t, f, "/openapi2/shop.php", bad); r.Code != codeSignError {
		t.Fatalf("bad sign over limit: %d", r.Code)
	}
}

func TestNewRejectsEmptyCredentials(t *testing.T) {
	env, err := core.NewEnv(core.Options{Records: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.QimenAppSecret = ""
	if _, err := New(env, cfg); err == nil {
		t.Fatal("New accepted an empty Qimen secret")
	}
}
