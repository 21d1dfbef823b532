// Package ratelimit provides the rate_limit `token_bucket`, which enforces
// several published vendor limits at once (Jushuitan: 5 calls a second AND
// 100 a minute), so streams sharing one vendor account stay inside all of them.
package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	tbFieldLimits   = "limits"
	tbFieldCount    = "count"
	tbFieldInterval = "interval"
	tbFieldHeadroom = "headroom"
	tbFieldReserve  = "reserve"
)

func tokenBucketSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Summary("A rate limit holding one token bucket per published vendor limit; a call may go when every bucket has a token.").
		Description(`
Vendors publish limits such as "5 calls per second and 100 per minute" per app. Benthos's `+"`local`"+`
rate limit refills `+"`count`"+` tokens at once every `+"`interval`"+`, which allows 2×count calls around a
boundary and cannot express two limits together. Each bucket here holds at most `+"`count`"+` tokens and
refills continuously at count per interval: a burst of at most `+"`count`"+` calls, then a steady
count per interval. That is how the vendors' own counters behave as far as is known (the
sandbox models them the same way); a vendor counting strictly per sliding window would need
`+"`count`"+` halved. `+"`headroom`"+` refills slightly slower than the published rate, to absorb network jitter
between this process and the vendor's own counter.

Share one resource between every stream of one vendor account.`).
		Fields(
			service.NewObjectListField(tbFieldLimits,
				service.NewIntField(tbFieldCount).Description("Calls allowed per interval."),
				service.NewDurationField(tbFieldInterval).Description("The interval of the limit."),
			).Description("The published limits, all enforced together."),
			service.NewFloatField(tbFieldHeadroom).
				Description("Share of the published rate kept unused (0.02 refills at 98%).").
				Default(0.02),
			service.NewIntField(tbFieldReserve).
				Description("Tokens of each bucket never used for a burst. A call granted here may reach the vendor a little later than the next one (scheduling, connection set-up), which the vendor counts as two calls closer together; one spare token absorbs a delay of up to one refill interval (200 ms at 5 calls a second). Buckets of one token keep that token.").
				Default(1).Advanced(),
		).
		Example("Jushuitan", "5 calls a second and 100 a minute per app and merchant.", `
rate_limit_resources:
  - label: jushuitan_account
    token_bucket:
      limits:
        - { count: 5, interval: 1s }
        - { count: 100, interval: 1m }
`)
}

// Limit is one published limit.
type Limit struct {
	Count    int
	Interval time.Duration
}

// TokenBucket enforces every limit at once.
type TokenBucket struct {
	mu       sync.Mutex
	limits   []Limit
	rate     float64 // share of the published refill rate used
	capacity []float64
	tokens   []float64
	last     time.Time
	now      func() time.Time
	waiting  time.Duration
}

// NewTokenBucket builds a limiter with full buckets; reserve tokens of each
// bucket are never used (see the reserve field).
func NewTokenBucket(limits []Limit, headroom float64, reserve int, now func() time.Time) (*TokenBucket, error) {
	if len(limits) == 0 {
		return nil, fmt.Errorf("token_bucket: at least one limit is required")
	}
	if headroom < 0 || headroom >= 1 {
		return nil, fmt.Errorf("token_bucket: headroom must be in [0, 1), got %v", headroom)
	}
	for i, l := range limits {
		if l.Count <= 0 || l.Interval <= 0 {
			return nil, fmt.Errorf("token_bucket: limits[%d] needs a positive count and interval", i)
		}
	}
	if now == nil {
		now = time.Now
	}
	if reserve < 0 {
		return nil, fmt.Errorf("token_bucket: reserve must not be negative")
	}
	tb := &TokenBucket{limits: make([]Limit, len(limits)), rate: 1 - headroom, tokens: make([]float64, len(limits)), now: now}
	for i, l := range limits {
		// The reserve shrinks the bucket, not the refill rate.
		tb.limits[i] = l
		tb.capacity = append(tb.capacity, float64(max(1, l.Count-reserve)))
		tb.tokens[i] = tb.capacity[i]
	}
	tb.last = now()
	return tb, nil
}

// Access takes a token from every bucket, or returns how long to wait
// before the next try.
func (tb *TokenBucket) Access(context.Context) (time.Duration, error) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	now := tb.now()
	if el := now.Sub(tb.last); el > 0 {
		for i, l := range tb.limits {
			tb.tokens[i] += tb.refill(l, el)
			if tb.tokens[i] > tb.capacity[i] {
				tb.tokens[i] = tb.capacity[i]
			}
		}
		tb.last = now
	}
	var wait time.Duration
	for i, l := range tb.limits {
		if tb.tokens[i] < 1 {
			per := float64(l.Interval) / (float64(l.Count) * tb.rate)
			if d := time.Duration((1 - tb.tokens[i]) * per); d > wait {
				wait = d
			}
		}
	}
	if wait > 0 {
		// Round up so the caller does not come back a hair too early.
		return wait + time.Millisecond, nil
	}
	for i := range tb.tokens {
		tb.tokens[i]--
	}
	return 0, nil
}

func (tb *TokenBucket) refill(l Limit, el time.Duration) float64 {
	return float64(l.Count) * tb.rate * float64(el) / float64(l.Interval)
}

// Close releases nothing.
func (tb *TokenBucket) Close(context.Context) error { return nil }

func newTokenBucketFromParsed(conf *service.ParsedConfig) (*TokenBucket, error) {
	objs, err := conf.FieldObjectList(tbFieldLimits)
	if err != nil {
		return nil, err
	}
	limits := make([]Limit, 0, len(objs))
	for _, o := range objs {
		var l Limit
		if l.Count, err = o.FieldInt(tbFieldCount); err != nil {
			return nil, err
		}
		if l.Interval, err = o.FieldDuration(tbFieldInterval); err != nil {
			return nil, err
		}
		limits = append(limits, l)
	}
	headroom, err := conf.FieldFloat(tbFieldHeadroom)
	if err != nil {
		return nil, err
	}
	reserve, err := conf.FieldInt(tbFieldReserve)
	if err != nil {
		return nil, err
	}
	return NewTokenBucket(limits, headroom, reserve, nil)
}

func init() {
	service.MustRegisterRateLimit("token_bucket", tokenBucketSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.RateLimit, error) {
			return newTokenBucketFromParsed(conf)
		})
}
