// Package wdtkingdee runs the shipped WDT → K3Cloud stream config
// (config/streams/wdt_sales_out_to_kingdee.yaml) unchanged, with the
// erpsync binary, against the sandbox, and checks the sandbox's K3Cloud
// against the sandbox's WDT truth.
package wdtkingdee

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
	sbwdt "github.com/erpsync/erpsync/sandbox/wdt"
)

const (
	records = 300
	stream  = "wdt_sales_out_to_kingdee"
	method  = "wdt.stockout.order.query.trade"
	form    = "SAL_OUTSTOCK"
)

// customerOf mirrors the customers table of
// config/resources/wdt_kingdee_mapping.yaml: shop_no -> BD_Customer FNumber,
// else the shop_no.
func customerOf(shop string) string {
	if c, ok := map[string]string{"店铺01": "WDTDP01", "店铺02": "WDTDP02"}[shop]; ok {
		return c
	}
	return shop
}

// missingShop's customer is left out of Kingdee: its bills cannot be written.
const missingShop = "SHOP0002"

// removedSKUs are taken out of Kingdee before the run: their lines make
// their bills unmappable.
var removedSKUs = []string{"SKU00007", "SKU00042"}

type line struct {
	SpecNo      string `json:"spec_no"`
	GoodsCount  string `json:"goods_count"`
	SellPrice   string `json:"sell_price"`
	TotalAmount string `json:"total_amount"`
	GiftType    int    `json:"gift_type"`
	SuiteNo     string `json:"suite_no"`
}

type source struct {
	StockoutID  int64  `json:"stockout_id"`
	OrderNo     string `json:"order_no"`
	Status      int    `json:"status"`
	ShopNo      string `json:"shop_no"`
	WarehouseNo string `json:"warehouse_no"`
	ConsignTime string `json:"consign_time"`
	Details     []line `json:"details_list"`
}

func (s source) id() string { return strconv.FormatInt(s.StockoutID, 10) }

func number(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("sandbox amount %q: %v", s, err)
	}
	return f
}

// startSandbox starts a sandbox whose clock runs two minutes behind, with
// the faults the pipeline must survive: Kingdee refusing some rows, bills
// modified while they are read, answers in a random order, answers without
// their list (null), pages repeating rows, short pages and drifting totals.
func startSandbox(t *testing.T) *sandbox.Server {
	t.Helper()
	return streamtest.StartSandbox(t, records, func(o *sandbox.Options) {
		o.Limits = false
		o.K3Cloud.StrictSignature = false
		o.Faults = core.Faults{RowFailRate: 0.1, MutateRate: 0.3, Answers: core.AnswerFaults{
			Order: "random", NullRate: 0.1, DuplicateRate: 0.1, ShortPageRate: 0.1, TotalDriftRate: 0.1,
		}}
		o.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	})
}

// windowLog is a proxy before the sandbox recording the window
// (start_time, end_time) of every stock-out query.
type windowLog struct {
	mu      sync.Mutex
	windows [][2]time.Time
	bad     []string
}

func startWindowLog(t *testing.T, target string) (*windowLog, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	wl := &windowLog{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		fields := r.URL.Query()
		if f, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range f {
				fields[k] = append(fields[k], v...)
			}
		}
		if m := fields.Get("method"); m == method || m == "hu3cgwt0tc."+method {
			s, err1 := time.ParseInLocation(time.DateTime, fields.Get("start_time"), core.Shanghai)
			e, err2 := time.ParseInLocation(time.DateTime, fields.Get("end_time"), core.Shanghai)
			wl.mu.Lock()
			if err1 != nil || err2 != nil {
				wl.bad = append(wl.bad, fmt.Sprintf("start_time %q end_time %q", fields.Get("start_time"), fields.Get("end_time")))
			} else {
				wl.windows = append(wl.windows, [2]time.Time{s, e})
			}
			wl.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return wl, srv.URL
}

// check: every query's window spans at most 60 minutes (the stream's
// max_span, below the catalogued maximum of the interface), and the
// catch-up over a month read full 60-minute windows.
func (wl *windowLog) check(t *testing.T) {
	t.Helper()
	wl.mu.Lock()
	defer wl.mu.Unlock()
	for _, b := range wl.bad {
		t.Errorf("%s query without a readable window: %s", method, b)
	}
	e, ok := catalogue.Lookup(catalogue.WDT, method)
	if !ok || e.MaxSpan() <= time.Hour {
		t.Fatalf("catalogue entry of %s: %+v (want a window wider than 60 minutes, the vendor's 30 days)", method, e)
	}
	full := 0
	for _, w := range wl.windows {
		span := w[1].Sub(w[0])
		if span > time.Hour || span < 0 {
			t.Errorf("%s window %s .. %s spans %s: more than the stream's 60 minutes", method, w[0], w[1], span)
		}
		if span >= time.Hour-time.Second {
			full++
		}
	}
	// A month read in windows of at most an hour takes at least 720 queries.
	if len(wl.windows) < 720 || full < 700 {
		t.Errorf("%d %s queries, %d of them over a full 60-minute window: want the month read hour by hour", len(wl.windows), method, full)
	}
}

func baseEnv(sb *sandbox.Server, wdtURL, state string) []string {
	w, k := sbwdt.DefaultConfig(), k3cloud.DefaultConfig()
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"WDT_BASE_URL=" + wdtURL, "WDT_SID=" + w.SID, "QIMEN_APP_KEY=" + w.QimenAppKey,
		"QIMEN_APP_SECRET=" + w.QimenAppSecret, "QIMEN_TARGET_APP_KEY=" + w.QimenTargetAppKey,
		// The sandbox runs without rate limits; the shipped 60 calls a
		// minute would make a month of hourly windows take 12 minutes.
		"WDT_CALLS_PER_MINUTE=100000",
		"K3CLOUD_URL=" + sb.URL() + "/k3cloud/", "K3CLOUD_ACCT_ID=" + k.AcctID, "K3CLOUD_USERNAME=" + k.Username,
		"K3CLOUD_APP_ID=" + k.AppID, "K3CLOUD_APP_SECRET=" + k.AppSecret,
		"ERPSYNC_STATE_DIR=" + state,
		"SYNC_START=" + time.Now().Add(-31*24*time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP=true",
	}
}

// expectation sorts the source bills by what the pipeline must do.
type expectation struct {
	written  map[string]source // by order_no (FBillNo)
	rejected map[string]string // stockout_id -> text the reason must contain
	orderNo  map[string]string // stockout_id -> order_no
	ignored  int
}

func expect(t *testing.T, sb *sandbox.Server, docs []source) expectation {
	t.Helper()
	removed := map[string]bool{}
	for _, s := range removedSKUs {
		removed[s] = true
	}
	e := expectation{written: map[string]source{}, rejected: map[string]string{}, orderNo: map[string]string{}}
	kinds := map[string]int{}
	for _, d := range docs {
		e.orderNo[d.id()] = d.OrderNo
		unknown := ""
		for _, it := range d.Details {
			if removed[it.SpecNo] && unknown == "" {
				unknown = it.SpecNo
			}
		}
		switch {
		case d.Status != 95 && d.Status != 110: // not listed without a status
			e.ignored++
		case d.ShopNo == missingShop:
			e.rejected[d.id()] = "shop " + missingShop + ": customer " + missingShop + " is missing in Kingdee BD_Customer"
			kinds["customer"]++
		case unknown != "":
			e.rejected[d.id()] = fmt.Sprintf("spec_no %q is not a Kingdee material", unknown)
			kinds["material"]++
		case sb.Env().RowFails(form + ":" + d.OrderNo):
			e.rejected[d.id()] = "k3cloud: BatchSave: code 11 " + form + " " + d.OrderNo + ": "
			kinds["kingdee"]++
		default:
			e.written[d.OrderNo] = d
			if customerOf(d.ShopNo) != d.ShopNo {
				kinds["table"]++
			}
		}
	}
	if len(e.written) == 0 || e.ignored == 0 || kinds["customer"] == 0 || kinds["material"] == 0 || kinds["kingdee"] == 0 || kinds["table"] == 0 {
		t.Fatalf("degenerate sample: %d to write, %d ignored, kinds %v", len(e.written), e.ignored, kinds)
	}
	t.Logf("%d to write, %d ignored, kinds %v", len(e.written), e.ignored, kinds)
	return e
}

// checkKingdee: K3Cloud holds exactly the bills to write, each written
// once, audited, with the customer, stock, lines and amounts of its source.
func checkKingdee(t *testing.T, sb *sandbox.Server, e expectation) {
	t.Helper()
	bills := streamtest.K3Bills(t, sb, form)
	for no, b := range bills {
		s, ok := e.written[no]
		if !ok {
			t.Errorf("%s holds %s, which should not have been written", form, no)
			continue
		}
		wantCust := customerOf(s.ShopNo)
		if b.Writes != 1 || fmt.Sprint(b.Data["FDocumentStatus"]) != "C" || streamtest.RefNumber(b.Data["FCustomerID"]) != wantCust ||
			streamtest.RefNumber(b.Data["FSaleOrgId"]) != "100" || streamtest.RefNumber(b.Data["FStockOrgId"]) != "100" {
			t.Errorf("%s %s: writes %d, status %v, customer %v (want %s), orgs %v %v", form, no, b.Writes,
				b.Data["FDocumentStatus"], b.Data["FCustomerID"], wantCust, b.Data["FSaleOrgId"], b.Data["FStockOrgId"])
		}
		rows, _ := b.Data["FEntity"].([]any)
		if len(rows) != len(s.Details) {
			t.Errorf("%s %s: %d rows, the source has %d lines", form, no, len(rows), len(s.Details))
			continue
		}
		for i, r := range rows {
			row, _ := r.(map[string]any)
			it := s.Details[i]
			all := streamtest.Fen(number(t, it.TotalAmount))
			if streamtest.RefNumber(row["FMaterialID"]) != it.SpecNo || streamtest.Num(row["FRealQty"]) != number(t, it.GoodsCount) ||
				streamtest.RefNumber(row["FStockID"]) != s.WarehouseNo ||
				streamtest.Fen(streamtest.Num(row["FTaxPrice"])) != streamtest.Fen(number(t, it.SellPrice)) ||
				streamtest.Fen(streamtest.Num(row["FAllAmount"])) != all ||
				streamtest.Fen(streamtest.Num(row["FAmount"])) != (all*100*2+113)/(113*2) || streamtest.Num(row["FEntryTaxRate"]) != 13 ||
				row["FIsFree"] != (it.GiftType != 0) {
				t.Errorf("%s %s row %d: %v, from line %+v (stock %s)", form, no, i+1, row, it, s.WarehouseNo)
			}
		}
	}
	if len(bills) != len(e.written) {
		t.Errorf("%s holds %d bills, want %d", form, len(bills), len(e.written))
	}
}

// TestIntegrationWDTSalesOutToKingdee: every shipped or completed WDT
// sales stock-out is one audited SAL_OUTSTOCK with its customer (the shop
// table, else the shop_no), stock, lines, tax-inclusive prices and amounts
// in fen; bills of a shop whose customer is not in Kingdee, with an SKU
// Kingdee does not know, or that Kingdee refuses are in the dead letter
// with the reason; the other bills (cancelled, not shipped) go nowhere. The
// stream reads 60-minute windows. A second run over the same windows
// writes nothing new.
func TestIntegrationWDTSalesOutToKingdee(t *testing.T) {
	sb := startSandbox(t)
	wl, wdtURL := startWindowLog(t, sb.URL())
	docs := streamtest.SourceDocs[source](t, sb, sbwdt.DatasetStockouts, 0)
	c := streamtest.K3{T: t, SB: sb}
	shops := map[string]bool{}
	for _, d := range docs {
		if d.ShopNo != missingShop && !shops[customerOf(d.ShopNo)] {
			shops[customerOf(d.ShopNo)] = true
			c.AddCustomers(customerOf(d.ShopNo))
		}
	}
	c.RemoveMaterials(removedSKUs...)
	e := expect(t, sb, docs)
	state := erpsynctest.StateDir(t)
	env := baseEnv(sb, wdtURL, state)
	dead := filepath.Join(state, "dead_letters", stream+".jsonl")
	ds := sb.Env().Dataset(sbwdt.DatasetStockouts)
	before := map[string]int{}
	for _, d := range ds.Truth() {
		before[d.ID] = d.Version
	}
	// modified counts each bill's modifications since the start.
	modified := func() map[string]int {
		out := map[string]int{}
		for _, d := range ds.Truth() {
			if d.Version > before[d.ID] {
				out[d.ID] = d.Version - before[d.ID]
			}
		}
		return out
	}
	payload := func(id string) string { return e.orderNo[id] }

	streamtest.RunToEnd(t, env, stream, 4*time.Minute)
	checkKingdee(t, sb, e)
	streamtest.CheckDeadLetters(t, dead, stream, e.rejected, 1, modified(), payload)
	wl.check(t)
	if len(modified()) == 0 {
		t.Error("no bill was modified while read: the mutation fault did not apply")
	}
	if n := sb.Env().Stats.FaultCount(sbwdt.Vendor, method, core.FaultNull); n == 0 {
		t.Error("no answer came without its list: the null fault did not apply")
	}
	if t.Failed() {
		return
	}

	streamtest.ForgetCheckpoint(t, state, stream)
	streamtest.RunToEnd(t, env, stream, 4*time.Minute)
	checkKingdee(t, sb, e) // still written once each
	// Failed again the same way: the dead-letter file keeps one line per
	// distinct failure, so still once each. A document modified while read
	// has a line per version it was refused in; the second run may be
	// served the older version again (the stock-out's window is on
	// consign_time), which adds a line: up to two per modification.
	twice := map[string]int{}
	for id, n := range modified() {
		twice[id] = 2 * n
	}
	streamtest.CheckDeadLetters(t, dead, stream, e.rejected, 1, twice, payload)
}
