package jushuitan

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

type saleoutItemAnswer struct {
	IoiID        int64   `json:"ioi_id"`
	SkuID        string  `json:"sku_id"`
	Name         string  `json:"name"`
	Qty          int     `json:"qty"`
	SalePrice    float64 `json:"sale_price"`
	SaleAmount   float64 `json:"sale_amount"`
	CombineSkuID string  `json:"combine_sku_id"`
	IsGift       bool    `json:"is_gift"`
	OiID         string  `json:"oi_id"`
}

type saleoutDocAnswer struct {
	IoID      int64               `json:"io_id"`
	OID       int64               `json:"o_id"`
	SoID      string              `json:"so_id"`
	ShopID    int64               `json:"shop_id"`
	ShopName  string              `json:"shop_name"`
	WmsCoID   int64               `json:"wms_co_id"`
	Status    string              `json:"status"`
	IoDate    string              `json:"io_date"`
	Modified  string              `json:"modified"`
	Remark    string              `json:"remark"`
	Ts        int64               `json:"ts"`
	PayAmount float64             `json:"pay_amount"`
	Freight   float64             `json:"freight"`
	Free      float64             `json:"free_amount"`
	Items     []saleoutItemAnswer `json:"items"`
}

type saleoutAnswer struct {
	PageSize  int                `json:"page_size"`
	PageIndex int                `json:"page_index"`
	DataCount int                `json:"data_count"`
	PageCount int                `json:"page_count"`
	HasNext   bool               `json:"has_next"`
	Datas     []saleoutDocAnswer `json:"datas"`
}

func (h *harness) saleout(biz any) saleoutAnswer {
	h.t.Helper()
	return answerOf[saleoutAnswer](h, PathSaleout, biz)
}

// readSaleoutWindows pages every 7-day window of the data span and returns
// every document served.
func (h *harness) readSaleoutWindows(size int) []saleoutDocAnswer {
	h.t.Helper()
	var out []saleoutDocAnswer
	for _, w := range windowsOf(7 * 24 * time.Hour) {
		for pi := 1; ; pi++ {
			p := h.saleout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_index": pi, "page_size": size})
			if p.PageIndex != pi || p.PageSize != size || p.PageCount != (p.DataCount+size-1)/size || p.HasNext != (pi < p.PageCount) {
				h.t.Fatalf("page header inconsistent: %+v", p)
			}
			for k, d := range p.Datas {
				if d.Modified < cst(w[0]) || d.Modified > cst(w[1]) {
					h.t.Fatalf("document %d modified %s outside window", d.IoID, d.Modified)
				}
				if k > 0 {
					prev := p.Datas[k-1]
					if prev.Modified > d.Modified || (prev.Modified == d.Modified && prev.IoID >= d.IoID) {
						h.t.Fatalf("page not ordered by (modified, io_id): %d then %d", prev.IoID, d.IoID)
					}
				}
			}
			out = append(out, p.Datas...)
			if !p.HasNext {
				break
			}
		}
	}
	return out
}

func TestSaleoutPagingExactlyOnce(t *testing.T) {
	h := newHarness(t, setup{records: 400})
	seen := map[string]int{}
	for _, d := range h.readSaleoutWindows(50) {
		seen[strconv.FormatInt(d.IoID, 10)]++
	}
	truth := h.env.Dataset(DatasetSaleout).Truth()
	if len(truth) != 400 || len(seen) != len(truth) {
		t.Fatalf("saw %d distinct of %d documents", len(seen), len(truth))
	}
	for _, d := range truth {
		if seen[d.ID] != 1 {
			t.Fatalf("document %s seen %d times", d.ID, seen[d.ID])
		}
	}
	// start_ts paging, as the doc recommends, sees every document once too.
	byTS := map[int64]int{}
	var last int64 = -1
	for start := int64(0); ; {
		p := h.saleout(map[string]any{"start_ts": start, "is_get_total": false, "page_size": 50})
		for _, d := range p.Datas {
			if d.Ts <= last {
				t.Fatalf("ts not ascending: %d after %d", d.Ts, last)
			}
			last = d.Ts
			byTS[d.IoID]++
		}
		if len(p.Datas) < 50 {
			break
		}
		start = last + 1
	}
	if len(byTS) != 400 {
		t.Fatalf("start_ts paging saw %d documents, want 400", len(byTS))
	}
}

func TestSaleoutValidation(t *testing.T) {
	h := newHarness(t, setup{})
	b := testStart.Add(-10 * 24 * time.Hour)
	ids := make([]string, 51)
	for i := range ids {
		ids[i] = strconv.Itoa(saleoutIoBase + i + 1)
	}
	for name, tc := range map[string]struct {
		biz  map[string]any
		code int
		msg  string
	}{
		"span over 7 days":       {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7*24*time.Hour + time.Second))}, codeBadParam, "7天"},
		"span of exactly 7 days": {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7 * 24 * time.Hour))}, codeOK, ""},
		"page size over 50":      {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 51}, codeBadParam, "page_size"},
		"page size 50":           {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 50}, codeOK, ""},
		"page index 0":           {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_index": 0}, codeBadParam, "page_index"},
		"one end only":           {map[string]any{"modified_begin": cst(b)}, codeBadParam, "同时存在"},
		"nothing to select":      {map[string]any{"page_size": 10}, codeBadParam, "不能同时为空"},
		"51 io_ids":              {map[string]any{"io_ids": ids}, codeBadParam, "io_ids"},
		"unknown status":         {map[string]any{"so_ids": []string{"1"}, "status": "Shipped"}, codeBadParam, "status"},
		"bad date format":        {map[string]any{"modified_begin": "2024/06/01", "modified_end": "2024/06/02"}, codeBadParam, "yyyy-MM-dd"},
		"date_type 1":            {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "date_type": 1}, codeBadParam, "date_type"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.call(PathSaleout, tc.biz)
			if a.Code != tc.code || !strings.Contains(a.Msg, tc.msg) {
				t.Fatalf("answered %d %q, want %d with %q", a.Code, a.Msg, tc.code, tc.msg)
			}
			if tc.code != codeOK && string(a.Data) != "null" {
				t.Fatalf("error answer with data %s", a.Data)
			}
		})
	}
	if n := h.env.Stats.Count(Vendor, PathSaleout, strconv.Itoa(codeBadParam)); n != 9 {
		t.Fatalf("stats count %d refusals, want 9", n)
	}
}

func TestSaleoutSignatureRequired(t *testing.T) {
	h := newHarness(t, setup{})
	w := windowsOf(7 * 24 * time.Hour)[0]
	biz := map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1])}
	p := h.sys(biz)
	p["sign"] = testSign(p, "wrong-secret")
	wantCode(t, h.post(PathSaleout, p), codeBadSign)
	p = h.sys(biz)
	p["sign"] = ""
	wantCode(t, h.post(PathSaleout, p), codeBadSign)
	p = h.sys(biz)
	p["access_token"] = "nope"
	wantCode(t, h.post(PathSaleout, p), codeBadToken)
	wantCode(t, h.call(PathSaleout, biz), codeOK)
}

func TestSaleoutMutationVisibleInTruth(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	if err := h.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	w := windowsOf(7 * 24 * time.Hour)[1]
	h.saleout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 5})
	var touched core.TruthDoc
	for _, d := range h.env.Dataset(DatasetSaleout).FullTruth() {
		if d.Version == 2 {
			touched = d
		}
	}
	if touched.ID == "" {
		t.Fatal("mutate_rate 1 touched nothing")
	}
	if touched.Modified != cst(h.clk.Now()) {
		t.Fatalf("truth modified %s, want now %s", touched.Modified, cst(h.clk.Now()))
	}
	full := touched.Document.(saleoutDoc)
	if !strings.Contains(full.Remark, "第2版") || full.Ts < saleoutTSBase+300 {
		t.Fatalf("full truth does not show the change: remark %q ts %d", full.Remark, full.Ts)
	}
	if err := h.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	p := h.saleout(map[string]any{"io_ids": []string{touched.ID}})
	if len(p.Datas) != 1 || p.Datas[0].Remark != full.Remark || p.Datas[0].Modified != touched.Modified || p.Datas[0].Ts != full.Ts {
		t.Fatalf("answer disagrees with the truth: %+v vs %+v", p.Datas, full)
	}
	if v := h.env.Dataset(DatasetSaleout).ServedVersion(touched.ID); v != 2 {
		t.Fatalf("served version %d, want 2", v)
	}
	// The modified window around now finds the moved document.
	r := h.saleout(map[string]any{"modified_begin": cst(h.clk.Now().Add(-time.Second)), "modified_end": cst(h.clk.Now())})
	if r.DataCount != 1 || strconv.FormatInt(r.Datas[0].IoID, 10) != touched.ID {
		t.Fatalf("window around now: %+v", r)
	}
}

func TestSaleoutDeterministic(t *testing.T) {
	a := newHarness(t, setup{records: 200})
	b := newHarness(t, setup{records: 200})
	ta, tb := a.env.Dataset(DatasetSaleout).FullTruth(), b.env.Dataset(DatasetSaleout).FullTruth()
	if !reflect.DeepEqual(ta, tb) {
		t.Fatal("same seed, different sales-out data")
	}
	// Rendering is a pure function of the row: twice the same.
	if again := a.env.Dataset(DatasetSaleout).FullTruth(); !reflect.DeepEqual(ta, again) {
		t.Fatal("rendering the truth twice differs")
	}
	env, err := core.NewEnv(core.Options{Seed: 8, Records: 200, Now: a.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	if _, err := New(env, DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(ta, env.Dataset(DatasetSaleout).FullTruth()) {
		t.Fatal("another seed gave the same data")
	}
}

func isFen(v float64) bool { return math.Abs(v*100-math.Round(v*100)) < 1e-6 }

func TestSaleoutRealisticData(t *testing.T) {
	h := newHarness(t, setup{records: 500})
	docs := h.readSaleoutWindows(50)
	statuses := map[string]int{}
	byOrder := map[int64][]saleoutDocAnswer{}
	var multiLine, combined, gifts int
	for _, d := range docs {
		statuses[d.Status]++
		byOrder[d.OID] = append(byOrder[d.OID], d)
		if len(d.Items) == 0 {
			t.Fatalf("document %d without lines", d.IoID)
		}
		if len(d.Items) > 1 {
			multiLine++
		}
		if d.ShopName == "" || !strings.ContainsFunc(d.ShopName, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			t.Fatalf("document %d: shop name %q is not Chinese", d.IoID, d.ShopName)
		}
		var sum float64
		combos := map[string]int{}
		for _, it := range d.Items {
			if !isFen(it.SalePrice) || !isFen(it.SaleAmount) {
				t.Fatalf("document %d: amounts beyond the fen: %v %v", d.IoID, it.SalePrice, it.SaleAmount)
			}
			if math.Abs(it.SalePrice*float64(it.Qty)-it.SaleAmount) > 1e-6 {
				t.Fatalf("document %d: %v x %d != %v", d.IoID, it.SalePrice, it.Qty, it.SaleAmount)
			}
			if it.IsGift {
				gifts++
			}
			if it.CombineSkuID != "" {
				combos[it.CombineSkuID]++
			}
			sum += it.SaleAmount
		}
		for id, n := range combos {
			if n < 2 {
				t.Fatalf("document %d: combined SKU %s with %d sub-item", d.IoID, id, n)
			}
			combined++
		}
		if !isFen(d.PayAmount) || math.Abs(sum+d.Freight-d.Free-d.PayAmount) > 1e-6 {
			t.Fatalf("document %d: pay_amount %v, lines %v + freight %v - free %v", d.IoID, d.PayAmount, sum, d.Freight, d.Free)
		}
	}
	partial := 0
	for o, ds := range byOrder {
		so := ds[0].SoID
		for _, d := range ds {
			if d.SoID != so || d.ShopID != ds[0].ShopID {
				t.Fatalf("order %d: shipments disagree on so_id or shop", o)
			}
		}
		if len(ds) > 1 {
			partial++
			// The shipments carry different lines of the order.
			lines := map[string]int64{}
			for _, d := range ds {
				for _, it := range d.Items {
					if other, ok := lines[it.OiID]; ok && other != d.IoID {
						t.Fatalf("order %d: line %s shipped in %d and %d", o, it.OiID, other, d.IoID)
					}
					lines[it.OiID] = d.IoID
				}
			}
		}
	}
	t.Logf("%d documents, %d orders (%d partially shipped), %d multi-line, %d combined SKUs, %d gifts, statuses %v",
		len(docs), len(byOrder), partial, multiLine, combined, gifts, statuses)
	if partial < 10 || multiLine < 100 || combined < 20 || gifts < 5 {
		t.Fatalf("too few realistic cases: %d partial, %d multi-line, %d combined, %d gifts", partial, multiLine, combined, gifts)
	}
	for _, st := range []string{"Confirmed", "WaitConfirm", "Delete", "Cancelled"} {
		if statuses[st] == 0 {
			t.Fatalf("no %s documents: %v", st, statuses)
		}
	}
	// Filters: status and so_ids select what they name.
	var some saleoutDocAnswer
	for _, ds := range byOrder {
		if len(ds) > 1 {
			some = ds[0]
			break
		}
	}
	p := h.saleout(map[string]any{"so_ids": []string{some.SoID}})
	if p.DataCount != len(byOrder[some.OID]) {
		t.Fatalf("so_ids %s: %d documents, want %d", some.SoID, p.DataCount, len(byOrder[some.OID]))
	}
	q := h.saleout(map[string]any{"o_ids": []string{strconv.FormatInt(some.OID, 10)}, "status": "Cancelled"})
	for _, d := range q.Datas {
		if d.Status != "Cancelled" || d.OID != some.OID {
			t.Fatalf("o_ids with status Cancelled served %+v", d)
		}
	}
}

func TestSaleoutInterfaceFaults(t *testing.T) {
	h := newHarness(t, setup{records: 200})
	// Faults targeted at the sales-out interface leave other/inout alone.
	f := core.Faults{Interfaces: core.InterfaceFaults{DatasetSaleout: {NullRate: 1}}}
	if err := h.env.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	w := windowsOf(7 * 24 * time.Hour)[1]
	biz := map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1])}
	for range 5 {
		p := h.saleout(biz)
		if len(p.Datas) != 0 {
			t.Fatalf("null_rate 1 served %d documents", len(p.Datas))
		}
	}
	if n := h.env.Stats.FaultCount(Vendor, PathSaleout, core.FaultNull); n != 5 {
		t.Fatalf("%d null faults recorded, want 5", n)
	}
	if p := h.inout(biz); len(p.Datas) == 0 {
		t.Fatal("other/inout got the sales-out faults")
	}
	// Descending order reverses the documented one.
	f = core.Faults{Interfaces: core.InterfaceFaults{DatasetSaleout: {Order: core.OrderDesc}}}
	if err := h.env.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	p := h.saleout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 50})
	for k := 1; k < len(p.Datas); k++ {
		if p.Datas[k-1].Modified < p.Datas[k].Modified {
			t.Fatalf("desc order broken at %d", k)
		}
	}
}

func TestSaleoutAnswerFaultsCounted(t *testing.T) {
	h := newHarness(t, setup{records: 400})
	f := core.Faults{Interfaces: core.InterfaceFaults{DatasetSaleout: {TotalDriftRate: 1, DuplicateRate: 1, ShortPageRate: 1}}}
	if err := h.env.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	w := windowsOf(7 * 24 * time.Hour)[1]
	var rows int
	for pi := 1; pi <= 3; pi++ {
		p := h.saleout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_index": pi, "page_size": 20})
		rows += len(p.Datas)
	}
	for _, kind := range []string{core.FaultTotalDrift, core.FaultDuplicate, core.FaultShortPage} {
		if h.env.Stats.FaultCount(Vendor, PathSaleout, kind) == 0 {
			t.Fatalf("no %s fault recorded on %s", kind, PathSaleout)
		}
		if h.env.Stats.FaultCount(Vendor, PathOtherInout, kind) != 0 {
			t.Fatalf("%s recorded on other/inout", kind)
		}
	}
	if rows == 0 || rows >= 60 {
		t.Fatalf("short pages served %d rows over 3 pages of 20", rows)
	}
}

func TestSaleoutIntegersFit32Bits(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	lines := map[int64]bool{}
	for _, d := range h.readSaleoutWindows(50) {
		for _, v := range []int64{d.IoID, d.OID, d.Ts, d.ShopID, d.WmsCoID} {
			if v < 0 || v > math.MaxInt32 {
				t.Fatalf("document %d: %d does not fit the published Integer", d.IoID, v)
			}
		}
		for _, it := range d.Items {
			if it.IoiID <= 0 || it.IoiID > math.MaxInt32 || lines[it.IoiID] {
				t.Fatalf("document %d: ioi_id %d out of range or repeated", d.IoID, it.IoiID)
			}
			lines[it.IoiID] = true
		}
	}
}
