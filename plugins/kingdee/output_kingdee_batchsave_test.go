package kingdee

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
)

// outputYAML is a kingdee_batchsave config for the sandbox.
func outputYAML(sb *sandbox.Server, mode, extra string) string {
	return outputYAMLBatch(sb, mode, 20, extra)
}

func outputYAMLBatch(sb *sandbox.Server, mode string, count int, extra string) string {
	return fmt.Sprintf(`kingdee_batchsave:
  url: %s
  %s
  form_id: BD_Customer
  timeout: 300ms
  batching:
    count: %d
    period: 20ms
  max_in_flight: 4
  %s`, k3URL(sb), indent(authYAML(mode), "  "), count, indent(extra, "  "))
}

// assertExactlyOnce fails unless CUS00001..n exist, each written once, and nothing else.
func assertExactlyOnce(t *testing.T, sb *sandbox.Server, n int, skip map[string]bool) {
	t.Helper()
	docs := targetDocs(t, sb, "BD_Customer")
	want := 0
	for i := 1; i <= n; i++ {
		no := custNo(i)
		if skip[no] {
			if _, ok := docs[no]; ok {
				t.Errorf("%s should have failed but exists", no)
			}
			continue
		}
		want++
		d, ok := docs[no]
		if !ok {
			t.Errorf("%s missing", no)
			continue
		}
		if d.Writes != 1 {
			t.Errorf("%s written %d times", no, d.Writes)
		}
	}
	if len(docs) != want {
		t.Errorf("target holds %d documents, want %d", len(docs), want)
	}
}

func TestIntegrationBatchSaveExactlyOnce(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		faults     core.Faults
		restart    bool
		onConflict string
	}{
		{name: "signature", mode: AuthSignature},
		{name: "login_by_sign", mode: AuthLoginBySign},
		{name: "password", mode: AuthPassword},
		{name: "error_rate", mode: AuthSignature, faults: core.Faults{ErrorRate: 0.3}},
		{name: "timeout_rate", mode: AuthSignature, faults: core.Faults{TimeoutRate: 0.2}},
		// Under update a create that landed unanswered, then found by the
		// next query, must not be saved again as an update.
		{name: "timeout_rate_update", mode: AuthSignature, faults: core.Faults{TimeoutRate: 0.2}, onConflict: onConflictUpdate},
		{name: "session_ttl", mode: AuthLoginBySign, faults: core.Faults{SessionTTL: core.Duration(time.Millisecond)}},
		{name: "restart_with_faults", mode: AuthPassword, faults: core.Faults{ErrorRate: 0.1, TimeoutRate: 0.1}, restart: true},
	}
	const n = 300
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, nil)
			batch := 20
			if !reflect.DeepEqual(tt.faults, core.Faults{}) {
				batch = 5 // more calls, more faults met
			}
			extra := ""
			if tt.onConflict != "" {
				extra = "on_conflict: " + tt.onConflict
			}
			r := run{output: outputYAMLBatch(sb, tt.mode, batch, extra), count: n, mapping: customerMapping}
			if tt.restart {
				// First run: cut while batches are in flight, faults on.
				if err := sb.SetFaults(tt.faults); err != nil {
					t.Fatal(err)
				}
				cut := r
				cut.cancelWhen = func() bool { return sb.Env().TargetCounts()["k3cloud/BD_Customer"] >= n/10 }
				_ = runPipeline(t, cut)
				if got := len(targetDocs(t, sb, "BD_Customer")); got >= n {
					t.Fatalf("the first run should have stopped part way, it wrote %d of %d", got, n)
				}
			}
			if err := sb.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			if dl := runPipeline(t, r); len(dl) != 0 {
				t.Fatalf("%d documents dead-lettered, e.g. %v", len(dl), dl[0].meta["erpsync_error"])
			}
			assertExactlyOnce(t, sb, n, nil)
			faulted := 0
			for _, code := range []string{"http_500", "http_502", "timeout", "MsgCode 1"} {
				faulted += sb.Env().Stats.Count("k3cloud", "", code)
			}
			if !reflect.DeepEqual(tt.faults, core.Faults{}) && faulted == 0 {
				t.Fatal("the faults never fired: the test proves nothing")
			}
			writeTimeouts := 0
			for iface, codes := range sb.Env().Stats.Snapshot()["k3cloud"] {
				if strings.Contains(iface, "BatchSave") {
					writeTimeouts += codes["timeout"]
				}
			}
			if tt.faults.TimeoutRate > 0 && writeTimeouts < 3 {
				t.Fatalf("only %d BatchSave calls timed out: too few to meet a write that landed unanswered", writeTimeouts)
			}
			t.Logf("faulted answers: %d, BatchSave timeouts: %d", faulted, writeTimeouts)
		})
	}
}

func TestIntegrationBatchSaveRowFailures(t *testing.T) {
	sb := startSandbox(t, nil)
	const n = 200
	if err := sb.SetFaults(core.Faults{RowFailRate: 0.1}); err != nil {
		t.Fatal(err)
	}
	bad := map[string]bool{}
	for i := 1; i <= n; i++ {
		if sb.Env().RowFails("BD_Customer:" + custNo(i)) {
			bad[custNo(i)] = true
		}
	}
	if len(bad) == 0 {
		t.Fatal("row_fail_rate selected no row")
	}
	// Document 7 has no number and 8 no name: mapping bugs, dead-lettered too.
	mapping := `root = {"FNumber": "CUS%05d".format($n), "FName": "客户" + $n.string(), "FCreateOrgId": {"FNumber": "100"}}
root.FNumber = if $n == 7 { deleted() }
root.FName = if $n == 8 { deleted() }`
	bad[custNo(7)], bad[custNo(8)] = true, true
	dl := runPipeline(t, run{output: outputYAML(sb, AuthSignature, ""), count: n, mapping: mapping})
	assertExactlyOnce(t, sb, n, bad)

	got := map[string]string{}
	for _, m := range dl {
		var d map[string]any
		if err := json.Unmarshal([]byte(m.body), &d); err != nil {
			t.Fatal(err)
		}
		no, _ := d["FNumber"].(string)
		if no == "" {
			no = custNo(7)
		}
		if _, dup := got[no]; dup {
			t.Errorf("%s dead-lettered twice", no)
		}
		got[no] = m.meta["erpsync_error"]
	}
	if len(got) != len(bad) {
		t.Fatalf("%d documents dead-lettered, want %d (%v)", len(got), len(bad), got)
	}
	for no := range bad {
		e := got[no]
		switch no {
		case custNo(7):
			if !strings.Contains(e, "has no FNumber") {
				t.Errorf("%s: %q", no, e)
			}
		case custNo(8):
			if !strings.Contains(e, "是必填项") || !strings.Contains(e, "code 11") {
				t.Errorf("%s: %q", no, e)
			}
		default:
			if !strings.Contains(e, "数据校验不通过") || !strings.Contains(e, "code 11") || !strings.Contains(e, "k3cloud: BatchSave") || !strings.Contains(e, no) {
				t.Errorf("%s: erpsync_error %q lacks the vendor's code and message", no, e)
			}
		}
	}
	// Bad rows fail for good on the first answer: they are not re-sent.
	if saves := sb.Env().Stats.Count("k3cloud", "BatchSave", ""); saves > n/50+8 {
		t.Fatalf("%d BatchSave calls for %d documents: failed rows were retried", saves, n)
	}
}

func TestIntegrationBatchSaveRunTwice(t *testing.T) {
	const n = 60
	named := func(tag string) string {
		return `root = {"FNumber": "CUS%05d".format($n), "FName": "` + tag + `" + $n.string(), "FCreateOrgId": {"FNumber": "100"}, "FUseOrgId": {"FNumber": "100"}}`
	}
	tests := []struct {
		onConflict string
		wantName   string
		wantWrites int
		wantDead   int
	}{
		{onConflictSkip, "first", 1, 0},
		{onConflictUpdate, "second", 2, 0},
		{onConflictFail, "first", 1, n},
	}
	for _, tt := range tests {
		t.Run(tt.onConflict, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, nil)
			out := outputYAML(sb, AuthSignature, "on_conflict: "+tt.onConflict)
			if dl := runPipeline(t, run{output: out, count: n, mapping: named("first")}); len(dl) != 0 {
				t.Fatalf("first run dead-lettered %d", len(dl))
			}
			dl := runPipeline(t, run{output: out, count: n, mapping: named("second")})
			if len(dl) != tt.wantDead {
				t.Fatalf("second run dead-lettered %d, want %d", len(dl), tt.wantDead)
			}
			for _, m := range dl {
				if !strings.Contains(m.meta["erpsync_error"], "already exists") {
					t.Fatalf("dead letter reason %q", m.meta["erpsync_error"])
				}
			}
			docs := targetDocs(t, sb, "BD_Customer")
			if len(docs) != n {
				t.Fatalf("%d documents, want %d", len(docs), n)
			}
			for i := 1; i <= n; i++ {
				d := docs[custNo(i)]
				if d.Writes != tt.wantWrites || d.Data["FName"] != fmt.Sprintf("%s%d", tt.wantName, i) {
					t.Fatalf("%s: writes %d name %v, want %d %s%d", custNo(i), d.Writes, d.Data["FName"], tt.wantWrites, tt.wantName, i)
				}
			}
		})
	}
}

func TestWithID(t *testing.T) {
	got, err := withID(json.RawMessage(`{"FNumber":"A","fcustid":0,"FName":"x"}`), "FCUSTID", "100231")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"FCUSTID":100231,"FNumber":"A","FName":"x"}` {
		t.Fatalf("withID = %s", got)
	}
}

func TestOutputSpecLints(t *testing.T) {
	tests := []struct {
		name string
		conf string
		ok   bool
	}{
		{"signature", `kingdee_batchsave: {url: "http://x/k3cloud/", auth: {acct_id: a, username: u, app_id: "` + sbAppID + `", app_secret: s}, form_id: BD_Customer}`, true},
		{"no secret", `kingdee_batchsave: {url: "http://x/k3cloud/", auth: {acct_id: a, username: u, app_id: "` + sbAppID + `"}, form_id: BD_Customer}`, false},
		{"password without password", `kingdee_batchsave: {url: "http://x/k3cloud/", auth: {mode: password, acct_id: a, username: u}, form_id: BD_Customer}`, false},
		{"bad on_conflict", `kingdee_batchsave: {url: "http://x/k3cloud/", auth: {acct_id: a, username: u, app_id: "` + sbAppID + `", app_secret: s}, form_id: BD_Customer, on_conflict: merge}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := service.NewStreamBuilder().AddOutputYAML(tt.conf)
			if (err == nil) != tt.ok {
				t.Fatalf("AddOutputYAML err = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
