package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/vendor"
)

// fakeVendor is a list interface paged by modified time and page number,
// re-sorted as rows change, like the vendors.
type fakeVendor struct {
	mu      sync.Mutex
	docs    map[string]*fakeDoc
	clock   *fakeClock
	mutate  float64 // chance per page that a row in the window moves to now
	rng     *rand.Rand
	fail    []error // errors returned by the next calls
	fetches int

	// Hostile answers (the zero value answers as documented).
	order    string // "" ascending by the filter field; "desc", "id_desc"
	noTotals bool   // a bare-array interface: Total -1, no More promise
	nullRate float64
	// laterModified: share of documents whose Modified is 3 hours after
	// the filter field (only Filter is what the window filters on).
	laterModified float64
	nulls         int
	// shortRate: share of pages that are not the last of their query
	// served without their last 1-3 rows (at least one stays).
	shortRate float64
	cuts      int
	// hasNext (with noTotals): More is the vendor's has_next, true while
	// rows follow the page (a cut page still promises them).
	hasNext bool
	// lowRate: share of answers whose total comes out 1-3 low, More
	// following the reported total (a full last page then looks last).
	lowRate float64
	lows    int
	// fakeLasts counts answers whose low total called a page the last
	// while rows followed it.
	fakeLasts int
	// served counts the rows of every answer.
	served int
	// step is how far the clock moves per call (100ms when zero).
	step time.Duration
	// maxFetches, when set, fails every call after that many, permanently.
	maxFetches int
}

// pairSeconds gives every second document the filter time of the one
// before it (by number): windows then hold many seconds of two documents,
// which page boundaries split.
func (f *fakeVendor) pairSeconds() {
	byNum := make([]*fakeDoc, len(f.docs))
	for _, d := range f.docs {
		byNum[d.num] = d
	}
	for i := 1; i < len(byNum); i += 2 {
		byNum[i].modified = byNum[i-1].modified
	}
}

type fakeDoc struct {
	id       string
	num      int
	modified time.Time // the filter field: the time the window filters on
	version  int
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newFakeVendor(n int, clock *fakeClock) *fakeVendor {
	f := &fakeVendor{docs: map[string]*fakeDoc{}, clock: clock, rng: rand.New(rand.NewPCG(1, 2))}
	for i := range n {
		id := fmt.Sprintf("D%05d", i)
		f.docs[id] = &fakeDoc{id: id, num: i, modified: clock.Now().Add(-time.Duration(1+f.rng.IntN(30*86400)) * time.Second), version: 1}
	}
	return f
}

func (f *fakeVendor) FetchPage(ctx context.Context, api string, params map[string]any, page, size int) (vendor.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches++
	if f.maxFetches > 0 && f.fetches > f.maxFetches {
		return vendor.Page{}, &vendor.Error{Vendor: "fake", Interface: api, Code: "calls", Msg: "more calls than the test allows", Kind: vendor.Permanent}
	}
	if f.step > 0 {
		f.clock.advance(f.step)
	} else {
		f.clock.advance(100 * time.Millisecond)
	}
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return vendor.Page{}, err
	}
	begin, err1 := time.ParseInLocation("2006-01-02 15:04:05", params["begin"].(string), shanghai)
	end, err2 := time.ParseInLocation("2006-01-02 15:04:05", params["end"].(string), shanghai)
	if err1 != nil || err2 != nil {
		return vendor.Page{}, &vendor.Error{Vendor: "fake", Interface: api, Code: "30", Msg: "bad window", Kind: vendor.Permanent}
	}
	var in []*fakeDoc
	for _, d := range f.docs {
		if !d.modified.Before(begin) && !d.modified.After(end) {
			in = append(in, d)
		}
	}
	asc := func(a, b *fakeDoc) bool {
		if !a.modified.Equal(b.modified) {
			return a.modified.Before(b.modified)
		}
		return a.id < b.id
	}
	sort.Slice(in, func(i, j int) bool {
		switch f.order {
		case "id_desc":
			return in[i].id > in[j].id
		case "desc":
			return asc(in[j], in[i])
		}
		return asc(in[i], in[j])
	})
	if f.rng.Float64() < f.nullRate {
		f.nulls++
		if f.noTotals {
			return vendor.Page{Total: -1, Size: size}, nil
		}
		return vendor.Page{}, &vendor.Error{Vendor: "fake", Interface: api, Kind: vendor.Transient, Msg: "inconsistent answer: code 0 but data is null"}
	}
	out := vendor.Page{Total: len(in), Size: size}
	for i := page * size; i < len(in) && i < (page+1)*size; i++ {
		d := in[i]
		mod := d.modified
		if f.laterModified > 0 && float64(d.num%100)/100 < f.laterModified {
			mod = mod.Add(3 * time.Hour)
		}
		out.Docs = append(out.Docs, vendor.Document{
			ID: d.id, Modified: mod, Filter: d.modified,
			Raw: fmt.Appendf(nil, `{"id":%q,"version":%d}`, d.id, d.version),
		})
	}
	out.More = (page+1)*size < len(in)
	if n := len(out.Docs); out.More && n > 1 && f.rng.Float64() < f.shortRate {
		out.Docs = out.Docs[:n-min(1+f.rng.IntN(3), n-1)]
		f.cuts++
	}
	f.served += len(out.Docs)
	if !f.noTotals && f.lowRate > 0 && f.rng.Float64() < f.lowRate {
		out.Total = max(0, out.Total-1-f.rng.IntN(3))
		out.More = (page+1)*size < out.Total
		f.lows++
		if !out.More && (page+1)*size < len(in) {
			f.fakeLasts++
		}
	}
	if f.noTotals {
		out.Total = -1
		if !f.hasNext {
			out.More = len(out.Docs) == size
		}
	}
	// A row of the window changes after the page was cut: it moves to now
	// and every later row shifts one place toward the front.
	if len(in) > 0 && f.rng.Float64() < f.mutate {
		d := in[f.rng.IntN(len(in))]
		d.version++
		d.modified = f.clock.Now().Truncate(time.Second)
	}
	return out, nil
}

func (f *fakeVendor) truth() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for id, d := range f.docs {
		out[id] = d.version
	}
	return out
}

const windowMapping = `
root.begin = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
root.end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
`

func newEngine(t *testing.T, f Fetcher, clock *fakeClock, res *service.Resources, lookback time.Duration) *Engine {
	t.Helper()
	exec, err := bloblang.Parse(windowMapping)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Vendor: "fake", API: "/list", Params: exec,
		Window: &WindowConfig{
			Start:    clock.Now().Add(-31 * 24 * time.Hour),
			MaxSpan:  7 * 24 * time.Hour,
			Lookback: lookback,
		},
		PageSize: 20, StopWhenCaughtUp: true,
		CheckpointCache: "cp", CheckpointKey: "fake",
		MaxRetries: 3, BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond,
		Now: clock.Now,
	}
	e := New(f, o, res)
	if err := e.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// drain reads until the input ends, acknowledging every batch, and returns
// the versions delivered per id in delivery order.
func drain(t *testing.T, e *Engine) map[string][]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := map[string][]int{}
	for {
		batch, ack, err := e.ReadBatch(ctx)
		if errors.Is(err, service.ErrEndOfInput) {
			return got
		}
		if err != nil {
			t.Fatalf("ReadBatch: %v", err)
		}
		for _, m := range batch {
			id, _ := m.MetaGet("source_id")
			v, _ := m.AsStructured()
			n, err := v.(map[string]any)["version"].(json.Number).Int64()
			if err != nil {
				t.Fatal(err)
			}
			got[id] = append(got[id], int(n))
		}
		if err := ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func checkpoint(t *testing.T, res *service.Resources) (time.Time, bool) {
	t.Helper()
	var raw []byte
	var gerr error
	if err := res.AccessCache(context.Background(), "cp", func(c service.Cache) { raw, gerr = c.Get(context.Background(), "fake") }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		return time.Time{}, false
	}
	cp, err := time.Parse(time.RFC3339Nano, string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return cp, true
}

func TestStaticDataEveryDocumentOnce(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(700, clock)
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	got := drain(t, newEngine(t, f, clock, res, 0))
	if len(got) != 700 {
		t.Fatalf("%d documents delivered, want 700", len(got))
	}
	for id, vs := range got {
		if len(vs) != 1 {
			t.Fatalf("%s delivered %d times", id, len(vs))
		}
	}
	cp, ok := checkpoint(t, res)
	if !ok || clock.Now().Sub(cp) > 2*time.Second {
		t.Fatalf("checkpoint %v (stored %v), want the last window end near %v", cp, ok, clock.Now())
	}
}

func TestMutationDuringPagingLosesNothing(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(600, clock)
	f.mutate = 0.5
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	got := drain(t, newEngine(t, f, clock, res, 10*time.Minute))

	// Rows changed during the last window's read carry a time after its
	// end: the next run (a restart on the same checkpoint) reads them.
	f.mu.Lock()
	f.mutate = 0
	f.mu.Unlock()
	clock.advance(time.Minute)
	for id, vs := range drain(t, newEngine(t, f, clock, res, 10*time.Minute)) {
		got[id] = append(got[id], vs...)
	}
	truth := f.truth()
	mutated := 0
	for id, want := range truth {
		vs := got[id]
		if len(vs) == 0 {
			t.Fatalf("%s never delivered", id)
		}
		if last := vs[len(vs)-1]; last != want {
			t.Fatalf("%s: last version delivered %d, truth %d (all: %v)", id, last, want, vs)
		}
		if want > 1 {
			mutated++
		}
	}
	if mutated < 20 {
		t.Fatalf("only %d documents mutated: the test did not exercise drift", mutated)
	}
}

func TestCheckpointWaitsForEveryAck(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(200, clock)
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	e := newEngine(t, f, clock, res, 0)
	ctx := context.Background()

	var acks []service.AckFunc
	var ends []string
	for range 4 {
		batch, ack, err := e.ReadBatch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, ack)
		end, _ := batch[0].MetaGet("window_end")
		ends = append(ends, end)
	}
	if _, ok := checkpoint(t, res); ok {
		t.Fatal("checkpoint stored before any acknowledgement")
	}
	// Acknowledge everything but the first batch: nothing may advance.
	for _, a := range acks[1:] {
		_ = a(ctx, nil)
	}
	if _, ok := checkpoint(t, res); ok {
		t.Fatal("checkpoint advanced past an unacknowledged batch")
	}
	// A nack leaves it too.
	_ = acks[0](ctx, errors.New("target refused"))
	if _, ok := checkpoint(t, res); ok {
		t.Fatal("checkpoint advanced on a nack")
	}
	_ = acks[0](ctx, nil)
	cp, ok := checkpoint(t, res)
	if !ok {
		t.Fatal("no checkpoint after every batch was acknowledged")
	}
	// It may not pass a window whose last page has not been read yet.
	last, _ := time.Parse(time.RFC3339Nano, ends[len(ends)-1])
	if cp.After(last) {
		t.Fatalf("checkpoint %v beyond the windows read (%v)", cp, last)
	}
}

func TestTransientErrorsAreRetriedPermanentStop(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(50, clock)
	f.fail = []error{
		&vendor.Error{Vendor: "fake", Interface: "/list", Status: 502, Msg: "Bad Gateway", Kind: vendor.Transient},
		&vendor.Error{Vendor: "fake", Interface: "/list", Code: "199", Msg: "调用频次超过限制", Kind: vendor.RateLimited, RetryAfter: time.Millisecond},
	}
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	if got := drain(t, newEngine(t, f, clock, res, 0)); len(got) != 50 {
		t.Fatalf("%d documents after transient errors, want 50", len(got))
	}

	f.fail = []error{&vendor.Error{Vendor: "fake", Interface: "/list", Code: "10", Msg: "验证失败！无效签名", Kind: vendor.Permanent}}
	clock.advance(time.Hour)
	e := newEngine(t, f, clock, res, 0)
	_, _, err := e.ReadBatch(context.Background())
	if !errors.Is(err, service.ErrEndOfInput) {
		t.Fatalf("permanent error: ReadBatch returned %v, want end of input", err)
	}
	if e.Err() == nil || e.Err().Error() != "fake: /list: code 10 验证失败！无效签名 (permanent)" {
		t.Fatalf("stop reason %v", e.Err())
	}
}

func TestNextWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := WindowConfig{Start: t0, MaxSpan: 24 * time.Hour, Lookback: 10 * time.Minute, Lag: time.Minute}
	tests := []struct {
		name      string
		prev, now time.Time
		want      Window
		ok        bool
	}{
		{"first window starts at start", t0, t0.Add(72 * time.Hour), Window{t0, t0.Add(24 * time.Hour)}, true},
		{"later windows overlap by lookback", t0.Add(24 * time.Hour), t0.Add(72 * time.Hour), Window{t0.Add(24*time.Hour - 10*time.Minute), t0.Add(48*time.Hour - 10*time.Minute)}, true},
		{"closes lag before now", t0.Add(70 * time.Hour), t0.Add(71 * time.Hour), Window{t0.Add(70*time.Hour - 10*time.Minute), t0.Add(71*time.Hour - time.Minute)}, true},
		{"caught up", t0.Add(71*time.Hour - time.Minute), t0.Add(71 * time.Hour), Window{}, false},
	}
	for _, tt := range tests {
		got, ok := NextWindow(c, tt.prev, tt.now)
		if ok != tt.ok || !got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) {
			t.Errorf("%s: got %v %v, want %v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if err := (WindowConfig{MaxSpan: time.Hour, Lookback: time.Hour}).Validate(0); err == nil {
		t.Error("lookback equal to max_span accepted")
	}
	if err := (WindowConfig{MaxSpan: 8 * 24 * time.Hour}).Validate(7 * 24 * time.Hour); err == nil {
		t.Error("max_span above the vendor maximum accepted")
	}
}

func TestRereadWindowOnRestart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := WindowConfig{Start: t0, MaxSpan: time.Hour, Lookback: 10 * time.Minute}
	cp := t0.Add(5 * time.Hour)
	now := cp.Add(300 * time.Millisecond) // restarted right after the checkpoint
	if _, ok := NextWindow(c, cp, now); ok {
		t.Fatal("NextWindow planned a window less than a second past the checkpoint")
	}
	w, ok := RereadWindow(c, cp, now)
	if !ok || !w.Start.Equal(cp.Add(-10*time.Minute)) || !w.End.Equal(now) {
		t.Fatalf("reread window %v %v, want the lookback up to now", w, ok)
	}
	if _, ok := RereadWindow(c, cp, cp.Add(-time.Second)); ok {
		t.Fatal("a reread window may not end before the checkpoint")
	}
}

// TestHostileVendorsLoseNothing: vendors answering in another order than
// the window's filter field, with a modified time hours after the filter
// field, with null lists mid-read, with or without counts, and rows moving
// while they are paged: every document arrives with its latest version.
func TestHostileVendorsLoseNothing(t *testing.T) {
	for _, tt := range []struct {
		name          string
		order         string
		noTotals      bool
		nullRate      float64
		laterModified float64
		mutate        float64
	}{
		{name: "descending", order: "desc"},
		{name: "id descending with mutations", order: "id_desc", mutate: 0.3},
		{name: "modified after the filter field", laterModified: 0.05},
		{name: "null lists mid-read", nullRate: 0.2},
		{name: "null lists without counts", nullRate: 0.2, noTotals: true},
		{name: "descending without counts", order: "desc", noTotals: true},
		{name: "ascending with mutations", mutate: 0.5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
			f := newFakeVendor(500, clock)
			f.order, f.noTotals, f.nullRate, f.laterModified, f.mutate = tt.order, tt.noTotals, tt.nullRate, tt.laterModified, tt.mutate
			res := service.MockResources(service.MockResourcesOptAddCache("cp"))
			got := drain(t, newEngine(t, f, clock, res, 10*time.Minute))
			f.mu.Lock()
			f.mutate = 0
			f.mu.Unlock()
			clock.advance(time.Minute)
			for id, vs := range drain(t, newEngine(t, f, clock, res, 10*time.Minute)) {
				got[id] = append(got[id], vs...)
			}
			everyLastVersion(t, f, got)
			if tt.nullRate > 0 && f.nulls == 0 {
				t.Fatal("no null answer was served")
			}
		})
	}
}

// newStableEngine is newEngine for a bare-array interface whose filter
// field never changes (a create time), without lookback.
func newStableEngine(t *testing.T, f Fetcher, clock *fakeClock, res *service.Resources) *Engine {
	t.Helper()
	e := newEngine(t, f, clock, res, 0)
	e.o.StableFilter = true
	return e
}

// TestShortPageEndsWindowAtOnce: without counts, on a filter that never
// changes and an answer sorted by it, a window whose one page is short is
// read with that one call; the next window starts at the page's newest
// value (30 documents in 5 windows of 7 days over 31 days, pages of 20: 5
// calls, not the 15 of asking every short page twice more). The run's last
// such page, less than half full, is left to the next run: the checkpoint
// stays at its newest value, and the next run reads from there.
func TestShortPageEndsWindowAtOnce(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(30, clock)
	f.noTotals = true
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	got := drain(t, newStableEngine(t, f, clock, res))
	for id := range f.truth() {
		if len(got[id]) != 1 {
			t.Fatalf("%s delivered %d times", id, len(got[id]))
		}
	}
	if f.fetches != 5 {
		t.Fatalf("%d calls for 5 windows of one short page each, want 5", f.fetches)
	}
	var newest time.Time
	for _, d := range f.docs {
		if d.modified.After(newest) {
			newest = d.modified
		}
	}
	cp, ok := checkpoint(t, res)
	if !ok || !cp.Equal(newest) {
		t.Fatalf("checkpoint %v (stored %v), want the newest document's %v: the last page proved no end", cp, ok, newest)
	}
	clock.advance(time.Minute)
	before := f.fetches
	for id := range drain(t, newStableEngine(t, f, clock, res)) {
		if !f.docs[id].modified.Equal(newest) {
			t.Fatalf("the next run delivered %s (at %v), not at the tail %v", id, f.docs[id].modified, newest)
		}
	}
	if n := f.fetches - before; n != 1 {
		t.Fatalf("the next run made %d calls, want 1 (from the tail to now)", n)
	}
}

// TestCutPagesLoseNothing: pages cut short mid-read (a row or three
// missing while more pages follow), with null answers and without counts:
// every document arrives in one run, whether the answer is sorted by the
// filter (the next window starts at a short page's newest value, and the
// run's last such page, more than half full as a cut page is, is asked for
// once more) or not (a short page is asked for again).
func TestCutPagesLoseNothing(t *testing.T) {
	for _, order := range []string{"", "desc", "id_desc"} {
		t.Run("order "+order, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
			f := newFakeVendor(800, clock)
			f.noTotals, f.order, f.shortRate, f.nullRate = true, order, 0.3, 0.05
			res := service.MockResources(service.MockResourcesOptAddCache("cp"))
			got := drain(t, newStableEngine(t, f, clock, res))
			for id := range f.truth() {
				if len(got[id]) == 0 {
					t.Fatalf("%s never delivered (%d of %d delivered, %d pages cut)", id, len(got), len(f.docs), f.cuts)
				}
			}
			if f.cuts == 0 || f.nulls == 0 {
				t.Fatalf("%d cut pages and %d null answers: the faults were not exercised", f.cuts, f.nulls)
			}
			if cp, ok := checkpoint(t, res); !ok || cp.After(clock.Now()) {
				t.Fatalf("checkpoint %v (stored %v) after the end of the read %v", cp, ok, clock.Now())
			}
		})
	}
}

// TestStopWhenCaughtUpDoesNotChaseTheClock: calls paced slower than a
// second each (a rate limit of one a second, say) do not keep a run that
// stops when caught up planning one more window per call: it stops after
// the first window that reached now, every document read.
func TestStopWhenCaughtUpDoesNotChaseTheClock(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(60, clock)
	f.step, f.maxFetches = 1500*time.Millisecond, 50
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	got := drain(t, newEngine(t, f, clock, res, 0))
	if len(got) != 60 {
		t.Fatalf("%d of 60 documents delivered", len(got))
	}
	// 31 days in windows of 7: 5 windows of one page each.
	if f.fetches != 5 {
		t.Fatalf("%d calls for 5 windows of one page each", f.fetches)
	}
}

// slowVendor never answers within the request's timeout; its error, like
// a client's, already names the vendor and the interface.
type slowVendor struct{}

func (slowVendor) FetchPage(ctx context.Context, api string, _ map[string]any, _, _ int) (vendor.Page, error) {
	<-ctx.Done()
	return vendor.Page{}, fmt.Errorf("fake: %s: %w", api, ctx.Err())
}

// TestTimeoutNamedOnce: an expired request timeout is reported once, with
// the vendor and interface named once and the limit that expired.
func TestTimeoutNamedOnce(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	e := newEngine(t, slowVendor{}, clock, res, 0)
	e.o.Timeout, e.o.MaxRetries = 20*time.Millisecond, 0
	_, _, err := e.ReadBatch(context.Background())
	want := "fake: /list: no answer within 20ms (the input's timeout) (transient) (gave up after 1 attempts)"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if vendor.TransportCode(err) != "timeout" {
		t.Fatalf("transport code %q, want timeout", vendor.TransportCode(err))
	}
}

// newRisingEngine is newEngine for an interface whose window filters on
// the documents' modified time (it only moves forward), without lookback.
func newRisingEngine(t *testing.T, f Fetcher, clock *fakeClock, res *service.Resources) *Engine {
	t.Helper()
	e := newEngine(t, f, clock, res, 0)
	e.o.RisingFilter = true
	return e
}

// everyLastVersion fails unless got holds every document of f, its last
// delivery being its current version.
func everyLastVersion(t *testing.T, f *fakeVendor, got map[string][]int) {
	t.Helper()
	for id, want := range f.truth() {
		vs := got[id]
		if len(vs) == 0 {
			t.Fatalf("%s never delivered (%d of %d delivered)", id, len(got), len(f.docs))
		}
		if vs[len(vs)-1] != want {
			t.Fatalf("%s: last version delivered %d, truth %d", id, vs[len(vs)-1], want)
		}
	}
}

// TestKeysetJumpsPastALoneNewestSecond: a counted, sorted answer whose full
// page ends on a second no other row of the page shares is followed by a
// query starting one second later, so no row is served twice (with 500
// documents in pages of 20, jumping to the newest second itself serves 25
// rows again); rows of that second beyond the page (pairs of documents per
// second) make the next total fall short and the range is read again.
func TestKeysetJumpsPastALoneNewestSecond(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(500, clock)
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	got := drain(t, newRisingEngine(t, f, clock, res))
	everyLastVersion(t, f, got)
	// One more row per window at most: a full last page leaves its newest
	// second for the next window (rule 7).
	if f.served > len(f.docs)+5 {
		t.Fatalf("%d rows served for %d documents in 5 windows: rows were asked for again", f.served, len(f.docs))
	}
	for _, mutate := range []float64{0, 0.3} {
		t.Run(fmt.Sprintf("seconds of two documents, mutations %.1f", mutate), func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
			f := newFakeVendor(500, clock)
			f.pairSeconds()
			f.mutate = mutate
			res := service.MockResources(service.MockResourcesOptAddCache("cp"))
			got := drain(t, newRisingEngine(t, f, clock, res))
			f.mu.Lock()
			f.mutate = 0
			f.mu.Unlock()
			for id, vs := range drain(t, newEngine(t, f, clock, res, 10*time.Minute)) {
				got[id] = append(got[id], vs...)
			}
			everyLastVersion(t, f, got)
		})
	}
}

// TestHasNextEndsOnItsShortPage: without a count, a short page the vendor's
// has_next also calls the last ends its window with that one answer (60
// documents, 5 windows of one page: 5 calls); with pages cut short (they
// still promise the rest), null answers, rows changing while read and any
// order, every document still arrives in its last version.
func TestHasNextEndsOnItsShortPage(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(60, clock)
	f.noTotals, f.hasNext = true, true
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	e := newRisingEngine(t, f, clock, res)
	e.o.HasNext = true
	everyLastVersion(t, f, drain(t, e))
	if f.fetches != 5 {
		t.Fatalf("%d calls for 5 windows of one short page each, want 5", f.fetches)
	}
	for _, order := range []string{"", "desc", "id_desc"} {
		t.Run("hostile, order "+order, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
			f := newFakeVendor(500, clock)
			f.noTotals, f.hasNext, f.order = true, true, order
			f.shortRate, f.nullRate, f.mutate = 0.3, 0.1, 0.3
			res := service.MockResources(service.MockResourcesOptAddCache("cp"))
			e := newRisingEngine(t, f, clock, res)
			e.o.HasNext = true
			got := drain(t, e)
			f.mu.Lock()
			f.mutate = 0
			f.mu.Unlock()
			clock.advance(time.Minute)
			e = newEngine(t, f, clock, res, 10*time.Minute)
			e.o.RisingFilter, e.o.HasNext = true, true
			for id, vs := range drain(t, e) {
				got[id] = append(got[id], vs...)
			}
			everyLastVersion(t, f, got)
			if f.cuts == 0 || f.nulls == 0 {
				t.Fatalf("%d cut pages and %d null answers: the faults were not exercised", f.cuts, f.nulls)
			}
		})
	}
}

// TestLowTotalsLoseNothing: totals that come out low make a full page look
// like the last (windows of 22 documents in pages of 20, half the answers
// counting 1-3 short); sorted, the next window starts at its newest second,
// and the run's last such page is asked for once more; in any other order
// the next page is asked for. Every document arrives in its last version.
func TestLowTotalsLoseNothing(t *testing.T) {
	for _, order := range []string{"", "desc", "id_desc"} {
		t.Run("order "+order, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
			f := newFakeVendor(0, clock)
			start := clock.Now().Add(-31 * 24 * time.Hour)
			for w := range 4 {
				for j := range 22 {
					id := fmt.Sprintf("D%05d", w*22+j)
					f.docs[id] = &fakeDoc{id: id, num: w*22 + j, version: 1,
						modified: start.Add(time.Duration(w)*7*24*time.Hour + time.Hour + time.Duration(j)*time.Minute)}
				}
			}
			f.order, f.lowRate = order, 0.5
			res := service.MockResources(service.MockResourcesOptAddCache("cp"))
			everyLastVersion(t, f, drain(t, newRisingEngine(t, f, clock, res)))
			if f.fakeLasts == 0 {
				t.Fatal("no low total called a full page the last: the fault was not exercised")
			}
		})
	}
}

// TestTailConfirmedByTheNextPoll: a continuous read whose last page left a
// tail (a short page on a stable filter) does not keep its checkpoint at
// the newest document while nothing new comes: the next poll's answer
// agreeing on the tail's range confirms it, and the one after, finding
// nothing, moves the checkpoint to its end (5 windows, then a poll of one
// call and an empty one of three: 9 calls; the vendor refuses a tenth).
func TestTailConfirmedByTheNextPoll(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(30, clock)
	f.noTotals, f.step, f.maxFetches = true, 10*time.Second, 9
	var newest time.Time
	for _, d := range f.docs {
		if d.modified.After(newest) {
			newest = d.modified
		}
	}
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	e := newStableEngine(t, f, clock, res)
	e.o.StopWhenCaughtUp, e.o.PollInterval = false, time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, ack, err := e.ReadBatch(ctx)
		if err != nil {
			break
		}
		if err := ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if ctx.Err() != nil {
		t.Fatal("the read did not stop at the vendor's refusal")
	}
	cp, ok := checkpoint(t, res)
	if !ok || !cp.After(newest.Add(12*time.Hour)) {
		t.Fatalf("checkpoint %v (stored %v) after %d calls: it stays near the newest document %v", cp, ok, f.fetches, newest)
	}
}
