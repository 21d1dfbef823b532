package poll

import (
	"context"
	"sync"
	"time"
)

// tracker follows the windows handed out and their unacknowledged batches,
// and says how far the checkpoint may advance: to the end of the last window
// that is fully read and fully acknowledged, with every earlier window too.
type tracker struct {
	mu      sync.Mutex
	open    []*winState // in order; the head is the oldest not yet checkpointed
	changed chan struct{}
}

type winState struct {
	end     time.Time
	pending int  // batches emitted and not yet acknowledged
	read    bool // every page of the window was read
}

func newTracker() *tracker { return &tracker{changed: make(chan struct{})} }

// add opens a window; the returned state is used to count its batches.
func (t *tracker) add(end time.Time) *winState {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := &winState{end: end}
	t.open = append(t.open, w)
	return w
}

// emitted counts one batch of w in flight.
func (t *tracker) emitted(w *winState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w.pending++
}

// acked counts one batch of w delivered; it returns the new checkpoint and
// how many windows it moved past (0: it did not advance).
func (t *tracker) acked(w *winState) (time.Time, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w.pending--
	return t.advanceLocked()
}

// shorten lowers the checkpoint w may give to end (a window whose last
// rows are not confirmed yet).
func (t *tracker) shorten(w *winState, end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if end.Before(w.end) {
		w.end = end
	}
}

// finished marks every page of w read.
func (t *tracker) finished(w *winState) (time.Time, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w.read = true
	return t.advanceLocked()
}

func (t *tracker) advanceLocked() (time.Time, int) {
	var cp time.Time
	n := 0
	for len(t.open) > 0 && t.open[0].read && t.open[0].pending == 0 {
		cp = t.open[0].end
		n++
		t.open = t.open[1:]
	}
	if n > 0 {
		close(t.changed)
		t.changed = make(chan struct{})
	}
	return cp, n
}

// drop forgets every open window: their acknowledgements no longer move
// the checkpoint (a checkpoint reset replaced it).
func (t *tracker) drop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open = nil
	close(t.changed)
	t.changed = make(chan struct{})
}

// waitIdle blocks until every window handed out is read and acknowledged.
func (t *tracker) waitIdle(ctx context.Context) error {
	for {
		t.mu.Lock()
		idle := len(t.open) == 0
		ch := t.changed
		t.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
