package jushuitan

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

type purchaseinAnswer struct {
	PageSize  int  `json:"page_size"`
	PageIndex int  `json:"page_index"`
	DataCount int  `json:"data_count"`
	PageCount int  `json:"page_count"`
	HasNext   bool `json:"has_next"`
	Datas     []struct {
		IoID         int64  `json:"io_id"`
		PoID         int64  `json:"po_id"`
		SoID         string `json:"so_id"`
		SupplierID   int64  `json:"supplier_id"`
		SupplierName string `json:"supplier_name"`
		Warehouse    string `json:"warehouse"`
		WhID         string `json:"wh_id"`
		WmsCoID      int64  `json:"wms_co_id"`
		Status       string `json:"status"`
		IoDate       string `json:"io_date"`
		Modified     string `json:"modified"`
		Remark       string `json:"remark"`
		Ts           int64  `json:"ts"`
		Items        []struct {
			IoiID      int64   `json:"ioi_id"`
			IoID       int64   `json:"io_id"`
			SkuID      string  `json:"sku_id"`
			Name       string  `json:"name"`
			Qty        int     `json:"qty"`
			CostPrice  float64 `json:"cost_price"`
			CostAmount float64 `json:"cost_amount"`
		} `json:"items"`
	} `json:"datas"`
}

func (h *harness) purchasein(biz any) purchaseinAnswer {
	h.t.Helper()
	return answerOf[purchaseinAnswer](h, PathPurchasein, biz)
}

// TestPurchaseinDefaultIsConfirmed: without statuss every window answers
// the Confirmed bills only; with the other statuses the rest; together
// each document once, with master data a Kingdee mapping resolves.
func TestPurchaseinDefaultIsConfirmed(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	skus := map[string]core.SKU{}
	for _, s := range core.Catalog(h.env.Seed) {
		skus[s.ID] = s
	}
	suppliers, stocks := map[string]bool{}, map[string]bool{}
	for _, s := range core.Suppliers {
		suppliers[s.Name] = true
	}
	for _, s := range core.Stocks {
		stocks[s.Name] = true
	}
	seen := map[string]int{}
	byPo := map[int64][]string{}
	statuses := map[string]int{}
	for _, statuss := range [][]string{nil, {"WaitConfirm", "Cancelled", "Archive", "Delete", "OuterConfirming"}} {
		for _, w := range windowsOf(7 * 24 * time.Hour) {
			for pi := 1; ; pi++ {
				biz := map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_index": pi, "page_size": 50}
				if statuss != nil {
					biz["statuss"] = statuss
				}
				p := h.purchasein(biz)
				if p.PageCount != (p.DataCount+49)/50 || p.HasNext != (pi < p.PageCount) {
					t.Fatalf("page header inconsistent: %+v", p)
				}
				for _, d := range p.Datas {
					if (statuss == nil) != (d.Status == "Confirmed") {
						t.Fatalf("statuss %v served a %s bill", statuss, d.Status)
					}
					statuses[d.Status]++
					seen[strconv.FormatInt(d.IoID, 10)]++
					byPo[d.PoID] = append(byPo[d.PoID], d.SupplierName)
					if !suppliers[d.SupplierName] || !stocks[d.Warehouse] || d.SupplierID < purchaseinSupBase || d.SoID != "CG"+strconv.FormatInt(d.PoID, 10) {
						t.Fatalf("bill %d: supplier %d %q, warehouse %q, so_id %s", d.IoID, d.SupplierID, d.SupplierName, d.Warehouse, d.SoID)
					}
					if d.IoDate > d.Modified || d.Modified < cst(w[0]) || d.Modified > cst(w[1]) || len(d.Items) == 0 {
						t.Fatalf("bill %d: io_date %s, modified %s, %d lines", d.IoID, d.IoDate, d.Modified, len(d.Items))
					}
					for _, it := range d.Items {
						sku, ok := skus[it.SkuID]
						if !ok || it.Name != sku.Name || it.IoID != d.IoID || it.Qty < 10 || !isFen(it.CostPrice) || !isFen(it.CostAmount) ||
							int64(it.CostAmount*100+0.5) != int64(it.CostPrice*100+0.5)*int64(it.Qty) {
							t.Fatalf("bill %d line %+v", d.IoID, it)
						}
					}
				}
				if !p.HasNext {
					break
				}
			}
		}
	}
	truth := h.env.Dataset(DatasetPurchasein).Truth()
	if len(seen) != len(truth) {
		t.Fatalf("saw %d distinct of %d bills", len(seen), len(truth))
	}
	for _, d := range truth {
		if seen[d.ID] != 1 {
			t.Fatalf("bill %s seen %d times", d.ID, seen[d.ID])
		}
	}
	if statuses["Confirmed"] == 0 || statuses["WaitConfirm"] == 0 || statuses["Cancelled"] == 0 {
		t.Fatalf("statuses %v", statuses)
	}
	// A purchase order received in several bills keeps its supplier.
	split := 0
	for po, sups := range byPo {
		for _, s := range sups {
			if s != sups[0] {
				t.Fatalf("po %d has suppliers %v", po, sups)
			}
		}
		if len(sups) > 1 {
			split++
		}
	}
	if split == 0 {
		t.Fatal("no purchase order was received in several bills")
	}
}

func TestPurchaseinValidation(t *testing.T) {
	h := newHarness(t, setup{})
	b := testStart.Add(-10 * 24 * time.Hour)
	ids := make([]int, 31)
	for i := range ids {
		ids[i] = purchaseinIoBase + i + 1
	}
	for name, tc := range map[string]struct {
		biz  map[string]any
		code int
		msg  string
	}{
		"span over 7 days":  {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7*24*time.Hour + time.Second))}, codeBadParam, "7天"},
		"span of 7 days":    {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7 * 24 * time.Hour))}, codeOK, ""},
		"page size over 50": {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 51}, codeBadParam, "page_size"},
		"31 io_ids":         {map[string]any{"io_ids": ids}, codeBadParam, "io_ids"},
		"nothing":           {map[string]any{}, codeBadParam, "不能同时为空"},
		"unknown status":    {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "statuss": []string{"Done"}}, codeBadParam, "statuss"},
		"status not array":  {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "statuss": "Confirmed"}, codeBadParam, "statuss"},
		"date_type 1":       {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "date_type": 1}, codeBadParam, "date_type"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.call(PathPurchasein, tc.biz)
			if a.Code != tc.code || !strings.Contains(a.Msg, tc.msg) {
				t.Fatalf("answered %d %q, want %d with %q", a.Code, a.Msg, tc.code, tc.msg)
			}
		})
	}
	// po_ids find every Confirmed receipt of the order.
	all := h.purchasein(map[string]any{"io_ids": []int{purchaseinIoBase + 1, purchaseinIoBase + 2, purchaseinIoBase + 3},
		"statuss": purchaseinStatuses})
	if len(all.Datas) != 3 {
		t.Fatalf("io_ids with every status: %d bills", len(all.Datas))
	}
	po := all.Datas[0].PoID
	r := h.purchasein(map[string]any{"po_ids": []int64{po}, "statuss": purchaseinStatuses})
	if r.DataCount < 1 {
		t.Fatalf("po_ids %d found nothing", po)
	}
	for _, d := range r.Datas {
		if d.PoID != po {
			t.Fatalf("po_ids %d served %d", po, d.PoID)
		}
	}
}

func TestPurchaseinMutationAndDeterminism(t *testing.T) {
	h := newHarness(t, setup{records: 200})
	other := newHarness(t, setup{records: 200})
	if !reflect.DeepEqual(h.env.Dataset(DatasetPurchasein).FullTruth(), other.env.Dataset(DatasetPurchasein).FullTruth()) {
		t.Fatal("same seed, different purchase-ins")
	}
	if err := h.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	w := windowsOf(7 * 24 * time.Hour)[3]
	h.purchasein(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 5})
	var touched core.TruthDoc
	for _, d := range h.env.Dataset(DatasetPurchasein).FullTruth() {
		if d.Version == 2 {
			touched = d
		}
	}
	if touched.ID == "" || touched.Modified != cst(h.clk.Now()) {
		t.Fatalf("mutation not in the truth: %+v", touched)
	}
	doc := touched.Document.(purchaseinDoc)
	if err := h.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	p := h.purchasein(map[string]any{"io_ids": []string{touched.ID}})
	if len(p.Datas) != 1 || p.Datas[0].Remark != doc.Remark || !strings.Contains(doc.Remark, "第2版") || p.Datas[0].Ts != doc.Ts {
		t.Fatalf("answer %+v, truth %+v", p.Datas, doc)
	}
}
