package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

// inputYAML is a webhook input on a free loopback port with its replay file
// under dir.
func inputYAML(dir, extra string) string {
	return fmt.Sprintf(`
address: 127.0.0.1:0
path: /hook
secret: %s
replay:
  file: %s
%s`, testSecret, filepath.Join(dir, "replays.log"), extra)
}

func newInput(t *testing.T, yaml string, mgr *service.Resources) (*webhookInput, error) {
	t.Helper()
	conf, err := webhookInputSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if mgr == nil {
		mgr = service.MockResources()
	}
	return newWebhookInputFromParsed(conf, mgr)
}

type readMsg struct {
	body string
	meta map[string]string
}

// running is a connected input read by a goroutine that acknowledges each
// message with verdict's answer (nil: success).
type running struct {
	in  *webhookInput
	url string

	mu      sync.Mutex
	msgs    []readMsg
	verdict error
	stopped chan struct{}
}

func startInput(t *testing.T, yaml string, mgr *service.Resources) *running {
	t.Helper()
	in, err := newInput(t, yaml, mgr)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := &running{in: in, url: "http://" + in.boundAddr().String() + "/hook", stopped: make(chan struct{})}
	go func() {
		defer close(r.stopped)
		for {
			m, ack, err := in.Read(context.Background())
			if err != nil {
				return
			}
			b, _ := m.AsBytes()
			meta := map[string]string{}
			_ = m.MetaWalk(func(k, v string) error { meta[k] = v; return nil })
			r.mu.Lock()
			r.msgs = append(r.msgs, readMsg{body: string(b), meta: meta})
			verdict := r.verdict
			r.mu.Unlock()
			_ = ack(context.Background(), verdict)
		}
	}()
	t.Cleanup(func() { r.close(t) })
	return r
}

func (r *running) close(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := r.in.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	<-r.stopped
}

func (r *running) read() []readMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]readMsg(nil), r.msgs...)
}

func TestInputEmitsTheAcceptedEvent(t *testing.T) {
	r := startInput(t, inputYAML(t.TempDir(), ""), nil)
	now := nowTS()
	body := `{"event":"退货入库","id":2,"remark":"客户退回，外箱破损", "spaced" : [ 1, 2 ]}`
	sig := sign(now, body)
	got := post(t, r.url, now, sig, body)
	if got.status != 202 || got.body.Code != 0 || got.body.Msg != "accepted" || got.body.EventID != sig[:16] {
		t.Fatalf("got %d %+v", got.status, got.body)
	}
	msgs := r.read()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	want := map[string]string{MetaEventID: sig[:16], MetaTimestamp: now, MetaRemoteIP: "127.0.0.1"}
	if msgs[0].body != body || fmt.Sprint(msgs[0].meta) != fmt.Sprint(want) {
		t.Fatalf("message %q %v, want the body byte for byte and %v", msgs[0].body, msgs[0].meta, want)
	}
	if got := post(t, r.url, now, sig, body); got.status != 409 {
		t.Fatalf("replay: %d %+v", got.status, got.body)
	}
	if n := len(r.read()); n != 1 {
		t.Fatalf("%d messages after the replay, want 1", n)
	}
}

func TestInputRestartKeepsTheReplayWindow(t *testing.T) {
	now := nowTS()
	body := `{"event":"shop.updated","id":4}`
	for _, tc := range []struct {
		name  string
		extra string
		mgr   *service.Resources
	}{
		{"file", "", nil},
		{"cache resource", "  cache: replays\n", service.MockResources(service.MockResourcesOptAddCache("replays"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first := startInput(t, inputYAML(dir, tc.extra), tc.mgr)
			if got := post(t, first.url, now, sign(now, body), body); got.status != 202 {
				t.Fatalf("first: %d %+v", got.status, got.body)
			}
			first.close(t)

			second := startInput(t, inputYAML(dir, tc.extra), tc.mgr)
			if got := post(t, second.url, now, sign(now, body), body); got.status != 409 {
				t.Fatalf("replay after the restart: %d %+v, want 409", got.status, got.body)
			}
			other := `{"event":"shop.updated","id":5}`
			if got := post(t, second.url, now, sign(now, other), other); got.status != 202 {
				t.Fatalf("a new event after the restart: %d %+v", got.status, got.body)
			}
			if n := len(second.read()); n != 1 {
				t.Fatalf("the restarted input emitted %d messages, want the new one", n)
			}
		})
	}
}

func TestInputNackAsksForARetry(t *testing.T) {
	r := startInput(t, inputYAML(t.TempDir(), ""), nil)
	r.mu.Lock()
	r.verdict = errors.New("output refused")
	r.mu.Unlock()
	now := nowTS()
	body := `{"id":7}`
	if got := post(t, r.url, now, sign(now, body), body); got.status != 503 {
		t.Fatalf("nacked: %d %+v, want 503", got.status, got.body)
	}
	r.mu.Lock()
	r.verdict = nil
	r.mu.Unlock()
	if got := post(t, r.url, now, sign(now, body), body); got.status != 202 {
		t.Fatalf("retry: %d %+v, want 202", got.status, got.body)
	}
}

func TestInputConfigErrorsKeepTheSecret(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"empty secret", "secret: ''\nreplay: {file: " + filepath.Join(dir, "a.log") + "}", "secret is empty"},
		{"unknown replay cache", inputYAML(dir, "  cache: nope\n"), `replay.cache "nope"`},
		{"path without slash", inputYAML(dir, "") + "\npath: hook", "must start with /"},
		{"skew under a second", inputYAML(dir, "") + "\nmax_skew: 10ms", "max_skew"},
		{"no body allowed", inputYAML(dir, "") + "\nmax_body_bytes: 0", "max_body_bytes"},
		{"nowhere to keep the window", "secret: " + testSecret + "\nreplay: {file: ''}", "replay.file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The overrides are appended: without the default path line, so
			// that one may set it.
			_, err := newInput(t, strings.Replace(tc.yaml, "path: /hook\n", "", 1), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("the error quotes the secret: %v", err)
			}
		})
	}

	// A replay file that cannot be opened fails Connect, naming the file only.
	blocked := filepath.Join(dir, "blocked")
	in, err := newInput(t, "secret: "+testSecret+"\naddress: 127.0.0.1:0\nreplay: {file: "+blocked+"/sub/r.log}", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocked, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = in.Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), blocked) || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("connect: %v", err)
	}
	_ = in.Close(context.Background())
}

func TestSpecExampleLints(t *testing.T) {
	t.Setenv("WEBHOOK_SECRET", "x")
	if err := service.NewStreamBuilder().SetYAML(exampleInput); err != nil {
		t.Fatalf("example does not lint: %v", err)
	}
	for name, conf := range map[string]string{
		"max_body_bytes": "input:\n  webhook:\n    secret: x\n    max_body_bytes: 0\n",
		"path":           "input:\n  webhook:\n    secret: x\n    path: hook\n",
	} {
		err := service.NewStreamBuilder().SetYAML(conf)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: lint said %v", name, err)
		}
	}
}

// Through a whole stream: with a buffer, the answer does not wait for the
// output; refusals are logged without the secret, a signature or a body.
func TestInputInAStream(t *testing.T) {
	addr := erpsynctest.FreeAddr(t)
	var logs syncBuffer
	b := service.NewStreamBuilder()
	b.SetLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := b.AddInputYAML(fmt.Sprintf(`
webhook:
  address: %s
  path: /hook
  secret: %s
  replay:
    file: %s
`, addr, testSecret, filepath.Join(t.TempDir(), "replays.log"))); err != nil {
		t.Fatal(err)
	}
	if err := b.SetBufferYAML("memory: {}"); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	got := make(chan readMsg, 4)
	if err := b.AddConsumerFunc(func(ctx context.Context, m *service.Message) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		body, _ := m.AsBytes()
		id, _ := m.MetaGet(MetaEventID)
		got <- readMsg{body: string(body), meta: map[string]string{MetaEventID: id}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- stream.Run(context.Background()) }()
	erpsynctest.WaitListening(t, addr, guard)
	url := "http://" + addr + "/hook"

	now := nowTS()
	body := `{"event":"return.received","id":42}`
	sig := sign(now, body)
	// The consumer is held at its gate: a 202 now comes from the buffer.
	if a := post(t, url, now, sig, body); a.status != 202 {
		t.Fatalf("accepted: %d %+v", a.status, a.body)
	}
	refusals := map[int]reply{
		409: post(t, url, now, sig, body),
		401: post(t, url, now, sign(now, "{}"), body),
		400: post(t, url, now, sign(now, "nope"), "nope"),
	}
	for want, a := range refusals {
		if a.status != want {
			t.Errorf("got %d %+v, want %d", a.status, a.body, want)
		}
	}
	close(gate)
	select {
	case m := <-got:
		if m.body != body || m.meta[MetaEventID] != sig[:16] {
			t.Fatalf("consumed %+v", m)
		}
	case <-time.After(guard):
		t.Fatal("the accepted event never reached the output")
	}
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := stream.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-runErr

	out := logs.String()
	for _, want := range []string{"webhook refused: 409 replayed request", "webhook refused: 401 bad or missing signature", "webhook refused: 400 body is not JSON", "receiving POST /hook on " + addr} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	for _, never := range []string{testSecret, sig, sig[16:], "return.received"} {
		if strings.Contains(out, never) {
			t.Errorf("logs hold %q:\n%s", never, out)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
