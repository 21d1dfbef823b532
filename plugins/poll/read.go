package poll

import (
	"fmt"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
)

// How hard the engine tries to get one span of a window read cleanly.
const (
	// passesBeforeSplit: failed passes over a span before it is halved.
	passesBeforeSplit = 2
	// passesBeforeError: failed passes over a span that cannot be halved
	// (one second, or a full read) before the read is reported as a
	// transient error; the next read starts over on the same span.
	passesBeforeError = 6
	// maxReasks: how often one page is asked again because its answer
	// looked like the end of the list without a count to prove it, or was
	// shorter than the page size while more pages were promised.
	maxReasks = 6
	// endConfirmations: without a count, a short (or empty, or null) page
	// ends the list only after this many more answers to the same request
	// were the same. A vendor glitch (a page cut short, a null list)
	// repeating that often in a row is unlikely; a true end always does.
	endConfirmations = 2
)

// span is a part of the current window still to be read; both ends
// inclusive. A full read (no window) is one span without bounds.
type span struct {
	lo, hi time.Time

	// keyset: read by single-page queries [q, hi], q moving to the newest
	// filter value of each full page (see the package doc).
	keyset bool
	q      time.Time
	// jump is the last keyset jump, still to be verified by the total of
	// the next query.
	jump *jump

	// numbered pass state
	page     int
	pass     pass
	attempts int // passes over this span that failed their checks
	// prevIDs are the documents of the last clean pass, for spans that
	// need two agreeing passes (no counts; documents may leave the window).
	prevIDs map[string]struct{}
}

// jump records what the query before a keyset jump promised: total
// documents in [from, hi], below of them (on its page) before the jump
// point. The next query [to, hi] must count exactly total-below, or the
// skipped range [from, to] is read as a pass of its own.
type jump struct {
	from, to     time.Time
	total, below int
}

// pass is one numbered read of a span: pages 0, 1, ... of one query.
type pass struct {
	started bool
	total   int // the total reported on the pass's first page; -1: none
	ids     map[string]struct{}
	rows    int
	dirty   string // why the pass cannot be trusted; "" so far clean
	// the last page's answer, kept so it can be asked again and replaced
	lastIDs []string
	lastNew []string // ids the last answer added to ids
	reasks  int
	same    int  // answers in a row identical to the one before (end confirmation)
	probed  bool // the page after a full last page was asked for (counted passes)
	// newest is the newest filter value of the pages accepted so far;
	// unsorted: they were not in ascending filter order inside the span.
	newest   time.Time
	unsorted bool
}

func (p *pass) reset() { *p = pass{} }

// queryStart is the start the next request of s asks for.
func (s *span) queryStart() time.Time {
	if s.keyset {
		return s.q
	}
	return s.lo
}

func (s *span) String() string {
	if s.lo.IsZero() && s.hi.IsZero() {
		return "the full list"
	}
	return fmt.Sprintf("[%s, %s]", s.lo.In(shanghai).Format(vendorLayout), s.hi.In(shanghai).Format(vendorLayout))
}

const vendorLayout = "2006-01-02 15:04:05"

// outcome of a step over one page.
type outcome int

const (
	stepNext  outcome = iota // ask for the next request of the span
	stepDone                 // the span is read
	stepSplit                // halve the span and read each half
	stepError                // give up for now: report a transient error
)

// onPage digests one answer of span s and says what follows.
func (e *Engine) onPage(c *cursor, s *span, p vendor.Page) (outcome, string) {
	if s.keyset {
		return e.keysetPage(c, s, p)
	}
	return e.passPage(c, s, p)
}

// keysetPage handles a page of the keyset query [s.q, s.hi]. It is page 0
// of that query, so a query that cannot be used for a keyset jump simply
// becomes page 0 of a numbered pass over [s.q, s.hi].
func (e *Engine) keysetPage(c *cursor, s *span, p vendor.Page) (outcome, string) {
	if j := s.jump; j != nil {
		s.jump = nil
		if p.Total < 0 || p.Total != j.total-j.below {
			// Documents left the window (they changed and moved past its
			// end), or the jump skipped some: only a read of the skipped
			// range can tell, so it becomes a span of its own.
			c.spans = append(c.spans, &span{lo: j.from, hi: j.to})
			e.met.rereads.Incr(1, e.o.Vendor, e.o.API, "keyset_unverified")
		}
	}
	if why := e.keysetUnsafe(s, p); why != "" {
		e.keysetOff(why)
		return e.toNumbered(c, s, p)
	}
	if p.Total < 0 {
		// Without a count no jump can be verified.
		return e.toNumbered(c, s, p)
	}
	if !p.More || len(p.Docs) == 0 {
		return e.toNumbered(c, s, p)
	}
	newest := p.Docs[len(p.Docs)-1].Filter
	if !newest.After(s.q) {
		// A whole page shares the query's first value: no jump is
		// possible; the rest of the span is read by page numbers.
		return e.toNumbered(c, s, p)
	}
	below, ties := 0, 0
	for _, d := range p.Docs {
		if d.Filter.Before(newest) {
			below++
		}
		if d.Filter.Truncate(time.Second).Equal(newest.Truncate(time.Second)) {
			ties++
		}
	}
	to := newest
	if next := newest.Truncate(time.Second).Add(time.Second); ties == 1 && !next.After(s.hi.Truncate(time.Second)) {
		// The newest second holds one document of the page: the next
		// query starts after it, so the page's rows are not asked for
		// again. A row of that second beyond the page makes the next
		// total fall short, and [from, to] is read again (rule 2).
		to, below = next, len(p.Docs)
	}
	s.jump = &jump{from: s.q, to: to, total: p.Total, below: below}
	s.q = to
	return stepNext, ""
}

// keysetUnsafe says why page p cannot carry a keyset jump: a document
// without a filter value, one outside the query, or documents not in
// ascending filter order. Each means the vendor does not answer the way a
// jump assumes, so the engine stops jumping for good.
func (e *Engine) keysetUnsafe(s *span, p vendor.Page) string {
	lo, hi := s.q.Truncate(time.Second), s.hi.Truncate(time.Second)
	var prev time.Time
	for i, d := range p.Docs {
		f := d.Filter
		if f.IsZero() {
			return fmt.Sprintf("document %s has no usable %s", d.ID, e.filterName())
		}
		if t := f.Truncate(time.Second); t.Before(lo) || t.After(hi) {
			return fmt.Sprintf("document %s has %s %s, outside the requested window %s to %s: the window does not filter on %s",
				d.ID, e.filterName(), fmtTime(f), fmtTime(s.q), fmtTime(s.hi), e.filterName())
		}
		if i > 0 && f.Before(prev) {
			return fmt.Sprintf("the answer is not sorted by %s (document %s at %s follows one at %s)", e.filterName(), d.ID, fmtTime(f), fmtTime(prev))
		}
		prev = f
	}
	return ""
}

// toNumbered turns keyset span s into a numbered pass over [s.q, s.hi]
// whose page 0 is p.
func (e *Engine) toNumbered(c *cursor, s *span, p vendor.Page) (outcome, string) {
	s.keyset = false
	s.lo = s.q
	s.page = 0
	s.pass.reset()
	return e.passPage(c, s, p)
}

// passPage handles page s.page of a numbered pass over s. The pass is
// trusted only when every page reports the same total, no document comes
// twice and the pages add up to the total (when the vendor counts). An
// answer that breaks one of these is asked for again first: a glitch
// (a page served from the wrong offset, a miscounted total, a page cut
// short, a null list) rarely repeats, while a real change does — then the
// pass is read again, and a span that keeps failing is halved.
func (e *Engine) passPage(c *cursor, s *span, p vendor.Page) (outcome, string) {
	ps := &s.pass
	reasked := ps.reasks > 0 && ps.lastIDs != nil
	if reasked {
		// This answer replaces the previous answer to the same page.
		for _, id := range ps.lastNew {
			delete(ps.ids, id)
		}
		ps.rows -= len(ps.lastIDs)
	}
	problem := ""
	if !ps.started || (reasked && s.page == 0) {
		ps.started = true
		ps.total = p.Total
		if ps.ids == nil {
			ps.ids = map[string]struct{}{}
		}
	} else if p.Total >= 0 && ps.total >= 0 && p.Total != ps.total {
		// A page without a total (some interfaces count on the first
		// page only) is no change.
		problem = fmt.Sprintf("the total changed from %d to %d between pages", ps.total, p.Total)
	}
	ids := make([]string, len(p.Docs))
	var added []string
	for i, d := range p.Docs {
		ids[i] = d.ID
		if _, dup := ps.ids[d.ID]; dup {
			if problem == "" {
				problem = fmt.Sprintf("document %s came twice", d.ID)
			}
			continue
		}
		ps.ids[d.ID] = struct{}{}
		added = append(added, d.ID)
	}
	ps.rows += len(p.Docs)
	prevIDs := ps.lastIDs
	ps.lastIDs, ps.lastNew = ids, added
	if problem != "" {
		if ps.reasks < maxReasks {
			ps.reasks++
			return stepNext, ""
		}
		ps.note(problem)
	}

	size := p.Size
	if size <= 0 {
		size = e.o.PageSize
	}
	short := size > 0 && len(p.Docs) < size
	end := !p.More
	if ps.total < 0 {
		// Without a count only a short page can end the list. A short
		// page is asked again: a glitch (a null list, a page cut short)
		// rarely repeats, a true end does.
		if size > 0 {
			end = short
		}
		if e.o.HasNext && size > 0 && len(p.Docs) > 0 {
			switch {
			case short && !p.More:
				// The vendor's has_next and the page's length agree: the
				// end, taken at once (a page cut short still promises the
				// rest; an empty or null answer keeps rule 5).
				ps.reasks, ps.same = 0, 0
				ps.lastIDs, ps.lastNew = nil, nil
				return e.passEnd(s)
			case short && p.More:
				// More is promised after a short page: the rows missing
				// here would be on no other page. Ask again; if it stays
				// short, has_next is believed and the next page read.
				if ps.reasks < maxReasks && !(reasked && sameIDs(prevIDs, ids)) {
					ps.reasks++
					return stepNext, ""
				}
				end = false
			case !short && !p.More:
				// A full page the vendor says is the last.
				if tail, ok := e.shortTail(c, s, p); ok {
					return e.tailEnd(c, s, tail, len(p.Docs), size)
				}
			}
		}
		if end {
			if tail, ok := e.shortTail(c, s, p); ok {
				// The window's last page, short, sorted: taken as the end
				// at once. Only its newest second may hide rows a cut page
				// lost; the next window starts there (rule 7).
				return e.tailEnd(c, s, tail, len(p.Docs), size)
			}
			if reasked && sameIDs(prevIDs, ids) {
				ps.same++
			} else {
				ps.same = 0
			}
			need := endConfirmations
			if !e.o.StableFilter && !snapshot(s) {
				// Two agreeing passes are required anyway (passEnd): one
				// more answer to the last page is enough per pass.
				need = 1
			}
			if ps.same >= need {
				return e.passEnd(s)
			}
			if ps.reasks < maxReasks {
				ps.reasks++
				return stepNext, ""
			}
			ps.note("the last page changed every time it was asked for")
			return e.passEnd(s)
		}
	} else if !end && s.page == 0 && !reasked {
		// The first page's total is what every later page is checked
		// against: one that came out wrong by as much as documents then
		// leave would hide the skip they cause. Ask it twice.
		ps.reasks++
		return stepNext, ""
	} else if end && !short && size > 0 && !ps.probed {
		// The count says a full page is the last: a total that came out
		// low would say so too. Sorted, on a rising filter, the page may
		// end the window with its newest value as the unconfirmed tail
		// (rule 7); otherwise the next page must be empty.
		if tail, ok := e.shortTail(c, s, p); ok {
			return e.tailEnd(c, s, tail, len(p.Docs), size)
		}
		ps.probed = true
		ps.reasks, ps.same = 0, 0
		ps.lastIDs, ps.lastNew = nil, nil
		s.page++
		return stepNext, ""
	} else if !end && short {
		// More pages are promised after a short one: the rows missing
		// here would be on no other page. Ask again; if it stays short,
		// the end-of-pass count decides.
		if ps.reasks < maxReasks && !(reasked && sameIDs(prevIDs, ids)) {
			ps.reasks++
			return stepNext, ""
		}
	}
	ps.reasks, ps.same = 0, 0
	ps.lastIDs, ps.lastNew = nil, nil
	if end {
		return e.passEnd(s)
	}
	ps.follow(p.Docs, s.lo, s.hi)
	s.page++
	return stepNext, ""
}

// shortTail says whether page p, short and without a count behind it,
// may end span s without being asked for again, and returns its newest
// filter value. It may when a cut page can only have lost rows from that
// value on: the filter never changes (StableFilter), the pass so far and p
// are sorted ascending by it inside the span, p holds documents, and s is
// the last span of its window, so the next window can start at that value
// and read whatever was lost (Engine.tail). An empty or null page, or any
// other order, is confirmed by asking again (rule 5).
func (e *Engine) shortTail(c *cursor, s *span, p vendor.Page) (time.Time, bool) {
	ps := &s.pass
	if !(e.o.RisingFilter || e.o.StableFilter) || e.noKeyset || c == nil || c.full || s.lo.IsZero() || len(p.Docs) == 0 || ps.unsorted ||
		len(c.spans) != 1 || c.spans[0] != s || !s.hi.Equal(c.win.End) {
		return time.Time{}, false
	}
	if ps.total < 0 && !e.o.StableFilter && !snapshot(s) {
		// Documents may have left the window between this pass's pages
		// (rule 6): two agreeing passes are needed, not a tail.
		return time.Time{}, false
	}
	newest, ok := ascending(p.Docs, ps.newest, s.lo, s.hi)
	return newest, ok
}

// snapshot says whether the pass over s is one answer holding documents:
// page 0, the last. Nothing can shift between the pages of one answer, so
// rule 6 does not apply: a single such pass is the span's documents (an
// empty answer, which a null list would look like, still needs two).
func snapshot(s *span) bool { return s.page == 0 && s.pass.rows > 0 }

// tailEnd ends span s on its current page, of n rows in pages of size,
// leaving tail (the page's newest filter value) for the next window to
// start at (rule 7).
func (e *Engine) tailEnd(c *cursor, s *span, tail time.Time, n, size int) (outcome, string) {
	ps := &s.pass
	ps.reasks, ps.same = 0, 0
	ps.lastIDs, ps.lastNew = nil, nil
	out, why := e.passEnd(s)
	if out == stepDone {
		c.tail = &tail
		// A page cut short still holds most of a page; one less than
		// half full is far likelier the end, and a run that stops when
		// caught up leaves it to the next run (nothing is lost: the
		// checkpoint stays at the tail).
		c.tailFull = 2*n >= size
	}
	return out, why
}

// follow records the order of a page accepted into the pass: whether the
// pass is still sorted ascending by the filter inside [lo, hi], and its
// newest value.
func (ps *pass) follow(docs []vendor.Document, lo, hi time.Time) {
	if ps.unsorted {
		return
	}
	newest, ok := ascending(docs, ps.newest, lo, hi)
	ps.unsorted = !ok
	ps.newest = newest
}

// ascending says whether docs carry filter values in [lo, hi] (whole
// seconds, as windows are sent) in ascending order, none before from, and
// returns the newest.
func ascending(docs []vendor.Document, from, lo, hi time.Time) (time.Time, bool) {
	lo, hi = lo.Truncate(time.Second), hi.Truncate(time.Second)
	newest := from
	for _, d := range docs {
		f := d.Filter
		if f.IsZero() || f.Before(newest) {
			return newest, false
		}
		if t := f.Truncate(time.Second); t.Before(lo) || t.After(hi) {
			return newest, false
		}
		newest = f
	}
	return newest, true
}

// passEnd checks a finished pass and decides whether the span is read.
func (e *Engine) passEnd(s *span) (outcome, string) {
	ps := &s.pass
	if ps.total >= 0 && ps.rows != ps.total {
		ps.note(fmt.Sprintf("the pages held %d documents, the vendor counted %d", ps.rows, ps.total))
	}
	why := ps.dirty
	if why == "" && ps.total < 0 && !e.o.StableFilter && !snapshot(s) {
		// Without a count, numbered pages skip a document when one already
		// read leaves the window (it changed and moved past the end); that
		// one is then missing from the next pass. So a span is read when two
		// passes in a row hold the same documents.
		if s.prevIDs != nil && sameSet(s.prevIDs, ps.ids) {
			return stepDone, ""
		}
		if s.prevIDs != nil {
			why = fmt.Sprintf("two passes held different documents (%d, then %d)", len(s.prevIDs), len(ps.ids))
		} else {
			s.prevIDs = ps.ids
			s.page = 0
			s.pass.reset()
			return stepNext, ""
		}
		s.prevIDs = ps.ids
	}
	if why == "" {
		return stepDone, ""
	}
	s.attempts++
	s.page = 0
	s.pass.reset()
	e.met.rereads.Incr(1, e.o.Vendor, e.o.API, "inconsistent_pass")
	e.log.Debugf("%s %s: reading %s again: %s", e.o.Vendor, e.o.API, s, why)
	splittable := !s.lo.IsZero() && s.hi.Sub(s.lo) >= 2*time.Second
	switch {
	case s.attempts < passesBeforeSplit:
		return stepNext, why
	case splittable:
		return stepSplit, why
	case s.attempts < passesBeforeError:
		return stepNext, why
	}
	s.attempts = 0
	return stepError, why
}

func (p *pass) note(why string) {
	if p.dirty == "" {
		p.dirty = why
	}
}

// split halves s at a whole second; both halves include the middle
// second, so a document there is read by either.
func split(s *span) (*span, *span) {
	mid := s.lo.Add(s.hi.Sub(s.lo) / 2).Truncate(time.Second)
	if !mid.After(s.lo) {
		mid = s.lo.Add(time.Second)
	}
	return &span{lo: s.lo, hi: mid}, &span{lo: mid, hi: s.hi}
}

func sameSet(a, b map[string]struct{}) bool {
	if len(a) != len(b) {
		return false
	}
	for id := range a {
		if _, ok := b[id]; !ok {
			return false
		}
	}
	return true
}

func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fmtTime(t time.Time) string { return t.In(shanghai).Format(vendorLayout) }

// filterName is the window's filter field as users name it.
func (e *Engine) filterName() string {
	if e.o.FilterField != "" {
		return e.o.FilterField
	}
	return "the window's filter field"
}

// keysetOff stops keyset jumps for the rest of the process and says why
// once: the vendor does not answer the way a jump assumes.
func (e *Engine) keysetOff(why string) {
	if e.noKeyset {
		return
	}
	e.noKeyset = true
	e.log.Warnf("%s %s: %s; reading windows by page numbers from now on (slower, nothing is skipped); check window.filter_field if the vendor filters this interface on another field",
		e.o.Vendor, e.o.API, why)
}
