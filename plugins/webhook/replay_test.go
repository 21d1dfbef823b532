package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func key(i int) string {
	s := sha256.Sum256([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(s[:])
}

func openStore(t *testing.T, path string, window time.Duration, c *clock) *FileStore {
	t.Helper()
	var now func() time.Time
	if c != nil {
		now = c.now
	}
	s, err := OpenFileStore(path, window, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func fileLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func TestFileStoreKeepsTheWindowAcrossARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "replays.log") // the folder is created
	ts := time.Now().Unix()
	s := openStore(t, path, 5*time.Minute, nil)
	if err := s.Add(ctx, key(1), ts); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, key(1), ts); !errors.Is(err, ErrReplay) {
		t.Fatalf("second add: %v, want ErrReplay", err)
	}
	if err := s.Add(ctx, key(2), ts); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(ctx, key(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, path, 5*time.Minute, nil)
	if err := s.Add(ctx, key(1), ts); !errors.Is(err, ErrReplay) {
		t.Fatalf("after the restart: %v, want ErrReplay", err)
	}
	if err := s.Add(ctx, key(2), ts); err != nil {
		t.Fatalf("a forgotten key after the restart: %v, want accepted", err)
	}
}

// What Add leaves on disk is enough: a copy of the file taken while the
// store is still open (as a SIGKILL would leave it) holds the window.
func TestFileStoreRecordIsOnDiskWhenAddReturns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "replays.log")
	ts := time.Now().Unix()
	s := openStore(t, path, 5*time.Minute, nil)
	for i := range 3 {
		if err := s.Add(ctx, key(i), ts); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(dir, "crashed.log")
	if err := os.WriteFile(crashed, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c := openStore(t, crashed, 5*time.Minute, nil)
	for i := range 3 {
		if err := c.Add(ctx, key(i), ts); !errors.Is(err, ErrReplay) {
			t.Fatalf("key %d after the crash: %v, want ErrReplay", i, err)
		}
	}
	if c.Len() != 3 {
		t.Fatalf("%d entries, want 3", c.Len())
	}
}

func TestFileStoreReadsAFileCutShort(t *testing.T) {
	ctx := context.Background()
	ts := time.Now().Unix()
	path := filepath.Join(t.TempDir(), "replays.log")
	whole := "+ " + strconv.FormatInt(ts, 10) + " " + key(1) + "\n"
	for _, tc := range []struct {
		name    string
		content string
		skipped int
	}{
		{"last record cut short", whole + "+ " + strconv.FormatInt(ts, 10) + " " + key(2)[:20], 0},
		{"last record without its newline", whole + "+ " + strconv.FormatInt(ts, 10) + " " + key(2), 0},
		{"garbage in the middle", "garbage\n" + whole + "+ x " + key(2) + "\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := OpenFileStore(path, 5*time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Skipped() != tc.skipped || s.Len() != 1 {
				t.Fatalf("skipped %d, entries %d; want %d, 1", s.Skipped(), s.Len(), tc.skipped)
			}
			if err := s.Add(ctx, key(1), ts); !errors.Is(err, ErrReplay) {
				t.Fatalf("key 1: %v, want ErrReplay", err)
			}
			// The cut record's request was never answered 202: its retry is accepted.
			if err := s.Add(ctx, key(2), ts); err != nil {
				t.Fatalf("key 2: %v", err)
			}
			_ = s.Close(ctx)
			// The rewrite left a clean file behind the cut.
			s, err = OpenFileStore(path, 5*time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx)
			if s.Skipped() != 0 || s.Len() != 2 {
				t.Fatalf("reopened: skipped %d, entries %d; want 0, 2", s.Skipped(), s.Len())
			}
		})
	}
}

// Entries whose timestamp left the window are dropped, and the file is
// rewritten: its size follows the requests of one window, not all time.
func TestFileStoreIsBounded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "replays.log")
	const window = time.Minute
	t0 := time.Unix(1717207200, 0)
	c := &clock{t: t0}
	s := openStore(t, path, window, c)
	s.slack = 64 // a smaller slack, so that a short test shows the bound

	const perSecond = 2
	maxLines, maxLen := 0, 0
	next := 0
	// Ten windows of steady traffic.
	for sec := int64(0); sec < 600; sec++ {
		now := t0.Unix() + sec
		c.set(time.Unix(now, 0))
		for range perSecond {
			if err := s.Add(ctx, key(next), now); err != nil {
				t.Fatalf("add %d: %v", next, err)
			}
			next++
		}
		maxLines = max(maxLines, fileLines(t, path))
		maxLen = max(maxLen, s.Len())
	}
	// A window holds 61 seconds of requests; a sweep runs every quarter window.
	if limit := perSecond * (61 + 15 + 1); maxLen > limit {
		t.Fatalf("%d entries in memory at most, want at most %d", maxLen, limit)
	}
	if limit := 2*maxLen + s.slack + 1; maxLines > limit {
		t.Fatalf("the file grew to %d records, want at most %d", maxLines, limit)
	}
	if total := next; maxLines >= total/2 {
		t.Fatalf("the file kept %d of %d records: not pruned", maxLines, total)
	}

	// Long after the traffic, one request sweeps the rest away.
	later := t0.Unix() + 600 + 120
	c.set(time.Unix(later, 0))
	if err := s.Add(ctx, key(-1), later); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("%d entries after the window passed, want 1", s.Len())
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, path, window, c)
	if n := fileLines(t, path); n != 1 || s.Len() != 1 {
		t.Fatalf("reopened: %d records, %d entries; want 1", n, s.Len())
	}
	// A dropped entry is not accepted again: its timestamp refuses it.
	if err := s.Add(ctx, key(0), t0.Unix()); !errors.Is(err, ErrStale) {
		t.Fatalf("a pruned request: %v, want ErrStale", err)
	}
}

// A sweep at time T dropped what was stale at T: when the clock then steps
// back, those requests must still be refused, or a replay slips through.
func TestFileStoreClockSteppingBack(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1717207200, 0)
	c := &clock{t: t0}
	s := openStore(t, filepath.Join(t.TempDir(), "replays.log"), time.Minute, c)
	if err := s.Add(ctx, key(1), t0.Unix()); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(2 * time.Minute))
	if err := s.Add(ctx, key(2), t0.Add(2*time.Minute).Unix()); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("%d entries, want key 1 swept", s.Len())
	}
	c.set(t0.Add(30 * time.Second))
	if err := s.Add(ctx, key(1), t0.Unix()); err == nil {
		t.Fatal("a swept request was accepted again after the clock stepped back")
	}
}

func TestFileStoreStaleAndInvalid(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "replays.log"), time.Minute, nil)
	now := time.Now().Unix()
	for name, ts := range map[string]int64{"old": now - 120, "ahead": now + 120} {
		if err := s.Add(ctx, key(1), ts); !errors.Is(err, ErrStale) {
			t.Errorf("%s: %v, want ErrStale", name, err)
		}
	}
	for _, k := range []string{"", "not hex", "ab cd", "ab\n+ 1 cd"} {
		if err := s.Add(ctx, k, now); err == nil || errors.Is(err, ErrReplay) {
			t.Errorf("key %q: %v, want refused", k, err)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("%d entries", s.Len())
	}
}

func TestFileStoreOneOpenPerProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "replays.log")
	s := openStore(t, path, time.Minute, nil)
	if other, err := OpenFileStore(path, time.Minute, nil); err == nil {
		_ = other.Close(ctx)
		t.Fatal("the same file opened twice")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, key(1), time.Now().Unix()); err == nil {
		t.Fatal("add on a closed store succeeded")
	}
	again, err := OpenFileStore(path, time.Minute, nil)
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	_ = again.Close(ctx)
}
