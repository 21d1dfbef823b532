// Package streamstate is where the components of the running streams report
// what an operator wants to see of them, for the console (internal/console)
// to read: each polling input its state, checkpoint, last poll and last
// error, and the calls it made by answer code; each target output the rows
// it wrote, updated, skipped and retried; each dead-letter output and
// record log the table it writes. It is process-wide: in `erpsync streams`
// every stream's components report here, keyed by the names their configs
// give (the checkpoint key of an input, the `stream` of a dead-letter or
// records config).
//
// The package holds no Benthos types, so that any plugin can report to it
// and the console can read it without importing the plugins.
package streamstate

import (
	"errors"
	"sort"
	"sync"
	"time"
)

// Input states, as the console shows them.
const (
	StateStarting = "starting" // connected, no window read yet
	StateRunning  = "running"  // reading a window
	StateWaiting  = "waiting"  // caught up, waiting for the next poll
	StateFinished = "finished" // caught up with stop_when_caught_up: the input ended
	StateStopped  = "stopped"  // stopped with an error (Input.LastError)
)

// Input is one polling input. Its fields are read and written under its
// lock: use the methods.
type Input struct {
	Vendor, API     string
	CheckpointCache string
	CheckpointKey   string

	// Store writes a checkpoint directly, for an input that will read no
	// further window in this process (finished or stopped); nil when the
	// input keeps no checkpoint.
	Store func(time.Time) error

	mu         sync.Mutex
	state      string
	checkpoint time.Time // the stored checkpoint (window end), zero if none
	windowEnd  time.Time // end of the window being read
	lastPoll   time.Time // last answer without error
	lastErr    string
	lastErrAt  time.Time
	read       int64
	calls      map[string]int64 // answer code -> calls
	reset      *time.Time       // a checkpoint reset waiting for the next window
	wake       chan struct{}    // closed when a reset is requested
}

// InputSnapshot is a copy of an Input's state.
type InputSnapshot struct {
	Vendor          string           `json:"vendor"`
	API             string           `json:"interface"`
	CheckpointCache string           `json:"checkpoint_cache,omitempty"`
	CheckpointKey   string           `json:"checkpoint_key,omitempty"`
	State           string           `json:"state"`
	Checkpoint      *time.Time       `json:"checkpoint,omitempty"`
	WindowEnd       *time.Time       `json:"window_end,omitempty"`
	LastPoll        *time.Time       `json:"last_poll,omitempty"`
	LastError       string           `json:"last_error,omitempty"`
	LastErrorAt     *time.Time       `json:"last_error_at,omitempty"`
	Read            int64            `json:"read"`
	Calls           map[string]int64 `json:"calls"`
	ResetPending    *time.Time       `json:"reset_pending,omitempty"`
}

func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// Snapshot copies the input's state.
func (in *Input) Snapshot() InputSnapshot {
	in.mu.Lock()
	defer in.mu.Unlock()
	calls := make(map[string]int64, len(in.calls))
	for k, v := range in.calls {
		calls[k] = v
	}
	s := InputSnapshot{
		Vendor: in.Vendor, API: in.API, CheckpointCache: in.CheckpointCache, CheckpointKey: in.CheckpointKey,
		State: in.state, Checkpoint: tp(in.checkpoint), WindowEnd: tp(in.windowEnd), LastPoll: tp(in.lastPoll),
		LastError: in.lastErr, LastErrorAt: tp(in.lastErrAt), Read: in.read, Calls: calls,
	}
	if in.reset != nil {
		s.ResetPending = tp(*in.reset)
	}
	return s
}

// SetState records the input's state.
func (in *Input) SetState(state string) {
	in.mu.Lock()
	in.state = state
	in.mu.Unlock()
}

// Window records the window being read.
func (in *Input) Window(end time.Time) {
	in.mu.Lock()
	in.state, in.windowEnd = StateRunning, end
	in.mu.Unlock()
}

// Checkpoint records a stored checkpoint.
func (in *Input) Checkpoint(cp time.Time) {
	in.mu.Lock()
	in.checkpoint = cp
	in.mu.Unlock()
}

// Call records one vendor call and its answer code; err is the error of a
// failed call ("" when it succeeded).
func (in *Input) Call(code string, err string, at time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.calls == nil {
		in.calls = map[string]int64{}
	}
	in.calls[code]++
	if err == "" {
		in.lastPoll = at
		return
	}
	in.lastErr, in.lastErrAt = err, at
}

// Stopped records the error that ended the input.
func (in *Input) Stopped(err string, at time.Time) {
	in.mu.Lock()
	in.state, in.lastErr, in.lastErrAt = StateStopped, err, at
	in.mu.Unlock()
}

// Read counts documents delivered.
func (in *Input) Read(n int) {
	in.mu.Lock()
	in.read += int64(n)
	in.mu.Unlock()
}

// RequestReset asks the input to restart from cp at its next window. An
// input that reads no further window in this process (finished, stopped)
// gets cp stored at once, for its next run; applied tells which happened.
func (in *Input) RequestReset(cp time.Time) (applied bool, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state == StateFinished || in.state == StateStopped {
		if in.Store == nil {
			return false, errNoCheckpoint
		}
		if err := in.Store(cp); err != nil {
			return false, err
		}
		in.checkpoint = cp
		return true, nil
	}
	in.reset = &cp
	if in.wake != nil {
		close(in.wake)
		in.wake = nil
	}
	return false, nil
}

var errNoCheckpoint = errors.New("the input keeps no checkpoint (checkpoint.cache is empty)")

// TakeReset returns a requested reset and clears it.
func (in *Input) TakeReset() (time.Time, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.reset == nil {
		return time.Time{}, false
	}
	cp := *in.reset
	in.reset = nil
	return cp, true
}

// Wake is closed when a reset is requested; an input waiting for its next
// poll selects on it.
func (in *Input) Wake() <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.wake == nil {
		in.wake = make(chan struct{})
	}
	return in.wake
}

// Target is one output writing to a vendor or database, named by the stream
// its config gives.
type Target struct {
	Stream, Target string

	mu                                         sync.Mutex
	written, updated, skipped, failed, retried int64
	lastWrite                                  time.Time
}

// TargetSnapshot is a copy of a Target's counts.
type TargetSnapshot struct {
	Target    string     `json:"target"`
	Written   int64      `json:"written"`
	Updated   int64      `json:"updated"`
	Skipped   int64      `json:"skipped"`
	Failed    int64      `json:"failed"`
	Retried   int64      `json:"retried"`
	LastWrite *time.Time `json:"last_write,omitempty"`
}

// Count adds to the target's counts.
func (t *Target) Count(written, updated, skipped, failed, retried int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.written += int64(written)
	t.updated += int64(updated)
	t.skipped += int64(skipped)
	t.failed += int64(failed)
	t.retried += int64(retried)
	if written+updated+skipped > 0 {
		t.lastWrite = at
	}
}

// Snapshot copies the target's counts.
func (t *Target) Snapshot() TargetSnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TargetSnapshot{Target: t.Target, Written: t.written, Updated: t.updated, Skipped: t.skipped,
		Failed: t.failed, Retried: t.retried, LastWrite: tp(t.lastWrite)}
}

// Table is a MySQL table a stream's dead letters or records go to.
type Table struct {
	Stream string
	DSN    string // never shown: it may hold a password
	Table  string
	Target string // dead letters: the target named in the config
}

// DeadLetterCounter counts a stream's dead letters written in this
// process: the documents (by source id, so that the file and the table
// writing the same failure count it once) and the resolutions.
type DeadLetterCounter struct {
	mu       sync.Mutex
	ids      map[string]struct{}
	resolved int64
}

var reg = struct {
	sync.Mutex
	inputs      []*Input
	targets     map[[2]string]*Target
	deadLetters map[string][]Table
	records     map[string][]Table
	dlCounts    map[string]*DeadLetterCounter
	resolvers   map[string]bool
}{resolvers: map[string]bool{}, targets: map[[2]string]*Target{}, deadLetters: map[string][]Table{}, records: map[string][]Table{}, dlCounts: map[string]*DeadLetterCounter{}}

// RegisterInput adds a polling input; the returned handle is what it
// reports through. An input of the same checkpoint (cache, key) registered
// earlier (a stream restarted in this process) is replaced.
func RegisterInput(vendor, api, cache, key string) *Input {
	in := &Input{Vendor: vendor, API: api, CheckpointCache: cache, CheckpointKey: key, state: StateStarting}
	reg.Lock()
	defer reg.Unlock()
	for i, old := range reg.inputs {
		if key != "" && old.CheckpointCache == cache && old.CheckpointKey == key {
			reg.inputs[i] = in
			return in
		}
	}
	reg.inputs = append(reg.inputs, in)
	return in
}

// Inputs lists the registered inputs.
func Inputs() []*Input {
	reg.Lock()
	defer reg.Unlock()
	return append([]*Input(nil), reg.inputs...)
}

// RegisterTarget returns the counts of (stream, target), shared by every
// output reporting under those names.
func RegisterTarget(stream, target string) *Target {
	reg.Lock()
	defer reg.Unlock()
	k := [2]string{stream, target}
	if t, ok := reg.targets[k]; ok {
		return t
	}
	t := &Target{Stream: stream, Target: target}
	reg.targets[k] = t
	return t
}

// Targets lists a stream's targets, by name.
func Targets(stream string) []*Target {
	reg.Lock()
	defer reg.Unlock()
	var out []*Target
	for k, t := range reg.targets {
		if k[0] == stream {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

func addTable(m map[string][]Table, t Table) {
	for _, old := range m[t.Stream] {
		if old.DSN == t.DSN && old.Table == t.Table {
			return
		}
	}
	m[t.Stream] = append(m[t.Stream], t)
}

// RegisterDeadLetters records that stream writes dead letters to table.
func RegisterDeadLetters(t Table) *DeadLetterCounter {
	reg.Lock()
	defer reg.Unlock()
	addTable(reg.deadLetters, t)
	return counterLocked(t.Stream)
}

// Recorded counts the dead letter of a document (once per source id).
func (c *DeadLetterCounter) Recorded(sourceID string) {
	c.mu.Lock()
	if c.ids == nil {
		c.ids = map[string]struct{}{}
	}
	c.ids[sourceID] = struct{}{}
	c.mu.Unlock()
}

// DeadLettered is the counter of stream's dead letters, whatever they are
// written to.
func DeadLettered(stream string) *DeadLetterCounter {
	reg.Lock()
	defer reg.Unlock()
	return counterLocked(stream)
}

func counterLocked(stream string) *DeadLetterCounter {
	c, ok := reg.dlCounts[stream]
	if !ok {
		c = &DeadLetterCounter{}
		reg.dlCounts[stream] = c
	}
	return c
}

// Resolved counts dead letters resolved.
func (c *DeadLetterCounter) Resolved(n int) { c.mu.Lock(); c.resolved += int64(n); c.mu.Unlock() }

// DeadLetterCounts is what this process recorded and resolved for stream.
func DeadLetterCounts(stream string) (recorded, resolved int64) {
	reg.Lock()
	c := reg.dlCounts[stream]
	reg.Unlock()
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.ids)), c.resolved
}

// RegisterRecords records that stream logs its written records to table.
func RegisterRecords(t Table) {
	reg.Lock()
	defer reg.Unlock()
	addTable(reg.records, t)
}

// DeadLetterTables lists every dead-letter table by stream.
func DeadLetterTables() map[string][]Table { return copyTables(reg.deadLetters) }

// RecordTables lists every record table by stream.
func RecordTables() map[string][]Table { return copyTables(reg.records) }

func copyTables(m map[string][]Table) map[string][]Table {
	reg.Lock()
	defer reg.Unlock()
	out := make(map[string][]Table, len(m))
	for k, v := range m {
		out[k] = append([]Table(nil), v...)
	}
	return out
}

// Reset forgets everything (tests).
func Reset() {
	reg.Lock()
	defer reg.Unlock()
	reg.inputs = nil
	reg.targets = map[[2]string]*Target{}
	reg.deadLetters = map[string][]Table{}
	reg.records = map[string][]Table{}
	reg.dlCounts = map[string]*DeadLetterCounter{}
	reg.resolvers = map[string]bool{}
}

// MarkResolves records that a target output of stream resolves the open
// dead letters of the documents it confirmed, so a replay of that stream's
// dead letters through its own output resolves them.
func MarkResolves(stream string) {
	reg.Lock()
	reg.resolvers[stream] = true
	reg.Unlock()
}

// Resolves tells whether a target output of stream resolves dead letters.
func Resolves(stream string) bool {
	reg.Lock()
	defer reg.Unlock()
	return reg.resolvers[stream]
}
