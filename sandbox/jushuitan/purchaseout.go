package jushuitan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Purchase returns (采购退货单), /open/purchaseout/query.
//
// Contract [C] https://openweb.jushuitan.com/dev-doc?docType=8&docId=36, as
// generated into JSTJ stockout/JstQueryPurchaseOutRequest.java and
// JstQueryPurchaseOutResponse.java:
//
//   - biz: modified_begin/modified_end (both or neither, at most seven days
//     apart; the window and so_ids may not both be empty), so_ids, status
//     (one literal, optional: Confirmed 生效, WaitConfirm 待审核, Creating
//     草拟, Archive 归档, Cancelled 作废, Confirming 已确认; the answer also
//     documents OuterConfirming and Delete), io_ids (max 30), date_type (0
//     modified, 2 io_date), page_index (from 1), page_size (default 30, max
//     50). Unlike purchase-in, no default status is documented: without
//     status every bill is answered.
//   - data: the page object of other/inout; each document io_id, io_date,
//     created_po_id, status, so_id, f_status, warehouse (name), receiver_name
//     (收货人/供应商名称), receiver_mobile, receiver_state, receiver_city,
//     receiver_district, receiver_address, wh_id (an integer), remark,
//     modified, po_id, wms_co_id (a string), seller_id (供应商ID), labels,
//     wave_id, logistics_company, free_amount, lc_id, l_id, archived,
//     creator_name, lock_wh_id, lock_wh_name, out_io_id, items [{ioi_id,
//     sku_id, name, properties_value, tax_rate, qty, cost_price, cost_amount,
//     i_id, remark, io_id, co_id, batch_no}], batchs, sns. No ts is
//     published; the simulator serves none.
//
// Simulation [I]: every return sends back part of one Confirmed purchase-in
// of dataset jushuitan_purchasein: same po_id, supplier (seller_id =
// supplier_id, receiver_name = supplier_name) and warehouse, a subset of
// its lines at most at the received quantity and at the received cost
// price, one to ten days after it was received (never after the sandbox
// start). Statuses are generated Confirmed, WaitConfirm, Creating and
// Cancelled (about 78:10:6:6). start_ts is accepted as on the other bill
// interfaces. A mutation gives the return a new remark and a new modified
// time.
type purchaseoutData struct {
	tracker
	seed   uint64
	stream uint64
	pin    *purchaseinData
	ioRows
	src    []int32 // the purchase-in row the return sends back
	status []uint8 // index into purchaseoutStatuses
	timeIndexes
}

// Documented status literals [C] (request and answer together); rows are
// generated with the first four.
var purchaseoutStatuses = []string{"Confirmed", "WaitConfirm", "Creating", "Cancelled", "Archive", "Confirming", "OuterConfirming", "Delete"}

var purchaseoutRemarks = []string{"", "质量问题退货", "多发退回", "规格不符", "包装破损"}

// Number bases of purchase returns [I].
const (
	purchaseoutIoBase = 80000000
	purchaseoutTSBase = 1100000000
	// ioi_id of line k of row i: purchaseoutIoiBase+16i+k+1.
	purchaseoutIoiBase = 400000000
)

func buildPurchaseout(env *core.Env, pin *purchaseinData) *purchaseoutData {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetPurchaseout)
	d := &purchaseoutData{
		seed: env.Seed, stream: streamHash(DatasetPurchaseout), pin: pin, ioRows: newIORows(n, purchaseoutIoBase, purchaseoutTSBase),
		src: make([]int32, n), status: make([]uint8, n),
	}
	var received []int32
	for i := range pin.n {
		if pin.status[i] == 0 {
			received = append(received, int32(i))
		}
	}
	if len(received) == 0 {
		received = []int32{0}
	}
	limit := env.Start().Unix() - 1
	modKeys, tsKeys, dateKeys := make([]int64, n), make([]int64, n), make([]int64, n)
	docs := make([]core.Doc, n)
	for i := range n {
		s := received[r.IntN(len(received))]
		d.src[i] = s
		out := min(pin.date.cur[s]+86400+r.Int64N(9*86400), limit)
		mod := min(out+r.Int64N(7200), limit)
		switch x := r.IntN(100); {
		case x < 78:
			d.status[i] = 0
		case x < 88:
			d.status[i] = 1
		case x < 94:
			d.status[i] = 2
		default:
			d.status[i] = 3
		}
		dateKeys[i], modKeys[i], tsKeys[i] = out, mod, purchaseoutTSBase+int64(i)
		docs[i] = core.Doc{ID: d.id(int32(i)), Modified: unix(mod), Body: sharedBody}
	}
	d.mod, d.ts, d.date = newIndex(modKeys), newIndex(tsKeys), newIndex(dateKeys)
	d.env = env
	d.ds = core.NewDataset(DatasetPurchaseout, docs, d.mutateBody)
	d.ds.SetRender(func(doc core.Doc) any { return d.render(doc, d.row(doc.ID)) })
	d.followRows(&d.ioRows, &d.timeIndexes)
	return d
}

func (d *purchaseoutData) mutateBody(body map[string]any, version int) {
	d.mutations.Add(1)
	d.newVersion(body)
	body["remark"] = fmt.Sprintf("退货单已修改（第%d版）", version)
}

type purchaseoutQuery struct {
	ioSelect
	status    int // index into purchaseoutStatuses; -1 all
	pageIndex int
	pageSize  int
}

func (d *purchaseoutData) parse(biz map[string]any) (*purchaseoutQuery, *apiError) {
	q := &purchaseoutQuery{status: -1}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, purchaseoutDefaultSize, purchaseoutMaxSize); err != nil {
		return nil, err
	}
	if q.ioSelect, err = parseSelect(biz, purchaseoutMaxSpan, 2); err != nil {
		return nil, err
	}
	ioIDs, _, err := bizStrings(biz, "io_ids")
	if err != nil {
		return nil, err
	}
	if len(ioIDs) > purchaseoutMaxIDs {
		return nil, paramErr("io_ids最多%d个", purchaseoutMaxIDs)
	}
	soIDs, _, err := bizStrings(biz, "so_ids")
	if err != nil {
		return nil, err
	}
	if len(ioIDs)+len(soIDs) > 0 {
		q.byIDs = true
		q.ids = d.rowsByIDs(ioIDs, soIDs)
	}
	st, hasSt, err := bizString(biz, "status")
	if err != nil {
		return nil, err
	}
	if hasSt && st != "" {
		if q.status = slices.Index(purchaseoutStatuses, st); q.status < 0 {
			return nil, paramErr("status不支持的值：%s", st)
		}
	}
	if !q.window && !q.byIDs && !q.hasStartTS {
		return nil, paramErr("修改时间和线上单号不能同时为空")
	}
	if q.status >= 0 {
		q.static = func(i int32) bool { return int(d.status[i]) == q.status }
	}
	return q, nil
}

// rowsByIDs resolves io_ids and so_ids (the purchase order's "CG" number)
// to returns (union) [I]; a scan, as the lists are short.
func (d *purchaseoutData) rowsByIDs(ioIDs, soIDs []string) []int32 {
	io, so := map[int64]bool{}, map[string]bool{}
	for _, s := range ioIDs {
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			io[n] = true
		}
	}
	for _, s := range soIDs {
		so[strings.TrimSpace(s)] = true
	}
	out := []int32{}
	for i := range int32(d.n) {
		po := purchaseinPoBase + int64(d.pin.po[d.src[i]])
		if io[purchaseoutIoBase+int64(i)+1] || so[fmt.Sprintf("CG%d", po)] {
			out = append(out, i)
		}
	}
	return out
}

func (q *purchaseoutQuery) key() uint64 {
	c := *q
	c.pageIndex, c.static = 0, nil
	return core.QueryKey(fmt.Sprintf("purchaseout %+v", c))
}

func (s *Sim) queryPurchaseout(biz map[string]any) (any, *apiError) {
	d := s.purchaseoutData()
	q, aerr := d.parse(biz)
	if aerr != nil {
		return nil, aerr
	}
	return s.servePage(&d.tracker, ioPage(&d.tracker, DatasetPurchaseout, PathPurchaseout, &d.ioRows, &d.timeIndexes, &q.ioSelect, q.pageIndex, q.pageSize, q.key(), d.render)), nil
}

type purchaseoutItem struct {
	IoiID           int64   `json:"ioi_id"`
	SkuID           string  `json:"sku_id"`
	Name            string  `json:"name"`
	PropertiesValue string  `json:"properties_value"`
	TaxRate         float64 `json:"tax_rate"`
	Qty             int     `json:"qty"`
	CostPrice       float64 `json:"cost_price"`
	CostAmount      float64 `json:"cost_amount"`
	IID             string  `json:"i_id"`
	Remark          string  `json:"remark"`
	IoID            int64   `json:"io_id"`
	CoID            int64   `json:"co_id"`
	BatchNo         string  `json:"batch_no"`
}

type purchaseoutDoc struct {
	IoID             int64             `json:"io_id"`
	IoDate           string            `json:"io_date"`
	CreatedPoID      int64             `json:"created_po_id"`
	Status           string            `json:"status"`
	SoID             string            `json:"so_id"`
	FStatus          string            `json:"f_status"`
	Warehouse        string            `json:"warehouse"`
	ReceiverName     string            `json:"receiver_name"`
	ReceiverMobile   string            `json:"receiver_mobile"`
	ReceiverState    string            `json:"receiver_state"`
	ReceiverCity     string            `json:"receiver_city"`
	ReceiverDistrict string            `json:"receiver_district"`
	ReceiverAddress  string            `json:"receiver_address"`
	WhID             int               `json:"wh_id"`
	Remark           string            `json:"remark"`
	Modified         string            `json:"modified"`
	PoID             int64             `json:"po_id"`
	WmsCoID          string            `json:"wms_co_id"`
	SellerID         int64             `json:"seller_id"`
	Labels           string            `json:"labels"`
	WaveID           int64             `json:"wave_id"`
	LogisticsCompany string            `json:"logistics_company"`
	FreeAmount       float64           `json:"free_amount"`
	LcID             string            `json:"lc_id"`
	LID              string            `json:"l_id"`
	Archived         string            `json:"archived"`
	CreatorName      string            `json:"creator_name"`
	LockWhID         int64             `json:"lock_wh_id"`
	LockWhName       string            `json:"lock_wh_name"`
	OutIoID          string            `json:"out_io_id"`
	Items            []purchaseoutItem `json:"items"`
	Batchs           []any             `json:"batchs"`
	Sns              []any             `json:"sns"`
}

func (d *purchaseoutData) render(doc core.Doc, i int32) purchaseoutDoc {
	r := rowRand(d.seed, d.stream, i)
	s := d.src[i]
	src := d.pin.render(core.Doc{Modified: unix(d.pin.created[s]), Body: sharedBody}, s)
	ioID := purchaseoutIoBase + int64(i) + 1
	reg := core.Pick(r, regions)
	c := core.Pick(r, couriers)
	wh, _ := strconv.Atoi(src.WhID)
	out := purchaseoutDoc{
		IoID: ioID, IoDate: fmtTime(d.date.cur[i]), Status: purchaseoutStatuses[d.status[i]], SoID: src.SoID,
		FStatus: "WaitConfirm", Warehouse: src.Warehouse, ReceiverName: src.SupplierName,
		ReceiverMobile: fmt.Sprintf("0571%08d", r.IntN(1e8)), ReceiverState: reg[0], ReceiverCity: reg[1], ReceiverDistrict: reg[2],
		ReceiverAddress: fmt.Sprintf("%s%s%s工业园%d号", reg[0], reg[1], reg[2], 1+r.IntN(200)),
		WhID:            wh, Remark: core.Pick(r, purchaseoutRemarks), Modified: core.FormatVendorTime(doc.Modified),
		PoID: src.PoID, WmsCoID: strconv.FormatInt(src.WmsCoID, 10), SellerID: src.SupplierID,
		LogisticsCompany: c[1], LcID: c[0], LID: fmt.Sprintf("%s%012d", c[0], r.Int64N(1e12)),
		CreatorName: core.Pick(r, purchaseinBuyers), Items: []purchaseoutItem{}, Batchs: []any{}, Sns: []any{},
	}
	for k, it := range src.Items {
		// A subset of the received lines, at least the first one.
		if k > 0 && r.IntN(2) == 0 {
			continue
		}
		qty := 1 + r.IntN(it.Qty)
		price := int64(it.CostPrice*100 + 0.5)
		props := ""
		if parts := strings.SplitN(it.Name, " ", 2); len(parts) == 2 {
			props = strings.ReplaceAll(parts[1], " ", ";")
		}
		out.Items = append(out.Items, purchaseoutItem{
			IoiID: purchaseoutIoiBase + int64(i)*16 + int64(len(out.Items)) + 1, SkuID: it.SkuID, Name: it.Name,
			PropertiesValue: props, TaxRate: purchaseinTaxRate, Qty: qty, CostPrice: fen(price),
			CostAmount: fen(price * int64(qty)), IID: it.IID, IoID: ioID, CoID: saleoutCoID,
		})
	}
	if v, ok := doc.Body["remark"].(string); ok {
		out.Remark = v
	}
	return out
}
