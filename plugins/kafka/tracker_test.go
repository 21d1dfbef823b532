package kafka

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestPartitionTrackerMarksOnlyContiguousAcks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		offsets []int64
		acks    []int64
		marks   []int64 // next offsets marked, in order
		left    int     // unreleased at Close
	}{
		{"in order", []int64{0, 1, 2}, []int64{0, 1, 2}, []int64{1, 2, 3}, 0},
		{"out of order waits for the gap", []int64{0, 1, 2}, []int64{1, 2, 0}, []int64{3}, 0},
		{"a missing ack holds everything after it", []int64{0, 1, 2, 3}, []int64{0, 2, 3}, []int64{1}, 3},
		{"gaps in offsets (compaction)", []int64{5, 9, 10}, []int64{9, 5, 10}, []int64{10, 11}, 0},
		{"duplicate and unknown acks are ignored", []int64{0, 1}, []int64{7, 0, 0, 1}, []int64{1, 2}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var marks []int64
			tr := newPartitionTracker(len(tc.offsets), func(next int64) { marks = append(marks, next) })
			for _, o := range tc.offsets {
				if err := tr.Reserve(context.Background()); err != nil {
					t.Fatal(err)
				}
				tr.Track(o)
			}
			for _, a := range tc.acks {
				tr.Ack(a)
			}
			if !slices.Equal(marks, tc.marks) {
				t.Fatalf("marks %v; want %v", marks, tc.marks)
			}
			if left := tr.Close(); left != tc.left {
				t.Fatalf("unreleased at close: %d; want %d", left, tc.left)
			}
		})
	}
}

func TestPartitionTrackerIgnoresAcksAfterClose(t *testing.T) {
	var marks []int64
	tr := newPartitionTracker(4, func(next int64) { marks = append(marks, next) })
	_ = tr.Reserve(context.Background())
	tr.Track(0)
	tr.Close()
	tr.Ack(0)
	if len(marks) != 0 {
		t.Fatalf("marked %v after the claim ended; the partition may have a new owner", marks)
	}
}

func TestPartitionTrackerLimitAndDrain(t *testing.T) {
	tr := newPartitionTracker(2, func(int64) {})
	ctx := context.Background()
	for o := range int64(2) {
		if err := tr.Reserve(ctx); err != nil {
			t.Fatal(err)
		}
		tr.Track(o)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := tr.Reserve(short); err == nil {
		t.Fatal("a third reservation succeeded with a limit of 2")
	}
	select {
	case <-tr.Drained():
		t.Fatal("drained with 2 in flight")
	default:
	}
	tr.Ack(1) // behind 0: frees nothing
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if err := tr.Reserve(short2); err == nil {
		t.Fatal("an ack behind an unacked offset freed a slot")
	}
	tr.Ack(0)
	select {
	case <-tr.Drained():
	default:
		t.Fatal("not drained after every offset was acked")
	}
	if err := tr.Reserve(ctx); err != nil {
		t.Fatal(err)
	}
	tr.Track(2)
	tr.Untrack(2)
	select {
	case <-tr.Drained():
	default:
		t.Fatal("not drained after the only tracked offset was untracked")
	}
}
