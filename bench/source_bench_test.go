package bench

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"

	"github.com/erpsync/erpsync/internal/streamtest"
	_ "github.com/erpsync/erpsync/plugins/all"
	"github.com/erpsync/erpsync/plugins/ratelimit"
)

// jstLimits are Jushuitan's published limits: 5 calls a second and 100 a minute.
var jstLimits = []ratelimit.Limit{{Count: 5, Interval: time.Second}, {Count: 100, Interval: time.Minute}}

// allowedDuration is the shortest time n calls can take under the published
// limits, buckets full at the start: the baseline of the backfill benchmark.
func allowedDuration(n int) time.Duration {
	now := time.Unix(0, 0)
	tb, _ := ratelimit.NewTokenBucket(jstLimits, 0, 0, func() time.Time { return now })
	start := now
	var last time.Time
	for done := 0; done < n; {
		d, _ := tb.Access(nil)
		if d == 0 {
			last = now
			done++
			continue
		}
		now = now.Add(d - time.Millisecond) // Access rounds up by 1ms
	}
	return last.Sub(start)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkJushuitanBackfill reads 30 days of other in/out bills through the
// jushuitan input with a token_bucket at the published limits against the
// sandbox with real limits, and reports the call rate achieved as a share of
// the rate the limits allow for the same number of calls.
func BenchmarkJushuitanBackfill(b *testing.B) {
	records := envInt("BENCH_RECORDS", 5000)
	for range b.N {
		sb := streamtest.StartSandbox(b, records)
		input := fmt.Sprintf(`jushuitan:
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
  stop_when_caught_up: true
  rate_limit: jushuitan_account
`, sb.URL(), time.Now().Add(-31*24*time.Hour).Format(time.RFC3339))
		t0 := time.Now()
		got := streamtest.RunInput(b, input, streamtest.WithRateLimitYAML(`label: jushuitan_account
token_bucket:
  limits:
    - { count: 5, interval: 1s }
    - { count: 100, interval: 1m }
`))
		elapsed := time.Since(t0)
		if len(got.Count) != records {
			b.Fatalf("%d documents read, want %d", len(got.Count), records)
		}
		st := sb.Env().Stats
		calls := st.Count("jushuitan", "/open/other/inout/query", "")
		if limited := st.Count("jushuitan", "", "199") + st.Count("jushuitan", "", "200"); limited != 0 {
			b.Fatalf("the sandbox answered %d rate-limit codes", limited)
		}
		// The first call goes at t0; the allowed time spans the rest.
		allowed := allowedDuration(calls)
		ratio := allowed.Seconds() / elapsed.Seconds()
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(calls)/elapsed.Seconds(), "calls/s")
		b.ReportMetric(float64(calls)/allowed.Seconds(), "allowed-calls/s")
		b.ReportMetric(ratio, "of-allowed")
	}
}
