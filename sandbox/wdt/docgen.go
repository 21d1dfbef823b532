package wdt

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Datasets of the document interfaces (one per interface, both routes).
const (
	DatasetTrades         = "wdt_trades"
	DatasetStockouts      = "wdt_stockout_trade"
	DatasetRefunds        = "wdt_refunds"
	DatasetRefundStockins = "wdt_stockin_refund"
	DatasetPurchaseIns    = "wdt_stockin_purchase"
	DatasetStocks         = "wdt_stocks"
	DatasetGoods          = "wdt_goods"
)

// DatasetNames are every dataset the simulator registers, shops first.
func DatasetNames() []string {
	return []string{DatasetShops, DatasetTrades, DatasetStockouts, DatasetRefunds, DatasetRefundStockins, DatasetPurchaseIns, DatasetStocks, DatasetGoods}
}

// maxDocs caps the generated trades: every trade carries its lines in
// memory (unlike shops, whose details are derived when served), so a
// sandbox started with a million records still starts quickly. The other
// document datasets follow from the trades (stock-outs, refunds, their
// stock-ins) or from the shared catalog (goods, stock rows).
const maxDocs = 50000

// Trade statuses (trade_status, stockout status), as the vendor lists them.
const (
	stCancelled = 5   // 已取消
	stCheck     = 30  // 待客审
	stApproved  = 55  // 已审核
	stShipped   = 95  // 已发货
	stDone      = 110 // 已完成
)

// Refund process statuses used here.
const (
	rfCancelled = 10 // 已取消
	rfPending   = 20 // 待审核
	rfAgreed    = 30 // 已同意
	rfWaitGoods = 60 // 待收货
	rfDone      = 90 // 已完成
)

// Stock-in statuses.
const (
	inCancelled = 10 // 已取消
	inPending   = 30 // 待审核
	inDone      = 80 // 已完成
)

var warehouseNames = map[string]string{}

func init() {
	for _, s := range core.Stocks {
		warehouseNames[s.Number] = s.Name
	}
}

// money renders an amount with two decimals, as WDT answers amounts
// (strings) [I: the pages type them decimal(19,4); answers seen in
// community code carry strings].
func money(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// qty renders a quantity with four decimals [I].
func qty(n float64) string { return strconv.FormatFloat(n, 'f', 4, 64) }

func round2(f float64) float64 {
	s := money(f)
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

func vtime(t time.Time) string { return core.FormatVendorTime(t) }

// suite is a combined SKU (组合装) sold as one line on the platform and
// split into its components in the ERP trade.
type suite struct {
	no, name string
	parts    []int // catalog indexes
	num      []int // component quantity per suite
}

// docData is everything generated for the document interfaces.
type docData struct {
	trades, stockouts, refunds, refundIns, purchaseIns, stocks, goods []core.Doc
}

type gen struct {
	r       *rand.Rand
	cat     []core.SKU
	suites  []suite
	shopNos []string
}

// genDocs builds the document datasets from the seed. Times lie in the 30
// days before start: trades first (up to two days before start), the
// documents that follow them hours later.
func genDocs(env *core.Env) docData {
	g := &gen{r: core.NewRand(env.Seed, "wdt_docs"), cat: core.Catalog(env.Seed)}
	for i := 0; i < 10; i++ {
		a, b := g.r.IntN(len(g.cat)), g.r.IntN(len(g.cat))
		if a == b {
			b = (a + 1) % len(g.cat)
		}
		g.suites = append(g.suites, suite{
			no: fmt.Sprintf("ZH%04d", i+1), name: "组合装" + strings.Fields(g.cat[a].Name)[0] + "+" + strings.Fields(g.cat[b].Name)[0],
			parts: []int{a, b}, num: []int{1, 1 + g.r.IntN(2)},
		})
	}
	for id := 1; len(g.shopNos) < 12 && id <= max(env.Records, 1); id++ {
		if !disabledShop(id) {
			g.shopNos = append(g.shopNos, shopNo(id))
		}
	}
	if len(g.shopNos) == 0 {
		g.shopNos = []string{shopNo(1)}
	}
	start := env.Start().Truncate(time.Second)
	n := min(env.Records, maxDocs)
	times := core.SpreadTimes(g.r, n, start.Add(-48*time.Hour), core.DataSpan-72*time.Hour)
	var d docData
	for i := 0; i < n; i++ {
		g.trade(&d, i+1, times[i])
	}
	g.purchases(&d, max(n/4, 1), start)
	g.stockRows(&d, start)
	g.goodsDocs(&d, start)
	return d
}

type line struct {
	sku               int
	num, actual       int
	price, share      float64
	suiteNo, suiteNm  string
	suiteNum          int
	gift              int
	recID             int
	refundNum         int
	platformGoodsName string
}

func (g *gen) trade(d *docData, id int, t time.Time) {
	r := g.r
	// status mix: cancelled, waiting for review, approved, shipped, done;
	// some shipped trades are shipped only in part.
	var status int
	switch x := r.IntN(100); {
	case x < 8:
		status = stCancelled
	case x < 13:
		status = stCheck
	case x < 20:
		status = stApproved
	case x < 70:
		status = stShipped
	default:
		status = stDone
	}
	partial := status == stShipped && r.IntN(10) == 0
	var lines []line
	rec := id * 10
	for k := 0; k < 1+r.IntN(3); k++ {
		s := r.IntN(len(g.cat))
		num := 1 + r.IntN(3)
		price := round2(g.cat[s].Price * (1.3 + float64(r.IntN(60))/100))
		lines = append(lines, line{sku: s, num: num, actual: num, price: price})
	}
	if r.IntN(5) == 0 { // a combined SKU, split into its components
		su := g.suites[r.IntN(len(g.suites))]
		sn := 1 + r.IntN(2)
		for k, p := range su.parts {
			n := su.num[k] * sn
			lines = append(lines, line{sku: p, num: n, actual: n, price: round2(g.cat[p].Price * 1.2), suiteNo: su.no, suiteNm: su.name, suiteNum: sn})
		}
	}
	if r.IntN(6) == 0 { // a gift line at 0.00
		s := r.IntN(len(g.cat))
		lines = append(lines, line{sku: s, num: 1, actual: 1, price: 0, gift: 1})
	}
	if partial { // the last line shipped short, the rest refunded
		l := &lines[len(lines)-1]
		if l.num == 1 {
			l.num = 2
		}
		l.actual = l.num - 1
		l.refundNum = 1
	}
	if status == stCancelled || status == stCheck || status == stApproved {
		for k := range lines {
			lines[k].actual = 0
		}
	}
	goodsAmount := 0.0
	for k := range lines {
		lines[k].recID = rec + k + 1
		lines[k].share = round2(lines[k].price * float64(lines[k].num))
		goodsAmount += lines[k].share
	}
	discount := 0.0
	if goodsAmount > 50 && r.IntN(3) == 0 {
		discount = float64(1 + r.IntN(20))
	}
	post := []float64{0, 0, 6, 8, 10}[r.IntN(5)]
	receivable := round2(goodsAmount - discount + post)
	tradeNo := fmt.Sprintf("JY%s%06d", t.In(core.Shanghai).Format("20060102"), id)
	tid := strconv.FormatInt(3900000000000000000+int64(id)*7919+int64(r.IntN(7919)), 10)
	shop := g.shopNos[r.IntN(len(g.shopNos))]
	wh := core.Stocks[0].Number
	created := t.Add(-time.Duration(10+r.IntN(600)) * time.Minute)
	pay := created.Add(time.Duration(1+r.IntN(20)) * time.Minute)
	modified := t
	body := map[string]any{
		"trade_id": id, "trade_no": tradeNo, "src_tids": tid, "platform_id": 1,
		"shop_no": shop, "warehouse_no": wh, "trade_status": status, "trade_type": 1,
		"trade_time": vtime(created), "pay_time": vtime(pay),
		"buyer_nick": surnames[r.IntN(len(surnames))] + "**", "receiver_name": surnames[r.IntN(len(surnames))] + "*",
		"receiver_area": "浙江省 杭州市 西湖区", "goods_count": qty(sumNum(lines)), "goods_amount": money(goodsAmount),
		"post_amount": money(post), "discount": money(discount), "receivable": money(receivable),
		"paid": money(receivable), "cs_remark": "", "logistics_no": "",
		"goods_list": tradeLines(g, lines, tradeNo),
	}
	if status == stShipped || status == stDone {
		body["logistics_no"] = fmt.Sprintf("YT%012d", 500000000000+id)
	}
	d.trades = append(d.trades, core.Doc{ID: strconv.Itoa(id), Modified: modified, Body: body})

	// The sales stock-out of the trade: shipped and completed trades have a
	// shipped (95) or completed (110) bill; approved trades a bill waiting
	// to ship (55); half the cancelled trades a cancelled bill (5).
	soStatus := 0
	switch status {
	case stShipped, stDone:
		soStatus = status
	case stApproved:
		soStatus = stApproved
	case stCancelled:
		if r.IntN(2) == 0 {
			soStatus = stCancelled
		}
	}
	if soStatus == 0 {
		return
	}
	soID := len(d.stockouts) + 1
	consign := ""
	soMod := t.Add(-time.Duration(1+r.IntN(30)) * time.Minute)
	if soStatus >= stShipped {
		ct := t.Add(-time.Duration(1+r.IntN(5)) * time.Minute)
		consign = vtime(ct)
		soMod = ct.Add(time.Duration(r.IntN(90)) * time.Minute)
	}
	var details []map[string]any
	for k, l := range lines {
		n := l.actual
		if soStatus < stShipped {
			n = l.num
		}
		if n == 0 {
			continue
		}
		details = append(details, map[string]any{
			"rec_id": soID*10 + k + 1, "stockout_id": soID, "src_oid": l.recID,
			"spec_no": g.cat[l.sku].ID, "goods_no": g.cat[l.sku].Style, "goods_name": goodsName(g.cat[l.sku]), "spec_name": specName(g.cat[l.sku]),
			"goods_count": qty(float64(n)), "sell_price": money(l.price), "total_amount": money(round2(l.price * float64(n))),
			"unit_name": g.cat[l.sku].Unit, "suite_no": l.suiteNo, "gift_type": l.gift,
		})
	}
	d.stockouts = append(d.stockouts, core.Doc{ID: strconv.Itoa(soID), Modified: soMod, Body: map[string]any{
		"stockout_id": soID, "order_no": fmt.Sprintf("CK%s%06d", t.In(core.Shanghai).Format("20060102"), soID),
		"src_order_no": tradeNo, "src_tid": tid, "trade_id": id, "status": soStatus, "order_type": 1,
		"shop_no": shop, "warehouse_no": wh, "warehouse_name": warehouseNames[wh], "consign_time": consign,
		"logistics_no": body["logistics_no"], "goods_count": qty(sumDetail(details)), "receivable": money(receivable),
		"remark": "", "details_list": details,
	}})

	// Refunds of shipped trades: a return (type 2) of one line, or a
	// refund of the short-shipped part.
	if !(soStatus >= stShipped) || !(partial || r.IntN(7) == 0) {
		return
	}
	g.refund(d, id, tradeNo, tid, shop, lines, partial, t)
}

func (g *gen) refund(d *docData, tradeID int, tradeNo, tid, shop string, lines []line, partial bool, t time.Time) {
	r := g.r
	rid := len(d.refunds) + 1
	l := lines[r.IntN(len(lines))]
	typ, num := 2, 1 // 退货
	if partial {
		l = lines[len(lines)-1]
		typ, num = 1, l.refundNum // 退款 of the part not shipped
	}
	var ps int
	switch x := r.IntN(10); {
	case x < 1:
		ps = rfCancelled
	case x < 2:
		ps = rfPending
	case x < 3:
		ps = rfAgreed
	case x < 5:
		ps = rfWaitGoods
	default:
		ps = rfDone
	}
	if typ == 1 && ps == rfWaitGoods {
		ps = rfDone
	}
	amount := round2(l.price * float64(num))
	mod := t.Add(time.Duration(1+r.IntN(24)) * time.Hour)
	refundNo := fmt.Sprintf("TK%s%06d", mod.In(core.Shanghai).Format("20060102"), rid)
	d.refunds = append(d.refunds, core.Doc{ID: strconv.Itoa(rid), Modified: mod, Body: map[string]any{
		"refund_id": rid, "refund_no": refundNo, "src_no": fmt.Sprintf("RF%d", 2800000000+rid*13), "type": typ,
		"process_status": ps, "status": ps, "trade_id": tradeID, "trade_no": tradeNo, "tid": tid, "shop_no": shop,
		"refund_amount": money(amount), "actual_refund_amount": money(amount), "goods_amount": money(amount),
		"reason_name":         []string{"七天无理由", "尺码不合适", "质量问题", "少发漏发"}[r.IntN(4)],
		"return_warehouse_no": core.Stocks[1].Number, "remark": "",
		"refund_order_list": []map[string]any{{
			"refund_order_id": rid*10 + 1, "refund_id": rid, "oid": l.recID, "tid": tid,
			"spec_no": g.cat[l.sku].ID, "goods_no": g.cat[l.sku].Style, "goods_name": goodsName(g.cat[l.sku]), "spec_name": specName(g.cat[l.sku]),
			"refund_num": qty(float64(num)), "price": money(l.price), "total_amount": money(amount),
			"suite_no": l.suiteNo, "stockin_num": qty(0),
		}},
	}})
	// A return that reached the warehouse has a refund stock-in.
	if typ != 2 || (ps != rfWaitGoods && ps != rfDone) {
		return
	}
	sid := len(d.refundIns) + 1
	st := inDone
	if ps == rfWaitGoods {
		st = []int{inPending, inCancelled}[r.IntN(2)]
	}
	in := mod.Add(time.Duration(1+r.IntN(12)) * time.Hour)
	d.refundIns = append(d.refundIns, core.Doc{ID: strconv.Itoa(sid), Modified: in, Body: map[string]any{
		"stockin_id": sid, "order_no": fmt.Sprintf("RK%s%06d", in.In(core.Shanghai).Format("20060102"), sid),
		"refund_no": refundNo, "src_order_no": refundNo, "trade_no": tradeNo, "tid": tid, "shop_no": shop,
		"warehouse_no": core.Stocks[1].Number, "warehouse_name": core.Stocks[1].Name, "status": st, "process_status": ps,
		"stockin_time": vtime(in), "goods_count": qty(float64(num)), "total_price": money(amount), "remark": "",
		"details_list": []map[string]any{{
			"rec_id": sid*10 + 1, "stockin_id": sid, "spec_no": g.cat[l.sku].ID, "goods_no": g.cat[l.sku].Style,
			"goods_name": goodsName(g.cat[l.sku]), "spec_name": specName(g.cat[l.sku]),
			"goods_count": qty(float64(num)), "price": money(l.price), "total_amount": money(amount),
			"cost_price": money(g.cat[l.sku].Price), "defect": 0,
		}},
	}})
}

func (g *gen) purchases(d *docData, n int, start time.Time) {
	r := core.NewRand(uint64(len(g.cat))^0x9e37, "wdt_purchase")
	times := core.SpreadTimes(r, n, start.Add(-time.Hour), core.DataSpan-2*time.Hour)
	for i := 0; i < n; i++ {
		id := i + 1
		sup := core.Suppliers[r.IntN(len(core.Suppliers))]
		st := inDone
		switch x := r.IntN(10); {
		case x == 0:
			st = inCancelled
		case x == 1:
			st = inPending
		}
		var details []map[string]any
		total, count := 0.0, 0.0
		for k := 0; k < 1+r.IntN(4); k++ {
			s := g.cat[r.IntN(len(g.cat))]
			num := float64(10 * (1 + r.IntN(20)))
			amt := round2(s.Price * num)
			total += amt
			count += num
			details = append(details, map[string]any{
				"rec_id": id*10 + k + 1, "stockin_id": id, "spec_no": s.ID, "goods_no": s.Style, "goods_name": goodsName(s), "spec_name": specName(s),
				"goods_count": qty(num), "num": qty(num), "price": money(s.Price), "total_cost": money(amt), "unit_name": s.Unit, "remark": "",
			})
		}
		t := times[i]
		d.purchaseIns = append(d.purchaseIns, core.Doc{ID: strconv.Itoa(id), Modified: t, Body: map[string]any{
			"stockin_id": id, "order_no": fmt.Sprintf("RK%s%06d", t.In(core.Shanghai).Format("20060102"), 500000+id),
			"src_order_no": fmt.Sprintf("CG%s%04d", t.In(core.Shanghai).Format("20060102"), id%10000),
			"provider_no":  sup.Number, "provider_name": sup.Name, "warehouse_no": core.Stocks[2].Number, "warehouse_name": core.Stocks[2].Name,
			"status": st, "order_type": 1, "stockin_time": vtime(t), "created_time": vtime(t.Add(-2 * time.Hour)),
			"goods_count": qty(count), "total_price": money(round2(total)), "remark": "", "details_list": details,
		}})
	}
}

// stockRows are one row per spec and warehouse (rec_id).
func (g *gen) stockRows(d *docData, start time.Time) {
	r := core.NewRand(uint64(len(g.cat))^0x51ed, "wdt_stock")
	n := len(g.cat) * len(core.Stocks)
	times := core.SpreadTimes(r, n, start.Add(-time.Hour), core.DataSpan-2*time.Hour)
	perm := r.Perm(n) // rows are not modified in rec_id order
	for i := 0; i < n; i++ {
		s := g.cat[i/len(core.Stocks)]
		w := core.Stocks[i%len(core.Stocks)]
		stock := float64(r.IntN(500))
		order := float64(r.IntN(int(stock)/4 + 1))
		id := i + 1
		d.stocks = append(d.stocks, core.Doc{ID: strconv.Itoa(id), Modified: times[perm[i]], Body: map[string]any{
			"rec_id": id, "spec_no": s.ID, "goods_no": s.Style, "goods_name": goodsName(s), "spec_name": specName(s),
			"warehouse_no": w.Number, "warehouse_name": w.Name, "stock_num": qty(stock), "order_num": qty(order),
			"sending_num": qty(0), "purchase_num": qty(float64(r.IntN(3) * 50)), "avaliable_num": qty(stock - order),
			"cost_price": money(s.Price), "defect": boolInt(w.Number == "CK004"),
		}})
	}
}

// goodsDocs are the goods of the catalog: one per style, its SKUs as specs.
func (g *gen) goodsDocs(d *docData, start time.Time) {
	r := core.NewRand(uint64(len(g.cat))^0x600d, "wdt_goods")
	byStyle := map[string][]core.SKU{}
	var styles []string
	for _, s := range g.cat {
		if _, ok := byStyle[s.Style]; !ok {
			styles = append(styles, s.Style)
		}
		byStyle[s.Style] = append(byStyle[s.Style], s)
	}
	times := core.SpreadTimes(r, len(styles), start.Add(-time.Hour), core.DataSpan-2*time.Hour)
	for i, st := range styles {
		id := i + 1
		skus := byStyle[st]
		var specs []map[string]any
		for _, s := range skus {
			sid, _ := strconv.Atoi(strings.TrimPrefix(s.ID, "SKU"))
			specs = append(specs, map[string]any{
				"spec_id": sid, "goods_id": id, "spec_no": s.ID, "spec_code": s.ID, "spec_name": specName(s),
				"barcode": fmt.Sprintf("69%011d", 10000000+sid), "retail_price": money(round2(s.Price * 1.6)),
				"wholesale_price": money(round2(s.Price * 1.2)), "market_price": money(round2(s.Price * 1.9)),
				"lowest_price": money(s.Price), "weight": qty(0.5), "unit_name": s.Unit, "is_sku": 1, "deleted": 0,
			})
		}
		d.goods = append(d.goods, core.Doc{ID: strconv.Itoa(id), Modified: times[i], Body: map[string]any{
			"goods_id": id, "goods_no": st, "goods_name": goodsName(skus[0]), "short_name": goodsName(skus[0]),
			"goods_type": 1, "spec_count": len(specs), "brand_name": brands[i%len(brands)], "class_name": "服装鞋包",
			"unit_name": skus[0].Unit, "remark": "", "deleted": 0, "spec_list": specs,
		}})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// goodsName is the product word of a catalog SKU ("纯棉T恤"), specName its
// colour and size ("白色 M").
func goodsName(s core.SKU) string { return strings.Fields(s.Name)[0] }

func specName(s core.SKU) string {
	f := strings.Fields(s.Name)
	return strings.Join(f[1:], " ")
}

func sumNum(ls []line) float64 {
	n := 0
	for _, l := range ls {
		n += l.num
	}
	return float64(n)
}

func sumDetail(ds []map[string]any) float64 {
	n := 0.0
	for _, d := range ds {
		v, _ := strconv.ParseFloat(d["goods_count"].(string), 64)
		n += v
	}
	return n
}

func tradeLines(g *gen, ls []line, tradeNo string) []map[string]any {
	out := make([]map[string]any, len(ls))
	for k, l := range ls {
		s := g.cat[l.sku]
		out[k] = map[string]any{
			"rec_id": l.recID, "trade_no": tradeNo, "spec_no": s.ID, "goods_no": s.Style, "goods_name": goodsName(s), "spec_name": specName(s),
			"num": qty(float64(l.num)), "actual_num": qty(float64(l.actual)), "refund_num": qty(float64(l.refundNum)),
			"price": money(l.price), "order_price": money(l.price), "share_amount": money(l.share), "discount": money(0),
			"gift_type": l.gift, "suite_no": l.suiteNo, "suite_name": l.suiteNm, "suite_num": qty(float64(l.suiteNum)),
			"unit_name": s.Unit,
		}
	}
	return out
}

// mutateRemark marks a touched bill visibly: its remark field carries
// the version (" v2", " v3", ...).
func mutateRemark(field string) core.Mutator {
	return func(body map[string]any, version int) {
		body[field] = fmt.Sprintf("v%d", version)
	}
}

// mutateStock moves a stock row: one unit sold per change, so stock_num
// and avaliable_num fall with the version (never below zero).
func mutateStock(body map[string]any, version int) {
	for _, f := range []string{"stock_num", "avaliable_num"} {
		s, _ := body[f].(string)
		v, _ := strconv.ParseFloat(s, 64)
		body[f] = qty(max(v-1, 0))
	}
	_ = version
}
