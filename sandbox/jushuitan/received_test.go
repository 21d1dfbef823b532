package jushuitan

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

type receivedAnswer struct {
	PageSize  int  `json:"page_size"`
	PageIndex int  `json:"page_index"`
	DataCount int  `json:"data_count"`
	PageCount int  `json:"page_count"`
	HasNext   bool `json:"has_next"`
	Datas     []struct {
		IoID     int64  `json:"io_id"`
		AsID     int64  `json:"as_id"`
		OID      int64  `json:"o_id"`
		SoID     string `json:"so_id"`
		ShopID   int64  `json:"shop_id"`
		Status   string `json:"status"`
		IoDate   string `json:"io_date"`
		Modified string `json:"modified"`
		Remark   string `json:"aftersale_remark"`
		Ts       int64  `json:"ts"`
		WhID     int    `json:"wh_id"`
		Items    []struct {
			SkuID      string  `json:"sku_id"`
			Qty        int     `json:"qty"`
			SalePrice  float64 `json:"sale_price"`
			SaleAmount float64 `json:"sale_amount"`
			IoiID      string  `json:"ioi_id"`
		} `json:"items"`
	} `json:"datas"`
}

func (h *harness) received(biz any) receivedAnswer {
	h.t.Helper()
	return answerOf[receivedAnswer](h, PathReceived, biz)
}

func TestReceivedPagingAndReferences(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	// The sales-out documents, by io_id, as the truth renders them.
	shipped := map[string]saleoutDoc{}
	for _, d := range h.env.Dataset(DatasetSaleout).FullTruth() {
		shipped[d.ID] = d.Document.(saleoutDoc)
	}
	recv := h.sim.receivedData()
	seen := map[int64]int{}
	for _, w := range windowsOf(7 * 24 * time.Hour) {
		for pi := 1; ; pi++ {
			p := h.received(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_index": pi, "page_size": 50})
			if p.PageCount != (p.DataCount+49)/50 || p.HasNext != (pi < p.PageCount) {
				t.Fatalf("page header inconsistent: %+v", p)
			}
			for _, d := range p.Datas {
				seen[d.IoID]++
				src := shipped[strconv.FormatInt(saleoutIoBase+int64(recv.src[d.IoID-receivedIoBase-1])+1, 10)]
				if src.Status != "Confirmed" || d.OID != src.OID || d.SoID != src.SoID || d.ShopID != src.ShopID {
					t.Fatalf("receipt %d does not refer to its shipped order: %+v vs %d/%s/%d/%s", d.IoID, d, src.OID, src.SoID, src.ShopID, src.Status)
				}
				if d.IoDate < src.IoDate || d.Modified < d.IoDate {
					t.Fatalf("receipt %d received %s, shipped %s, modified %s", d.IoID, d.IoDate, src.IoDate, d.Modified)
				}
				if len(d.Items) == 0 || d.WhID < 1 || d.WhID > 4 {
					t.Fatalf("receipt %d: %d lines, wh_id %d", d.IoID, len(d.Items), d.WhID)
				}
				for _, it := range d.Items {
					ok := false
					for _, s := range src.Items {
						ok = ok || (s.SkuID == it.SkuID && it.Qty >= 1 && it.Qty <= s.Qty && s.SalePrice == it.SalePrice)
					}
					if !ok || !isFen(it.SaleAmount) {
						t.Fatalf("receipt %d returns %+v, not shipped in %d", d.IoID, it, src.IoID)
					}
				}
			}
			if !p.HasNext {
				break
			}
		}
	}
	if len(seen) != 300 {
		t.Fatalf("saw %d distinct receipts of 300", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("receipt %d seen %d times", id, n)
		}
	}
}

func TestReceivedValidation(t *testing.T) {
	h := newHarness(t, setup{})
	b := testStart.Add(-10 * 24 * time.Hour)
	ids := make([]int, 51)
	for i := range ids {
		ids[i] = receivedAsBase + i + 1
	}
	for name, tc := range map[string]struct {
		biz  map[string]any
		code int
		msg  string
	}{
		"span over 7 days":  {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7*24*time.Hour + time.Second))}, codeBadParam, "7天"},
		"page size over 50": {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 51}, codeBadParam, "page_size"},
		"51 as_ids":         {map[string]any{"as_ids": ids}, codeBadParam, "as_ids"},
		"nothing":           {map[string]any{}, codeBadParam, "不能同时为空"},
		"date_type 4":       {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "date_type": 4}, codeOK, ""},
		"date_type 2":       {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "date_type": 2}, codeBadParam, "date_type"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.call(PathReceived, tc.biz)
			if a.Code != tc.code || !strings.Contains(a.Msg, tc.msg) {
				t.Fatalf("answered %d %q, want %d with %q", a.Code, a.Msg, tc.code, tc.msg)
			}
		})
	}
	p := h.sys(map[string]any{"as_ids": []int{receivedAsBase + 1}})
	p["sign"] = testSign(p, "wrong-secret")
	wantCode(t, h.post(PathReceived, p), codeBadSign)
	q := h.received(map[string]any{"as_ids": []int{receivedAsBase + 1}})
	if len(q.Datas) != 1 || q.Datas[0].AsID != receivedAsBase+1 {
		t.Fatalf("as_ids lookup: %+v", q.Datas)
	}
	// so_ids find every receipt of the order.
	r := h.received(map[string]any{"so_ids": []string{q.Datas[0].SoID}})
	if r.DataCount < 1 {
		t.Fatalf("so_ids %s found nothing", q.Datas[0].SoID)
	}
	for _, d := range r.Datas {
		if d.SoID != q.Datas[0].SoID {
			t.Fatalf("so_ids %s served %s", q.Datas[0].SoID, d.SoID)
		}
	}
}

func TestReceivedMutationAndDeterminism(t *testing.T) {
	h := newHarness(t, setup{records: 200})
	other := newHarness(t, setup{records: 200})
	if !reflect.DeepEqual(h.env.Dataset(DatasetReceived).FullTruth(), other.env.Dataset(DatasetReceived).FullTruth()) {
		t.Fatal("same seed, different receipts")
	}
	if err := h.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	w := windowsOf(7 * 24 * time.Hour)[3]
	h.received(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 5})
	var touched core.TruthDoc
	for _, d := range h.env.Dataset(DatasetReceived).FullTruth() {
		if d.Version == 2 {
			touched = d
		}
	}
	if touched.ID == "" || touched.Modified != cst(h.clk.Now()) {
		t.Fatalf("mutation not in the truth: %+v", touched)
	}
	doc := touched.Document.(receivedDoc)
	if err := h.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	p := h.received(map[string]any{"io_ids": []string{touched.ID}})
	if len(p.Datas) != 1 || p.Datas[0].Remark != doc.AftersaleRemark || !strings.Contains(doc.AftersaleRemark, "第2版") || p.Datas[0].Ts != doc.Ts {
		t.Fatalf("answer %+v, truth %+v", p.Datas, doc)
	}
}
