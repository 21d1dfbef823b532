package jushuitan

import (
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
	ioRows

	created []int64 // seconds
	typ     []uint8 // index into inoutTypes
	status  []uint8 // index into inoutStatuses
	wms     []uint8 // index into wmsCoIDs
	wh      []uint8 // index into core.Stocks

	timeIndexes // by (modified, io_id) and ts, following mutations; by (io_date, io_id), static
}

// Generated remarks; most rows have none [I].
var inoutRemarks = []string{"盘盈入库", "样品出库", "赠品出库", "质检不合格退回供应商", "门店调拨补货", "活动物料领用", "客户退回无单据"}

func buildInout(env *core.Env) *inoutData {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetOtherInout)
	mods := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	d := &inoutData{
		seed: env.Seed, stream: streamHash(DatasetOtherInout), catalog: core.Catalog(env.Seed), ioRows: newIORows(n, ioIDBase, tsBase),
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
		docs[i] = core.Doc{ID: d.id(int32(i)), Modified: mods[i], Body: sharedBody}
	}
	d.mod, d.ts, d.date = newIndex(modKeys), newIndex(tsKeys), newIndex(dateKeys)
	d.env = env
	d.ds = core.NewDataset(DatasetOtherInout, docs, d.mutateBody)
	d.ds.SetRender(func(doc core.Doc) any { return d.render(doc, d.row(doc.ID)) })
	d.followRows(&d.ioRows, &d.timeIndexes)
	return d
}

// mutateBody is the dataset's Mutator: a new remark carrying the version
// and a new row version ts. It runs under the dataset lock, so nextTS needs
// no lock of its own.
func (d *inoutData) mutateBody(body map[string]any, version int) {
	d.mutations.Add(1)
	d.newVersion(body)
	body["remark"] = fmt.Sprintf("备注已更新（第%d版）", version)
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
	ioSelect
	types     uint8 // bit mask over inoutTypes; 0 = all
	status    int   // index into inoutStatuses; -1 = all
	wms       int64
	hasWms    bool
	pageIndex int
	pageSize  int
}

func (d *inoutData) parse(biz map[string]any) (*inoutQuery, *apiError) {
	q := &inoutQuery{status: -1}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, inoutDefaultSize, inoutMaxSize); err != nil {
		return nil, err
	}
	if q.ioSelect, err = parseSelect(biz, inoutMaxSpan, 2); err != nil {
		return nil, err
	}
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
	// [I] io_ids and start_ts are accepted as alternatives to the window and
	// so_ids, which the doc says may not both be empty.
	if !q.window && !q.byIDs && !q.hasStartTS {
		return nil, paramErr("修改时间和线上单号不能同时为空")
	}
	if q.types != 0 || q.status >= 0 || q.hasWms {
		q.static = func(i int32) bool { return q.staticMatch(d, i) }
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

func (s *Sim) queryOtherInout(biz map[string]any) (any, *apiError) {
	d, _ := s.data()
	q, aerr := d.parse(biz)
	if aerr != nil {
		return nil, aerr
	}
	return s.servePage(&d.tracker, ioPage(&d.tracker, DatasetOtherInout, PathOtherInout, &d.ioRows, &d.timeIndexes, &q.ioSelect, q.pageIndex, q.pageSize, q.key(), d.render)), nil
}

// key describes the query without its page number, for the random order.
func (q *inoutQuery) key() uint64 {
	c := *q
	c.pageIndex, c.static = 0, nil
	return core.QueryKey(fmt.Sprintf("inout %+v", c))
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
