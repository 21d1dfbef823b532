package sources

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/streamtest"
	_ "github.com/erpsync/erpsync/plugins/all"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
)

func noLimits(o *sandbox.Options) { o.Limits = false }

// source is one vendor input reading one sandbox dataset in windows.
type source struct {
	dataset string
	input   func(url, start, extra string) string
}

var jstInOut = source{"jushuitan_other_inout", func(url, start, extra string) string {
	return fmt.Sprintf(`jushuitan:
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
    lag: 0s
%s  stop_when_caught_up: true
  checkpoint:
    cache: checkpoints
    key: jst_inout
`, url, start, extra)
}}

var jstSkusn = source{"jushuitan_skusn", func(url, start, extra string) string {
	return fmt.Sprintf(`jushuitan:
  base_url: %s
  app_key: sandbox-jst-app
  app_secret: sandbox-jst-secret
  access_token: sandbox-jst-token
  refresh_token: sandbox-jst-refresh
  api: /open/webapi/wmsapi/skusn/queryinoutitemskusns
  params: |
    root.create_time_start = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
    root.create_time_end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
  page_size: 50
  window:
    start: %s
    max_span: 168h
    lag: 0s
%s  stop_when_caught_up: true
  checkpoint:
    cache: checkpoints
    key: jst_skusn
`, url, start, extra)
}}

var xbbProducts = source{"xbb_products", func(url, start, extra string) string {
	return fmt.Sprintf(`xbb:
  base_url: %s
  corpid: sandbox-xbb-corp
  token: sandbox-xbb-token
  api: product/list
  params: |
    root.conditions = [
      {"attr": "updateTime", "symbol": "greaterequal", "value": [@window_start.ts_unix()]},
      {"attr": "updateTime", "symbol": "lessequal", "value": [@window_end.ts_unix()]}
    ]
  page_size: 50
  window:
    start: %s
    max_span: 168h
    lag: 0s
%s  stop_when_caught_up: true
  checkpoint:
    cache: checkpoints
    key: xbb_products
`, url, start, extra)
}}

func windowStart() string { return time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339) }

func fileCache(dir string) streamtest.Option {
	return streamtest.WithCacheYAML(fmt.Sprintf("label: checkpoints\nfile:\n  directory: %s", dir))
}

func TestIntegrationMutationWhilePagingMissesNothing(t *testing.T) {
	for _, src := range []source{jstInOut, jstSkusn, xbbProducts} {
		t.Run(src.dataset, func(t *testing.T) {
			sb := streamtest.StartSandbox(t, 500, noLimits, func(o *sandbox.Options) {
				o.Faults = core.Faults{MutateRate: 1}
			})
			dir := t.TempDir()
			start := windowStart()
			// Default lookback; rows modified while the last window was read
			// lie after its end and are read by the next run.
			got := streamtest.RunInput(t, src.input(sb.URL(), start, ""), fileCache(dir))
			if err := sb.SetFaults(core.Faults{}); err != nil {
				t.Fatal(err)
			}
			got.Merge(streamtest.RunInput(t, src.input(sb.URL(), start, ""), fileCache(dir)))

			mutated := 0
			for _, d := range sb.Env().Dataset(src.dataset).Truth() {
				if d.Version > 1 {
					mutated++
				}
			}
			if mutated < 10 {
				t.Fatalf("only %d documents mutated: drift was not exercised", mutated)
			}
			streamtest.LatestIsTruth(t, sb, src.dataset, got)
		})
	}
}

func TestIntegrationKillAndRestartLosesNothing(t *testing.T) {
	sb := streamtest.StartSandbox(t, 500, noLimits)
	dir := t.TempDir()
	start := windowStart()
	first := streamtest.RunInput(t, jstInOut.input(sb.URL(), start, "    lookback: 10m\n"), fileCache(dir), streamtest.WithKillAfter(4))
	if first.Batches != 4 {
		t.Fatalf("first run accepted %d batches before the kill, want 4", first.Batches)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "jst_inout"))
	if err != nil {
		t.Fatalf("no checkpoint after acknowledged windows: %v", err)
	}
	cp, err := time.Parse(time.RFC3339Nano, string(raw))
	if err != nil {
		t.Fatal(err)
	}
	second := streamtest.RunInput(t, jstInOut.input(sb.URL(), start, "    lookback: 10m\n"), fileCache(dir))
	for id, mods := range second.Modified {
		m, err := time.Parse(time.RFC3339, mods[0])
		if err != nil {
			t.Fatal(err)
		}
		if m.Before(cp.Add(-10*time.Minute - time.Second)) {
			t.Fatalf("restart re-read %s (modified %s), before checkpoint %s minus lookback", id, m, cp)
		}
	}
	all := first
	all.Merge(second)
	for _, d := range sb.Env().Dataset(jstInOut.dataset).Truth() {
		if all.Count[d.ID] == 0 {
			t.Fatalf("document %s lost across the kill", d.ID)
		}
	}
	if len(second.Count) >= len(all.Count) {
		t.Fatalf("the restart re-read everything (%d of %d documents): the checkpoint was not used", len(second.Count), len(all.Count))
	}
}

func TestIntegrationNackedBatchesAreRedelivered(t *testing.T) {
	sb := streamtest.StartSandbox(t, 300, noLimits)
	// Every other consumer call is refused: each batch is nacked once.
	got := streamtest.RunInput(t, jstInOut.input(sb.URL(), windowStart(), "    lookback: 0s\n"),
		streamtest.WithReject(func(attempt int, _ service.MessageBatch) error {
			if attempt%2 == 0 {
				return errors.New("target unavailable")
			}
			return nil
		}))
	streamtest.ExactlyOnce(t, sb, jstInOut.dataset, got)
}

func TestIntegrationTokenExpiryMidRunLosesNoPage(t *testing.T) {
	sb := streamtest.StartSandbox(t, 300, noLimits)
	expired := false
	got := streamtest.RunInput(t, jstInOut.input(sb.URL(), windowStart(), "    lookback: 0s\n"),
		streamtest.WithReject(func(attempt int, _ service.MessageBatch) error {
			if !expired {
				// Tokens now live only as long as the run so far: the
				// current one has expired, a renewed one lasts long enough.
				expired = true
				return sb.SetFaults(core.Faults{TokenTTL: core.Duration(time.Since(sb.Env().Start()))})
			}
			return nil
		}))
	streamtest.ExactlyOnce(t, sb, jstInOut.dataset, got)
	if n := sb.Env().Stats.Count("jushuitan", "/openWeb/auth/refreshToken", "0"); n < 1 {
		t.Fatalf("no token refresh happened (%d)", n)
	}
	if n := sb.Env().Stats.Count("jushuitan", "/open/other/inout/query", "100"); n < 1 {
		t.Fatalf("the sandbox never answered code 100 (%d): expiry was not exercised", n)
	}
}

func TestIntegrationSharedRateLimitKeepsInsideVendorLimits(t *testing.T) {
	// 1500 bills in 50-row pages: ~35 calls, far above 5/s if unpaced.
	sb := streamtest.StartSandbox(t, 1500)
	got := streamtest.RunInput(t, jstInOut.input(sb.URL(), windowStart(), "    lookback: 0s\n")+"  rate_limit: jushuitan_account\n",
		streamtest.WithRateLimitYAML(`label: jushuitan_account
token_bucket:
  limits:
    - { count: 5, interval: 1s }
    - { count: 100, interval: 1m }
`))
	streamtest.ExactlyOnce(t, sb, jstInOut.dataset, got)
	for _, code := range []string{"199", "200"} {
		if n := sb.Env().Stats.Count("jushuitan", "", code); n != 0 {
			t.Fatalf("the sandbox answered code %s %d times under the shared rate limit", code, n)
		}
	}
}

func TestIntegrationRenewedTokensSurviveRestart(t *testing.T) {
	sb := streamtest.StartSandbox(t, 200, noLimits)
	dir := t.TempDir()
	withTokens := func(key string) string {
		in := jstInOut.input(sb.URL(), windowStart(), "    lookback: 0s\n")
		return strings.Replace(in, "key: jst_inout", "key: "+key, 1) + "  token_cache: checkpoints\n"
	}
	expired := false
	first := streamtest.RunInput(t, withTokens("run1"), fileCache(dir),
		streamtest.WithReject(func(int, service.MessageBatch) error {
			if !expired {
				expired = true
				return sb.SetFaults(core.Faults{TokenTTL: core.Duration(time.Since(sb.Env().Start()))})
			}
			return nil
		}))
	streamtest.ExactlyOnce(t, sb, jstInOut.dataset, first)
	if err := sb.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	refreshes := sb.Env().Stats.Count("jushuitan", "/openWeb/auth/refreshToken", "0")
	if refreshes < 1 {
		t.Fatal("the first run never renewed its token")
	}

	// The configured pair is spent; a restart reading the renewed pair from
	// the cache reads everything again without renewing.
	second := streamtest.RunInput(t, withTokens("run2"), fileCache(dir))
	streamtest.ExactlyOnce(t, sb, jstInOut.dataset, second)
	if n := sb.Env().Stats.Count("jushuitan", "/openWeb/auth/refreshToken", ""); n != refreshes {
		t.Fatalf("the restart called refreshToken again (%d calls, %d before)", n, refreshes)
	}

	// Without the cache the spent pair cannot read anything.
	in := strings.Replace(jstInOut.input(sb.URL(), windowStart(), "    lookback: 0s\n"), "key: jst_inout", "key: run3", 1)
	if third := streamtest.RunInput(t, in, fileCache(dir)); len(third.Count) != 0 {
		t.Fatalf("the spent token pair still read %d documents", len(third.Count))
	}
}
