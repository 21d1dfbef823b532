package jushuitan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// SKU master data (普通商品资料, /open/sku/query) and stock levels (商品库存,
// /open/inventory/query), one document per SKU of the shared catalog
// (core.Catalog; Doc.ID = sku_id), so the SKUs every bill dataset refers to
// are the ones these interfaces list.
//
// /open/sku/query [C] https://openweb.jushuitan.com/dev-doc?docType=2&docId=14,
// JSTJ item/JstQuerySkuRequest.java and JstQuerySkuResponse.java:
//
//   - biz: modified_begin/modified_end (both or neither, at most seven days
//     apart; the window, sku_ids, names and sku_codes may not all be empty),
//     sku_ids (comma-separated, max 20), exactly_name, name, i_ids,
//     date_field (created or modified; default modified), flds, sku_codes,
//     page_index (from 1), page_size (default 30, max 50).
//   - data: the page object of other/inout (datas, data_count, has_next);
//     each SKU sku_id, i_id, name, short_name, sale_price, cost_price,
//     properties_value, color, c_id, category, pic, pic_big, enabled (1
//     启用, 0 备用, -1 禁用), weight, market_price, brand, supplier_id (a
//     string), supplier_name, modified, created, sku_code, sku_type,
//     item_type, unit, shelf_life, labels, remark, autoid, ...
//
// /open/inventory/query [C] https://openweb.jushuitan.com/dev-doc?docType=3&docId=15,
// JSTJ inventory/JstQueryInventoryRequest.java and JstQueryInventoryResponse.java:
//
//   - biz: wms_co_id (0 or absent: the total of every warehouse party),
//     modified_begin/modified_end (both or neither, at most seven days
//     apart; the window and sku_ids may not both be empty), sku_ids
//     (comma-separated, max 100), names (max 100), i_ids, has_lock_qty, ts
//     (row version; "如果用ts查询不需要传时间查询条件"), page_index (from 1),
//     page_size (default 30, max 100).
//   - data: {page_size, page_index, has_next, inventorys:[...]}: no
//     data_count or page_count. Each row sku_id, ts, i_id, name, qty (主仓),
//     order_lock, pick_lock, virtual_qty, purchase_qty, return_qty (销退仓),
//     in_qty (进货仓), defective_qty, modified, min_qty, max_qty, lock_qty
//     (with has_lock_qty only), customize_qty_1..3, allocate_qty,
//     sale_refund_qty.
//
// Simulation [I]: modified times spread over the data span; a mutation of
// a SKU gives it a new remark, of a stock row a lower qty (a sale), with
// a new modified time and the next ts. wms_co_id is accepted and ignored
// (the totals are served). sku_codes, names, name, exactly_name and i_ids
// select by the catalog's fields.
type skuRows struct {
	ioRows
	ids   []string
	index map[string]int32
}

func newSKURows(cat []core.SKU, tsBase int64) skuRows {
	r := skuRows{ioRows: newIORows(len(cat), 0, tsBase), index: map[string]int32{}}
	for i, s := range cat {
		r.ids = append(r.ids, s.ID)
		r.index[s.ID] = int32(i)
	}
	return r
}

func (r *skuRows) id(i int32) string { return r.ids[i] }

func (r *skuRows) row(id string) int32 {
	if i, ok := r.index[id]; ok {
		return i
	}
	return -1
}

// itemsData is one of the two catalog datasets.
type itemsData struct {
	tracker
	seed    uint64
	stream  uint64
	dataset string
	catalog []core.SKU
	created []int64
	skuRows
	timeIndexes
}

const (
	skuTSBase       = 1400000000
	inventoryTSBase = 1500000000
)

func buildItems(env *core.Env, dataset string, tsBase int64, mutate func(d *itemsData) core.Mutator) *itemsData {
	cat := core.Catalog(env.Seed)
	n := len(cat)
	r := core.NewRand(env.Seed, dataset)
	mods := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	d := &itemsData{seed: env.Seed, stream: streamHash(dataset), dataset: dataset, catalog: cat, created: make([]int64, n), skuRows: newSKURows(cat, tsBase)}
	modKeys, tsKeys := make([]int64, n), make([]int64, n)
	docs := make([]core.Doc, n)
	// Rows are numbered in catalog order; modified times are assigned in a
	// random order so SKU numbers and times do not run together.
	perm := r.Perm(n)
	for i := range n {
		m := mods[perm[i]].Unix()
		d.created[i] = m - r.Int64N(30*86400)
		modKeys[i], tsKeys[i] = m, tsBase+int64(i)
		docs[i] = core.Doc{ID: d.id(int32(i)), Modified: unix(m), Body: sharedBody}
	}
	d.mod, d.ts, d.date = newIndex(modKeys), newIndex(tsKeys), newIndex(slices.Clone(d.created))
	d.env = env
	d.ds = core.NewDataset(dataset, docs, mutate(d))
	d.followRows(&d.skuRows, &d.timeIndexes)
	return d
}

func buildSKUs(env *core.Env) *itemsData {
	d := buildItems(env, DatasetSKU, skuTSBase, func(d *itemsData) core.Mutator {
		return func(body map[string]any, version int) {
			d.mutations.Add(1)
			d.newVersion(body)
			body["remark"] = fmt.Sprintf("商品资料已修改（第%d版）", version)
		}
	})
	d.ds.SetRender(func(doc core.Doc) any { return d.renderSKU(doc, d.row(doc.ID)) })
	return d
}

func buildInventory(env *core.Env) *itemsData {
	d := buildItems(env, DatasetInventory, inventoryTSBase, func(d *itemsData) core.Mutator {
		return func(body map[string]any, version int) {
			d.mutations.Add(1)
			d.newVersion(body)
			body["sold"] = version - 1
		}
	})
	d.ds.SetRender(func(doc core.Doc) any { return d.renderInventory(doc, d.row(doc.ID)) })
	return d
}

// itemsQuery is a validated SKU or stock request.
type itemsQuery struct {
	ioSelect
	pageIndex, pageSize int
}

// parseItems reads the common fields: idsMax bounds sku_ids; tsField is
// the row-version parameter (inventory "ts"; the SKU interface has none);
// dateField allows date_field=created.
func (d *itemsData) parseItems(biz map[string]any, def, max, idsMax int, tsField string, dateField bool) (*itemsQuery, *apiError) {
	q := &itemsQuery{}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, def, max); err != nil {
		return nil, err
	}
	if dt, _, err := bizInt(biz, "date_type"); err != nil || dt != 0 {
		if err == nil {
			err = paramErr("date_type不支持的值：%d", dt)
		}
		return nil, err
	}
	if q.ioSelect, err = parseSelect(biz, itemsMaxSpan, 2); err != nil {
		return nil, err
	}
	// start_ts is not a parameter of these interfaces: ignored [I]; the
	// inventory's row version is "ts".
	q.hasStartTS, q.startTS = false, 0
	if tsField != "" {
		if q.startTS, q.hasStartTS, err = bizInt(biz, tsField); err != nil {
			return nil, err
		}
	}
	if dateField {
		f, _, err := bizString(biz, "date_field")
		if err != nil {
			return nil, err
		}
		switch f {
		case "", "modified":
		case "created":
			q.dateType = 2
		default:
			return nil, paramErr("date_field只能为created或modified")
		}
	}
	match := map[string]func(core.SKU) string{
		"sku_ids": func(s core.SKU) string { return s.ID }, "names": func(s core.SKU) string { return s.Name },
		"i_ids": func(s core.SKU) string { return s.Style }, "sku_codes": func(s core.SKU) string { return skuCode(s) },
		"exactly_name": func(s core.SKU) string { return s.Name },
	}
	var pick []func(core.SKU) bool
	for key, field := range match {
		vals, err := commaList(biz, key)
		if err != nil {
			return nil, err
		}
		if key == "sku_ids" && len(vals) > idsMax {
			return nil, paramErr("sku_ids最多%d个", idsMax)
		}
		if len(vals) > 0 {
			set := map[string]bool{}
			for _, v := range vals {
				set[v] = true
			}
			pick = append(pick, func(s core.SKU) bool { return set[field(s)] })
		}
	}
	if name, _, err := bizString(biz, "name"); err != nil {
		return nil, err
	} else if name != "" {
		pick = append(pick, func(s core.SKU) bool { return strings.Contains(s.Name, name) })
	}
	if len(pick) > 0 {
		q.byIDs, q.ids = true, []int32{}
		for i, s := range d.catalog {
			for _, p := range pick {
				if p(s) {
					q.ids = append(q.ids, int32(i))
					break
				}
			}
		}
	}
	if !q.window && !q.byIDs && !q.hasStartTS {
		return nil, paramErr("修改时间和商品编码不能同时为空")
	}
	return q, nil
}

// commaList reads a comma-separated string (an array is accepted too [I]).
func commaList(biz map[string]any, key string) ([]string, *apiError) {
	var raw []string
	switch v := biz[key].(type) {
	case nil:
		return nil, nil
	case string:
		raw = strings.Split(v, ",")
	default:
		arr, _, err := bizStrings(biz, key)
		if err != nil {
			return nil, paramErr("%s必须为逗号分隔的字符串", key)
		}
		raw = arr
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func (q *itemsQuery) key(dataset string) uint64 {
	c := *q
	c.pageIndex, c.static = 0, nil
	return core.QueryKey(fmt.Sprintf("%s %+v", dataset, c))
}

func (s *Sim) querySKU(biz map[string]any) (any, *apiError) {
	d := s.skuData()
	q, aerr := d.parseItems(biz, skuDefaultSize, skuMaxSize, skuMaxIDs, "", true)
	if aerr != nil {
		return nil, aerr
	}
	return s.servePage(&d.tracker, ioPage(&d.tracker, DatasetSKU, PathSKU, &d.skuRows, &d.timeIndexes, &q.ioSelect, q.pageIndex, q.pageSize, q.key(DatasetSKU), d.renderSKU)), nil
}

func (s *Sim) queryInventory(biz map[string]any) (any, *apiError) {
	d := s.inventoryData()
	if _, _, err := bizInt(biz, "wms_co_id"); err != nil {
		return nil, err
	}
	q, aerr := d.parseItems(biz, inventoryDefaultSize, inventoryMaxSize, inventoryMaxIDs, "ts", false)
	if aerr != nil {
		return nil, aerr
	}
	lock := biz["has_lock_qty"] == true
	pq := ioPage(&d.tracker, DatasetInventory, PathInventory, &d.skuRows, &d.timeIndexes, &q.ioSelect, q.pageIndex, q.pageSize, q.key(DatasetInventory),
		func(doc core.Doc, i int32) inventoryDoc {
			v := d.renderInventory(doc, i)
			if !lock {
				v.LockQty = nil
			}
			return v
		})
	pq.list, pq.noTotal = "inventorys", true
	return s.servePage(&d.tracker, pq), nil
}

// skuCode is the SKU's GB barcode (国标码) [I].
func skuCode(s core.SKU) string { return "69" + strings.TrimPrefix(s.ID, "SKU") + "0001" }

type skuDoc struct {
	SkuID           string  `json:"sku_id"`
	IID             string  `json:"i_id"`
	Name            string  `json:"name"`
	ShortName       string  `json:"short_name"`
	SalePrice       float64 `json:"sale_price"`
	CostPrice       float64 `json:"cost_price"`
	MarketPrice     float64 `json:"market_price"`
	PropertiesValue string  `json:"properties_value"`
	Color           string  `json:"color"`
	CID             int64   `json:"c_id"`
	Category        string  `json:"category"`
	Pic             string  `json:"pic"`
	PicBig          string  `json:"pic_big"`
	Enabled         int     `json:"enabled"`
	Weight          float64 `json:"weight"`
	Brand           string  `json:"brand"`
	SupplierID      string  `json:"supplier_id"`
	SupplierName    string  `json:"supplier_name"`
	Modified        string  `json:"modified"`
	Created         string  `json:"created"`
	SkuCode         string  `json:"sku_code"`
	SkuType         string  `json:"sku_type"`
	ItemType        string  `json:"item_type"`
	Unit            string  `json:"unit"`
	ShelfLife       int     `json:"shelf_life"`
	Labels          string  `json:"labels"`
	Remark          string  `json:"remark"`
	Autoid          int64   `json:"autoid"`
	StockDisabled   int     `json:"stock_disabled"`
}

var (
	skuBrands   = []string{"聚潭优选", "山海织造", "青禾家居"}
	skuRemarks  = []string{"", "", "新品", "换季清仓", "主推款"}
	skuLabels   = []string{"", "", "爆款", "新品"}
	skuCategory = map[string]int64{"服装": 1001, "鞋包": 1002, "家居": 1003, "美妆": 1004, "数码": 1005, "食品": 1006}
)

// categoryOf maps a product word to a category [I].
func categoryOf(name string) string {
	switch w := strings.SplitN(name, " ", 2)[0]; {
	case strings.Contains(w, "鞋") || strings.Contains(w, "包"):
		return "鞋包"
	case strings.Contains(w, "耳机"):
		return "数码"
	case strings.Contains(w, "杯") || strings.Contains(w, "壶") || strings.Contains(w, "锅"):
		return "家居"
	case strings.Contains(w, "洗发") || strings.Contains(w, "面膜"):
		return "美妆"
	case strings.Contains(w, "茶"):
		return "食品"
	}
	return "服装"
}

func (d *itemsData) rand(i int32) *rand.Rand { return rowRand(d.seed, d.stream, i) }

func (d *itemsData) renderSKU(doc core.Doc, i int32) skuDoc {
	r := d.rand(i)
	s := d.catalog[i]
	cost := int64(s.Price*100 + 0.5)
	base := cost * 16 / 10
	parts := strings.SplitN(s.Name, " ", 3)
	props, color := "", ""
	if len(parts) == 3 {
		props, color = parts[1]+";"+parts[2], parts[1]
	}
	cat := categoryOf(s.Name)
	sup := int(i) % len(core.Suppliers)
	out := skuDoc{
		SkuID: s.ID, IID: s.Style, Name: s.Name, ShortName: parts[0], SalePrice: fen(base * 9 / 10), CostPrice: fen(cost),
		MarketPrice: fen(base), PropertiesValue: props, Color: color, CID: skuCategory[cat], Category: cat,
		Pic:    fmt.Sprintf("https://img.example.com/sku/%s.jpg", s.ID),
		PicBig: fmt.Sprintf("https://img.example.com/sku/%s_800.jpg", s.ID), Enabled: 1,
		Weight: float64(150+int(i)%7*100) / 1000, Brand: core.Pick(r, skuBrands),
		SupplierID: fmt.Sprint(purchaseinSupBase + sup), SupplierName: core.Suppliers[sup].Name,
		Modified: core.FormatVendorTime(doc.Modified), Created: fmtTime(d.created[i]), SkuCode: skuCode(s),
		SkuType: "normal", ItemType: "成品", Unit: s.Unit, Labels: core.Pick(r, skuLabels), Remark: core.Pick(r, skuRemarks),
		Autoid: 100000 + int64(i) + 1,
	}
	if r.IntN(20) == 0 {
		out.Enabled = 0
	}
	if cat == "食品" || cat == "美妆" {
		out.ShelfLife = 365 * (1 + r.IntN(3))
	}
	if v, ok := doc.Body["remark"].(string); ok {
		out.Remark = v
	}
	return out
}

type inventoryDoc struct {
	SkuID         string  `json:"sku_id"`
	Ts            int64   `json:"ts"`
	IID           string  `json:"i_id"`
	Name          string  `json:"name"`
	Qty           int     `json:"qty"`
	OrderLock     int     `json:"order_lock"`
	PickLock      int     `json:"pick_lock"`
	VirtualQty    int     `json:"virtual_qty"`
	PurchaseQty   int     `json:"purchase_qty"`
	ReturnQty     int     `json:"return_qty"`
	InQty         int     `json:"in_qty"`
	DefectiveQty  int     `json:"defective_qty"`
	Modified      string  `json:"modified"`
	MinQty        int     `json:"min_qty"`
	MaxQty        int     `json:"max_qty"`
	LockQty       *int    `json:"lock_qty,omitempty"`
	CustomizeQty1 int     `json:"customize_qty_1"`
	CustomizeQty2 int     `json:"customize_qty_2"`
	CustomizeQty3 int     `json:"customize_qty_3"`
	AllocateQty   int     `json:"allocate_qty"`
	SaleRefundQty float64 `json:"sale_refund_qty"`
}

func (d *itemsData) renderInventory(doc core.Doc, i int32) inventoryDoc {
	r := d.rand(i)
	s := d.catalog[i]
	qty := 20 + r.IntN(980)
	if v, ok := doc.Body["sold"].(int); ok {
		qty = max(qty-3*v, 0)
	}
	lock := r.IntN(10)
	out := inventoryDoc{
		SkuID: s.ID, Ts: d.rowTS(doc, i), IID: s.Style, Name: s.Name, Qty: qty,
		OrderLock: r.IntN(min(qty, 30) + 1), PickLock: r.IntN(10), PurchaseQty: 10 * r.IntN(20),
		ReturnQty: r.IntN(15), InQty: r.IntN(200), DefectiveQty: r.IntN(5), Modified: core.FormatVendorTime(doc.Modified),
		MinQty: 20, MaxQty: 1000, LockQty: &lock, AllocateQty: r.IntN(3) * 10, SaleRefundQty: float64(r.IntN(6)),
	}
	return out
}
