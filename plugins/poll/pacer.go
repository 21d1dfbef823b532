package poll

import (
	"context"
	"sync"
	"time"
)

// pacer holds a pause shared by every engine that draws on the same vendor
// account (the same rate_limit resource): when one stream gets a rate-limit
// answer, all of them wait instead of hammering the vendor.
type pacer struct {
	mu    sync.Mutex
	until time.Time
}

var (
	pacersMu sync.Mutex
	pacers   = map[string]*pacer{}
)

func sharedPacer(key string) *pacer {
	pacersMu.Lock()
	defer pacersMu.Unlock()
	p, ok := pacers[key]
	if !ok {
		p = &pacer{}
		pacers[key] = p
	}
	return p
}

func (p *pacer) pause(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.until) {
		p.until = until
	}
}

func (p *pacer) wait(ctx context.Context, now func() time.Time) error {
	p.mu.Lock()
	d := p.until.Sub(now())
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	return sleepCtx(ctx, d)
}
