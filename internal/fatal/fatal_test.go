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
