package observability

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/promtest"
	"github.com/erpsync/erpsync/internal/streamtest"
	_ "github.com/erpsync/erpsync/plugins/all"
	"github.com/erpsync/erpsync/plugins/poll"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
)

// TestIntegrationSourceMetricsMatchTheSandbox runs a Jushuitan pipeline with
// the prometheus exporter against a sandbox answering 5xx and gateway
// pages, and checks that erpsync_vendor_requests_total counts, per code,
// exactly the answers the sandbox gave.
func TestIntegrationSourceMetricsMatchTheSandbox(t *testing.T) {
	const records = 300
	sb := streamtest.StartSandbox(t, records, func(o *sandbox.Options) {
		o.Limits = false
		o.Faults = core.Faults{ErrorRate: 0.25}
	})
	addr := promtest.FreeAddr(t)
	b := service.NewStreamBuilder()
	if err := b.SetYAML(fmt.Sprintf(`
http:
  enabled: true
  address: %s
logger:
  level: error
input:
  jushuitan:
    base_url: %s
    app_key: sandbox-jst-app
    app_secret: sandbox-jst-secret
    access_token: sandbox-jst-token
    refresh_token: sandbox-jst-refresh
    api: /open/other/inout/query
    params: |
      root.modified_begin = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
      root.modified_end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
    page_size: 50
    window:
      start: %s
      max_span: 168h
      lookback: 0s
      lag: 0s
    poll_interval: 1h
    max_retries: 50
    backoff:
      initial_interval: 1ms
      max_interval: 5ms
output:
  drop: {}
`, addr, sb.URL(), time.Now().Add(-31*24*time.Hour).Format(time.RFC3339))); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMetricsYAML("prometheus: {}"); err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- stream.Run(ctx) }()
	defer func() {
		_ = stream.StopWithin(10 * time.Second)
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("stream: %v", err)
		}
	}()

	labels := map[string]string{"vendor": "jushuitan", "interface": "/open/other/inout/query"}
	// Caught up: every bill read and its window completed.
	fams := promtest.Until(t, ctx, "http://"+addr+"/metrics", func(f promtest.Families) bool {
		return promtest.Sum(f, poll.MetricDocumentsRead, labels) >= records &&
			promtest.Sum(f, poll.MetricWindowsCompleted, labels) >= 5
	})

	answers := sb.Stats().Answers["jushuitan"]["/open/other/inout/query"]
	if answers["http_500"]+answers["http_502"] == 0 {
		t.Fatal("the sandbox injected no error: the test proves nothing")
	}
	total := 0
	for code, n := range answers {
		total += n
		want := map[string]string{"vendor": "jushuitan", "interface": "/open/other/inout/query", "code": code}
		if got := promtest.Sum(fams, poll.MetricVendorRequests, want); int(got) != n {
			t.Errorf("code %s: metric %v, sandbox %d", code, got, n)
		}
	}
	if got := promtest.Sum(fams, poll.MetricVendorRequests, labels); int(got) != total {
		t.Errorf("requests: metric %v, sandbox %d (%v)", got, total, promtest.Series(fams, poll.MetricVendorRequests))
	}
	if got := promtest.Sum(fams, poll.MetricDocumentsRead, labels); got != records {
		t.Errorf("documents read: metric %v, want %d", got, records)
	}
	if lag := promtest.Sum(fams, poll.MetricCheckpointLag, labels); lag < 0 || lag > 60 {
		t.Errorf("checkpoint lag %v s after catching up", lag)
	}
}
