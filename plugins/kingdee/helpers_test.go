package kingdee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
)

// Sandbox credentials (sandbox/k3cloud/config.go DefaultConfig).
const (
	sbAcct      = "sandbox-k3-acct"
	sbUser      = "sandbox-k3-user"
	sbPass      = "sandbox-k3-pass"
	sbAppID     = "200001_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
	sbAppSecret = "sandbox-k3-secret"
)

func init() {
	// Fault tests meet many failures in a row; keep their backoff short.
	retryBase, maxBackoff = 20*time.Millisecond, 200*time.Millisecond
}

// startSandbox runs a sandbox without rate limits; mod adjusts the options.
func startSandbox(t testing.TB, mod func(*sandbox.Options)) *sandbox.Server {
	t.Helper()
	o := sandbox.DefaultOptions()
	o.Records = 10
	o.Limits = false
	if mod != nil {
		mod(&o)
	}
	sb, err := sandbox.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

func k3URL(sb *sandbox.Server) string { return sb.URL() + "/k3cloud/" }

func clientConfig(sb *sandbox.Server, mode string) Config {
	return Config{URL: k3URL(sb), Mode: mode, AcctID: sbAcct, Username: sbUser, AppID: sbAppID,
		AppSecret: sbAppSecret, Password: sbPass, LCID: 2052, Timeout: 5 * time.Second}
}

func newTestClient(t testing.TB, sb *sandbox.Server, mode string) *Client {
	t.Helper()
	c, err := NewClient(clientConfig(sb, mode))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authYAML is the auth block of a component config for mode.
func authYAML(mode string) string {
	return fmt.Sprintf(`auth:
  mode: %s
  acct_id: %s
  username: %s
  app_id: %s
  app_secret: %s
  password: %s`, mode, sbAcct, sbUser, sbAppID, sbAppSecret, sbPass)
}

// customer is a minimal BD_Customer Model.
func customer(no, name string) string {
	return fmt.Sprintf(`{"FNumber":%q,"FName":%q,"FCreateOrgId":{"FNumber":"100"},"FUseOrgId":{"FNumber":"100"}}`, no, name)
}

func custNo(i int) string { return fmt.Sprintf("CUS%05d", i) }

// targetDocs reads the sandbox's introspection of a form, by number.
func targetDocs(t testing.TB, sb *sandbox.Server, form string) map[string]core.TargetDoc {
	t.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/k3cloud/" + form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Documents []core.TargetDoc `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]core.TargetDoc, len(body.Documents))
	for _, d := range body.Documents {
		out[d.Number] = d
	}
	return out
}

// captured is what the dead-letter tier received.
type captured struct {
	mu   sync.Mutex
	msgs []capturedMsg
}

type capturedMsg struct {
	body string
	meta map[string]string
}

func (c *captured) list() []capturedMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]capturedMsg(nil), c.msgs...)
}

// captureOutput is a test output storing what it receives.
type captureOutput struct{ c *captured }

func (o captureOutput) Connect(context.Context) error { return nil }
func (o captureOutput) Close(context.Context) error   { return nil }
func (o captureOutput) WriteBatch(_ context.Context, b service.MessageBatch) error {
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	for _, m := range b {
		body, _ := m.AsBytes()
		meta := map[string]string{}
		_ = m.MetaWalk(func(k, v string) error { meta[k] = v; return nil })
		o.c.msgs = append(o.c.msgs, capturedMsg{body: string(body), meta: meta})
	}
	return nil
}

// run describes one stream run of the dead-letter pipeline.
type run struct {
	output  string // the kingdee_batchsave config, YAML starting with "kingdee_batchsave:"
	count   int    // documents generated
	mapping string // Bloblang building document $n (1-based) into root
	// cancelWhen, checked for every message entering the output stage,
	// cancels the run when true, simulating a crash with writes in flight;
	// the input then paces itself at one message per 3 ms.
	cancelWhen func() bool
}

// runPipeline runs a generate input (auto-replaying nacks) through
// fallback: [kingdee_batchsave, switch: [permanent -> capture, else -> reject]],
// the documented dead-letter pattern, and returns what was dead-lettered.
func runPipeline(t *testing.T, r run) []capturedMsg {
	t.Helper()
	env := service.NewEnvironment()
	capt := &captured{}
	if err := env.RegisterBatchOutput("kingdee_test_capture", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			return captureOutput{capt}, service.BatchPolicy{}, 1, nil
		}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var seen atomic.Int64
	if err := env.RegisterProcessor("kingdee_test_tripwire", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Resources) (service.Processor, error) {
			return tripwire(func() {
				// Cut when the condition holds, at the latest on the last
				// message, which cannot have been written yet.
				if n := seen.Add(1); r.cancelWhen != nil && (r.cancelWhen() || n == int64(r.count)) {
					cancel()
				}
			}), nil
		}); err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	if err := b.SetLoggerYAML("level: " + logLevel); err != nil {
		t.Fatal(err)
	}
	interval := ""
	if r.cancelWhen != nil {
		interval = "3ms"
	}
	in := fmt.Sprintf(`
generate:
  count: %d
  interval: "%s"
  batch_size: 25
  mapping: |
    let n = counter()
    %s
`, r.count, interval, indent(r.mapping, "    "))
	if err := b.AddInputYAML(in); err != nil {
		t.Fatalf("input config: %v\n%s", err, in)
	}
	if err := b.AddProcessorYAML("kingdee_test_tripwire: {}"); err != nil {
		t.Fatal(err)
	}
	out := fmt.Sprintf(`
fallback:
  - %s
  - switch:
      cases:
        - check: '@fallback_error.has_suffix("(permanent)")'
          output:
            kingdee_test_capture: {}
            processors:
              - mapping: |
                  meta erpsync_error = @fallback_error
        - output:
            reject: '${! @fallback_error }'
`, indent(r.output, "    "))
	if err := b.AddOutputYAML(out); err != nil {
		t.Fatalf("output config: %v\n%s", err, out)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(ctx)
	if ctx.Err() != nil {
		// Run returns at once on cancellation; stop the stream now, without
		// grace, as a crash would.
		_ = s.StopWithin(time.Millisecond)
	}
	if r.cancelWhen != nil {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("the run was to be cut part way; it ended with %v", err)
		}
	} else if err != nil {
		t.Fatalf("stream: %v", err)
	}
	return capt.list()
}

// customerMapping builds BD_Customer number CUS<n>.
const customerMapping = `root = {"FNumber": "CUS%05d".format($n), "FName": "客户" + $n.string(), "FCreateOrgId": {"FNumber": "100"}, "FUseOrgId": {"FNumber": "100"}}`

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := 1; i < len(lines); i++ {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n")
}

// tripwire is a processor calling fn for every message.
type tripwire func()

func (f tripwire) Process(_ context.Context, m *service.Message) (service.MessageBatch, error) {
	f()
	return service.MessageBatch{m}, nil
}

func (f tripwire) Close(context.Context) error { return nil }

// logLevel of test streams; KINGDEE_TEST_LOG=debug shows what they do.
var logLevel = func() string {
	if l := os.Getenv("KINGDEE_TEST_LOG"); l != "" {
		return l
	}
	return "none"
}()
