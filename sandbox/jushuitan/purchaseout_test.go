package jushuitan

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

type purchaseoutAnswer struct {
	DataCount int  `json:"data_count"`
	PageCount int  `json:"page_count"`
	HasNext   bool `json:"has_next"`
	Datas     []struct {
		IoID         int64  `json:"io_id"`
		PoID         int64  `json:"po_id"`
		SoID         string `json:"so_id"`
		SellerID     int64  `json:"seller_id"`
		ReceiverName string `json:"receiver_name"`
		Warehouse    string `json:"warehouse"`
		WmsCoID      string `json:"wms_co_id"`
		Status       string `json:"status"`
		IoDate       string `json:"io_date"`
		Modified     string `json:"modified"`
		Remark       string `json:"remark"`
		Items        []struct {
			SkuID      string  `json:"sku_id"`
			Qty        int     `json:"qty"`
			CostPrice  float64 `json:"cost_price"`
			CostAmount float64 `json:"cost_amount"`
			IoID       int64   `json:"io_id"`
		} `json:"items"`
	} `json:"datas"`
}

func (h *harness) purchaseout(biz any) purchaseoutAnswer {
	h.t.Helper()
	return answerOf[purchaseoutAnswer](h, PathPurchaseout, biz)
}

// TestPurchaseoutReturnsReceivedGoods: every window read once sees every
// return once, each sending back goods of a Confirmed purchase-in of the
// same order, supplier and warehouse, at most the received quantity at
// the received cost.
func TestPurchaseoutReturnsReceivedGoods(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	ins := map[string]purchaseinDoc{}
	for _, d := range h.env.Dataset(DatasetPurchasein).FullTruth() {
		ins[d.ID] = d.Document.(purchaseinDoc)
	}
	out := h.sim.purchaseoutData()
	seen := map[string]int{}
	statuses := map[string]int{}
	for _, w := range windowsOf(7 * 24 * time.Hour) {
		for pi := 1; ; pi++ {
			p := h.purchaseout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_index": pi, "page_size": 50})
			if p.PageCount != (p.DataCount+49)/50 || p.HasNext != (pi < p.PageCount) {
				t.Fatalf("page header inconsistent: %+v", p)
			}
			for _, d := range p.Datas {
				seen[strconv.FormatInt(d.IoID, 10)]++
				statuses[d.Status]++
				src := ins[strconv.FormatInt(purchaseinIoBase+int64(out.src[d.IoID-purchaseoutIoBase-1])+1, 10)]
				if src.Status != "Confirmed" || d.PoID != src.PoID || d.SoID != src.SoID || d.SellerID != src.SupplierID ||
					d.ReceiverName != src.SupplierName || d.Warehouse != src.Warehouse || d.WmsCoID != strconv.FormatInt(src.WmsCoID, 10) {
					t.Fatalf("return %d does not refer to its purchase-in %d: %+v", d.IoID, src.IoID, d)
				}
				if d.IoDate <= src.IoDate || d.Modified < d.IoDate || len(d.Items) == 0 {
					t.Fatalf("return %d out %s, received %s, modified %s, %d lines", d.IoID, d.IoDate, src.IoDate, d.Modified, len(d.Items))
				}
				for _, it := range d.Items {
					ok := false
					for _, s := range src.Items {
						ok = ok || (s.SkuID == it.SkuID && it.Qty >= 1 && it.Qty <= s.Qty && s.CostPrice == it.CostPrice)
					}
					if !ok || it.IoID != d.IoID || !isFen(it.CostAmount) || int64(it.CostAmount*100+0.5) != int64(it.CostPrice*100+0.5)*int64(it.Qty) {
						t.Fatalf("return %d sends back %+v, not received in %d", d.IoID, it, src.IoID)
					}
				}
			}
			if !p.HasNext {
				break
			}
		}
	}
	truth := h.env.Dataset(DatasetPurchaseout).Truth()
	if len(seen) != len(truth) {
		t.Fatalf("saw %d distinct of %d returns", len(seen), len(truth))
	}
	for _, d := range truth {
		if seen[d.ID] != 1 {
			t.Fatalf("return %s seen %d times", d.ID, seen[d.ID])
		}
	}
	if statuses["Confirmed"] == 0 || statuses["WaitConfirm"] == 0 {
		t.Fatalf("statuses %v: without status every bill is answered", statuses)
	}
}

func TestPurchaseoutValidationAndMutation(t *testing.T) {
	h := newHarness(t, setup{records: 200})
	b := testStart.Add(-10 * 24 * time.Hour)
	ids := make([]int, 31)
	for i := range ids {
		ids[i] = purchaseoutIoBase + i + 1
	}
	for name, tc := range map[string]struct {
		biz  map[string]any
		code int
		msg  string
	}{
		"span over 7 days":  {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7*24*time.Hour + time.Second))}, codeBadParam, "7天"},
		"page size over 50": {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 51}, codeBadParam, "page_size"},
		"31 io_ids":         {map[string]any{"io_ids": ids}, codeBadParam, "io_ids"},
		"nothing":           {map[string]any{}, codeBadParam, "不能同时为空"},
		"unknown status":    {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "status": "Done"}, codeBadParam, "status"},
		"status Creating":   {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "status": "Creating"}, codeOK, ""},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.call(PathPurchaseout, tc.biz)
			if a.Code != tc.code || !strings.Contains(a.Msg, tc.msg) {
				t.Fatalf("answered %d %q, want %d with %q", a.Code, a.Msg, tc.code, tc.msg)
			}
		})
	}
	other := newHarness(t, setup{records: 200})
	if !reflect.DeepEqual(h.env.Dataset(DatasetPurchaseout).FullTruth(), other.env.Dataset(DatasetPurchaseout).FullTruth()) {
		t.Fatal("same seed, different purchase returns")
	}
	if err := h.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	w := windowsOf(7 * 24 * time.Hour)[3]
	h.purchaseout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 5})
	var touched core.TruthDoc
	for _, d := range h.env.Dataset(DatasetPurchaseout).FullTruth() {
		if d.Version == 2 {
			touched = d
		}
	}
	if touched.ID == "" || touched.Modified != cst(h.clk.Now()) {
		t.Fatalf("mutation not in the truth: %+v", touched)
	}
	if err := h.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	p := h.purchaseout(map[string]any{"io_ids": []string{touched.ID}})
	if len(p.Datas) != 1 || !strings.Contains(p.Datas[0].Remark, "第2版") || p.Datas[0].Modified != touched.Modified {
		t.Fatalf("answer %+v, truth %+v", p.Datas, touched)
	}
}
