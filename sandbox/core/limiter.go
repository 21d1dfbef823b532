package core

import (
	"sync"
	"time"
)

// Rule is one published rate limit: at most N calls per Per.
type Rule struct {
	N   int
	Per time.Duration
}

// Limiter enforces several rules per key (an app key, a corp id).
//
// Vendors do not publish how they count; the sandbox models each rule as a
// token bucket holding N tokens and refilled at N per Per. A client that
// never sends more than N calls within any Per stays within it. This is the
// one place to change if a vendor turns out to count with fixed windows.
type Limiter struct {
	rules []Rule
	mu    sync.Mutex
	state map[string][]bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter enforcing every rule.
func NewLimiter(rules ...Rule) *Limiter {
	return &Limiter{rules: rules, state: map[string][]bucket{}}
}

// Allow takes one call for key at now. It returns -1 when the call is
// allowed, or the index of the first rule it breaks (no token is taken then).
func (l *Limiter) Allow(key string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs, ok := l.state[key]
	if !ok {
		bs = make([]bucket, len(l.rules))
		for i, r := range l.rules {
			bs[i] = bucket{tokens: float64(r.N), last: now}
		}
		l.state[key] = bs
	}
	for i, r := range l.rules {
		b := &bs[i]
		if el := now.Sub(b.last); el > 0 {
			b.tokens += float64(r.N) * float64(el) / float64(r.Per)
			if b.tokens > float64(r.N) {
				b.tokens = float64(r.N)
			}
			b.last = now
		}
	}
	for i := range l.rules {
		if bs[i].tokens < 1 {
			return i
		}
	}
	for i := range l.rules {
		bs[i].tokens--
	}
	return -1
}

// Reset forgets all keys.
func (l *Limiter) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state = map[string][]bucket{}
}
