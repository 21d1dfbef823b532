package poll

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/fatal"
	"github.com/erpsync/erpsync/internal/streamstate"
	"github.com/erpsync/erpsync/internal/vendor"
)

// Fetcher reads one page of a vendor list interface. Vendor clients
// implement it (plugins/jushuitan, plugins/wdt, plugins/xbb).
type Fetcher interface {
	// FetchPage reads page (0-based) of api with the business params built
	// by the user's mapping; the client adds its paging fields. Errors are
	// *vendor.Error values classified by vendor.Kind.
	FetchPage(ctx context.Context, api string, params map[string]any, page, pageSize int) (vendor.Page, error)
}

// Refresher is implemented by clients that can renew credentials when a
// call fails with vendor.Expired.
type Refresher interface {
	Refresh(ctx context.Context) error
}

// Options configure an Engine.
type Options struct {
	Vendor string
	API    string
	// Params builds the business parameters of one request; nil sends none.
	Params *bloblang.Executor
	// Window is nil for full reads (master data).
	Window           *WindowConfig
	PageSize         int
	PollInterval     time.Duration
	StopWhenCaughtUp bool
	CheckpointCache  string
	CheckpointKey    string
	RateLimit        string
	Timeout          time.Duration
	MaxRetries       int
	BackoffInitial   time.Duration
	BackoffMax       time.Duration
	// MaxPages guards against a vendor that never says "no more pages":
	// most requests for one window, re-reads included.
	MaxPages int
	// FilterField names the document field the window's bounds filter on
	// (window.filter_field), for messages; the fetcher fills
	// vendor.Document.Filter from it.
	FilterField string
	// MaxAnswerBytes is max_answer_bytes, for the input to give its client.
	MaxAnswerBytes int
	// StableFilter: the window's filter field never changes once a
	// document exists (a create time), so documents never leave a window
	// while it is read. Without counts, one pass then proves a window read;
	// otherwise two passes holding the same documents are needed. Inputs
	// set it only for interfaces documented so and their default filter field.
	StableFilter bool
	// RisingFilter: the window's filter value of a document never moves
	// back: a stable field, or the document's modified time. A row a
	// page lost then still has a value at or after the page's newest one
	// later, so a window may end on a page no later answer confirmed as
	// long as the next window starts at that value (rule 7).
	RisingFilter bool
	// HasNext: the answers' More is the vendor's own has_next flag (not
	// inferred from the page's length), for interfaces without a count.
	HasNext bool
	// DocumentID, when set, computes each document's id from the document
	// (interface.document_id), replacing the client's.
	DocumentID *bloblang.Executor
	// WindowParams builds the window's business parameters when Params is
	// nil (the catalogue's window fields).
	WindowParams func(start, end time.Time) map[string]any
	// Now overrides the clock (tests).
	Now func() time.Time
}

// Engine is a service.BatchInput over a Fetcher. Wrap it with
// service.AutoRetryNacksBatched so nacked batches are redelivered; the
// checkpoint only moves when they finally are.
type Engine struct {
	f    Fetcher
	o    Options
	mgr  *service.Resources
	log  *service.Logger
	now  func() time.Time
	trk  *tracker
	pace *pacer
	met  *metrics
	// st is what the console shows of this input (internal/streamstate).
	st *streamstate.Input
	// selfReported: the fetcher reports its own calls (see ReportsCalls).
	selfReported bool

	storeMu sync.Mutex

	// read-side state, touched only by ReadBatch (Benthos calls it from one goroutine)
	prevEnd time.Time
	cur     *cursor
	// seen holds, per document emitted whose filter value is inside the
	// current window or its overlap, that value and a hash of its content:
	// a document read again unchanged (keyset boundaries, re-read passes,
	// lookback) is not re-emitted, while a changed one is.
	seen     map[string]seenDoc
	fullDone bool
	planned  bool // a window was planned since Connect
	// noKeyset: an answer showed the vendor does not sort by the window's
	// filter field; windows are read by page numbers only.
	noKeyset bool
	// tail: the last window's end is not confirmed yet (see pendingTail).
	tail *pendingTail
	// reachedNow: a window ending at now - lag was planned; a run that
	// stops when caught up plans no further window (only a tail's).
	reachedNow bool

	// fatal is the error that stopped the input; set by ReadBatch or by an
	// acknowledgement whose checkpoint could not be stored.
	fatalMu sync.Mutex
	fatal   error
}

type seenDoc struct {
	at   time.Time // the filter value, or the end of the window it was read in
	hash uint64
}

// cursor is the window (or full read) being read: the spans of it still
// to read, the first of them being read now.
type cursor struct {
	win   Window // zero for full reads
	full  bool
	spans []*span
	pages int // requests made for this window
	state *winState
	// fullSeen de-duplicates the re-read passes of one full read.
	fullSeen map[string]uint64
	// tail is the newest filter value of the window's last page when that
	// page was short and taken as the end without asking again (shortTail).
	tail *time.Time
	// tailFull: that page held at least half a page, as a page cut short
	// does; a run that stops when caught up confirms such a tail.
	tailFull bool
}

// pendingTail is what the last window left unconfirmed: rows at or after
// at, up to upTo (that window's end), may be missing if its last page was
// cut short. The next window starts at at; when the input is caught up
// and stops, [at, upTo] is asked once more.
type pendingTail struct {
	at, upTo time.Time
	// confirm: ask for it once more before a run that stops when caught
	// up stops (the page that left it held at least half a page).
	confirm bool
}

// New builds an engine.
func New(f Fetcher, o Options, mgr *service.Resources) *Engine {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 10000
	}
	if o.BackoffInitial <= 0 {
		o.BackoffInitial = time.Second
	}
	if o.BackoffMax < o.BackoffInitial {
		o.BackoffMax = 30 * time.Second
	}
	key := o.RateLimit
	if key == "" {
		key = o.Vendor + ":" + o.API
	}
	e := &Engine{
		f: f, o: o, mgr: mgr, log: mgr.Logger(), now: o.Now,
		trk: newTracker(), pace: sharedPacer(key), seen: map[string]seenDoc{},
		met: newMetrics(mgr, o.Vendor, o.API),
		st:  streamstate.RegisterInput(o.Vendor, o.API, o.CheckpointCache, o.CheckpointKey),
	}
	if o.CheckpointCache != "" && o.Window != nil {
		e.st.Store = func(cp time.Time) error {
			return SaveState(context.Background(), mgr, o.CheckpointCache, o.CheckpointKey, []byte(cp.UTC().Format(time.RFC3339Nano)))
		}
	}
	if r, ok := f.(interface{ ReportsCalls() bool }); ok {
		e.selfReported = r.ReportsCalls()
	}
	return e
}

// Connect loads the checkpoint.
func (e *Engine) Connect(ctx context.Context) error {
	if e.o.Window == nil {
		return nil
	}
	cp, has, err := e.loadCheckpoint(ctx)
	if err != nil {
		return err
	}
	e.prevEnd = ResumePoint(*e.o.Window, cp, has)
	if has {
		e.st.Checkpoint(cp)
		e.log.Infof("%s %s: resuming from checkpoint %s (re-reading %s before it)", e.o.Vendor, e.o.API, cp.Format(time.RFC3339), e.o.Window.Lookback)
	} else {
		e.log.Infof("%s %s: no checkpoint, starting at %s", e.o.Vendor, e.o.API, e.prevEnd.Format(time.RFC3339))
	}
	return nil
}

// ReadBatch returns the documents of the next non-empty page.
func (e *Engine) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	for {
		if e.stoppedErr() != nil {
			return nil, nil, service.ErrEndOfInput
		}
		if err := ctx.Err(); err != nil {
			// Empty pages loop here without returning: a client that
			// does not watch ctx would otherwise keep the read going.
			return nil, nil, err
		}
		if e.cur == nil {
			ok, err := e.nextCursor(ctx)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				return nil, nil, service.ErrEndOfInput
			}
		}
		c := e.cur
		sp := c.spans[0]
		params, err := e.params(c, sp)
		if err != nil {
			e.stop(fmt.Errorf("%s %s: params mapping: %w", e.o.Vendor, e.o.API, err))
			return nil, nil, service.ErrEndOfInput
		}
		if c.pages >= e.o.MaxPages {
			e.stop(fmt.Errorf("%s %s: more than %d requests for one window without a consistent read: the vendor never reported the last page or kept changing its answers; narrow window.max_span or raise max_pages", e.o.Vendor, e.o.API, e.o.MaxPages))
			return nil, nil, service.ErrEndOfInput
		}
		page, err := e.fetch(ctx, params, sp.page)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if vendor.KindOf(err) == vendor.Permanent {
				e.stop(err)
				return nil, nil, service.ErrEndOfInput
			}
			// The cursor is kept: the next ReadBatch retries the same page.
			return nil, nil, err
		}
		c.pages++
		batch := e.messages(c, page)
		out, why := e.onPage(c, sp, page)
		var stepErr error
		switch out {
		case stepDone:
			c.spans = c.spans[1:]
		case stepSplit:
			a, b := split(sp)
			c.spans = append([]*span{a, b}, c.spans[1:]...)
			e.log.Debugf("%s %s: %s read inconsistently twice (%s); reading it in two halves", e.o.Vendor, e.o.API, sp, why)
		case stepError:
			stepErr = &vendor.Error{Vendor: e.o.Vendor, Interface: e.o.API, Kind: vendor.Transient,
				Msg: fmt.Sprintf("no consistent answer for %s after %d reads: %s; the checkpoint stays where it is and the read starts over", sp, passesBeforeError, why)}
		}
		if len(c.spans) == 0 {
			e.cur = nil
		}
		if len(batch) == 0 {
			if e.cur == nil {
				e.windowRead(ctx, c)
			}
			if stepErr != nil {
				return nil, nil, stepErr
			}
			continue
		}
		e.trk.emitted(c.state)
		e.st.Read(len(batch))
		if e.cur == nil {
			e.windowRead(ctx, c)
		}
		if stepErr != nil {
			e.log.Warnf("%v", stepErr)
		}
		st := c.state
		return batch, func(ctx context.Context, err error) error {
			if err != nil {
				// Only reached without the auto-retry wrapper: keep the
				// checkpoint where it is; the documents are re-read after a restart.
				return nil
			}
			if cp, n := e.trk.acked(st); n > 0 {
				e.met.windows.Incr(int64(n), e.o.Vendor, e.o.API)
				e.storeCheckpoint(ctx, cp, c.full)
			}
			return nil
		}, nil
	}
}

func (e *Engine) windowRead(ctx context.Context, c *cursor) {
	e.settleTail(c)
	if cp, n := e.trk.finished(c.state); n > 0 {
		e.met.windows.Incr(int64(n), e.o.Vendor, e.o.API)
		e.storeCheckpoint(ctx, cp, c.full)
	}
}

// settleTail updates the unconfirmed tail once window c is read. A window
// that confirmed its own end leaves none. One that ended on a short page
// taken at once leaves its newest value, and its checkpoint stops there, so
// a restart reads the tail again too — unless it added no new range and
// found nothing after the pending tail: a second answer agreeing with the
// first confirms it.
func (e *Engine) settleTail(c *cursor) {
	if c.full {
		return
	}
	switch t := e.tail; {
	case c.tail == nil:
		e.tail = nil
	case t != nil && !c.win.Start.After(t.at) && !c.tail.After(t.at) && !c.win.End.After(t.upTo):
		e.tail = nil
	case t != nil && !c.win.Start.After(t.at) && !c.tail.After(t.at):
		// Two answers agree on [at, upTo]; only rows after upTo can be
		// missing from this one's last page.
		e.tail = &pendingTail{at: t.upTo, upTo: c.win.End, confirm: c.tailFull}
		e.trk.shorten(c.state, t.upTo)
	default:
		e.tail = &pendingTail{at: *c.tail, upTo: c.win.End, confirm: c.tailFull}
		e.trk.shorten(c.state, *c.tail)
	}
}

// nextCursor plans the next window or full read. ok=false ends the input.
func (e *Engine) nextCursor(ctx context.Context) (bool, error) {
	for {
		if e.o.Window == nil {
			if e.fullDone {
				if e.o.StopWhenCaughtUp {
					err := e.trk.waitIdle(ctx)
					if err == nil {
						e.st.SetState(streamstate.StateFinished)
					}
					return false, err
				}
				e.st.SetState(streamstate.StateWaiting)
				if err := sleepCtx(ctx, e.o.PollInterval); err != nil {
					return false, err
				}
			}
			e.st.SetState(streamstate.StateRunning)
			e.fullDone = true
			e.cur = &cursor{full: true, spans: []*span{{}}, state: e.trk.add(e.now()), fullSeen: map[string]uint64{}}
			return true, nil
		}
		if err := e.applyReset(ctx); err != nil {
			return false, err
		}
		now := e.now()
		w, ok := NextWindow(*e.o.Window, e.prevEnd, now)
		if !ok && !e.planned {
			// A (re)start re-reads the lookback even when the checkpoint is
			// less than a second old, so changes made late are never skipped.
			w, ok = RereadWindow(*e.o.Window, e.prevEnd, now)
		}
		if ok && e.o.StopWhenCaughtUp && e.reachedNow {
			// A run that stops when caught up ends with the first window
			// that reached now - lag. Paced calls take about as long as the
			// window planned after each of them would cover, so planning
			// on would chase the clock one call per second of it; later
			// changes are for the next run, as they are for one that read
			// its last window quickly.
			ok = false
		}
		if t := e.tail; t != nil {
			switch {
			case ok && t.at.Before(w.Start):
				// The window starts at the tail the last one left.
				w.Start = t.at
				if limit := w.Start.Add(e.o.Window.MaxSpan); w.End.After(limit) {
					w.End = limit
				}
			case !ok && e.o.StopWhenCaughtUp && t.confirm:
				// No window follows in this run, and the page that left
				// the tail may have been cut short: ask for it again.
				w, ok = Window{Start: t.at, End: t.upTo}, true
			}
			// A tail left by a page less than half full is left to the
			// next run, as a continuous run leaves it to its next poll:
			// the checkpoint stays at it (settleTail), so the next run's
			// first window reads from there again.
		}
		if ok {
			e.planned = true
			e.reachedNow = e.reachedNow || w.End.Equal(now.Add(-e.o.Window.Lag))
			e.prevEnd = w.End
			sp := &span{lo: w.Start, hi: w.End}
			if !e.noKeyset {
				sp.keyset, sp.q = true, w.Start
			}
			e.cur = &cursor{win: w, spans: []*span{sp}, state: e.trk.add(w.End)}
			e.st.Window(w.End)
			for id, m := range e.seen {
				if m.at.Before(w.Start) {
					delete(e.seen, id)
				}
			}
			return true, nil
		}
		if e.o.StopWhenCaughtUp {
			if err := e.trk.waitIdle(ctx); err != nil {
				return false, err
			}
			if t := e.tail; t != nil {
				e.log.Infof("%s %s: caught up at %s; the checkpoint stays at %s, where the last page ended without a count to prove it: the next run reads from there again",
					e.o.Vendor, e.o.API, e.prevEnd.Format(time.RFC3339), t.at.Format(time.RFC3339))
			} else {
				e.log.Infof("%s %s: caught up at %s", e.o.Vendor, e.o.API, e.prevEnd.Format(time.RFC3339))
			}
			e.st.SetState(streamstate.StateFinished)
			return false, nil
		}
		e.st.SetState(streamstate.StateWaiting)
		if err := e.waitPoll(ctx); err != nil {
			return false, err
		}
	}
}

func (e *Engine) params(c *cursor, sp *span) (map[string]any, error) {
	if e.o.Params == nil {
		if e.o.WindowParams != nil && !c.full {
			return e.o.WindowParams(sp.queryStart(), sp.hi), nil
		}
		return map[string]any{}, nil
	}
	msg := service.NewMessage(nil)
	if !c.full {
		msg.MetaSetMut("window_start", sp.queryStart().In(shanghai))
		msg.MetaSetMut("window_end", sp.hi.In(shanghai))
	}
	msg.MetaSetMut("page", sp.page)
	res, err := msg.BloblangQuery(e.o.Params)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return map[string]any{}, nil
	}
	v, err := res.AsStructured()
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must produce an object, got %T", v)
	}
	return m, nil
}

func (e *Engine) messages(c *cursor, page vendor.Page) service.MessageBatch {
	batch := make(service.MessageBatch, 0, len(page.Docs))
	defer func() { e.met.documents.Incr(int64(len(batch)), e.o.Vendor, e.o.API) }()
	for _, d := range page.Docs {
		h := fnv.New64a()
		_, _ = h.Write(d.Raw)
		hash := h.Sum64()
		if c.full {
			if prev, ok := c.fullSeen[d.ID]; ok && prev == hash {
				continue
			}
			c.fullSeen[d.ID] = hash
		} else {
			at := d.Filter
			if at.IsZero() {
				at = c.win.End
			}
			if prev, ok := e.seen[d.ID]; ok && prev.hash == hash {
				continue
			}
			e.seen[d.ID] = seenDoc{at: at, hash: hash}
		}
		m := service.NewMessage(d.Raw)
		m.MetaSetMut("source_vendor", e.o.Vendor)
		m.MetaSetMut("source_api", e.o.API)
		m.MetaSetMut("source_id", d.ID)
		if !d.Modified.IsZero() {
			m.MetaSetMut("source_modified", d.Modified.In(shanghai))
		}
		if !c.full {
			m.MetaSetMut("window_start", c.win.Start.In(shanghai))
			m.MetaSetMut("window_end", c.win.End.In(shanghai))
		}
		m.MetaSetMut("page", c.pages)
		batch = append(batch, m)
	}
	return batch
}

// fetch reads one page, retrying transient and rate-limited failures with
// backoff and refreshing expired credentials once.
func (e *Engine) fetch(ctx context.Context, params map[string]any, page int) (vendor.Page, error) {
	backoff := e.o.BackoffInitial
	refreshed := false
	for attempt := 0; ; attempt++ {
		if err := e.waitTurn(ctx); err != nil {
			return vendor.Page{}, err
		}
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if e.o.Timeout > 0 {
			rctx, cancel = context.WithTimeout(ctx, e.o.Timeout)
		}
		p, err := e.f.FetchPage(rctx, e.o.API, params, page, e.o.PageSize)
		timedOut := rctx.Err() != nil
		cancel()
		if ctx.Err() == nil {
			code := p.Code
			errText := ""
			if err != nil {
				code = vendor.TransportCode(err)
				errText = err.Error()
			}
			if !e.selfReported {
				e.met.requests.Incr(1, e.o.Vendor, e.o.API, code)
			}
			e.st.Call(code, errText, e.now())
		}
		if err == nil && e.o.DocumentID != nil {
			err = applyDocumentID(e.o.DocumentID, e.o.Vendor, e.o.API, &p)
		}
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return vendor.Page{}, ctx.Err()
		}
		var ve *vendor.Error
		if (timedOut || vendor.TransportCode(err) == "timeout") && e.o.Timeout > 0 {
			// Say which limit expired, in the user's words: the client's
			// own text ("context deadline exceeded") names neither.
			ve = &vendor.Error{Vendor: e.o.Vendor, Interface: e.o.API, Kind: vendor.Transient, Err: context.DeadlineExceeded,
				Msg: fmt.Sprintf("no answer within %s (the input's timeout)", e.o.Timeout)}
		} else if !errors.As(err, &ve) {
			// A client bug: treat as transient, without repeating the
			// vendor and interface the client may already have named.
			msg := strings.TrimPrefix(err.Error(), e.o.Vendor+": "+e.o.API+": ")
			ve = &vendor.Error{Vendor: e.o.Vendor, Interface: e.o.API, Msg: msg, Kind: vendor.Transient, Err: err}
		}
		wait := backoff
		if ve.RetryAfter > 0 {
			wait = ve.RetryAfter
		}
		switch ve.Kind {
		case vendor.Permanent:
			return vendor.Page{}, ve
		case vendor.Expired:
			r, ok := e.f.(Refresher)
			if !ok || refreshed {
				return vendor.Page{}, &vendor.Error{Vendor: ve.Vendor, Interface: ve.Interface, Code: ve.Code, Msg: ve.Msg + ": credentials could not be renewed", Kind: vendor.Permanent, Err: ve}
			}
			refreshed = true
			if rerr := r.Refresh(ctx); rerr != nil {
				return vendor.Page{}, rerr
			}
			e.log.Infof("%s %s: credentials renewed after code %s", e.o.Vendor, e.o.API, ve.Code)
			continue
		case vendor.RateLimited:
			// Every stream sharing the rate limit waits, not only this one.
			e.pace.pause(e.now().Add(wait))
			e.met.waits.Incr(1, e.o.Vendor, e.o.API)
		}
		if attempt >= e.o.MaxRetries {
			return vendor.Page{}, fmt.Errorf("%w (gave up after %d attempts)", ve, attempt+1)
		}
		e.log.Warnf("%v; retrying in %s", ve, wait)
		if err := sleepCtx(ctx, wait); err != nil {
			return vendor.Page{}, err
		}
		if backoff *= 2; backoff > e.o.BackoffMax {
			backoff = e.o.BackoffMax
		}
	}
}

// waitTurn honours a pause set by a rate-limit answer and the rate_limit resource.
func (e *Engine) waitTurn(ctx context.Context) error {
	if err := e.pace.wait(ctx, e.now); err != nil {
		return err
	}
	if e.o.RateLimit == "" {
		return nil
	}
	for {
		var d time.Duration
		var aerr error
		if err := e.mgr.AccessRateLimit(ctx, e.o.RateLimit, func(rl service.RateLimit) {
			d, aerr = rl.Access(ctx)
		}); err != nil {
			return fmt.Errorf("rate_limit %q: %w", e.o.RateLimit, err)
		}
		if aerr != nil {
			return aerr
		}
		if d <= 0 {
			return nil
		}
		e.met.waits.Incr(1, e.o.Vendor, e.o.API)
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
	}
}

func (e *Engine) loadCheckpoint(ctx context.Context) (time.Time, bool, error) {
	if e.o.CheckpointCache == "" {
		return time.Time{}, false, nil
	}
	var t time.Time
	raw, found, torn, err := LoadState(ctx, e.mgr, e.o.CheckpointCache, e.o.CheckpointKey, func(b []byte) error {
		var perr error
		t, perr = time.Parse(time.RFC3339Nano, string(b))
		return perr
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("checkpoint cache %q: reading checkpoint: %w; fix or delete it", e.o.CheckpointCache, err)
	}
	if torn {
		e.log.Warnf("%s %s: checkpoint %q was cut short by a crash; resuming from its spare copy %s", e.o.Vendor, e.o.API, e.o.CheckpointKey, raw)
	}
	return t, found, nil
}

// storeCheckpoint writes the checkpoint after the acknowledgements that
// allowed it. A failed write stops the input (and the process, exit 1)
// before it reads further: running on would only re-read everything after
// the next restart, and the cause (a missing or read-only state folder, a
// full disk) needs the user.
func (e *Engine) storeCheckpoint(ctx context.Context, cp time.Time, full bool) {
	if full {
		return
	}
	e.met.lag.Set(int64(e.now().Sub(cp)/time.Second), e.o.Vendor, e.o.API)
	e.st.Checkpoint(cp)
	if e.o.CheckpointCache == "" {
		return
	}
	e.storeMu.Lock()
	defer e.storeMu.Unlock()
	val := []byte(cp.UTC().Format(time.RFC3339Nano))
	if serr := SaveState(ctx, e.mgr, e.o.CheckpointCache, e.o.CheckpointKey, val); serr != nil {
		if ctx.Err() != nil && errors.Is(serr, ctx.Err()) {
			return // shutting down: the next run stores it
		}
		e.stop(fmt.Errorf("%s %s: cannot store the checkpoint %s in cache %q (key %q): %w; the input stops so that a restart does not re-read what was already delivered: fix the state folder (ERPSYNC_STATE_DIR in the shipped configs) and run again",
			e.o.Vendor, e.o.API, val, e.o.CheckpointCache, e.o.CheckpointKey, serr))
		return
	}
	e.log.Debugf("%s %s: checkpoint %s", e.o.Vendor, e.o.API, val)
}

// Close has nothing to release: requests end with their contexts.
func (e *Engine) Close(ctx context.Context) error { return nil }

// Err is the error that stopped the input, if any.
func (e *Engine) Err() error { return e.stoppedErr() }

// stop records the error that ends the input, logs it and stops the
// process (internal/fatal), which then exits non-zero: a cron job or an
// orchestrator sees a broken credential instead of a clean exit.
func (e *Engine) stop(err error) {
	e.fatalMu.Lock()
	first := e.fatal == nil
	if first {
		e.fatal = err
	}
	e.fatalMu.Unlock()
	if !first {
		return
	}
	e.log.Errorf("%v; stopping the input", err)
	e.st.Stopped(err.Error(), e.now())
	fatal.Stop(err)
}

// stoppedErr is the error that stopped the input, if any.
func (e *Engine) stoppedErr() error {
	e.fatalMu.Lock()
	defer e.fatalMu.Unlock()
	return e.fatal
}

// waitPoll waits poll_interval before the next poll, or less when the
// console asks for a checkpoint reset.
func (e *Engine) waitPoll(ctx context.Context) error {
	t := time.NewTimer(e.o.PollInterval)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-e.st.Wake():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// applyReset restarts the windows at a checkpoint the operator chose (the
// console's checkpoint reset), before the next window is planned: the
// checkpoint is stored at once, windows still in flight no longer move
// it, and documents already seen are delivered again.
func (e *Engine) applyReset(ctx context.Context) error {
	cp, ok := e.st.TakeReset()
	if !ok {
		return nil
	}
	e.trk.drop()
	e.seen = map[string]seenDoc{}
	e.tail, e.reachedNow = nil, false
	e.prevEnd, e.planned = cp, true
	e.log.Infof("%s %s: checkpoint reset to %s", e.o.Vendor, e.o.API, cp.Format(time.RFC3339))
	e.storeCheckpoint(ctx, cp, false)
	return e.stoppedErr()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()
