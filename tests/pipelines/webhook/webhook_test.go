// Package webhook runs config/streams/webhook_fanout.yaml as shipped.
package webhook

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

const secret = "webhook-test-secret"

type subscriber struct {
	mu     sync.Mutex
	bodies []string
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
	cmd := exec.Command(bin, "-r", erpsynctest.Path("config/resources/erpsync.yaml"), "run", erpsynctest.Path("config/streams/webhook_fanout.yaml"))
	cmd.Env = append(os.Environ(),
		"WEBHOOK_SECRET="+secret,
		"WEBHOOK_ADDR="+addr,
		"WEBHOOK_SUBSCRIBERS="+ok.srv.URL+"/hook, "+slow.srv.URL+"/hook,"+broken.srv.URL+"/hook",
		"WEBHOOK_RETRIES=2",
		"ERPSYNC_STATE_DIR="+state,
	)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("erpsync output:\n%s", logs.String())
		}
	})
	erpsynctest.WaitListening(t, addr, 30*time.Second)
	url := "http://" + addr + "/webhooks/events"

	now := strconv.FormatInt(time.Now().Unix(), 10)
	body := `{"event":"return.received","id":42,"remark":"退货入库"}`
	// Answered while the slow subscriber still holds its delivery.
	if code, ans := post(t, url, now, sign(now, body), body); code != 202 || ans["code"] != float64(0) {
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
}
