package poll

import (
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/fatal"
)

// TestCheckpointStoreFailureStops: a checkpoint that cannot be stored stops
// the input before it reads further (a restart would otherwise re-read
// everything delivered since) and stops the process through
// internal/fatal, with an error naming the cache, the key and the cause.
func TestCheckpointStoreFailureStops(t *testing.T) {
	fatal.Reset()
	t.Cleanup(fatal.Reset)
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(700, clock)
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	e := newEngine(t, f, clock, res, 0)
	// The checkpoint was loaded; from now on it cannot be stored.
	e.o.CheckpointCache = "gone"
	got := drain(t, e)
	if len(got) == 0 || len(got) >= 700 {
		t.Fatalf("%d documents delivered, want some (the first window) and not all 700", len(got))
	}
	err := e.Err()
	if err == nil {
		t.Fatal("the input did not stop")
	}
	for _, want := range []string{"fake /list: cannot store the checkpoint", `cache "gone"`, `key "fake"`, "ERPSYNC_STATE_DIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if errs := fatal.Errs(); len(errs) != 1 || errs[0] != err {
		t.Errorf("fatal.Errs() = %v, want the input's error", errs)
	}
}
