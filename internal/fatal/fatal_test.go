package fatal

import (
	"context"
	"errors"
	"testing"
)

func TestStopRecordsAndCancels(t *testing.T) {
	t.Cleanup(Reset)
	Reset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	SetCancel(cancel)
	if Stopped() || Err() != nil {
		t.Fatal("stopped before Stop")
	}
	Stop(nil)
	if Stopped() {
		t.Fatal("Stop(nil) recorded an error")
	}
	first := errors.New("kis: acct_number is required")
	Stop(first)
	Stop(errors.New("kis: acct_number is required")) // same text: once
	Stop(errors.New("state cache: cannot write key"))
	if ctx.Err() == nil {
		t.Fatal("Stop did not cancel the run context")
	}
	if got := Errs(); len(got) != 2 || got[0] != first {
		t.Fatalf("Errs() = %v, want the two distinct errors, first first", got)
	}
	if Err() != first {
		t.Fatalf("Err() = %v, want %v", Err(), first)
	}
}

type countLog struct{ n int }

func (c *countLog) Errorf(string, ...any) { c.n++ }

func TestLatchKeepsTheFirstError(t *testing.T) {
	Reset()
	t.Cleanup(Reset)
	var l Latch
	if l.Err() != nil {
		t.Fatal("a new latch holds an error")
	}
	log := &countLog{}
	first, second := errors.New("kis: code 40000 缺少参数pid"), errors.New("later")
	if got := l.Stop(log, first); got != first {
		t.Fatalf("Stop returned %v, want the first error", got)
	}
	if got := l.Stop(log, second); got != first || l.Err() != first {
		t.Fatalf("after a second Stop: returned %v, Err %v; want the first error", got, l.Err())
	}
	if log.n != 1 {
		t.Errorf("logged %d times, want once", log.n)
	}
	if Err() != first {
		t.Errorf("the process stop holds %v, want the latch's first error", Err())
	}
}
