package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/promtest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
)

// procKB reads a "Vm...: N kB" line of /proc/<pid>/status.
func procKB(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), field+":") {
			n, _ := strconv.ParseInt(strings.Fields(sc.Text())[1], 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkStreamMemory streams BENCH_STREAM_RECORDS (default 1,000,000)
// unique-code flows from the sandbox through the jushuitan input of a real
// erpsync process into a drop output, and reports the process's resident
// memory (VmHWM) after 20%, 50% and 100% of the documents: bounded memory
// means the last is not much above the first.
func BenchmarkStreamMemory(b *testing.B) {
	records := envInt("BENCH_STREAM_RECORDS", 1000000)
	bin := erpsynctest.Binary(b)
	for range b.N {
		sb := streamtest.StartSandbox(b, records, func(o *sandbox.Options) { o.Limits = false })
		addr := promtest.FreeAddr(b)
		cfg := filepath.Join(b.TempDir(), "stream.yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
http: { enabled: true, address: %s }
metrics: { prometheus: {} }
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
    page_size: 1000
    window: { start: %s, max_span: 72h, lookback: 0s, lag: 0s }
    poll_interval: 1h
output:
  drop: {}
`, addr, sb.URL(), time.Now().Add(-31*24*time.Hour).Format(time.RFC3339))), 0o600); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "run", cfg)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		pid := cmd.Process.Pid
		marks := []float64{0.2, 0.5, 1.0}
		hwm := make([]int64, len(marks))
		url := "http://" + addr + "/metrics"
		t0 := time.Now()
		for i, m := range marks {
			want := m * float64(records)
			promtest.Until(b, ctx, url, func(f promtest.Families) bool {
				return promtest.Sum(f, "erpsync_documents_read_total", nil) >= want
			})
			hwm[i] = procKB(pid, "VmHWM")
		}
		elapsed := time.Since(t0)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		cancel()
		b.ReportMetric(float64(hwm[0])/1024, "MiB@20%")
		b.ReportMetric(float64(hwm[1])/1024, "MiB@50%")
		b.ReportMetric(float64(hwm[2])/1024, "MiB@100%")
		b.ReportMetric(float64(hwm[2])/float64(hwm[0]), "growth")
		b.ReportMetric(float64(records)/elapsed.Seconds(), "docs/s")
		// Memory that grew with the data would roughly quintuple from 20% to 100%.
		if hwm[2] > 2*hwm[0] {
			b.Fatalf("resident memory grew with the data: %d kB at 20%%, %d kB at 100%%", hwm[0], hwm[2])
		}
	}
}
