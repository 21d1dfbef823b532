// Package jushuitankingdee runs the shipped Jushuitan → K3Cloud stream
// configs (config/streams/jushuitan_sales_out_to_kingdee.yaml,
// jushuitan_returns_to_kingdee.yaml and jushuitan_purchase_in_to_kingdee.yaml) unchanged, with the erpsync binary,
// against the sandbox, and checks the sandbox's K3Cloud against the
// sandbox's Jushuitan truth.
package jushuitankingdee

import (
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
)

const records = 300

// startSandbox starts a sandbox whose clock runs two minutes behind (every
// generated document is old enough to be read in one run), with the
// faults the pipeline must survive: Kingdee refusing some rows, documents
// modified while they are read, answers in a random order, pages repeating
// rows, short pages and drifting totals. The K3Cloud signature is not
// verified, so the test's own setup calls need no signing code (the
// pipeline signs properly anyway).
func startSandbox(t *testing.T) *sandbox.Server {
	t.Helper()
	return streamtest.StartSandbox(t, records, func(o *sandbox.Options) {
		o.Limits = false
		o.K3Cloud.StrictSignature = false
		o.Faults = core.Faults{RowFailRate: 0.1, MutateRate: 0.3, Answers: core.AnswerFaults{
			Order: "random", DuplicateRate: 0.1, ShortPageRate: 0.1, TotalDriftRate: 0.1,
		}}
		o.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	})
}

func baseEnv(sb *sandbox.Server, state string) []string {
	j, k := sbjst.DefaultConfig(), k3cloud.DefaultConfig()
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"JST_BASE_URL=" + sb.URL(), "JST_APP_KEY=" + j.AppKey, "JST_APP_SECRET=" + j.AppSecret,
		"JST_ACCESS_TOKEN=" + j.AccessToken, "JST_REFRESH_TOKEN=" + j.RefreshToken,
		"K3CLOUD_URL=" + sb.URL() + "/k3cloud/", "K3CLOUD_ACCT_ID=" + k.AcctID, "K3CLOUD_USERNAME=" + k.Username,
		"K3CLOUD_APP_ID=" + k.AppID, "K3CLOUD_APP_SECRET=" + k.AppSecret,
		"ERPSYNC_STATE_DIR=" + state,
		"SYNC_START=" + time.Now().Add(-31*24*time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP=true",
	}
}

// runToEnd runs the shipped stream until it exits by itself.
func runToEnd(t *testing.T, env []string, stream string) {
	t.Helper()
	streamtest.RunToEnd(t, env, stream, 3*time.Minute)
}

// checkDeadLetterTable: the dead-letter table holds one open row per
// rejected document of stream, with target, its reason and the source
// document, failed times times (up to extra[id] more for a document
// modified while the stream ran), and nothing else.
func checkDeadLetterTable(t *testing.T, db *sql.DB, table, stream, target string, rejected map[string]string, times int, extra map[string]int) {
	t.Helper()
	rows, err := db.Query("SELECT stream, source_id, target, error_message, payload, status, attempts FROM " + table)
	if err != nil {
		t.Fatalf("dead-letter table %s: %v", table, err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var st, id, tg, msg, payload, status string
		var attempts int
		if err := rows.Scan(&st, &id, &tg, &msg, &payload, &status, &attempts); err != nil {
			t.Fatal(err)
		}
		seen[id] = true
		want, ok := rejected[id]
		switch {
		case !ok:
			t.Errorf("dead-letter table holds %s, which should have been written or ignored: %s", id, msg)
		case st != stream || tg != target || status != "open" || !strings.Contains(msg, want):
			t.Errorf("dead-letter row %s: stream %q target %q status %q error %q; want %s, %s, open and an error containing %q", id, st, tg, status, msg, stream, target, want)
		case attempts < times || attempts > times+extra[id]:
			t.Errorf("dead-letter row %s: %d attempts, want %d to %d", id, attempts, times, times+extra[id])
		case !strings.Contains(payload, `"io_id":`+id) && !strings.Contains(payload, `"io_id":"`+id+`"`):
			t.Errorf("dead-letter row %s: payload %.200s is not the source document", id, payload)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id := range rejected {
		if !seen[id] {
			t.Errorf("%s is not in the dead-letter table (%s)", id, rejected[id])
		}
	}
}
