package wdt

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// docIface is one windowed document interface, served on both routes:
// its php file (openapi2), its Qimen method, the dataset behind it and
// its documented limits. Facts and marks: docs/vendors/wdt.md and the
// catalogue (internal/catalogue/data/wdt.yaml), which hold the sources.
type docIface struct {
	php, method string
	dataset     string
	list        string // the answer's list key
	idField     string
	// maxSpan is the longest window (section 1.4 of each page) and
	// spanText how the refusal names it.
	maxSpan  time.Duration
	spanText string
	maxSize  int
	defSize  int
	// statusParam filters on statusField (a comma list of numbers is
	// accepted [I]); defaultStatus applies when the parameter is absent.
	statusParam, statusField string
	defaultStatus            []int
	// keys are parameters naming documents (param -> body field): with one
	// of them the window is not needed and the other filters are ignored.
	keys map[string]string
	// filters narrow a windowed query (param -> body field).
	filters map[string]string
	// consign: the window filters on consign_time unless the status asked
	// is below 95 or is_by_modified=1 (stockout_order_query_trade.php 1.3).
	consign bool
}

// Spans as the vendor pages state them.
const (
	span60m = 60 * time.Minute
	span30d = 30 * 24 * time.Hour
)

// docIfaces are the document interfaces. Page sizes: see the comments of
// each entry; default sizes are 40 where the pages say so for sibling
// interfaces and are otherwise [I].
var docIfaces = []*docIface{
	{
		php: "trade_query.php", method: "wdt.trade.query", dataset: DatasetTrades, list: "trades", idField: "trade_id",
		maxSpan: span60m, spanText: "60分钟", maxSize: 100, defSize: 40, // 1-100 [I], default 40 [I]
		statusParam: "status", statusField: "trade_status",
		keys:    map[string]string{"trade_no": "trade_no", "src_tid": "src_tids"},
		filters: map[string]string{"shop_no": "shop_no", "warehouse_no": "warehouse_no"},
	},
	{
		php: "stockout_order_query_trade.php", method: "wdt.stockout.order.query.trade", dataset: DatasetStockouts, list: "stockout_list", idField: "stockout_id",
		maxSpan: span30d, spanText: "30天", maxSize: 100, defSize: 40, // 1-100 [I, sibling pages], default 40 [I]
		statusParam: "status", statusField: "status",
		keys:    map[string]string{"stockout_no": "order_no", "src_order_no": "src_order_no", "src_tid": "src_tid"},
		filters: map[string]string{"shop_no": "shop_no", "warehouse_no": "warehouse_no"},
		consign: true,
	},
	{
		php: "refund_query.php", method: "wdt.refund.query", dataset: DatasetRefunds, list: "refunds", idField: "refund_id",
		maxSpan: span30d, spanText: "30天", maxSize: 40, defSize: 40, // "1~40, 默认40" in the qeasy copy of the page
		statusParam: "process_status", statusField: "process_status",
		keys:    map[string]string{"refund_no": "refund_no", "src_refund_no": "src_no", "trade_no": "trade_no", "tid": "tid"},
		filters: map[string]string{"shop_no": "shop_no"},
	},
	{
		php: "stockin_order_query_refund.php", method: "wdt.stockin.order.query.refund", dataset: DatasetRefundStockins, list: "stockin_list", idField: "stockin_id",
		maxSpan: span30d, spanText: "30天", maxSize: 50, defSize: 40, // 1-50 on the older official page; default [I]
		statusParam: "status", statusField: "status", defaultStatus: []int{inDone}, // "默认查询80已完成单据"
		keys:    map[string]string{"stockin_no": "order_no", "refund_no": "refund_no", "src_order_no": "src_order_no"},
		filters: map[string]string{"shop_no": "shop_no", "warehouse_no": "warehouse_no"},
	},
	{
		php: "stockin_order_query_purchase.php", method: "wdt.stockin.order.query.purchase", dataset: DatasetPurchaseIns, list: "stockin_list", idField: "stockin_id",
		maxSpan: span30d, spanText: "30天", maxSize: 100, defSize: 40, // [I]
		statusParam: "status", statusField: "status", defaultStatus: []int{inDone}, // "默认80" in the qeasy copy
		keys:    map[string]string{"stockin_no": "order_no", "src_order_no": "src_order_no"},
		filters: map[string]string{"warehouse_no": "warehouse_no"},
	},
	{
		php: "stock_query.php", method: "wdt.stock.query", dataset: DatasetStocks, list: "stocks", idField: "rec_id",
		maxSpan: span30d, spanText: "30天", maxSize: 100, defSize: 40, // [I]
		keys:    map[string]string{"spec_no": "spec_no", "goods_no": "goods_no"},
		filters: map[string]string{"warehouse_no": "warehouse_no"},
	},
	{
		php: "goods_query.php", method: "wdt.goods.query", dataset: DatasetGoods, list: "goods_list", idField: "goods_id",
		maxSpan: span30d, spanText: "30天", maxSize: 100, defSize: 40, // [I]
		keys: map[string]string{"goods_no": "goods_no"},
	},
}

func docByPHP(name string) *docIface {
	for _, k := range docIfaces {
		if k.php == name {
			return k
		}
	}
	return nil
}

func docByMethod(m string) *docIface {
	for _, k := range docIfaces {
		if k.method == m {
			return k
		}
	}
	return nil
}

// docQuery is a validated request of a document interface.
type docQuery struct {
	k          *docIface
	keyField   string
	keyValues  []string
	window     bool
	start, end time.Time
	byConsign  bool
	statuses   []int
	filters    map[string]string // body field -> value
	pageNo     int
	pageSize   int
}

// parseDocQuery validates the business fields of k. A refused window or
// page answers code 100 with the returned message; code and message are
// the simulator's guesses [I]: the pages document the limits, not the
// answer to a call that breaks them.
func parseDocQuery(k *docIface, p map[string]string) (docQuery, error) {
	q := docQuery{k: k, pageSize: k.defSize, filters: map[string]string{}}
	if v := p["page_size"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minPageSize || n > k.maxSize {
			return q, fmt.Errorf("page_size参数错误: %q,取值范围%d-%d", v, minPageSize, k.maxSize)
		}
		q.pageSize = n
	}
	if v := p["page_no"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, fmt.Errorf("page_no参数错误: %q,页号从0开始", v)
		}
		q.pageNo = n
	}
	for _, param := range slices.Sorted(maps.Keys(k.keys)) {
		if v := strings.TrimSpace(p[param]); v != "" {
			q.keyField = k.keys[param]
			for _, x := range strings.Split(v, ",") {
				q.keyValues = append(q.keyValues, strings.TrimSpace(x))
			}
			// A document key makes the other parameters ineffective
			// (trade_query.php: "其余参数不起效").
			return q, nil
		}
	}
	st, et := p["start_time"], p["end_time"]
	if st == "" || et == "" {
		if st == "" && et == "" {
			return q, fmt.Errorf("start_time和end_time不能为空")
		}
		return q, fmt.Errorf("start_time和end_time必须同时传入")
	}
	var err error
	if q.start, err = time.ParseInLocation(core.VendorTimeLayout, st, core.Shanghai); err != nil {
		return q, fmt.Errorf("start_time格式错误: %q,应为yyyy-MM-dd HH:mm:ss", st)
	}
	if q.end, err = time.ParseInLocation(core.VendorTimeLayout, et, core.Shanghai); err != nil {
		return q, fmt.Errorf("end_time格式错误: %q,应为yyyy-MM-dd HH:mm:ss", et)
	}
	if q.end.Before(q.start) {
		return q, fmt.Errorf("start_time不能大于end_time")
	}
	// Both bounds are inclusive (the pages' "闭区间"); a window of exactly
	// the maximum span is accepted [I].
	if q.end.Sub(q.start) > k.maxSpan {
		return q, fmt.Errorf("start_time和end_time最大跨度为%s", k.spanText)
	}
	q.window = true
	if k.statusParam != "" {
		if v := p[k.statusParam]; v != "" {
			for _, x := range strings.Split(v, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(x))
				if err != nil {
					return q, fmt.Errorf("%s参数错误: %q", k.statusParam, v)
				}
				q.statuses = append(q.statuses, n)
			}
		} else {
			q.statuses = k.defaultStatus
		}
	}
	if k.consign {
		switch {
		case len(q.statuses) == 0:
			// Without status: by consign time, shipped and completed bills.
			q.byConsign = true
			q.statuses = []int{stShipped, 105, stDone, 113}
		case slices.Min(q.statuses) >= stShipped:
			q.byConsign = p["is_by_modified"] != "1"
		}
	}
	for param, field := range k.filters {
		if v := p[param]; v != "" {
			q.filters[field] = v
		}
	}
	return q, nil
}

// key describes the query without its page, for the random order.
func (q docQuery) key() uint64 {
	return core.QueryKey(fmt.Sprintf("%s %s %v %v %d %d %v %v %v", q.k.dataset, q.keyField, q.keyValues, q.window,
		q.start.Unix(), q.end.Unix(), q.byConsign, q.statuses, q.filters))
}

func bodyString(b map[string]any, f string) string {
	switch v := b[f].(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	}
	return ""
}

func bodyInt(b map[string]any, f string) int {
	v, _ := b[f].(int)
	return v
}

// at is the time the window applies to: consign_time or modified.
func (q docQuery) at(d *core.Doc) (time.Time, bool) {
	if !q.byConsign {
		return d.Modified, true
	}
	t, err := time.ParseInLocation(core.VendorTimeLayout, bodyString(d.Body, "consign_time"), core.Shanghai)
	return t, err == nil
}

func (q docQuery) matches(d *core.Doc) bool {
	if q.keyField != "" {
		return slices.Contains(q.keyValues, bodyString(d.Body, q.keyField))
	}
	if len(q.statuses) > 0 && !slices.Contains(q.statuses, bodyInt(d.Body, q.k.statusField)) {
		return false
	}
	for f, v := range q.filters {
		if bodyString(d.Body, f) != v {
			return false
		}
	}
	t, ok := q.at(d)
	return ok && !t.Before(q.start) && !t.After(q.end)
}

// less is the documented order [I: not stated; by the window's time, then
// by id].
func (q docQuery) less(a, b *core.Doc) bool {
	ta, _ := q.at(a)
	tb, _ := q.at(b)
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return docNum(a.ID) < docNum(b.ID)
}

func docNum(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

// renderDoc is one list entry: the body with modified in China time.
func renderDoc(d core.Doc) map[string]any {
	row := maps.Clone(d.Body)
	row["modified"] = vtime(d.Modified)
	return row
}

// docAnswer is one page of a document interface.
type docAnswer struct {
	total int
	rows  []map[string]any
	null  core.NullKind
}

func (a docAnswer) list() any {
	switch a.null {
	case core.NullList:
		return json.RawMessage("null")
	case core.MissingList:
		return nil
	}
	return a.rows
}

// fields is the answer object: the status fields given, total_count and
// the list under its key (absent for a missing-list answer).
func (a docAnswer) fields(k *docIface, status map[string]any) map[string]any {
	out := maps.Clone(status)
	out["total_count"] = a.total
	if l := a.list(); l != nil {
		out[k.list] = l
	}
	return out
}

// docPage serves one page of q under the answer faults of its dataset,
// then applies the mutate fault to a document inside the query.
func (s *Sim) docPage(q docQuery, iface string) docAnswer {
	s.mu.RLock()
	ds := s.docs[q.k.dataset]
	s.mu.RUnlock()
	af := s.env.Faults().AnswerFor(q.k.dataset)
	pg := s.env.NewPage(af, core.PageSpec{
		Vendor: Vendor, Iface: iface,
		Offset: int(min(int64(q.pageNo)*int64(q.pageSize), math.MaxInt32)), Size: q.pageSize,
		Nulls: []core.NullKind{core.NullList, core.MissingList},
	})
	docs := ds.Select(q.matches, q.less)
	if af.Reorders() {
		core.Arrange(docs, af.Order, s.env.Seed, q.key(), func(d core.Doc) int64 { return docNum(d.ID) })
	}
	page := core.Window(docs, pg.Offset, pg.Size)
	keep, total := pg.Cut(len(docs), len(page))
	rows := []map[string]any{}
	for _, d := range page[:keep] {
		rows = append(rows, renderDoc(d))
		ds.MarkServed(d.ID, d.Version)
	}
	s.env.MaybeMutate(ds, q.matches)
	return docAnswer{total: total, rows: rows, null: pg.Null}
}
