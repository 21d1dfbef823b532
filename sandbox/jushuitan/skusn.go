package jushuitan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// skusnData is the unique-code flow dataset. Row i has sku_sn
// "SN%010d" of i+1; rows of one in/out document are consecutive and share
// its create time, so row order is (create_time, io_id, sku_sn) order.
//
// A flow's create time never changes: the window filters on it and the
// index over it is static. Doc.Modified is the flow's modified_time; it
// starts at the create time and a mutation moves it (and the remark) only.
type skusnData struct {
	tracker
	seed    uint64
	stream  uint64
	catalog []core.SKU
	n       int

	ioID    []int64 // ascending with the row
	typ     []uint8 // inout_type
	wms     []uint8 // index into wmsCoIDs
	created []int64 // create_time, seconds; immutable

	ct *sortedIndex // by (create_time, row); static
}

// skusnTypes are the generated inout_type values with their weights
// (sales out most common) [I].
var skusnTypes = []uint8{3, 3, 3, 3, 4, 1, 1, 2, 5, 6, 7, 12, 13, 14, 16, 17, 18}

var snRemarks = []string{"", "", "", "", "唯一码补打", "退货质检通过", "盘点差异调整"}

func buildSkusn(env *core.Env) *skusnData {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetSkusn)
	times := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	d := &skusnData{
		seed: env.Seed, stream: streamHash(DatasetSkusn), catalog: core.Catalog(env.Seed), n: n,
		ioID: make([]int64, n), typ: make([]uint8, n), wms: make([]uint8, n), created: make([]int64, n),
	}
	docs := make([]core.Doc, n)
	io := int64(snIoBase)
	for i := 0; i < n; {
		io += 1 + r.Int64N(3)
		k := 1 + r.IntN(4)
		typ := core.Pick(r, skusnTypes)
		wms := uint8(r.IntN(len(wmsCoIDs)))
		t := times[i]
		for j := 0; j < k && i < n; j++ {
			d.ioID[i], d.typ[i], d.wms[i], d.created[i] = io, typ, wms, t.Unix()
			docs[i] = core.Doc{ID: fmt.Sprintf("%d:%s", io, snOf(int32(i))), Modified: t, Body: sharedBody}
			i++
		}
	}
	d.ct = newIndex(slices.Clone(d.created))
	d.env = env
	d.ds = core.NewDataset(DatasetSkusn, docs, d.mutateBody)
	d.ds.SetRender(func(doc core.Doc) any { return d.render(doc, d.row(doc.ID)) })
	d.ds.SetTimes(func(doc core.Doc) core.DocTimes {
		i := d.row(doc.ID)
		if i < 0 {
			return core.DocTimes{Modified: doc.Modified}
		}
		return core.DocTimes{Created: time.Unix(d.created[i], 0), Modified: d.modifiedAt(doc, i)}
	})
	// Mutations move modified_time only; the create-time index never moves.
	d.apply = func(core.Doc) {}
	d.rescan = func([]core.Doc) {}
	return d
}

// modifiedAt is the modified_time a flow is served with: Doc.Modified,
// or, for the share of flows modified_after_create picks (by a hash of the
// seed and the id, so stable), 1-6 hours after the create time but never
// after the sandbox start (nor its clock) [I]. A mutation later than that
// wins.
func (d *skusnData) modifiedAt(doc core.Doc, i int32) time.Time {
	rate := d.env.Faults().AnswerFor(DatasetSkusn).ModifiedAfterCreate
	if rate <= 0 || core.HashUnit(d.seed, "modified_after_create", doc.ID) >= rate {
		return doc.Modified
	}
	delay := time.Hour + time.Duration(core.HashUnit(d.seed, "modified_after_create_delay", doc.ID)*float64(5*time.Hour))
	at := time.Unix(d.created[i], 0).Add(delay).Truncate(time.Second)
	if limit := d.env.Start().Truncate(time.Second); at.After(limit) {
		at = limit
	}
	if now := d.env.Now().Truncate(time.Second); at.After(now) {
		at = now
	}
	if doc.Modified.After(at) {
		return doc.Modified
	}
	return at
}

func snOf(i int32) string { return fmt.Sprintf("SN%010d", int64(i)+1) }

// snRow maps a sku_sn to its row, or -1.
func (d *skusnData) snRow(sn string) int32 {
	num, ok := strings.CutPrefix(strings.TrimSpace(sn), "SN")
	if !ok || len(num) != 10 {
		return -1
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > int64(d.n) {
		return -1
	}
	return int32(n - 1)
}

// row maps a Doc.ID "<io_id>:<sku_sn>" to its row, or -1.
func (d *skusnData) row(id string) int32 {
	io, sn, ok := strings.Cut(id, ":")
	if !ok {
		return -1
	}
	i := d.snRow(sn)
	if n, err := strconv.ParseInt(io, 10, 64); i < 0 || err != nil || n != d.ioID[i] {
		return -1
	}
	return i
}

func (d *skusnData) mutateBody(body map[string]any, version int) {
	d.mutations.Add(1)
	body["remark"] = fmt.Sprintf("流水备注已更新（第%d版）", version)
}

// oID is the internal order number of sales flows, 0 otherwise [I].
func (d *skusnData) oID(i int32) int64 {
	if t := d.typ[i]; t == 3 || t == 4 {
		return snOBase + d.ioID[i]
	}
	return 0
}

// ioRows returns the rows [lo, hi) of in/out document io.
func (d *skusnData) ioRows(io int64) (int, int) {
	lo, _ := slices.BinarySearch(d.ioID, io)
	hi, _ := slices.BinarySearch(d.ioID, io+1)
	return lo, hi
}

type skusnQuery struct {
	hasStart, hasEnd bool
	start, end       int64
	wms              int64
	hasWms           bool
	byIDs            bool
	ids              []int32
	pageIndex        int
	pageSize         int
}

func (d *skusnData) parse(biz map[string]any) (*skusnQuery, *apiError) {
	q := &skusnQuery{}
	var err *apiError
	if q.pageIndex, q.pageSize, err = pageArgs(biz, skusnDefaultSize, skusnMaxSize); err != nil {
		return nil, err
	}
	if q.start, q.hasStart, err = bizTime(biz, "create_time_start"); err != nil {
		return nil, err
	}
	if q.end, q.hasEnd, err = bizTime(biz, "create_time_end"); err != nil {
		return nil, err
	}
	if q.wms, q.hasWms, err = bizInt(biz, "wms_co_id"); err != nil {
		return nil, err
	}
	ioIDs, _, err := bizInts(biz, "io_ids")
	if err != nil {
		return nil, err
	}
	oIDs, _, err := bizInts(biz, "o_ids")
	if err != nil {
		return nil, err
	}
	sns, _, err := bizStrings(biz, "sku_sns")
	if err != nil {
		return nil, err
	}
	if len(ioIDs)+len(oIDs)+len(sns) > 0 {
		q.byIDs = true
		q.ids = d.rowsByIDs(ioIDs, oIDs, sns)
	}
	if q.hasStart && q.hasEnd && q.end < q.start {
		return nil, paramErr("create_time_start不能大于create_time_end")
	}
	if !q.byIDs {
		// [I] without ids both ends are required, and the span is limited.
		if !q.hasStart || !q.hasEnd {
			return nil, paramErr("未指定单号时create_time_start和create_time_end必填")
		}
		if q.end-q.start > int64(skusnMaxSpan.Seconds()) {
			return nil, paramErr("查询时间跨度不能超过30天")
		}
	}
	return q, nil
}

// rowsByIDs resolves io_ids, o_ids and sku_sns; each given list narrows
// the result (they combine with AND) [I].
func (d *skusnData) rowsByIDs(ioIDs, oIDs []int64, sns []string) []int32 {
	var sets [][]int32
	if len(ioIDs) > 0 {
		var s []int32
		for _, io := range ioIDs {
			lo, hi := d.ioRows(io)
			for i := lo; i < hi; i++ {
				s = append(s, int32(i))
			}
		}
		sets = append(sets, s)
	}
	if len(oIDs) > 0 {
		var s []int32
		for _, o := range oIDs {
			lo, hi := d.ioRows(o - snOBase)
			for i := lo; i < hi; i++ {
				if d.oID(int32(i)) == o {
					s = append(s, int32(i))
				}
			}
		}
		sets = append(sets, s)
	}
	if len(sns) > 0 {
		var s []int32
		for _, sn := range sns {
			if i := d.snRow(sn); i >= 0 {
				s = append(s, i)
			}
		}
		sets = append(sets, s)
	}
	rest := make([]map[int32]bool, 0, len(sets)-1)
	for _, s := range sets[1:] {
		rest = append(rest, rowSet(s))
	}
	out := []int32{}
	seen := map[int32]bool{}
	for _, i := range sets[0] {
		inAll := !seen[i]
		for _, m := range rest {
			inAll = inAll && m[i]
		}
		if inAll {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}

func (q *skusnQuery) matchAt(d *skusnData, i int32, ct int64) bool {
	if q.hasWms && wmsCoIDs[d.wms[i]] != q.wms {
		return false
	}
	if q.hasStart && ct < q.start {
		return false
	}
	if q.hasEnd && ct > q.end {
		return false
	}
	return true
}

// skusnRow is one flow as the vendor answers it; cost_price is a string,
// cost_amount a number and o_id a string, as published.
type skusnRow struct {
	IoID         int64   `json:"io_id"`
	OID          string  `json:"o_id"`
	InoutType    int     `json:"inout_type"`
	SkuID        string  `json:"sku_id"`
	SkuSn        string  `json:"sku_sn"`
	CostPrice    string  `json:"cost_price"`
	CostAmount   float64 `json:"cost_amount"`
	Remark       string  `json:"remark"`
	CreateTime   string  `json:"create_time"`
	ModifiedTime string  `json:"modified_time"`
	SupplierID   string  `json:"supplier_id"`
	SupplierName string  `json:"supplier_name"`
}

func (s *Sim) querySkusn(biz map[string]any) (any, *apiError) {
	_, d := s.data()
	q, aerr := d.parse(biz)
	if aerr != nil {
		return nil, aerr
	}
	offset := (q.pageIndex - 1) * q.pageSize
	af := s.env.Faults().AnswerFor(DatasetSkusn)
	// data is a bare array: a null answer is "data":null, and there is no
	// total to drift [I].
	pg := s.env.NewPage(af, core.PageSpec{
		Vendor: Vendor, Iface: PathSkusn, Offset: offset, Size: q.pageSize,
		Nulls: []core.NullKind{core.NullData}, NoTotal: true,
	})
	var count int
	var rows []int32
	if pg.Null == core.NotNull {
		d.mu.Lock()
		d.sync()
		if af.Reorders() {
			_, all := d.collect(q, 0, d.n+1)
			core.Arrange(all, af.Order, d.seed, q.key(), func(i int32) int64 { return int64(i) })
			count, rows = len(all), core.Window(all, pg.Offset, pg.Size)
		} else {
			count, rows = d.collect(q, pg.Offset, pg.Size)
		}
		d.mu.Unlock()
	}
	keep, _ := pg.Cut(count, len(rows))
	rows = rows[:keep]

	var out []skusnRow
	if pg.Null == core.NotNull {
		out = make([]skusnRow, 0, len(rows))
		for _, i := range rows {
			if doc, ok := d.ds.Get(fmt.Sprintf("%d:%s", d.ioID[i], snOf(i))); ok {
				out = append(out, d.render(doc, i))
				d.ds.MarkServed(doc.ID, doc.Version)
			}
		}
	}
	named := rowSet(q.ids)
	d.mutate(func(doc *core.Doc) bool {
		i := d.row(doc.ID)
		return i >= 0 && q.matchAt(d, i, d.created[i]) && (!q.byIDs || named[i])
	})
	if pg.Null != core.NotNull {
		return nil, nil
	}
	return out, nil
}

// collect returns how many flows q matches and the ones at [offset,
// offset+size) in (create_time, io_id, sku_sn) order; call with mu held.
func (d *skusnData) collect(q *skusnQuery, offset, size int) (int, []int32) {
	if q.byIDs {
		ids := slices.Clone(q.ids)
		slices.SortFunc(ids, func(a, b int32) int { return cmpEntry(entry{d.created[a], a}, entry{d.created[b], b}) })
		return page(slices.Values(ids), func(i int32) bool { return q.matchAt(d, i, d.created[i]) }, offset, size)
	}
	var m func(int32) bool
	if q.hasWms {
		m = func(i int32) bool { return wmsCoIDs[d.wms[i]] == q.wms }
	}
	return pageRange(d.ct, d.ct.lower(q.start), d.ct.upper(q.end), m, offset, size)
}

// key describes the query without its page number, for the random order.
func (q *skusnQuery) key() uint64 {
	c := *q
	c.pageIndex = 0
	return core.QueryKey(fmt.Sprintf("skusn %+v", c))
}

func (d *skusnData) render(doc core.Doc, i int32) skusnRow {
	r := rowRand(d.seed, d.stream, i)
	sku := d.catalog[r.IntN(len(d.catalog))]
	out := skusnRow{
		IoID: d.ioID[i], OID: strconv.FormatInt(d.oID(i), 10), InoutType: int(d.typ[i]),
		SkuID: sku.ID, SkuSn: snOf(i),
		CostPrice: strconv.FormatFloat(sku.Price, 'f', 2, 64), CostAmount: sku.Price,
		Remark: core.Pick(r, snRemarks), CreateTime: fmtTime(d.created[i]),
		ModifiedTime: core.FormatVendorTime(d.modifiedAt(doc, i)),
	}
	if t := d.typ[i]; t == 1 || t == 2 {
		sup := core.Pick(r, core.Suppliers)
		out.SupplierID, out.SupplierName = sup.Number, sup.Name
	}
	if v, ok := doc.Body["remark"].(string); ok {
		out.Remark = v
	}
	return out
}
