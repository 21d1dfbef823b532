package jushuitan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// ---- answer faults --------------------------------------------------------

// setAnswers puts af in force for dataset only (the default stays zero).
func (h *harness) setAnswers(dataset string, af core.AnswerFaults, mutate float64) {
	h.t.Helper()
	if err := h.env.SetFaults(core.Faults{MutateRate: mutate, Interfaces: core.InterfaceFaults{dataset: af}}); err != nil {
		h.t.Fatal(err)
	}
}

// inoutRead pages one other/inout query until has_next is false.
func (h *harness) inoutRead(biz map[string]any, size int) []inoutAnswer {
	h.t.Helper()
	var pages []inoutAnswer
	for pi := 1; ; pi++ {
		b := map[string]any{"page_index": pi, "page_size": size}
		for k, v := range biz {
			b[k] = v
		}
		p := h.inout(b)
		pages = append(pages, p)
		if !p.HasNext {
			return pages
		}
		if pi > 1000 {
			h.t.Fatal("too many pages")
		}
	}
}

func ioIDs(pages []inoutAnswer) []int64 {
	var out []int64
	for _, p := range pages {
		for _, d := range p.Datas {
			out = append(out, d.IoID)
		}
	}
	return out
}

// inoutModes are the query modes of other/inout, each with the field its
// documented order is by.
func inoutModes(t *testing.T, h *harness) []struct {
	name string
	biz  map[string]any
} {
	t.Helper()
	w := windowsOf(7 * 24 * time.Hour)[2]
	var ids []string
	for i := range 50 {
		ids = append(ids, strconv.Itoa(ioIDBase+1+i*5))
	}
	return []struct {
		name string
		biz  map[string]any
	}{
		{"modified", map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1])}},
		{"io_date", map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "date_type": 2}},
		{"io_ids", map[string]any{"io_ids": ids}},
		{"start_ts", map[string]any{"start_ts": tsBase + 100}},
	}
}

func TestInoutOrders(t *testing.T) {
	h := newHarness(t, setup{records: 400})
	for _, m := range inoutModes(t, h) {
		t.Run(m.name, func(t *testing.T) {
			h.setAnswers(DatasetOtherInout, core.AnswerFaults{}, 0)
			asc := ioIDs(h.inoutRead(m.biz, 17))
			if len(asc) < 30 {
				t.Fatalf("only %d rows", len(asc))
			}
			sorted := slices.Sorted(slices.Values(asc))
			read := func(order string, size int) []int64 {
				h.setAnswers(DatasetOtherInout, core.AnswerFaults{Order: order}, 0)
				got := ioIDs(h.inoutRead(m.biz, size))
				if s := slices.Sorted(slices.Values(got)); !slices.Equal(s, sorted) {
					t.Fatalf("%s: pages hold %d rows, not each of the %d once", order, len(got), len(asc))
				}
				return got
			}
			if got := read(core.OrderAsc, 17); !slices.Equal(got, asc) {
				t.Fatal("asc differs from the documented order")
			}
			if got, want := read(core.OrderDesc, 17), slices.Clone(asc); !slices.Equal(got, reverse(want)) {
				t.Fatalf("desc is not the documented order reversed:\n%v\n%v", got, want)
			}
			if got := read(core.OrderIDAsc, 17); !slices.Equal(got, sorted) {
				t.Fatal("id_asc is not by io_id")
			}
			if got := read(core.OrderIDDesc, 17); !slices.Equal(got, reverse(slices.Clone(sorted))) {
				t.Fatal("id_desc is not by io_id descending")
			}
			r7 := read(core.OrderRandom, 17)
			if slices.Equal(r7, asc) || slices.Equal(r7, sorted) {
				t.Fatal("random is a documented order")
			}
			if !slices.Equal(read(core.OrderRandom, 17), r7) {
				t.Fatal("random order changed between two reads of one query")
			}
			if slices.Equal(read(core.OrderRandom, 19), r7) {
				t.Fatal("another query (page size) saw the same permutation")
			}
		})
	}
}

func reverse[T any](s []T) []T { slices.Reverse(s); return s }

func TestInoutDescWindowsHoldEveryBillOnce(t *testing.T) {
	h := newHarness(t, setup{records: 400})
	h.setAnswers(DatasetOtherInout, core.AnswerFaults{Order: core.OrderDesc}, 0)
	seen := map[int64]int{}
	for _, w := range windowsOf(7 * 24 * time.Hour) {
		for _, p := range h.inoutRead(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1])}, 50) {
			for k, d := range p.Datas {
				seen[d.IoID]++
				if k > 0 {
					prev := p.Datas[k-1]
					if prev.Modified < d.Modified || (prev.Modified == d.Modified && prev.IoID <= d.IoID) {
						t.Fatalf("not descending by (modified, io_id): %d then %d", prev.IoID, d.IoID)
					}
				}
			}
		}
	}
	if len(seen) != 400 {
		t.Fatalf("saw %d of 400 bills", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("bill %d seen %d times", id, n)
		}
	}
}

// rawInout calls other/inout and classifies the answer.
type rawPage struct {
	code      int
	null      core.NullKind
	dataCount int
	datas     int
}

func (h *harness) rawInout(biz map[string]any) rawPage {
	h.t.Helper()
	a := h.call(PathOtherInout, biz)
	r := rawPage{code: a.Code}
	if string(a.Data) == "null" {
		r.null = core.NullData
		return r
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(a.Data, &m); err != nil {
		h.t.Fatalf("data: %v: %s", err, a.Data)
	}
	_ = json.Unmarshal(m["data_count"], &r.dataCount)
	switch ds, ok := m["datas"]; {
	case !ok:
		r.null = core.MissingList
	case string(ds) == "null":
		r.null = core.NullList
	default:
		var rows []json.RawMessage
		if err := json.Unmarshal(ds, &rows); err != nil {
			h.t.Fatal(err)
		}
		r.datas = len(rows)
	}
	return r
}

func TestInoutNullAnswers(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	w := windowsOf(7 * 24 * time.Hour)[1]
	biz := map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_size": 20}
	truth := h.inout(biz)
	h.setAnswers(DatasetOtherInout, core.AnswerFaults{NullRate: 0.3}, 0)
	kinds := map[core.NullKind]int{}
	for range 200 {
		r := h.rawInout(biz)
		if r.code != 0 {
			t.Fatalf("null answer with code %d", r.code)
		}
		kinds[r.null]++
		if r.null == core.NotNull && r.datas != 20 {
			t.Fatalf("a full answer with %d rows", r.datas)
		}
		if (r.null == core.NullList || r.null == core.MissingList) && r.dataCount != truth.DataCount {
			t.Fatalf("null list with data_count %d, want %d", r.dataCount, truth.DataCount)
		}
	}
	nulls := 200 - kinds[core.NotNull]
	if nulls < 35 || nulls > 90 || kinds[core.NullData] == 0 || kinds[core.NullList] == 0 || kinds[core.MissingList] == 0 {
		t.Fatalf("null answers %v of 200 at rate 0.3", kinds)
	}
	if n := h.env.Stats.FaultCount(Vendor, PathOtherInout, core.FaultNull); n != nulls {
		t.Fatalf("stats counted %d null answers, saw %d", n, nulls)
	}
	if n := h.env.Stats.Count(Vendor, PathOtherInout, "0"); n != 201 {
		t.Fatalf("code 0 counted %d times, want 201", n)
	}
}

func TestInoutTotalDrift(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	w := windowsOf(7 * 24 * time.Hour)[1]
	biz := map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1])}
	clean := h.inoutRead(biz, 20)
	h.setAnswers(DatasetOtherInout, core.AnswerFaults{TotalDriftRate: 1}, 0)
	want := clean[0].DataCount
	drifts := map[int]bool{}
	for pi := 1; pi <= len(clean); pi++ {
		p := h.inout(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1]), "page_index": pi, "page_size": 20})
		if d := p.DataCount - want; d == 0 || d < -3 || d > 3 {
			t.Fatalf("page %d data_count %d, truth %d", pi, p.DataCount, want)
		}
		drifts[p.DataCount-want] = true
		if p.PageCount != (p.DataCount+19)/20 || p.HasNext != (pi < p.PageCount) {
			t.Fatalf("page %d: page_count/has_next not from the reported total: %+v", pi, p)
		}
		if !slices.Equal(ioIDs([]inoutAnswer{p}), ioIDs(clean[pi-1:pi])) {
			t.Fatalf("page %d rows changed under total drift", pi)
		}
	}
	if len(drifts) < 2 {
		t.Fatalf("drift always %v", drifts)
	}
}

func TestInoutDuplicatesAndShortPages(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	w := windowsOf(7 * 24 * time.Hour)[1]
	biz := map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1])}
	all := ioIDs(h.inoutRead(biz, 300/7))
	clean := h.inoutRead(biz, 10)
	h.setAnswers(DatasetOtherInout, core.AnswerFaults{DuplicateRate: 1}, 0)
	pages := h.inoutRead(biz, 10)
	if len(pages) != len(clean) {
		t.Fatalf("%d pages, want %d (has_next truthful)", len(pages), len(clean))
	}
	for k, p := range pages {
		got := ioIDs([]inoutAnswer{p})
		if p.DataCount != clean[0].DataCount {
			t.Fatalf("duplicates changed data_count")
		}
		if k == 0 {
			if !slices.Equal(got, ioIDs(clean[:1])) {
				t.Fatal("the first page was moved")
			}
			continue
		}
		d := k*10 - slices.Index(all, got[0])
		start := k*10 - d
		if d < 1 || d > 3 || !slices.Equal(got, all[start:min(start+10, len(all))]) {
			t.Fatalf("page %d does not start 1-3 rows early: %v", k+1, got)
		}
		// So it repeats the tail of the page before it.
		if !slices.Equal(got[:d], ioIDs(clean[k-1 : k])[10-d:]) {
			t.Fatalf("page %d does not repeat the previous page's tail", k+1)
		}
	}
	if h.env.Stats.FaultCount(Vendor, PathOtherInout, core.FaultDuplicate) != len(pages)-1 {
		t.Fatal("duplicates not counted")
	}

	h.setAnswers(DatasetOtherInout, core.AnswerFaults{ShortPageRate: 1}, 0)
	pages = h.inoutRead(biz, 10)
	if len(pages) != len(clean) {
		t.Fatalf("%d pages, want %d", len(pages), len(clean))
	}
	for k, p := range pages {
		got, want := ioIDs(pages[k:k+1]), ioIDs(clean[k:k+1])
		last := k == len(pages)-1
		if last && !slices.Equal(got, want) {
			t.Fatal("the last page was cut")
		}
		if !last && (len(got) < 7 || len(got) > 9 || !slices.Equal(got, want[:len(got)]) || !p.HasNext || p.DataCount != clean[0].DataCount) {
			t.Fatalf("page %d: %d rows %v, want a prefix of %v with has_next", k+1, len(got), got, want)
		}
	}
}

// TestInoutMutationUnderEveryOrder reads every window with a mutation per
// page, in every order: each page keeps its order by the rows' current
// times, the truth's served_version is the latest version the client saw,
// and a clean read afterwards finds every bill once, mutated ones where
// their new time puts them.
func TestInoutMutationUnderEveryOrder(t *testing.T) {
	for _, order := range core.Orders {
		t.Run(order, func(t *testing.T) {
			h := newHarness(t, setup{records: 300})
			h.setAnswers(DatasetOtherInout, core.AnswerFaults{Order: order}, 1)
			seen := map[string]int{} // io_id -> highest version seen (from the remark)
			for _, w := range windowsOf(7 * 24 * time.Hour) {
				for _, p := range h.inoutRead(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1])}, 25) {
					h.clk.Advance(time.Second)
					for k, d := range p.Datas {
						id := strconv.FormatInt(d.IoID, 10)
						seen[id] = max(seen[id], versionOf(d.Remark))
						if d.Modified < cst(w[0]) || d.Modified > cst(w[1]) {
							t.Fatalf("bill %s modified %s outside its window", id, d.Modified)
						}
						if k == 0 {
							continue
						}
						prev := p.Datas[k-1]
						switch order {
						case core.OrderAsc:
							if prev.Modified > d.Modified {
								t.Fatalf("asc page out of order")
							}
						case core.OrderDesc:
							if prev.Modified < d.Modified {
								t.Fatalf("desc page out of order")
							}
						case core.OrderIDAsc:
							if prev.IoID >= d.IoID {
								t.Fatal("id_asc page out of order")
							}
						case core.OrderIDDesc:
							if prev.IoID <= d.IoID {
								t.Fatal("id_desc page out of order")
							}
						}
					}
				}
			}
			ds := h.env.Dataset(DatasetOtherInout)
			mutated := 0
			truth := map[string]core.TruthDoc{}
			for _, d := range ds.Truth() {
				truth[d.ID] = d
				if d.Version > 1 {
					mutated++
				}
				if d.ServedVersion > d.Version || d.ServedVersion != seen[d.ID] {
					t.Fatalf("bill %s: served_version %d, version %d, client saw %d", d.ID, d.ServedVersion, d.Version, seen[d.ID])
				}
			}
			if mutated < 5 {
				t.Fatalf("only %d bills mutated", mutated)
			}
			h.setAnswers(DatasetOtherInout, core.AnswerFaults{}, 0)
			found := map[string]int{}
			for _, w := range windowsOf(6 * 24 * time.Hour) {
				w[1] = w[1].Add(time.Hour) // the last window reaches past the mutations
				for _, p := range h.inoutRead(map[string]any{"modified_begin": cst(w[0]), "modified_end": cst(w[1])}, 50) {
					for _, d := range p.Datas {
						id := strconv.FormatInt(d.IoID, 10)
						found[id]++
						if d.Modified != truth[id].Modified || versionOf(d.Remark) != truth[id].Version {
							t.Fatalf("bill %s served %s v%d, truth %+v", id, d.Modified, versionOf(d.Remark), truth[id])
						}
					}
				}
			}
			for id := range truth {
				if found[id] < 1 {
					t.Fatalf("bill %s unreachable after mutations", id)
				}
			}
		})
	}
}

// versionOf reads the version a mutated remark carries; 1 otherwise.
func versionOf(remark string) int {
	var v int
	for _, f := range []string{"备注已更新（第%d版）", "流水备注已更新（第%d版）"} {
		if n, _ := fmt.Sscanf(remark, f, &v); n == 1 {
			return v
		}
	}
	return 1
}

func TestInoutServedVersion(t *testing.T) {
	h := newHarness(t, setup{records: 200})
	p := h.inout(map[string]any{"start_ts": 0, "page_size": 10})
	served := map[string]bool{}
	for _, d := range p.Datas {
		served[strconv.FormatInt(d.IoID, 10)] = true
	}
	for _, d := range h.env.Dataset(DatasetOtherInout).Truth() {
		if want := map[bool]int{true: 1, false: 0}[served[d.ID]]; d.ServedVersion != want {
			t.Fatalf("bill %s served_version %d, want %d", d.ID, d.ServedVersion, want)
		}
	}
	// A null answer serves nothing.
	h.setAnswers(DatasetOtherInout, core.AnswerFaults{NullRate: 1}, 0)
	h.inout(map[string]any{"start_ts": 0, "page_size": 10, "page_index": 2})
	n := 0
	for _, d := range h.env.Dataset(DatasetOtherInout).Truth() {
		n += d.ServedVersion
	}
	if n != 10 {
		t.Fatalf("%d bills served after a null answer, want 10", n)
	}
}

// ---- skusn ----------------------------------------------------------------

type flowPage struct {
	null bool
	rows []skusnRow
}

func (h *harness) skusnPage(biz map[string]any) flowPage {
	h.t.Helper()
	a := h.call(PathSkusn, biz)
	wantCode(h.t, a, 0)
	if string(a.Data) == "null" {
		return flowPage{null: true}
	}
	var p flowPage
	if err := json.Unmarshal(a.Data, &p.rows); err != nil {
		h.t.Fatalf("skusn data: %v: %.80s", err, a.Data)
	}
	return p
}

// skusnRead pages a create-time window the way the contract says clients
// stop: at the first page shorter than page_size.
func (h *harness) skusnRead(b, e time.Time, size int) []skusnRow {
	h.t.Helper()
	var out []skusnRow
	for pi := 1; ; pi++ {
		p := h.skusnPage(map[string]any{"create_time_start": cst(b), "create_time_end": cst(e), "page_index": pi, "page_size": size})
		out = append(out, p.rows...)
		if len(p.rows) < size {
			return out
		}
	}
}

func flowIDs(rows []skusnRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%d:%s", r.IoID, r.SkuSn)
	}
	return out
}

func TestSkusnOrders(t *testing.T) {
	h := newHarness(t, setup{records: 500})
	b, e := testStart.Add(-core.DataSpan), testStart
	asc := flowIDs(h.skusnRead(b, e, 120))
	if len(asc) != 500 {
		t.Fatalf("asc read %d flows", len(asc))
	}
	sorted := slices.Sorted(slices.Values(asc)) // ids "<io_id>:<sku_sn>" of equal length sort as (io_id, sku_sn)
	read := func(order string, size int) []string {
		h.setAnswers(DatasetSkusn, core.AnswerFaults{Order: order}, 0)
		got := flowIDs(h.skusnRead(b, e, size))
		if s := slices.Sorted(slices.Values(got)); !slices.Equal(s, sorted) {
			t.Fatalf("%s: read %d flows, not each of 500 once", order, len(got))
		}
		return got
	}
	if !slices.Equal(read(core.OrderDesc, 120), reverse(slices.Clone(asc))) {
		t.Fatal("desc is not (create_time, io_id, sku_sn) descending")
	}
	if !slices.Equal(read(core.OrderIDAsc, 120), sorted) || !slices.Equal(read(core.OrderIDDesc, 120), reverse(slices.Clone(sorted))) {
		t.Fatal("id orders are not by (io_id, sku_sn)")
	}
	r := read(core.OrderRandom, 120)
	if slices.Equal(r, asc) || !slices.Equal(read(core.OrderRandom, 120), r) || slices.Equal(read(core.OrderRandom, 100), r) {
		t.Fatal("random is not a per-query permutation")
	}
	// ids mode orders too.
	h.setAnswers(DatasetSkusn, core.AnswerFaults{Order: core.OrderIDDesc}, 0)
	p := h.skusnPage(map[string]any{"sku_sns": []string{snOf(3), snOf(1), snOf(2)}})
	if got := flowIDs(p.rows); len(got) != 3 || got[0] <= got[1] || got[1] <= got[2] {
		t.Fatalf("sku_sns under id_desc: %v", got)
	}
}

// TestSkusnMutationUnderEveryOrder: a flow's create time never moves, so a
// create-time window paged in any order under mutations holds every flow
// exactly once; the client sees the version served to it, which the truth
// reports as served_version.
func TestSkusnMutationUnderEveryOrder(t *testing.T) {
	for _, order := range core.Orders {
		t.Run(order, func(t *testing.T) {
			h := newHarness(t, setup{records: 400})
			h.setAnswers(DatasetSkusn, core.AnswerFaults{Order: order}, 1)
			b, e := testStart.Add(-core.DataSpan), testStart
			seen := map[string]int{}
			for pi := 1; ; pi++ {
				h.clk.Advance(time.Second)
				p := h.skusnPage(map[string]any{"create_time_start": cst(b), "create_time_end": cst(e), "page_index": pi, "page_size": 30})
				for _, r := range p.rows {
					id := fmt.Sprintf("%d:%s", r.IoID, r.SkuSn)
					if _, dup := seen[id]; dup {
						t.Fatalf("flow %s served twice", id)
					}
					seen[id] = versionOf(r.Remark)
					if r.ModifiedTime < r.CreateTime || r.ModifiedTime > cst(h.clk.Now()) {
						t.Fatalf("flow %s created %s modified %s (now %s)", id, r.CreateTime, r.ModifiedTime, cst(h.clk.Now()))
					}
				}
				if len(p.rows) < 30 {
					break
				}
			}
			if len(seen) != 400 {
				t.Fatalf("read %d of 400 flows", len(seen))
			}
			later := 0
			for _, d := range h.env.Dataset(DatasetSkusn).Truth() {
				if d.ServedVersion != seen[d.ID] || d.ServedVersion > d.Version {
					t.Fatalf("flow %s: served_version %d, version %d, client saw %d", d.ID, d.ServedVersion, d.Version, seen[d.ID])
				}
				if d.Version > d.ServedVersion {
					later++ // changed after its page was read
				}
				if d.Modified < d.Created {
					t.Fatalf("truth: flow %s modified before created: %+v", d.ID, d)
				}
			}
			if later == 0 {
				t.Fatal("no flow changed after being read: the test proves nothing")
			}
		})
	}
}

func TestSkusnNullShortDuplicateDrift(t *testing.T) {
	h := newHarness(t, setup{records: 300})
	b, e := testStart.Add(-core.DataSpan), testStart
	biz := map[string]any{"create_time_start": cst(b), "create_time_end": cst(e), "page_size": 50, "page_index": 2}
	clean := h.skusnPage(biz).rows

	h.setAnswers(DatasetSkusn, core.AnswerFaults{NullRate: 0.25}, 0)
	nulls := 0
	for range 200 {
		p := h.skusnPage(biz)
		if p.null {
			nulls++
		} else if !slices.Equal(flowIDs(p.rows), flowIDs(clean)) {
			t.Fatal("a non-null answer changed")
		}
	}
	if nulls < 25 || nulls > 80 || h.env.Stats.FaultCount(Vendor, PathSkusn, core.FaultNull) != nulls {
		t.Fatalf("%d null answers of 200 at 0.25 (counted %d)", nulls, h.env.Stats.FaultCount(Vendor, PathSkusn, core.FaultNull))
	}

	// No total on a bare array: the drift fault has nothing to change.
	h.setAnswers(DatasetSkusn, core.AnswerFaults{TotalDriftRate: 1}, 0)
	if p := h.skusnPage(biz); !slices.Equal(flowIDs(p.rows), flowIDs(clean)) || h.env.Stats.FaultCount(Vendor, PathSkusn, core.FaultTotalDrift) != 0 {
		t.Fatal("total drift changed a bare array")
	}

	// A short page stops a client that stops at the first short page.
	h.setAnswers(DatasetSkusn, core.AnswerFaults{ShortPageRate: 1}, 0)
	p := h.skusnPage(biz)
	if n := len(p.rows); n < 47 || n > 49 || !slices.Equal(flowIDs(p.rows), flowIDs(clean)[:n]) {
		t.Fatalf("short page of %d rows", n)
	}
	if got := h.skusnRead(b, e, 50); len(got) >= 300 || len(got) < 47 {
		t.Fatalf("a naive client read %d flows through short pages", len(got))
	}

	h.setAnswers(DatasetSkusn, core.AnswerFaults{DuplicateRate: 1}, 0)
	first := h.skusnPage(map[string]any{"create_time_start": cst(b), "create_time_end": cst(e), "page_size": 50, "page_index": 1}).rows
	second := h.skusnPage(biz).rows
	d := 50 - slices.Index(flowIDs(first), flowIDs(second)[0])
	if d < 1 || d > 3 || !slices.Equal(flowIDs(second[:d]), flowIDs(first[50-d:])) {
		t.Fatalf("page 2 does not repeat 1-3 rows of page 1 (d=%d)", d)
	}
}

func TestSkusnModifiedAfterCreate(t *testing.T) {
	h := newHarness(t, setup{records: 500})
	b, e := testStart.Add(-core.DataSpan), testStart
	h.clk.Advance(time.Hour)
	h.setAnswers(DatasetSkusn, core.AnswerFaults{ModifiedAfterCreate: 0.3}, 0)
	truth := map[string]core.TruthDoc{}
	for _, d := range h.env.Dataset(DatasetSkusn).Truth() {
		truth[d.ID] = d
	}
	rows := h.skusnRead(b, e, 1000)
	if len(rows) != 500 {
		t.Fatalf("read %d flows", len(rows))
	}
	later := 0
	for _, r := range rows {
		id := fmt.Sprintf("%d:%s", r.IoID, r.SkuSn)
		ct, _ := time.ParseInLocation(core.VendorTimeLayout, r.CreateTime, core.Shanghai)
		mt, _ := time.ParseInLocation(core.VendorTimeLayout, r.ModifiedTime, core.Shanghai)
		if td := truth[id]; td.Created != r.CreateTime || td.Modified != r.ModifiedTime {
			t.Fatalf("flow %s served %s/%s, truth %+v", id, r.CreateTime, r.ModifiedTime, td)
		}
		switch d := mt.Sub(ct); {
		case d == 0:
		case d < 0 || mt.After(testStart):
			t.Fatalf("flow %s modified %s, created %s (start %s)", id, r.ModifiedTime, r.CreateTime, cst(testStart))
		case d < time.Hour && !mt.Equal(testStart.Truncate(time.Second)), d > 6*time.Hour:
			t.Fatalf("flow %s modified %v after creation", id, d)
		default:
			later++
		}
	}
	if later < 110 || later > 190 {
		t.Fatalf("%d of 500 flows modified after creation at 0.3", later)
	}
	// Stable across calls, and create-time windows still hold exactly the
	// flows created in them.
	if again := h.skusnRead(b, e, 1000); !slices.EqualFunc(again, rows, func(a, b skusnRow) bool { return a == b }) {
		t.Fatal("modified_after_create not stable")
	}
	for _, w := range windowsOf(3 * 24 * time.Hour) {
		want := 0
		for _, d := range truth {
			if d.Created >= cst(w[0]) && d.Created <= cst(w[1]) {
				want++
			}
		}
		got := h.skusnRead(w[0], w[1], 1000)
		for _, r := range got {
			if r.CreateTime < cst(w[0]) || r.CreateTime > cst(w[1]) {
				t.Fatalf("flow created %s in window %v", r.CreateTime, w)
			}
		}
		if len(got) != want {
			t.Fatalf("window %v: %d flows, %d created in it", w, len(got), want)
		}
	}
	// Off again: modified_time is the create time.
	h.setAnswers(DatasetSkusn, core.AnswerFaults{}, 0)
	for _, r := range h.skusnRead(b, e, 1000) {
		if r.ModifiedTime != r.CreateTime {
			t.Fatalf("flow %s still modified after creation", r.SkuSn)
		}
	}
}

func TestDefaultAnswersApplyToEveryInterface(t *testing.T) {
	h := newHarness(t, setup{records: 100})
	if err := h.env.SetFaults(core.Faults{
		Answers:    core.AnswerFaults{NullRate: 1},
		Interfaces: core.InterfaceFaults{DatasetSkusn: {}},
	}); err != nil {
		t.Fatal(err)
	}
	if r := h.rawInout(map[string]any{"start_ts": 0}); r.null == core.NotNull {
		t.Fatal("the default null_rate 1 did not apply to other/inout")
	}
	if p := h.skusnPage(map[string]any{"create_time_start": cst(testStart.Add(-core.DataSpan)), "create_time_end": cst(testStart)}); p.null || len(p.rows) != 100 {
		t.Fatal("the skusn entry did not replace the default")
	}
	if err := h.env.SetFaults(core.Faults{Interfaces: core.InterfaceFaults{"xbb_products": {}}}); err == nil {
		t.Fatal("a dataset this env does not hold was accepted")
	}
}
