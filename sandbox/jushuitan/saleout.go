package jushuitan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Sales-out documents (销售出库单), /open/orders/out/simple/query.
//
// Contract [C] JSTJ stockout/JstQueryOrderOutSimpleRequest.java and
// JstQueryOrderOutSimpleResponse.java (generated from the official doc
// https://openweb.jushuitan.com/dev-doc?docType=8&docId=34):
//
//   - biz: modified_begin/modified_end (both or neither, at most seven days
//     apart; the window, so_ids and o_ids may not all be empty), so_ids
//     (max 50), o_ids (max 50), io_ids (max 50), status (WaitConfirm 待出库,
//     Confirmed 已出库, Delete 作废 = cancelled while shipping, Cancelled 取消 =
//     shipment revoked after it went out, OuterConfirming 外部发货中), shop_id,
//     wms_co_id, date_type (0 modified, 2 io_date; default 0), start_ts (row
//     version "preventing missed rows while paging"), is_get_total (default
//     true; send false with start_ts; the simulator accepts it and always
//     counts [I]), page_index (from 1, default 1),
//     page_size (default 30, max 50). Other documented fields (l_ids,
//     wave_ids, owner_co_id, drp_co_id, is_offline_shop, inoutflds, ...) are
//     accepted and ignored [I].
//   - data: {page_size, page_index, data_count, page_count, has_next,
//     datas:[...]}; each document carries co_id, shop_id, shop_name, io_id,
//     o_id, so_id, created, modified, io_date, status, order_type,
//     shop_buyer_id, receiver_*, buyer_message, remark, is_cod, pay_amount,
//     paid_amount, free_amount, freight, weight, f_weight, l_id, lc_id,
//     logistics_company, labels, wms_co_id, wave_id, currency, pay_date, ts,
//     items, batchs, sns; each item ioi_id, pic, sku_id, qty, name,
//     properties_value, sale_price, oi_id, sale_amount, i_id, unit,
//     sale_base_price, combine_sku_id, is_gift, outer_oi_id, raw_so_id. Types
//     as published: io_id, o_id, ts, shop_id, wms_co_id integers; so_id,
//     oi_id strings; amounts numbers.
//   - The published response has no warehouse name field (only wms_co_id),
//     so none is served.
//
// Simulation [I]: one online order (so_id, o_id, shop) is shipped in one
// to three sales-out documents (partial shipments), each carrying a share
// of the order's lines; a combined SKU (组合装) is served as its sub-items,
// each with the combination's code in combine_sku_id, and a combination's
// sub-items always ship together; some lines are gifts at price 0.
// Amounts are whole fen (two decimals). Statuses are generated Confirmed,
// WaitConfirm, Delete and Cancelled (about 78:10:6:6). A mutation gives
// the document a new remark, a new modified time and the next ts.
type saleoutData struct {
	tracker
	seed    uint64
	stream  uint64 // per-document details
	ostream uint64 // per-order details (lines, buyer)
	catalog []core.SKU
	combos  []combo
	ioRows

	order   []int32 // order number of row i (o_id = saleoutOBase + order)
	part    []uint8 // which shipment of its order row i is (0-based)
	parts   []uint8 // how many shipments its order has
	status  []uint8 // index into saleoutStatuses
	shop    []uint8 // index into saleoutShops
	wms     []uint8 // index into wmsCoIDs
	created []int64 // seconds

	timeIndexes
}

// combo is a combined SKU (组合装) of two or three catalog SKUs [I].
type combo struct {
	id, name string
	subs     []int // catalog indexes
}

// Generated literals [I], apart from the status and order-type literals,
// which are the documented ones [C].
var (
	saleoutStatuses = []string{"Confirmed", "WaitConfirm", "Delete", "Cancelled", "OuterConfirming"}
	saleoutShops    = []struct {
		id   int64
		name string
	}{{10010001, "聚水潭天猫旗舰店"}, {10010002, "京东自营专卖店"}, {10010003, "抖音官方小店"}, {10010004, "拼多多品牌店"}, {10010005, "微信小程序商城"}}
	saleoutOrderTypes = []string{"普通订单", "普通订单", "普通订单", "补发订单", "换货订单"}
	buyerNicks        = []string{"小鱼爱购物", "tb_8832191", "jd_王先生", "快乐星球", "抖音用户7721", "阿狸不加糖"}
	buyerMessages     = []string{"", "", "", "请尽快发货", "不要放快递柜", "送人的，不要放发票"}
	saleoutRemarks    = []string{"", "", "", "拆单发货", "缺货先发部分", "客服备注：加急"}
	saleoutLabels     = []string{"", "", "拆分", "补发", "赠品"}
)

// Number bases of sales-out rows [I]: io_id saleoutIoBase+row+1, ts
// saleoutTSBase+row until mutated, o_id saleoutOBase+order, so_id
// saleoutSoBase+order.
const (
	saleoutIoBase = 40000000
	saleoutTSBase = 800000000
	saleoutOBase  = 9000000
	saleoutSoBase = 3600000000000000
	saleoutCoID   = 10086000
	// ioi_id of line k of row i is saleoutIoiBase+32i+k+1: unique and,
	// like every published integer of the answer, within 32 bits for a
	// million rows (a document has at most 12 lines).
	saleoutIoiBase = 100000000
	comboCount     = 20
)

func buildSaleout(env *core.Env) *saleoutData {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetSaleout)
	mods := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	d := &saleoutData{
		seed: env.Seed, stream: streamHash(DatasetSaleout), ostream: streamHash(DatasetSaleout + "/orders"),
		catalog: core.Catalog(env.Seed), ioRows: newIORows(n, saleoutIoBase, saleoutTSBase),
		order: make([]int32, n), part: make([]uint8, n), parts: make([]uint8, n),
		status: make([]uint8, n), shop: make([]uint8, n), wms: make([]uint8, n), created: make([]int64, n),
	}
	cr := core.NewRand(env.Seed, DatasetSaleout+"/combos")
	for k := range comboCount {
		c := combo{id: fmt.Sprintf("ZH%04d", k+1)}
		for range 2 + cr.IntN(2) {
			c.subs = append(c.subs, cr.IntN(len(d.catalog)))
		}
		first := strings.SplitN(d.catalog[c.subs[0]].Name, " ", 2)[0]
		c.name = fmt.Sprintf("%s超值组合装%d件套", first, len(c.subs))
		d.combos = append(d.combos, c)
	}
	modKeys, tsKeys, dateKeys := make([]int64, n), make([]int64, n), make([]int64, n)
	docs := make([]core.Doc, n)
	var ord int32
	for i := 0; i < n; ord++ {
		// 1 shipment for most orders, 2 or 3 for some (partial shipments).
		parts := 1
		switch x := r.IntN(10); {
		case x == 0:
			parts = 3
		case x < 3:
			parts = 2
		}
		shop := uint8(r.IntN(len(saleoutShops)))
		for k := 0; k < parts && i < n; k++ {
			d.order[i], d.part[i], d.parts[i], d.shop[i] = ord, uint8(k), uint8(parts), shop
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
			d.wms[i] = uint8(r.IntN(len(wmsCoIDs)))
			m := mods[i].Unix()
			d.created[i] = m - r.Int64N(2*86400)
			dateKeys[i] = d.created[i] + r.Int64N(m-d.created[i]+1)
			modKeys[i], tsKeys[i] = m, saleoutTSBase+int64(i)
			docs[i] = core.Doc{ID: d.id(int32(i)), Modified: mods[i], Body: sharedBody}
			i++
		}
	}
	d.mod, d.ts, d.date = newIndex(modKeys), newIndex(tsKeys), newIndex(dateKeys)
	d.env = env
	d.ds = core.NewDataset(DatasetSaleout, docs, d.mutateBody)
	d.ds.SetRender(func(doc core.Doc) any { return d.render(doc, d.row(doc.ID)) })
	d.followRows(&d.ioRows, &d.timeIndexes)
	return d
}

// mutateBody is the dataset's Mutator (under the dataset lock).
func (d *saleoutData) mutateBody(body map[string]any, version int) {
	d.mutations.Add(1)
	d.newVersion(body)
	body["remark"] = fmt.Sprintf("出库单已修改（第%d版）", version)
}

// orderRows returns the rows [lo, hi) of order o (rows of one order are
// consecutive).
func (d *saleoutData) orderRows(o int64) (int, int) {
	lo, _ := slices.BinarySearch(d.order, int32(o))
	hi, _ := slices.BinarySearch(d.order, int32(o)+1)
	return lo, hi
}

// saleoutQuery is a validated sales-out request.
type saleoutQuery struct {
	ioSelect
	status    int // index into saleoutStatuses; -1 = all
	shop      int64
	hasShop   bool
	wms       int64
	hasWms    bool
	pageIndex int
	pageSize  int
}

func (d *saleoutData) parse(biz map[string]any) (*saleoutQuery, *apiError) {
	q := &saleoutQuery{status: -1}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, saleoutDefaultSize, saleoutMaxSize); err != nil {
		return nil, err
	}
	if q.ioSelect, err = parseSelect(biz, saleoutMaxSpan, 2); err != nil {
		return nil, err
	}
	lists := map[string][]string{}
	for _, key := range []string{"io_ids", "so_ids", "o_ids"} {
		v, _, err := bizStrings(biz, key)
		if err != nil {
			return nil, err
		}
		if len(v) > saleoutMaxIDs {
			return nil, paramErr("%s最多%d个", key, saleoutMaxIDs)
		}
		lists[key] = v
	}
	if len(lists["io_ids"])+len(lists["so_ids"])+len(lists["o_ids"]) > 0 {
		q.byIDs = true
		q.ids = d.rowsByIDs(lists["io_ids"], lists["so_ids"], lists["o_ids"])
	}
	st, hasSt, err := bizString(biz, "status")
	if err != nil {
		return nil, err
	}
	if hasSt && st != "" {
		if q.status = slices.Index(saleoutStatuses, st); q.status < 0 {
			return nil, paramErr("status不支持的值：%s", st)
		}
	}
	if q.shop, q.hasShop, err = bizInt(biz, "shop_id"); err != nil {
		return nil, err
	}
	if q.wms, q.hasWms, err = bizInt(biz, "wms_co_id"); err != nil {
		return nil, err
	}
	if _, ok := biz["is_get_total"]; ok {
		if _, isBool := biz["is_get_total"].(bool); !isBool {
			return nil, paramErr("is_get_total必须为布尔值")
		}
	}
	// [I] io_ids and start_ts are accepted as alternatives to the window,
	// so_ids and o_ids, which the doc says may not all be empty.
	if !q.window && !q.byIDs && !q.hasStartTS {
		return nil, paramErr("修改时间和线上单号不能同时为空")
	}
	if q.status >= 0 || q.hasShop || q.hasWms {
		q.static = func(i int32) bool {
			return (q.status < 0 || int(d.status[i]) == q.status) &&
				(!q.hasShop || saleoutShops[d.shop[i]].id == q.shop) &&
				(!q.hasWms || wmsCoIDs[d.wms[i]] == q.wms)
		}
	}
	return q, nil
}

// rowsByIDs resolves io_ids, so_ids and o_ids to rows (union,
// deduplicated) [I]; unknown numbers match nothing.
func (d *saleoutData) rowsByIDs(ioIDs, soIDs, oIDs []string) []int32 {
	seen := map[int32]bool{}
	out := []int32{}
	add := func(lo, hi int) {
		for i := int32(lo); i < int32(hi); i++ {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	for _, s := range ioIDs {
		if i := d.row(strings.TrimSpace(s)); i >= 0 {
			add(int(i), int(i)+1)
		}
	}
	orders := func(list []string, base int64) {
		for _, s := range list {
			if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && n >= base && n-base < int64(d.n) {
				add(d.orderRows(n - base))
			}
		}
	}
	orders(soIDs, saleoutSoBase)
	orders(oIDs, saleoutOBase)
	return out
}

// key describes the query without its page number, for the random order.
func (q *saleoutQuery) key() uint64 {
	c := *q
	c.pageIndex, c.static = 0, nil
	return core.QueryKey(fmt.Sprintf("saleout %+v", c))
}

func (s *Sim) querySaleout(biz map[string]any) (any, *apiError) {
	d := s.saleoutData()
	q, aerr := d.parse(biz)
	if aerr != nil {
		return nil, aerr
	}
	return s.servePage(&d.tracker, ioPage(&d.tracker, DatasetSaleout, PathSaleout, &d.ioRows, &d.timeIndexes, &q.ioSelect, q.pageIndex, q.pageSize, q.key(), d.render)), nil
}

// saleoutItem is one line of a sales-out document. Amounts are float64
// renderings of whole fen.
type saleoutItem struct {
	IoiID           int64   `json:"ioi_id"`
	Pic             string  `json:"pic"`
	SkuID           string  `json:"sku_id"`
	Qty             int     `json:"qty"`
	Name            string  `json:"name"`
	PropertiesValue string  `json:"properties_value"`
	SalePrice       float64 `json:"sale_price"`
	OiID            string  `json:"oi_id"`
	SaleAmount      float64 `json:"sale_amount"`
	IID             string  `json:"i_id"`
	Unit            string  `json:"unit"`
	SaleBasePrice   float64 `json:"sale_base_price"`
	CombineSkuID    string  `json:"combine_sku_id"`
	IsGift          bool    `json:"is_gift"`
	OuterOiID       string  `json:"outer_oi_id"`
	RawSoID         string  `json:"raw_so_id"`
}

// saleoutDoc is one sales-out document as the vendor answers it.
type saleoutDoc struct {
	CoID             int64         `json:"co_id"`
	ShopID           int64         `json:"shop_id"`
	ShopName         string        `json:"shop_name"`
	IoID             int64         `json:"io_id"`
	OID              int64         `json:"o_id"`
	SoID             string        `json:"so_id"`
	Created          string        `json:"created"`
	Modified         string        `json:"modified"`
	IoDate           string        `json:"io_date"`
	Status           string        `json:"status"`
	OrderType        string        `json:"order_type"`
	ShopBuyerID      string        `json:"shop_buyer_id"`
	ReceiverCountry  string        `json:"receiver_country"`
	ReceiverState    string        `json:"receiver_state"`
	ReceiverCity     string        `json:"receiver_city"`
	ReceiverDistrict string        `json:"receiver_district"`
	ReceiverAddress  string        `json:"receiver_address"`
	ReceiverName     string        `json:"receiver_name"`
	ReceiverMobile   string        `json:"receiver_mobile"`
	BuyerMessage     string        `json:"buyer_message"`
	Remark           string        `json:"remark"`
	IsCod            bool          `json:"is_cod"`
	PayAmount        float64       `json:"pay_amount"`
	PaidAmount       float64       `json:"paid_amount"`
	FreeAmount       float64       `json:"free_amount"`
	Freight          float64       `json:"freight"`
	Weight           float64       `json:"weight"`
	FWeight          float64       `json:"f_weight"`
	LID              string        `json:"l_id"`
	LcID             string        `json:"lc_id"`
	LogisticsCompany string        `json:"logistics_company"`
	Labels           string        `json:"labels"`
	WmsCoID          int64         `json:"wms_co_id"`
	WaveID           int64         `json:"wave_id"`
	Currency         string        `json:"currency"`
	PayDate          string        `json:"pay_date"`
	Ts               int64         `json:"ts"`
	Items            []saleoutItem `json:"items"`
	Batchs           []any         `json:"batchs"`
	Sns              []any         `json:"sns"`
}

// orderLine is one line of an online order: a plain SKU, or a combined SKU
// served as its sub-items. Prices in fen.
type orderLine struct {
	combo int // index into combos, -1 for a plain SKU
	sku   int // catalog index of a plain SKU
	qty   int
	gift  bool
}

// order is what every shipment of one online order shares.
type saleOrder struct {
	lines   []orderLine
	buyer   string
	message string
	recv    string
	mobile  string
	region  [3]string
	street  int
	payDate int64 // seconds before the first shipment's creation
	orderTy string
}

// orderOf renders the order of row i from the per-order generator, so its
// shipments agree on lines and buyer.
func (d *saleoutData) orderOf(i int32) saleOrder { return d.orderNo(d.order[i], int(d.parts[i])) }

// orderNo renders online order number o shipped in parts documents (the
// orders of jushuitan_orders beyond the shipped ones use it too).
func (d *saleoutData) orderNo(ord int32, parts int) saleOrder {
	r := rowRand(d.seed, d.ostream, ord)
	o := saleOrder{
		buyer: core.Pick(r, buyerNicks), message: core.Pick(r, buyerMessages),
		recv: core.Pick(r, receivers), mobile: fmt.Sprintf("139%08d", r.IntN(100000000)),
		region: core.Pick(r, regions), street: 1 + r.IntN(999),
		payDate: 600 + r.Int64N(86400), orderTy: core.Pick(r, saleoutOrderTypes),
	}
	// At least one line per shipment, 1-4 lines more in all.
	for range parts + r.IntN(4) {
		l := orderLine{combo: -1, sku: r.IntN(len(d.catalog)), qty: 1 + r.IntN(3)}
		switch x := r.IntN(10); {
		case x < 3:
			l.combo = r.IntN(len(d.combos))
		case x == 3:
			l.gift, l.qty = true, 1
		}
		o.lines = append(o.lines, l)
	}
	return o
}

// unitFen is the sale price of a catalog SKU in fen: the cost price marked
// up 60% and rounded to the fen [I].
func (d *saleoutData) unitFen(sku int) (price, base int64) {
	cost := int64(d.catalog[sku].Price*100 + 0.5)
	base = cost * 16 / 10
	return base * 9 / 10, base // 10% off the list price
}

func fen(v int64) float64 { return float64(v) / 100 }

// render builds the answer document of row i as served now.
func (d *saleoutData) render(doc core.Doc, i int32) saleoutDoc {
	r := rowRand(d.seed, d.stream, i)
	o := d.orderOf(i)
	ioID := saleoutIoBase + int64(i) + 1
	oID := saleoutOBase + int64(d.order[i])
	soID := strconv.FormatInt(saleoutSoBase+int64(d.order[i]), 10)
	shop := saleoutShops[d.shop[i]]
	out := saleoutDoc{
		CoID: saleoutCoID, ShopID: shop.id, ShopName: shop.name, IoID: ioID, OID: oID, SoID: soID,
		Created: fmtTime(d.created[i]), Modified: core.FormatVendorTime(doc.Modified),
		IoDate: fmtTime(d.date.cur[i]), Status: saleoutStatuses[d.status[i]], OrderType: o.orderTy,
		ShopBuyerID: o.buyer, ReceiverCountry: "中国",
		ReceiverState: o.region[0], ReceiverCity: o.region[1], ReceiverDistrict: o.region[2],
		ReceiverAddress: fmt.Sprintf("%s%s%s人民路%d号", o.region[0], o.region[1], o.region[2], o.street),
		ReceiverName:    o.recv, ReceiverMobile: o.mobile, BuyerMessage: o.message,
		Remark: core.Pick(r, saleoutRemarks), Labels: core.Pick(r, saleoutLabels),
		WmsCoID: wmsCoIDs[d.wms[i]], WaveID: 500000 + int64(i)/8, Currency: "CNY",
		PayDate: fmtTime(d.created[i] - o.payDate), Ts: d.rowTS(doc, i),
		Items: []saleoutItem{}, Batchs: []any{}, Sns: []any{},
	}
	if d.parts[i] > 1 {
		out.Remark = fmt.Sprintf("拆单发货 %d/%d", d.part[i]+1, d.parts[i])
	}
	c := core.Pick(r, couriers)
	out.LcID, out.LogisticsCompany = c[0], c[1]
	out.LID = fmt.Sprintf("%s%012d", c[0], r.Int64N(1e12))
	var total, grams int64
	for k, l := range o.lines {
		if k%int(d.parts[i]) != int(d.part[i]) {
			continue // shipped in another document of the order
		}
		oiID := strconv.FormatInt(oID*100+int64(k)+1, 10)
		add := func(sku int, qty int, price, base int64, combine string) {
			item := d.catalog[sku]
			props := ""
			if parts := strings.SplitN(item.Name, " ", 2); len(parts) == 2 {
				props = strings.ReplaceAll(parts[1], " ", ";")
			}
			amount := price * int64(qty)
			total += amount
			grams += int64(qty) * int64(150+sku%7*100)
			out.Items = append(out.Items, saleoutItem{
				IoiID: saleoutIoiBase + int64(i)*32 + int64(len(out.Items)) + 1, SkuID: item.ID, Qty: qty, Name: item.Name,
				PropertiesValue: props, SalePrice: fen(price), OiID: oiID, SaleAmount: fen(amount),
				IID: item.Style, Unit: item.Unit, SaleBasePrice: fen(base), CombineSkuID: combine,
				IsGift: l.gift, OuterOiID: fmt.Sprintf("%s-%d", soID, k+1), RawSoID: soID,
			})
		}
		switch {
		case l.combo >= 0:
			// Sub-items of a combination, 15% below their own prices [I].
			cb := d.combos[l.combo]
			for _, sub := range cb.subs {
				_, base := d.unitFen(sub)
				add(sub, l.qty, base*85/100, base, cb.id)
			}
		case l.gift:
			_, base := d.unitFen(l.sku)
			add(l.sku, l.qty, 0, base, "")
		default:
			price, base := d.unitFen(l.sku)
			add(l.sku, l.qty, price, base, "")
		}
	}
	// Freight and discount go with the first shipment of the order [I].
	var freight, free int64
	if d.part[i] == 0 {
		freight = int64(r.IntN(3)) * 500
		if total > 20000 {
			free = int64(r.IntN(5)) * 1000
		}
	}
	free = min(free, total)
	out.Freight, out.FreeAmount = fen(freight), fen(free)
	out.PayAmount = fen(total + freight - free)
	out.PaidAmount = out.PayAmount
	out.Weight = float64(grams) / 1000
	out.FWeight = float64(grams+int64(r.IntN(200))) / 1000
	if v, ok := doc.Body["remark"].(string); ok {
		out.Remark = v
	}
	return out
}
