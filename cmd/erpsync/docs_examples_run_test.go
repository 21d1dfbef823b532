package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/xuri/excelize/v2"
	"gopkg.in/yaml.v3"

	"github.com/erpsync/erpsync/internal/docgen"
	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	sbwdt "github.com/erpsync/erpsync/sandbox/wdt"
	sbxbb "github.com/erpsync/erpsync/sandbox/xbb"
)

// exampleRun says how one spec example runs here, or why it cannot. A run
// takes the example as written and changes only where it connects (a
// vendor's base_url to the sandbox, a broker address, a DSN, a listening
// port), how it ends (stop_when_caught_up, a generate input with a count),
// and what it reads when it has no input of its own; every change is said
// in the run's comment.
type exampleRun struct {
	// skip is why the example cannot run here (run is nil then).
	skip string
	// mysql: the run needs the MySQL/MariaDB at MYSQL_DSN and is skipped,
	// saying so, when none answers.
	mysql bool
	run   func(t *testing.T, h *harness, conf cfg)
}

// exampleRuns has one entry per example of every erpsync component spec,
// keyed by exampleKey; TestDocsExamplesRun fails on an example missing here.
var exampleRuns = map[string]exampleRun{
	"input dead_letters: Replay KIS dead letters":         {mysql: true, run: runReplay},
	"output dead_letter_resolve: Replay KIS dead letters": {mysql: true, run: runReplay},
	"output dead_letter: KIS bills to the dead-letter table": {mysql: true, run: func(t *testing.T, h *harness, conf cfg) {
		_, _ = runDeadLetter(t, h, conf)
	}},
	"input jushuitan: Confirmed other-return bills":          {run: runJushuitan},
	"input wdt: Shops through Qimen":                         {run: runWDT},
	"input xbb: Products changed since the last run":         {run: runXBB},
	"input xbb: Customers of the customer form":              {run: runXBBCustomers},
	"input webhook: Signed push notifications":               {run: runWebhook},
	"input kafka: Second half of a split pipeline":           {run: runKafkaInput},
	"input kafka: Replaying two partitions":                  {run: runKafkaExplicitPartitions},
	"output kafka: First half of a split pipeline":           {run: runKafkaOutput},
	"output kis: Jushuitan other inbound to KIS 其他入库单":       {run: runKIS},
	"output kingdee_batchsave: Customers with a dead letter": {run: runBatchSave},
	"processor kingdee_query: Material by SKU":               {run: runKingdeeQuery},
	"scanner xlsx: Materials from a workbook to Kingdee":     {run: runXLSX},
	"output mysql: Jushuitan unique codes into a BI table":   {mysql: true, run: runMySQLUpsert},
	"output mysql: Refused rows to a dead letter":            {mysql: true, run: runMySQLDeadLetter},
	"cache mysql: Shared de-duplication":                     {mysql: true, run: runMySQLCache},
	"cache state: Checkpoints and tokens":                    {run: runStateCache},
	"rate_limit token_bucket: Jushuitan":                     {run: runTokenBucket},
	"metrics prometheus: Scrape at /metrics":                 {run: runPrometheus},
	"output dingtalk: Dead letters raise an alert":           {run: runDingTalk},
	"output dead_letter_file: Documents the mapping rejects": {run: runDeadLetterFile},
	"output wecom: Alerts to the ops group":                  {run: runWeCom},
}

// TestDocsExamplesRun runs every example of every erpsync component spec
// against the sandbox (vendors), the MariaDB at MYSQL_DSN, an in-process
// Kafka (kfake) or a local stand-in for a robot webhook, and checks that it
// did what its summary says.
func TestDocsExamplesRun(t *testing.T) {
	h := newHarness(t)
	seen := map[string]bool{}
	for _, e := range specExamples(t) {
		key := exampleKey(e)
		seen[key] = true
		r, ok := exampleRuns[key]
		t.Run(key, func(t *testing.T) {
			switch {
			case !ok:
				t.Fatalf("no run for the example %q of %s %s: add one to exampleRuns (cmd/erpsync/docs_examples_run_test.go), or a skip saying why it cannot run", e.Title, e.Type, e.Name)
			case r.skip != "":
				t.Skip(r.skip)
			case r.mysql && h.db == nil:
				t.Skipf("needs MySQL/MariaDB: %s", h.noDB)
			}
			h.reset(t)
			r.run(t, h, parse(t, e.Config))
		})
	}
	for key := range exampleRuns {
		if !seen[key] {
			t.Errorf("exampleRuns has %q, which no spec has as an example any more: remove or rename it", key)
		}
	}
}

// ---------------------------------------------------------------------------
// Harness

type harness struct {
	sb    *sandbox.Server
	so    sandbox.Options
	dsn   string
	db    *sql.DB
	noDB  string // why db is nil
	start string // window.start for the vendor inputs: before the sandbox's oldest document
	exs   map[string]docgen.Example
	env   map[string]string // this run's variables
	dir   string            // this run's working folder
}

// runTimeout bounds one run; the slowest takes a few seconds.
var runTimeout = time.Minute

const (
	exampleRecords = 200
	// deadLetterTable keeps the runs' dead letters apart from any other
	// user of the database.
	deadLetterTable = "erpsync_docs_dead_letters"
	cacheTable      = "erpsync_docs_cache"
)

func newHarness(t *testing.T) *harness {
	t.Helper()
	so := sandbox.DefaultOptions()
	so.Records = exampleRecords
	sb, err := sandbox.Start(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	h := &harness{sb: sb, so: so, start: time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339), exs: map[string]docgen.Example{}}
	for _, e := range specExamples(t) {
		h.exs[exampleKey(e)] = e
	}
	h.dsn = os.Getenv("MYSQL_DSN")
	if h.dsn == "" {
		h.dsn = "root@tcp(127.0.0.1:3306)/test"
	}
	h.db, h.noDB = openDB(h.dsn)
	if h.db != nil {
		t.Cleanup(func() { h.db.Close() })
	}
	return h
}

func openDB(dsn string) (*sql.DB, string) {
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, "MYSQL_DSN does not parse: " + err.Error()
	}
	c.Timeout = 3 * time.Second
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return nil, err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Sprintf("no MySQL/MariaDB answers at MYSQL_DSN %s (%v)", c.Addr, err)
	}
	return db, ""
}

// reset gives a run a sandbox in its initial state, no faults, its own
// working folder (examples write ./state and ./dead_letters) and its own
// variables.
func (h *harness) reset(t *testing.T) {
	t.Helper()
	h.sb.Reset()
	if err := h.sb.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	h.dir = t.TempDir()
	t.Chdir(h.dir)
	h.env = exampleEnv(h.sb.URL(), h.so, h.dsn, h.dir)
}

func (h *harness) faults(t *testing.T, f core.Faults) {
	t.Helper()
	if err := h.sb.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

// example is another spec example, parsed, for runs that combine two.
func (h *harness) example(t *testing.T, key string) cfg {
	t.Helper()
	e, ok := h.exs[key]
	if !ok {
		t.Fatalf("no spec example %q", key)
	}
	return parse(t, e.Config)
}

// capture is an output calling a test function with each batch.
type capture struct {
	fn func(service.MessageBatch) error
}

func (c *capture) Connect(context.Context) error { return nil }
func (c *capture) WriteBatch(_ context.Context, b service.MessageBatch) error {
	return c.fn(b)
}
func (c *capture) Close(context.Context) error { return nil }

// build makes a stream of conf with the run's variables; an output
// `capture: {}` in conf calls consume.
func (h *harness) build(t *testing.T, conf cfg, consume func(service.MessageBatch) error) *service.Stream {
	t.Helper()
	env := service.NewEnvironment()
	err := env.RegisterBatchOutput("capture", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			return &capture{fn: consume}, service.BatchPolicy{}, 1, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	b.SetEnvVarLookupFunc(func(k string) (string, bool) { v, ok := h.env[k]; return v, ok })
	logs := &syncBuffer{}
	b.SetLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	y := conf.yaml(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the config run:\n%s\nits warnings and errors:\n%s", y, logs.String())
		}
	})
	if err := b.SetYAML(y); err != nil {
		t.Fatalf("the example as run is refused: %v", err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatalf("the example as run does not build: %v", err)
	}
	return s
}

// run builds conf and runs it until its input ends.
func (h *harness) run(t *testing.T, conf cfg, consume func(service.MessageBatch) error) {
	t.Helper()
	s := h.build(t, conf, consume)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	err := s.Run(ctx)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("the example did not finish within %s: a write failing over and over, or an input that does not end (see its warnings below)", runTimeout)
	case err != nil:
		t.Fatalf("the example stopped with: %v", err)
	}
}

// collector records what reached a capture output.
type collector struct {
	mu   sync.Mutex
	msgs []captured
}

type captured struct {
	body string
	meta map[string]string
}

func (c *collector) consume(b service.MessageBatch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range b {
		body, err := m.AsBytes()
		if err != nil {
			return err
		}
		meta := map[string]string{}
		_ = m.MetaWalk(func(k, v string) error { meta[k] = v; return nil })
		c.msgs = append(c.msgs, captured{string(body), meta})
	}
	return nil
}

func (c *collector) sourceIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, m := range c.msgs {
		out[m.meta["source_id"]]++
	}
	return out
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

// ---------------------------------------------------------------------------
// Configs as data

// cfg is a parsed config.
type cfg map[string]any

func parse(t *testing.T, y string) cfg {
	t.Helper()
	// Into a plain map: yaml.v3 would make every nested map a cfg too.
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatalf("the example is not YAML: %v\n%s", err, y)
	}
	return cfg(m)
}

func (c cfg) yaml(t *testing.T) string {
	t.Helper()
	b, err := yaml.Marshal(map[string]any(c))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// at is the object at a dotted path, which must exist.
func (c cfg) at(t *testing.T, path string) map[string]any {
	t.Helper()
	var cur any = map[string]any(c)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("the example has no %s (at %s)", path, k)
		}
		if cur, ok = m[k]; !ok {
			t.Fatalf("the example has no %s (at %s)", path, k)
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		t.Fatalf("%s of the example is not an object", path)
	}
	return m
}

// each calls fn with the config of every component called name anywhere in
// c, and fails the test when there is none.
func (c cfg) each(t *testing.T, name string, fn func(map[string]any)) {
	t.Helper()
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				if m, ok := sub.(map[string]any); ok && k == name {
					fn(m)
					n++
				}
				walk(sub)
			}
		case []any:
			for _, sub := range x {
				walk(sub)
			}
		}
	}
	walk(map[string]any(c))
	if n == 0 {
		t.Fatalf("the example has no %s component", name)
	}
}

// addResource appends a resource (e.g. "cache_resources") to c.
func (c cfg) addResource(kind string, res ...any) {
	list, _ := c[kind].([]any)
	c[kind] = append(list, res...)
}

// generate is a generate input emitting count messages of mapping.
func generate(count int, mapping string) map[string]any {
	return map[string]any{"generate": map[string]any{"count": count, "interval": "", "mapping": mapping}}
}

// ---------------------------------------------------------------------------
// The sandbox's truth

// truth returns the documents of a sandbox dataset as the vendor serves
// them, by id.
func (h *harness) truth(t *testing.T, dataset string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, d := range h.sb.Env().Dataset(dataset).FullTruth() {
		raw, err := json.Marshal(d.Document)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		out[d.ID] = doc
	}
	if len(out) == 0 {
		t.Fatalf("the sandbox dataset %s is empty", dataset)
	}
	return out
}

// returnBills are the ids of the bills the Jushuitan examples select:
// confirmed 其它退货.
func (h *harness) returnBills(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, d := range h.truth(t, sbjst.DatasetOtherInout) {
		if d["status"] == "Confirmed" && d["type"] == "其它退货" {
			out[id] = d
		}
	}
	if len(out) == 0 {
		t.Fatal("the sandbox holds no confirmed 其它退货 bill")
	}
	return out
}

// targets returns the documents a sandbox target holds (GET path), by
// number.
func (h *harness) targets(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	resp, err := http.Get(h.sb.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Documents []core.TargetDoc `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	out := map[string]map[string]any{}
	for _, d := range body.Documents {
		out[d.Number] = d.Data
	}
	return out
}

// jsonLines reads a JSON-lines file the example wrote.
func jsonLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: a line is not JSON: %v\n%s", path, err, sc.Text())
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func idText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sameKeys fails unless got and want hold the same keys.
func sameKeys[A, B any](t *testing.T, what string, got map[string]A, want map[string]B) {
	t.Helper()
	var missing, extra []string
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("%s: %d expected are missing %v, %d are not expected %v", what, len(missing), missing, len(extra), extra)
	}
}

// ---------------------------------------------------------------------------
// Vendor inputs

// vendorInput points the vendor input of conf at the sandbox and makes it
// end once caught up; windows start a month back, where the sandbox's data
// begins (the example's 2024 start would walk two years of empty windows).
func (h *harness) vendorInput(t *testing.T, conf cfg, vendor string) map[string]any {
	t.Helper()
	in := conf.at(t, "input."+vendor)
	in["base_url"] = h.sb.URL()
	in["stop_when_caught_up"] = true
	if w, ok := in["window"].(map[string]any); ok {
		w["start"] = h.start
	}
	return in
}

// jushuitanResources are what the Jushuitan example names: a checkpoint
// cache (memory) and the rate limit of the token_bucket example.
func (h *harness) jushuitanResources(t *testing.T, conf cfg) {
	t.Helper()
	conf.addResource("cache_resources", map[string]any{"label": "checkpoints", "memory": map[string]any{}})
	rl := h.example(t, "rate_limit token_bucket: Jushuitan")
	conf.addResource("rate_limit_resources", rl["rate_limit_resources"].([]any)...)
}

// runJushuitan: the example reads every confirmed 其它退货 bill once, with
// the token_bucket example as its rate limit.
func runJushuitan(t *testing.T, h *harness, conf cfg) {
	h.vendorInput(t, conf, "jushuitan")
	h.jushuitanResources(t, conf)
	conf["output"] = map[string]any{"capture": map[string]any{}}
	var got collector
	h.run(t, conf, got.consume)
	ids := got.sourceIDs()
	sameKeys(t, "bills delivered", ids, h.returnBills(t))
	for id, n := range ids {
		if n != 1 {
			t.Errorf("bill %s delivered %d times", id, n)
		}
	}
}

// runWDT: one full read of the enabled shops through the sandbox's Qimen.
func runWDT(t *testing.T, h *harness, conf cfg) {
	h.vendorInput(t, conf, "wdt")
	conf["output"] = map[string]any{"capture": map[string]any{}}
	var got collector
	h.run(t, conf, got.consume)
	want := map[string]bool{}
	for id, d := range h.truth(t, sbwdt.DatasetShops) {
		if idText(d["is_disabled"]) == "0" {
			want[id] = true
		}
	}
	sameKeys(t, "enabled shops delivered", got.sourceIDs(), want)
}

// runXBB: every product, with a memory checkpoint cache and a rate limit
// under the names the example uses.
func runXBB(t *testing.T, h *harness, conf cfg) {
	h.vendorInput(t, conf, "xbb")
	conf.addResource("cache_resources", map[string]any{"label": "checkpoints", "memory": map[string]any{}})
	conf.addResource("rate_limit_resources", map[string]any{"label": "xbb_account", "local": map[string]any{"count": 10, "interval": "1s"}})
	conf["output"] = map[string]any{"capture": map[string]any{}}
	var got collector
	h.run(t, conf, got.consume)
	sameKeys(t, "products delivered", got.sourceIDs(), h.truth(t, sbxbb.DatasetProducts))
}

// runXBBCustomers: every customer of the list (none of the recycle bin),
// with a memory checkpoint cache under the name the example uses.
func runXBBCustomers(t *testing.T, h *harness, conf cfg) {
	h.vendorInput(t, conf, "xbb")
	conf.addResource("cache_resources", map[string]any{"label": "checkpoints", "memory": map[string]any{}})
	conf["output"] = map[string]any{"capture": map[string]any{}}
	var got collector
	h.run(t, conf, got.consume)
	want := map[string]bool{}
	for id, d := range h.truth(t, sbxbb.DatasetCustomers) {
		if idText(d["del"]) == "0" {
			want[id] = true
		}
	}
	sameKeys(t, "listed customers delivered", got.sourceIDs(), want)
}

// ---------------------------------------------------------------------------
// KIS and the dead-letter table

// feedReturns gives an output example the bills of the Jushuitan example
// as its input.
func (h *harness) feedReturns(t *testing.T, conf cfg) {
	t.Helper()
	jst := h.example(t, "input jushuitan: Confirmed other-return bills")
	h.vendorInput(t, jst, "jushuitan")
	conf["input"] = jst["input"]
	h.jushuitanResources(t, conf)
}

// kisExpectation splits the returned bills: those KIS takes and those it
// refuses (row_fail_rate, or no items: a KIS bill needs a line).
func (h *harness) kisExpectation(t *testing.T) (written, refused map[string]map[string]any) {
	t.Helper()
	written, refused = map[string]map[string]any{}, map[string]map[string]any{}
	for id, d := range h.returnBills(t) {
		items, _ := d["items"].([]any)
		if len(items) == 0 || h.sb.Env().RowFails("kis:"+id) {
			refused[id] = d
		} else {
			written[id] = d
		}
	}
	if len(written) == 0 || len(refused) == 0 {
		t.Fatalf("degenerate sample: %d bills KIS takes, %d it refuses", len(written), len(refused))
	}
	return written, refused
}

// checkKISBills fails unless KIS holds exactly want, each with its date and
// lines as the mapping of the examples builds them.
func (h *harness) checkKISBills(t *testing.T, want map[string]map[string]any) {
	t.Helper()
	bills := h.targets(t, "/_sandbox/kis/bills")
	sameKeys(t, "bills in KIS", bills, want)
	for id, b := range bills {
		head, _ := b["Head"].(map[string]any)
		wantDate := strings.Replace(idText(want[id]["io_date"]), " ", "T", 1)
		if got := idText(head["Fdate"]); got != wantDate {
			t.Errorf("bill %s: Fdate %q, want the io_date %q in China time", id, got, wantDate)
		}
		entry, _ := b["Entry"].([]any)
		items, _ := want[id]["items"].([]any)
		if len(entry) != len(items) {
			t.Errorf("bill %s: %d lines, the source has %d", id, len(entry), len(items))
		}
	}
}

// runKIS: bills KIS takes are written once; those it refuses (20% of
// rows, and bills without lines) land in the example's dead-letter file
// with the reason.
func runKIS(t *testing.T, h *harness, conf cfg) {
	h.faults(t, core.Faults{RowFailRate: 0.2})
	h.feedReturns(t, conf)
	h.run(t, conf, nil)
	written, refused := h.kisExpectation(t)
	h.checkKISBills(t, written)
	dead := map[string]bool{}
	for _, l := range jsonLines(t, "dead_letters/kis.jsonl") {
		doc, _ := l["document"].(map[string]any)
		head, _ := doc["Head"].(map[string]any)
		no := idText(head["FBillNo"])
		dead[no] = true
		if e := idText(l["error"]); !strings.Contains(e, "kis: ") || !strings.Contains(e, "code ") {
			t.Errorf("dead letter of bill %s: error %q does not give KIS's errcode", no, e)
		}
	}
	sameKeys(t, "bills in dead_letters/kis.jsonl", dead, refused)
}

// dropTable removes a table of the runs, now and after the test.
func (h *harness) dropTable(t *testing.T, table string) {
	t.Helper()
	drop := func() error { _, err := h.db.Exec("DROP TABLE IF EXISTS `" + table + "`"); return err }
	if err := drop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drop() })
}

// deadLetterRow is a row of the dead-letter table.
type deadLetterRow struct {
	status, target, payload string
	attempts                int
}

func (h *harness) deadLetters(t *testing.T) map[string]deadLetterRow {
	t.Helper()
	rows, err := h.db.Query("SELECT source_id, status, target, payload, attempts FROM `" + deadLetterTable + "` WHERE stream = 'jushuitan_to_kis'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]deadLetterRow{}
	for rows.Next() {
		var id string
		var r deadLetterRow
		if err := rows.Scan(&id, &r.status, &r.target, &r.payload, &r.attempts); err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// deadLetterTables points every dead-letter component of conf at the runs'
// own table.
func deadLetterTables(t *testing.T, conf cfg) {
	t.Helper()
	for _, name := range []string{"dead_letter", "dead_letters", "dead_letter_resolve"} {
		if strings.Contains(conf.yaml(t), name+":") {
			conf.each(t, name, func(m map[string]any) { m["table"] = deadLetterTable })
		}
	}
}

// runDeadLetter: bills KIS refuses (20% of rows, and bills without lines)
// become open dead letters holding the source bill; the others are in KIS.
// It returns the bills written and the bills refused.
func runDeadLetter(t *testing.T, h *harness, conf cfg) (written, refused map[string]map[string]any) {
	t.Helper()
	h.dropTable(t, deadLetterTable)
	h.faults(t, core.Faults{RowFailRate: 0.2})
	h.feedReturns(t, conf)
	deadLetterTables(t, conf)
	h.run(t, conf, nil)
	written, refused = h.kisExpectation(t)
	h.checkKISBills(t, written)
	rows := h.deadLetters(t)
	sameKeys(t, "dead letters", rows, refused)
	for id, r := range rows {
		var payload map[string]any
		if err := json.Unmarshal([]byte(r.payload), &payload); err != nil || idText(payload["io_id"]) != id {
			t.Errorf("dead letter %s: payload is not the source bill: %.200s", id, r.payload)
		}
		if r.status != "open" || r.attempts != 1 || r.target != "kis" {
			t.Errorf("dead letter %s: status %s, attempts %d, target %s; want open, 1, kis", id, r.status, r.attempts, r.target)
		}
	}
	return written, refused
}

// runReplay: after the dead_letter example recorded the refused bills, the
// cause goes (no row_fail_rate); the replay writes those with lines and
// resolves them, and records the bills without lines again (attempts 2).
func runReplay(t *testing.T, h *harness, conf cfg) {
	written, refused := runDeadLetter(t, h, h.example(t, "output dead_letter: KIS bills to the dead-letter table"))
	h.faults(t, core.Faults{})
	deadLetterTables(t, conf)
	h.run(t, conf, nil)
	rows := h.deadLetters(t)
	sameKeys(t, "dead letters after the replay", rows, refused)
	fixed := map[string]map[string]any{}
	for id, d := range refused {
		items, _ := d["items"].([]any)
		r := rows[id]
		switch {
		case len(items) > 0:
			fixed[id] = d
			if r.status != "resolved" {
				t.Errorf("dead letter %s: %s after the replay (attempts %d), want resolved", id, r.status, r.attempts)
			}
		case r.status != "open" || r.attempts != 2:
			t.Errorf("dead letter %s (no lines): %s with %d attempts after the replay, want open with 2", id, r.status, r.attempts)
		}
	}
	if len(fixed) == 0 {
		t.Fatal("degenerate sample: no refused bill has lines")
	}
	for id, d := range fixed {
		written[id] = d
	}
	h.checkKISBills(t, written)
}

// ---------------------------------------------------------------------------
// K3Cloud

// runBatchSave: customers Kingdee takes are saved; the rows it refuses
// permanently (row_fail_rate 30%) go to the example's dead-letter file with
// their document and error. The customers are generated: the example
// expects upstream mapping to have built them.
func runBatchSave(t *testing.T, h *harness, conf cfg) {
	h.faults(t, core.Faults{RowFailRate: 0.3})
	const n = 30
	conf["input"] = generate(n, `let no = "DOCCUST%03d".format(count("docs_customers"))
root.FNumber = $no
root.FName = "客户 " + $no
root.FCreateOrgId = {"FNumber": "100"}
root.FUseOrgId = {"FNumber": "100"}
root.FCustTypeId = {"FNumber": "KHLB001_SYS"}
root.FTRADINGCURRID = {"FNumber": "PRE001"}`)
	h.run(t, conf, nil)
	saved, refused := map[string]bool{}, map[string]bool{}
	for i := 1; i <= n; i++ {
		no := fmt.Sprintf("DOCCUST%03d", i)
		if h.sb.Env().RowFails("BD_Customer:" + no) {
			refused[no] = true
		} else {
			saved[no] = true
		}
	}
	if len(saved) == 0 || len(refused) == 0 {
		t.Fatalf("degenerate sample: %d saved, %d refused", len(saved), len(refused))
	}
	sameKeys(t, "customers in K3Cloud", h.targets(t, "/_sandbox/k3cloud/BD_Customer"), saved)
	dead := map[string]bool{}
	for _, l := range jsonLines(t, "dead_letters/k3_customers.jsonl") {
		doc, _ := l["document"].(map[string]any)
		dead[idText(doc["FNumber"])] = true
		if e := idText(l["error"]); !strings.HasSuffix(e, "(permanent)") {
			t.Errorf("dead letter %v: error %q does not end in (permanent)", doc["FNumber"], e)
		}
	}
	sameKeys(t, "customers in dead_letters/k3_customers.jsonl", dead, refused)
}

// runKingdeeQuery: each message gets the material of its SKU from the
// sandbox's K3Cloud; a SKU without a material gets none.
func runKingdeeQuery(t *testing.T, h *harness, conf cfg) {
	skus := []string{"SKU00001", "SKU00002", "SKU00001", "NO-SUCH-SKU"}
	conf["input"] = generate(len(skus), fmt.Sprintf(`root.sku = %q.split(",").index(count("docs_skus") - 1)`, strings.Join(skus, ",")))
	conf["output"] = map[string]any{"capture": map[string]any{}}
	var got collector
	h.run(t, conf, got.consume)
	materials := h.targets(t, "/_sandbox/k3cloud/BD_MATERIAL")
	if len(got.msgs) != len(skus) {
		t.Fatalf("%d messages out, %d in", len(got.msgs), len(skus))
	}
	for _, m := range got.msgs {
		var doc map[string]any
		if err := json.Unmarshal([]byte(m.body), &doc); err != nil {
			t.Fatal(err)
		}
		sku := idText(doc["sku"])
		mat, ok := materials[sku]
		switch {
		case !ok && doc["material"] != nil:
			t.Errorf("%s has no material in K3Cloud, the message got %v", sku, doc["material"])
		case ok && (doc["material"] != sku || doc["material_name"] != mat["FName"]):
			t.Errorf("%s: material %v %v, want %s %v", sku, doc["material"], doc["material_name"], sku, mat["FName"])
		}
	}
}

// runXLSX: a workbook dropped into ./import/materials: its good rows become
// K3Cloud materials, a row without a 物料编码 goes to the rows dead letter
// with its row number and reason.
func runXLSX(t *testing.T, h *harness, conf cfg) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", "物料"); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"物料导入 2024-06"},
		{"物料编码", "物料名称", "规格型号", "物料分组", "单位", "单价", "启用日期"},
		{"DOCMAT001", "测试物料一", "10x10", "G01", "Pcs", 12.5, "2024-06-01"},
		{"DOCMAT002", "测试物料二", "", "G01", "Box", "8", "2024/6/2"},
		{"", "没有编码的物料", "", "G01", "Pcs", 1, "2024-06-03"},
		{"DOCMAT003", "测试物料三", "20x20", "G02", "Pcs", 3, "2024-06-04"},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("物料", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll("import/materials", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs("import/materials/book.xlsx"); err != nil {
		t.Fatal(err)
	}
	h.run(t, conf, nil)
	got := h.targets(t, "/_sandbox/k3cloud/BD_MATERIAL")
	for _, no := range []string{"DOCMAT001", "DOCMAT002", "DOCMAT003"} {
		if _, ok := got[no]; !ok {
			t.Errorf("material %s is not in K3Cloud", no)
		}
	}
	dead := jsonLines(t, "dead_letters/materials_rows.jsonl")
	if len(dead) != 1 || idText(dead[0]["row"]) != "5" || !strings.Contains(idText(dead[0]["reason"]), "物料编码 is empty") {
		t.Fatalf("the rows dead letter holds %v, want row 5 with 物料编码 is empty", dead)
	}
	if k := jsonLines(t, "dead_letters/materials_kingdee.jsonl"); len(k) > 0 {
		t.Fatalf("K3Cloud refused materials: %v", k)
	}
}

// ---------------------------------------------------------------------------
// MySQL

// runMySQLUpsert: the unique-code flows the sandbox's Jushuitan serves,
// read by the jushuitan input, one row per code (the last flow of a code
// wins). The example's DSN names a host of its own: the run's is MYSQL_DSN.
func runMySQLUpsert(t *testing.T, h *harness, conf cfg) {
	h.dropTable(t, "jst_sn_flow")
	conf.at(t, "output.mysql")["dsn"] = h.dsn
	conf["input"] = map[string]any{"jushuitan": map[string]any{
		"base_url": h.sb.URL(), "app_key": "${JST_APP_KEY}", "app_secret": "${JST_APP_SECRET}",
		"access_token": "${JST_ACCESS_TOKEN}", "refresh_token": "${JST_REFRESH_TOKEN}",
		"api": "/open/webapi/wmsapi/skusn/queryinoutitemskusns",
		"params": `root.create_time_start = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
root.create_time_end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")`,
		"page_size": 1000, "stop_when_caught_up": true,
		"window": map[string]any{"start": h.start, "max_span": "168h", "filter_field": "create_time"},
	}}
	h.run(t, conf, nil)
	want := map[string]string{}
	for _, d := range h.truth(t, sbjst.DatasetSkusn) {
		want[idText(d["sku_sn"])] = idText(d["sku_id"])
	}
	rows, err := h.db.Query("SELECT sn, sku_id FROM jst_sn_flow")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var sn, sku string
		if err := rows.Scan(&sn, &sku); err != nil {
			t.Fatal(err)
		}
		got[sn] = sku
	}
	sameKeys(t, "unique codes in jst_sn_flow", got, want)
}

// runMySQLDeadLetter: into a bi_orders table the run creates, good rows
// land and the row MySQL refuses (a NULL status) goes to the example's
// dead-letter file with MySQL's error.
func runMySQLDeadLetter(t *testing.T, h *harness, conf cfg) {
	h.dropTable(t, "bi_orders")
	if _, err := h.db.Exec("CREATE TABLE bi_orders (order_no VARCHAR(32) PRIMARY KEY, status VARCHAR(16) NOT NULL, amount DECIMAL(12,2))"); err != nil {
		t.Fatal(err)
	}
	conf.each(t, "mysql", func(m map[string]any) { m["dsn"] = h.dsn })
	conf["input"] = generate(10, `let n = count("docs_orders")
root.order_no = "SO%03d".format($n)
root.status = if $n == 4 { null } else { "paid" }
root.amount = $n * 10`)
	h.run(t, conf, nil)
	var n int
	if err := h.db.QueryRow("SELECT COUNT(*) FROM bi_orders").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 9 {
		t.Errorf("%d rows in bi_orders, want the 9 good ones", n)
	}
	dead := jsonLines(t, "dead_letters/mysql.jsonl")
	if len(dead) != 1 {
		t.Fatalf("dead_letters/mysql.jsonl holds %v, want the one order MySQL refused", dead)
	}
	doc, _ := dead[0]["document"].(map[string]any)
	if doc["order_no"] != "SO004" || !strings.Contains(idText(dead[0]["error"]), "1048") {
		t.Errorf("dead_letters/mysql.jsonl holds %v, want order SO004 with MySQL's error 1048 (column cannot be null)", dead[0])
	}
}

// runMySQLCache: ten messages, five distinct: five pass the dedupe; a
// second stream sharing the cache table passes none of them again.
func runMySQLCache(t *testing.T, h *harness, conf cfg) {
	h.dropTable(t, cacheTable)
	for round, want := range []int{5, 0} {
		c := parse(t, conf.yaml(t))
		c.each(t, "mysql", func(m map[string]any) { m["dsn"], m["table"] = h.dsn, cacheTable })
		c["input"] = map[string]any{
			"generate":   map[string]any{"count": 10, "interval": "", "mapping": `root.n = count("docs_dedupe_` + strconv.Itoa(round) + `") % 5`},
			"processors": []any{map[string]any{"mutation": `meta source_id = "doc-" + this.n.string()`}},
		}
		c["output"] = map[string]any{"capture": map[string]any{}}
		var got collector
		h.run(t, c, got.consume)
		if len(got.msgs) != want {
			t.Fatalf("stream %d: %d messages passed the dedupe, want %d", round+1, len(got.msgs), want)
		}
	}
}

// ---------------------------------------------------------------------------
// Local resources

// runStateCache: the checkpoint cache of the example, written through a
// cache output, keeps the item as a file of the folder, readable by the
// owner only.
func runStateCache(t *testing.T, h *harness, conf cfg) {
	conf["input"] = generate(1, `root = "2024-06-08T00:00:00+08:00"`)
	conf["output"] = map[string]any{"cache": map[string]any{"target": "checkpoints", "key": "jushuitan_other_inout"}}
	h.run(t, conf, nil)
	p := filepath.Join(h.dir, "checkpoints", "jushuitan_other_inout")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("the checkpoint is not at $ERPSYNC_STATE_DIR/checkpoints: %v", err)
	}
	if string(b) != "2024-06-08T00:00:00+08:00" {
		t.Errorf("%s holds %q", p, b)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v (%v), want 0600", p, fi.Mode().Perm(), err)
	}
}

// runTokenBucket: twelve calls through the example's limits (5 a second,
// 100 a minute, one token kept in reserve) take more than a second.
func runTokenBucket(t *testing.T, h *harness, conf cfg) {
	conf["input"] = generate(12, `root.n = counter()`)
	conf["pipeline"] = map[string]any{"processors": []any{map[string]any{"rate_limit": map[string]any{"resource": "jushuitan_account"}}}}
	conf["output"] = map[string]any{"capture": map[string]any{}}
	var got collector
	began := time.Now()
	h.run(t, conf, got.consume)
	if took := time.Since(began); took < time.Second {
		t.Errorf("12 calls took %s: the limit of 5 a second did not hold", took)
	}
	if len(got.msgs) != 12 {
		t.Errorf("%d of 12 messages passed", len(got.msgs))
	}
}

// runPrometheus: while the stream runs, /metrics on the HTTP server
// answers the stream's metrics and the Go and process collectors. The
// address is a free loopback port instead of 0.0.0.0:4195, and the HTTP
// server is enabled explicitly (a stream builder, unlike `erpsync run`,
// has it off by default).
func runPrometheus(t *testing.T, h *harness, conf cfg) {
	addr := erpsynctest.FreeAddr(t)
	httpConf := conf.at(t, "http")
	httpConf["address"], httpConf["enabled"] = addr, true
	conf["input"] = generate(1, `root = "hello"`)
	conf["output"] = map[string]any{"capture": map[string]any{}}
	var page string
	h.run(t, conf, func(service.MessageBatch) error {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		page = string(b)
		return err
	})
	for _, want := range []string{"\ninput_received", "\ngo_goroutines", "\nprocess_cpu_seconds_total"} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %s:\n%.2000s", strings.TrimSpace(want), page)
		}
	}
}

// ---------------------------------------------------------------------------
// Robots, Kafka, webhooks: local stand-ins

// robot is a stand-in for a DingTalk or WeCom robot webhook: it records
// each request and answers errcode 0.
type robot struct {
	mu   sync.Mutex
	reqs []robotReq
}

type robotReq struct {
	query map[string]string // and "path"
	body  map[string]any
}

func (r *robot) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		q := map[string]string{"path": req.URL.Path}
		for k := range req.URL.Query() {
			q[k] = req.URL.Query().Get(k)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, robotReq{q, body})
		r.mu.Unlock()
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// alerts are messages as the examples' alerts read them.
const alerts = `let n = count("docs_alerts")
meta source_vendor = "jushuitan"
meta source_id = "1000%d".format($n)
meta erpsync_error = "kingdee: BatchSave: code 11 row %d refused (permanent)".format($n)
root.row = $n`

// runDeadLetterFile: the documents without lines are in the file once each
// with their reason, also after a second run over the same documents.
func runDeadLetterFile(t *testing.T, h *harness, conf cfg) {
	conf["input"] = generate(4, `let n = count("docs_dead_letter_file") % 4
root.io_id = 40000000 + $n
root.items = if $n % 2 == 0 { [] } else { [{"sku_id": "SKU0000%d".format($n)}] }`)
	for run := 1; run <= 2; run++ {
		h.run(t, conf, nil)
		lines := jsonLines(t, "state/dead_letters/sales_out_to_kingdee.jsonl")
		var ids []string
		for _, l := range lines {
			id := idText(l["source_id"])
			ids = append(ids, id)
			if l["stream"] != "sales_out_to_kingdee" || l["target"] != "k3cloud:SAL_OUTSTOCK" ||
				!strings.Contains(idText(l["error"]), "sales-out "+id+" rejected: no items (permanent)") {
				t.Errorf("run %d: record %v", run, l)
			}
		}
		slices.Sort(ids)
		if fmt.Sprint(ids) != "[40000000 40000002]" {
			t.Errorf("run %d: the file holds %v, want the two documents without lines once each", run, ids)
		}
	}
}

// runDingTalk: each message is written to the dead-letter file and posted,
// signed, as a markdown alert naming the error and mentioning the on-call
// phone, to a stand-in robot at DINGTALK_WEBHOOK_URL.
func runDingTalk(t *testing.T, h *harness, conf cfg) {
	var r robot
	h.env["DINGTALK_WEBHOOK_URL"] = r.start(t) + "/robot/send?access_token=sandbox-dingtalk-token"
	conf["input"] = generate(2, alerts)
	h.run(t, conf, nil)
	if lines := jsonLines(t, "dead_letters/kingdee.jsonl"); len(lines) != 2 {
		t.Errorf("%d lines in dead_letters/kingdee.jsonl, want 2", len(lines))
	}
	if len(r.reqs) != 2 {
		t.Fatalf("the robot got %d requests, want 2", len(r.reqs))
	}
	secret := h.env["DINGTALK_SECRET"]
	for _, req := range r.reqs {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(req.query["timestamp"] + "\n" + secret))
		if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); req.query["sign"] != want || req.query["access_token"] != "sandbox-dingtalk-token" {
			t.Errorf("request %v is not signed with DINGTALK_SECRET", req.query)
		}
		md, _ := req.body["markdown"].(map[string]any)
		title, text := idText(md["title"]), idText(md["text"])
		if req.body["msgtype"] != "markdown" || !strings.HasPrefix(title, "erpsync: kingdee: BatchSave: code 11 row ") ||
			!strings.Contains(text, "- source: jushuitan 1000") || !strings.Contains(text, "13800000000") {
			t.Errorf("alert %v does not say what the example writes", req.body)
		}
		at, _ := req.body["at"].(map[string]any)
		if mobiles, _ := at["atMobiles"].([]any); !slices.Contains(mobiles, any("13800000000")) {
			t.Errorf("alert %v does not mention 13800000000", req.body)
		}
	}
}

// runWeCom: each message is posted as a text alert naming the document and
// its error, mentioning the on-call phone, to a stand-in robot at
// WECOM_WEBHOOK_URL.
func runWeCom(t *testing.T, h *harness, conf cfg) {
	var r robot
	h.env["WECOM_WEBHOOK_URL"] = r.start(t) + "/cgi-bin/webhook/send?key=sandbox-wecom-key"
	conf["input"] = generate(2, alerts)
	h.run(t, conf, nil)
	if len(r.reqs) != 2 {
		t.Fatalf("the robot got %d requests, want 2", len(r.reqs))
	}
	for _, req := range r.reqs {
		text, _ := req.body["text"].(map[string]any)
		content := idText(text["content"])
		mobiles, _ := text["mentioned_mobile_list"].([]any)
		if req.body["msgtype"] != "text" || req.query["key"] != "sandbox-wecom-key" ||
			!strings.HasPrefix(content, "erpsync: jushuitan 1000") || !strings.Contains(content, "was not written: kingdee: BatchSave: code 11") ||
			!slices.Contains(mobiles, any("13800000000")) {
			t.Errorf("alert %v %v does not say what the example writes", req.query, req.body)
		}
	}
}

func startKafka(t *testing.T, topic string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func addresses(c *kfake.Cluster) []any {
	var out []any
	for _, a := range c.ListenAddrs() {
		out = append(out, a)
	}
	return out
}

// runKafkaOutput: documents keyed by their source_id land in the topic of
// an in-process Kafka (kfake), each once.
func runKafkaOutput(t *testing.T, h *harness, conf cfg) {
	c := startKafka(t, "erp_documents")
	conf.at(t, "output.kafka")["addresses"] = addresses(c)
	const n = 20
	conf["input"] = map[string]any{
		"generate":   map[string]any{"count": n, "interval": "", "mapping": `root.doc = count("docs_kafka_out")`},
		"processors": []any{map[string]any{"mutation": `meta source_id = "doc-" + this.doc.string()`}},
	}
	h.run(t, conf, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("erp_documents"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := map[string]string{}
	for len(got) < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if _, dup := got[string(r.Key)]; dup {
				t.Errorf("key %s written twice", r.Key)
			}
			got[string(r.Key)] = string(r.Value)
		})
	}
	for i := 1; i <= n; i++ {
		key := fmt.Sprintf("doc-%d", i)
		if want := fmt.Sprintf(`{"doc":%d}`, i); got[key] != want {
			t.Errorf("record %s: %q, want %q", key, got[key], want)
		}
	}
	if len(got) != n {
		t.Errorf("%d records in the topic, want %d: %v", len(got), n, keys(got))
	}
}

// runKafkaInput: the consumer group reads every record produced to the
// topic of an in-process Kafka (kfake). The input never ends by itself:
// the stream is stopped once every record arrived.
func runKafkaInput(t *testing.T, h *harness, conf cfg) {
	c := startKafka(t, "erp_documents")
	conf.at(t, "input.kafka")["addresses"] = addresses(c)
	const n = 20
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := 1; i <= n; i++ {
		r := &kgo.Record{Topic: "erp_documents", Key: []byte(fmt.Sprintf("doc-%d", i)), Value: []byte(fmt.Sprintf(`{"doc":%d}`, i))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	conf["output"] = map[string]any{"capture": map[string]any{}}
	var mu sync.Mutex
	got := map[string]string{}
	all := make(chan struct{})
	s := h.build(t, conf, func(b service.MessageBatch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range b {
			key, _ := m.MetaGet("kafka_key")
			body, _ := m.AsBytes()
			got[key] = string(body)
		}
		if len(got) == n {
			close(all)
		}
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-all:
	case err := <-done:
		t.Fatalf("the stream ended before every record arrived: %v", err)
	case <-ctx.Done():
		t.Fatalf("%d of %d records arrived", len(got), n)
	}
	if err := s.StopWithin(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	<-done
	for i := 1; i <= n; i++ {
		if key := fmt.Sprintf("doc-%d", i); got[key] != fmt.Sprintf(`{"doc":%d}`, i) {
			t.Errorf("record %s: got %q", key, got[key])
		}
	}
}

// runKafkaExplicitPartitions: only the named partitions (0 and 1 of 3) are
// read, without a consumer group.
func runKafkaExplicitPartitions(t *testing.T, h *harness, conf cfg) {
	c := startKafka(t, "erp_documents")
	conf.at(t, "input.kafka")["addresses"] = addresses(c)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for p := int32(0); p < 3; p++ {
		for i := 0; i < 2; i++ {
			r := &kgo.Record{Topic: "erp_documents", Partition: p, Value: []byte(fmt.Sprintf("p%d-%d", p, i))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	conf["output"] = map[string]any{"capture": map[string]any{}}
	var mu sync.Mutex
	var got []string
	four := make(chan struct{})
	s := h.build(t, conf, func(b service.MessageBatch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range b {
			body, _ := m.AsBytes()
			got = append(got, string(body))
		}
		if len(got) == 4 {
			close(four)
		}
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-four:
	case err := <-done:
		t.Fatalf("the stream ended before the records arrived: %v", err)
	case <-ctx.Done():
		t.Fatalf("%d of 4 records arrived", len(got))
	}
	if err := s.StopWithin(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	sort.Strings(got)
	if strings.Join(got, ",") != "p0-0,p0-1,p1-0,p1-1" {
		t.Fatalf("read %v; want the records of partitions 0 and 1 only", got)
	}
}

// runWebhook: a signed request is accepted (202), handed to the
// subscriber with its event_id header, and refused as a replay when sent
// again (409). The address is a free loopback port and the subscriber a
// local server instead of subscriber.example.com; the stream is stopped
// once the replay was refused.
func runWebhook(t *testing.T, h *harness, conf cfg) {
	addr := erpsynctest.FreeAddr(t)
	conf.at(t, "input.webhook")["address"] = addr
	got := make(chan *http.Request, 4)
	bodies := make(chan string, 4)
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- string(b)
	}))
	t.Cleanup(sub.Close)
	conf.at(t, "output.http_client")["url"] = sub.URL + "/hook"
	s := h.build(t, conf, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	erpsynctest.WaitListening(t, addr, 30*time.Second)

	body := `{"event":"order.created","order_no":"SO001"}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(h.env["WEBHOOK_SECRET"]))
	mac.Write([]byte(ts + "." + body))
	sig := hex.EncodeToString(mac.Sum(nil))
	post := func() (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/webhooks/events", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Erpsync-Timestamp", ts)
		req.Header.Set("X-Erpsync-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, answer := post(); code != http.StatusAccepted || !strings.Contains(answer, sig[:16]) {
		t.Fatalf("a signed request: %d %s, want 202 with the event id %s", code, answer, sig[:16])
	}
	select {
	case r := <-got:
		if b := <-bodies; b != body || r.Header.Get("X-Erpsync-Event") != sig[:16] {
			t.Errorf("the subscriber got %q with X-Erpsync-Event %q, want the body with %s", b, r.Header.Get("X-Erpsync-Event"), sig[:16])
		}
	case err := <-done:
		t.Fatalf("the stream ended: %v", err)
	case <-ctx.Done():
		t.Fatal("the subscriber never got the event")
	}
	if code, answer := post(); code != http.StatusConflict {
		t.Errorf("the same request again: %d %s, want 409 (a replay)", code, answer)
	}
	if _, err := os.Stat("state/replays/webhook_events.log"); err != nil {
		t.Errorf("the replay window is not in the example's replay.file: %v", err)
	}
	if err := s.StopWithin(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	<-done
}
