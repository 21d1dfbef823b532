package kis

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/fatal"
	// The spec examples use erpsync's Bloblang methods (kd_datetime).
	_ "github.com/erpsync/erpsync/plugins/bloblang"
	// The ledger of the examples is a state cache.
	_ "github.com/erpsync/erpsync/plugins/state"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	kissim "github.com/erpsync/erpsync/sandbox/kis"
)

// captured is what the test capture output received, by capture name.
type captured struct {
	mu   sync.Mutex
	msgs []capturedMsg
}

type capturedMsg struct {
	body string
	meta map[string]string
}

var (
	capturesMu sync.Mutex
	captures   = map[string]*captured{}
)

func capture(name string) *captured {
	capturesMu.Lock()
	defer capturesMu.Unlock()
	c, ok := captures[name]
	if !ok {
		c = &captured{}
		captures[name] = c
	}
	return c
}

func (c *captured) list() []capturedMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]capturedMsg(nil), c.msgs...)
}

type captureOutput struct{ c *captured }

func (o captureOutput) Connect(context.Context) error { return nil }
func (o captureOutput) Close(context.Context) error   { return nil }
func (o captureOutput) Write(_ context.Context, m *service.Message) error {
	b, _ := m.AsBytes()
	meta := map[string]string{}
	_ = m.MetaWalk(func(k, v string) error { meta[k] = v; return nil })
	o.c.mu.Lock()
	defer o.c.mu.Unlock()
	o.c.msgs = append(o.c.msgs, capturedMsg{body: string(b), meta: meta})
	return nil
}

func init() {
	service.MustRegisterOutput("kis_test_capture",
		service.NewConfigSpec().Field(service.NewStringField("name")),
		func(conf *service.ParsedConfig, _ *service.Resources) (service.Output, int, error) {
			name, err := conf.FieldString("name")
			return captureOutput{capture(name)}, 1, err
		})
}

// kisYAML is the kis output config against the sandbox, with extra lines.
func kisYAML(sb *sandbox.Server, extra string) string {
	k := kissim.DefaultConfig()
	return fmt.Sprintf(`kis:
  base_url: %s
  client_id: %s
  client_secret: %s
  auth_code: %s
  acct_number: %s
  pid: %s
  icrmid: %s
  ledger: kis_ledger
  backoff:
    initial_interval: 10ms
    max_interval: 100ms
%s`, sb.URL(), k.ClientID, k.ClientSecret, k.AuthCode, k.AcctNumber, k.PID, k.ICRMID, indent(extra, "  "))
}

func indent(s, pre string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// pipeline is one run of a stream: a producer feeding outputYAML with a
// file cache "kis_ledger" in ledgerDir, so the ledger outlives the stream.
type pipeline struct {
	stream  *service.Stream
	produce service.MessageBatchHandlerFunc
	done    chan error
}

func startPipeline(t *testing.T, outputYAML, ledgerDir string, logger service.PrintLogger) *pipeline {
	t.Helper()
	b := service.NewStreamBuilder()
	if logger != nil {
		b.SetPrintLogger(logger)
	} else if err := b.SetLoggerYAML("level: none"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddCacheYAML(fmt.Sprintf("label: kis_ledger\nfile:\n  directory: %s", ledgerDir)); err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML(outputYAML); err != nil {
		t.Fatal(err)
	}
	produce, err := b.AddBatchProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{stream: s, produce: produce, done: make(chan error, 1)}
	go func() { p.done <- s.Run(context.Background()) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *pipeline) send(ctx context.Context, bills [][]byte) error {
	batch := make(service.MessageBatch, len(bills))
	for i, b := range bills {
		batch[i] = service.NewMessage(b)
	}
	return p.produce(ctx, batch)
}

func (p *pipeline) stop(t *testing.T) {
	t.Helper()
	if p.stream == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.stream.Stop(ctx)
	<-p.done
	p.stream = nil
}

// runOnce runs a pipeline over bills to completion and stops it.
func runOnce(t *testing.T, outputYAML, ledgerDir string, bills [][]byte) error {
	t.Helper()
	p := startPipeline(t, outputYAML, ledgerDir, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.send(ctx, bills)
	p.stop(t)
	return err
}

func numbers(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, billNo(i))
	}
	return out
}

func TestIntegrationKISExactlyOnceThroughRestartsAndFaults(t *testing.T) {
	sb := startSandbox(t, nil)
	ledger := t.TempDir()
	out := kisYAML(sb, "max_in_flight: 4\ntimeout: 300ms")
	faults := core.Faults{ErrorRate: 0.2, TimeoutRate: 0.2}

	// Run 1 writes half, run 2 (a restart: new stream, same ledger) replays
	// it with the other half, both under transport faults.
	setFaults(t, sb, faults)
	if err := runOnce(t, out, ledger, makeBills(0, 20)); err != nil {
		t.Fatalf("run 1: %v", err)
	}
	created1 := count(sb, DefaultCreatePath, "")
	if err := runOnce(t, out, ledger, makeBills(0, 40)); err != nil {
		t.Fatalf("run 2: %v", err)
	}
	if faulted := count(sb, "", "timeout") + count(sb, "", "http_500") + count(sb, "", "http_502"); faulted == 0 {
		t.Fatal("no fault was injected; the test proves nothing")
	}

	// Run 3 is killed while bills hang: some land unseen, none is acked.
	p := startPipeline(t, out, ledger, nil)
	setFaults(t, sb, core.Faults{TimeoutRate: 0.6})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = p.send(ctx, makeBills(40, 50))
	cancel()
	p.stop(t)

	// Run 4 replays everything without faults.
	setFaults(t, sb, core.Faults{})
	if err := runOnce(t, out, ledger, makeBills(0, 50)); err != nil {
		t.Fatalf("run 4: %v", err)
	}
	exactlyOnce(t, sb, numbers(0, 50))
	if n := count(sb, DefaultCreatePath, "0"); n != 50 {
		t.Fatalf("successful creates = %d, want 50 (each bill created once)", n)
	}

	// Run 5: the same bills again make no create call at all.
	before := count(sb, DefaultCreatePath, "")
	if err := runOnce(t, out, ledger, makeBills(0, 50)); err != nil {
		t.Fatalf("run 5: %v", err)
	}
	if n := count(sb, DefaultCreatePath, "") - before; n != 0 {
		t.Fatalf("second run made %d create calls, want 0", n)
	}
	if created1 == 0 {
		t.Fatal("run 1 made no create call")
	}
}

func TestIntegrationKISCredentialExpiryInStream(t *testing.T) {
	tests := []struct {
		name        string
		faults      core.Faults
		refusedCode string
	}{
		{"token_ttl", core.Faults{TokenTTL: core.Duration(30 * time.Minute)}, "40102"},
		{"session_ttl", core.Faults{SessionTTL: core.Duration(30 * time.Minute)}, "40104"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			old := clockNow
			clockNow = clock.Now
			t.Cleanup(func() { clockNow = old })
			sb := startSandbox(t, clock)
			p := startPipeline(t, kisYAML(sb, ""), t.TempDir(), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const n = 16
			for i := range n {
				if i == 1 {
					// Shortened after the first login: one refusal, then
					// the client knows the real lifetime and renews ahead.
					setFaults(t, sb, tt.faults)
				}
				if err := p.send(ctx, makeBills(i, i+1)); err != nil {
					t.Fatalf("bill %d: %v", i, err)
				}
				clock.Advance(5 * time.Minute)
			}
			exactlyOnce(t, sb, numbers(0, n))
			if got := count(sb, DefaultCreatePath, tt.refusedCode); got != 1 {
				t.Fatalf("refusals %s = %d, want exactly 1 (later renewals must come ahead of expiry)", tt.refusedCode, got)
			}
			// 80 minutes against 30-minute lifetimes: after the refusal at
			// least one renewal ahead of expiry, by refresh, not a new login.
			if got := count(sb, pathRefreshLogin, "0"); got < 1 {
				t.Fatalf("refreshes = %d, want at least one ahead of expiry", got)
			}
			if got := count(sb, pathAccessToken, "0"); got > 2 {
				t.Fatalf("code exchanges = %d, want at most 2 (first login and the refused session)", got)
			}
		})
	}
}

func TestIntegrationKISRejectedBillsReachFallback(t *testing.T) {
	sb := startSandbox(t, nil)
	ledger := t.TempDir()
	name := t.Name()
	out := fmt.Sprintf(`fallback:
  - %s
  - processors:
      - mapping: meta erpsync_error = @fallback_error
    kis_test_capture:
      name: %s
`, strings.ReplaceAll(strings.TrimRight(kisYAML(sb, "max_in_flight: 4"), "\n"), "\n", "\n    "), name)
	setFaults(t, sb, core.Faults{RowFailRate: 0.3, ErrorRate: 0.1})

	const n = 30
	var good, bad []string
	for _, no := range numbers(0, n) {
		if sb.Env().RowFails("kis:" + no) {
			bad = append(bad, no)
		} else {
			good = append(good, no)
		}
	}
	if len(bad) == 0 || len(good) == 0 {
		t.Fatalf("row_fail_rate picked %d bad of %d; need both kinds", len(bad), n)
	}

	if err := runOnce(t, out, ledger, makeBills(0, n)); err != nil {
		t.Fatalf("run 1: %v (every bill must be acked: written or dead-lettered)", err)
	}
	exactlyOnce(t, sb, good)
	if got := count(sb, DefaultCreatePath, "20005"); got != len(bad) {
		t.Fatalf("rejected creates = %d, want %d (a rejected bill is sent once)", got, len(bad))
	}
	dead := capture(name).list()
	if len(dead) != len(bad) {
		t.Fatalf("dead letters = %d, want %d", len(dead), len(bad))
	}
	for _, m := range dead {
		var bill struct{ Head struct{ FBillNo string } }
		if err := json.Unmarshal([]byte(m.body), &bill); err != nil {
			t.Fatal(err)
		}
		e := m.meta[MetaError]
		for _, want := range []string{"bill " + bill.Head.FBillNo, "kis", DefaultCreatePath, "code 20005", "保存校验失败"} {
			if !strings.Contains(e, want) {
				t.Fatalf("dead letter %s: %s = %q lacks %q", bill.Head.FBillNo, MetaError, e, want)
			}
		}
		if !sb.Env().RowFails("kis:" + bill.Head.FBillNo) {
			t.Fatalf("good bill %s was dead-lettered", bill.Head.FBillNo)
		}
	}

	// Again: the good bills are in the ledger (no call); the bad ones are
	// tried once more and dead-lettered again.
	before := count(sb, DefaultCreatePath, "")
	if err := runOnce(t, out, ledger, makeBills(0, n)); err != nil {
		t.Fatalf("run 2: %v", err)
	}
	calls := count(sb, DefaultCreatePath, "") - before
	faulted := count(sb, DefaultCreatePath, "http_500") + count(sb, DefaultCreatePath, "http_502")
	if calls-faulted > len(bad) || calls < len(bad) {
		t.Fatalf("second run: %d create calls (%d faulted), want %d (only the rejected bills)", calls, faulted, len(bad))
	}
}

// logBuffer is a PrintLogger that keeps every line and signals one.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
	match string
	hit   chan string
}

func (l *logBuffer) Printf(format string, v ...any) { l.add(fmt.Sprintf(format, v...)) }
func (l *logBuffer) Println(v ...any)               { l.add(fmt.Sprintln(v...)) }
func (l *logBuffer) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	if strings.Contains(s, l.match) {
		select {
		case l.hit <- s:
		default:
		}
	}
}

func (l *logBuffer) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestIntegrationKISWrongSecretIsClearAndSecretFree(t *testing.T) {
	fatal.Reset()
	t.Cleanup(fatal.Reset)
	sb := startSandbox(t, nil)
	const secret = "wrong-secret-value-4711"
	out := strings.Replace(kisYAML(sb, ""), "client_secret: "+kissim.DefaultConfig().ClientSecret, "client_secret: "+secret, 1)
	logs := &logBuffer{match: "Failed to connect", hit: make(chan string, 1)}
	p := startPipeline(t, out, t.TempDir(), logs)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.send(ctx, makeBills(0, 1))
	}()
	var line string
	select {
	case line = <-logs.hit:
	case <-time.After(10 * time.Second):
		t.Fatalf("no connection error logged; logs:\n%s", logs.all())
	}
	p.stop(t)
	for _, want := range []string{"kis", pathAccessToken, "code 40001", "client_id或client_secret错误", "check client_id, client_secret"} {
		if !strings.Contains(line, want) {
			t.Fatalf("log line %q lacks %q", line, want)
		}
	}
	if all := logs.all(); strings.Contains(all, secret) || strings.Contains(all, kissim.DefaultConfig().AuthCode) {
		t.Fatalf("logs leak a secret:\n%s", all)
	}
	if n := count(sb, DefaultCreatePath, ""); n != 0 {
		t.Fatalf("%d create calls without credentials", n)
	}
	if n := len(storedBills(t, sb)); n != 0 {
		t.Fatalf("%d bills stored", n)
	}
	// A refused app credential can only be fixed by the user: the output
	// stopped the process (internal/fatal) with the same words.
	found := false
	for _, e := range fatal.Errs() {
		found = found || strings.Contains(e.Error(), "code 40001") && strings.Contains(e.Error(), "check client_id, client_secret")
	}
	if !found {
		t.Fatalf("fatal.Errs() = %v, want the refused credential", fatal.Errs())
	}
}

func TestInspectBill(t *testing.T) {
	tests := []struct {
		name, body, wantNo, wantErr string
	}{
		{"bill", `{"Head":{"FBillNo":"JST1"},"Entry":[]}`, "JST1", ""},
		{"numeric number", `{"Head":{"FBillNo":12345},"Entry":[]}`, "12345", ""},
		{"no number", `{"Head":{"Fdate":"2025-01-01"},"Entry":[]}`, "", "FBillNo is missing"},
		{"wrapped", `{"Object":{"Head":{"FBillNo":"JST1"}}}`, "", `wrapped in "Object"`},
		{"not json", `Head=1`, "", "not a JSON object"},
		{"head not object", `{"Head":[1]}`, "", "Head is not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, no, err := inspectBill([]byte(tt.body))
			if tt.wantErr == "" && (err != nil || no != tt.wantNo) {
				t.Fatalf("got %q, %v; want %q", no, err, tt.wantNo)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestKISConfigLint(t *testing.T) {
	tests := []struct {
		name, extra string
		wantErr     bool
	}{
		{"defaults", "", false},
		{"api outside koas", "api: /api/create", true},
		{"api with query", "api: /koas/x/create?a=1", true},
		{"zero in flight", "max_in_flight: 0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "kis:\n  base_url: http://127.0.0.1:1\n  client_id: a\n  client_secret: b\n  auth_code: c\n  acct_number: d\n  ledger: l\n" + indent(tt.extra, "  ")
			err := service.NewStreamBuilder().AddOutputYAML(y)
			if (err != nil) != tt.wantErr {
				t.Fatalf("AddOutputYAML err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestSpecExamplesAreValidConfigs(t *testing.T) {
	for _, v := range []string{"KIS_BASE_URL", "KIS_CLIENT_ID", "KIS_CLIENT_SECRET", "KIS_AUTH_CODE", "KIS_ACCT_NUMBER", "KIS_PID", "KIS_ICRMID"} {
		t.Setenv(v, "http://127.0.0.1:1")
	}
	var examples []service.TemplatDataPluginExample
	service.GlobalEnvironment().WalkOutputs(func(name string, view *service.ConfigView) {
		if name != "kis" {
			return
		}
		data, err := view.TemplateData()
		if err != nil {
			t.Fatal(err)
		}
		examples = data.Examples
	})
	if len(examples) == 0 {
		t.Fatal("the kis spec has no example")
	}
	for _, ex := range examples {
		if err := service.NewStreamBuilder().SetYAML(ex.Config); err != nil {
			t.Errorf("example %q: %v", ex.Title, err)
		}
	}
}
