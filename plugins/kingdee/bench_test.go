package kingdee

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/sandbox"
)

// BenchmarkBatchSave compares kingdee_batchsave (max_in_flight 4, batches
// of 100, existence check included) with what four serial sessions allow:
// a hand-written baseline of four goroutines, each on its own session,
// sending BatchSave of 100 documents back to back without any check. The
// sandbox serves each session serially and charges RowLatency per row.
//
//	go test -run '^$' -bench BatchSave -count 5 ./plugins/kingdee/
func BenchmarkBatchSave(b *testing.B) {
	const (
		sessions = 4
		batch    = 100
		docs     = 32 * batch
	)
	sb := startSandbox(b, func(o *sandbox.Options) { o.RowLatency = time.Millisecond })
	ctx := context.Background()
	ceiling := float64(sessions*batch) / (float64(batch) * sb.Env().RowLatency.Seconds())

	var baseTotal, outTotal time.Duration
	for i := 0; b.Loop(); i++ {
		// Baseline: four serial sessions.
		prefix := fmt.Sprintf("B%03d", i)
		start := time.Now()
		var wg sync.WaitGroup
		for s := range sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := newTestClient(b, sb, AuthSignature)
				for k := s; k < docs/batch; k += sessions {
					models := make([]json.RawMessage, batch)
					for j := range models {
						models[j] = json.RawMessage(customer(fmt.Sprintf("%s%06d", prefix, k*batch+j), "基线"))
					}
					res, err := c.BatchSave(ctx, "BD_Customer", models, SaveOptions{})
					if err != nil || !res.Status.IsSuccess {
						b.Errorf("baseline BatchSave: %v %+v", err, res)
						return
					}
				}
			}()
		}
		wg.Wait()
		baseTotal += time.Since(start)

		// The output through a stream.
		start = time.Now()
		runBench(b, sb, fmt.Sprintf("O%03d", i), docs, batch, sessions)
		outTotal += time.Since(start)
	}
	n := float64(b.N)
	base := float64(docs) * n / baseTotal.Seconds()
	out := float64(docs) * n / outTotal.Seconds()
	b.ReportMetric(base, "baseline_rows/s")
	b.ReportMetric(out, "output_rows/s")
	b.ReportMetric(out/base, "ratio_vs_baseline")
	b.ReportMetric(out/ceiling, "ratio_vs_ceiling")
}

// runBench writes docs customers numbered prefix+n through kingdee_batchsave.
func runBench(b *testing.B, sb *sandbox.Server, prefix string, docs, batch, inFlight int) {
	b.Helper()
	sbuild := service.NewStreamBuilder()
	if err := sbuild.SetLoggerYAML("level: none"); err != nil {
		b.Fatal(err)
	}
	if err := sbuild.AddInputYAML(fmt.Sprintf(`
generate:
  count: %d
  interval: ""
  batch_size: %d
  mapping: |
    let n = counter()
    root = {"FNumber": "%s%%06d".format($n), "FName": "输出", "FCreateOrgId": {"FNumber": "100"}, "FUseOrgId": {"FNumber": "100"}}
`, docs, batch, prefix)); err != nil {
		b.Fatal(err)
	}
	if err := sbuild.AddOutputYAML(fmt.Sprintf(`kingdee_batchsave:
  url: %s
  %s
  form_id: BD_Customer
  batching:
    count: %d
  max_in_flight: %d
`, k3URL(sb), indent(authYAML(AuthSignature), "  "), batch, inFlight)); err != nil {
		b.Fatal(err)
	}
	s, err := sbuild.Build()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		b.Fatal(err)
	}
}
