package chaos

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/sandbox"
)

// holdFor is how long a call the sandbox will never answer is held before
// its connection drops. The shipped configs wait 30 s for an answer; holding
// every unanswered call that long would spend the suite's time on waiting,
// and to the client a dropped connection is the same ambiguous failure: no
// answer, and the call may or may not have been served.
const holdFor = 1500 * time.Millisecond

// seeds are the seeds to run: CHAOS_SEEDS ("4,5,6") or 1, 2, 3.
func seeds(t *testing.T) []uint64 {
	t.Helper()
	v := strings.TrimSpace(os.Getenv("CHAOS_SEEDS"))
	if v == "" {
		return []uint64{1, 2, 3}
	}
	var out []uint64
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		s, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEEDS=%q: %q is not a seed (want e.g. 4,5,6)", v, f)
		}
		out = append(out, s)
	}
	return out
}

// seededRand is the generator of one scenario's choices: the seed and the
// scenario's name, so the two pipelines of a seed draw independently.
func seededRand(seed uint64, name string) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// front serves a sandbox on a listener of its own. It bounds how long an
// unanswered call is held (holdFor), can inject unanswered calls itself
// (for vendors whose timeouts must spare some paths, see timeouts), and
// counts the calls answered per path, so kills can be placed at progress
// points ("after the 3rd page").
type front struct {
	sb  *sandbox.Server
	srv *http.Server
	url string

	mu          sync.Mutex
	rng         *rand.Rand
	timeoutRate float64
	keepAnswer  map[string]bool
	answered    map[string]int
	injected    int
	changed     chan struct{}
	// renewing: a credential renewal was answered and the client has not
	// called since, so it may not have stored the new pair yet.
	renewing bool
}

// renewalPaths answer with a single-use credential: a client killed after
// the answer and before it stored the new pair must be authorized again
// by the merchant, whatever it does. No kill lands in that window (see
// waitRenewed); every other moment is fair.
var renewalPaths = map[string]bool{"/openWeb/auth/refreshToken": true}

// startFront builds a sandbox from o (its Addr is ignored) and serves it.
func startFront(t *testing.T, o sandbox.Options) *front {
	t.Helper()
	sb, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{
		sb: sb, url: "http://" + ln.Addr().String(),
		rng:      rand.New(rand.NewPCG(o.Seed, 0xfa17)),
		answered: map[string]int{}, changed: make(chan struct{}),
	}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = f.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = f.srv.Close()
		_ = sb.Close()
		<-done
	})
	return f
}

// timeouts makes rate of the vendor calls go unanswered, as the sandbox's
// timeout_rate does (half dropped before they are served, half after: a
// write lands unseen), except that calls to the keep paths are only ever
// dropped before they are served.
func (f *front) timeouts(rate float64, keep ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timeoutRate = rate
	f.keepAnswer = map[string]bool{}
	for _, p := range keep {
		f.keepAnswer[p] = true
	}
}

func (f *front) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64() < p
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The sandbox holds an unanswered call until the request context ends.
	ctx, cancel := context.WithTimeout(r.Context(), holdFor)
	defer cancel()
	r = r.WithContext(ctx)
	path := r.URL.Path
	f.mu.Lock()
	rate, keep := f.timeoutRate, f.keepAnswer[path]
	f.mu.Unlock()
	if !strings.HasPrefix(path, "/_sandbox/") && f.chance(rate) {
		f.mu.Lock()
		f.injected++
		f.mu.Unlock()
		if !keep && f.chance(0.5) {
			f.sb.Handler().ServeHTTP(httptest.NewRecorder(), r)
		}
		<-ctx.Done()
		panic(http.ErrAbortHandler)
	}
	sw := &statusWriter{ResponseWriter: w}
	f.sb.Handler().ServeHTTP(sw, r)
	if !strings.HasPrefix(path, "/_sandbox/") {
		f.mu.Lock()
		f.renewing = renewalPaths[path] && sw.status < 300
		f.mu.Unlock()
	}
	if sw.status == 0 || sw.status < 500 {
		f.mu.Lock()
		f.answered[path]++
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}
}

// count returns how many calls to path were answered (below HTTP 500).
func (f *front) count(path string) (int, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answered[path], f.changed
}

// waitRenewed waits (at most 10 s) until no renewal answer awaits the
// client's next call: the client stores a renewed pair before it uses it.
func (f *front) waitRenewed() {
	limit := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		renewing, ch := f.renewing, f.changed
		f.mu.Unlock()
		if !renewing {
			return
		}
		select {
		case <-ch:
		case <-limit:
			return
		}
	}
}

// injectedTimeouts is how many calls the front left unanswered itself.
func (f *front) injectedTimeouts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// proc is one erpsync process.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// running reports whether the process has not ended yet.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// tail returns the last lines of the process's output.
func (p *proc) tail(n int) string {
	f, err := os.Open(p.log)
	if err != nil {
		return "(no output: " + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// point is a progress point a kill can wait for: the next 1..most answered
// calls to path.
type point struct {
	what string // "source page", "KIS create"
	f    *front
	path string
	most int
}

// scenario is one shipped pipeline under chaos for one seed.
type scenario struct {
	t      *testing.T
	seed   uint64
	stream string
	env    []string
	state  string
	rng    *rand.Rand
	points []point

	// flip, when set, draws a fault change from the scenario's generator;
	// the change is applied at a random moment of each killed run.
	flip func(r *rand.Rand) func()

	runs    int
	kills   []string // where each kill landed
	ended   int      // killed runs that ended by themselves first (caught up)
	started time.Time
	wanted  int           // kills the schedule asked for
	final   time.Duration // how long the final run took
	last    *proc
}

func newScenario(t *testing.T, seed uint64, stream string, env []string, points ...point) *scenario {
	t.Helper()
	state, err := os.MkdirTemp("", "erpsync-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"checkpoints", "ledgers", "dead_letters", "logs"} {
		if err := os.MkdirAll(filepath.Join(state, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &scenario{
		t: t, seed: seed, stream: stream, state: state, rng: seededRand(seed, stream),
		points: points, started: time.Now(),
	}
	s.env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"ERPSYNC_STATE_DIR=" + state,
		"SYNC_START=" + time.Now().Add(-31*24*time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP=true",
	}, env...)
	t.Cleanup(func() {
		if s.last != nil && s.last.running() {
			s.last.kill()
		}
		if t.Failed() {
			t.Logf("seed %d: %s: state, logs and dead letters kept in %s", seed, stream, state)
			return
		}
		_ = os.RemoveAll(state)
	})
	return s
}

// fatalf fails the scenario; every message names the seed.
func (s *scenario) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d: %s: "+format, append([]any{s.seed, s.stream}, args...)...)
}

// errorf reports a failed check; every message names the seed.
func (s *scenario) errorf(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf("seed %d: %s: "+format, append([]any{s.seed, s.stream}, args...)...)
}

// launch starts erpsync on the shipped config, unchanged, with the shipped
// resources.
func (s *scenario) launch() *proc {
	s.t.Helper()
	s.runs++
	p := &proc{log: filepath.Join(s.state, "logs", fmt.Sprintf("run-%d.log", s.runs)), done: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		s.fatalf("%v", err)
	}
	p.cmd = exec.Command(erpsynctest.Binary(s.t), "--log.level", "info", "--set", "http.enabled=false",
		"-r", erpsynctest.Path("config/resources")+"/*.yaml",
		"run", erpsynctest.Path("config/streams/"+s.stream+".yaml"))
	p.cmd.Env = s.env
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		out.Close()
		s.fatalf("starting erpsync: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		out.Close()
		close(p.done)
	}()
	s.last = p
	return p
}

// crash runs erpsync and kills it with SIGKILL, 3 to 5 times: each kill
// comes after a random delay (0.3-3 s) or right after a random progress
// point (the next 1..most answered calls of a point, then 0-40 ms). Every
// choice is drawn before the run, so the schedule depends on the seed only.
// A run that ends by itself before its kill (caught up) does not count.
func (s *scenario) crash() {
	s.t.Helper()
	want := 3 + s.rng.IntN(3)
	for round := 0; len(s.kills) < want && round < want+4; round++ {
		mode := s.rng.IntN(len(s.points) + 1)
		delay := 300*time.Millisecond + time.Duration(s.rng.Int64N(int64(2700*time.Millisecond)))
		calls := 0
		if mode < len(s.points) {
			calls = 1 + s.rng.IntN(s.points[mode].most)
		}
		after := time.Duration(s.rng.Int64N(int64(40 * time.Millisecond)))
		var apply func()
		var at time.Duration
		if s.flip != nil {
			apply = s.flip(s.rng)
			at = time.Duration(s.rng.Int64N(int64(1500 * time.Millisecond)))
		}

		p := s.launch()
		began := time.Now()
		stopFlip := func() bool { return false }
		if apply != nil {
			stopFlip = time.AfterFunc(at, apply).Stop
		}
		where := ""
		if mode == len(s.points) {
			where = fmt.Sprintf("%s after start", delay.Round(time.Millisecond))
			s.waitOrExit(p, time.After(delay))
		} else {
			pt := s.points[mode]
			where = fmt.Sprintf("%s after %d more %s(s)", after.Round(time.Millisecond), calls, pt.what)
			s.waitCalls(p, pt, calls)
			s.waitOrExit(p, time.After(after))
		}
		stopFlip()
		for _, pt := range s.points {
			pt.f.waitRenewed()
		}
		if !p.running() {
			if p.err != nil {
				s.fatalf("run %d (to be killed %s) failed by itself: %v\n%s", s.runs, where, p.err, p.tail(40))
			}
			s.ended++
			s.t.Logf("seed %d: %s: run %d ended by itself (caught up) before its kill", s.seed, s.stream, s.runs)
			continue
		}
		p.kill()
		s.kills = append(s.kills, fmt.Sprintf("%s (at %s)", where, time.Since(began).Round(10*time.Millisecond)))
	}
	// Checked at the end (summary), after the outcome: a pipeline that
	// catches up too fast to be killed may be one that skipped its work.
	s.wanted = want
}

// waitOrExit waits for c or for the process to end.
func (s *scenario) waitOrExit(p *proc, c <-chan time.Time) {
	select {
	case <-c:
	case <-p.done:
	}
}

// waitCalls waits until n more calls of pt were answered, the process
// ended, or 30 s passed (then the kill lands wherever the run is).
func (s *scenario) waitCalls(p *proc, pt point, n int) {
	base, _ := pt.f.count(pt.path)
	limit := time.After(30 * time.Second)
	for {
		got, changed := pt.f.count(pt.path)
		if got >= base+n {
			return
		}
		select {
		case <-changed:
		case <-p.done:
			return
		case <-limit:
			return
		}
	}
}

// finish runs erpsync once more without a kill; it must end by itself
// (STOP_WHEN_CAUGHT_UP) and cleanly.
func (s *scenario) finish(timeout time.Duration) {
	s.t.Helper()
	p := s.launch()
	began := time.Now()
	defer func() { s.final = time.Since(began) }()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		s.fatalf("the final run did not end within %s\n%s", timeout, p.tail(60))
	}
	if p.err != nil {
		s.fatalf("the final run failed: %v\n%s", p.err, p.tail(60))
	}
}

// summary logs the line of a scenario; it fails the scenario when fewer
// than 3 kills landed on a running erpsync.
func (s *scenario) summary(format string, args ...any) {
	s.t.Helper()
	if len(s.kills) < 3 {
		s.errorf("only %d of %d kills landed on a running erpsync (%d runs ended by themselves first, caught up)",
			len(s.kills), s.wanted, s.ended)
	}
	s.t.Logf("seed %d: %s: %d runs, %d kills [%s], %d ended early, final run %s; %s; %s in all",
		s.seed, s.stream, s.runs, len(s.kills), strings.Join(s.kills, "; "), s.ended, s.final.Round(100*time.Millisecond),
		fmt.Sprintf(format, args...), time.Since(s.started).Round(100*time.Millisecond))
}

// get asks the sandbox's introspection endpoints (never faulted) directly.
func (f *front) get(path string) []byte {
	rec := httptest.NewRecorder()
	f.sb.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Body.Bytes()
}
