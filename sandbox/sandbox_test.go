package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
	"github.com/erpsync/erpsync/sandbox/jushuitan"
	"github.com/erpsync/erpsync/sandbox/xbb"
)

func start(t *testing.T) *Server {
	t.Helper()
	o := DefaultOptions()
	o.Records = 120
	sb, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, body)
		}
	}
	return resp.StatusCode
}

func TestSourceTruthOfEveryDataset(t *testing.T) {
	sb := start(t)
	for _, ds := range []string{"jushuitan_other_inout", "jushuitan_skusn", "jushuitan_saleout", "jushuitan_aftersale_received", "jushuitan_purchasein", "jushuitan_purchaseout", "jushuitan_orders", "jushuitan_refunds", "wdt_shops", "xbb_products"} {
		var src SourceReply
		if code := getJSON(t, sb.URL()+"/_sandbox/source/"+ds, &src); code != 200 {
			t.Fatalf("%s: HTTP %d", ds, code)
		}
		if src.Dataset != ds || len(src.Documents) != 120 {
			t.Fatalf("%s: dataset %q with %d documents, want 120", ds, src.Dataset, len(src.Documents))
		}
		ids := map[string]bool{}
		for _, d := range src.Documents {
			if d.ID == "" || d.Modified == "" || ids[d.ID] {
				t.Fatalf("%s: bad or repeated document %+v", ds, d)
			}
			ids[d.ID] = true
		}
	}
	if code := getJSON(t, sb.URL()+"/_sandbox/source/nope", nil); code != 404 {
		t.Fatalf("unknown dataset answered %d", code)
	}
}

func TestFaultsEndpointPatchesAndValidates(t *testing.T) {
	sb := start(t)
	post := func(body string) int {
		resp, err := http.Post(sb.URL()+"/_sandbox/faults", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"mutate_rate":0.5,"session_ttl":"2m"}`); code != 200 {
		t.Fatalf("valid faults answered %d", code)
	}
	if code := post(`{"row_fail_rate":0.1}`); code != 200 {
		t.Fatalf("valid faults answered %d", code)
	}
	var f core.Faults
	getJSON(t, sb.URL()+"/_sandbox/faults", &f)
	if f.MutateRate != 0.5 || f.RowFailRate != 0.1 || time.Duration(f.SessionTTL) != 2*time.Minute {
		t.Fatalf("faults after two patches: %+v", f)
	}
	for _, bad := range []string{`{"error_rate":3}`, `{"nope":1}`, `{`} {
		if code := post(bad); code != 400 {
			t.Fatalf("%s answered %d, want 400", bad, code)
		}
	}
	if sb.Env().Faults().ErrorRate != 0 {
		t.Fatal("a rejected patch changed the faults")
	}
}

func TestTargetsStatsAndReset(t *testing.T) {
	sb := start(t)
	var k3 struct {
		Documents []core.TargetDoc `json:"documents"`
	}
	if code := getJSON(t, sb.URL()+"/_sandbox/k3cloud/BD_MATERIAL", &k3); code != 200 || len(k3.Documents) != core.CatalogSize {
		t.Fatalf("BD_MATERIAL: HTTP %d, %d documents, want the %d seeded", code, len(k3.Documents), core.CatalogSize)
	}
	var kis struct {
		Documents []core.TargetDoc `json:"documents"`
	}
	if code := getJSON(t, sb.URL()+"/_sandbox/kis/bills", &kis); code != 200 || len(kis.Documents) != 0 {
		t.Fatalf("kis bills: HTTP %d, %d documents, want 0", code, len(kis.Documents))
	}
	// An unsigned Jushuitan call is answered and counted.
	resp, err := http.Post(sb.URL()+"/open/other/inout/query", "application/x-www-form-urlencoded", bytes.NewBufferString("app_key=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var st StatsReply
	getJSON(t, sb.URL()+"/_sandbox/stats", &st)
	if st.Requests["jushuitan"]["/open/other/inout/query"] != 1 {
		t.Fatalf("stats requests: %+v", st.Requests)
	}
	if st.Targets["k3cloud/BD_MATERIAL"] != core.CatalogSize || st.Datasets["xbb_products"] != 120 {
		t.Fatalf("stats targets %+v datasets %+v", st.Targets, st.Datasets)
	}
	resp, err = http.Post(sb.URL()+"/_sandbox/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var after StatsReply
	getJSON(t, sb.URL()+"/_sandbox/stats", &after)
	if len(after.Requests) != 0 || after.Datasets["xbb_products"] != 120 {
		t.Fatalf("stats after reset: %+v", after)
	}
}

func TestFullTruthRendersDocuments(t *testing.T) {
	sb := start(t)
	for ds, idField := range map[string]string{
		"jushuitan_other_inout": "io_id", "jushuitan_skusn": "sku_sn", "jushuitan_saleout": "io_id", "jushuitan_aftersale_received": "as_id", "jushuitan_purchasein": "po_id", "jushuitan_purchaseout": "seller_id",
		"jushuitan_orders": "o_id", "jushuitan_refunds": "as_id", "jushuitan_skus": "sku_id", "jushuitan_inventory": "sku_id", "wdt_shops": "shop_id", "xbb_products": "dataId",
	} {
		var src struct {
			Documents []struct {
				ID       string         `json:"id"`
				Document map[string]any `json:"document"`
			} `json:"documents"`
		}
		getJSON(t, sb.URL()+"/_sandbox/source/"+ds+"?full=1", &src)
		want := 120
		if ds == "jushuitan_skus" || ds == "jushuitan_inventory" {
			want = 200 // one per SKU of the shared catalog
		}
		if len(src.Documents) != want {
			t.Fatalf("%s: %d documents, want %d", ds, len(src.Documents), want)
		}
		for _, d := range src.Documents {
			if d.Document[idField] == nil {
				t.Fatalf("%s: document %s rendered without %s: %v", ds, d.ID, idField, d.Document)
			}
		}
	}
}

func postFaults(t *testing.T, sb *Server, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(sb.URL()+"/_sandbox/faults", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestAnswerFaultsEndpoint(t *testing.T) {
	sb := start(t)
	for _, body := range []string{
		`{"answers":{"order":"desc","null_rate":0.1}}`,
		`{"answers":{"short_page_rate":0.2},"interfaces":{"jushuitan_skusn":{"order":"random"},"wdt_shops":{"null_rate":1}}}`,
		`{"interfaces":{"jushuitan_skusn":{"modified_after_create":0.5},"wdt_shops":null}}`,
	} {
		if code, out := postFaults(t, sb, body); code != 200 {
			t.Fatalf("%s answered %d %v", body, code, out)
		}
	}
	var f core.Faults
	getJSON(t, sb.URL()+"/_sandbox/faults", &f)
	if f.Answers != (core.AnswerFaults{Order: "desc", NullRate: 0.1, ShortPageRate: 0.2}) {
		t.Fatalf("answers after patches: %+v", f.Answers)
	}
	if len(f.Interfaces) != 1 || f.Interfaces["jushuitan_skusn"] != (core.AnswerFaults{Order: "random", ModifiedAfterCreate: 0.5}) {
		t.Fatalf("interfaces after patches: %+v", f.Interfaces)
	}
	if got := sb.Env().Faults().AnswerFor("xbb_products"); got != f.Answers {
		t.Fatalf("xbb_products has %+v, want the default", got)
	}
	for body, want := range map[string]string{
		`{"answers":{"order":"sideways"}}`:               "asc, desc, id_asc, id_desc, random",
		`{"answers":{"null_rate":2}}`:                    "null_rate must be between 0 and 1",
		`{"answers":{"nope":1}}`:                         "nope",
		`{"interfaces":{"jushuitan_inout":{}}}`:          "known: jushuitan_aftersale_received, jushuitan_inventory, jushuitan_orders, jushuitan_other_inout, jushuitan_purchasein, jushuitan_purchaseout, jushuitan_refunds, jushuitan_saleout, jushuitan_skus, jushuitan_skusn, wdt_goods, wdt_refunds, wdt_shops, wdt_stockin_purchase, wdt_stockin_refund, wdt_stockout_trade, wdt_stocks, wdt_trades, xbb_contracts, xbb_customers, xbb_products",
		`{"interfaces":{"xbb_products":{"order":"up"}}}`: "interfaces.xbb_products: order",
		`{"interfaces":{"xbb_products":{"x":1}}}`:        "interfaces.xbb_products",
		`{"interfaces":[1]}`:                             "interfaces must be an object",
	} {
		code, out := postFaults(t, sb, body)
		msg, _ := out["error"].(string)
		if code != 400 || !strings.Contains(msg, want) {
			t.Fatalf("%s answered %d %q, want 400 with %q", body, code, msg, want)
		}
	}
	var after core.Faults
	getJSON(t, sb.URL()+"/_sandbox/faults", &after)
	if after.Answers != f.Answers || len(after.Interfaces) != 1 {
		t.Fatalf("a rejected patch changed the faults: %+v", after)
	}
	if code, _ := postFaults(t, sb, `{"interfaces":null,"answers":{"order":"","null_rate":0,"short_page_rate":0}}`); code != 200 {
		t.Fatal("clearing answer faults refused")
	}
	if f := sb.Env().Faults(); !f.Answers.IsZero() || f.Interfaces != nil {
		t.Fatalf("not cleared: %+v", f)
	}
}

func TestNewChecksInterfaceNames(t *testing.T) {
	o := DefaultOptions()
	o.Records = 10
	o.Faults.Interfaces = core.InterfaceFaults{"wdt_shop": {}}
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), `unknown dataset "wdt_shop"`) {
		t.Fatalf("New with an unknown interface: %v", err)
	}
	o.Faults.Interfaces = core.InterfaceFaults{"wdt_shops": {Order: "desc"}}
	sb, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	names := sb.Env().DatasetNames()
	slices.Sort(names)
	want := DatasetNames()
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("DatasetNames %v, registered %v", want, names)
	}
}

// TestAnswerFaultStatsAndServedVersion: answer faults show in the stats
// under "faults" and the truth says what was served.
func TestAnswerFaultStatsAndServedVersion(t *testing.T) {
	sb := start(t)
	if code, out := postFaults(t, sb, `{"interfaces":{"xbb_products":{"total_drift_rate":1}}}`); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	creds := sb.Credentials()
	x := creds["xbb"].(xbb.Credentials)
	body := fmt.Sprintf(`{"corpid":%q,"page":1,"pageSize":10}`, x.Corpid)
	sum := sha256.Sum256([]byte(body + x.Token))
	req, _ := http.NewRequest(http.MethodPost, sb.URL()+"/pro/v2/api/product/list", strings.NewReader(body))
	req.Header.Set("sign", hex.EncodeToString(sum[:]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var xa struct {
		Code   int `json:"code"`
		Result struct {
			TotalCount int `json:"totalCount"`
			List       []struct {
				DataID int64 `json:"dataId"`
			} `json:"list"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&xa); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if xa.Code != 1 || len(xa.Result.List) != 10 || xa.Result.TotalCount == 120 {
		t.Fatalf("xbb answer %+v", xa)
	}
	var st StatsReply
	getJSON(t, sb.URL()+"/_sandbox/stats", &st)
	if st.Faults["xbb"]["/pro/v2/api/product/list"]["total_drift"] != 1 || st.Answers["xbb"]["/pro/v2/api/product/list"]["1"] != 1 {
		t.Fatalf("stats faults %v answers %v", st.Faults, st.Answers)
	}
	var src SourceReply
	getJSON(t, sb.URL()+"/_sandbox/source/xbb_products", &src)
	listed := map[string]bool{}
	for _, it := range xa.Result.List {
		listed[fmt.Sprint(it.DataID)] = true
	}
	served := 0
	for _, d := range src.Documents {
		served += d.ServedVersion
		if (d.ServedVersion > 0) != listed[d.ID] {
			t.Fatalf("product %s: served_version %d, listed %v", d.ID, d.ServedVersion, listed[d.ID])
		}
	}
	if served != 10 {
		t.Fatalf("%d versions served, want 10", served)
	}
	var skusn SourceReply
	getJSON(t, sb.URL()+"/_sandbox/source/jushuitan_skusn", &skusn)
	if d := skusn.Documents[0]; d.Created == "" || d.Created != d.Modified || d.ServedVersion != 0 {
		t.Fatalf("skusn truth %+v", d)
	}
}

func TestExpireTokensForcesARefresh(t *testing.T) {
	sb := start(t)
	j := jushuitan.DefaultConfig()
	call := func() string {
		t.Helper()
		now := time.Now().In(core.Shanghai)
		biz := fmt.Sprintf(`{"modified_begin":%q,"modified_end":%q,"page_index":1,"page_size":10}`,
			now.Add(-time.Hour).Format(core.VendorTimeLayout), now.Format(core.VendorTimeLayout))
		f := map[string]string{"app_key": j.AppKey, "access_token": j.AccessToken, "timestamp": fmt.Sprint(now.Unix()),
			"charset": "utf-8", "version": "2", "biz": biz}
		form := url.Values{}
		for k, v := range f {
			form.Set(k, v)
		}
		form.Set("sign", jushuitan.Sign(f, j.AppSecret))
		resp, err := http.PostForm(sb.URL()+"/open/other/inout/query", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := call(); !strings.Contains(got, `"code":0`) {
		t.Fatalf("a call with the configured token answered %s", got)
	}
	resp, err := http.Post(sb.URL()+"/_sandbox/expire_tokens", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_sandbox/expire_tokens: %d", resp.StatusCode)
	}
	if got := call(); !strings.Contains(got, `"code":100`) {
		t.Fatalf("a call with the expired token answered %s, want code 100", got)
	}
}
