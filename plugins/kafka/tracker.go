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
// At most limit offsets are tracked at once: Reserve blocks the partition's
// reader until the oldest ones are acknowledged (checkpoint_limit).
type partitionTracker struct {
	slots chan struct{} // one token per tracked offset

	mu      sync.Mutex
	pending []pendingOffset // ascending offsets, acked or not, not yet released
	closed  bool            // the claim ended: acks no longer mark anything
	mark    func(next int64)
	drained chan struct{} // closed when pending becomes empty; replaced on Track
}

type pendingOffset struct {
	offset int64
	acked  bool
}

// newPartitionTracker returns a tracker allowing limit offsets in flight.
// mark is called, under the tracker's lock, with the offset to commit next
// (the last released offset + 1), as Kafka expects.
func newPartitionTracker(limit int, mark func(next int64)) *partitionTracker {
	d := make(chan struct{})
	close(d)
	return &partitionTracker{slots: make(chan struct{}, limit), mark: mark, drained: d}
}

// Reserve takes a slot for one more message, waiting while limit messages
// are unreleased. It fails only when ctx ends.
func (t *partitionTracker) Reserve(ctx context.Context) error {
	select {
	case t.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Track records offset (greater than every tracked one) as in flight. A slot
// must have been reserved for it.
func (t *partitionTracker) Track(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		t.drained = make(chan struct{})
	}
	t.pending = append(t.pending, pendingOffset{offset: offset})
}

// Untrack forgets offset, the newest tracked one, when it could not be
// handed downstream after all (the claim ended first).
func (t *partitionTracker) Untrack(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.pending); n > 0 && t.pending[n-1].offset == offset {
		t.pending = t.pending[:n-1]
		<-t.slots
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
	t.pending = append(t.pending[:0], t.pending[n:]...)
	for range n {
		<-t.slots
	}
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
