package jushuitan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Purchase-in documents (采购入库单), /open/purchasein/query.
//
// Contract [C] https://openweb.jushuitan.com/dev-doc?docType=7&docId=31,
// as generated into JSTJ stockin/JstQueryPurchaseInRequest.java and
// JstQueryPurchaseInResponse.java:
//
//   - biz: modified_begin/modified_end (both or neither, at most seven days
//     apart; the window and po_ids may not both be empty), po_ids (max 30),
//     io_ids (max 30), so_ids, statuss (an array: WaitConfirm 待入库,
//     Confirmed 已入库, Cancelled 取消, Delete 作废, Archive 归档,
//     OuterConfirming 外部确认中; "不填写默认查询已入库状态": without it only
//     Confirmed bills are answered), start_ts (row version), is_get_total,
//     date_type (0 modified, 2 io_date; default 0), page_index (from 1),
//     page_size (default 30, max 50).
//   - data: the page object of other/inout; each document io_id, ts,
//     warehouse (name), po_id, supplier_id, supplier_name, modified, so_id,
//     out_io_id, status, io_date, wh_id (a string: 主仓 1, 销退仓 2, 进货仓 3,
//     次品仓 4), wms_co_id, remark, tax_rate, labels, archived, merge_so_id,
//     type, creator_name, f_status (财审 WaitConfirm/Confirmed), l_id, items
//     [{ioi_id, sku_id, i_id, unit, name, qty, io_id, cost_price,
//     cost_amount, remark, batch_no, tax_rate}], batchs, sns, lock_wh_id,
//     lock_wh_name. Types as published: io_id, po_id, supplier_id, ts,
//     wms_co_id, ioi_id integers; wh_id a string; amounts numbers.
//
// Simulation [I]: one purchase order (po_id, supplier) is received in one
// to three purchase-in documents (partial receipts), each carrying a share
// of the order's lines at the order's cost price; suppliers and warehouses
// are the shared master data (core.Suppliers names, core.Stocks 主仓 and
// 进货仓), SKUs the shared catalog, so a Kingdee 采购入库单 mapping resolves
// them. Amounts are whole fen. Statuses are generated Confirmed,
// WaitConfirm, Cancelled and Archive (about 76:12:6:6); only Confirmed
// bills are answered without statuss. A mutation gives the document a new
// remark, a new modified time and the next ts.
type purchaseinData struct {
	tracker
	seed    uint64
	stream  uint64 // per-document details
	pstream uint64 // per-purchase-order details (lines)
	catalog []core.SKU
	ioRows

	po      []int32 // purchase order number of row i (po_id = purchaseinPoBase + po)
	part    []uint8 // which receipt of its order row i is (0-based)
	parts   []uint8 // how many receipts its order has
	status  []uint8 // index into purchaseinStatuses
	sup     []uint8 // index into core.Suppliers
	wh      []uint8 // index into core.Stocks (0 主仓 or 2 进货仓)
	wms     []uint8 // index into wmsCoIDs
	created []int64

	timeIndexes
}

// Documented status literals [C]; rows are generated with the first four.
var purchaseinStatuses = []string{"Confirmed", "WaitConfirm", "Cancelled", "Archive", "Delete", "OuterConfirming"}

// Generated literals [I].
var (
	purchaseinRemarks = []string{"", "", "到货验收合格", "分批到货", "供应商直送", "外箱破损已拍照"}
	purchaseinLabels  = []string{"", "", "加急", "样品"}
	purchaseinBuyers  = []string{"采购-周敏", "采购-孙浩", "采购-吴倩"}
)

// Number bases of purchase-in rows [I]: io_id purchaseinIoBase+row+1, ts
// purchaseinTSBase+row until mutated, po_id purchaseinPoBase+order,
// supplier_id purchaseinSupBase+index of core.Suppliers.
const (
	purchaseinIoBase  = 70000000
	purchaseinTSBase  = 1000000000
	purchaseinPoBase  = 3000000
	purchaseinSupBase = 30001
	// ioi_id of line k of row i: purchaseinIoiBase+16i+k+1 (at most 8 lines).
	purchaseinIoiBase = 300000000
	purchaseinTaxRate = 13
)

func buildPurchasein(env *core.Env) *purchaseinData {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetPurchasein)
	mods := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	d := &purchaseinData{
		seed: env.Seed, stream: streamHash(DatasetPurchasein), pstream: streamHash(DatasetPurchasein + "/orders"),
		catalog: core.Catalog(env.Seed), ioRows: newIORows(n, purchaseinIoBase, purchaseinTSBase),
		po: make([]int32, n), part: make([]uint8, n), parts: make([]uint8, n), status: make([]uint8, n),
		sup: make([]uint8, n), wh: make([]uint8, n), wms: make([]uint8, n), created: make([]int64, n),
	}
	modKeys, tsKeys, dateKeys := make([]int64, n), make([]int64, n), make([]int64, n)
	docs := make([]core.Doc, n)
	var po int32
	for i := 0; i < n; po++ {
		parts := 1
		switch x := r.IntN(10); {
		case x < 2:
			parts = 2
		case x == 2:
			parts = 3
		}
		sup := uint8(r.IntN(len(core.Suppliers)))
		for k := 0; k < parts && i < n; k++ {
			d.po[i], d.part[i], d.parts[i], d.sup[i] = po, uint8(k), uint8(parts), sup
			switch x := r.IntN(100); {
			case x < 76:
				d.status[i] = 0
			case x < 88:
				d.status[i] = 1
			case x < 94:
				d.status[i] = 2
			default:
				d.status[i] = 3
			}
			d.wh[i] = 2 // 进货仓
			if r.IntN(4) == 0 {
				d.wh[i] = 0 // 主仓
			}
			d.wms[i] = uint8(r.IntN(len(wmsCoIDs)))
			m := mods[i].Unix()
			d.created[i] = m - r.Int64N(3*86400)
			dateKeys[i] = d.created[i] + r.Int64N(m-d.created[i]+1)
			modKeys[i], tsKeys[i] = m, purchaseinTSBase+int64(i)
			docs[i] = core.Doc{ID: d.id(int32(i)), Modified: mods[i], Body: sharedBody}
			i++
		}
	}
	d.mod, d.ts, d.date = newIndex(modKeys), newIndex(tsKeys), newIndex(dateKeys)
	d.env = env
	d.ds = core.NewDataset(DatasetPurchasein, docs, d.mutateBody)
	d.ds.SetRender(func(doc core.Doc) any { return d.render(doc, d.row(doc.ID)) })
	d.followRows(&d.ioRows, &d.timeIndexes)
	return d
}

func (d *purchaseinData) mutateBody(body map[string]any, version int) {
	d.mutations.Add(1)
	d.newVersion(body)
	body["remark"] = fmt.Sprintf("入库单已修改（第%d版）", version)
}

// statusFilter reads statuss: nil (absent or empty) is the documented
// default, Confirmed only.
func statusFilter(biz map[string]any, literals []string) (map[int]bool, *apiError) {
	v, _, err := bizStrings(biz, "statuss")
	if err != nil {
		return nil, err
	}
	out := map[int]bool{}
	for _, s := range v {
		k := slices.Index(literals, strings.TrimSpace(s))
		if k < 0 {
			return nil, paramErr("statuss不支持的值：%s", s)
		}
		out[k] = true
	}
	if len(out) == 0 {
		out[0] = true // Confirmed
	}
	return out, nil
}

type purchaseinQuery struct {
	ioSelect
	statuss   []int // sorted, for the query key
	pageIndex int
	pageSize  int
}

func (d *purchaseinData) parse(biz map[string]any) (*purchaseinQuery, *apiError) {
	q := &purchaseinQuery{}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, purchaseinDefaultSize, purchaseinMaxSize); err != nil {
		return nil, err
	}
	if q.ioSelect, err = parseSelect(biz, purchaseinMaxSpan, 2); err != nil {
		return nil, err
	}
	lists := map[string][]string{}
	for _, key := range []string{"io_ids", "po_ids", "so_ids"} {
		v, _, err := bizStrings(biz, key)
		if err != nil {
			return nil, err
		}
		if key != "so_ids" && len(v) > purchaseinMaxIDs {
			return nil, paramErr("%s最多%d个", key, purchaseinMaxIDs)
		}
		lists[key] = v
	}
	if len(lists["io_ids"])+len(lists["po_ids"])+len(lists["so_ids"]) > 0 {
		q.byIDs = true
		q.ids = d.rowsByIDs(lists)
	}
	st, aerr := statusFilter(biz, purchaseinStatuses)
	if aerr != nil {
		return nil, aerr
	}
	for k := range st {
		q.statuss = append(q.statuss, k)
	}
	slices.Sort(q.statuss)
	if _, ok := biz["is_get_total"]; ok {
		if _, isBool := biz["is_get_total"].(bool); !isBool {
			return nil, paramErr("is_get_total必须为布尔值")
		}
	}
	// [I] io_ids, so_ids and start_ts are accepted as alternatives to the
	// window and po_ids, which the doc says may not both be empty.
	if !q.window && !q.byIDs && !q.hasStartTS {
		return nil, paramErr("修改时间和采购单号不能同时为空")
	}
	q.static = func(i int32) bool { return st[int(d.status[i])] }
	return q, nil
}

// rowsByIDs resolves io_ids, po_ids and so_ids (the purchase order's
// external number, "CG" + po_id [I]) to rows (union, deduplicated) [I].
func (d *purchaseinData) rowsByIDs(lists map[string][]string) []int32 {
	seen := map[int32]bool{}
	out := []int32{}
	add := func(i int32) {
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	for _, s := range lists["io_ids"] {
		if i := d.row(strings.TrimSpace(s)); i >= 0 {
			add(i)
		}
	}
	pos := func(list []string, parse func(string) (int64, bool)) {
		for _, s := range list {
			p, ok := parse(strings.TrimSpace(s))
			if !ok {
				continue
			}
			lo, _ := slices.BinarySearch(d.po, int32(p))
			hi, _ := slices.BinarySearch(d.po, int32(p)+1)
			for i := lo; i < hi; i++ {
				add(int32(i))
			}
		}
	}
	inRange := func(n int64, err error, base int64) (int64, bool) {
		return n - base, err == nil && n >= base && n-base < int64(d.n)
	}
	pos(lists["po_ids"], func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return inRange(n, err, purchaseinPoBase)
	})
	pos(lists["so_ids"], func(s string) (int64, bool) {
		n, err := strconv.ParseInt(strings.TrimPrefix(s, "CG"), 10, 64)
		return inRange(n, err, purchaseinPoBase)
	})
	return out
}

func (q *purchaseinQuery) key() uint64 {
	c := *q
	c.pageIndex, c.static = 0, nil
	return core.QueryKey(fmt.Sprintf("purchasein %+v", c))
}

func (s *Sim) queryPurchasein(biz map[string]any) (any, *apiError) {
	d := s.purchaseinData()
	q, aerr := d.parse(biz)
	if aerr != nil {
		return nil, aerr
	}
	return s.servePage(&d.tracker, ioPage(&d.tracker, DatasetPurchasein, PathPurchasein, &d.ioRows, &d.timeIndexes, &q.ioSelect, q.pageIndex, q.pageSize, q.key(), d.render)), nil
}

// purchaseinItem is one line of a purchase-in document.
type purchaseinItem struct {
	IoiID      int64   `json:"ioi_id"`
	SkuID      string  `json:"sku_id"`
	IID        string  `json:"i_id"`
	Unit       string  `json:"unit"`
	Name       string  `json:"name"`
	Qty        int     `json:"qty"`
	IoID       int64   `json:"io_id"`
	CostPrice  float64 `json:"cost_price"`
	CostAmount float64 `json:"cost_amount"`
	Remark     string  `json:"remark"`
	BatchNo    string  `json:"batch_no"`
	TaxRate    int     `json:"tax_rate"`
}

// purchaseinDoc is one purchase-in document as the vendor answers it.
type purchaseinDoc struct {
	IoID         int64            `json:"io_id"`
	Ts           int64            `json:"ts"`
	Warehouse    string           `json:"warehouse"`
	PoID         int64            `json:"po_id"`
	SupplierID   int64            `json:"supplier_id"`
	SupplierName string           `json:"supplier_name"`
	Modified     string           `json:"modified"`
	SoID         string           `json:"so_id"`
	OutIoID      string           `json:"out_io_id"`
	Status       string           `json:"status"`
	IoDate       string           `json:"io_date"`
	WhID         string           `json:"wh_id"`
	WmsCoID      int64            `json:"wms_co_id"`
	Remark       string           `json:"remark"`
	TaxRate      float64          `json:"tax_rate"`
	Labels       string           `json:"labels"`
	Archived     string           `json:"archived"`
	MergeSoID    string           `json:"merge_so_id"`
	Type         string           `json:"type"`
	CreatorName  string           `json:"creator_name"`
	FStatus      string           `json:"f_status"`
	LID          string           `json:"l_id"`
	Items        []purchaseinItem `json:"items"`
	Batchs       []any            `json:"batchs"`
	Sns          []any            `json:"sns"`
	LockWhID     int64            `json:"lock_wh_id"`
	LockWhName   string           `json:"lock_wh_name"`
}

// poLine is one line of a purchase order.
type poLine struct {
	sku, qty int
	price    int64 // cost price in fen
}

// poLines are the lines of purchase order po, from the per-order generator
// so that its receipts agree: 1-6 lines, at least one per receipt.
func (d *purchaseinData) poLines(po int32, parts int) []poLine {
	r := rowRand(d.seed, d.pstream, po)
	var out []poLine
	for range parts + r.IntN(4) {
		sku := r.IntN(len(d.catalog))
		// The catalog's cost price, sometimes negotiated 3-8% lower [I].
		price := int64(d.catalog[sku].Price*100 + 0.5)
		if r.IntN(3) == 0 {
			price = price * int64(92+r.IntN(6)) / 100
		}
		out = append(out, poLine{sku: sku, qty: 10 * (1 + r.IntN(30)), price: max(price, 1)})
	}
	return out
}

func (d *purchaseinData) render(doc core.Doc, i int32) purchaseinDoc {
	r := rowRand(d.seed, d.stream, i)
	ioID := purchaseinIoBase + int64(i) + 1
	poID := purchaseinPoBase + int64(d.po[i])
	sup := core.Suppliers[d.sup[i]]
	st := purchaseinStatuses[d.status[i]]
	out := purchaseinDoc{
		IoID: ioID, Ts: d.rowTS(doc, i), Warehouse: core.Stocks[d.wh[i]].Name, PoID: poID,
		SupplierID: purchaseinSupBase + int64(d.sup[i]), SupplierName: sup.Name,
		Modified: core.FormatVendorTime(doc.Modified), SoID: fmt.Sprintf("CG%d", poID),
		Status: st, IoDate: fmtTime(d.date.cur[i]), WhID: strconv.Itoa(int(d.wh[i]) + 1),
		WmsCoID: wmsCoIDs[d.wms[i]], Remark: core.Pick(r, purchaseinRemarks), TaxRate: purchaseinTaxRate,
		Labels: core.Pick(r, purchaseinLabels), Type: "采购进仓", CreatorName: core.Pick(r, purchaseinBuyers),
		FStatus: "WaitConfirm", Items: []purchaseinItem{}, Batchs: []any{}, Sns: []any{},
	}
	if d.parts[i] > 1 {
		out.Remark = fmt.Sprintf("分批到货 %d/%d", d.part[i]+1, d.parts[i])
	}
	if st == "Archive" {
		// Archived bills passed the financial review [I].
		out.FStatus, out.Archived = "Confirmed", fmtTime(min(d.date.cur[i]+3600, doc.Modified.Unix()))
	}
	if r.IntN(3) == 0 {
		c := core.Pick(r, couriers)
		out.LID = fmt.Sprintf("%s%012d", c[0], r.Int64N(1e12))
	}
	if r.IntN(4) == 0 {
		out.OutIoID = fmt.Sprintf("ASN%08d", r.IntN(1e8))
	}
	for k, l := range d.poLines(d.po[i], int(d.parts[i])) {
		if k%int(d.parts[i]) != int(d.part[i]) {
			continue // received in another document of the order
		}
		sku := d.catalog[l.sku]
		out.Items = append(out.Items, purchaseinItem{
			IoiID: purchaseinIoiBase + int64(i)*16 + int64(len(out.Items)) + 1, SkuID: sku.ID, IID: sku.Style,
			Unit: sku.Unit, Name: sku.Name, Qty: l.qty, IoID: ioID, CostPrice: fen(l.price),
			CostAmount: fen(l.price * int64(l.qty)), TaxRate: purchaseinTaxRate,
		})
	}
	if v, ok := doc.Body["remark"].(string); ok {
		out.Remark = v
	}
	return out
}
