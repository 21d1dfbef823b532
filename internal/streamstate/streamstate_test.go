package streamstate

import (
	"errors"
	"testing"
	"time"
)

func TestResetOfARunningInputWaitsForItsNextWindow(t *testing.T) {
	Reset()
	in := RegisterInput("jushuitan", "/x", "checkpoints", "k")
	in.Window(time.Now())
	wake := in.Wake()
	cp := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	stored, err := in.RequestReset(cp)
	if err != nil || stored {
		t.Fatalf("reset of a running input: stored %v, %v", stored, err)
	}
	select {
	case <-wake:
	default:
		t.Error("a waiting input is not woken")
	}
	if s := in.Snapshot(); s.ResetPending == nil || !s.ResetPending.Equal(cp) {
		t.Errorf("pending %v", s.ResetPending)
	}
	got, ok := in.TakeReset()
	if !ok || !got.Equal(cp) {
		t.Errorf("TakeReset %v %v", got, ok)
	}
	if _, ok := in.TakeReset(); ok {
		t.Error("a reset is taken twice")
	}
}

func TestResetOfAFinishedInputIsStored(t *testing.T) {
	Reset()
	in := RegisterInput("wdt", "/y", "checkpoints", "k2")
	var got time.Time
	in.Store = func(cp time.Time) error { got = cp; return nil }
	in.SetState(StateFinished)
	cp := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	if stored, err := in.RequestReset(cp); err != nil || !stored || !got.Equal(cp) {
		t.Fatalf("stored %v, %v, store got %v", stored, err, got)
	}
	if s := in.Snapshot(); s.ResetPending != nil || s.Checkpoint == nil || !s.Checkpoint.Equal(cp) {
		t.Errorf("snapshot %+v", s)
	}
	in.Store = func(time.Time) error { return errors.New("disk full") }
	if _, err := in.RequestReset(cp); err == nil {
		t.Error("a failed store is no error")
	}
	in.Store = nil
	if _, err := in.RequestReset(cp); err == nil {
		t.Error("an input without a checkpoint accepts a reset")
	}
}

func TestRegistriesKeepStreamsApart(t *testing.T) {
	Reset()
	a := RegisterTarget("s1", "k3cloud:SAL_OUTSTOCK")
	if RegisterTarget("s1", "k3cloud:SAL_OUTSTOCK") != a {
		t.Error("the same target registered twice gets two counters")
	}
	a.Count(2, 1, 3, 0, 0, time.Now())
	RegisterTarget("s2", "kis").Count(5, 0, 0, 1, 0, time.Now())
	if ts := Targets("s1"); len(ts) != 1 || ts[0].Snapshot().Written != 2 || ts[0].Snapshot().Skipped != 3 {
		t.Errorf("s1 targets %+v", ts)
	}
	for _, id := range []string{"a", "b", "c", "d", "a"} {
		RegisterDeadLetters(Table{Stream: "s1", DSN: "d", Table: "t"}).Recorded(id)
	}
	RegisterDeadLetters(Table{Stream: "s1", DSN: "d", Table: "t"}).Resolved(1)
	if r, s := DeadLetterCounts("s1"); r != 4 || s != 1 {
		t.Errorf("s1 dead letters %d %d", r, s)
	}
	if r, _ := DeadLetterCounts("s2"); r != 0 {
		t.Errorf("s2 dead letters %d", r)
	}
	if len(DeadLetterTables()["s1"]) != 1 {
		t.Errorf("tables %v", DeadLetterTables())
	}
	MarkResolves("s1")
	if !Resolves("s1") || Resolves("s2") {
		t.Error("resolvers mixed up")
	}
	// A restarted input replaces the old one of the same checkpoint.
	RegisterInput("v", "/a", "c", "k")
	RegisterInput("v", "/a", "c", "k")
	if n := len(Inputs()); n != 1 {
		t.Errorf("%d inputs", n)
	}
}
