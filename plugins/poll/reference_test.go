package poll

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/vendor"
)

// TestPropertyModelIsSurvivable runs TestEngineProperty's harness, seeds and
// properties against refInput, a slow reader that relies on nothing the
// vendor contract does not promise. It passing shows that every model the
// generator draws can be survived: when TestEngineProperty fails a seed
// this test passes, the engine is at fault, not the model. Its coverage
// check (property 3) also shows the seeds deal every fault kind.
func TestPropertyModelIsSurvivable(t *testing.T) {
	runPropertySeeds(t, func(f Fetcher, o Options, res *service.Resources) propInput {
		return &refInput{f: f, o: o, mgr: res, trk: newTracker()}
	})
}

// refInput reads each window by whole passes of numbered pages of the same
// query, and takes a window as read when two passes in a row return the
// same documents. It never looks at Total, More, Modified or the order:
//
//   - a page is taken when two answers in a row agree (the vendor never
//     gives two misleading answers in a row, so a fault never passes);
//   - a pass ends at the first page shorter than the page size;
//   - numbered pages skip a row only when a row already read leaves the
//     window, and that row is then missing from the next pass, so two equal
//     passes mean the first one skipped nothing.
//
// It uses the planner, tracker and state helpers of the engine.
type refInput struct {
	f       Fetcher
	o       Options
	mgr     *service.Resources
	trk     *tracker
	prevEnd time.Time
	planned bool
	fatal   bool

	cur      *winState
	win      Window
	last     map[string]string // the previous pass of the current window: id to body
	emitted  map[string]string // bodies emitted in the current window
	finished bool
}

func (r *refInput) Connect(ctx context.Context) error {
	var cp time.Time
	_, found, _, err := LoadState(ctx, r.mgr, r.o.CheckpointCache, r.o.CheckpointKey, func(b []byte) error {
		var perr error
		cp, perr = time.Parse(time.RFC3339Nano, string(b))
		return perr
	})
	if err != nil {
		return err
	}
	r.prevEnd = ResumePoint(*r.o.Window, cp, found)
	return nil
}

func (r *refInput) Close(context.Context) error { return nil }

func (r *refInput) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	for {
		if r.fatal {
			return nil, nil, service.ErrEndOfInput
		}
		if r.cur == nil {
			w, ok := NextWindow(*r.o.Window, r.prevEnd, r.o.Now())
			if !ok && !r.planned {
				w, ok = RereadWindow(*r.o.Window, r.prevEnd, r.o.Now())
			}
			if !ok {
				if r.o.StopWhenCaughtUp {
					if err := r.trk.waitIdle(ctx); err != nil {
						return nil, nil, err
					}
					return nil, nil, service.ErrEndOfInput
				}
				if err := ctx.Err(); err != nil {
					return nil, nil, err
				}
				continue
			}
			r.planned, r.prevEnd, r.win = true, w.End, w
			r.cur, r.last, r.emitted = r.trk.add(w.End), nil, map[string]string{}
		}
		docs, err := r.pass(ctx)
		if err != nil {
			return nil, nil, err
		}
		set := map[string]string{}
		var batch service.MessageBatch
		for _, d := range docs {
			v := string(d.Raw)
			set[d.ID] = v
			if ev, ok := r.emitted[d.ID]; ok && ev == v {
				continue
			}
			r.emitted[d.ID] = v
			m := service.NewMessage(d.Raw)
			m.MetaSetMut("source_id", d.ID)
			batch = append(batch, m)
		}
		done := r.last != nil && refSameSet(r.last, set)
		r.last = set
		st := r.cur
		if len(batch) > 0 {
			r.trk.emitted(st)
		}
		if done {
			r.cur = nil
			if cp, n := r.trk.finished(st); n > 0 {
				r.store(ctx, cp)
			}
		}
		if len(batch) == 0 {
			continue
		}
		return batch, func(ctx context.Context, err error) error {
			if err == nil {
				if cp, n := r.trk.acked(st); n > 0 {
					r.store(ctx, cp)
				}
			}
			return nil
		}, nil
	}
}

func (r *refInput) store(ctx context.Context, cp time.Time) {
	_ = SaveState(ctx, r.mgr, r.o.CheckpointCache, r.o.CheckpointKey, []byte(cp.UTC().Format(time.RFC3339Nano)))
}

// pass reads every page of the current window once.
func (r *refInput) pass(ctx context.Context) ([]vendor.Document, error) {
	msg := service.NewMessage(nil)
	msg.MetaSetMut("window_start", r.win.Start.In(shanghai))
	msg.MetaSetMut("window_end", r.win.End.In(shanghai))
	res, err := msg.BloblangQuery(r.o.Params)
	if err != nil {
		return nil, err
	}
	v, err := res.AsStructured()
	if err != nil {
		return nil, err
	}
	params := v.(map[string]any)
	var all []vendor.Document
	for page := 0; ; page++ {
		docs, err := r.page(ctx, params, page)
		if err != nil {
			return nil, err
		}
		all = append(all, docs...)
		if len(docs) < r.o.PageSize {
			return all, nil
		}
	}
}

// page asks for one page until two answers in a row agree.
func (r *refInput) page(ctx context.Context, params map[string]any, page int) ([]vendor.Document, error) {
	var prev []vendor.Document
	for n := 0; ; {
		p, err := r.f.FetchPage(ctx, r.o.API, params, page, r.o.PageSize)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if vendor.KindOf(err) == vendor.Permanent {
				r.fatal = true
				return nil, err
			}
			continue
		}
		if n++; n > 1 && slices.EqualFunc(prev, p.Docs, func(a, b vendor.Document) bool {
			return a.ID == b.ID && string(a.Raw) == string(b.Raw)
		}) {
			return p.Docs, nil
		}
		prev = p.Docs
	}
}

func refSameSet(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for id, v := range a {
		if w, ok := b[id]; !ok || w != v {
			return false
		}
	}
	return true
}
