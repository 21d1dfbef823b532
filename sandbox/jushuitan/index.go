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
