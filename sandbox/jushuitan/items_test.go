package jushuitan

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

func decodeInto(t *testing.T, a answer, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Data, v); err != nil {
		t.Fatalf("data %s: %v", a.Data, err)
	}
}

type inventoryAnswer struct {
	SkuID    string `json:"sku_id"`
	Name     string `json:"name"`
	Qty      int    `json:"qty"`
	Ts       int64  `json:"ts"`
	Modified string `json:"modified"`
	LockQty  *int   `json:"lock_qty"`
}

type skuAnswer struct {
	SkuID     string  `json:"sku_id"`
	IID       string  `json:"i_id"`
	Name      string  `json:"name"`
	Unit      string  `json:"unit"`
	CostPrice float64 `json:"cost_price"`
	SalePrice float64 `json:"sale_price"`
	Created   string  `json:"created"`
	Modified  string  `json:"modified"`
	Remark    string  `json:"remark"`
}

// TestInventoryListsTheCatalog: the stock rows are the catalog's SKUs,
// each once over the windows, in data.inventorys without totals; lock_qty
// only when asked for; ts pages by row version.
func TestInventoryListsTheCatalog(t *testing.T) {
	h := newHarness(t, setup{records: 50})
	cat := map[string]core.SKU{}
	for _, s := range core.Catalog(h.env.Seed) {
		cat[s.ID] = s
	}
	rows := readPages[inventoryAnswer](h, PathInventory, "inventorys", 30, false, nil)
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.SkuID]++
		if s, ok := cat[r.SkuID]; !ok || r.Name != s.Name || r.Qty < 0 || r.LockQty != nil {
			t.Fatalf("stock row %+v (catalog %+v)", r, s)
		}
	}
	if len(seen) != len(cat) {
		t.Fatalf("saw %d of %d SKUs", len(seen), len(cat))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("SKU %s seen %d times", id, n)
		}
	}
	locked := readPages[inventoryAnswer](h, PathInventory, "inventorys", 100, false, map[string]any{"has_lock_qty": true})
	if len(locked) != len(cat) || locked[0].LockQty == nil {
		t.Fatalf("has_lock_qty: %d rows, first %+v", len(locked), locked[0])
	}
	// ts is the row version parameter: rows at or after it, by ts.
	var byTS []inventoryAnswer
	for ts := int64(0); ; {
		a := h.call(PathInventory, map[string]any{"ts": ts, "page_size": 100})
		wantCode(t, a, 0)
		var p struct {
			Rows []inventoryAnswer `json:"inventorys"`
		}
		decodeInto(t, a, &p)
		for _, r := range p.Rows {
			if r.Ts < ts {
				t.Fatalf("ts %d served a row of ts %d", ts, r.Ts)
			}
			ts = r.Ts + 1
		}
		byTS = append(byTS, p.Rows...)
		if len(p.Rows) < 100 {
			break
		}
	}
	if len(byTS) != len(cat) {
		t.Fatalf("ts paging saw %d rows of %d", len(byTS), len(cat))
	}
	b := testStart.Add(-3 * 24 * time.Hour)
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = core.Catalog(h.env.Seed)[i].ID
	}
	for name, tc := range map[string]struct {
		biz  map[string]any
		code int
		msg  string
	}{
		"span over 7 days":   {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7*24*time.Hour + time.Second))}, codeBadParam, "7天"},
		"page size over 100": {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 101}, codeBadParam, "page_size"},
		"101 sku_ids":        {map[string]any{"sku_ids": strings.Join(ids, ",")}, codeBadParam, "sku_ids"},
		"100 sku_ids":        {map[string]any{"sku_ids": strings.Join(ids[:100], ",")}, codeOK, ""},
		"nothing":            {map[string]any{}, codeBadParam, "不能同时为空"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.call(PathInventory, tc.biz)
			if a.Code != tc.code || !strings.Contains(a.Msg, tc.msg) {
				t.Fatalf("answered %d %q, want %d with %q", a.Code, a.Msg, tc.code, tc.msg)
			}
		})
	}
	// A mutation is a sale: less stock, a new modified time and ts.
	if err := h.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	w := windowsOf(7 * 24 * time.Hour)[2]
	h.call(PathInventory, map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 5})
	if err := h.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	var touched core.TruthDoc
	for _, d := range h.env.Dataset(DatasetInventory).FullTruth() {
		if d.Version == 2 {
			touched = d
		}
	}
	if touched.ID == "" || touched.Modified != cst(h.clk.Now()) {
		t.Fatalf("mutation not in the truth: %+v", touched)
	}
	before := map[string]inventoryAnswer{}
	for _, r := range byTS {
		before[r.SkuID] = r
	}
	after := touched.Document.(inventoryDoc)
	if after.Qty >= before[touched.ID].Qty && before[touched.ID].Qty > 0 || after.Ts <= before[touched.ID].Ts {
		t.Fatalf("mutated stock %+v, before %+v", after, before[touched.ID])
	}
}

// TestSKUsAreTheCatalog: the SKU master data is the shared catalog (so
// every bill's sku_id resolves), each once over the windows, by modified
// or by created.
func TestSKUsAreTheCatalog(t *testing.T) {
	h := newHarness(t, setup{records: 50})
	cat := map[string]core.SKU{}
	for _, s := range core.Catalog(h.env.Seed) {
		cat[s.ID] = s
	}
	for _, field := range []string{"modified", "created"} {
		skus := readPages[skuAnswer](h, PathSKU, "datas", 50, true, map[string]any{"date_field": field})
		seen := map[string]int{}
		for _, s := range skus {
			seen[s.SkuID]++
			c, ok := cat[s.SkuID]
			if !ok || s.Name != c.Name || s.IID != c.Style || s.Unit != c.Unit || int64(s.CostPrice*100+0.5) != int64(c.Price*100+0.5) ||
				!isFen(s.SalePrice) || s.Created > s.Modified {
				t.Fatalf("SKU %+v, catalog %+v", s, c)
			}
		}
		// The created window reaches back 30 days before the data span
		// only for SKUs created then; the modified one sees them all.
		if (field == "modified" && len(seen) != len(cat)) || len(seen) == 0 {
			t.Fatalf("by %s: saw %d of %d SKUs", field, len(seen), len(cat))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("by %s: SKU %s seen %d times", field, id, n)
			}
		}
	}
	ids := make([]string, 21)
	for i := range ids {
		ids[i] = core.Catalog(h.env.Seed)[i].ID
	}
	b := testStart.Add(-3 * 24 * time.Hour)
	for name, tc := range map[string]struct {
		biz  map[string]any
		code int
		msg  string
	}{
		"span over 7 days":  {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(7*24*time.Hour + time.Second))}, codeBadParam, "7天"},
		"page size over 50": {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "page_size": 51}, codeBadParam, "page_size"},
		"21 sku_ids":        {map[string]any{"sku_ids": strings.Join(ids, ",")}, codeBadParam, "sku_ids"},
		"bad date_field":    {map[string]any{"modified_begin": cst(b), "modified_end": cst(b.Add(time.Hour)), "date_field": "ts"}, codeBadParam, "date_field"},
		"nothing":           {map[string]any{}, codeBadParam, "不能同时为空"},
	} {
		t.Run(name, func(t *testing.T) {
			a := h.call(PathSKU, tc.biz)
			if a.Code != tc.code || !strings.Contains(a.Msg, tc.msg) {
				t.Fatalf("answered %d %q, want %d with %q", a.Code, a.Msg, tc.code, tc.msg)
			}
		})
	}
	a := h.call(PathSKU, map[string]any{"sku_ids": strings.Join(ids[:20], ",")})
	wantCode(t, a, 0)
	var p struct {
		DataCount int         `json:"data_count"`
		Datas     []skuAnswer `json:"datas"`
	}
	decodeInto(t, a, &p)
	if p.DataCount != 20 || len(p.Datas) != 20 {
		t.Fatalf("20 sku_ids: %d of %d", len(p.Datas), p.DataCount)
	}
}
