package jushuitan

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Actual receipts of returns (售后实际收货, 退仓单), /open/aftersale/received/query.
//
// Contract [C] JSTJ aftersale/JstQueryAfterSaleReceivedRequest.java and
// JstQueryAfterSaleReceivedResponse.java:
//
//   - biz: modified_begin/modified_end (both or neither, at most seven days
//     apart), so_ids, o_ids, as_ids (max 50), io_ids (max 50), shop_id (a
//     string), start_ts, date_type (0 modified, 1 created, 2 order date, 4
//     actual in date), page_index (from 1), page_size (default 30, max 50).
//   - data: the page object of other/inout; each document io_id (退仓单号),
//     o_id, so_id, as_id (售后单号), l_id, logistics_company, lc_id, creator,
//     creator_name, io_date, warehouse, wh_id (1 main, 2 sales-return, 3
//     purchase, 4 defective), wms_co_id, modified, shop_id,
//     aftersale_remark, ts, status (WaitConfirm 待确认, Confirmed 已确认,
//     Cancelled 作废, Merged 被合并), drp_co_name, drp_co_id_to, type (普通退货,
//     其它, 拒收退货, 仅退款, 投诉, 补发, 换货, 维修), items [{io_id, sku_id,
//     i_id, unit, qty, name, properties_value, sale_price, sale_amount, ioi_id
//     (a string)}], batchs, sns.
//
// Simulation [I]: every receipt returns part of one shipped (Confirmed)
// sales-out document of dataset jushuitan_saleout: same o_id, so_id and
// shop, a subset of its lines with at most the shipped quantity at the
// shipped price, received one to five days after it went out (never after
// the sandbox start). Several receipts may refer to one order. date_type 1
// and 2 are refused (the simulator keeps no index on them). Statuses are
// generated Confirmed, WaitConfirm and Cancelled (about 80:12:8). A
// mutation gives the receipt a new aftersale_remark, a new modified time
// and the next ts.
type receivedData struct {
	tracker
	seed   uint64
	stream uint64
	so     *saleoutData
	ioRows
	src     []int32 // the sales-out row the receipt returns
	status  []uint8 // index into receivedStatuses
	typ     []uint8 // index into receivedTypes
	created []int64
	timeIndexes
}

var (
	receivedStatuses = []string{"Confirmed", "WaitConfirm", "Cancelled", "Merged"}
	receivedTypes    = []string{"普通退货", "普通退货", "普通退货", "拒收退货", "换货", "其它"}
	receivedRemarks  = []string{"", "七天无理由退货", "尺码不合适", "商品破损", "拒收退回", "颜色与图片不符"}
)

// Number bases of receipts [I].
const (
	receivedIoBase = 60000000
	receivedAsBase = 7000000
	receivedTSBase = 900000000
	// ioi_id of line k of row i: receivedIoiBase+32i+k+1.
	receivedIoiBase = 200000000
)

func buildReceived(env *core.Env, so *saleoutData) *receivedData {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetReceived)
	d := &receivedData{
		seed: env.Seed, stream: streamHash(DatasetReceived), so: so, ioRows: newIORows(n, receivedIoBase, receivedTSBase),
		src: make([]int32, n), status: make([]uint8, n), typ: make([]uint8, n), created: make([]int64, n),
	}
	var shipped []int32
	for i := range so.n {
		if so.status[i] == 0 {
			shipped = append(shipped, int32(i))
		}
	}
	if len(shipped) == 0 {
		shipped = []int32{0}
	}
	limit := env.Start().Unix() - 1
	modKeys, tsKeys, dateKeys := make([]int64, n), make([]int64, n), make([]int64, n)
	docs := make([]core.Doc, n)
	for i := range n {
		s := shipped[r.IntN(len(shipped))]
		d.src[i] = s
		out := so.date.cur[s]
		created := min(out+86400+r.Int64N(4*86400), limit)
		in := min(created+r.Int64N(86400), limit)
		mod := min(in+r.Int64N(3600), limit)
		switch x := r.IntN(100); {
		case x < 80:
			d.status[i] = 0
		case x < 92:
			d.status[i] = 1
		default:
			d.status[i] = 2
		}
		d.typ[i] = uint8(r.IntN(len(receivedTypes)))
		d.created[i], dateKeys[i], modKeys[i], tsKeys[i] = created, in, mod, receivedTSBase+int64(i)
		docs[i] = core.Doc{ID: d.id(int32(i)), Modified: unix(mod), Body: sharedBody}
	}
	d.mod, d.ts, d.date = newIndex(modKeys), newIndex(tsKeys), newIndex(dateKeys)
	d.env = env
	d.ds = core.NewDataset(DatasetReceived, docs, d.mutateBody)
	d.ds.SetRender(func(doc core.Doc) any { return d.render(doc, d.row(doc.ID)) })
	d.followRows(&d.ioRows, &d.timeIndexes)
	return d
}

func (d *receivedData) mutateBody(body map[string]any, version int) {
	d.mutations.Add(1)
	d.newVersion(body)
	body["aftersale_remark"] = fmt.Sprintf("售后备注已更新（第%d版）", version)
}

type receivedQuery struct {
	ioSelect
	shop      string
	hasShop   bool
	pageIndex int
	pageSize  int
}

func (d *receivedData) parse(biz map[string]any) (*receivedQuery, *apiError) {
	q := &receivedQuery{}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, receivedDefaultSize, receivedMaxSize); err != nil {
		return nil, err
	}
	if q.ioSelect, err = parseSelect(biz, receivedMaxSpan, 4); err != nil {
		return nil, err
	}
	lists := map[string][]string{}
	for _, key := range []string{"io_ids", "as_ids", "so_ids", "o_ids"} {
		v, _, err := bizStrings(biz, key)
		if err != nil {
			return nil, err
		}
		if (key == "io_ids" || key == "as_ids") && len(v) > receivedMaxIDs {
			return nil, paramErr("%s最多%d个", key, receivedMaxIDs)
		}
		lists[key] = v
	}
	if len(lists["io_ids"])+len(lists["as_ids"])+len(lists["so_ids"])+len(lists["o_ids"]) > 0 {
		q.byIDs = true
		q.ids = d.rowsByIDs(lists)
	}
	// shop_id is documented as a string; a number is accepted too [I].
	if v, ok := biz["shop_id"]; ok && v != nil {
		q.shop, q.hasShop = strings.TrimSpace(fmt.Sprint(v)), true
	}
	// [I] the doc names no required selector; one of the window, the ids
	// and start_ts is required, as on the other document interfaces.
	if !q.window && !q.byIDs && !q.hasStartTS {
		return nil, paramErr("修改时间和单号不能同时为空")
	}
	if q.hasShop {
		q.static = func(i int32) bool {
			return strconv.FormatInt(saleoutShops[d.so.shop[d.src[i]]].id, 10) == q.shop
		}
	}
	return q, nil
}

// rowsByIDs resolves the id lists to receipts (union) [I]; a scan, as the
// lists are short.
func (d *receivedData) rowsByIDs(lists map[string][]string) []int32 {
	want := map[string]map[int64]bool{}
	for key, v := range lists {
		want[key] = map[int64]bool{}
		for _, s := range v {
			if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
				want[key][n] = true
			}
		}
	}
	out := []int32{}
	for i := range int32(d.n) {
		o := int64(d.so.order[d.src[i]])
		if want["io_ids"][receivedIoBase+int64(i)+1] || want["as_ids"][receivedAsBase+int64(i)+1] ||
			want["o_ids"][saleoutOBase+o] || want["so_ids"][saleoutSoBase+o] {
			out = append(out, i)
		}
	}
	return out
}

func (q *receivedQuery) key() uint64 {
	c := *q
	c.pageIndex, c.static = 0, nil
	return core.QueryKey(fmt.Sprintf("received %+v", c))
}

func (s *Sim) queryReceived(biz map[string]any) (any, *apiError) {
	d := s.receivedData()
	q, aerr := d.parse(biz)
	if aerr != nil {
		return nil, aerr
	}
	return s.servePage(&d.tracker, ioPage(&d.tracker, DatasetReceived, PathReceived, &d.ioRows, &d.timeIndexes, &q.ioSelect, q.pageIndex, q.pageSize, q.key(), d.render)), nil
}

type receivedItem struct {
	IoID            int64   `json:"io_id"`
	SkuID           string  `json:"sku_id"`
	IID             string  `json:"i_id"`
	Unit            string  `json:"unit"`
	Qty             int     `json:"qty"`
	Name            string  `json:"name"`
	PropertiesValue string  `json:"properties_value"`
	SalePrice       float64 `json:"sale_price"`
	SaleAmount      float64 `json:"sale_amount"`
	IoiID           string  `json:"ioi_id"`
}

type receivedDoc struct {
	IoID             int64          `json:"io_id"`
	OID              int64          `json:"o_id"`
	SoID             string         `json:"so_id"`
	AsID             int64          `json:"as_id"`
	LID              string         `json:"l_id"`
	LogisticsCompany string         `json:"logistics_company"`
	LcID             string         `json:"lc_id"`
	Creator          int64          `json:"creator"`
	CreatorName      string         `json:"creator_name"`
	IoDate           string         `json:"io_date"`
	Warehouse        string         `json:"warehouse"`
	WhID             int            `json:"wh_id"`
	WmsCoID          int64          `json:"wms_co_id"`
	Modified         string         `json:"modified"`
	ShopID           int64          `json:"shop_id"`
	AftersaleRemark  string         `json:"aftersale_remark"`
	Ts               int64          `json:"ts"`
	Status           string         `json:"status"`
	DrpCoName        string         `json:"drp_co_name"`
	DrpCoIDTo        int64          `json:"drp_co_id_to"`
	Type             string         `json:"type"`
	Items            []receivedItem `json:"items"`
	Batchs           []any          `json:"batchs"`
	Sns              []any          `json:"sns"`
}

func (d *receivedData) render(doc core.Doc, i int32) receivedDoc {
	r := rowRand(d.seed, d.stream, i)
	s := d.src[i]
	src := d.so.render(core.Doc{Modified: unix(d.so.created[s]), Body: sharedBody}, s)
	ioID := receivedIoBase + int64(i) + 1
	// Returns go to the sales-return warehouse, sometimes to defective [I].
	wh := 1
	if r.IntN(5) == 0 {
		wh = 3
	}
	c := core.Pick(r, couriers)
	out := receivedDoc{
		IoID: ioID, OID: src.OID, SoID: src.SoID, AsID: receivedAsBase + int64(i) + 1,
		LID: fmt.Sprintf("%s%012d", c[0], r.Int64N(1e12)), LogisticsCompany: c[1], LcID: c[0],
		Creator: 20001 + int64(r.IntN(3)), CreatorName: core.Pick(r, clerks),
		IoDate: fmtTime(d.date.cur[i]), Warehouse: core.Stocks[wh].Name, WhID: wh + 1,
		WmsCoID: src.WmsCoID, Modified: core.FormatVendorTime(doc.Modified), ShopID: src.ShopID,
		AftersaleRemark: core.Pick(r, receivedRemarks), Ts: d.rowTS(doc, i),
		Status: receivedStatuses[d.status[i]], Type: receivedTypes[d.typ[i]],
		Items: []receivedItem{}, Batchs: []any{}, Sns: []any{},
	}
	for k, it := range src.Items {
		// A subset of the shipped lines, at least the first one drawn.
		if k > 0 && r.IntN(2) == 0 {
			continue
		}
		qty := 1 + r.IntN(it.Qty)
		price := int64(it.SalePrice*100 + 0.5)
		out.Items = append(out.Items, receivedItem{
			IoID: ioID, SkuID: it.SkuID, IID: it.IID, Unit: it.Unit, Qty: qty, Name: it.Name,
			PropertiesValue: it.PropertiesValue, SalePrice: fen(price), SaleAmount: fen(price * int64(qty)),
			IoiID: strconv.FormatInt(receivedIoiBase+int64(i)*32+int64(len(out.Items))+1, 10),
		})
	}
	if v, ok := doc.Body["aftersale_remark"].(string); ok {
		out.AftersaleRemark = v
	}
	return out
}

func unix(sec int64) time.Time { return time.Unix(sec, 0) }
