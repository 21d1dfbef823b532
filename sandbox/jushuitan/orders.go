package jushuitan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Orders (订单), /open/orders/single/query.
//
// Contract [C] https://openweb.jushuitan.com/dev-doc?docType=4&docId=22, as
// generated into JSTJ order/JstQuerySingleOrderRequest.java and
// JstQuerySingleOrderResponse.java:
//
//   - biz: modified_begin/modified_end (both or neither, at most seven days
//     apart; the window, so_ids and o_ids may not all be empty), so_ids (max
//     20), o_ids, shop_id, is_offline_shop, date_type (0 modified, 2
//     order_date, 3 send_date; default 0), status (WaitPay 待付款, Delivering
//     发货中, Merged 被合并, Question 异常, Split 被拆分, WaitOuterSent 等供销商|外仓发货,
//     WaitConfirm 已付款待审核, WaitFConfirm 已客审待财审, Sent 已发货, Cancelled 取消),
//     page_index (from 1), page_size (max 100; no default published),
//     start_ts (row version, "大于等于"), is_get_total, order_flds,
//     order_item_flds, order_types (accepted and ignored [I]).
//   - data: {page_size, page_index, data_count, page_count, has_next,
//     orders:[...]}; each order o_id (integer), so_id, shop_id, shop_name,
//     co_id, status, type, order_from, order_date, pay_date, send_date,
//     created, modified, ts, pay_amount, paid_amount, freight (a string with
//     two decimals), free_amount, receiver_*, buyer_message, remark,
//     wms_co_id (a string), l_id, lc_id, logistics_company, labels, is_cod,
//     shop_buyer_id, skus, weight, f_weight, items [{oi_id (an integer),
//     sku_id, name, properties_value, qty, price, base_price, amount,
//     is_gift, sku_type (normal, combine, no_deliver), outer_oi_id,
//     raw_so_id, i_id, item_status, refund_status, shop_sku_id}], pays.
//
// Simulation [I]: the first orders are the online orders of dataset
// jushuitan_saleout (same o_id, so_id, shop, buyer and lines): a combined
// SKU is one line of sku_type combine (the sales-out documents serve its
// sub-items), and the order's status follows its shipments: Delivering
// while one waits, Sent when one went out, Cancelled when every shipment
// was voided. The remaining orders never shipped: WaitPay, WaitConfirm,
// WaitFConfirm, Question or Cancelled. date_type 3 is refused (the
// simulator keeps no send_date index). A mutation gives the order a new
// remark, a new modified time and the next ts.
type ordersData struct {
	tracker
	seed   uint64
	stream uint64
	so     *saleoutData
	ioRows
	shipped int     // orders [0, shipped) have sales-out documents
	status  []uint8 // index into orderStatuses
	shop    []uint8 // index into saleoutShops
	created []int64 // order_date (the order's creation)
	timeIndexes
}

// Documented literals [C].
var orderStatuses = []string{"WaitPay", "Delivering", "Merged", "Question", "Split", "WaitOuterSent", "WaitConfirm", "WaitFConfirm", "Sent", "Cancelled"}

// Order status indexes the simulator generates.
const (
	osWaitPay      = 0
	osDelivering   = 1
	osQuestion     = 3
	osWaitConfirm  = 6
	osWaitFConfirm = 7
	osSent         = 8
	osCancelled    = 9
)

var (
	orderRemarks    = []string{"", "", "", "客服已核实地址", "优先发顺丰", "老客户，送小样"}
	orderFroms      = []string{"TAOBAO", "JD", "TOUTIAOFXG", "PINDUODUO", "WEIXIN"}
	orderQuestions  = []string{"地址不详", "库存不足", "黑名单"}
	orderPayMethods = []string{"支付宝", "微信支付", "银联"}
)

const ordersTSBase = 1200000000

func buildOrders(env *core.Env, so *saleoutData) *ordersData {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetOrders)
	shipped := 0
	if so.n > 0 {
		shipped = int(so.order[so.n-1]) + 1
	}
	shipped = min(shipped, n)
	d := &ordersData{
		seed: env.Seed, stream: streamHash(DatasetOrders), so: so, ioRows: newIORows(n, saleoutOBase-1, ordersTSBase),
		shipped: shipped, status: make([]uint8, n), shop: make([]uint8, n), created: make([]int64, n),
	}
	limit := env.Start().Unix() - 1
	spread := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	modKeys, tsKeys, dateKeys := make([]int64, n), make([]int64, n), make([]int64, n)
	docs := make([]core.Doc, n)
	for o := range n {
		var mod, created int64
		if o < shipped {
			lo, hi := so.orderRows(int64(o))
			waiting, sent := false, false
			created = so.created[lo]
			for i := lo; i < hi; i++ {
				mod = max(mod, so.mod.cur[i])
				created = min(created, so.created[i])
				switch so.status[i] {
				case 0:
					sent = true
				case 1:
					waiting = true
				}
			}
			switch {
			case waiting:
				d.status[o] = osDelivering
			case sent:
				d.status[o] = osSent
			default:
				d.status[o] = osCancelled
			}
			d.shop[o] = so.shop[lo]
			// The order was placed before its first shipment was created and
			// changed last when its last shipment did.
			created -= 600 + r.Int64N(3600)
			mod = min(mod+r.Int64N(600), limit)
		} else {
			mod = spread[o].Unix()
			created = mod - r.Int64N(2*86400)
			switch x := r.IntN(100); {
			case x < 25:
				d.status[o] = osWaitPay
			case x < 50:
				d.status[o] = osWaitConfirm
			case x < 65:
				d.status[o] = osWaitFConfirm
			case x < 75:
				d.status[o] = osQuestion
			default:
				d.status[o] = osCancelled
			}
			d.shop[o] = uint8(r.IntN(len(saleoutShops)))
		}
		d.created[o] = created
		modKeys[o], tsKeys[o], dateKeys[o] = mod, ordersTSBase+int64(o), created
		docs[o] = core.Doc{ID: d.id(int32(o)), Modified: unix(mod), Body: sharedBody}
	}
	d.mod, d.ts, d.date = newIndex(modKeys), newIndex(tsKeys), newIndex(dateKeys)
	d.env = env
	d.ds = core.NewDataset(DatasetOrders, docs, d.mutateBody)
	d.ds.SetRender(func(doc core.Doc) any { return d.render(doc, d.row(doc.ID)) })
	d.followRows(&d.ioRows, &d.timeIndexes)
	return d
}

func (d *ordersData) mutateBody(body map[string]any, version int) {
	d.mutations.Add(1)
	d.newVersion(body)
	body["remark"] = fmt.Sprintf("卖家备注已修改（第%d版）", version)
}

type ordersQuery struct {
	ioSelect
	status    int
	shop      int64
	hasShop   bool
	pageIndex int
	pageSize  int
}

func (d *ordersData) parse(biz map[string]any) (*ordersQuery, *apiError) {
	q := &ordersQuery{status: -1}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, ordersDefaultSize, ordersMaxSize); err != nil {
		return nil, err
	}
	if dt, _, err := bizInt(biz, "date_type"); err != nil {
		return nil, err
	} else if dt == 3 {
		return nil, paramErr("date_type只能为0或2")
	}
	if q.ioSelect, err = parseSelect(biz, ordersMaxSpan, 2); err != nil {
		return nil, err
	}
	soIDs, _, err := bizStrings(biz, "so_ids")
	if err != nil {
		return nil, err
	}
	if len(soIDs) > ordersMaxSoIDs {
		return nil, paramErr("so_ids最多%d个", ordersMaxSoIDs)
	}
	oIDs, _, err := bizStrings(biz, "o_ids")
	if err != nil {
		return nil, err
	}
	if len(soIDs)+len(oIDs) > 0 {
		q.byIDs = true
		q.ids = d.rowsByIDs(soIDs, oIDs)
	}
	st, hasSt, err := bizString(biz, "status")
	if err != nil {
		return nil, err
	}
	if hasSt && st != "" {
		if q.status = slices.Index(orderStatuses, st); q.status < 0 {
			return nil, paramErr("status不支持的值：%s", st)
		}
	}
	if q.shop, q.hasShop, err = bizInt(biz, "shop_id"); err != nil {
		return nil, err
	}
	if !q.window && !q.byIDs && !q.hasStartTS {
		return nil, paramErr("修改时间、线上单号和内部单号不能同时为空")
	}
	if q.status >= 0 || q.hasShop {
		q.static = func(i int32) bool {
			return (q.status < 0 || int(d.status[i]) == q.status) && (!q.hasShop || saleoutShops[d.shop[i]].id == q.shop)
		}
	}
	return q, nil
}

// rowsByIDs resolves so_ids and o_ids to orders (union, deduplicated).
func (d *ordersData) rowsByIDs(soIDs, oIDs []string) []int32 {
	seen := map[int32]bool{}
	out := []int32{}
	add := func(list []string, base int64) {
		for _, s := range list {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || n < base || n-base >= int64(d.n) || seen[int32(n-base)] {
				continue
			}
			seen[int32(n-base)] = true
			out = append(out, int32(n-base))
		}
	}
	add(soIDs, saleoutSoBase)
	add(oIDs, saleoutOBase)
	return out
}

func (q *ordersQuery) key() uint64 {
	c := *q
	c.pageIndex, c.static = 0, nil
	return core.QueryKey(fmt.Sprintf("orders %+v", c))
}

func (s *Sim) queryOrders(biz map[string]any) (any, *apiError) {
	d := s.ordersData()
	q, aerr := d.parse(biz)
	if aerr != nil {
		return nil, aerr
	}
	pq := ioPage(&d.tracker, DatasetOrders, PathOrders, &d.ioRows, &d.timeIndexes, &q.ioSelect, q.pageIndex, q.pageSize, q.key(), d.render)
	pq.list = "orders"
	return s.servePage(&d.tracker, pq), nil
}

type orderItem struct {
	OiID            int64   `json:"oi_id"`
	SkuID           string  `json:"sku_id"`
	Name            string  `json:"name"`
	PropertiesValue string  `json:"properties_value"`
	Qty             int     `json:"qty"`
	Price           float64 `json:"price"`
	BasePrice       float64 `json:"base_price"`
	Amount          float64 `json:"amount"`
	IsGift          bool    `json:"is_gift"`
	SkuType         string  `json:"sku_type"`
	OuterOiID       string  `json:"outer_oi_id"`
	RawSoID         string  `json:"raw_so_id"`
	IID             string  `json:"i_id"`
	ShopSkuID       string  `json:"shop_sku_id"`
	ItemStatus      string  `json:"item_status"`
	RefundStatus    string  `json:"refund_status"`
	Pic             string  `json:"pic"`
}

type orderPay struct {
	PayID     string  `json:"pay_id"`
	OID       int64   `json:"o_id"`
	Amount    float64 `json:"amount"`
	PayDate   string  `json:"pay_date"`
	Payment   string  `json:"payment"`
	Status    string  `json:"status"`
	IsOrdPay  bool    `json:"is_order_pay"`
	BuyerAcct string  `json:"buyer_account"`
}

type orderDoc struct {
	OID              int64       `json:"o_id"`
	SoID             string      `json:"so_id"`
	CoID             int64       `json:"co_id"`
	ShopID           int64       `json:"shop_id"`
	ShopName         string      `json:"shop_name"`
	Status           string      `json:"status"`
	Type             string      `json:"type"`
	OrderFrom        string      `json:"order_from"`
	OrderDate        string      `json:"order_date"`
	PayDate          string      `json:"pay_date"`
	SendDate         string      `json:"send_date"`
	Created          string      `json:"created"`
	Modified         string      `json:"modified"`
	Ts               int64       `json:"ts"`
	PayAmount        float64     `json:"pay_amount"`
	PaidAmount       float64     `json:"paid_amount"`
	Freight          string      `json:"freight"`
	FreeAmount       float64     `json:"free_amount"`
	ShopBuyerID      string      `json:"shop_buyer_id"`
	ReceiverState    string      `json:"receiver_state"`
	ReceiverCity     string      `json:"receiver_city"`
	ReceiverDistrict string      `json:"receiver_district"`
	ReceiverAddress  string      `json:"receiver_address"`
	ReceiverName     string      `json:"receiver_name"`
	ReceiverMobile   string      `json:"receiver_mobile"`
	BuyerMessage     string      `json:"buyer_message"`
	Remark           string      `json:"remark"`
	QuestionType     string      `json:"question_type"`
	WmsCoID          string      `json:"wms_co_id"`
	LID              string      `json:"l_id"`
	LcID             string      `json:"lc_id"`
	LogisticsCompany string      `json:"logistics_company"`
	Labels           string      `json:"labels"`
	IsCod            bool        `json:"is_cod"`
	IsSplit          bool        `json:"is_split"`
	Skus             string      `json:"skus"`
	Weight           float64     `json:"weight"`
	Currency         string      `json:"currency"`
	Items            []orderItem `json:"items"`
	Pays             []orderPay  `json:"pays"`
}

func (d *ordersData) render(doc core.Doc, o int32) orderDoc {
	r := rowRand(d.seed, d.stream, o)
	oID := saleoutOBase + int64(o)
	soID := strconv.FormatInt(saleoutSoBase+int64(o), 10)
	parts, shipments := 1, []saleoutDoc(nil)
	if int(o) < d.shipped {
		lo, hi := d.so.orderRows(int64(o))
		parts = int(d.so.parts[lo])
		for i := lo; i < hi; i++ {
			shipments = append(shipments, d.so.render(core.Doc{Modified: unix(d.so.created[i]), Body: sharedBody}, int32(i)))
		}
	}
	so := d.so.orderNo(o, parts)
	shop := saleoutShops[d.shop[o]]
	st := orderStatuses[d.status[o]]
	out := orderDoc{
		OID: oID, SoID: soID, CoID: saleoutCoID, ShopID: shop.id, ShopName: shop.name, Status: st, Type: so.orderTy,
		OrderFrom: orderFroms[d.shop[o]], OrderDate: fmtTime(d.created[o]), Created: fmtTime(d.created[o]),
		Modified: core.FormatVendorTime(doc.Modified), Ts: d.rowTS(doc, o), ShopBuyerID: so.buyer,
		ReceiverState: so.region[0], ReceiverCity: so.region[1], ReceiverDistrict: so.region[2],
		ReceiverAddress: fmt.Sprintf("%s%s%s人民路%d号", so.region[0], so.region[1], so.region[2], so.street),
		ReceiverName:    so.recv, ReceiverMobile: so.mobile, BuyerMessage: so.message,
		Remark: core.Pick(r, orderRemarks), WmsCoID: "0", Currency: "CNY", IsSplit: parts > 1,
		Items: []orderItem{}, Pays: []orderPay{},
	}
	if st == "Question" {
		out.QuestionType = core.Pick(r, orderQuestions)
	}
	if st != "WaitPay" {
		out.PayDate = fmtTime(d.created[o] + 60 + r.Int64N(1800))
	}
	// Line status: the status of the shipment carrying it.
	lineStatus := func(k int) string {
		if len(shipments) == 0 {
			if st == "Cancelled" {
				return "Cancelled"
			}
			return st
		}
		if k%parts >= len(shipments) {
			return "Cancelled" // its shipment was cut off by the dataset's end
		}
		switch shipments[k%parts].Status {
		case "Confirmed":
			return "Sent"
		case "WaitConfirm":
			return "Delivering"
		}
		return "Cancelled"
	}
	var total, grams int64
	var skus []string
	for k, l := range so.lines {
		var item orderItem
		switch {
		case l.combo >= 0:
			cb := d.so.combos[l.combo]
			var price, base int64
			for _, sub := range cb.subs {
				_, b := d.so.unitFen(sub)
				price += b * 85 / 100
				base += b
				grams += int64(l.qty) * int64(150+sub%7*100)
			}
			item = orderItem{SkuID: cb.id, Name: cb.name, Qty: l.qty, Price: fen(price), BasePrice: fen(base),
				Amount: fen(price * int64(l.qty)), SkuType: "combine", IID: cb.id}
			total += price * int64(l.qty)
		default:
			sku := d.so.catalog[l.sku]
			price, base := d.so.unitFen(l.sku)
			if l.gift {
				price = 0
			}
			props := ""
			if p := strings.SplitN(sku.Name, " ", 2); len(p) == 2 {
				props = strings.ReplaceAll(p[1], " ", ";")
			}
			item = orderItem{SkuID: sku.ID, Name: sku.Name, PropertiesValue: props, Qty: l.qty, Price: fen(price),
				BasePrice: fen(base), Amount: fen(price * int64(l.qty)), IsGift: l.gift, SkuType: "normal", IID: sku.Style}
			total += price * int64(l.qty)
			grams += int64(l.qty) * int64(150+l.sku%7*100)
		}
		item.OiID = oID*100 + int64(k) + 1
		item.OuterOiID, item.RawSoID, item.ShopSkuID = fmt.Sprintf("%s-%d", soID, k+1), soID, item.SkuID
		item.ItemStatus, item.RefundStatus = lineStatus(k), "none"
		out.Items = append(out.Items, item)
		skus = append(skus, fmt.Sprintf("%s*%d", item.SkuID, item.Qty))
	}
	var freight, free int64
	if len(shipments) > 0 {
		// The first shipment carries the order's freight and discount.
		freight, free = int64(shipments[0].Freight*100+0.5), int64(shipments[0].FreeAmount*100+0.5)
		var sent []string
		for _, sh := range shipments {
			if sh.Status == "Confirmed" {
				out.SendDate = max(out.SendDate, sh.IoDate)
				sent = append(sent, sh.LID)
				out.LcID, out.LogisticsCompany = sh.LcID, sh.LogisticsCompany
			}
		}
		out.LID = strings.Join(sent, ",")
		out.WmsCoID = strconv.FormatInt(shipments[0].WmsCoID, 10)
		out.Labels = shipments[0].Labels
	} else {
		freight = int64(r.IntN(3)) * 500
	}
	out.Freight = strconv.FormatFloat(fen(freight), 'f', 2, 64)
	out.FreeAmount = fen(free)
	out.PayAmount = fen(total + freight - free)
	out.Skus = strings.Join(skus, ",")
	out.Weight = float64(grams) / 1000
	if out.PayDate != "" {
		out.PaidAmount = out.PayAmount
		out.Pays = append(out.Pays, orderPay{
			PayID: fmt.Sprintf("P%d", oID), OID: oID, Amount: out.PayAmount, PayDate: out.PayDate,
			Payment: core.Pick(r, orderPayMethods), Status: "Confirmed", IsOrdPay: true, BuyerAcct: so.buyer,
		})
	}
	if v, ok := doc.Body["remark"].(string); ok {
		out.Remark = v
	}
	return out
}
