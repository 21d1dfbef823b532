// Package webhook runs config/streams/webhook_fanout.yaml as shipped.
package webhook

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

const secret = "webhook-test-secret"

type subscriber struct {
	mu     sync.Mutex
	bodies []string
	events []string // X-Erpsync-Event of each
	srv    *httptest.Server
}

func newSubscriber(t *testing.T, status int, gate chan struct{}) *subscriber {
	t.Helper()
	s := &subscriber{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		b, _ := io.ReadAll(r.Body)
		if status == http.StatusOK {
			s.mu.Lock()
			s.bodies = append(s.bodies, string(b))
			s.events = append(s.events, r.Header.Get("X-Erpsync-Event"))
			s.mu.Unlock()
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *subscriber) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

func (s *subscriber) eventIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

func sign(ts, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + body))
	return hex.EncodeToString(m.Sum(nil))
}

func post(t *testing.T, url, ts, sig, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	req.Header.Set("X-Erpsync-Timestamp", ts)
	req.Header.Set("X-Erpsync-Signature", sig)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST: %v (the receiver must answer at once)", err)
	}
	defer resp.Body.Close()
	var ans map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&ans)
	return resp.StatusCode, ans
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling an external process, not synchronising goroutines
	}
}

// process is a running erpsync.
type process struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// start runs the shipped stream with env (and extra resource files) and
// waits until it listens at addr. The process is killed when the test ends.
func start(t *testing.T, bin, addr string, env []string, resources ...string) *process {
	t.Helper()
	args := []string{"--set", "http.enabled=false", "-r", erpsynctest.Path("config/resources/erpsync.yaml")}
	for _, r := range resources {
		args = append(args, "-r", r)
	}
	args = append(args, "run", erpsynctest.Path("config/streams/webhook_fanout.yaml"))
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &process{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("erpsync output:\n%s", p.logs.String())
		}
	})
	erpsynctest.WaitListening(t, addr, 30*time.Second)
	return p
}

// kill sends SIGKILL, the crash a replay window must survive, and waits
// for the process to be gone.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(b)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// declaredOnly sends the head of a signed request declaring a body of
// length bytes and none of the body, and returns the status of the answer:
// a receiver that read the body before refusing it would never answer.
func declaredOnly(t *testing.T, addr, path string, length int64) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Erpsync-Timestamp: %s\r\nX-Erpsync-Signature: %s\r\nContent-Length: %d\r\n\r\n",
		path, addr, ts, sign(ts, "{}"), length)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a request whose body was declared and not sent: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestIntegrationWebhookFanout(t *testing.T) {
	bin := erpsynctest.Binary(t)
	release := make(chan struct{})
	ok := newSubscriber(t, http.StatusOK, nil)
	slow := newSubscriber(t, http.StatusOK, release)
	broken := newSubscriber(t, http.StatusInternalServerError, nil)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	state := t.TempDir()
	if err := os.MkdirAll(filepath.Join(state, "dead_letters"), 0o755); err != nil {
		t.Fatal(err)
	}
	addr := erpsynctest.FreeAddr(t)
	env := []string{
		"WEBHOOK_SECRET=" + secret,
		"WEBHOOK_ADDR=" + addr,
		"WEBHOOK_SUBSCRIBERS=" + ok.srv.URL + "/hook, " + slow.srv.URL + "/hook," + broken.srv.URL + "/hook",
		"WEBHOOK_RETRIES=2",
		"ERPSYNC_STATE_DIR=" + state,
	}
	p := start(t, bin, addr, env)
	url := "http://" + addr + "/webhooks/events"

	now := strconv.FormatInt(time.Now().Unix(), 10)
	body := `{"event":"return.received","id":42,"remark":"退货入库"}`
	// Answered while the slow subscriber still holds its delivery.
	code, ans := post(t, url, now, sign(now, body), body)
	eventID, _ := ans["event_id"].(string)
	if code != 202 || ans["code"] != float64(0) || ans["msg"] != "accepted" || eventID != sign(now, body)[:16] {
		t.Fatalf("valid event: %d %v", code, ans)
	}
	cases := []struct {
		name, ts, sig, body string
		want                int
	}{
		{"replay", now, sign(now, body), body, 409},
		{"bad signature", now, sign(now, body+" "), body, 401},
		{"no signature", now, "", body, 401},
		{"stale timestamp", "1000000000", sign("1000000000", body), body, 401},
		{"not JSON", now, sign(now, "not json"), "not json", 400},
	}
	for _, c := range cases {
		if code, ans := post(t, url, c.ts, c.sig, c.body); code != c.want {
			t.Errorf("%s: got %d %v, want %d", c.name, code, ans, c.want)
		}
	}
	// The shipped limit is 1 MiB (WEBHOOK_MAX_BODY_BYTES unset).
	big := `"` + strings.Repeat("x", 1<<20-1) + `"`
	if code, ans := post(t, url, now, sign(now, big), big); code != 413 {
		t.Errorf("a signed body of 1 MiB + 1: got %d %v, want 413", code, ans)
	}
	if code := postChunked(t, url, now, sign(now, big), big); code != 413 {
		t.Errorf("the same body chunked: got %d, want 413", code)
	}
	if code := declaredOnly(t, addr, "/webhooks/events", 100<<30); code != 413 {
		t.Errorf("100 GiB declared: got %d, want 413 before any of the body", code)
	}
	close(release)

	waitFor(t, "both working subscribers", func() bool { return len(ok.got()) >= 1 && len(slow.got()) >= 1 })
	dl := filepath.Join(state, "dead_letters", "webhook_fanout.jsonl")
	waitFor(t, "the dead letter of the broken subscriber", func() bool {
		b, _ := os.ReadFile(dl)
		return len(bytes.TrimSpace(b)) > 0
	})
	for _, s := range []*subscriber{ok, slow} {
		got := s.got()
		if len(got) != 1 {
			t.Fatalf("subscriber got %d events, want exactly the accepted one: %v", len(got), got)
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(got[0]), &ev); err != nil || ev["id"] != float64(42) || ev["remark"] != "退货入库" {
			t.Fatalf("delivered event %q (%v)", got[0], err)
		}
	}
	f, err := os.Open(dl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("dead letter line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 1 || lines[0]["subscriber"] != broken.srv.URL+"/hook" || lines[0]["error"] == "" {
		t.Fatalf("dead letters: %v", lines)
	}
	if p, _ := lines[0]["payload"].(map[string]any); p["id"] != float64(42) {
		t.Fatalf("dead letter payload %v", lines[0]["payload"])
	}
	if ids := ok.eventIDs(); len(ids) != 1 || ids[0] != eventID {
		t.Fatalf("X-Erpsync-Event %v, want the event_id answered, %s", ids, eventID)
	}

	// A crash and a restart: the replay window is on disk.
	if _, err := os.Stat(filepath.Join(state, "replays", "webhook_fanout.log")); err != nil {
		t.Fatalf("the replay file: %v", err)
	}
	p.kill()
	start(t, bin, addr, env)
	if code, ans := post(t, url, now, sign(now, body), body); code != 409 {
		t.Fatalf("the accepted request replayed after SIGKILL and restart: got %d %v, want 409", code, ans)
	}
	next := `{"event":"return.received","id":43}`
	if code, ans := post(t, url, now, sign(now, next), next); code != 202 {
		t.Fatalf("a new event after the restart: %d %v", code, ans)
	}
	waitFor(t, "the new event at the working subscriber", func() bool { return len(ok.got()) >= 2 })
	if got := ok.got(); len(got) != 2 || !strings.Contains(got[1], `"id":43`) {
		t.Fatalf("after the restart the subscriber got %v, want the old event once and the new one", got)
	}
}

// The replay window in MySQL (WEBHOOK_REPLAY_CACHE naming a mysql cache of
// an extra resource file) survives SIGKILL and a restart too.
func TestIntegrationWebhookReplayWindowInMySQL(t *testing.T) {
	bin := erpsynctest.Binary(t)
	db := erpsynctest.OpenDB(t)
	table := fmt.Sprintf("erpsync_webhook_replays_%d", time.Now().UnixNano())
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + table) })
	res := filepath.Join(t.TempDir(), "webhook_replays.yaml")
	if err := os.WriteFile(res, []byte(fmt.Sprintf("cache_resources:\n  - label: webhook_replays\n    mysql:\n      dsn: ${MYSQL_DSN}\n      table: %s\n", table)), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := newSubscriber(t, http.StatusOK, nil)
	state := t.TempDir()
	addr := erpsynctest.FreeAddr(t)
	env := []string{
		"WEBHOOK_SECRET=" + secret,
		"WEBHOOK_ADDR=" + addr,
		"WEBHOOK_SUBSCRIBERS=" + ok.srv.URL + "/hook",
		"WEBHOOK_REPLAY_CACHE=webhook_replays",
		"MYSQL_DSN=" + erpsynctest.MySQLDSN(),
		"ERPSYNC_STATE_DIR=" + state,
	}
	p := start(t, bin, addr, env, res)
	url := "http://" + addr + "/webhooks/events"
	now := strconv.FormatInt(time.Now().Unix(), 10)
	body := `{"event":"shop.updated","id":7}`
	if code, ans := post(t, url, now, sign(now, body), body); code != 202 {
		t.Fatalf("valid event: %d %v", code, ans)
	}
	var rows int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("replay rows in %s: %d (%v), want 1", table, rows, err)
	}
	if _, err := os.Stat(filepath.Join(state, "replays", "webhook_fanout.log")); err == nil {
		t.Fatal("a replay file was written although the window is in MySQL")
	}
	// Delivered before the crash: an event still in the memory buffer would
	// be lost with the process (see the stream's header).
	waitFor(t, "the event at the subscriber", func() bool { return len(ok.got()) >= 1 })
	p.kill()
	start(t, bin, addr, env, res)
	if code, ans := post(t, url, now, sign(now, body), body); code != 409 {
		t.Fatalf("replayed after SIGKILL and restart: got %d %v, want 409", code, ans)
	}
}

// postChunked sends body without a declared length: the client sends a
// reader of unknown length in chunks.
func postChunked(t *testing.T, url, ts, sig, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, struct{ io.Reader }{strings.NewReader(body)})
	req.Header.Set("X-Erpsync-Timestamp", ts)
	req.Header.Set("X-Erpsync-Signature", sig)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("chunked POST: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
