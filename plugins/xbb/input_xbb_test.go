package xbb

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	sb "github.com/erpsync/erpsync/sandbox"
)

func startSandbox(t *testing.T, records int) *sb.Server {
	t.Helper()
	o := sb.DefaultOptions()
	o.Records = records
	srv, err := sb.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

const streamTmpl = `
input:
  xbb:
    base_url: %s
    corpid: sandbox-xbb-corp
    token: sandbox-xbb-token
    api: product/list
    params: |
      root.conditions = [
        {"attr": "updateTime", "symbol": "greaterequal", "value": [@window_start.ts_unix()]},
        {"attr": "updateTime", "symbol": "lessequal", "value": [@window_end.ts_unix()]}
      ]
    window:
      start: %s
      max_span: 168h
      lookback: 0s
      lag: 0s
    stop_when_caught_up: true
    checkpoint:
      cache: checkpoints
      key: xbb_products
`

func TestIntegrationXBBInputReadsEveryProductOnce(t *testing.T) {
	box := startSandbox(t, 400)
	start := time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339)

	b := service.NewStreamBuilder()
	if err := b.AddCacheYAML("label: checkpoints\nmemory: {}"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetLoggerYAML("level: warn"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddInputYAML(fmt.Sprintf(strings.TrimPrefix(streamTmpl, "\ninput:\n"), box.URL(), start)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	if err := b.AddBatchConsumerFunc(func(_ context.Context, batch service.MessageBatch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range batch {
			id, _ := m.MetaGet("source_id")
			if v, _ := m.MetaGet("source_vendor"); v != "xbb" {
				return fmt.Errorf("source_vendor %q", v)
			}
			seen[id]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("stream: %v", err)
	}
	truth := box.Env().Dataset("xbb_products").Truth()
	if len(seen) != len(truth) {
		t.Fatalf("%d products delivered, truth has %d", len(seen), len(truth))
	}
	for _, d := range truth {
		if seen[d.ID] != 1 {
			t.Fatalf("product %s delivered %d times", d.ID, seen[d.ID])
		}
	}
}

func TestXBBInputLint(t *testing.T) {
	env := service.GlobalEnvironment()
	for name, tc := range map[string]struct {
		yaml string
		want string
	}{
		"missing token": {"corpid: c\napi: product/list\n", "token"},
		"page size":     {"corpid: c\ntoken: t\napi: product/list\npage_size: 500\n", "page_size 500 is above the vendor maximum 100"},
		"lookback":      {"corpid: c\ntoken: t\napi: product/list\nwindow:\n  max_span: 1h\n  lookback: 2h\n", "lookback must be shorter"},
	} {
		t.Run(name, func(t *testing.T) {
			b := env.NewStreamBuilder()
			err := b.AddInputYAML("xbb:\n  " + strings.ReplaceAll(strings.TrimSpace(tc.yaml), "\n", "\n  "))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
