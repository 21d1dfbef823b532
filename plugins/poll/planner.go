package poll

import (
	"fmt"
	"time"
)

// Window is an inclusive modified-time range [Start, End].
type Window struct {
	Start, End time.Time
}

// WindowConfig is the user's window section.
type WindowConfig struct {
	Start    time.Time     // where the first run begins when no checkpoint exists
	MaxSpan  time.Duration // longest window one request may cover
	Lookback time.Duration // overlap re-read before the checkpoint
	Lag      time.Duration // how far behind now a window closes
}

// Validate reports impossible settings; vendorMax is the vendor's longest
// allowed span (0: no limit).
func (c WindowConfig) Validate(vendorMax time.Duration) error {
	if c.MaxSpan <= 0 {
		return fmt.Errorf("window.max_span must be positive")
	}
	if vendorMax > 0 && c.MaxSpan > vendorMax {
		return fmt.Errorf("window.max_span %s is above the vendor maximum %s", c.MaxSpan, vendorMax)
	}
	if c.Lookback < 0 || c.Lag < 0 {
		return fmt.Errorf("window.lookback and window.lag must not be negative")
	}
	if c.Lookback >= c.MaxSpan {
		return fmt.Errorf("window.lookback %s must be shorter than window.max_span %s, or windows never advance", c.Lookback, c.MaxSpan)
	}
	return nil
}

// minAdvance is the least a new window must move past the previous end to be
// worth a request; below it the input is caught up.
const minAdvance = time.Second

// NextWindow plans the window after prevEnd (the previous window's end, or
// the resume point) at time now. It returns ok=false when the input is
// caught up: the window would not reach minAdvance past prevEnd.
//
// The window starts lookback before prevEnd, so rows that appear late with
// an older modified time are still seen, and ends at the earlier of
// start+max_span and now-lag.
func NextWindow(c WindowConfig, prevEnd, now time.Time) (Window, bool) {
	limit := now.Add(-c.Lag)
	if limit.Sub(prevEnd) < minAdvance {
		return Window{}, false
	}
	start := prevEnd.Add(-c.Lookback)
	if start.Before(c.Start) && !prevEnd.Before(c.Start) {
		start = c.Start
	}
	end := start.Add(c.MaxSpan)
	if end.After(limit) {
		end = limit
	}
	if !end.After(prevEnd) {
		return Window{}, false
	}
	return Window{Start: start, End: end}, true
}

// RereadWindow is the window a start plans when NextWindow finds the input
// caught up: the lookback before prevEnd up to now-lag, so a restart always
// re-reads the overlap. ok is false when that span is empty or would end
// before prevEnd.
func RereadWindow(c WindowConfig, prevEnd, now time.Time) (Window, bool) {
	limit := now.Add(-c.Lag)
	start := prevEnd.Add(-c.Lookback)
	if start.Before(c.Start) {
		start = c.Start
	}
	end := start.Add(c.MaxSpan)
	if end.After(limit) {
		end = limit
	}
	if !end.After(start) || end.Before(prevEnd) {
		return Window{}, false
	}
	return Window{Start: start, End: end}, true
}

// ResumePoint is where planning starts: the checkpoint when one exists
// (NextWindow subtracts the lookback), else the configured start.
func ResumePoint(c WindowConfig, checkpoint time.Time, has bool) time.Time {
	if has && checkpoint.After(c.Start) {
		return checkpoint
	}
	return c.Start
}
