package core

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"time"
)

// HashUnit maps (seed, parts) to a number in [0, 1), deterministically.
func HashUnit(seed uint64, parts ...string) float64 {
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%d", seed)
	for _, p := range parts {
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(p))
	}
	// FNV alone barely changes its high bits when only the last characters
	// of a key differ (sequential bill numbers); the splitmix64 finaliser
	// spreads every input bit over the whole word.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / float64(1<<53)
}

// NewRand returns a generator determined by the seed and a stream name, so
// each dataset is the same for a seed whatever else was generated.
func NewRand(seed uint64, stream string) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(stream))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// SpreadTimes returns n times spread over the span before end, ascending,
// whole seconds. Generated documents use the 30 days before the sandbox
// started.
func SpreadTimes(r *rand.Rand, n int, end time.Time, span time.Duration) []time.Time {
	out := make([]time.Time, n)
	secs := int64(span / time.Second)
	for i := range out {
		out[i] = end.Add(-time.Duration(1+r.Int64N(secs)) * time.Second).Truncate(time.Second)
	}
	// insertion order by time keeps ids and times loosely correlated, as real data is
	sortTimes(out)
	return out
}

func sortTimes(ts []time.Time) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
}

// Pick returns one element of xs.
func Pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// DataSpan is how far back generated modified times reach.
const DataSpan = 30 * 24 * time.Hour
