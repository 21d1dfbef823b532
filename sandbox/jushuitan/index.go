package jushuitan

import (
	"encoding/json"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// entry is one row of a sorted index: its key (seconds or a row version)
// and the row number. Row numbers follow the id order of a dataset, so
// (key, row) orders by (key, id) as the vendor does.
type entry struct {
	t int64
	i int32
}

func cmpEntry(a, b entry) int {
	switch {
	case a.t < b.t:
		return -1
	case a.t > b.t:
		return 1
	}
	return int(a.i) - int(b.i)
}

// sortedIndex keeps rows ordered by (key, row) so windows are found by
// binary search; cur remembers each row's key so a mutated row can be
// moved without scanning.
type sortedIndex struct {
	e   []entry
	cur []int64
}

func newIndex(keys []int64) *sortedIndex {
	x := &sortedIndex{e: make([]entry, len(keys)), cur: keys}
	for i, k := range keys {
		x.e[i] = entry{k, int32(i)}
	}
	slices.SortFunc(x.e, cmpEntry) // generated keys are mostly sorted already
	return x
}

// update moves row i to key t: O(log n) search plus one memmove.
func (x *sortedIndex) update(i int32, t int64) {
	old := entry{x.cur[i], i}
	if p, ok := slices.BinarySearchFunc(x.e, old, cmpEntry); ok {
		x.e = slices.Delete(x.e, p, p+1)
	}
	ne := entry{t, i}
	p, _ := slices.BinarySearchFunc(x.e, ne, cmpEntry)
	x.e = slices.Insert(x.e, p, ne)
	x.cur[i] = t
}

// lower is the first position with key >= t.
func (x *sortedIndex) lower(t int64) int {
	p, _ := slices.BinarySearchFunc(x.e, entry{t, -1}, cmpEntry)
	return p
}

// upper is the first position with key > t.
func (x *sortedIndex) upper(t int64) int {
	p, _ := slices.BinarySearchFunc(x.e, entry{t + 1, -1}, cmpEntry)
	return p
}

// rows yields the rows of positions [lo, hi).
func (x *sortedIndex) rows(lo, hi int) iter.Seq[int32] {
	return func(yield func(int32) bool) {
		for _, e := range x.e[lo:hi] {
			if !yield(e.i) {
				return
			}
		}
	}
}

// page counts the rows of seq that match (nil matches all) and returns the
// ones at [offset, offset+size) of the matches.
func page(seq iter.Seq[int32], match func(int32) bool, offset, size int) (int, []int32) {
	n := 0
	var out []int32
	for i := range seq {
		if match != nil && !match(i) {
			continue
		}
		if n >= offset && n < offset+size {
			out = append(out, i)
		}
		n++
	}
	return n, out
}

// tracker keeps a simulator's indexes in step with the dataset's mutations.
//
// Bodies start as one shared empty map (the rows are rendered from the seed
// on demand, so a million rows cost little memory); a mutation clones it and
// adds overrides (remark, ts). The mutator cannot know which row it changes,
// so the simulator learns it from env.MaybeMutate's answer, called with mu
// held. The mutator counts every call; a mutation that did not come through
// mutate (someone else touched the dataset) shows as a count the tracker did
// not account for and triggers a full rescan.
type tracker struct {
	env *core.Env
	ds  *core.Dataset

	mu        sync.Mutex // guards the indexes of the owner, pending, accounted
	pending   []string
	accounted int64
	mutations atomic.Int64

	apply  func(doc core.Doc) // move one row in the indexes
	rescan func(docs []core.Doc)
}

// sharedBody is the initial body of every generated row; never written.
var sharedBody = map[string]any{}

// sync brings the indexes up to date; call with mu held.
func (t *tracker) sync() {
	if n := t.mutations.Load(); n != t.accounted {
		t.pending = t.pending[:0]
		t.accounted = n
		t.rescan(t.ds.Select(nil, nil))
		return
	}
	for _, id := range t.pending {
		if doc, ok := t.ds.Get(id); ok {
			t.apply(doc)
		}
	}
	t.pending = t.pending[:0]
}

// mutate applies the mutate fault for a page whose query covers inQuery.
func (t *tracker) mutate(inQuery func(*core.Doc) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id := t.env.MaybeMutate(t.ds, inQuery); id != "" {
		t.pending = append(t.pending, id)
		t.accounted++
	}
}

// rowRand is the generator of one row's rendered details: a pure function
// of seed, stream and row, so a row renders the same on every call.
func rowRand(seed, stream uint64, row int32) *rand.Rand {
	return rand.New(rand.NewPCG(seed^(uint64(row)+1)*0x9e3779b97f4a7c15, stream))
}

func streamHash(s string) uint64 {
	r := core.NewRand(0, s)
	return r.Uint64()
}

// China-time rendering of seconds.
func fmtTime(sec int64) string {
	return time.Unix(sec, 0).In(core.Shanghai).Format(core.VendorTimeLayout)
}

func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

// ---- lenient readers of biz fields ----------------------------------------

// bizInt reads an integer given as a JSON number or a numeric string.
func bizInt(biz map[string]any, key string) (int64, bool, *apiError) {
	v, ok := biz[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	n, ok := toInt(v)
	if !ok {
		return 0, true, paramErr("%s必须为整数", key)
	}
	return n, true, nil
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(x.String(), 10, 64)
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func bizString(biz map[string]any, key string) (string, bool, *apiError) {
	v, ok := biz[key]
	if !ok || v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", true, paramErr("%s必须为字符串", key)
	}
	return s, true, nil
}

// bizStrings reads an array of strings; numbers are accepted as their text.
func bizStrings(biz map[string]any, key string) ([]string, bool, *apiError) {
	v, ok := biz[key]
	if !ok || v == nil {
		return nil, false, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, true, paramErr("%s必须为数组", key)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		switch x := e.(type) {
		case string:
			out = append(out, x)
		case json.Number:
			out = append(out, x.String())
		default:
			return nil, true, paramErr("%s的元素必须为字符串", key)
		}
	}
	return out, true, nil
}

// bizInts reads an array of integers; numeric strings are accepted.
func bizInts(biz map[string]any, key string) ([]int64, bool, *apiError) {
	v, ok := biz[key]
	if !ok || v == nil {
		return nil, false, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, true, paramErr("%s必须为数组", key)
	}
	out := make([]int64, 0, len(arr))
	for _, e := range arr {
		n, ok := toInt(e)
		if !ok {
			return nil, true, paramErr("%s的元素必须为整数", key)
		}
		out = append(out, n)
	}
	return out, true, nil
}

// bizTime reads a China-time datetime "yyyy-MM-dd HH:mm:ss" (fractional
// seconds tolerated) as Unix seconds.
func bizTime(biz map[string]any, key string) (int64, bool, *apiError) {
	s, ok, err := bizString(biz, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	if strings.TrimSpace(s) == "" {
		return 0, false, nil
	}
	t, perr := time.ParseInLocation(core.VendorTimeLayout, strings.TrimSpace(s), core.Shanghai)
	if perr != nil {
		return 0, true, paramErr("%s格式错误，应为yyyy-MM-dd HH:mm:ss", key)
	}
	return t.Unix(), true, nil
}

// pageArgs reads page_index (from 1, default 1) and page_size.
func pageArgs(biz map[string]any, def, max int) (index, size int, aerr *apiError) {
	pi, ok, err := bizInt(biz, "page_index")
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		pi = 1
	}
	if pi < 1 {
		return 0, 0, paramErr("page_index必须从1开始")
	}
	ps, ok, err := bizInt(biz, "page_size")
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		ps = int64(def)
	}
	if ps < 1 || ps > int64(max) {
		return 0, 0, paramErr("page_size必须在1到%d之间", max)
	}
	if pi > 1<<30 {
		return 0, 0, paramErr("page_index过大")
	}
	return int(pi), int(ps), nil
}

// rowSet turns a row list into a set for O(1) membership.
func rowSet(rows []int32) map[int32]bool {
	m := make(map[int32]bool, len(rows))
	for _, i := range rows {
		m[i] = true
	}
	return m
}

// ---- shared by the document interfaces paged by modified time ---------------

// timeIndexes are the orders a document interface pages in: (modified,
// row) and (ts, row), which follow mutations, and (io_date, row), static.
// other/inout and sales-out share them.
type timeIndexes struct {
	mod, ts, date *sortedIndex
}

// ioSelect is the part of a validated query that selects rows by time, row
// version and ids; the interface adds its filters on fields that never
// change as static (nil: none).
type ioSelect struct {
	window     bool
	begin, end int64
	dateType   int64 // 0 modified, 2 io_date (whatever the interface numbers it)
	byIDs      bool
	ids        []int32 // rows named by the id lists; nil when none given
	hasStartTS bool
	startTS    int64
	static     func(int32) bool
}

// matchAt checks every filter against the given modified time and ts of
// row i; call with the tracker lock held (reads the date index).
func (q *ioSelect) matchAt(x *timeIndexes, i int32, mod, ts int64) bool {
	if q.static != nil && !q.static(i) {
		return false
	}
	if q.window {
		t := mod
		if q.dateType == 2 {
			t = x.date.cur[i]
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

// collect returns how many rows q matches and the ones at [offset,
// offset+size) in the mode's documented order: (ts, io_id) with start_ts
// (also with ids), else (modified, io_id), or (io_date, io_id) for
// date_type 2. Call with the tracker lock held.
func (x *timeIndexes) collect(q *ioSelect, offset, size int) (int, []int32) {
	match := func(i int32) bool { return q.matchAt(x, i, x.mod.cur[i], x.ts.cur[i]) }
	switch {
	case q.byIDs:
		ids := slices.Clone(q.ids)
		by := x.mod
		if q.hasStartTS {
			by = x.ts
		}
		slices.SortFunc(ids, func(a, b int32) int { return cmpEntry(entry{by.cur[a], a}, entry{by.cur[b], b}) })
		return page(slices.Values(ids), match, offset, size)
	case q.hasStartTS:
		var m func(int32) bool
		if q.window || q.static != nil {
			m = match
		}
		return pageRange(x.ts, x.ts.lower(q.startTS), len(x.ts.e), m, offset, size)
	default:
		idx := x.mod
		if q.dateType == 2 {
			idx = x.date
		}
		return pageRange(idx, idx.lower(q.begin), idx.upper(q.end), q.static, offset, size)
	}
}

// parseSelect reads the fields ioSelect holds except the ids: the
// modified window (both ends or neither, at most maxSpan), date_type (0,
// or ioDateType, the interface's number for io_date: 2 for other/inout and
// sales-out, 4 for received returns) and start_ts.
func parseSelect(biz map[string]any, maxSpan time.Duration, ioDateType int64) (ioSelect, *apiError) {
	var q ioSelect
	b, hb, err := bizTime(biz, "modified_begin")
	if err != nil {
		return q, err
	}
	e, he, err := bizTime(biz, "modified_end")
	if err != nil {
		return q, err
	}
	if hb != he {
		return q, paramErr("modified_begin和modified_end必须同时存在")
	}
	if hb {
		if e < b {
			return q, paramErr("modified_begin不能大于modified_end")
		}
		if e-b > int64(maxSpan.Seconds()) {
			return q, paramErr("查询时间跨度不能超过%d天", int(maxSpan/(24*time.Hour)))
		}
		q.window, q.begin, q.end = true, b, e
	}
	dt, _, err := bizInt(biz, "date_type")
	if err != nil {
		return q, err
	}
	if dt != 0 && dt != ioDateType {
		return q, paramErr("date_type只能为0或%d", ioDateType)
	}
	if dt != 0 {
		q.dateType = 2
	}
	if q.startTS, q.hasStartTS, err = bizInt(biz, "start_ts"); err != nil {
		return q, err
	}
	if q.hasStartTS && q.startTS < 0 {
		return q, paramErr("start_ts不能为负数")
	}
	return q, nil
}

// docPage is the data of an other/inout or sales-out answer. Datas is the
// rendered documents, or, for a null answer, JSON null or absent (nil).
type docPage struct {
	PageSize  int  `json:"page_size"`
	PageIndex int  `json:"page_index"`
	DataCount int  `json:"data_count"`
	PageCount int  `json:"page_count"`
	HasNext   bool `json:"has_next"`
	Datas     any  `json:"datas,omitempty"`
}

// pagedQuery is one page request of a document interface, for servePage.
type pagedQuery struct {
	dataset, path       string
	pageIndex, pageSize int
	key                 uint64 // the query without its page, for the random order
	rows                int    // rows of the dataset
	// collect reads the query's rows at [offset, offset+size) in the
	// documented order, with the total; called with the tracker lock held.
	collect func(offset, size int) (int, []int32)
	// render renders row i as served now and marks it served.
	render func(i int32) (any, bool)
	// inQuery tells whether a document is inside the query, for the
	// mutate fault.
	inQuery func(*core.Doc) bool
	// list names the answer's document array when it is not "datas";
	// noTotal leaves data_count and page_count out (has_next only).
	list    string
	noTotal bool
}

// servePage answers one page of a document interface under the answer
// faults of its dataset (order, null, drift, duplicate, short page) and
// then applies the mutate fault to a document inside the query. It
// returns nil for a "data":null answer.
func (s *Sim) servePage(t *tracker, q pagedQuery) any {
	offset := (q.pageIndex - 1) * q.pageSize
	af := s.env.Faults().AnswerFor(q.dataset)
	pg := s.env.NewPage(af, core.PageSpec{
		Vendor: Vendor, Iface: q.path, Offset: offset, Size: q.pageSize,
		Nulls: []core.NullKind{core.NullData, core.NullList, core.MissingList},
	})
	t.mu.Lock()
	t.sync()
	var count int
	var rows []int32
	if af.Reorders() {
		var all []int32
		count, all = q.collect(0, q.rows+1)
		core.Arrange(all, af.Order, t.env.Seed, q.key, func(i int32) int64 { return int64(i) })
		rows = core.Window(all, pg.Offset, pg.Size)
	} else {
		count, rows = q.collect(pg.Offset, pg.Size)
	}
	t.mu.Unlock()
	keep, total := pg.Cut(count, len(rows))
	rows = rows[:keep]

	out := docPage{PageSize: q.pageSize, PageIndex: q.pageIndex, DataCount: total}
	out.PageCount = (total + q.pageSize - 1) / q.pageSize
	out.HasNext = q.pageIndex < out.PageCount
	switch pg.Null {
	case core.NotNull:
		datas := make([]any, 0, len(rows))
		for _, i := range rows {
			if doc, ok := q.render(i); ok {
				datas = append(datas, doc)
			}
		}
		out.Datas = datas
	case core.NullList:
		out.Datas = json.RawMessage("null")
	}
	// A row inside the query may change now, moving it between pages of
	// a client that pages by modified time.
	t.mutate(q.inQuery)
	if pg.Null == core.NullData {
		return nil
	}
	if q.list == "" && !q.noTotal {
		return out
	}
	m := map[string]any{"page_size": out.PageSize, "page_index": out.PageIndex, "has_next": out.HasNext}
	if !q.noTotal {
		m["data_count"], m["page_count"] = out.DataCount, out.PageCount
	}
	list := q.list
	if list == "" {
		list = "datas"
	}
	if out.Datas != nil {
		m[list] = out.Datas
	}
	return m
}

// ioRows numbers the rows of a generated io dataset (other/inout, sales-out,
// received returns): row i is the document io_id idBase+i+1, with the row
// version tsBase+i until a mutation gives it the next ts.
type ioRows struct {
	n              int
	idBase, tsBase int64
	nextTS         int64 // last ts handed out; only the mutator touches it (under the dataset lock)
}

func newIORows(n int, idBase, tsBase int64) ioRows {
	return ioRows{n: n, idBase: idBase, tsBase: tsBase, nextTS: tsBase + int64(n)}
}

// id is the Doc.ID (io_id) of row i.
func (r *ioRows) id(i int32) string { return strconv.FormatInt(r.idBase+int64(i)+1, 10) }

// row maps a Doc.ID (io_id) to its row, or -1.
func (r *ioRows) row(id string) int32 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= r.idBase || n > r.idBase+int64(r.n) {
		return -1
	}
	return int32(n - r.idBase - 1)
}

// rowTS is the row version of row i: the ts a mutation stored in the
// body, or the generated one.
func (r *ioRows) rowTS(doc core.Doc, i int32) int64 {
	if v, ok := doc.Body["ts"].(int64); ok {
		return v
	}
	return r.tsBase + int64(i)
}

// newVersion gives a mutated body the next row version; call it from the
// dataset's Mutator (under the dataset lock).
func (r *ioRows) newVersion(body map[string]any) {
	r.nextTS++
	body["ts"] = r.nextTS
}

// size is the number of rows.
func (r *ioRows) size() int { return r.n }

// rowNumbering maps rows to Doc.IDs and back and gives a row's version:
// *ioRows for the numbered documents, *skuRows for the catalog's SKUs.
type rowNumbering interface {
	id(i int32) string
	row(id string) int32
	rowTS(doc core.Doc, i int32) int64
	size() int
}

// followRows makes the tracker move a row in x's modified and ts indexes
// when its document changes (the io_date index is static).
func (t *tracker) followRows(r rowNumbering, x *timeIndexes) {
	t.apply = func(doc core.Doc) {
		if i := r.row(doc.ID); i >= 0 {
			x.mod.update(i, doc.Modified.Unix())
			x.ts.update(i, r.rowTS(doc, i))
		}
	}
	t.rescan = func(all []core.Doc) {
		n := r.size()
		mk, tk := make([]int64, n), make([]int64, n)
		for _, doc := range all {
			if i := r.row(doc.ID); i >= 0 {
				mk[i], tk[i] = doc.Modified.Unix(), r.rowTS(doc, i)
			}
		}
		x.mod, x.ts = newIndex(mk), newIndex(tk)
	}
}

// ioPage is the pagedQuery of an io interface on tracker t: rows selected
// by q over x in the documented order, rendered by render and marked served.
func ioPage[D any](t *tracker, dataset, path string, r rowNumbering, x *timeIndexes, q *ioSelect, pageIndex, pageSize int, key uint64,
	render func(doc core.Doc, i int32) D) pagedQuery {
	named := rowSet(q.ids)
	return pagedQuery{
		dataset: dataset, path: path,
		pageIndex: pageIndex, pageSize: pageSize, key: key, rows: r.size(),
		collect: func(offset, size int) (int, []int32) { return x.collect(q, offset, size) },
		render: func(i int32) (any, bool) {
			doc, ok := t.ds.Get(r.id(i))
			if !ok {
				return nil, false
			}
			t.ds.MarkServed(doc.ID, doc.Version)
			return render(doc, i), true
		},
		inQuery: func(doc *core.Doc) bool {
			i := r.row(doc.ID)
			return i >= 0 && q.matchAt(x, i, doc.Modified.Unix(), r.rowTS(*doc, i)) && (!q.byIDs || named[i])
		},
	}
}
