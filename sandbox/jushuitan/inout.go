package jushuitan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// inoutData is the other in/out dataset with its indexes. Per row only the
// fields queries filter on are stored; the rest is rendered from the seed.
type inoutData struct {
	tracker
	seed    uint64
	stream  uint64
	catalog []core.SKU
	n       int
	nextTS  int64 // last ts handed out; only the mutator touches it (under the dataset lock)

	created []int64 // seconds
	typ     []uint8 // index into inoutTypes
	status  []uint8 // index into inoutStatuses
	wms     []uint8 // index into wmsCoIDs
	wh      []uint8 // index into core.Stocks

	mod  *sortedIndex // by (modified, io_id), follows mutations
	ts   *sortedIndex // by ts, follows mutations
	date *sortedIndex // by (io_date, io_id), static
}

// Generated remarks; most rows have none [I].
var inoutRemarks = []string{"盘盈入库", "样品出库", "赠品出库", "质检不合格退回供应商", "门店调拨补货", "活动物料领用", "客户退回无单据"}

func buildInout(env *core.Env) *inoutData {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetOtherInout)
	mods := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	d := &inoutData{
		seed: env.Seed, stream: streamHash(DatasetOtherInout), catalog: core.Catalog(env.Seed), n: n,
		created: make([]int64, n), typ: make([]uint8, n), status: make([]uint8, n),
		wms: make([]uint8, n), wh: make([]uint8, n),
	}
	modKeys := make([]int64, n)
	tsKeys := make([]int64, n)
	dateKeys := make([]int64, n)
	docs := make([]core.Doc, n)
	for i := range n {
		m := mods[i].Unix()
		switch x := r.IntN(10); {
		case x < 2:
			d.typ[i] = 0
		case x < 6:
			d.typ[i] = 1
		default:
			d.typ[i] = 2
		}
		switch x := r.IntN(100); {
		case x < 80:
			d.status[i] = 0 // Confirmed
		case x < 92:
			d.status[i] = 1 // WaitConfirm
		default:
			d.status[i] = 3 // Cancelled
		}
		d.wms[i] = uint8(r.IntN(len(wmsCoIDs)))
		d.wh[i] = uint8(r.IntN(len(core.Stocks)))
		d.created[i] = m - r.Int64N(3*86400)
		dateKeys[i] = d.created[i] + r.Int64N(m-d.created[i]+1)
		modKeys[i] = m
		tsKeys[i] = tsBase + int64(i)
		docs[i] = core.Doc{ID: strconv.FormatInt(ioIDBase+int64(i)+1, 10), Modified: mods[i], Body: sharedBody}
	}
	d.nextTS = tsBase + int64(n)
	d.mod, d.ts, d.date = newIndex(modKeys), newIndex(tsKeys), newIndex(dateKeys)
	d.env = env
	d.ds = core.NewDataset(DatasetOtherInout, docs, d.mutateBody)
	d.ds.SetRender(func(doc core.Doc) any { return d.render(doc, d.row(doc.ID)) })
	d.apply = func(doc core.Doc) {
		i := d.row(doc.ID)
		if i < 0 {
			return
		}
		d.mod.update(i, doc.Modified.Unix())
		d.ts.update(i, d.rowTS(doc, i))
	}
	d.rescan = func(all []core.Doc) {
		mk, tk := make([]int64, n), make([]int64, n)
		for _, doc := range all {
			if i := d.row(doc.ID); i >= 0 {
				mk[i], tk[i] = doc.Modified.Unix(), d.rowTS(doc, i)
			}
		}
		d.mod, d.ts = newIndex(mk), newIndex(tk)
	}
	return d
}

// mutateBody is the dataset's Mutator: a new remark carrying the version
// and a new row version ts. It runs under the dataset lock, so nextTS needs
// no lock of its own.
func (d *inoutData) mutateBody(body map[string]any, version int) {
	d.mutations.Add(1)
	d.nextTS++
	body["ts"] = d.nextTS
	body["remark"] = fmt.Sprintf("备注已更新（第%d版）", version)
}

// row maps a Doc.ID (io_id) to its row, or -1.
func (d *inoutData) row(id string) int32 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= ioIDBase || n > ioIDBase+int64(d.n) {
		return -1
	}
	return int32(n - ioIDBase - 1)
}

func (d *inoutData) rowTS(doc core.Doc, i int32) int64 {
	if v, ok := doc.Body["ts"].(int64); ok {
		return v
	}
	return tsBase + int64(i)
}

// hasSO: outbound and return bills come from an online order [I].
func (d *inoutData) hasSO(i int32) bool { return d.typ[i] != 2 }

func (d *inoutData) soID(i int32) string {
	if !d.hasSO(i) {
		return ""
	}
	return strconv.FormatInt(soIDBase+int64(i), 10)
}

// inoutQuery is a validated other/inout request.
type inoutQuery struct {
	window     bool
	begin, end int64
	dateType   int64
	ids        []int32 // rows named by io_ids/so_ids; nil when none given
	byIDs      bool
	types      uint8 // bit mask over inoutTypes; 0 = all
	status     int   // index into inoutStatuses; -1 = all
	wms        int64
	hasWms     bool
	startTS    int64
	hasStartTS bool
	pageIndex  int
	pageSize   int
}

func (d *inoutData) parse(biz map[string]any) (*inoutQuery, *apiError) {
	q := &inoutQuery{status: -1}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, inoutDefaultSize, inoutMaxSize); err != nil {
		return nil, err
	}
	b, hb, err := bizTime(biz, "modified_begin")
	if err != nil {
		return nil, err
	}
	e, he, err := bizTime(biz, "modified_end")
	if err != nil {
		return nil, err
	}
	if hb != he {
		return nil, paramErr("modified_begin和modified_end必须同时存在")
	}
	if hb {
		if e < b {
			return nil, paramErr("modified_begin不能大于modified_end")
		}
		if e-b > int64(inoutMaxSpan.Seconds()) {
			return nil, paramErr("查询时间跨度不能超过7天")
		}
		q.window, q.begin, q.end = true, b, e
	}
	dt, _, err := bizInt(biz, "date_type")
	if err != nil {
		return nil, err
	}
	if dt != 0 && dt != 2 {
		return nil, paramErr("date_type只能为0或2")
	}
	q.dateType = dt
	ioIDs, hasIO, err := bizStrings(biz, "io_ids")
	if err != nil {
		return nil, err
	}
	soIDs, hasSO, err := bizStrings(biz, "so_ids")
	if err != nil {
		return nil, err
	}
	if len(ioIDs) > inoutMaxIDs || len(soIDs) > inoutMaxIDs {
		return nil, paramErr("io_ids和so_ids最多%d个", inoutMaxIDs)
	}
	if (hasIO && len(ioIDs) > 0) || (hasSO && len(soIDs) > 0) {
		q.byIDs = true
		q.ids = d.rowsByIDs(ioIDs, soIDs)
	}
	types, _, err := bizStrings(biz, "types")
	if err != nil {
		return nil, err
	}
	for _, t := range types {
		k := slices.Index(inoutTypes, t)
		if k < 0 {
			return nil, paramErr("types不支持的值：%s", t)
		}
		q.types |= 1 << k
	}
	st, hasSt, err := bizString(biz, "status")
	if err != nil {
		return nil, err
	}
	if hasSt && st != "" {
		if q.status = slices.Index(inoutStatuses, st); q.status < 0 {
			return nil, paramErr("status不支持的值：%s", st)
		}
	}
	if q.wms, q.hasWms, err = bizInt(biz, "wms_co_id"); err != nil {
		return nil, err
	}
	if q.startTS, q.hasStartTS, err = bizInt(biz, "start_ts"); err != nil {
		return nil, err
	}
	if q.hasStartTS && q.startTS < 0 {
		return nil, paramErr("start_ts不能为负数")
	}
	// [I] io_ids and start_ts are accepted as alternatives to the window and
	// so_ids, which the doc says may not both be empty.
	if !q.window && !q.byIDs && !q.hasStartTS {
		return nil, paramErr("修改时间和线上单号不能同时为空")
	}
	return q, nil
}

// rowsByIDs resolves io_ids and so_ids to rows (union, deduplicated).
// Unknown numbers simply match nothing.
func (d *inoutData) rowsByIDs(ioIDs, soIDs []string) []int32 {
	seen := map[int32]bool{}
	out := []int32{}
	add := func(i int32) {
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	for _, s := range ioIDs {
		if i := d.row(strings.TrimSpace(s)); i >= 0 {
			add(i)
		}
	}
	for _, s := range soIDs {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < soIDBase || n >= soIDBase+int64(d.n) {
			continue
		}
		if i := int32(n - soIDBase); d.hasSO(i) {
			add(i)
		}
	}
	return out
}

// staticMatch checks the filters on fields that never change.
func (q *inoutQuery) staticMatch(d *inoutData, i int32) bool {
	if q.types != 0 && q.types&(1<<d.typ[i]) == 0 {
		return false
	}
	if q.status >= 0 && int(d.status[i]) != q.status {
		return false
	}
	if q.hasWms && wmsCoIDs[d.wms[i]] != q.wms {
		return false
	}
	return true
}

// match checks every filter against the row's current modified and ts;
// call with the tracker lock held (reads the indexes).
func (q *inoutQuery) match(d *inoutData, i int32) bool {
	return q.matchAt(d, i, d.mod.cur[i], d.ts.cur[i])
}

func (q *inoutQuery) matchAt(d *inoutData, i int32, mod, ts int64) bool {
	if !q.staticMatch(d, i) {
		return false
	}
	if q.window {
		t := mod
		if q.dateType == 2 {
			t = d.date.cur[i]
		}
		if t < q.begin || t > q.end {
			return false
		}
	}
	if q.hasStartTS && ts < q.startTS {
		return false
	}
	return true
}

// inoutPage is the data of an other/inout answer. Datas is a []inoutDoc,
// or, for a null answer, JSON null or absent (nil).
type inoutPage struct {
	PageSize  int  `json:"page_size"`
	PageIndex int  `json:"page_index"`
	DataCount int  `json:"data_count"`
	PageCount int  `json:"page_count"`
	HasNext   bool `json:"has_next"`
	Datas     any  `json:"datas,omitempty"`
}

func (s *Sim) queryOtherInout(biz map[string]any) (any, *apiError) {
	d, _ := s.data()
	q, aerr := d.parse(biz)
	if aerr != nil {
		return nil, aerr
	}
	offset := (q.pageIndex - 1) * q.pageSize
	af := s.env.Faults().AnswerFor(DatasetOtherInout)
	pg := s.env.NewPage(af, core.PageSpec{
		Vendor: Vendor, Iface: PathOtherInout, Offset: offset, Size: q.pageSize,
		Nulls: []core.NullKind{core.NullData, core.NullList, core.MissingList},
	})
	d.mu.Lock()
	d.sync()
	var count int
	var rows []int32
	if af.Reorders() {
		var all []int32
		count, all = d.collect(q, 0, d.n+1)
		core.Arrange(all, af.Order, d.seed, q.key(), func(i int32) int64 { return int64(i) })
		rows = core.Window(all, pg.Offset, pg.Size)
	} else {
		count, rows = d.collect(q, pg.Offset, pg.Size)
	}
	d.mu.Unlock()
	keep, total := pg.Cut(count, len(rows))
	rows = rows[:keep]

	out := inoutPage{PageSize: q.pageSize, PageIndex: q.pageIndex, DataCount: total}
	out.PageCount = (total + q.pageSize - 1) / q.pageSize
	out.HasNext = q.pageIndex < out.PageCount
	switch pg.Null {
	case core.NotNull:
		datas := make([]inoutDoc, 0, len(rows))
		for _, i := range rows {
			if doc, ok := d.ds.Get(strconv.FormatInt(ioIDBase+int64(i)+1, 10)); ok {
				datas = append(datas, d.render(doc, i))
				d.ds.MarkServed(doc.ID, doc.Version)
			}
		}
		out.Datas = datas
	case core.NullList:
		out.Datas = json.RawMessage("null")
	}
	// A row inside the query may change now, moving it between pages of
	// a client that pages by modified time.
	named := rowSet(q.ids)
	d.mutate(func(doc *core.Doc) bool {
		i := d.row(doc.ID)
		return i >= 0 && q.matchAt(d, i, doc.Modified.Unix(), d.rowTS(*doc, i)) && (!q.byIDs || named[i])
	})
	if pg.Null == core.NullData {
		return nil, nil
	}
	return out, nil
}

// key describes the query without its page number, for the random order.
func (q *inoutQuery) key() uint64 {
	c := *q
	c.pageIndex = 0
	return core.QueryKey(fmt.Sprintf("inout %+v", c))
}

// collect returns how many rows q matches and the ones at [offset,
// offset+size) in the mode's documented order: (ts, io_id) with start_ts,
// else (modified, io_id), or (io_date, io_id) for date_type 2. Call with
// mu held.
func (d *inoutData) collect(q *inoutQuery, offset, size int) (int, []int32) {
	var count int
	var rows []int32
	switch {
	case q.byIDs:
		ids := slices.Clone(q.ids)
		if q.hasStartTS {
			slices.SortFunc(ids, func(a, b int32) int { return cmpEntry(entry{d.ts.cur[a], a}, entry{d.ts.cur[b], b}) })
		} else {
			slices.SortFunc(ids, func(a, b int32) int { return cmpEntry(entry{d.mod.cur[a], a}, entry{d.mod.cur[b], b}) })
		}
		count, rows = page(slices.Values(ids), func(i int32) bool { return q.match(d, i) }, offset, size)
	case q.hasStartTS:
		lo := d.ts.lower(q.startTS)
		var m func(int32) bool
		if q.window || q.types != 0 || q.status >= 0 || q.hasWms {
			m = func(i int32) bool { return q.match(d, i) }
		}
		count, rows = pageRange(d.ts, lo, len(d.ts.e), m, offset, size)
	default:
		x := d.mod
		if q.dateType == 2 {
			x = d.date
		}
		lo, hi := x.lower(q.begin), x.upper(q.end)
		var m func(int32) bool
		if q.types != 0 || q.status >= 0 || q.hasWms {
			m = func(i int32) bool { return q.staticMatch(d, i) }
		}
		count, rows = pageRange(x, lo, hi, m, offset, size)
	}
	return count, rows
}

// pageRange pages positions [lo, hi) of x; without a filter it slices
// directly, so deep pages of a million rows stay cheap.
func pageRange(x *sortedIndex, lo, hi int, match func(int32) bool, offset, size int) (int, []int32) {
	if hi < lo {
		hi = lo
	}
	if match != nil {
		return page(x.rows(lo, hi), match, offset, size)
	}
	count := hi - lo
	var rows []int32
	for p := lo + offset; p < hi && p < lo+offset+size; p++ {
		rows = append(rows, x.e[p].i)
	}
	return count, rows
}

// inoutItem is one line of a bill.
type inoutItem struct {
	IoiID           int64   `json:"ioi_id"`
	SkuID           string  `json:"sku_id"`
	Name            string  `json:"name"`
	Unit            string  `json:"unit"`
	PropertiesValue string  `json:"properties_value"`
	Qty             int     `json:"qty"`
	CostPrice       float64 `json:"cost_price"`
	CostAmount      float64 `json:"cost_amount"`
	IID             string  `json:"i_id"`
	Remark          string  `json:"remark"`
	IoID            int64   `json:"io_id"`
	SalePrice       float64 `json:"sale_price"`
	SaleAmount      float64 `json:"sale_amount"`
}

// inoutDoc is one bill as the vendor answers it.
type inoutDoc struct {
	IoID             int64       `json:"io_id"`
	IoDate           string      `json:"io_date"`
	Status           string      `json:"status"`
	SoID             string      `json:"so_id"`
	Type             string      `json:"type"`
	FStatus          string      `json:"f_status"`
	Warehouse        string      `json:"warehouse"`
	WhID             int         `json:"wh_id"`
	ReceiverName     string      `json:"receiver_name"`
	ReceiverMobile   string      `json:"receiver_mobile"`
	ReceiverState    string      `json:"receiver_state"`
	ReceiverCity     string      `json:"receiver_city"`
	ReceiverDistrict string      `json:"receiver_district"`
	ReceiverAddress  string      `json:"receiver_address"`
	Remark           string      `json:"remark"`
	Modified         string      `json:"modified"`
	Created          string      `json:"created"`
	Labels           string      `json:"labels"`
	WmsCoID          int64       `json:"wms_co_id"`
	CreatorName      string      `json:"creator_name"`
	WaveID           int64       `json:"wave_id"`
	DropCoName       string      `json:"drop_co_name"`
	InoutUser        string      `json:"inout_user"`
	LID              string      `json:"l_id"`
	LcID             string      `json:"lc_id"`
	LogisticsCompany string      `json:"logistics_company"`
	LockWhID         int         `json:"lock_wh_id"`
	LockWhName       string      `json:"lock_wh_name"`
	Ts               int64       `json:"ts"`
	Items            []inoutItem `json:"items"`
	Batchs           []any       `json:"batchs"`
	Sns              []any       `json:"sns"`
}

var (
	receivers = []string{"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊"}
	regions   = [][3]string{{"浙江省", "杭州市", "西湖区"}, {"广东省", "广州市", "天河区"}, {"上海", "上海市", "浦东新区"}, {"江苏省", "南京市", "鼓楼区"}}
	clerks    = []string{"仓管-小王", "仓管-小李", "系统"}
	couriers  = [][2]string{{"ZTO", "中通快递"}, {"YTO", "圆通速递"}, {"SF", "顺丰速运"}}
)

// render builds the answer row from the stored fields, the row's seeded
// details and the document's current state (modified, remark, ts).
func (d *inoutData) render(doc core.Doc, i int32) inoutDoc {
	r := rowRand(d.seed, d.stream, i)
	ioID := ioIDBase + int64(i) + 1
	st := core.Stocks[d.wh[i]]
	out := inoutDoc{
		IoID: ioID, IoDate: fmtTime(d.date.cur[i]), Status: inoutStatuses[d.status[i]],
		SoID: d.soID(i), Type: inoutTypes[d.typ[i]], FStatus: "WaitConfirm",
		Warehouse: st.Name, WhID: int(d.wh[i]) + 1,
		Modified: doc.Modified.In(core.Shanghai).Format(core.VendorTimeLayout),
		Created:  fmtTime(d.created[i]), WmsCoID: wmsCoIDs[d.wms[i]],
		CreatorName: core.Pick(r, clerks), InoutUser: core.Pick(r, clerks),
		Ts: d.rowTS(doc, i), Items: []inoutItem{}, Batchs: []any{}, Sns: []any{},
	}
	if d.status[i] == 0 && r.IntN(2) == 0 {
		out.FStatus = "Confirmed"
	}
	if r.IntN(10) < 4 {
		out.Remark = core.Pick(r, inoutRemarks)
	}
	if d.hasSO(i) {
		reg := core.Pick(r, regions)
		out.ReceiverName = core.Pick(r, receivers)
		out.ReceiverMobile = fmt.Sprintf("138%08d", r.IntN(100000000))
		out.ReceiverState, out.ReceiverCity, out.ReceiverDistrict = reg[0], reg[1], reg[2]
		out.ReceiverAddress = fmt.Sprintf("%s%s%s文三路%d号", reg[0], reg[1], reg[2], 1+r.IntN(999))
		if d.typ[i] == 1 {
			c := core.Pick(r, couriers)
			out.LcID, out.LogisticsCompany = c[0], c[1]
			out.LID = fmt.Sprintf("%s%012d", c[0], r.Int64N(1e12))
		}
	}
	// 0..5 lines, some bills without any [I].
	lines := r.IntN(6)
	for k := range lines {
		sku := d.catalog[r.IntN(len(d.catalog))]
		qty := 1 + r.IntN(20)
		sale := round2(sku.Price * 1.6)
		props := ""
		if parts := strings.SplitN(sku.Name, " ", 2); len(parts) == 2 {
			props = strings.ReplaceAll(parts[1], " ", ";")
		}
		out.Items = append(out.Items, inoutItem{
			IoiID: ioID*10 + int64(k) + 1, SkuID: sku.ID, Name: sku.Name, Unit: sku.Unit,
			PropertiesValue: props, Qty: qty, CostPrice: sku.Price, CostAmount: round2(sku.Price * float64(qty)),
			IID: sku.Style, IoID: ioID, SalePrice: sale, SaleAmount: round2(sale * float64(qty)),
		})
	}
	if v, ok := doc.Body["remark"].(string); ok {
		out.Remark = v
	}
	return out
}
