package jushuitan

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// readPages pages every 7-day window of the data span at size and returns
// each window's answers' documents under list, decoded into T; it checks
// that every page names its list and that has_next agrees with the totals
// (when total is set) or with a full page.
func readPages[T any](h *harness, path, list string, size int, total bool, extra map[string]any) []T {
	h.t.Helper()
	var out []T
	for _, w := range windowsOf(7 * 24 * time.Hour) {
		for pi := 1; ; pi++ {
			biz := map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_index": pi, "page_size": size}
			for k, v := range extra {
				biz[k] = v
			}
			a := h.call(path, biz)
			wantCode(h.t, a, 0)
			var page map[string]json.RawMessage
			if err := json.Unmarshal(a.Data, &page); err != nil {
				h.t.Fatalf("%s data: %v", path, err)
			}
			var docs []T
			if err := json.Unmarshal(page[list], &docs); err != nil {
				h.t.Fatalf("%s: data.%s: %v (%s)", path, list, err, a.Data)
			}
			var hasNext bool
			_ = json.Unmarshal(page["has_next"], &hasNext)
			_, hasCount := page["data_count"]
			if hasCount != total {
				h.t.Fatalf("%s: data_count present %v, want %v", path, hasCount, total)
			}
			if total {
				var count int
				_ = json.Unmarshal(page["data_count"], &count)
				if hasNext != (pi*size < count) {
					h.t.Fatalf("%s page %d: has_next %v with data_count %d", path, pi, hasNext, count)
				}
			}
			out = append(out, docs...)
			if !hasNext {
				break
			}
		}
	}
	return out
}

type orderAnswer struct {
	OID       int64   `json:"o_id"`
	SoID      string  `json:"so_id"`
	ShopID    int64   `json:"shop_id"`
	Status    string  `json:"status"`
	Modified  string  `json:"modified"`
	OrderDate string  `json:"order_date"`
	SendDate  string  `json:"send_date"`
	PayAmount float64 `json:"pay_amount"`
	Freight   string  `json:"freight"`
	Remark    string  `json:"remark"`
	Ts        int64   `json:"ts"`
	Items     []struct {
		OiID       int64   `json:"oi_id"`
		SkuID      string  `json:"sku_id"`
		Qty        int     `json:"qty"`
		Price      float64 `json:"price"`
		Amount     float64 `json:"amount"`
		SkuType    string  `json:"sku_type"`
		IsGift     bool    `json:"is_gift"`
		ItemStatus string  `json:"item_status"`
	} `json:"items"`
}

// TestOrdersAreTheShippedOrders: the orders answer in data.orders, every
// order once; the shipped ones agree with their sales-out documents
// (shop, amounts, combined SKUs, status), the others never shipped.
func TestOrdersAreTheShippedOrders(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	orders := readPages[orderAnswer](h, PathOrders, "orders", 100, true, nil)
	truth := h.env.Dataset(DatasetOrders).Truth()
	seen := map[string]int{}
	for _, o := range orders {
		seen[strconv.FormatInt(o.OID, 10)]++
	}
	if len(seen) != len(truth) || len(truth) != 300 {
		t.Fatalf("saw %d distinct of %d orders", len(seen), len(truth))
	}
	for _, d := range truth {
		if seen[d.ID] != 1 {
			t.Fatalf("order %s seen %d times", d.ID, seen[d.ID])
		}
	}
	shipments := map[int64][]saleoutDoc{}
	for _, d := range h.env.Dataset(DatasetSaleout).FullTruth() {
		s := d.Document.(saleoutDoc)
		shipments[s.OID] = append(shipments[s.OID], s)
	}
	so := h.sim.saleoutData()
	statuses := map[string]int{}
	combos := 0
	for _, o := range orders {
		statuses[o.Status]++
		if o.SoID != strconv.FormatInt(saleoutSoBase+o.OID-saleoutOBase, 10) || len(o.Items) == 0 || o.OrderDate > o.Modified {
			t.Fatalf("order %d: so_id %s, %d lines, ordered %s, modified %s", o.OID, o.SoID, len(o.Items), o.OrderDate, o.Modified)
		}
		var lines int64
		for _, it := range o.Items {
			if !isFen(it.Price) || int64(it.Amount*100+0.5) != int64(it.Price*100+0.5)*int64(it.Qty) || (it.IsGift && it.Price != 0) {
				t.Fatalf("order %d line %+v", o.OID, it)
			}
			lines += int64(it.Amount*100 + 0.5)
		}
		freight, _ := strconv.ParseFloat(o.Freight, 64)
		ships := shipments[o.OID]
		if len(ships) == 0 {
			if o.Status == "Sent" || o.Status == "Delivering" || o.SendDate != "" {
				t.Fatalf("order %d never shipped but is %s (sent %s)", o.OID, o.Status, o.SendDate)
			}
			continue
		}
		lo, hi := so.orderRows(o.OID - saleoutOBase)
		if hi-lo != int(so.parts[lo]) {
			continue // its last shipment lies beyond the dataset's end
		}
		var paid int64
		waiting, sent := false, false
		for _, s := range ships {
			if s.ShopID != o.ShopID {
				t.Fatalf("order %d in shop %d shipped from shop %d", o.OID, o.ShopID, s.ShopID)
			}
			paid += int64(s.PayAmount*100 + 0.5)
			waiting = waiting || s.Status == "WaitConfirm"
			sent = sent || s.Status == "Confirmed"
			if s.Status == "Confirmed" && s.IoDate > o.SendDate {
				t.Fatalf("order %d sent %s before its shipment %d went out %s", o.OID, o.SendDate, s.IoID, s.IoDate)
			}
		}
		want := "Cancelled"
		if waiting {
			want = "Delivering"
		} else if sent {
			want = "Sent"
		}
		if o.Status != want {
			t.Fatalf("order %d is %s, its shipments make it %s", o.OID, o.Status, want)
		}
		// What the order asks is what its shipments charged.
		if int64(o.PayAmount*100+0.5) != paid || !isFen(freight) {
			t.Fatalf("order %d pays %.2f (freight %s), its shipments %.2f", o.OID, o.PayAmount, o.Freight, fen(paid))
		}
		for _, it := range o.Items {
			if it.SkuType != "combine" {
				continue
			}
			combos++
			found := false
			for _, s := range ships {
				for _, si := range s.Items {
					found = found || (si.CombineSkuID == it.SkuID && si.Qty == it.Qty)
				}
			}
			if !found {
				t.Fatalf("order %d: combined SKU %s shipped in no sub-item", o.OID, it.SkuID)
			}
		}
	}
	for _, st := range []string{"Sent", "Delivering", "Cancelled", "WaitPay", "WaitConfirm"} {
		if statuses[st] == 0 {
			t.Fatalf("no %s order: %v", st, statuses)
		}
	}
	if combos == 0 {
		t.Fatal("no combined SKU line")
	}
}

func TestOrdersValidationAndMutation(t *testing.T) {
	h := newHarness(t, setup{records: 200})
	other := newHarness(t, setup{records: 200})
	if !reflect.DeepEqual(h.env.Dataset(DatasetOrders).FullTruth(), other.env.Dataset(DatasetOrders).FullTruth()) {
		t.Fatal("same seed, different orders")
	}
	b := testStart.Add(-10 * 24 * time.Hour)
	so := make([]string, 21)
	for i := range so {
		so[i] = strconv.Itoa(saleoutSoBase + i)
	}
	for name, tc := range map[string]struct {
		biz  map[string]any
		code int
		msg  string
	}{
		"span over 7 days":   {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7*24*time.Hour + time.Second))}, codeBadParam, "7天"},
		"page size over 100": {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 101}, codeBadParam, "page_size"},
		"page size 100":      {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 100}, codeOK, ""},
		"21 so_ids":          {map[string]any{"so_ids": so}, codeBadParam, "so_ids"},
		"nothing":            {map[string]any{}, codeBadParam, "不能同时为空"},
		"date_type 3":        {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "date_type": 3}, codeBadParam, "date_type"},
		"unknown status":     {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "status": "Done"}, codeBadParam, "status"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.call(PathOrders, tc.biz)
			if a.Code != tc.code || !strings.Contains(a.Msg, tc.msg) {
				t.Fatalf("answered %d %q, want %d with %q", a.Code, a.Msg, tc.code, tc.msg)
			}
		})
	}
	// o_ids and so_ids name orders; status filters.
	sent := readPages[orderAnswer](h, PathOrders, "orders", 50, true, map[string]any{"status": "Sent"})
	if len(sent) == 0 {
		t.Fatal("no Sent order")
	}
	for _, o := range sent {
		if o.Status != "Sent" {
			t.Fatalf("status Sent served %s", o.Status)
		}
	}
	byIDs := readPages[orderAnswer](h, PathOrders, "orders", 50, true, map[string]any{"o_ids": []int64{sent[0].OID}, "so_ids": []string{sent[1].SoID}})
	if len(byIDs) < 2 {
		t.Fatalf("o_ids and so_ids found %d orders", len(byIDs))
	}
	if err := h.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	w := windowsOf(7 * 24 * time.Hour)[3]
	h.call(PathOrders, map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 5})
	var touched core.TruthDoc
	for _, d := range h.env.Dataset(DatasetOrders).FullTruth() {
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
	got := readPages[orderAnswer](h, PathOrders, "orders", 50, true, map[string]any{"o_ids": []string{touched.ID}})
	doc := touched.Document.(orderDoc)
	if len(got) != 1 || got[0].Remark != doc.Remark || !strings.Contains(doc.Remark, "第2版") || got[0].Ts != doc.Ts || doc.Ts < ordersTSBase+200 {
		t.Fatalf("answer %+v, truth %+v", got, doc)
	}
}

type refundAnswer struct {
	AsID        int64   `json:"as_id"`
	OID         int64   `json:"o_id"`
	SoID        string  `json:"so_id"`
	Status      string  `json:"status"`
	GoodStatus  string  `json:"good_status"`
	Type        string  `json:"type"`
	AsDate      string  `json:"as_date"`
	Modified    string  `json:"modified"`
	Refund      float64 `json:"refund"`
	ShopBuyerID string  `json:"shop_buyer_id"`
	Ts          string  `json:"ts"`
	Items       []struct {
		SkuID     string  `json:"sku_id"`
		Qty       int     `json:"qty"`
		RQty      int     `json:"r_qty"`
		Price     float64 `json:"price"`
		Amount    float64 `json:"amount"`
		OuterOiID string  `json:"outer_oi_id"`
	} `json:"items"`
}

// TestRefundsAreTheReceiptsAfterSales: every after-sale once, each the
// after-sale of the receipt with its as_id, of an order of
// jushuitan_orders, returning lines the order shipped.
func TestRefundsAreTheReceiptsAfterSales(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	refunds := readPages[refundAnswer](h, PathRefund, "datas", 50, true, nil)
	truth := h.env.Dataset(DatasetRefund).Truth()
	seen := map[string]int{}
	for _, r := range refunds {
		seen[strconv.FormatInt(r.AsID, 10)]++
	}
	if len(seen) != len(truth) {
		t.Fatalf("saw %d distinct of %d after-sales", len(seen), len(truth))
	}
	for _, d := range truth {
		if seen[d.ID] != 1 {
			t.Fatalf("after-sale %s seen %d times", d.ID, seen[d.ID])
		}
	}
	receipts := map[int64]receivedDoc{}
	for _, d := range h.env.Dataset(DatasetReceived).FullTruth() {
		r := d.Document.(receivedDoc)
		receipts[r.AsID] = r
	}
	orders := map[int64]orderDoc{}
	for _, d := range h.env.Dataset(DatasetOrders).FullTruth() {
		o := d.Document.(orderDoc)
		orders[o.OID] = o
	}
	statuses := map[string]int{}
	for _, r := range refunds {
		statuses[r.Status]++
		rc, ok := receipts[r.AsID]
		o, hasOrder := orders[r.OID]
		if !ok || rc.OID != r.OID || rc.SoID != r.SoID || rc.Type != r.Type || !hasOrder || o.SoID != r.SoID || o.ShopBuyerID != r.ShopBuyerID {
			t.Fatalf("after-sale %d: receipt %+v, order %v %+v", r.AsID, rc, hasOrder, o)
		}
		if _, err := strconv.ParseInt(r.Ts, 10, 64); err != nil {
			t.Fatalf("after-sale %d: ts %q is not a decimal string", r.AsID, r.Ts)
		}
		if r.AsDate > rc.IoDate || r.Modified < r.AsDate {
			t.Fatalf("after-sale %d applied %s, goods received %s, modified %s", r.AsID, r.AsDate, rc.IoDate, r.Modified)
		}
		want := map[string]string{"Confirmed": "Confirmed", "WaitConfirm": "WaitConfirm", "Cancelled": "Cancelled"}[rc.Status]
		if r.Status != want || (r.Status == "Confirmed") != (r.GoodStatus == "SELLER_RECEIVED") {
			t.Fatalf("after-sale %d is %s/%s, its receipt %s", r.AsID, r.Status, r.GoodStatus, rc.Status)
		}
		var total int64
		for k, it := range r.Items {
			if it.SkuID != rc.Items[k].SkuID || it.Qty != rc.Items[k].Qty || (r.Status == "Confirmed") != (it.RQty == it.Qty) ||
				!strings.HasPrefix(it.OuterOiID, r.SoID+"-") {
				t.Fatalf("after-sale %d line %+v, receipt line %+v", r.AsID, it, rc.Items[k])
			}
			total += int64(it.Amount*100 + 0.5)
		}
		if len(r.Items) != len(rc.Items) || int64(r.Refund*100+0.5) != total {
			t.Fatalf("after-sale %d refunds %.2f for %d lines", r.AsID, r.Refund, len(r.Items))
		}
	}
	if statuses["Confirmed"] == 0 || statuses["WaitConfirm"] == 0 {
		t.Fatalf("statuses %v", statuses)
	}
}

func TestRefundsValidation(t *testing.T) {
	h := newHarness(t, setup{records: 100})
	b := testStart.Add(-10 * 24 * time.Hour)
	buyers := make([]string, 51)
	for i := range buyers {
		buyers[i] = "b" + strconv.Itoa(i)
	}
	for name, tc := range map[string]struct {
		biz  map[string]any
		code int
		msg  string
	}{
		"span over 7 days":   {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7*24*time.Hour + time.Second))}, codeBadParam, "7天"},
		"page size over 50":  {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 51}, codeBadParam, "page_size"},
		"51 shop_buyer_ids":  {map[string]any{"shop_buyer_ids": buyers}, codeBadParam, "shop_buyer_ids"},
		"nothing":            {map[string]any{}, codeBadParam, "不能同时为空"},
		"date_type":          {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "date_type": 2}, codeBadParam, "date_type"},
		"unknown good state": {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "good_status": "LOST"}, codeBadParam, "good_status"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.call(PathRefund, tc.biz)
			if a.Code != tc.code || !strings.Contains(a.Msg, tc.msg) {
				t.Fatalf("answered %d %q, want %d with %q", a.Code, a.Msg, tc.code, tc.msg)
			}
		})
	}
	confirmed := readPages[refundAnswer](h, PathRefund, "datas", 50, true, map[string]any{"status": "Confirmed"})
	if len(confirmed) == 0 {
		t.Fatal("no Confirmed after-sale")
	}
	for _, r := range confirmed {
		if r.Status != "Confirmed" {
			t.Fatalf("status Confirmed served %s", r.Status)
		}
	}
	byBuyer := readPages[refundAnswer](h, PathRefund, "datas", 50, true, map[string]any{"shop_buyer_ids": []string{confirmed[0].ShopBuyerID}})
	for _, r := range byBuyer {
		if r.ShopBuyerID != confirmed[0].ShopBuyerID {
			t.Fatalf("shop_buyer_ids %s served %s", confirmed[0].ShopBuyerID, r.ShopBuyerID)
		}
	}
	if len(byBuyer) == 0 {
		t.Fatal("shop_buyer_ids found nothing")
	}
}
