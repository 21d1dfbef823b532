package core

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Shanghai is the zone every vendor uses for wall-clock times (UTC+8, no DST).
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// VendorTimeLayout is the "yyyy-MM-dd HH:mm:ss" layout the vendors use.
const VendorTimeLayout = "2006-01-02 15:04:05"

// Duration is a time.Duration that reads and writes JSON as "1m30s" (or a
// number of nanoseconds), so faults can be posted as JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts "90s"-style strings and plain nanosecond numbers.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\" or a number of nanoseconds")
	}
	*d = Duration(n)
	return nil
}

// Faults are the knobs that make the sandbox misbehave. Every field may be
// changed at run time through POST /_sandbox/faults.
type Faults struct {
	// ErrorRate is the share of calls answered with HTTP 5xx or an HTML gateway page.
	ErrorRate float64 `json:"error_rate"`
	// TimeoutRate is the share of calls whose answer never comes. Half of
	// them are dropped before the call is served, half after it was served
	// (a write lands but the client never hears of it).
	TimeoutRate float64 `json:"timeout_rate"`
	// TokenTTL is the lifetime of vendor access tokens (Jushuitan, KIS); 0 keeps the default.
	TokenTTL Duration `json:"token_ttl"`
	// SessionTTL is the lifetime of K3Cloud / KIS sessions; 0 keeps the default.
	SessionTTL Duration `json:"session_ttl"`
	// MutateRate is the chance, per page served, that a document inside the
	// queried range is modified (its modified time becomes now), so naive
	// paging by modified time shifts rows between pages.
	MutateRate float64 `json:"mutate_rate"`
	// RowFailRate is the share of written rows (BatchSave, KIS create) that
	// fail validation. Whether a row fails is a pure function of the seed and
	// its number, so a retried bad row fails again and a good row never does.
	RowFailRate float64 `json:"row_fail_rate"`
	// Answers are the answer faults of every list interface (order, null
	// answers, total drift, duplicates, short pages, modified after create).
	Answers AnswerFaults `json:"answers"`
	// Interfaces replace Answers for one list interface, keyed by the name of
	// the dataset it serves (jushuitan_other_inout, jushuitan_skusn,
	// jushuitan_saleout, jushuitan_aftersale_received, jushuitan_purchasein,
	// jushuitan_purchaseout, jushuitan_orders, jushuitan_refunds,
	// jushuitan_inventory, jushuitan_skus, xbb_products,
	// xbb_customers, xbb_contracts,
	// wdt_shops). Env.SetFaults refuses unknown names.
	Interfaces InterfaceFaults `json:"interfaces"`
}

// Validate reports impossible settings.
func (f Faults) Validate() error {
	for name, v := range map[string]float64{
		"error_rate": f.ErrorRate, "timeout_rate": f.TimeoutRate,
		"mutate_rate": f.MutateRate, "row_fail_rate": f.RowFailRate,
	} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s must be between 0 and 1, got %v", name, v)
		}
	}
	if f.TokenTTL < 0 || f.SessionTTL < 0 {
		return fmt.Errorf("token_ttl and session_ttl must not be negative")
	}
	if err := f.Answers.Validate(); err != nil {
		return fmt.Errorf("answers: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(f.Interfaces)) {
		if err := f.Interfaces[name].Validate(); err != nil {
			return fmt.Errorf("interfaces.%s: %w", name, err)
		}
	}
	return nil
}

// Options configure an Env.
type Options struct {
	Seed       uint64
	Records    int
	Limits     bool // enforce vendor rate limits as documented
	Latency    time.Duration
	RowLatency time.Duration
	Faults     Faults
	// Now overrides the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Env is the state shared by all simulators of one sandbox.
type Env struct {
	Seed       uint64
	Records    int
	Limits     bool
	Latency    time.Duration
	RowLatency time.Duration
	Stats      *Stats

	now    func() time.Time
	start  time.Time
	faults atomic.Pointer[Faults]

	rngMu sync.Mutex
	rng   *rand.Rand

	closing chan struct{}
	closeMu sync.Once

	dsMu     sync.RWMutex
	datasets map[string]*Dataset
	targets  map[string]func() int
}

// NewEnv builds an environment. Records defaults to 1000.
func NewEnv(o Options) (*Env, error) {
	if o.Records <= 0 {
		o.Records = 1000
	}
	if err := o.Faults.Validate(); err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	e := &Env{
		Seed: o.Seed, Records: o.Records, Limits: o.Limits,
		Latency: o.Latency, RowLatency: o.RowLatency,
		Stats: NewStats(), now: now, start: now(),
		rng:      rand.New(rand.NewPCG(o.Seed, 0x5eed)),
		closing:  make(chan struct{}),
		datasets: map[string]*Dataset{},
		targets:  map[string]func() int{},
	}
	// Interfaces names are checked by the caller once the simulators
	// registered their datasets (sandbox.New).
	f := o.Faults
	f.Interfaces = maps.Clone(f.Interfaces)
	e.faults.Store(&f)
	return e, nil
}

// Now is the sandbox clock.
func (e *Env) Now() time.Time { return e.now() }

// Start is when the sandbox started; generated data is placed before it.
func (e *Env) Start() time.Time { return e.start }

// Faults returns the faults in force.
func (e *Env) Faults() Faults { return *e.faults.Load() }

// SetFaults replaces the faults in force. Interfaces must name registered
// datasets; the map is copied.
func (e *Env) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if err := f.CheckInterfaces(e.DatasetNames()); err != nil {
		return err
	}
	f.Interfaces = maps.Clone(f.Interfaces)
	e.faults.Store(&f)
	return nil
}

// Chance returns true with probability p, drawn from the sandbox's seeded
// generator. p <= 0 never draws, so a sandbox without faults consumes no
// randomness.
func (e *Env) Chance(p float64) bool {
	if p <= 0 {
		return false
	}
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return e.rng.Float64() < p
}

// IntN returns a seeded random number in [0, n).
func (e *Env) IntN(n int) int {
	if n <= 0 {
		return 0
	}
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return e.rng.IntN(n)
}

// RowFails tells whether the written row identified by key fails validation
// under the current row_fail_rate. It is deterministic: the same key always
// gives the same verdict for a given seed and rate.
func (e *Env) RowFails(key string) bool {
	rate := e.Faults().RowFailRate
	if rate <= 0 {
		return false
	}
	return HashUnit(e.Seed, "row_fail", key) < rate
}

// Closing is closed when the sandbox shuts down; handlers that hang (the
// timeout fault) give up then.
func (e *Env) Closing() <-chan struct{} { return e.closing }

// Close releases handlers that are hanging.
func (e *Env) Close() { e.closeMu.Do(func() { close(e.closing) }) }

// Sleep waits d or until the request is cancelled or the sandbox closes.
func (e *Env) Sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-e.closing:
	}
}

// RowDelay applies --row-latency for n written rows.
func (e *Env) RowDelay(ctx context.Context, n int) {
	e.Sleep(ctx, time.Duration(n)*e.RowLatency)
}

// AddDataset registers a source dataset under its name.
func (e *Env) AddDataset(d *Dataset) {
	e.dsMu.Lock()
	defer e.dsMu.Unlock()
	e.datasets[d.Name] = d
}

// Dataset returns a registered dataset or nil.
func (e *Env) Dataset(name string) *Dataset {
	e.dsMu.RLock()
	defer e.dsMu.RUnlock()
	return e.datasets[name]
}

// DatasetNames lists registered datasets.
func (e *Env) DatasetNames() []string {
	e.dsMu.RLock()
	defer e.dsMu.RUnlock()
	out := make([]string, 0, len(e.datasets))
	for n := range e.datasets {
		out = append(out, n)
	}
	return out
}

// AddTarget registers a target store ("k3cloud/BD_Customer", "kis/bills")
// with a function counting its documents, for /_sandbox/stats.
func (e *Env) AddTarget(name string, count func() int) {
	e.dsMu.Lock()
	defer e.dsMu.Unlock()
	e.targets[name] = count
}

// TargetCounts returns the document count of every registered target.
func (e *Env) TargetCounts() map[string]int {
	e.dsMu.RLock()
	defer e.dsMu.RUnlock()
	out := make(map[string]int, len(e.targets))
	for n, f := range e.targets {
		out[n] = f()
	}
	return out
}
