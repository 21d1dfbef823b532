package deadletters

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/promtest"
)

// streamA dead-letters its documents through the shared resource
// dead_letters of config/resources/erpsync.yaml (its metrics have no
// stream id of their own in streams mode).
const streamA = `
input:
  generate: { count: 3, interval: "", mapping: 'root = {"n": count("a")}' }
output:
  fallback:
    - reject: 'bill ${! this.n }: kis: /koas/app007104/api/miscellaneousreceipt/create: code 20005 refused (permanent)'
    - processors:
        - mapping: |
            meta source_id = "a-" + this.n.string()
            meta erpsync_stream = "stream_a"
            meta erpsync_target = "kis"
      resource: dead_letters
`

// streamB records its documents with a dead_letter output of its own and
// resolves them at once: dead_letters_total and dead_letters_resolved_total
// of a component inside the stream.
const streamB = `
input:
  generate: { count: 2, interval: "", mapping: 'root = {"n": count("b")}' }
pipeline:
  processors:
    - mapping: meta source_id = "b-" + this.n.string()
output:
  broker:
    pattern: fan_out_sequential
    outputs:
      - dead_letter:
          dsn: ${MYSQL_DSN}
          table: ${DEAD_LETTER_TABLE}
          stream: stream_b
          target: mysql:t
          error: refused
      - dead_letter_resolve:
          dsn: ${MYSQL_DSN}
          table: ${DEAD_LETTER_TABLE}
          stream: stream_b
`

// TestIntegrationStreamsModeDeadLetterMetrics: in `erpsync streams` with two
// configs, erpsync_dead_letters_total and erpsync_dead_letters_resolved_total
// are exported with one stream label each, the stream's name: the stream's id
// for a component inside the stream, the message's stream for the shared
// resource (never empty).
func TestIntegrationStreamsModeDeadLetterMetrics(t *testing.T) {
	db := erpsynctest.OpenDB(t)
	table := fmt.Sprintf("e2e_dl_streams_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + table) })
	dir := t.TempDir()
	for name, conf := range map[string]string{"stream_a": streamA, "stream_b": streamB} {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	state := erpsynctest.StateDir(t)
	addr := promtest.FreeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, erpsynctest.Binary(t), "--log.level", "warn", "--set", "http.address="+addr,
		"-r", erpsynctest.Path("config/resources/erpsync.yaml"), "streams", dir)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "ERPSYNC_STATE_DIR=" + state,
		"MYSQL_DSN=" + erpsynctest.MySQLDSN(), "DEAD_LETTER_TABLE=" + table}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	const total, resolved = "erpsync_dead_letters_total", "erpsync_dead_letters_resolved_total"
	fams := promtest.Until(t, ctx, "http://"+addr+"/metrics", func(f promtest.Families) bool {
		return promtest.Sum(f, total, map[string]string{"stream": "stream_a"}) == 3 &&
			promtest.Sum(f, total, map[string]string{"stream": "stream_b"}) == 2 &&
			promtest.Sum(f, resolved, map[string]string{"stream": "stream_b"}) == 2
	})
	for _, name := range []string{total, resolved} {
		for _, s := range promtest.Series(fams, name) {
			if s["stream"] != "stream_a" && s["stream"] != "stream_b" {
				t.Errorf("%s has a series with stream %q, want stream_a or stream_b: %v", name, s["stream"], s)
			}
		}
	}
	if got := promtest.Sum(fams, total, map[string]string{"stream": "stream_a", "target": "kis"}); got != 3 {
		t.Errorf("%s{stream=stream_a, target=kis} = %v, want 3", total, got)
	}
	if t.Failed() {
		t.Logf("erpsync streams output:\n%s", out.String())
	}
}
