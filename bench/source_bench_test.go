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

// wdtLimits: WDT publishes no request rate [I, docs/vendors/wdt.md section
// 6]; community clients space calls about 1.1 s, which the project reads as
// 60 calls a minute per account (config/resources/erpsync.yaml wdt_account,
// enforced by the sandbox per sid as a bucket of 60 refilled at 60 a minute,
// sandbox/wdt/config.go shopRate) [I].
var wdtLimits = []ratelimit.Limit{{Count: 60, Interval: time.Minute}}

// allowedDuration is the shortest time n calls can take under limits,
// buckets full at the start: the baseline of the backfill benchmarks.
func allowedDuration(limits []ratelimit.Limit, n int) time.Duration {
	now := time.Unix(0, 0)
	tb, _ := ratelimit.NewTokenBucket(limits, 0, 0, func() time.Time { return now })
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
		allowed := allowedDuration(jstLimits, calls)
		ratio := allowed.Seconds() / elapsed.Seconds()
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(calls)/elapsed.Seconds(), "calls/s")
		b.ReportMetric(float64(calls)/allowed.Seconds(), "allowed-calls/s")
		b.ReportMetric(ratio, "of-allowed")
	}
}

// BenchmarkWDTBackfill reads BENCH_WDT_DAYS (default 30) days of trades
// through the wdt input on trade_query.php in windows of the catalogued
// maximum, 60 minutes (720 windows for 30 days), with a token_bucket at the
// limit the project assumes for WDT against the sandbox with its real
// limits. It reports the call rate achieved as a share of the rate the
// limit allows for the same number of calls, and the calls against the
// fewest possible: one per window (an empty one still costs its call) and
// one per further page. It fails on any rate-limit answer (code 2020).
func BenchmarkWDTBackfill(b *testing.B) {
	records := envInt("BENCH_RECORDS", 5000)
	days := envInt("BENCH_WDT_DAYS", 30)
	const api, span, size = "trade_query.php", time.Hour, 100
	for range b.N {
		sb := streamtest.StartSandbox(b, records)
		start := time.Now().Add(-time.Duration(days) * 24 * time.Hour).Truncate(time.Second)
		input := fmt.Sprintf(`wdt:
  base_url: %s
  sid: sandbox-wdt-sid
  appkey: sandbox-wdt-key
  appsecret: sandbox-wdt-secret
  api: %s
  page_size: %d
  window:
    start: %s
    max_span: 60m
    lookback: 0s
    lag: 0s
  stop_when_caught_up: true
  rate_limit: wdt_account
`, sb.URL(), api, size, start.Format(time.RFC3339))
		t0 := time.Now()
		got := streamtest.RunInput(b, input, streamtest.WithTimeout(time.Duration(days)*24*time.Minute+5*time.Minute),
			streamtest.WithRateLimitYAML(`label: wdt_account
token_bucket:
  limits:
    - { count: 60, interval: 1m }
`))
		end := time.Now()
		elapsed := end.Sub(t0)
		var times []time.Time
		for _, at := range streamtest.FilterTimes(b, sb, "wdt_trades") {
			if !at.Before(start) {
				times = append(times, at)
			}
		}
		if len(got.Count) != len(times) {
			b.Fatalf("%d trades read, the sandbox holds %d modified since %s", len(got.Count), len(times), start.Format(time.RFC3339))
		}
		st := sb.Env().Stats
		if limited := st.Count("wdt", "", "2020"); limited != 0 {
			b.Fatalf("the sandbox answered %d rate-limit codes (2020)", limited)
		}
		calls := st.Count("wdt", "", "")
		minimum := minCalls(times, start, end, span, size)
		allowed := allowedDuration(wdtLimits, calls)
		b.ReportMetric(float64(len(times)), "docs")
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(minimum), "min-calls")
		b.ReportMetric(float64(minimum)/float64(calls), "of-min")
		b.ReportMetric(float64(calls)/elapsed.Seconds(), "calls/s")
		b.ReportMetric(float64(calls)/allowed.Seconds(), "allowed-calls/s")
		b.ReportMetric(allowed.Seconds()/elapsed.Seconds(), "of-allowed")
	}
}
