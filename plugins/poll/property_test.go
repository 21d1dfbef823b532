package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// TestEngineProperty runs the engine against vendors drawn per seed (see
// fakevendor_test.go for the model space). Each seed plays 1-5 runs that are
// killed at seeded points (after some vendor calls, inside ReadBatch, or
// after some ReadBatch calls), with stop_when_caught_up false: they hold
// batches and acknowledge them later in a random order, nack some (without
// AutoRetryNacksBatched: not delivered, not redelivered), and lose every
// unacknowledged batch when killed. The vendor changes documents and adds
// new ones meanwhile. A final run, after the changes stop and the clock
// moves past the lag, acknowledges everything and reads to the end of
// input. Every run is a new engine on the same checkpoint cache. It checks:
//
//  1. after the final run every document the vendor holds was delivered,
//     and for each the last version delivered (in the order the engine
//     emitted them) is the vendor's latest; nothing else was delivered;
//  2. whenever a checkpoint cp is stored, every document the vendor holds at
//     that moment with a filter value <= cp has been delivered in its
//     current version ("delivered": in a batch acknowledged with nil). The
//     cache is read at the start of every vendor call and after every
//     ReadBatch and acknowledgement, which sees every value stored;
//  3. the run exercised something: each model stores checkpoints, its fault
//     counts are logged (-v), and when 20 or more seeds ran and all passed,
//     every fault kind, order, class and count mode happened across them.
//
// Seeds 1..25 run by default, as parallel subtests. POLL_PROPERTY_SEEDS=1000
// runs seeds 1..1000, POLL_PROPERTY_SEEDS=200-400 seeds 200..400 (here and in
// TestPropertyModelIsSurvivable). Each seed is deterministic; reproduce one
// with
//
//	go test ./plugins/poll/ -run 'TestEngineProperty/seed=17$' -v
//	POLL_PROPERTY_SEEDS=199-199 go test ./plugins/poll/ -run TestEngineProperty -v
//
// Every failure starts with the seed and the model; the vendor calls leading
// to it are logged before it (POLL_PROPERTY_TRACE=n sets how many, 12 by
// default, up to 400).
func TestEngineProperty(t *testing.T) {
	runPropertySeeds(t, func(f Fetcher, o Options, res *service.Resources) propInput { return New(f, o, res) })
}

// runPropertySeeds runs the seeds of POLL_PROPERTY_SEEDS as parallel
// subtests seed=N against the input mk builds, then checks coverage.
func runPropertySeeds(t *testing.T, mk func(Fetcher, Options, *service.Resources) propInput) {
	t.Helper()
	seeds := propertySeeds(t)
	var cov propCoverage
	t.Cleanup(func() { cov.check(t) })
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			h := newPropHarness(t, drawModel(seed), mk)
			defer cov.add(h)
			h.run()
		})
	}
}

// propInput is the engine as the harness drives it.
type propInput interface {
	Connect(ctx context.Context) error
	ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error)
	Close(ctx context.Context) error
}

func propertySeeds(t *testing.T) []int {
	t.Helper()
	s := strings.TrimSpace(os.Getenv("POLL_PROPERTY_SEEDS"))
	from, to := 1, 25
	if s != "" {
		var err error
		if a, b, ok := strings.Cut(s, "-"); ok {
			from, err = strconv.Atoi(strings.TrimSpace(a))
			if err == nil {
				to, err = strconv.Atoi(strings.TrimSpace(b))
			}
		} else {
			to, err = strconv.Atoi(s)
		}
		if err != nil || from < 0 || to < from {
			t.Fatalf("POLL_PROPERTY_SEEDS=%q: want a count (1000) or a range (200-400)", s)
		}
	}
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// propDelivery is what the harness knows of one id.
type propDelivery struct {
	versions map[int]bool
	lastSeq  int // emission order of the last delivered batch holding it
	lastVer  int
}

type propBatch struct {
	seq  int
	ack  service.AckFunc
	msgs []propMsg
}

type propMsg struct {
	id      string
	version int
}

type propHarness struct {
	t   *testing.T
	m   *propModel
	v   *propVendor
	mk  func(Fetcher, Options, *service.Resources) propInput
	res *service.Resources
	rng *rand.Rand

	// guarded by v.mu
	delivered map[string]*propDelivery
	lastCP    string
	cpWrites  int
	violation string

	seq, kills, nacks, held, outOfOrder, runs int
}

func newPropHarness(t *testing.T, m *propModel, mk func(Fetcher, Options, *service.Resources) propInput) *propHarness {
	clock := &propClock{now: m.now0, tick: 5 * time.Millisecond}
	h := &propHarness{
		t: t, m: m, v: newPropVendor(m, clock), mk: mk,
		res:       service.MockResources(service.MockResourcesOptAddCache("cp")),
		rng:       rand.New(rand.NewPCG(uint64(m.seed), 0x5eed0003)),
		delivered: map[string]*propDelivery{},
	}
	h.v.observe = h.checkCheckpointLocked
	return h
}

func (h *propHarness) prefix() string { return fmt.Sprintf("seed=%d %s", h.m.seed, h.m) }

// fatalf fails the seed, after logging the last vendor calls.
func (h *propHarness) fatalf(format string, args ...any) {
	h.t.Helper()
	h.logTrace()
	h.logStats()
	h.t.Fatalf("%s: %s", h.prefix(), fmt.Sprintf(format, args...))
}

func (h *propHarness) logTrace() {
	h.t.Helper()
	n := 12
	if s := os.Getenv("POLL_PROPERTY_TRACE"); s != "" {
		if k, err := strconv.Atoi(s); err == nil {
			n = k
		}
	}
	h.v.mu.Lock()
	tr := h.v.trace
	if len(tr) > n {
		tr = tr[len(tr)-n:]
	}
	lines := make([]string, len(tr))
	for i, l := range tr {
		lines[i] = l.String()
	}
	h.v.mu.Unlock()
	for _, l := range lines {
		h.t.Log(l)
	}
}

// failed reports a violation found while the engine was running (inside a
// vendor call or an acknowledgement), or a misuse of the vendor.
func (h *propHarness) failed() {
	h.t.Helper()
	h.v.mu.Lock()
	violation, misuse := h.violation, h.v.failure
	h.v.mu.Unlock()
	if violation != "" {
		h.fatalf("%s", violation)
	}
	if misuse != "" {
		h.fatalf("%s", misuse)
	}
}

func (h *propHarness) options(final bool) Options {
	exec, err := bloblang.Parse(propWindowMapping)
	if err != nil {
		h.t.Fatal(err)
	}
	w := h.m.windowConfig()
	return Options{
		Vendor: "fake", API: fmt.Sprintf("/prop/%d", h.m.seed), // its own rate-limit pause
		Params: exec, Window: &w, PageSize: h.m.size,
		StopWhenCaughtUp: final,
		CheckpointCache:  "cp", CheckpointKey: "prop",
		MaxRetries: h.m.maxRetries, BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond,
		MaxPages: 5000,
		// PollInterval 0: a caught-up killed run polls again at once, and
		// the clock moves a little on every Now, so the next window comes
		// without a real sleep.
		Now: h.v.clock.Now,
	}
}

// run plays the model: killed runs with changes, then a final run.
func (h *propHarness) run() {
	h.t.Helper()
	h.v.mu.Lock()
	h.v.changes = true
	h.v.mu.Unlock()
	for range h.m.runs {
		h.runOnce(false)
	}
	h.v.mu.Lock()
	h.v.changes = false
	h.v.mu.Unlock()
	// Every change carries a time before now: past the lag, the final run's
	// windows cover them all.
	h.v.clock.advance(h.m.lag + 2*time.Second)
	h.runOnce(true)
	h.checkFinal()
	h.logStats()
}

// runOnce runs one engine. A killed run (final false) reads with
// stop_when_caught_up false, holds, reorders and nacks acknowledgements, and
// ends at a seeded kill point: after some vendor calls (inside ReadBatch) or
// some ReadBatch calls. Its unacknowledged batches are dropped. The final
// run acknowledges every batch at once and reads to the end of input.
func (h *propHarness) runOnce(final bool) {
	h.t.Helper()
	h.runs++
	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	steps := -1
	h.v.mu.Lock()
	h.v.budget, h.v.kill = 0, kill
	if !final {
		h.v.budget = h.m.runCalls[0] + h.rng.IntN(h.m.runCalls[1]-h.m.runCalls[0])
		steps = h.m.runSteps[0] + h.rng.IntN(h.m.runSteps[1]-h.m.runSteps[0])
	}
	h.v.tracef("run %d (final %v): engine started", h.runs, final)
	h.v.mu.Unlock()

	e := h.mk(h.v, h.options(final), h.res)
	if err := e.Connect(ctx); err != nil {
		h.fatalf("run %d: Connect: %v", h.runs, err)
	}
	defer func() { _ = e.Close(context.Background()) }()

	var held []*propBatch
	failures := 0
	// A caught-up engine that re-reads its lookback emits nothing new, so
	// only its errors come back from ReadBatch: a checkpoint written since
	// the last error is progress too.
	cpWrites := h.cpWrites
	for step := 0; steps < 0 || step < steps; step++ {
		if step >= maxPropReads {
			h.fatalf("run %d: no end of input after %d ReadBatch calls", h.runs, step)
		}
		// A safety net only: ReadBatch never needs wall-clock time here.
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		batch, ack, err := e.ReadBatch(rctx)
		timedOut := rctx.Err() != nil && ctx.Err() == nil
		cancel()
		h.checkCheckpoint()
		h.failed()
		if timedOut {
			h.fatalf("run %d: ReadBatch did not return within a minute (last error %v)", h.runs, err)
		}
		if ctx.Err() != nil {
			break // killed inside ReadBatch
		}
		if errors.Is(err, service.ErrEndOfInput) {
			if final {
				if len(held) > 0 {
					h.fatalf("end of input with %d batches unacknowledged", len(held))
				}
				return
			}
			h.v.mu.Lock()
			h.v.tracef("run %d: end of input (engine error: %v)", h.runs, engineErr(e))
			h.v.mu.Unlock()
			break
		}
		if err != nil {
			// Benthos calls ReadBatch again after an error.
			if h.cpWrites != cpWrites {
				failures, cpWrites = 0, h.cpWrites
			}
			if failures++; failures > 2000 {
				h.fatalf("run %d: no progress: %d ReadBatch errors in a row, the last: %v", h.runs, failures, err)
			}
			continue
		}
		failures = 0
		b := h.batch(batch, ack)
		if final {
			h.ack(b, nil)
			continue
		}
		switch r := h.rng.Float64(); {
		case r < h.m.nack:
			h.ack(b, errors.New("target refused"))
		case r < h.m.nack+h.m.hold:
			held = append(held, b)
			h.held++
		default:
			h.ack(b, nil)
		}
		// Acknowledge some held batches, in a random order.
		for len(held) > 0 && h.rng.IntN(3) == 0 {
			i := h.rng.IntN(len(held))
			if i != 0 {
				h.outOfOrder++
			}
			b := held[i]
			held = append(held[:i], held[i+1:]...)
			if h.rng.Float64() < h.m.nack {
				h.ack(b, errors.New("target refused"))
			} else {
				h.ack(b, nil)
			}
		}
	}
	if final {
		h.fatalf("final run: stopped without end of input")
	}
	// Kill: the held batches were never delivered.
	h.kills++
	h.v.mu.Lock()
	h.v.tracef("run %d: killed with %d batches unacknowledged", h.runs, len(held))
	h.v.budget = 0
	h.v.mu.Unlock()
}

// maxPropReads bounds the ReadBatch calls of one run.
const maxPropReads = 200000

func engineErr(e propInput) error {
	if x, ok := e.(interface{ Err() error }); ok {
		return x.Err()
	}
	return nil
}

// batch reads the ids and versions of an emitted batch.
func (h *propHarness) batch(batch service.MessageBatch, ack service.AckFunc) *propBatch {
	h.t.Helper()
	h.seq++
	b := &propBatch{seq: h.seq, ack: ack}
	if len(batch) == 0 {
		h.fatalf("ReadBatch returned an empty batch")
	}
	for _, m := range batch {
		id, ok := m.MetaGet("source_id")
		raw, err := m.AsBytes()
		if !ok || err != nil {
			h.fatalf("message without source_id or body: %v", err)
		}
		var body struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(raw, &body); err != nil || body.ID != id {
			h.fatalf("message source_id %q with body %s (%v)", id, raw, err)
		}
		b.msgs = append(b.msgs, propMsg{id: id, version: body.Version})
	}
	return b
}

// ack acknowledges b; with a nil error its messages are delivered first.
func (h *propHarness) ack(b *propBatch, err error) {
	h.t.Helper()
	if err == nil {
		h.v.mu.Lock()
		for _, m := range b.msgs {
			d := h.delivered[m.id]
			if d == nil {
				d = &propDelivery{versions: map[int]bool{}}
				h.delivered[m.id] = d
			}
			d.versions[m.version] = true
			if b.seq >= d.lastSeq {
				d.lastSeq, d.lastVer = b.seq, m.version
			}
		}
		h.v.mu.Unlock()
	} else {
		h.nacks++
	}
	if aerr := b.ack(context.Background(), err); aerr != nil {
		h.fatalf("ack: %v", aerr)
	}
	h.checkCheckpoint()
	h.failed()
}

func (h *propHarness) checkCheckpoint() {
	h.v.mu.Lock()
	defer h.v.mu.Unlock()
	h.checkCheckpointLocked()
}

// checkCheckpointLocked is property 2, checked after every ReadBatch and
// acknowledgement and at the start of every vendor call: the checkpoint is
// only stored inside those, and the vendor only changes inside a call, so
// every checkpoint value is checked against the vendor as it stood when it
// was stored.
func (h *propHarness) checkCheckpointLocked() {
	if h.violation != "" {
		return
	}
	var raw []byte
	var gerr error
	ctx := context.Background()
	if err := h.res.AccessCache(ctx, "cp", func(c service.Cache) { raw, gerr = c.Get(ctx, "prop") }); err != nil {
		h.violation = fmt.Sprintf("checkpoint cache: %v", err)
		return
	}
	if gerr != nil || string(raw) == h.lastCP {
		return
	}
	h.lastCP = string(raw)
	h.cpWrites++
	cp, err := time.Parse(time.RFC3339Nano, string(raw))
	if err != nil {
		h.violation = fmt.Sprintf("checkpoint %q does not parse: %v", raw, err)
		return
	}
	var bad []string
	n := 0
	for _, d := range h.v.docs {
		if d.filter.After(cp) {
			continue
		}
		got := h.delivered[d.id]
		if got != nil && got.versions[d.version] {
			continue
		}
		n++
		if len(bad) < 5 {
			bad = append(bad, h.describe(d))
		}
	}
	if n > 0 {
		h.v.stopped = true
		h.violation = fmt.Sprintf("property 2: checkpoint %s stored (vendor call %d) while %d document(s) with filter <= it were not delivered in their current version: %s",
			cp.In(shanghai).Format("2006-01-02 15:04:05.000"), h.v.calls, n, strings.Join(bad, "; "))
	}
}

func (h *propHarness) describe(d *propDoc) string {
	s := fmt.Sprintf("%s filter %s modified %s version %d", d.id, d.filter.In(shanghai).Format(propTimeLayout), propFmtTime(d.modified), d.version)
	if got := h.delivered[d.id]; got != nil {
		var vs []int
		for v := range got.versions {
			vs = append(vs, v)
		}
		sort.Ints(vs)
		s += fmt.Sprintf(" (delivered versions %v)", vs)
	} else {
		s += " (never delivered)"
	}
	return s
}

func propFmtTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.In(shanghai).Format(propTimeLayout)
}

// checkFinal is property 1 and the checkpoint half of property 3.
func (h *propHarness) checkFinal() {
	h.t.Helper()
	h.v.mu.Lock()
	var missing, stale []string
	nMissing, nStale := 0, 0
	held := map[string]bool{}
	for _, d := range h.v.docs {
		held[d.id] = true
		got := h.delivered[d.id]
		switch {
		case got == nil:
			if nMissing++; len(missing) < 5 {
				missing = append(missing, h.describe(d))
			}
		case got.lastVer != d.version:
			if nStale++; len(stale) < 5 {
				stale = append(stale, fmt.Sprintf("%s: last delivered version %d, vendor holds %d (filter %s)", d.id, got.lastVer, d.version, d.filter.In(shanghai).Format(propTimeLayout)))
			}
		}
	}
	var unknown []string
	for id := range h.delivered {
		if !held[id] {
			unknown = append(unknown, id)
		}
	}
	total, cpWrites := len(h.v.docs), h.cpWrites
	h.v.mu.Unlock()
	if nMissing > 0 || nStale > 0 || len(unknown) > 0 {
		h.fatalf("property 1: after the final run %d of %d documents were never delivered (%s); %d were last delivered in a stale version (%s); %d delivered ids the vendor does not hold %v",
			nMissing, total, strings.Join(missing, "; "), nStale, strings.Join(stale, "; "), len(unknown), unknown)
	}
	if cpWrites == 0 {
		h.fatalf("property 3: the engine never stored a checkpoint, so property 2 checked nothing")
	}
}

func (h *propHarness) logStats() {
	h.t.Helper()
	h.v.mu.Lock()
	defer h.v.mu.Unlock()
	var parts []string
	for k := range numFaultKinds {
		parts = append(parts, fmt.Sprintf("%s=%d", k, h.v.dealt[k]))
	}
	h.t.Logf("%s: %d vendor calls, %d documents, faults dealt {%s}, pages holding a modified time other than the filter value %d, %d runs, %d kills, %d batches, %d held, %d acknowledged out of order, %d nacks, %d checkpoints",
		h.prefix(), h.v.calls, len(h.v.docs), strings.Join(parts, " "), h.v.modDiffers, h.runs, h.kills, h.seq, h.held, h.outOfOrder, h.nacks, h.cpWrites)
}

// propCoverage sums what the seeds that ran exercised (property 3).
type propCoverage struct {
	mu                                 sync.Mutex
	seeds, failed                      int
	orders                             [numOrders]int
	classes                            [2]int
	counts                             [2]int
	dealt                              [numFaultKinds]int
	modDiffers, kills, nacks, reorders int
}

func (c *propCoverage) add(h *propHarness) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h.v.mu.Lock()
	defer h.v.mu.Unlock()
	c.seeds++
	if h.t.Failed() {
		c.failed++
	}
	c.orders[h.m.order]++
	c.classes[h.m.class]++
	if h.m.counts {
		c.counts[1]++
	} else {
		c.counts[0]++
	}
	for k := range numFaultKinds {
		c.dealt[k] += h.v.dealt[k]
	}
	c.modDiffers += h.v.modDiffers
	c.kills += h.kills
	c.nacks += h.nacks
	c.reorders += h.outOfOrder
}

// check runs after every seed: across 20 or more seeds (any 20 consecutive
// seeds rotate through every order, class and count mode), each of them and
// each fault kind must have happened. It is left out when a seed failed: a
// failed seed stops early, before dealing all it would have.
func (c *propCoverage) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seeds < 20 || c.failed > 0 {
		t.Logf("coverage not checked: %d seeds ran (it needs 20), %d failed", c.seeds, c.failed)
		return
	}
	var missing []string
	for o := range numOrders {
		if c.orders[o] == 0 {
			missing = append(missing, "order "+o.String())
		}
	}
	for cl, n := range c.classes {
		if n == 0 {
			missing = append(missing, "class "+propClass(cl).String())
		}
	}
	if c.counts[0] == 0 || c.counts[1] == 0 {
		missing = append(missing, "with and without counts")
	}
	for k := range numFaultKinds {
		if c.dealt[k] == 0 {
			missing = append(missing, "fault "+k.String())
		}
	}
	for name, n := range map[string]int{"modified != filter": c.modDiffers, "kills": c.kills, "nacks": c.nacks, "out-of-order acknowledgements": c.reorders} {
		if n == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("property 3: across %d seeds these never happened: %s", c.seeds, strings.Join(missing, ", "))
		return
	}
	var dealt []string
	for k := range numFaultKinds {
		dealt = append(dealt, fmt.Sprintf("%s=%d", k, c.dealt[k]))
	}
	t.Logf("coverage over %d seeds: orders %v, classes %v, without/with counts %v, faults dealt {%s}, %d pages with modified != filter, %d kills, %d nacks, %d out-of-order acknowledgements",
		c.seeds, c.orders, c.classes, c.counts, strings.Join(dealt, " "), c.modDiffers, c.kills, c.nacks, c.reorders)
}
