package jushuitan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// After-sale documents (售后单, 退货退款), /open/refund/single/query.
//
// Contract [C] https://openweb.jushuitan.com/dev-doc?docType=9&docId=38, as
// generated into JSTJ aftersale/JstQuerySingleRefundRequest.java and
// JstQuerySingleRefundResponse.java:
//
//   - biz: modified_begin/modified_end (both or neither, at most seven days
//     apart; the window and so_ids may not both be empty), so_ids, o_ids,
//     as_ids, shop_buyer_ids (max 50), shop_id, is_offline_shop, status
//     (WaitConfirm 待确认, Confirmed 已确认, Cancelled 作废, Merged 被合并),
//     good_status (BUYER_NOT_RECEIVED, BUYER_RECEIVED, BUYER_RETURNED_GOODS,
//     SELLER_RECEIVED), type (普通退货, 其它, 拒收退货, 仅退款, 投诉, 补发, 换货,
//     维修), start_ts, is_get_total, owner_co_id, page_index (from 1),
//     page_size (default 30, max 50).
//   - data: the page object of other/inout; each document as_id (integer),
//     as_date, outer_as_id, o_id, so_id, type, created, modified, status,
//     shop_status, remark, question_type, warehouse, refund, payment,
//     free_amount, good_status, node, order_status, shop_type, shop_id,
//     shop_name, logistics_company, l_id, wh_id, wms_co_id, confirm_date,
//     freight, receiver_name, receiver_mobile, shop_buyer_id,
//     buyer_apply_refund, receive_refund, result, ts (a string), currency,
//     labels, creator_name, order_type, items [{asi_id, as_id, shop_amount,
//     sku_id, qty, is_gift, price, amount, name, pic, type,
//     properties_value, outer_oi_id, sku_type, r_qty, receive_date,
//     combine_sku_id, shop_sku_id, i_id, defective_qty, remark}], batchs,
//     sns.
//
// Simulation [I]: after-sale i is the after-sale of receipt i of dataset
// jushuitan_aftersale_received (same as_id, o_id, so_id, shop, type,
// warehouse and lines), so it refers to an order of jushuitan_orders and
// to a shipped sales-out document of jushuitan_saleout; each line carries
// the outer_oi_id and combine_sku_id of the shipped line it returns. It
// was applied for before the goods came back; a Confirmed receipt makes
// it Confirmed with good_status SELLER_RECEIVED, r_qty the returned
// quantity and receive_refund the amount; a waiting receipt leaves it
// WaitConfirm (BUYER_RETURNED_GOODS), a cancelled one Cancelled. date_type
// is not published; the simulator accepts 0 only. A mutation gives the
// after-sale a new remark, a new modified time and the next ts.
type refundData struct {
	tracker
	seed   uint64
	stream uint64
	recv   *receivedData
	ioRows
	timeIndexes
}

var (
	refundStatuses    = []string{"Confirmed", "WaitConfirm", "Cancelled", "Merged"}
	refundGoodStatus  = []string{"BUYER_NOT_RECEIVED", "BUYER_RECEIVED", "BUYER_RETURNED_GOODS", "SELLER_RECEIVED"}
	refundTypes       = []string{"普通退货", "其它", "拒收退货", "仅退款", "投诉", "补发", "换货", "维修"}
	refundQuestions   = []string{"七天无理由", "质量问题", "尺码不合适", "发错货", "少件"}
	refundShopStatus  = map[string]string{"Confirmed": "SUCCESS", "WaitConfirm": "WAIT_SELLER_CONFIRM_GOODS", "Cancelled": "CLOSED"}
	refundCreatorName = []string{"客服-小美", "客服-阿杰", "系统"}
)

const refundTSBase = 1300000000

func buildRefund(env *core.Env, recv *receivedData) *refundData {
	n := recv.n
	r := core.NewRand(env.Seed, DatasetRefund)
	d := &refundData{seed: env.Seed, stream: streamHash(DatasetRefund), recv: recv, ioRows: newIORows(n, receivedAsBase, refundTSBase)}
	limit := env.Start().Unix() - 1
	modKeys, tsKeys, dateKeys := make([]int64, n), make([]int64, n), make([]int64, n)
	docs := make([]core.Doc, n)
	for i := range n {
		// Applied 1-48 hours before the receipt was created, changed last
		// when the receipt was (or a little after).
		applied := recv.created[i] - 3600 - r.Int64N(47*3600)
		mod := min(recv.mod.cur[i]+r.Int64N(1800), limit)
		dateKeys[i], modKeys[i], tsKeys[i] = applied, mod, refundTSBase+int64(i)
		docs[i] = core.Doc{ID: d.id(int32(i)), Modified: unix(mod), Body: sharedBody}
	}
	d.mod, d.ts, d.date = newIndex(modKeys), newIndex(tsKeys), newIndex(dateKeys)
	d.env = env
	d.ds = core.NewDataset(DatasetRefund, docs, d.mutateBody)
	d.ds.SetRender(func(doc core.Doc) any { return d.render(doc, d.row(doc.ID)) })
	d.followRows(&d.ioRows, &d.timeIndexes)
	return d
}

func (d *refundData) mutateBody(body map[string]any, version int) {
	d.mutations.Add(1)
	d.newVersion(body)
	body["remark"] = fmt.Sprintf("售后单已修改（第%d版）", version)
}

type refundQuery struct {
	ioSelect
	status, goodStatus, typ int
	pageIndex, pageSize     int
}

func (d *refundData) parse(biz map[string]any) (*refundQuery, *apiError) {
	q := &refundQuery{status: -1, goodStatus: -1, typ: -1}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, refundDefaultSize, refundMaxSize); err != nil {
		return nil, err
	}
	if dt, _, err := bizInt(biz, "date_type"); err != nil {
		return nil, err
	} else if dt != 0 {
		return nil, paramErr("date_type不支持的值：%d", dt)
	}
	if q.ioSelect, err = parseSelect(biz, refundMaxSpan, 2); err != nil {
		return nil, err
	}
	lists := map[string][]string{}
	for _, key := range []string{"as_ids", "so_ids", "o_ids", "shop_buyer_ids"} {
		v, _, err := bizStrings(biz, key)
		if err != nil {
			return nil, err
		}
		if key == "shop_buyer_ids" && len(v) > refundMaxIDs {
			return nil, paramErr("%s最多%d个", key, refundMaxIDs)
		}
		lists[key] = v
	}
	if len(lists["as_ids"])+len(lists["so_ids"])+len(lists["o_ids"])+len(lists["shop_buyer_ids"]) > 0 {
		q.byIDs = true
		q.ids = d.rowsByIDs(lists)
	}
	for _, f := range []struct {
		key      string
		literals []string
		dst      *int
	}{{"status", refundStatuses, &q.status}, {"good_status", refundGoodStatus, &q.goodStatus}, {"type", refundTypes, &q.typ}} {
		v, ok, err := bizString(biz, f.key)
		if err != nil {
			return nil, err
		}
		if ok && v != "" {
			if *f.dst = slices.Index(f.literals, v); *f.dst < 0 {
				return nil, paramErr("%s不支持的值：%s", f.key, v)
			}
		}
	}
	if !q.window && !q.byIDs && !q.hasStartTS {
		return nil, paramErr("修改时间和线上单号不能同时为空")
	}
	if q.status >= 0 || q.goodStatus >= 0 || q.typ >= 0 {
		q.static = func(i int32) bool {
			st, gs := d.statusOf(i)
			return (q.status < 0 || refundStatuses[q.status] == st) && (q.goodStatus < 0 || refundGoodStatus[q.goodStatus] == gs) &&
				(q.typ < 0 || refundTypes[q.typ] == receivedTypes[d.recv.typ[i]])
		}
	}
	return q, nil
}

// statusOf is the after-sale status and goods status of row i, from its
// receipt's status.
func (d *refundData) statusOf(i int32) (string, string) {
	switch receivedStatuses[d.recv.status[i]] {
	case "Confirmed":
		return "Confirmed", "SELLER_RECEIVED"
	case "Cancelled":
		return "Cancelled", "BUYER_RECEIVED"
	}
	return "WaitConfirm", "BUYER_RETURNED_GOODS"
}

// rowsByIDs resolves the id lists (union) [I]; a scan, as the lists are
// short. shop_buyer_ids render the order's buyer, so they scan renders.
func (d *refundData) rowsByIDs(lists map[string][]string) []int32 {
	want := map[string]map[string]bool{}
	for key, v := range lists {
		want[key] = map[string]bool{}
		for _, s := range v {
			want[key][strings.TrimSpace(s)] = true
		}
	}
	out := []int32{}
	for i := range int32(d.n) {
		o := int64(d.recv.so.order[d.recv.src[i]])
		hit := want["as_ids"][strconv.FormatInt(receivedAsBase+int64(i)+1, 10)] ||
			want["o_ids"][strconv.FormatInt(saleoutOBase+o, 10)] || want["so_ids"][strconv.FormatInt(saleoutSoBase+o, 10)]
		if !hit && len(want["shop_buyer_ids"]) > 0 {
			hit = want["shop_buyer_ids"][d.recv.so.orderOf(d.recv.src[i]).buyer]
		}
		if hit {
			out = append(out, i)
		}
	}
	return out
}

func (q *refundQuery) key() uint64 {
	c := *q
	c.pageIndex, c.static = 0, nil
	return core.QueryKey(fmt.Sprintf("refund %+v", c))
}

func (s *Sim) queryRefund(biz map[string]any) (any, *apiError) {
	d := s.refundData()
	q, aerr := d.parse(biz)
	if aerr != nil {
		return nil, aerr
	}
	return s.servePage(&d.tracker, ioPage(&d.tracker, DatasetRefund, PathRefund, &d.ioRows, &d.timeIndexes, &q.ioSelect, q.pageIndex, q.pageSize, q.key(), d.render)), nil
}

type refundItem struct {
	AsiID           int64   `json:"asi_id"`
	AsID            int64   `json:"as_id"`
	ShopAmount      float64 `json:"shop_amount"`
	SkuID           string  `json:"sku_id"`
	Qty             int     `json:"qty"`
	IsGift          bool    `json:"is_gift"`
	Price           float64 `json:"price"`
	Amount          float64 `json:"amount"`
	Name            string  `json:"name"`
	Pic             string  `json:"pic"`
	Type            string  `json:"type"`
	PropertiesValue string  `json:"properties_value"`
	OuterOiID       string  `json:"outer_oi_id"`
	SkuType         string  `json:"sku_type"`
	RQty            int     `json:"r_qty"`
	ReceiveDate     string  `json:"receive_date"`
	CombineSkuID    string  `json:"combine_sku_id"`
	ShopSkuID       string  `json:"shop_sku_id"`
	IID             string  `json:"i_id"`
	DefectiveQty    int     `json:"defective_qty"`
	Remark          string  `json:"remark"`
}

type refundDoc struct {
	AsID             int64        `json:"as_id"`
	AsDate           string       `json:"as_date"`
	OuterAsID        string       `json:"outer_as_id"`
	OID              int64        `json:"o_id"`
	SoID             string       `json:"so_id"`
	Type             string       `json:"type"`
	Created          string       `json:"created"`
	Modified         string       `json:"modified"`
	Status           string       `json:"status"`
	ShopStatus       string       `json:"shop_status"`
	Remark           string       `json:"remark"`
	QuestionType     string       `json:"question_type"`
	Warehouse        string       `json:"warehouse"`
	Refund           float64      `json:"refund"`
	Payment          float64      `json:"payment"`
	FreeAmount       float64      `json:"free_amount"`
	GoodStatus       string       `json:"good_status"`
	Node             string       `json:"node"`
	OrderStatus      string       `json:"order_status"`
	ShopID           int64        `json:"shop_id"`
	ShopName         string       `json:"shop_name"`
	LogisticsCompany string       `json:"logistics_company"`
	LID              string       `json:"l_id"`
	WhID             int          `json:"wh_id"`
	WmsCoID          int64        `json:"wms_co_id"`
	ConfirmDate      string       `json:"confirm_date"`
	Freight          float64      `json:"freight"`
	ReceiverName     string       `json:"receiver_name"`
	ReceiverMobile   string       `json:"receiver_mobile"`
	ShopBuyerID      string       `json:"shop_buyer_id"`
	BuyerApplyRefund float64      `json:"buyer_apply_refund"`
	ReceiveRefund    float64      `json:"receive_refund"`
	Result           string       `json:"result"`
	Ts               string       `json:"ts"`
	Currency         string       `json:"currency"`
	Labels           string       `json:"labels"`
	CreatorName      string       `json:"creator_name"`
	OrderType        string       `json:"order_type"`
	Items            []refundItem `json:"items"`
	Batchs           []any        `json:"batchs"`
	Sns              []any        `json:"sns"`
}

func (d *refundData) render(doc core.Doc, i int32) refundDoc {
	r := rowRand(d.seed, d.stream, i)
	rc := d.recv.render(core.Doc{Modified: unix(d.recv.created[i]), Body: sharedBody}, i)
	s := d.recv.src[i]
	ship := d.recv.so.render(core.Doc{Modified: unix(d.recv.so.created[s]), Body: sharedBody}, s)
	st, gs := d.statusOf(i)
	asID := receivedAsBase + int64(i) + 1
	applied := d.date.cur[i]
	out := refundDoc{
		AsID: asID, AsDate: fmtTime(applied), OuterAsID: fmt.Sprintf("RF%s%02d", rc.SoID, i%100), OID: rc.OID, SoID: rc.SoID,
		Type: rc.Type, Created: fmtTime(applied + 60 + r.Int64N(600)), Modified: core.FormatVendorTime(doc.Modified),
		Status: st, ShopStatus: refundShopStatus[st], Remark: rc.AftersaleRemark, QuestionType: core.Pick(r, refundQuestions),
		Warehouse: rc.Warehouse, GoodStatus: gs, OrderStatus: "Sent", ShopID: ship.ShopID, ShopName: ship.ShopName,
		LogisticsCompany: rc.LogisticsCompany, LID: rc.LID, WhID: rc.WhID, WmsCoID: rc.WmsCoID,
		ReceiverName: ship.ReceiverName, ReceiverMobile: ship.ReceiverMobile, ShopBuyerID: ship.ShopBuyerID,
		Ts: strconv.FormatInt(d.rowTS(doc, i), 10), Currency: "CNY", CreatorName: core.Pick(r, refundCreatorName),
		OrderType: ship.OrderType, Items: []refundItem{}, Batchs: []any{}, Sns: []any{},
	}
	var total int64
	for k, it := range rc.Items {
		price := int64(it.SalePrice*100 + 0.5)
		amount := price * int64(it.Qty)
		total += amount
		item := refundItem{
			AsiID: asID*32 + int64(k) + 1, AsID: asID, ShopAmount: fen(amount), SkuID: it.SkuID, Qty: it.Qty,
			Price: fen(price), Amount: fen(amount), Name: it.Name, Type: "退货", PropertiesValue: it.PropertiesValue,
			SkuType: "normal", ShopSkuID: it.SkuID, IID: it.IID,
		}
		if rc.Type == "换货" {
			item.Type = "换货"
		}
		// The shipped line it returns.
		for _, sl := range ship.Items {
			if sl.SkuID == it.SkuID {
				item.OuterOiID, item.CombineSkuID, item.IsGift = sl.OuterOiID, sl.CombineSkuID, sl.IsGift
				if sl.CombineSkuID != "" {
					item.SkuType = "combine"
				}
				break
			}
		}
		if st == "Confirmed" {
			item.RQty, item.ReceiveDate = it.Qty, rc.IoDate
		}
		out.Items = append(out.Items, item)
	}
	out.Refund, out.BuyerApplyRefund = fen(total), fen(total)
	if st == "Confirmed" {
		out.ReceiveRefund, out.ConfirmDate, out.Result = fen(total), core.FormatVendorTime(doc.Modified), "退款成功"
	}
	if v, ok := doc.Body["remark"].(string); ok {
		out.Remark = v
	}
	return out
}
