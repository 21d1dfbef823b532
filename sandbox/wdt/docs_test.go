package wdt

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// docReply is one answer of a document interface on either route.
type docReply struct {
	code    int
	message string
	total   int
	rows    []map[string]any
}

var docRoutes = []string{"openapi2", "qimen"}

// callDoc calls interface k on route with business fields biz.
func callDoc(t *testing.T, f *fixture, route string, k *docIface, biz map[string]string) docReply {
	t.Helper()
	var body map[string]json.RawMessage
	switch route {
	case "openapi2":
		postForm(t, f.srv.URL+Openapi2Prefix+k.php, o2Params(f.cfg, biz, false), &body)
	case "qimen":
		b := map[string]string{"method": k.method}
		for x, v := range biz {
			b[x] = v
		}
		var env struct {
			Response map[string]json.RawMessage `json:"response"`
		}
		postForm(t, f.srv.URL+QimenPath, qmParams(f.cfg, b), &env)
		body = env.Response
		if _, ok := body["errorcode"]; !ok {
			t.Fatalf("%s: gateway failure %s", k.method, body["sub_message"])
		}
		body["code"] = body["errorcode"]
	}
	var r docReply
	if err := json.Unmarshal(body["code"], &r.code); err != nil {
		t.Fatalf("%s %s: no code in %v", route, k.php, body)
	}
	_ = json.Unmarshal(body["message"], &r.message)
	_ = json.Unmarshal(body["total_count"], &r.total)
	if raw, ok := body[k.list]; ok && r.code == 0 {
		if err := json.Unmarshal(raw, &r.rows); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func window(s, e time.Time) map[string]string {
	return map[string]string{"start_time": s.Format(core.VendorTimeLayout), "end_time": e.Format(core.VendorTimeLayout)}
}

// readWindows reads every page of every window of k's maximum span
// (bounds inclusive, so windows end a second before the next begins)
// from 31 days before the sandbox clock to the clock, with extra fields.
// It returns each document's rows in the order served.
func readWindows(t *testing.T, f *fixture, route string, k *docIface, extra map[string]string) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	size := k.maxSize
	for s := testNow.Add(-31 * 24 * time.Hour).In(core.Shanghai); !s.After(testNow); s = s.Add(k.maxSpan) {
		for page := 0; ; page++ {
			biz := window(s, s.Add(k.maxSpan-time.Second))
			biz["page_no"], biz["page_size"] = strconv.Itoa(page), strconv.Itoa(size)
			for x, v := range extra {
				biz[x] = v
			}
			r := callDoc(t, f, route, k, biz)
			if r.code != 0 {
				t.Fatalf("%s %s %v: code %d %s", route, k.php, biz, r.code, r.message)
			}
			for _, row := range r.rows {
				id := idOf(row, k.idField)
				out[id] = append(out[id], row)
			}
			if (page+1)*size >= r.total {
				break
			}
		}
	}
	return out
}

func idOf(row map[string]any, field string) string {
	switch v := row[field].(type) {
	case float64:
		return strconv.FormatInt(int64(v), 10)
	case string:
		return v
	}
	return fmt.Sprint(row[field])
}

// reads are the queries that together cover an interface: sales stock-outs
// need their shipped bills (by consign time) and the bills below status 95
// (by modified), stock-ins one status at a time (80 is the default).
func reads(k *docIface) []map[string]string {
	switch k.dataset {
	case DatasetStockouts:
		return []map[string]string{nil, {"status": "5"}, {"status": "55"}}
	case DatasetRefundStockins, DatasetPurchaseIns:
		return []map[string]string{{"status": "10"}, {"status": "30"}, nil}
	}
	return []map[string]string{nil}
}

// asJSON normalises a value through JSON, as a client sees it.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDocInterfacesMatchTruth pages through every window of every
// interface on both routes and finds exactly the documents of the truth,
// each once and as the truth renders it.
func TestDocInterfacesMatchTruth(t *testing.T) {
	f := newFixture(t, 300, false, DefaultConfig())
	for _, k := range docIfaces {
		truth := f.env.Dataset(k.dataset).FullTruth()
		if len(truth) == 0 {
			t.Fatalf("%s: empty dataset", k.dataset)
		}
		for _, route := range docRoutes {
			t.Run(k.php+"/"+route, func(t *testing.T) {
				got := map[string][]map[string]any{}
				for _, extra := range reads(k) {
					for id, rows := range readWindows(t, f, route, k, extra) {
						got[id] = append(got[id], rows...)
					}
				}
				if len(got) != len(truth) {
					t.Fatalf("read %d documents, truth has %d", len(got), len(truth))
				}
				for _, td := range truth {
					rows := got[td.ID]
					if len(rows) != 1 {
						t.Fatalf("document %s served %d times", td.ID, len(rows))
					}
					if want := asJSON(t, td.Document); !reflect.DeepEqual(asJSON(t, rows[0]), want) {
						t.Fatalf("document %s:\n got %v\nwant %v", td.ID, rows[0], want)
					}
					if rows[0]["modified"] != td.Modified {
						t.Fatalf("document %s modified %v, truth %s", td.ID, rows[0]["modified"], td.Modified)
					}
				}
			})
		}
	}
}

// TestDocWindowAndPageLimits: a window one second over the documented
// maximum, a missing window, a page size over the maximum are refused on
// both routes; the maxima themselves are accepted.
func TestDocWindowAndPageLimits(t *testing.T) {
	f := newFixture(t, 50, false, DefaultConfig())
	end := testNow.In(core.Shanghai)
	for _, k := range docIfaces {
		for _, route := range docRoutes {
			t.Run(k.php+"/"+route, func(t *testing.T) {
				over := callDoc(t, f, route, k, window(end.Add(-k.maxSpan-time.Second), end))
				if over.code != codeBadParam || !strings.Contains(over.message, k.spanText) || over.rows != nil {
					t.Fatalf("window over %s: got %+v", k.spanText, over)
				}
				if r := callDoc(t, f, route, k, window(end.Add(-k.maxSpan), end)); r.code != 0 {
					t.Fatalf("window of exactly %s refused: %+v", k.spanText, r)
				}
				if r := callDoc(t, f, route, k, window(end, end.Add(-time.Second))); r.code != codeBadParam {
					t.Fatalf("reversed window accepted: %+v", r)
				}
				if r := callDoc(t, f, route, k, map[string]string{"page_size": "10"}); r.code != codeBadParam || !strings.Contains(r.message, "start_time") {
					t.Fatalf("missing window accepted: %+v", r)
				}
				if r := callDoc(t, f, route, k, map[string]string{"start_time": end.Format(core.VendorTimeLayout)}); r.code != codeBadParam {
					t.Fatalf("half a window accepted: %+v", r)
				}
				big := window(end.Add(-time.Hour), end)
				big["page_size"] = strconv.Itoa(k.maxSize + 1)
				if r := callDoc(t, f, route, k, big); r.code != codeBadParam || !strings.Contains(r.message, "page_size") {
					t.Fatalf("page_size %d accepted: %+v", k.maxSize+1, r)
				}
				big["page_size"] = strconv.Itoa(k.maxSize)
				if r := callDoc(t, f, route, k, big); r.code != 0 {
					t.Fatalf("page_size %d refused: %+v", k.maxSize, r)
				}
			})
		}
	}
	if want := []time.Duration{span60m, span30d, span30d, span30d, span30d, span30d, span30d}; !slices.Equal(spans(), want) {
		t.Fatalf("spans %v, want %v", spans(), want)
	}
}

func spans() []time.Duration {
	var out []time.Duration
	for _, k := range docIfaces {
		out = append(out, k.maxSpan)
	}
	return out
}

func docsOf(t *testing.T, f *fixture, dataset string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, td := range f.env.Dataset(dataset).FullTruth() {
		out = append(out, asJSON(t, td.Document).(map[string]any))
	}
	return out
}

var twoDecimals = regexp.MustCompile(`^-?\d+\.\d\d$`)

// TestDocRelationsAndShapes: stock-outs refer to their trades, refunds to
// the trades they return, refund stock-ins to their refunds; the trades
// hold several lines, combined SKUs, partial shipments and cancelled
// trades; amounts carry two decimals.
func TestDocRelationsAndShapes(t *testing.T) {
	f := newFixture(t, 400, false, DefaultConfig())
	trades := map[string]map[string]any{}
	var multi, suites, partial, cancelled int
	for _, tr := range docsOf(t, f, DatasetTrades) {
		trades[tr["trade_no"].(string)] = tr
		lines := tr["goods_list"].([]any)
		if len(lines) > 1 {
			multi++
		}
		for _, l := range lines {
			l := l.(map[string]any)
			if l["suite_no"] != "" {
				suites++
			}
			if l["actual_num"] != l["num"] && l["actual_num"] != "0.0000" {
				partial++
			}
			for _, a := range []string{"price", "share_amount"} {
				if !twoDecimals.MatchString(l[a].(string)) {
					t.Fatalf("line %s %q", a, l[a])
				}
			}
		}
		if tr["trade_status"].(float64) == stCancelled {
			cancelled++
		}
		if !twoDecimals.MatchString(tr["receivable"].(string)) || !strings.HasPrefix(tr["trade_no"].(string), "JY") {
			t.Fatalf("trade %v", tr)
		}
	}
	if multi == 0 || suites == 0 || partial == 0 || cancelled == 0 {
		t.Fatalf("multi-line %d, suite lines %d, partial %d, cancelled %d", multi, suites, partial, cancelled)
	}
	soStatus := map[float64]int{}
	for _, so := range docsOf(t, f, DatasetStockouts) {
		tr, ok := trades[so["src_order_no"].(string)]
		if !ok || tr["src_tids"] != so["src_tid"] || tr["trade_id"] != so["trade_id"] {
			t.Fatalf("stock-out %v refers to no trade", so["order_no"])
		}
		soStatus[so["status"].(float64)]++
		if st := so["status"].(float64); (st >= stShipped) != (so["consign_time"] != "") {
			t.Fatalf("stock-out %v status %v consign_time %q", so["order_no"], st, so["consign_time"])
		}
		if len(so["details_list"].([]any)) == 0 {
			t.Fatalf("stock-out %v without details", so["order_no"])
		}
	}
	for _, st := range []float64{stCancelled, stApproved, stShipped, stDone} {
		if soStatus[st] == 0 {
			t.Fatalf("no stock-out with status %v: %v", st, soStatus)
		}
	}
	refunds := map[string]bool{}
	for _, rf := range docsOf(t, f, DatasetRefunds) {
		tr, ok := trades[rf["trade_no"].(string)]
		if !ok || tr["src_tids"] != rf["tid"] || len(rf["refund_order_list"].([]any)) == 0 {
			t.Fatalf("refund %v refers to no trade", rf["refund_no"])
		}
		refunds[rf["refund_no"].(string)] = true
	}
	ins := docsOf(t, f, DatasetRefundStockins)
	if len(refunds) == 0 || len(ins) == 0 {
		t.Fatalf("%d refunds, %d refund stock-ins", len(refunds), len(ins))
	}
	for _, in := range ins {
		if !refunds[in["refund_no"].(string)] || in["warehouse_no"] != core.Stocks[1].Number {
			t.Fatalf("refund stock-in %v refers to no refund", in["order_no"])
		}
	}
	for _, in := range docsOf(t, f, DatasetPurchaseIns) {
		if !strings.HasPrefix(in["src_order_no"].(string), "CG") || len(in["details_list"].([]any)) == 0 || !twoDecimals.MatchString(in["total_price"].(string)) {
			t.Fatalf("purchase stock-in %v", in)
		}
	}
	stocks := docsOf(t, f, DatasetStocks)
	if len(stocks) != core.CatalogSize*len(core.Stocks) {
		t.Fatalf("%d stock rows", len(stocks))
	}
	specs := 0
	for _, g := range docsOf(t, f, DatasetGoods) {
		specs += len(g["spec_list"].([]any))
	}
	if specs != core.CatalogSize {
		t.Fatalf("%d specs", specs)
	}
}

// TestDocDefaultsAndKeys: stock-ins default to completed bills, sales
// stock-outs without status to shipped ones by consign time; a document
// key needs no window.
func TestDocDefaultsAndKeys(t *testing.T) {
	f := newFixture(t, 300, false, DefaultConfig())
	in := docByPHP("stockin_order_query_purchase.php")
	got := readWindows(t, f, "openapi2", in, nil)
	want := 0
	for _, d := range docsOf(t, f, DatasetPurchaseIns) {
		if d["status"].(float64) == inDone {
			want++
		} else if _, ok := got[idOf(d, "stockin_id")]; ok {
			t.Fatalf("status %v served without status", d["status"])
		}
	}
	if len(got) != want || want == 0 {
		t.Fatalf("default read %d, completed %d", len(got), want)
	}
	so := docByPHP("stockout_order_query_trade.php")
	for _, rows := range readWindows(t, f, "qimen", so, nil) {
		if rows[0]["status"].(float64) < stShipped {
			t.Fatalf("unshipped stock-out %v served without status", rows[0]["order_no"])
		}
	}
	// Both bounds are inclusive: a window of one second finds the
	// documents modified in it.
	for _, k := range []*docIface{docByPHP("trade_query.php"), docByPHP("refund_query.php"), docByPHP("stock_query.php"), docByPHP("goods_query.php")} {
		td := f.env.Dataset(k.dataset).Truth()[3]
		m, _ := time.ParseInLocation(core.VendorTimeLayout, td.Modified, core.Shanghai)
		r := callDoc(t, f, "openapi2", k, window(m, m))
		found := false
		for _, row := range r.rows {
			found = found || idOf(row, k.idField) == td.ID
		}
		if r.code != 0 || !found {
			t.Fatalf("%s: window [%s, %s] misses document %s: %+v", k.php, td.Modified, td.Modified, td.ID, r)
		}
	}
	trades := docsOf(t, f, DatasetTrades)
	tr := docByPHP("trade_query.php")
	for _, route := range docRoutes {
		r := callDoc(t, f, route, tr, map[string]string{"trade_no": trades[7]["trade_no"].(string)})
		if r.code != 0 || r.total != 1 || len(r.rows) != 1 || r.rows[0]["trade_no"] != trades[7]["trade_no"] {
			t.Fatalf("%s trade_no lookup: %+v", route, r)
		}
	}
}

// TestDocMutationWhileReading: with every page moving a document of its
// window to now, a reader going forward through the windows up to now
// still finds every trade, some of them twice, and never a version the
// truth has not reached.
func TestDocMutationWhileReading(t *testing.T) {
	f := newFixture(t, 200, false, DefaultConfig())
	if err := f.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	k := docByPHP("trade_query.php")
	got := readWindows(t, f, "qimen", k, nil)
	truth := f.env.Dataset(DatasetTrades).Truth()
	twice, moved := 0, 0
	for _, td := range truth {
		rows, ok := got[td.ID]
		if !ok {
			t.Fatalf("trade %s never served", td.ID)
		}
		if len(rows) > 1 {
			twice++
		}
		if td.Version > 1 {
			moved++
		}
		for _, row := range rows {
			if v := row["cs_remark"].(string); v != "" {
				n, _ := strconv.Atoi(strings.TrimPrefix(v, "v"))
				if n > td.Version || n > td.ServedVersion {
					t.Fatalf("trade %s served version %d, truth %d served %d", td.ID, n, td.Version, td.ServedVersion)
				}
			}
		}
	}
	if moved == 0 || twice == 0 {
		t.Fatalf("moved %d, served twice %d", moved, twice)
	}
	ids := make([]string, 0, len(got))
	for id := range got {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) != len(truth) {
		t.Fatalf("read %d trades, truth %d", len(ids), len(truth))
	}
}
