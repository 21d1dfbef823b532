package kafka

import (
	"context"
	"sort"
	"sync"
)

// partitionTracker keeps the offsets of one claimed partition that were
// handed downstream and not yet checkpointed, in the order they were read.
// Only the contiguous acknowledged prefix is ever released for marking, so a
// commit never passes a message that is still in flight or was nacked.
//
// At most limit records are tracked at once: Reserve blocks the partition's
// reader until the oldest ones are acknowledged (checkpoint_limit). A batch
// is one tracked entry, its last offset, weighing as many records as it
// holds; a batch larger than limit is let through alone once nothing else
// is in flight, as Redpanda Connect does.
type partitionTracker struct {
	limit int

	mu      sync.Mutex
	used    int             // records reserved (tracked or about to be)
	freed   chan struct{}   // closed and replaced whenever used goes down
	pending []pendingOffset // ascending offsets, acked or not, not yet released
	closed  bool            // the claim ended: acks no longer mark anything
	mark    func(next int64)
	drained chan struct{} // closed when pending becomes empty; replaced on Track
}

type pendingOffset struct {
	offset int64
	n      int // records this entry stands for
	acked  bool
}

// newPartitionTracker returns a tracker allowing limit offsets in flight.
// mark is called, under the tracker's lock, with the offset to commit next
// (the last released offset + 1), as Kafka expects.
func newPartitionTracker(limit int, mark func(next int64)) *partitionTracker {
	d := make(chan struct{})
	close(d)
	return &partitionTracker{limit: max(limit, 1), mark: mark, drained: d, freed: make(chan struct{})}
}

// Reserve takes a slot for one more message; see ReserveN.
func (t *partitionTracker) Reserve(ctx context.Context) error { return t.ReserveN(ctx, 1) }

// ReserveN takes n slots, waiting while they would take the records in
// flight above limit (unless nothing is in flight). It fails only when ctx
// ends.
func (t *partitionTracker) ReserveN(ctx context.Context, n int) error {
	for {
		t.mu.Lock()
		if t.used == 0 || t.used+n <= t.limit {
			t.used += n
			t.mu.Unlock()
			return nil
		}
		ch := t.freed
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives n slots back; t.mu is held.
func (t *partitionTracker) release(n int) {
	if n == 0 {
		return
	}
	t.used -= n
	close(t.freed)
	t.freed = make(chan struct{})
}

// Track records offset (greater than every tracked one) as in flight. A slot
// must have been reserved for it.
func (t *partitionTracker) Track(offset int64) { t.TrackN(offset, 1) }

// TrackN records a batch ending at offset and holding n records as in
// flight; n slots must have been reserved for it.
func (t *partitionTracker) TrackN(offset int64, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		t.drained = make(chan struct{})
	}
	t.pending = append(t.pending, pendingOffset{offset: offset, n: n})
}

// Untrack forgets offset, the newest tracked one, when it could not be
// handed downstream after all (the claim ended first).
func (t *partitionTracker) Untrack(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.pending); n > 0 && t.pending[n-1].offset == offset {
		t.release(t.pending[n-1].n)
		t.pending = t.pending[:n-1]
		t.signalIfDrained()
	}
}

// Ack records that offset was delivered. When it completes a contiguous
// acknowledged prefix, that prefix is released and the next offset to commit
// is marked. Acks after Close are ignored: the partition may belong to
// another consumer by then, which will redeliver them.
func (t *partitionTracker) Ack(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	i := sort.Search(len(t.pending), func(i int) bool { return t.pending[i].offset >= offset })
	if i == len(t.pending) || t.pending[i].offset != offset {
		return
	}
	t.pending[i].acked = true
	n := 0
	for n < len(t.pending) && t.pending[n].acked {
		n++
	}
	if n == 0 {
		return
	}
	t.mark(t.pending[n-1].offset + 1)
	freed := 0
	for _, p := range t.pending[:n] {
		freed += p.n
	}
	t.release(freed)
	t.pending = append(t.pending[:0], t.pending[n:]...)
	t.signalIfDrained()
}

func (t *partitionTracker) signalIfDrained() {
	if len(t.pending) == 0 {
		select {
		case <-t.drained:
		default:
			close(t.drained)
		}
	}
}

// Drained is closed once nothing is in flight.
func (t *partitionTracker) Drained() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.drained
}

// Close stops marking; it returns how many messages were still unreleased
// (in flight, nacked, or acked behind one of those).
func (t *partitionTracker) Close() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	return len(t.pending)
}
