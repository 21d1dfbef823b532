package observability

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
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
	ctx := runWithMetrics(t, fmt.Sprintf(`
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
`, addr, sb.URL(), time.Now().Add(-31*24*time.Hour).Format(time.RFC3339)))

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

// TestIntegrationTargetMetricsMatchTheSandbox writes customers through
// kingdee_batchsave to a K3Cloud sandbox answering 5xx, and checks the
// call counts per method and code and the rows written against what the
// sandbox saw and stored.
func TestIntegrationTargetMetricsMatchTheSandbox(t *testing.T) {
	const docs = 120
	sb := streamtest.StartSandbox(t, 50, func(o *sandbox.Options) {
		o.Limits = false
		o.Faults = core.Faults{ErrorRate: 0.2}
	})
	addr := promtest.FreeAddr(t)
	ctx := runWithMetrics(t, fmt.Sprintf(`
http: { enabled: true, address: %s }
logger: { level: warn }
input:
  generate:
    # %d customers, then nothing: the stream (and /metrics) stays up.
    interval: 2ms
    mapping: |
      let n = counter()
      root = if $n > %[2]d { deleted() } else { {
        "FNumber": "CUST%%05d".format($n),
        "FName": "客户 " + $n.string(),
        "FCreateOrgId": {"FNumber": "100"},
        "FUseOrgId": {"FNumber": "100"},
      } }
output:
  kingdee_batchsave:
    url: %s/k3cloud/
    auth:
      acct_id: sandbox-k3-acct
      username: sandbox-k3-user
      app_id: 200001_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX
      app_secret: sandbox-k3-secret
    form_id: BD_Customer
    number_field: FNumber
    batching: { count: 20, period: 10ms }
`, addr, docs, sb.URL()))
	fams := promtest.Until(t, ctx, "http://"+addr+"/metrics", func(f promtest.Families) bool {
		return promtest.Sum(f, "erpsync_rows_written_total", map[string]string{"target": "k3cloud", "object": "BD_Customer"}) >= docs
	})
	if n := sb.Stats().Targets["k3cloud/BD_Customer"]; n != docs {
		t.Fatalf("sandbox stores %d customers, want %d", n, docs)
	}
	faults := 0
	for iface, codes := range sb.Stats().Answers["k3cloud"] {
		method := iface
		if strings.HasSuffix(iface, ".common.kdsvc") {
			// transport faults are counted under the request path
			p := strings.TrimSuffix(iface, ".common.kdsvc")
			method = p[strings.LastIndex(p, ".")+1:]
		}
		for code, n := range codes {
			if strings.HasPrefix(code, "http_") {
				faults += n
			}
			want := map[string]string{"vendor": "k3cloud", "interface": method, "code": code}
			if got := promtest.Sum(fams, poll.MetricVendorRequests, want); int(got) != n {
				t.Errorf("%s %s: metric %v, sandbox %d", method, code, got, n)
			}
		}
	}
	if faults == 0 {
		t.Fatal("the sandbox injected no fault: the test proves nothing")
	}
}

// TestIntegrationKISMetricsMatchTheSandbox writes bills through the kis
// output to a KIS sandbox whose tokens expire and which answers 5xx, and
// checks the call counts per path and errcode, and the renewals, against
// what the sandbox saw.
func TestIntegrationKISMetricsMatchTheSandbox(t *testing.T) {
	const bills = 40
	sb := streamtest.StartSandbox(t, 20, func(o *sandbox.Options) {
		o.Limits = false
		o.Faults = core.Faults{ErrorRate: 0.15}
	})
	addr := promtest.FreeAddr(t)
	ledger := t.TempDir()
	ctx := runWithMetrics(t, fmt.Sprintf(`
http: { enabled: true, address: %s }
logger: { level: none }
input:
  generate:
    interval: 2ms
    mapping: |
      let n = counter()
      root = if $n > %d { deleted() } else { {
        "Head": {"FBillNo": "OBS%%05d".format($n), "Fdate": "2024-06-01T10:00:00", "FTranType": 10, "FROB": 1, "FDCStockID": "CK001"},
        "Entry": [{"FItemID": "SKU00001", "FQty": 1, "Fauxqty": 1, "FAuxQtyMust": 1, "FPlanMode": 14036, "FDCStockID": "CK001"}],
      } }
output:
  kis:
    base_url: %s
    client_id: sandbox-kis-client
    client_secret: sandbox-kis-secret
    auth_code: sandbox-kis-code
    acct_number: sandbox-kis-acct
    pid: sandbox-kis-pid
    icrmid: sandbox-kis-icrmid
    ledger: kis_ledger
    backoff: { initial_interval: 1ms, max_interval: 5ms }
cache_resources:
  - label: kis_ledger
    file: { directory: %s }
`, addr, bills, sb.URL(), ledger))
	// The unit check below needs the sandbox's unit for SKU00001 to match; the
	// KIS sandbox takes the item's unit when FUnitID is absent.
	fams := promtest.Until(t, ctx, "http://"+addr+"/metrics", func(f promtest.Families) bool {
		return promtest.Sum(f, "erpsync_rows_written_total", map[string]string{"target": "kis"}) >= bills
	})
	if n := sb.Stats().Targets["kis/bills"]; n != bills {
		t.Fatalf("sandbox stores %d bills, want %d", n, bills)
	}
	total, faults := 0, 0
	for path, codes := range sb.Stats().Answers["kis"] {
		for code, n := range codes {
			total += n
			if strings.HasPrefix(code, "http_") {
				faults += n
			}
			want := map[string]string{"vendor": "kis", "interface": path, "code": code}
			if got := promtest.Sum(fams, poll.MetricVendorRequests, want); int(got) != n {
				t.Errorf("%s %s: metric %v, sandbox %d", path, code, got, n)
			}
		}
	}
	if got := promtest.Sum(fams, poll.MetricVendorRequests, map[string]string{"vendor": "kis"}); int(got) != total {
		t.Errorf("kis calls: metric %v, sandbox %d", got, total)
	}
	if faults == 0 {
		t.Fatal("the sandbox injected no fault: the test proves nothing")
	}
	if promtest.Sum(fams, poll.MetricCredentialRenewals, map[string]string{"vendor": "kis"}) < 1 {
		t.Error("the first login was not counted as a credential renewal")
	}
}

// runWithMetrics runs a stream config with the prometheus exporter until
// the test ends, and returns a context that ends with the test's time budget.
func runWithMetrics(t *testing.T, yaml string) context.Context {
	t.Helper()
	b := service.NewStreamBuilder()
	if err := b.SetYAML(yaml); err != nil {
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
	done := make(chan error, 1)
	go func() { done <- stream.Run(ctx) }()
	t.Cleanup(func() {
		_ = stream.StopWithin(10 * time.Second)
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stream: %v", err)
		}
		cancel()
	})
	return ctx
}
