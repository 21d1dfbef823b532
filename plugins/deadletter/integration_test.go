package deadletter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/plugins/mysql"
)

// testDSN is the server the integration tests use; tests/run.sh makes sure
// it answers.
func testDSN() string {
	if d := os.Getenv("MYSQL_DSN"); d != "" {
		return d
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

var tableSeq atomic.Int64

// testStore opens a Store on a table unique to the test, dropped at its
// end, or fails the test loudly when the server does not answer.
func testStore(t *testing.T) (*Store, string) {
	t.Helper()
	table := fmt.Sprintf("dl_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, tableSeq.Add(1))
	conn, err := NewConn(ConnConfig{DSN: testDSN(), Store: StoreConfig{Table: table, CreateTable: true, Retry: storeRetry}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := conn.Store(ctx)
	if err != nil {
		t.Fatalf("MariaDB/MySQL does not answer at MYSQL_DSN=%s: %v (run ./tests/run.sh, which starts it)", mysql.RedactDSN(testDSN()), err)
	}
	t.Cleanup(func() {
		_, _ = st.db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+st.t)
		_ = conn.Close()
	})
	return st, table
}

func get(t *testing.T, st *Store, stream, id string) Row {
	t.Helper()
	r, err := st.Get(context.Background(), stream, id)
	if err != nil {
		t.Fatalf("dead letter %s/%s: %v", stream, id, err)
	}
	return r
}

// TestIntegrationStoreLifecycle: a failure inserts an open row; another
// increments attempts and refreshes the rest but keeps id and first
// failure; resolve closes it; a later failure re-opens it and keeps the
// resolution time.
func TestIntegrationStoreLifecycle(t *testing.T) {
	st, _ := testStore(t)
	ctx := context.Background()
	l := Letter{Stream: "s1", SourceID: "10001", SourceVendor: "jushuitan", Target: "kis", ErrorCode: "20005",
		ErrorMessage: "bill 10001: kis: ...: code 20005 物料已禁用 (permanent)", Payload: []byte(`{"io_id":10001,"remark":"中文"}`),
		TargetPayload: []byte(`{"Head":{"FBillNo":"10001"}}`), SourceMeta: map[string]string{"source_id": "10001", "source_api": "/open/other/inout/query"}}
	if err := st.Record(ctx, l); err != nil {
		t.Fatal(err)
	}
	r1 := get(t, st, "s1", "10001")
	if r1.Status != StatusOpen || r1.Attempts != 1 || !r1.FirstFailureAt.Equal(r1.LastFailureAt) || !r1.ResolvedAt.IsZero() ||
		string(r1.Payload) != string(l.Payload) || string(r1.TargetPayload) != string(l.TargetPayload) ||
		r1.SourceMeta["source_api"] != "/open/other/inout/query" || r1.ErrorCode != "20005" || r1.Target != "kis" || r1.SourceVendor != "jushuitan" {
		t.Fatalf("first failure: %+v", r1)
	}

	l2 := l
	l2.ErrorCode, l2.ErrorMessage, l2.TargetPayload = "20006", "second reason", nil
	if err := st.Record(ctx, l2); err != nil {
		t.Fatal(err)
	}
	r2 := get(t, st, "s1", "10001")
	if r2.ID != r1.ID || r2.Attempts != 2 || !r2.FirstFailureAt.Equal(r1.FirstFailureAt) || !r2.LastFailureAt.After(r1.LastFailureAt) ||
		r2.ErrorCode != "20006" || r2.ErrorMessage != "second reason" || r2.TargetPayload != nil || r2.Status != StatusOpen {
		t.Fatalf("second failure: %+v, after %+v", r2, r1)
	}

	n, err := st.Resolve(ctx, "s1", "10001", "not-a-dead-letter")
	if err != nil || n != 1 {
		t.Fatalf("Resolve: %d rows, %v; want 1", n, err)
	}
	r3 := get(t, st, "s1", "10001")
	if r3.Status != StatusResolved || r3.ResolvedAt.IsZero() || r3.Attempts != 2 {
		t.Fatalf("resolved: %+v", r3)
	}
	if n, err := st.Resolve(ctx, "s1", "10001"); err != nil || n != 0 {
		t.Fatalf("resolving a resolved row: %d rows, %v; want 0", n, err)
	}

	if err := st.Record(ctx, l); err != nil {
		t.Fatal(err)
	}
	r4 := get(t, st, "s1", "10001")
	if r4.Status != StatusOpen || r4.Attempts != 3 || !r4.ResolvedAt.Equal(r3.ResolvedAt) || r4.ID != r1.ID {
		t.Fatalf("failure after resolution: %+v; want open, attempts 3, resolved_at kept", r4)
	}
}

// TestIntegrationStoreKeys: rows are per (stream, source_id): the same id
// in two streams is two rows; ids compare byte for byte; odd ids and
// payloads are stored, not refused.
func TestIntegrationStoreKeys(t *testing.T) {
	st, _ := testStore(t)
	ctx := context.Background()
	long := strings.Repeat("长", 250)
	letters := []Letter{
		{Stream: "a", SourceID: "X1", Payload: []byte("{}")},
		{Stream: "b", SourceID: "X1", Payload: []byte("{}")},
		{Stream: "a", SourceID: "x1", Payload: []byte("{}")},
		{Stream: "a", SourceID: "", Payload: []byte(`{"no":"id"}`)},
		{Stream: "a", SourceID: long, Payload: []byte("bad \xff utf8"), ErrorCode: strings.Repeat("9", 100)},
	}
	if err := st.Record(ctx, letters...); err != nil {
		t.Fatal(err)
	}
	if err := st.Record(ctx, letters[0]); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := st.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+st.t).Scan(&rows); err != nil || rows != len(letters) {
		t.Fatalf("%d rows (%v), want %d", rows, err, len(letters))
	}
	for _, tc := range []struct {
		stream, id string
		attempts   int
	}{{"a", "X1", 2}, {"b", "X1", 1}, {"a", "x1", 1}, {"a", NormalizeSourceID("", []byte(`{"no":"id"}`)), 1}, {"a", long, 1}} {
		if r := get(t, st, tc.stream, tc.id); r.Attempts != tc.attempts {
			t.Errorf("%s/%.20s: attempts %d, want %d", tc.stream, tc.id, r.Attempts, tc.attempts)
		}
	}
	if r := get(t, st, "a", long); !strings.HasPrefix(string(r.Payload), "bad ") || len(r.ErrorCode) != maxCode {
		t.Errorf("long id row: payload %q, error_code of %d characters", r.Payload, len(r.ErrorCode))
	}
}

// TestIntegrationStoreReadOpen: open rows of one stream in id order, within
// the bounds, limit at a time.
func TestIntegrationStoreReadOpen(t *testing.T) {
	st, _ := testStore(t)
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		if err := st.Record(ctx, Letter{Stream: "s", SourceID: fmt.Sprint(i), Payload: []byte("{}")}, Letter{Stream: "other", SourceID: fmt.Sprint(i), Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Resolve(ctx, "s", "2"); err != nil {
		t.Fatal(err)
	}
	max, err := st.MaxOpenID(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	after := int64(0)
	for {
		rows, err := st.ReadOpen(ctx, "s", after, max, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			break
		}
		if len(rows) > 2 {
			t.Fatalf("limit 2 returned %d rows", len(rows))
		}
		for _, r := range rows {
			if r.Stream != "s" || r.Status != StatusOpen || r.ID <= after {
				t.Errorf("row %+v out of order or of the wrong stream/status", r)
			}
			after = r.ID
			got = append(got, r.SourceID)
		}
	}
	if fmt.Sprint(got) != "[1 3 4 5]" {
		t.Errorf("read %v, want [1 3 4 5]", got)
	}
	if none, err := st.MaxOpenID(ctx, "nothing"); err != nil || none != 0 {
		t.Errorf("MaxOpenID of an unknown stream: %d, %v", none, err)
	}
}

// counters is a metrics exporter keeping counter sums by name and labels.
type counters struct {
	mu  sync.Mutex
	sum map[string]int64
}

func (c *counters) get(key string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sum[key]
}

type counter struct {
	c   *counters
	key string
}

func (k counter) Incr(n int64) {
	k.c.mu.Lock()
	k.c.sum[k.key] += n
	k.c.mu.Unlock()
}
func (k counter) IncrFloat64(f float64) { k.Incr(int64(f)) }

type nop struct{}

func (nop) Timing(int64)        {}
func (nop) Set(int64)           {}
func (nop) SetFloat64(float64)  {}
func (nop) Incr(int64)          {}
func (nop) IncrFloat64(float64) {}
func (nop) Decr(int64)          {}
func (nop) DecrFloat64(float64) {}

func (c *counters) NewCounterCtor(name string, labels ...string) service.MetricsExporterCounterCtor {
	return func(values ...string) service.MetricsExporterCounter {
		key := name
		for i, l := range labels {
			if i < len(values) && (l == "stream" || l == "target") {
				key += "," + l + "=" + values[i]
			}
		}
		return counter{c, key}
	}
}

func (c *counters) NewTimerCtor(string, ...string) service.MetricsExporterTimerCtor {
	return func(...string) service.MetricsExporterTimer { return nop{} }
}

func (c *counters) NewGaugeCtor(string, ...string) service.MetricsExporterGaugeCtor {
	return func(...string) service.MetricsExporterGauge { return nop{} }
}

func (c *counters) Close(context.Context) error { return nil }

// runStream runs a stream config to its end with a counting metrics exporter.
func runStream(t *testing.T, yaml string) *counters {
	t.Helper()
	c := &counters{sum: map[string]int64{}}
	env := service.NewEnvironment()
	if err := env.RegisterMetricsExporter("test_counters", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Logger) (service.MetricsExporter, error) { return c, nil }); err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	if err := b.SetYAML(yaml); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMetricsYAML("test_counters: {}"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetLoggerYAML("level: off"); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return c
}

// TestIntegrationRoundTrip runs the pattern in-process: a stream whose
// target refuses some documents records them (with the source document
// stashed before the mapping, and the vendor code); a replay whose target
// still refuses one of them resolves the others only, and records that one
// again; a second replay reads only the one still open.
func TestIntegrationRoundTrip(t *testing.T) {
	st, table := testStore(t)
	dsn := testDSN()
	// The target: `reject` answers like an erpsync vendor error for the
	// ids in the list, `drop` takes the rest.
	target := func(refuse string) string {
		return fmt.Sprintf(`
switch:
  cases:
    - check: '[%s].contains(@source_id)'
      output:
        reject: 'bill ${! @source_id }: kis: /koas/x/create: code 20005 物料已禁用 (permanent)'
    - output:
        drop: {}
`, refuse)
	}
	indent := func(s string, n int) string {
		return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+strings.Repeat(" ", n))
	}
	// 1. The stream: documents 1..6; the mapping rejects 6, the target refuses 2, 4 and 5.
	runStream(t, fmt.Sprintf(`
input:
  generate:
    count: 6
    interval: ""
    mapping: |
      let n = count("docs_%[1]s")
      root = {"io_id": $n, "name": "单据" + $n.string(), "items": if $n == 6 { [] } else { [{"qty": $n}] }}
      meta source_id = $n.string()
      meta source_vendor = "jushuitan"
      meta source_api = "/open/other/inout/query"
pipeline:
  processors:
    - mapping: meta erpsync_source = content().string()
    - mapping: |
        root = if this.items.length() == 0 { throw("bill %%v rejected: no items".format(this.io_id)) } else { {} }
        root.Head.FBillNo = this.io_id.string()
        root.Entry = this.items
output:
  fallback:
    - reject_errored:
        %[2]s
    - dead_letter:
        dsn: '%[3]s'
        table: %[4]s
        stream: s
        target: kis
`, table, indent(target(`"2","4","5"`), 8), dsn, table))

	ctx := context.Background()
	for id, code := range map[string]string{"2": "20005", "4": "20005", "5": "20005", "6": ""} {
		r := get(t, st, "s", id)
		if r.Attempts != 1 || r.Status != StatusOpen || r.ErrorCode != code || r.SourceVendor != "jushuitan" || r.Target != "kis" ||
			!strings.Contains(string(r.Payload), `"name":"单据`+id+`"`) || r.SourceMeta["source_api"] != "/open/other/inout/query" {
			t.Errorf("dead letter %s: %+v", id, r)
		}
		if _, stash := r.SourceMeta[MetaSource]; stash {
			t.Errorf("dead letter %s: source_meta holds the stash", id)
		}
		if wantTarget := id != "6"; (r.TargetPayload != nil) != wantTarget || (wantTarget && !strings.Contains(string(r.TargetPayload), `"FBillNo":"`+id+`"`)) {
			t.Errorf("dead letter %s: target_payload %s", id, r.TargetPayload)
		}
	}
	for _, id := range []string{"1", "3"} {
		if _, err := st.Get(ctx, "s", id); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("document %s was written, yet: %v", id, err)
		}
	}

	// 2. Replay: the target now refuses 4 only.
	replay := func(refuse string) *counters {
		return runStream(t, fmt.Sprintf(`
input:
  dead_letters:
    dsn: '%[1]s'
    table: %[2]s
    stream: s
    batch_size: 2
pipeline:
  processors:
    - mapping: |
        root = if this.items.length() == 0 { throw("bill %%v rejected: no items".format(this.io_id)) } else { {} }
        root.Head.FBillNo = this.io_id.string()
        root.Entry = this.items
output:
  fallback:
    - reject_errored:
        broker:
          pattern: fan_out_sequential_fail_fast
          outputs:
            - %[3]s
            - dead_letter_resolve:
                dsn: '%[1]s'
                table: %[2]s
                stream: s
    - dead_letter:
        dsn: '%[1]s'
        table: %[2]s
        stream: s
        target: kis
`, dsn, table, indent(target(refuse), 14)))
	}
	c := replay(`"4"`)
	for id, want := range map[string]struct {
		status   string
		attempts int
	}{"2": {StatusResolved, 1}, "5": {StatusResolved, 1}, "4": {StatusOpen, 2}, "6": {StatusOpen, 2}} {
		r := get(t, st, "s", id)
		if r.Status != want.status || r.Attempts != want.attempts || r.ResolvedAt.IsZero() != (want.status == StatusOpen) {
			t.Errorf("after the replay, dead letter %s: %s, attempts %d, resolved_at %v; want %s, %d", id, r.Status, r.Attempts, r.ResolvedAt, want.status, want.attempts)
		}
		if id == "4" && (!strings.Contains(string(r.Payload), `"name":"单据4"`) || r.SourceMeta["source_api"] != "/open/other/inout/query") {
			t.Errorf("dead letter 4 recorded again without its source or metadata: %s %v", r.Payload, r.SourceMeta)
		}
	}
	if got := c.get(MetricResolved + ",stream=s"); got != 2 {
		t.Errorf("%s = %d, want 2", MetricResolved, got)
	}
	if got := c.get(MetricDeadLetters + ",stream=s,target=kis"); got != 2 {
		t.Errorf("%s = %d, want 2 (4 and 6 failed again)", MetricDeadLetters, got)
	}

	// 3. A second replay, the target taking everything: 4 resolves, 6 fails again.
	replay(`"none"`)
	for id, want := range map[string]int{"4": 2, "6": 3, "2": 1} {
		if r := get(t, st, "s", id); r.Attempts != want || (id != "6") != (r.Status == StatusResolved) {
			t.Errorf("after the second replay, dead letter %s: %s, attempts %d", id, r.Status, r.Attempts)
		}
	}
}

// TestIntegrationInputMessages: the input emits the payload with the
// source metadata restored and the dead_letter_* keys, one message per
// batch, each open row once per pass, and ends.
func TestIntegrationInputMessages(t *testing.T) {
	st, table := testStore(t)
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		if err := st.Record(ctx, Letter{Stream: "s", SourceID: fmt.Sprint(i), SourceVendor: "wdt", Target: "k3cloud", ErrorCode: "11",
			ErrorMessage: "boom", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)), SourceMeta: map[string]string{"source_modified": "2024-06-01T10:00:00+08:00"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Resolve(ctx, "s", "3"); err != nil {
		t.Fatal(err)
	}
	got := runInput(t, fmt.Sprintf("dead_letters:\n  dsn: '%s'\n  table: %s\n  stream: s\n  batch_size: 2\n", testDSN(), table))
	var ids []string
	for _, m := range got {
		ids = append(ids, m["source_id"].(string))
		id := m["source_id"].(string)
		if m["content"] != fmt.Sprintf(`{"n":%s}`, id) || m[MetaSource] != m["content"] || m["source_vendor"] != "wdt" ||
			m["source_modified"] != "2024-06-01T10:00:00+08:00" || m[MetaDeadLetterAttempts] != "1" || m[MetaDeadLetterError] != "boom" ||
			m[MetaDeadLetterErrorCode] != "11" || m[MetaDeadLetterTarget] != "k3cloud" || m[MetaDeadLetterID] == "" {
			t.Errorf("message of %s: %v", id, m)
		}
	}
	if fmt.Sprint(ids) != "[1 2 4 5]" {
		t.Errorf("read %v, want the open rows [1 2 4 5] once each, in id order", ids)
	}
}

// runInput runs a dead_letters input configured by inputYAML to its end
// and returns each message it emitted as its metadata plus "content".
func runInput(t *testing.T, inputYAML string) []map[string]any {
	t.Helper()
	b := service.NewStreamBuilder()
	if err := b.SetLoggerYAML("level: off"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddInputYAML(inputYAML); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []map[string]any
	if err := b.AddBatchConsumerFunc(func(_ context.Context, batch service.MessageBatch) error {
		mu.Lock()
		defer mu.Unlock()
		if len(batch) != 1 {
			t.Errorf("a batch of %d messages, want 1", len(batch))
		}
		for _, m := range batch {
			raw, _ := m.AsBytes()
			meta := map[string]any{"content": string(raw)}
			_ = m.MetaWalk(func(k, v string) error { meta[k] = v; return nil })
			got = append(got, meta)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

// TestIntegrationInputIDs: with ids the input reads only the open rows of
// the stream among them, in id order; a resolved id, an id of another
// stream and an unknown id are skipped.
func TestIntegrationInputIDs(t *testing.T) {
	st, table := testStore(t)
	ctx := context.Background()
	rowID := map[string]int64{}
	for _, l := range []Letter{
		{Stream: "s", SourceID: "a"}, {Stream: "s", SourceID: "b"}, {Stream: "s", SourceID: "c"},
		{Stream: "s", SourceID: "d"}, {Stream: "other", SourceID: "e"},
	} {
		l.Payload = []byte(`{"id":"` + l.SourceID + `"}`)
		if err := st.Record(ctx, l); err != nil {
			t.Fatal(err)
		}
		rowID[l.SourceID] = get(t, st, l.Stream, l.SourceID).ID
	}
	if _, err := st.Resolve(ctx, "s", "b"); err != nil {
		t.Fatal(err)
	}
	// d is open but not asked for; b is resolved; e is of stream other;
	// the last id belongs to no row.
	ids := []int64{rowID["c"], rowID["b"], rowID["a"], rowID["e"], rowID["e"] + 1000}
	got := runInput(t, fmt.Sprintf("dead_letters:\n  dsn: '%s'\n  table: %s\n  stream: s\n  batch_size: 1\n  ids: %s\n",
		testDSN(), table, strings.Join(strings.Fields(fmt.Sprint(ids)), ",")))
	var read []string
	for _, m := range got {
		read = append(read, fmt.Sprintf("%v=%v", m["source_id"], m[MetaDeadLetterID]))
	}
	want := fmt.Sprintf("[a=%d c=%d]", rowID["a"], rowID["c"])
	if fmt.Sprint(read) != want {
		t.Errorf("read %v, want %s: the open rows of stream s among ids %v, in id order", read, want, ids)
	}
	// Without ids, every open row of the stream, as before.
	got = runInput(t, fmt.Sprintf("dead_letters:\n  dsn: '%s'\n  table: %s\n  stream: s\n", testDSN(), table))
	read = read[:0]
	for _, m := range got {
		read = append(read, fmt.Sprint(m["source_id"]))
	}
	if fmt.Sprint(read) != "[a c d]" {
		t.Errorf("without ids read %v, want [a c d]", read)
	}
}

// TestIntegrationDeadLetterDSNSecret: the password of the dsn is in no
// error of a write that fails.
func TestIntegrationDeadLetterDSNSecret(t *testing.T) {
	cfg, err := gomysql.ParseDSN(testDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Passwd = "wrong-S3cret-pw"
	c, err := NewConn(ConnConfig{DSN: cfg.FormatDSN(), Store: StoreConfig{Table: DefaultTable, CreateTable: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Store(ctx); err == nil || strings.Contains(err.Error(), cfg.Passwd) {
		t.Fatalf("login with a wrong password: %v; want an error without the password", err)
	}
}

// TestIntegrationInputPasses: without stop_when_done every pass starts
// over from the first open row, but a row still in flight (emitted, not yet
// acknowledged) is not emitted a second time.
func TestIntegrationInputPasses(t *testing.T) {
	st, table := testStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 1; i <= 3; i++ {
		if err := st.Record(ctx, Letter{Stream: "s", SourceID: fmt.Sprint(i), Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := NewConn(ConnConfig{DSN: testDSN(), Store: StoreConfig{Table: table, Retry: storeRetry}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	in := &deadLettersInput{conn: conn, stream: "s", batchSize: 2, pollInterval: time.Millisecond,
		log: service.MockResources().Logger(), inFlight: map[int64]bool{}}
	read := func(n int) (ids []string, acks []service.AckFunc) {
		t.Helper()
		for range n {
			b, ack, err := in.ReadBatch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := b[0].MetaGet("source_id")
			ids, acks = append(ids, id), append(acks, ack)
		}
		return ids, acks
	}
	first, acks := read(3)
	if fmt.Sprint(first) != "[1 2 3]" {
		t.Fatalf("first pass read %v", first)
	}
	// 2 is acknowledged (still open: it failed again); 1 and 3 are in flight.
	if err := acks[1](ctx, nil); err != nil {
		t.Fatal(err)
	}
	next, _ := read(1)
	if fmt.Sprint(next) != "[2]" {
		t.Fatalf("the next pass read %v first, want [2] (1 and 3 are in flight)", next)
	}
	if err := acks[0](ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Resolve(ctx, "s", "1"); err != nil {
		t.Fatal(err)
	}
	// 1 is resolved: not read again. 3 is still in flight, 2 too.
	if err := acks[2](ctx, nil); err != nil {
		t.Fatal(err)
	}
	again, _ := read(1)
	if fmt.Sprint(again) != "[3]" {
		t.Fatalf("read %v, want [3] (1 resolved, 2 in flight)", again)
	}
}
