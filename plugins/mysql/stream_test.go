package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// captureOutput records what reaches it: the dead letter of the test.
type captureOutput struct {
	mu   sync.Mutex
	msgs []*service.Message
}

func (c *captureOutput) Connect(context.Context) error { return nil }
func (c *captureOutput) Close(context.Context) error   { return nil }
func (c *captureOutput) WriteBatch(_ context.Context, b service.MessageBatch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, b...)
	return nil
}

// TestIntegrationOutputDeadLetter runs a stream whose output is
// fallback: [mysql, dead letter]: the refused rows, and only they, reach
// the dead letter, carrying the reason (fallback_error, copied to
// erpsync_error as the spec's example does); the rest land in the table.
func TestIntegrationOutputDeadLetter(t *testing.T) {
	db := testDB(t)
	table := newTable(t, db, "dlq", "id INT PRIMARY KEY, name VARCHAR(16) NOT NULL, qty INT")

	env := service.NewEnvironment()
	dlq := &captureOutput{}
	if err := env.RegisterBatchOutput("test_dead_letter", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			return dlq, service.BatchPolicy{}, 1, nil
		}); err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	if err := b.SetLoggerYAML("level: none"); err != nil {
		t.Fatal(err)
	}
	produce, err := b.AddBatchProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML(fmt.Sprintf(`
fallback:
  - mysql:
      dsn: %s
      table: %s
      columns: [id, name, qty]
      key_columns: [id]
      args_mapping: root = [this.id, this.name, this.qty]
  - processors:
      - mapping: meta erpsync_error = @fallback_error
    test_dead_letter: {}
`, testDSN(), table)); err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- stream.Run(ctx) }()

	docs := make([]string, 100) // large enough for the parallel mapping
	for i := range docs {
		docs[i] = fmt.Sprintf(`{"id":%d,"name":"n%d","qty":%d}`, i, i, i)
	}
	docs[17] = `{"id":17,"name":null,"qty":1}`
	docs[64] = `{"id":64,"name":"ok","qty":"many"}`
	docs[5] = `not json`
	if err := produce(ctx, batchOf(docs...)); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if err := stream.StopWithin(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("stream: %v", err)
	}

	want := map[string]string{`{"id":17`: "Error 1048", `{"id":64`: "Error 1366", `not json`: "args_mapping failed"}
	dlq.mu.Lock()
	defer dlq.mu.Unlock()
	if len(dlq.msgs) != len(want) {
		t.Fatalf("%d messages in the dead letter, want %d", len(dlq.msgs), len(want))
	}
	for _, m := range dlq.msgs {
		body, _ := m.AsBytes()
		var reason string
		for prefix, r := range want {
			if strings.HasPrefix(string(body), prefix) {
				reason = r
			}
		}
		meta, _ := m.MetaGet(MetaError)
		if reason == "" || !strings.Contains(meta, reason) {
			t.Errorf("dead letter %s: %s = %q, want it to mention %q", body, MetaError, meta, reason)
		}
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM `" + table + "`").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 97 {
		t.Fatalf("%d rows in the table, want 97", n)
	}
}

// TestSpecExamplesLint lints every example of the two specs.
func TestSpecExamplesLint(t *testing.T) {
	for name, yaml := range map[string]string{
		"upsert": exampleOutputUpsert, "dead letter": exampleOutputDeadLetter, "cache dedupe": exampleCacheDedupe,
	} {
		t.Run(name, func(t *testing.T) {
			if err := service.NewEnvironment().NewStreamBuilder().SetYAML(yaml); err != nil {
				t.Fatalf("example does not lint: %v", err)
			}
		})
	}
}
