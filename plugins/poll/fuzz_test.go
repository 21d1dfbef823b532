package poll

import (
	"testing"
	"time"
)

// FuzzNextWindow checks the planner's promises on any input: a window is
// never empty or inverted, never longer than max_span, never closes after
// now-lag, and always moves past the previous end.
func FuzzNextWindow(f *testing.F) {
	f.Add(int64(0), int64(86400), int64(600), int64(60), int64(3*86400), int64(5*86400))
	f.Add(int64(1000), int64(1), int64(0), int64(0), int64(1000), int64(1001))
	f.Add(int64(-5), int64(3600), int64(3599), int64(0), int64(-5), int64(1<<40))
	f.Fuzz(func(t *testing.T, start, span, lookback, lag, prev, now int64) {
		c := WindowConfig{
			Start:    time.Unix(start%(1<<40), 0),
			MaxSpan:  time.Duration(span%(1<<30)) * time.Second,
			Lookback: time.Duration(lookback%(1<<30)) * time.Second,
			Lag:      time.Duration(lag%(1<<30)) * time.Second,
		}
		if c.Validate(0) != nil {
			return
		}
		prevEnd := time.Unix(prev%(1<<40), 0)
		if prevEnd.Before(c.Start) {
			prevEnd = c.Start
		}
		nowT := time.Unix(now%(1<<40), 0)
		w, ok := NextWindow(c, prevEnd, nowT)
		if !ok {
			return
		}
		switch {
		case !w.End.After(w.Start):
			t.Fatalf("empty or inverted window %v for prev %v now %v cfg %+v", w, prevEnd, nowT, c)
		case w.End.Sub(w.Start) > c.MaxSpan:
			t.Fatalf("window %v longer than max_span %s", w, c.MaxSpan)
		case w.End.After(nowT.Add(-c.Lag)):
			t.Fatalf("window %v closes after now-lag %v", w, nowT.Add(-c.Lag))
		case !w.End.After(prevEnd):
			t.Fatalf("window %v does not move past %v", w, prevEnd)
		case w.Start.Before(c.Start):
			t.Fatalf("window %v starts before window.start %v", w, c.Start)
		}
	})
}
