package poll

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
)

// This file holds the vendor side of TestEngineProperty: a model of a list
// interface drawn per seed (propModel), and a Fetcher playing that vendor
// together with a correct client (propVendor): it returns what a client
// returns after the client's own checks.
//
// What the model may do, and why every engine could survive it:
//
//   - The window filters on one field (Document.Filter), whole seconds. In
//     class "updated" it is the update time: a change moves a document to
//     the vendor's now; in class "created" it is an immutable create time
//     and the log only grows. Document.Modified is another field the engine
//     must not page on: equal to Filter, earlier, later, either, or absent.
//   - Changes (mutations, inserts) always carry the vendor's now, and every
//     model has window.lag >= 1s, so a change made while a window is read
//     lands strictly after that window's end: a window's set of documents
//     only shrinks while it is read (class "updated") or never changes
//     (class "created"). Models with lag 0 (or under a second) are not
//     drawn: a change in the second the window closes lands inside the
//     window after it was read, and no answer can show it.
//   - A query's order is fixed per query (filter asc/desc, id asc/desc, or
//     random by a hash of the query's bounds and the id), so removing rows
//     keeps the others' relative order. Numbered pages over a shrinking
//     list can skip a row, but only when a row already read leaves; a second
//     pass over the same query then returns a different set, so "read until
//     two passes agree" finds every row, with or without counts, in any
//     order. No combination of order, counts and changes is excluded.
//   - Misleading answers (a null list answered as an empty page, a drifted
//     total, a page served from a few rows early, a page cut short) are
//     never dealt on two answers in a row: the next answer after one is
//     truthful, so "asking again" (vendor.Page.Size's contract) always
//     tells a fault from the end of the list. Errors (transient, a null list
//     or a short page the client reports as an error) are dealt at any time.
//   - Documents never leave the vendor, and no filter value is before
//     window.start.
//
// TestPropertyModelIsSurvivable runs a reader built on exactly these
// arguments (refInput) over the same seeds; it passing is the evidence that
// no drawn model is beyond a correct engine.

type propClass int

const (
	classUpdated propClass = iota // (A) the window filters on the update time
	classCreated                  // (B) the window filters on an immutable create time
)

func (c propClass) String() string {
	if c == classUpdated {
		return "updated"
	}
	return "created"
}

type propOrder int

const (
	orderFilterAsc propOrder = iota
	orderFilterDesc
	orderIDAsc
	orderIDDesc
	orderRandom
	numOrders
)

func (o propOrder) String() string {
	return [...]string{"filter-asc", "filter-desc", "id-asc", "id-desc", "random"}[o]
}

// propModRel is how Document.Modified relates to Document.Filter.
type propModRel int

const (
	modEqual  propModRel = iota // Modified == Filter
	modBefore                   // some documents' Modified is earlier (a lagging modified field)
	modAfter                    // some documents' Modified is later (class created: modified hours after creation)
	modMixed                    // some earlier, some later
	modNone                     // the interface reports no modified time
)

func (m propModRel) String() string {
	return [...]string{"equal", "before", "after", "mixed", "none"}[m]
}

type faultKind int

const (
	faultNullError  faultKind = iota // (a) with counts: the client reports the null list as a transient error
	faultNullEmpty                   // (a) without counts: an empty page, like the end
	faultDrift                       // (b) the reported total is off by 1-3
	faultDup                         // (c) the page is served from 1-3 rows early
	faultShortError                  // (d) with counts: the client reports a short non-last page as a transient error
	faultShortPage                   // (d) a non-last page cut short by 1-3 rows (More=true with counts, false without)
	faultTransient                   // (e) HTTP 502
	faultMutation                    // (f) a document changed (class updated)
	faultInsert                      // (f) a new document
	numFaultKinds
)

func (k faultKind) String() string {
	return [...]string{"null-error", "null-empty", "drift", "dup", "short-error", "short-page", "transient", "mutation", "insert"}[k]
}

// propModel is one vendor, drawn from a seed by drawModel.
type propModel struct {
	seed         int
	class        propClass
	order        propOrder
	counts       bool // Page.Total is reported (else -1 and More = a full page)
	size         int
	shortAsError bool // with counts: a short non-last page is a transient error, not a page
	mod          propModRel
	modFrac      float64 // share of documents whose Modified differs from Filter

	profile string // of the answer faults: clean, single or mix
	// per answer (faults) or per page served (changes)
	null, drift, dup, short, transient float64
	mutate, mutateAny, insert          float64

	now0                   time.Time
	span                   time.Duration // window.start is now0-span
	maxSpan, lookback, lag time.Duration
	docs                   int
	clusters               int           // seconds holding many documents
	step                   time.Duration // vendor clock advance per call
	runs                   int           // killed runs before the final one
	hold, nack             float64       // harness: share of batches held, nacked
	maxRetries             int
	runCalls, runSteps     [2]int // bounds of the kill points (vendor calls, ReadBatch calls)
}

func (m *propModel) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "class=%s order=%s counts=%v size=%d", m.class, m.order, m.counts, m.size)
	if m.counts {
		if m.shortAsError {
			b.WriteString(" short=error")
		} else {
			b.WriteString(" short=page")
		}
	}
	fmt.Fprintf(&b, " modified=%s", m.mod)
	if m.mod != modEqual && m.mod != modNone {
		fmt.Fprintf(&b, "(%.0f%%)", m.modFrac*100)
	}
	fmt.Fprintf(&b, " faults=%s{null=%.2f drift=%.2f dup=%.2f short=%.2f 502=%.2f}", m.profile, m.null, m.drift, m.dup, m.short, m.transient)
	fmt.Fprintf(&b, " changes{mutate=%.2f any=%.2f insert=%.2f}", m.mutate, m.mutateAny, m.insert)
	fmt.Fprintf(&b, " window{span=%s max_span=%s lookback=%s lag=%s}", m.span, m.maxSpan, m.lookback, m.lag)
	fmt.Fprintf(&b, " docs=%d clusters=%d step=%s runs=%d hold=%.1f nack=%.2f retries=%d",
		m.docs, m.clusters, m.step, m.runs, m.hold, m.nack, m.maxRetries)
	return b.String()
}

func (m *propModel) windowConfig() WindowConfig {
	return WindowConfig{Start: m.now0.Add(-m.span), MaxSpan: m.maxSpan, Lookback: m.lookback, Lag: m.lag}
}

// drawModel draws the vendor of one seed. Order, counts and class rotate
// with the seed, so any 20 consecutive seeds cover each of their 20
// combinations; the rest is drawn.
func drawModel(seed int) *propModel {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed0001))
	m := &propModel{seed: seed}
	m.order = propOrder(seed % int(numOrders))
	m.counts = seed%2 == 0
	m.class = propClass((seed / 10) % 2)
	m.shortAsError = m.counts && (seed/2)%2 == 0
	m.size = 3 + r.IntN(18)

	if m.class == classUpdated {
		m.mod = pick(r, modEqual, modBefore, modAfter, modMixed, modNone)
	} else {
		m.mod = pick(r, modEqual, modAfter, modAfter, modNone)
	}
	m.modFrac = pick(r, 0.3, 0.7, 1.0)

	// Answer faults come in profiles, so that a failure can be told apart:
	// clean (none), a single kind, or a mix where each kind is enabled in
	// two models out of three. On top of that a slot forces one kind in 8
	// seeds out of 20. The slot runs through 0..19 over each block of 20
	// seeds, shifted by 4 per block so that it is not tied to the order and
	// class rotation, and it keeps seed mod 4, so the kinds that need
	// counts, no counts or short=error land on seeds that have them.
	slot := (seed%20 + 4*(seed/20)) % 20
	faults := []*float64{&m.null, &m.dup, &m.short, &m.transient}
	if m.counts {
		faults = append(faults, &m.drift)
	}
	rate := func() float64 { return 0.02 + r.Float64()*0.13 }
	switch m.profile = pick(r, "clean", "single", "mix", "mix", "mix"); m.profile {
	case "single":
		*faults[r.IntN(len(faults))] = rate()
	case "mix":
		for _, f := range faults {
			if r.Float64() < 0.65 {
				*f = rate()
			}
		}
	}
	switch slot {
	case 0, 1: // null-error, null-empty
		m.null = 0.15
	case 2:
		m.drift = 0.15
	case 3:
		m.dup = 0.15
	case 4, 5, 6: // short-error; short page without counts; short page with More
		m.short = 0.15
	case 7:
		m.transient = 0.15
	}
	// Changes: in class updated documents move (the rows of the query being
	// read, and any row); in both classes new ones appear.
	if m.class == classUpdated {
		if r.Float64() < 0.75 {
			m.mutate = 0.05 + r.Float64()*0.35
		}
		if r.Float64() < 0.5 {
			m.mutateAny = 0.02 + r.Float64()*0.18
		}
	}
	if r.Float64() < 0.7 {
		m.insert = 0.02 + r.Float64()*0.28
	}

	m.now0 = time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai).Add(time.Duration(r.IntN(1000)) * time.Millisecond)
	m.span = pick(r, 3*time.Hour, 24*time.Hour, 4*24*time.Hour)
	m.maxSpan = pick(r, 20*time.Minute, 2*time.Hour, 12*time.Hour, 2*24*time.Hour)
	m.lookback = pick(r, 0, time.Second, time.Minute, 15*time.Minute)
	// lag >= 1s: see the file comment.
	m.lag = pick(r, time.Second, 3*time.Second, time.Minute)
	m.docs = 30 + r.IntN(250)
	if r.IntN(2) == 0 {
		m.clusters = 1 + r.IntN(4)
	}
	m.step = pick(r, 20*time.Millisecond, 60*time.Millisecond, 150*time.Millisecond)
	if slot < 8 && m.maxSpan < m.span/2 {
		// The forced kinds need pages that are not the last: big windows.
		m.maxSpan = m.span / 2
		m.docs = max(m.docs, 120)
	}
	m.runs = 1 + r.IntN(5)
	m.hold = pick(r, 0, 0.3, 0.7)
	m.nack = pick(r, 0, 0.05, 0.2)
	m.maxRetries = pick(r, 0, 2, 5)
	m.runCalls = [2]int{20, 500}
	m.runSteps = [2]int{5, 150}
	return m
}

func pick[T any](r *rand.Rand, vs ...T) T { return vs[r.IntN(len(vs))] }

// propClock is the model's clock. The engine reads it through Now, and time
// passes a little every time it looks, so an engine waiting for the next
// window (poll_interval 0) gets there without a real sleep; the vendor
// advances it by the model's step on every call.
type propClock struct {
	mu   sync.Mutex
	now  time.Time
	tick time.Duration
}

func (c *propClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.tick)
	return c.now
}

func (c *propClock) peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *propClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type propDoc struct {
	id       string
	filter   time.Time // whole seconds
	modified time.Time // zero: the interface has none
	version  int
	modKind  propModRel // this document's relation: modEqual, modBefore or modAfter (or modNone)
	rawv     int        // the version body holds
	body     []byte
}

// raw is the document's JSON: its id and version.
func (d *propDoc) raw() []byte {
	if d.body == nil || d.rawv != d.version {
		d.body, d.rawv = fmt.Appendf(nil, `{"id":%q,"version":%d}`, d.id, d.version), d.version
	}
	return d.body
}

// maxPropCalls bounds the vendor calls of one model, so an engine that never
// finishes fails with a message instead of a test timeout.
const maxPropCalls = 200000

// propVendor plays the vendor of a propModel and its client. It is a
// Fetcher; its state is guarded by mu, which the harness also takes.
type propVendor struct {
	mu    sync.Mutex
	m     *propModel
	clock *propClock
	rng   *rand.Rand
	docs  []*propDoc // in id order
	ids   int

	changes        bool // mutations and inserts happen (not in the final run)
	lastMisleading bool // the last answer (not error) was misleading
	calls          int
	dealt          [numFaultKinds]int
	modDiffers     int // pages served holding a document whose Modified is set and differs from Filter

	// observe is called with mu held at the start of every call, before the
	// vendor changes anything (the harness checks the checkpoint there).
	observe func()
	// budget counts down the calls left before the run is killed; kill
	// cancels the run's context. 0: no kill point.
	budget int
	kill   func()
	// stopped: a property failed; every call is refused so the engine ends.
	stopped bool
	// failure is set when the engine misused the interface.
	failure string

	trace []propTrace // the last calls, for failure reports

	gen   int // counts changes
	cache struct {
		begin, end time.Time
		gen        int
		list       []*propDoc
	}
}

func newPropVendor(m *propModel, clock *propClock) *propVendor {
	v := &propVendor{m: m, clock: clock, rng: rand.New(rand.NewPCG(uint64(m.seed), 0x5eed0002))}
	start := m.windowConfig().Start
	// Filter values are whole seconds from window.start to a second before now0.
	secs := int(m.now0.Sub(start)/time.Second) - 1
	at := func() time.Time {
		return start.Truncate(time.Second).Add(time.Duration(1+v.rng.IntN(secs)) * time.Second)
	}
	var cluster []time.Time
	for range m.clusters {
		cluster = append(cluster, at())
	}
	for i := 0; i < m.docs; i++ {
		d := v.newDoc(at())
		if len(cluster) > 0 && v.rng.IntN(3) == 0 {
			d.filter = cluster[v.rng.IntN(len(cluster))]
		}
		if m.class == classUpdated {
			d.version = 1 + v.rng.IntN(4) // changed before the model starts
		}
		v.setModified(d, m.now0)
	}
	return v
}

func (v *propVendor) newDoc(filter time.Time) *propDoc {
	d := &propDoc{id: fmt.Sprintf("D%05d", v.ids), filter: filter, version: 1, modKind: modEqual}
	v.ids++
	switch v.m.mod {
	case modNone:
		d.modKind = modNone
	case modBefore, modAfter:
		if v.rng.Float64() < v.m.modFrac {
			d.modKind = v.m.mod
		}
	case modMixed:
		if v.rng.Float64() < v.m.modFrac {
			d.modKind = pick(v.rng, modBefore, modAfter)
		}
	}
	v.docs = append(v.docs, d)
	return d
}

// setModified draws the document's Modified from its filter value.
func (v *propVendor) setModified(d *propDoc, now time.Time) {
	off := time.Duration(1+v.rng.IntN(6*3600)) * time.Second
	switch d.modKind {
	case modNone:
		d.modified = time.Time{}
	case modEqual:
		d.modified = d.filter
	case modBefore:
		d.modified = d.filter.Add(-off)
	case modAfter:
		d.modified = d.filter.Add(off)
		if v.m.class == classCreated && d.modified.After(now) {
			// modified after creation, but not in the future
			d.modified = now.Truncate(time.Second)
		}
	}
}

// propTrace is one line of the trace, formatted only when it is reported.
type propTrace struct {
	format string
	args   []any
}

func (l propTrace) String() string { return fmt.Sprintf(l.format, l.args...) }

// propIDs formats the ids and versions of a page when the trace is reported.
type propIDs []propMsg

func (ids propIDs) String() string {
	parts := make([]string, len(ids))
	for i, m := range ids {
		parts[i] = fmt.Sprintf("%s.v%d", m.id, m.version)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (v *propVendor) tracef(format string, args ...any) {
	const keep = 400
	if len(v.trace) >= keep {
		v.trace = v.trace[1:]
	}
	v.trace = append(v.trace, propTrace{format, args})
}

func (v *propVendor) chance(p float64) bool { return p > 0 && v.rng.Float64() < p }

func (v *propVendor) errorf(kind vendor.Kind, status int, format string, args ...any) *vendor.Error {
	return &vendor.Error{Vendor: "fake", Interface: "/prop", Status: status, Msg: fmt.Sprintf(format, args...), Kind: kind}
}

// query returns the documents matching [begin, end] (whole seconds, both
// inclusive) in the model's order for that query. The last answer is kept
// until the vendor changes: engines page through one query at a time.
func (v *propVendor) query(begin, end time.Time) []*propDoc {
	if v.cache.list != nil && v.cache.gen == v.gen && v.cache.begin.Equal(begin) && v.cache.end.Equal(end) {
		return v.cache.list
	}
	in := []*propDoc{}
	for _, d := range v.docs {
		if !d.filter.Before(begin) && !d.filter.After(end) {
			in = append(in, d)
		}
	}
	var less func(i, j int) bool
	switch v.m.order {
	case orderFilterAsc:
		less = func(i, j int) bool {
			a, b := in[i], in[j]
			if !a.filter.Equal(b.filter) {
				return a.filter.Before(b.filter)
			}
			return a.id < b.id
		}
	case orderFilterDesc:
		less = func(i, j int) bool {
			a, b := in[i], in[j]
			if !a.filter.Equal(b.filter) {
				return a.filter.After(b.filter)
			}
			return a.id > b.id
		}
	case orderIDAsc:
		less = func(i, j int) bool { return in[i].id < in[j].id }
	case orderIDDesc:
		less = func(i, j int) bool { return in[i].id > in[j].id }
	case orderRandom:
		// Stable per query: a hash of the query's bounds and the id.
		keys := make(map[*propDoc]uint64, len(in))
		var buf [24]byte
		binary.LittleEndian.PutUint64(buf[0:], uint64(v.m.seed))
		binary.LittleEndian.PutUint64(buf[8:], uint64(begin.Unix()))
		binary.LittleEndian.PutUint64(buf[16:], uint64(end.Unix()))
		for _, d := range in {
			h := fnv.New64a()
			_, _ = h.Write(buf[:])
			_, _ = h.Write([]byte(d.id))
			keys[d] = h.Sum64()
		}
		less = func(i, j int) bool { return keys[in[i]] < keys[in[j]] }
	}
	sort.SliceStable(in, less)
	v.cache.begin, v.cache.end, v.cache.gen, v.cache.list = begin, end, v.gen, in
	return in
}

const propTimeLayout = "2006-01-02 15:04:05"

// FetchPage answers one page of the query in params (begin/end, see
// propWindowMapping).
func (v *propVendor) FetchPage(ctx context.Context, api string, params map[string]any, page, size int) (vendor.Page, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls++
	if v.observe != nil {
		v.observe()
	}
	if v.stopped {
		return vendor.Page{}, v.errorf(vendor.Permanent, 0, "property test: stopped after a failure")
	}
	if v.calls > maxPropCalls {
		v.failure = fmt.Sprintf("the engine made more than %d vendor calls without finishing", maxPropCalls)
		v.stopped = true
		return vendor.Page{}, v.errorf(vendor.Permanent, 0, "property test: too many calls")
	}
	if v.budget > 0 {
		if v.budget--; v.budget == 0 {
			v.tracef("call %d: killed", v.calls)
			v.kill()
		}
	}
	if err := ctx.Err(); err != nil {
		return vendor.Page{}, err
	}
	v.clock.advance(v.m.step)
	now := v.clock.peek()

	bs, ok1 := params["begin"].(string)
	es, ok2 := params["end"].(string)
	begin, err1 := time.ParseInLocation(propTimeLayout, bs, shanghai)
	end, err2 := time.ParseInLocation(propTimeLayout, es, shanghai)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || page < 0 || size <= 0 {
		v.failure = fmt.Sprintf("the engine sent params %v page %d size %d", params, page, size)
		v.stopped = true
		return vendor.Page{}, v.errorf(vendor.Permanent, 0, "bad request %v page %d size %d", params, page, size)
	}
	q := propTrace{"[%s,%s] p%d", []any{bs, es, page}}

	if v.chance(v.m.transient) {
		v.dealt[faultTransient]++
		v.tracef("call %d %s: 502", v.calls, q)
		return vendor.Page{}, v.errorf(vendor.Transient, 502, "Bad Gateway")
	}

	list := v.query(begin, end)
	total := len(list)
	lo := min(page*size, total)
	hi := min(lo+size, total)
	docs := list[lo:hi]
	more := (page+1)*size < total
	if !v.m.counts {
		more = len(docs) == size
	}
	reported := total
	mayMislead := !v.lastMisleading
	misleading := false
	fault := ""
	lastPage := (page+1)*size >= total

	switch {
	case hi > lo && v.chance(v.m.null) && (v.m.counts || mayMislead):
		if v.m.counts {
			v.dealt[faultNullError]++
			v.tracef("call %d %s: null list (error)", v.calls, q)
			return vendor.Page{}, v.errorf(vendor.Transient, 0, "code 0 but the answer has no list (total %d)", total)
		}
		v.dealt[faultNullEmpty]++
		docs, more, misleading, fault = nil, false, true, "null list"
	case v.m.counts && mayMislead && v.chance(v.m.drift):
		d := 1 + v.rng.IntN(3)
		if v.rng.IntN(2) == 0 && total-d >= 0 {
			d = -d
		}
		reported = total + d
		more = (page+1)*size < reported
		v.dealt[faultDrift]++
		misleading, fault = true, fmt.Sprintf("total drift %+d", d)
	case lo > 0 && mayMislead && v.chance(v.m.dup):
		k := min(1+v.rng.IntN(3), lo)
		docs = list[lo-k : min(lo-k+size, total)]
		if !v.m.counts {
			more = len(docs) == size
		}
		v.dealt[faultDup]++
		misleading, fault = true, fmt.Sprintf("served %d rows early", k)
	case !lastPage && size > 1 && (v.m.counts && v.m.shortAsError || mayMislead) && v.chance(v.m.short):
		k := min(1+v.rng.IntN(3), size-1)
		if v.m.counts && v.m.shortAsError {
			v.dealt[faultShortError]++
			v.tracef("call %d %s: short page (error)", v.calls, q)
			return vendor.Page{}, v.errorf(vendor.Transient, 0, "inconsistent answer: %d rows on a page of %d, total %d", size-k, size, total)
		}
		docs = docs[:size-k]
		if !v.m.counts {
			more = false
		}
		v.dealt[faultShortPage]++
		misleading, fault = true, fmt.Sprintf("cut %d rows short", k)
	}
	v.lastMisleading = misleading

	out := vendor.Page{More: more, Total: reported, Size: size, Code: "0"}
	if !v.m.counts {
		out.Total = -1
	}
	differs := false
	ids := make(propIDs, 0, len(docs))
	for _, d := range docs {
		out.Docs = append(out.Docs, vendor.Document{ID: d.id, Modified: d.modified, Filter: d.filter, Raw: d.raw()})
		ids = append(ids, propMsg{d.id, d.version})
		differs = differs || !d.modified.IsZero() && !d.modified.Equal(d.filter)
	}
	if differs {
		v.modDiffers++
	}
	if fault != "" {
		fault = " FAULT " + fault
	}
	changes := ""

	// Changes after the page was cut.
	if v.changes {
		var changed []string
		mutate := func(d *propDoc) {
			v.gen++
			d.version++
			d.filter = now.Truncate(time.Second)
			v.setModified(d, now)
			v.dealt[faultMutation]++
			changed = append(changed, fmt.Sprintf("%s.v%d", d.id, d.version))
		}
		if v.m.class == classUpdated {
			if len(list) > 0 && v.chance(v.m.mutate) {
				for range 1 + v.rng.IntN(3) {
					if d := list[v.rng.IntN(len(list))]; !d.filter.After(end) {
						mutate(d)
					}
				}
			}
			if v.chance(v.m.mutateAny) {
				mutate(v.docs[v.rng.IntN(len(v.docs))])
			}
		}
		if v.chance(v.m.insert) {
			for range 1 + v.rng.IntN(2) {
				v.gen++
				d := v.newDoc(now.Truncate(time.Second))
				v.setModified(d, now)
				v.dealt[faultInsert]++
				changed = append(changed, "new "+d.id)
			}
		}
		if len(changed) > 0 {
			changes = fmt.Sprintf("; then changed %v at %s", changed, now.Truncate(time.Second).Format(propTimeLayout))
		}
	}
	v.tracef("call %d %s: %d docs %s more=%v total=%d%s%s", v.calls, q, len(docs), ids, out.More, out.Total, fault, changes)
	return out, nil
}

// propWindowMapping builds the params FetchPage reads: the window's bounds
// in Asia/Shanghai, whole seconds, both inclusive.
const propWindowMapping = `
root.begin = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
root.end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
`
