package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	_ "github.com/erpsync/erpsync/plugins/all"
	"github.com/erpsync/erpsync/sandbox"
)

// gate lets limit messages through, then holds every later one until the
// stream stops: a process killed with those messages in flight.
type gate struct {
	mu      sync.Mutex
	passed  int
	limit   int
	reached chan struct{}
	once    sync.Once
}

func (g *gate) Process(ctx context.Context, m *service.Message) (service.MessageBatch, error) {
	g.mu.Lock()
	if g.limit < 0 || g.passed < g.limit {
		g.passed++
		g.mu.Unlock()
		return service.MessageBatch{m}, nil
	}
	g.mu.Unlock()
	g.once.Do(func() { close(g.reached) })
	<-ctx.Done()
	return nil, ctx.Err()
}

func (g *gate) Close(context.Context) error { return nil }

// runStream builds yaml (in env) and runs it until it ends by itself, or
// until stop returns true (polled), when it is stopped abruptly.
func runStream(t *testing.T, env *service.Environment, yaml string, stop func() bool) {
	t.Helper()
	b := env.NewStreamBuilder()
	if err := b.SetYAML(yaml); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if stop == nil {
		if err := <-done; err != nil {
			t.Fatalf("stream: %v", err)
		}
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Fatalf("stream ended before the stop condition: %v", err)
		case <-tick.C:
			if stop() {
				// No grace period: in-flight batches are abandoned unacknowledged.
				_ = s.StopWithin(time.Millisecond)
				<-done
				return
			}
		}
	}
}

// TestIntegrationSkusnThroughKafkaToMySQL: the sandbox's unique-code flows
// go to Kafka, then from Kafka to a MySQL table; the consumer is stopped
// abruptly mid-stream and restarted. The table ends up holding exactly the
// source set.
func TestIntegrationSkusnThroughKafkaToMySQL(t *testing.T) {
	const records = 600
	sb := streamtest.StartSandbox(t, records, func(o *sandbox.Options) { o.Limits = false })
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "jst.skusn"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := strings.Join(cluster.ListenAddrs(), ",")

	db := erpsynctest.OpenDB(t)
	table := fmt.Sprintf("e2e_skusn_%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + table) })

	runStream(t, service.GlobalEnvironment(), fmt.Sprintf(`
logger: { level: warn }
input:
  jushuitan:
    base_url: %s
    app_key: sandbox-jst-app
    app_secret: sandbox-jst-secret
    access_token: sandbox-jst-token
    refresh_token: sandbox-jst-refresh
    api: /open/webapi/wmsapi/skusn/queryinoutitemskusns
    params: |
      root.create_time_start = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
      root.create_time_end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
    page_size: 100
    window:
      start: %s
      max_span: 168h
      lookback: 0s
      lag: 0s
    stop_when_caught_up: true
output:
  kafka:
    addresses: [ %s ]
    topic: jst.skusn
`, sb.URL(), time.Now().Add(-31*24*time.Hour).Format(time.RFC3339), brokers), nil)

	consumer := fmt.Sprintf(`
logger: { level: warn }
input:
  kafka:
    addresses: [ %s ]
    topics: [ jst.skusn ]
    consumer_group: bi
    checkpoint_limit: 50
pipeline:
  processors:
    - test_gate: {}
    - mapping: |
        root = this
        root.source_id = @kafka_key
output:
  mysql:
    dsn: %s
    table: %s
    columns: [source_id, io_id, sku_sn, sku_id, inout_type, create_time, remark]
    key_columns: [source_id]
    args_mapping: |
      root = [this.source_id, this.io_id, this.sku_sn, this.sku_id, this.inout_type, this.create_time, this.remark]
    init_statement: |
      CREATE TABLE IF NOT EXISTS %s (
        source_id VARCHAR(64) PRIMARY KEY, io_id BIGINT, sku_sn VARCHAR(64), sku_id VARCHAR(64),
        inout_type INT, create_time DATETIME, remark VARCHAR(255)
      )
    batching: { count: 20, period: 50ms }
`, brokers, erpsynctest.MySQLDSN(), table, table)

	count := func() int {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			return 0 // table not created yet
		}
		return n
	}
	// The first consumer lets a third through, then is killed with the rest
	// in flight; the second resumes from the group's committed offsets.
	g := &gate{limit: records / 3, reached: make(chan struct{})}
	env := service.NewEnvironment()
	if err := env.RegisterProcessor("test_gate", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Resources) (service.Processor, error) { return g, nil }); err != nil {
		t.Fatal(err)
	}
	runStream(t, env, consumer, func() bool {
		select {
		case <-g.reached:
			return true
		default:
			return false
		}
	})
	if n := count(); n >= records {
		t.Fatalf("the consumer wrote every row (%d) before it was killed", n)
	}
	g.mu.Lock()
	g.limit = -1
	g.mu.Unlock()
	runStream(t, env, consumer, func() bool { return count() >= records })

	truth := map[string]bool{}
	for _, d := range sb.Env().Dataset("jushuitan_skusn").Truth() {
		truth[d.ID] = true
	}
	rows, err := db.Query("SELECT source_id FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if !truth[id] {
			t.Fatalf("row %s is not in the source", id)
		}
		got[id] = true
	}
	if len(got) != len(truth) {
		t.Fatalf("table holds %d of the %d source documents", len(got), len(truth))
	}
}
