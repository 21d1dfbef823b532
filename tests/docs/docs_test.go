package docs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

// documents are the user-facing documents whose shell blocks must work as
// written, relative to the repository root.
var documents = []string{"README.md", "CONTRIBUTING.md", "config/README.md", "deploy/README.md", "docs/dead-letters.md"}

// blockTimeout bounds one block; the longest (the demo) takes well under it.
const blockTimeout = 5 * time.Minute

// block is one fenced shell block of a document.
type block struct {
	file   string
	line   int // of the opening fence
	script string
	// marker is the doc-test comment right above the block, "" for none.
	marker string
}

var (
	fenceOpen = regexp.MustCompile("^```(sh|bash|shell)\\s*$")
	markerRE  = regexp.MustCompile(`^<!--\s*doc-test:\s*(.*?)\s*-->$`)
)

// parse returns the shell blocks of a Markdown document.
func parse(file string, text string) []block {
	var out []block
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if !fenceOpen.MatchString(strings.TrimSpace(lines[i])) {
			continue
		}
		b := block{file: file, line: i + 1}
		for k := i - 1; k >= 0; k-- {
			l := strings.TrimSpace(lines[k])
			if l == "" {
				continue
			}
			if m := markerRE.FindStringSubmatch(l); m != nil {
				b.marker = m[1]
			}
			break
		}
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		b.script = strings.Join(body, "\n") + "\n"
		out = append(out, b)
	}
	return out
}

// TestDocumentedCommands runs every shell block of the user-facing
// documents, in order, in a copy of the repository (what a fresh clone
// holds, plus files not yet committed), the way a new user would. A block
// may be marked, on the line above its fence:
//
//	<!-- doc-test: skip: <reason> -->  not run (the reason is required)
//	<!-- doc-test: background -->      runs in the background until the
//	                                   document's last block ran; the next
//	                                   block starts once it printed a line,
//	                                   or with "background until file <path>"
//	                                   once the file exists, with "background
//	                                   until output <text>" once it printed text
//	                                   (it must still be running at the end)
//	<!-- doc-test: sandbox -->         runs against a sandbox the test starts:
//	                                   every NAME=... placeholder (three dots)
//	                                   becomes the sandbox's value of NAME
//
// Documents are checked for markers the test does not know and for blocks
// that are neither run nor skipped with a reason.
func TestDocumentedCommands(t *testing.T) {
	root := erpsynctest.Path(".")
	for _, doc := range documents {
		t.Run(doc, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, doc))
			if err != nil {
				t.Fatal(err)
			}
			blocks := parse(doc, string(raw))
			if len(blocks) == 0 {
				t.Skipf("%s has no shell block", doc)
			}
			work := copyRepo(t, root)
			r := &runner{t: t, dir: work}
			defer r.stopAll()
			for _, b := range blocks {
				r.run(b)
				if t.Failed() {
					return
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	doc := "text\n\n<!-- doc-test: skip: needs a Docker engine -->\n```sh\ndocker compose up\n```\n\n```yaml\na: 1\n```\n```bash\necho 1\necho 2\n```\n"
	got := parse("x.md", doc)
	if len(got) != 2 || got[0].marker != "skip: needs a Docker engine" || got[0].script != "docker compose up\n" ||
		got[1].marker != "" || got[1].script != "echo 1\necho 2\n" || got[1].line != 11 {
		t.Fatalf("parse: %+v", got)
	}
}

type runner struct {
	t          *testing.T
	dir        string
	sandboxEnv map[string]string
	bg         []*exec.Cmd
	bgDone     []chan error
}

func (r *runner) where(b block) string { return fmt.Sprintf("%s:%d", b.file, b.line) }

func (r *runner) run(b block) {
	t := r.t
	t.Helper()
	script := b.script
	var background, sandbox bool
	var until string
	if reason, ok := strings.CutPrefix(b.marker, "skip"); ok {
		reason = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(reason), ":"))
		if reason == "" {
			t.Errorf("%s: a skipped block must say why (<!-- doc-test: skip: <reason> -->)", r.where(b))
		}
		t.Logf("%s: skipped: %s", r.where(b), reason)
		return
	}
	for _, m := range strings.Split(b.marker, ",") {
		switch word, arg, _ := strings.Cut(strings.TrimSpace(m), " "); word {
		case "":
		case "sandbox":
			sandbox = true
		case "background":
			background = true
			until = strings.TrimSpace(arg)
		default:
			t.Errorf("%s: unknown doc-test marker %q", r.where(b), b.marker)
			return
		}
	}
	if sandbox {
		script = r.fillPlaceholders(b, script)
	}
	if strings.Contains(script, "=...") {
		t.Errorf("%s: the block has NAME=... placeholders: mark it <!-- doc-test: sandbox --> so they are filled, or skip it with a reason", r.where(b))
		return
	}
	env := r.env(sandbox)
	if background {
		r.background(b, script, until, env)
		return
	}
	for attempt := 1; ; attempt++ {
		out, err, timedOut := runBlock(r.dir, script, env)
		if timedOut {
			t.Errorf("%s: did not finish within %s:\n%s\n--- output (end) ---\n%s", r.where(b), blockTimeout, script, tail(out, 40))
			return
		}
		// Another test may hold erpsync's default HTTP port (127.0.0.1:4195)
		// for a moment; erpsync then refuses to start, as it should.
		if err != nil && attempt < 3 && bytes.Contains(out, []byte("address already in use")) {
			t.Logf("%s: the HTTP port was taken, running it again", r.where(b))
			continue
		}
		if err != nil {
			t.Errorf("%s: fails as written (%v):\n%s\n--- output (end) ---\n%s", r.where(b), err, script, tail(out, 40))
			return
		}
		t.Logf("%s: ok", r.where(b))
		return
	}
}

func runBlock(dir, script string, env []string) (out []byte, err error, timedOut bool) {
	ctx, cancel := context.WithTimeout(context.Background(), blockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err = cmd.CombinedOutput()
	return out, err, ctx.Err() != nil
}

// background starts a block that serves until stopped, and waits until it
// printed a line (or, with "until <path>", until that file exists).
func (r *runner) background(b block, script, until string, env []string) {
	t := r.t
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = r.dir
	cmd.Env = env
	// Its own process group, so stopping it stops what it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var buf syncBuffer
	lines := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			buf.WriteString(sc.Text() + "\n")
			select {
			case lines <- struct{}{}:
			default:
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Errorf("%s: cannot start: %v", r.where(b), err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); _ = pw.Close() }()
	r.bg = append(r.bg, cmd)
	r.bgDone = append(r.bgDone, done)

	deadline := time.After(blockTimeout)
	for {
		if ready(r.dir, until, buf.Bytes()) {
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Errorf("%s: ended before it was ready (%v):\n%s\n--- output ---\n%s", r.where(b), err, script, tail(buf.Bytes(), 40))
			return
		case <-lines:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Errorf("%s: not ready within %s:\n%s", r.where(b), blockTimeout, script)
			return
		}
	}
	t.Logf("%s: running in the background", r.where(b))
}

// ready tells whether a background block is ready: "until file <path>"
// once the file exists, "until output <text>" once its output holds text,
// otherwise once it printed anything.
func ready(dir, until string, out []byte) bool {
	if p, ok := strings.CutPrefix(until, "until file "); ok {
		_, err := os.Stat(filepath.Join(dir, strings.TrimSpace(p)))
		return err == nil
	}
	if text, ok := strings.CutPrefix(until, "until output "); ok {
		return bytes.Contains(out, []byte(strings.TrimSpace(text)))
	}
	return len(out) > 0
}

// stopAll interrupts the background blocks; one that had already failed
// fails the test.
func (r *runner) stopAll() {
	for i, cmd := range r.bg {
		select {
		case err := <-r.bgDone[i]:
			// A server that ended by itself, even cleanly, did not serve.
			r.t.Errorf("a background block ended (%v) before the document's end", err)
			continue
		default:
		}
		// bash forwards no signal to its children: end the whole group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-r.bgDone[i]:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-r.bgDone[i]
		}
	}
}

// env is what a user's shell would hold: this machine's tools, caches and
// database, and erpsync on the PATH (built from this checkout, as
// `go install ./cmd/erpsync` puts it there). With sandbox, also the
// sandbox's environment (every shipped config pointed at it).
func (r *runner) env(sandbox bool) []string {
	bin := filepath.Dir(erpsynctest.Binary(r.t))
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	for _, k := range []string{"HOME", "TMPDIR", "GOFLAGS", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "MYSQL_DSN", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if sandbox {
		for k, v := range r.sandboxEnv {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// fillPlaceholders replaces every NAME=... by the value a sandbox (started
// once per document) gives NAME.
func (r *runner) fillPlaceholders(b block, script string) string {
	if r.sandboxEnv == nil {
		r.sandboxEnv = startSandbox(r.t)
	}
	re := regexp.MustCompile(`\b([A-Z][A-Z0-9_]*)=\.\.\.`)
	var unknown []string
	script = re.ReplaceAllStringFunc(script, func(m string) string {
		name := strings.TrimSuffix(m, "=...")
		v, ok := r.sandboxEnv[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return name + "=" + shellQuote(v)
	})
	if len(unknown) > 0 {
		r.t.Errorf("%s: the sandbox has no value for %s", r.where(b), strings.Join(unknown, ", "))
	}
	return script
}

// startSandbox runs `erpsync sandbox --env-file` and returns the values it
// wrote.
func startSandbox(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "sandbox.env")
	cmd := exec.Command(erpsynctest.Binary(t), "sandbox", "--addr", "127.0.0.1:0", "--records", "300", "--env-file", envFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("erpsync sandbox printed no start line: %v", err)
	}
	raw, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	// The database is this machine's, as in the rest of the tests.
	env := map[string]string{"MYSQL_DSN": erpsynctest.MySQLDSN()}
	for _, l := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	return env
}

// copyRepo copies what a fresh clone holds (plus files not yet committed,
// not ignored) into a new folder.
func copyRepo(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "erpsync")
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if f == "" {
			continue
		}
		src := filepath.Join(root, f)
		info, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) WriteString(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(v)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}
