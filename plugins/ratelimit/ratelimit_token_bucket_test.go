package ratelimit

import (
	"context"
	"github.com/erpsync/erpsync/sandbox/core"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// drive calls Access like the poll engine does, waiting what it says, and
// returns the times calls were allowed.
func drive(t *testing.T, tb *TokenBucket, c *clock, n int) []time.Time {
	t.Helper()
	var out []time.Time
	for len(out) < n {
		d, err := tb.Access(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d == 0 {
			out = append(out, c.t)
			continue
		}
		c.t = c.t.Add(d)
	}
	return out
}

func TestTokenBucketNeverExceedsAnyLimit(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	tb, err := NewTokenBucket([]Limit{{5, time.Second}, {100, time.Minute}}, 0.02, 1, c.now)
	if err != nil {
		t.Fatal(err)
	}
	calls := drive(t, tb, c, 400)
	for _, l := range []Limit{{5, time.Second}, {100, time.Minute}} {
		// every sliding window of length interval holds at most count calls
		for i := range calls {
			j := i
			for j < len(calls) && calls[j].Sub(calls[i]) < l.Interval {
				j++
			}
			// a burst of count plus the refill during the window
			max := l.Count + int(float64(l.Count)*0.98*float64(calls[j-1].Sub(calls[i]))/float64(l.Interval))
			if j-i > max {
				t.Fatalf("%d calls within %s starting at call %d, limit allows %d", j-i, l.Interval, i, max)
			}
		}
	}
	// Sustained rate: at least 90% of 100/min once the bursts are spent.
	el := calls[399].Sub(calls[200])
	rate := float64(199) / el.Minutes()
	if rate < 90 || rate > 100 {
		t.Fatalf("sustained rate %.1f/min, want 90..100", rate)
	}
}

func TestTokenBucketRejectsBadLimits(t *testing.T) {
	for _, tc := range []struct {
		limits   []Limit
		headroom float64
	}{
		{nil, 0},
		{[]Limit{{0, time.Second}}, 0},
		{[]Limit{{1, 0}}, 0},
		{[]Limit{{1, time.Second}}, 1},
	} {
		if _, err := NewTokenBucket(tc.limits, tc.headroom, 0, nil); err == nil {
			t.Errorf("%+v headroom %v accepted", tc.limits, tc.headroom)
		}
	}
}

// TestReserveAbsorbsLateCalls: a granted call that reaches the vendor late,
// followed by one that does not, looks to the vendor like two calls closer
// together than granted. With the default reserve the vendor's own bucket
// (the sandbox's model) never refuses; with none it does.
func TestReserveAbsorbsLateCalls(t *testing.T) {
	for _, tc := range []struct {
		reserve     int
		wantRefused bool
	}{{1, false}, {0, true}} {
		c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		tb, err := NewTokenBucket([]Limit{{5, time.Second}}, 0.02, tc.reserve, c.now)
		if err != nil {
			t.Fatal(err)
		}
		vendor := core.NewLimiter(core.Rule{N: 5, Per: time.Second})
		refused := false
		for i, at := range drive(t, tb, c, 60) {
			// every third call is delayed 150 ms on its way
			arrive := at
			if i%3 == 0 {
				arrive = at.Add(150 * time.Millisecond)
			}
			if vendor.Allow("app", arrive) != -1 {
				refused = true
			}
		}
		if refused != tc.wantRefused {
			t.Errorf("reserve %d: vendor refused a call = %v, want %v", tc.reserve, refused, tc.wantRefused)
		}
	}
}
