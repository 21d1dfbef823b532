// Package console tests erpsync's operator console (internal/console) on a
// real `erpsync run` of the shipped sales-out stream
// (config/streams/jushuitan_sales_out_to_kingdee.yaml, unchanged) against
// the sandbox and MariaDB: every endpoint of its API, and the page in a
// real browser (Debian's chromium driven by playwright-core).
package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
)

const stream = "jushuitan_sales_out_to_kingdee"

// env is one console under test: the sandbox, the running stream and its
// console, and the tables it writes.
type env struct {
	t          *testing.T
	sb         *sandbox.Server
	url        string // the console, http://127.0.0.1:port/console/
	token      string
	dlTable    string
	recTable   string
	state      string
	cmd        *exec.Cmd
	out        *lockedBuffer
	processEnv []string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the sales-out stream with its console, on a sandbox whose
// K3Cloud refuses rowFail of the rows and knows the customers given. The
// stream keeps polling (the console serves as long as it runs).
func start(t *testing.T, records int, rowFail float64, token string, customers ...string) *env {
	t.Helper()
	sb := streamtest.StartSandbox(t, records, func(o *sandbox.Options) {
		o.Limits = false
		o.K3Cloud.StrictSignature = false
		o.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	})
	e := &env{t: t, sb: sb, token: token, state: erpsynctest.StateDir(t), out: &lockedBuffer{}}
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	e.dlTable, e.recTable = "console_dl_"+suffix, "console_rec_"+suffix
	db := erpsynctest.OpenDB(t)
	t.Cleanup(func() {
		_, _ = db.Exec("DROP TABLE IF EXISTS " + e.dlTable)
		_, _ = db.Exec("DROP TABLE IF EXISTS " + e.recTable)
	})
	e.addCustomers(customers...)
	if err := sb.SetFaults(core.Faults{RowFailRate: rowFail}); err != nil {
		t.Fatal(err)
	}

	addr := erpsynctest.FreeAddr(t)
	e.url = "http://" + addr + "/console/"
	j, k := sbjst.DefaultConfig(), k3cloud.DefaultConfig()
	e.processEnv = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"JST_BASE_URL=" + sb.URL(), "JST_APP_KEY=" + j.AppKey, "JST_APP_SECRET=" + j.AppSecret,
		"JST_ACCESS_TOKEN=" + j.AccessToken, "JST_REFRESH_TOKEN=" + j.RefreshToken,
		"K3CLOUD_URL=" + sb.URL() + "/k3cloud/", "K3CLOUD_ACCT_ID=" + k.AcctID, "K3CLOUD_USERNAME=" + k.Username,
		"K3CLOUD_APP_ID=" + k.AppID, "K3CLOUD_APP_SECRET=" + k.AppSecret,
		"ERPSYNC_STATE_DIR=" + e.state,
		"SYNC_START=" + time.Now().Add(-31*24*time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP=false",
		"MYSQL_DSN=" + erpsynctest.MySQLDSN(),
		"DEAD_LETTER_TABLE=" + e.dlTable, "RECORDS_TABLE=" + e.recTable,
	}
	if token != "" {
		e.processEnv = append(e.processEnv, "ERPSYNC_CONSOLE_TOKEN="+token)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cmd = exec.CommandContext(ctx, erpsynctest.Binary(t), "--log.level", "warn", "--set", "http.address="+addr,
		"-r", erpsynctest.Path("config/resources")+"/*.yaml", "run", erpsynctest.Path("config/streams/"+stream+".yaml"))
	e.cmd.Env = e.processEnv
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = e.cmd.Wait()
		if t.Failed() {
			t.Logf("erpsync output:\n%s", e.out.String())
		}
	})
	erpsynctest.WaitListening(t, addr, 30*time.Second)
	// The server listens before the stream (and its console) is set up.
	e.waitFor("the console to answer", 30*time.Second, func() bool {
		status, _ := e.call("GET", "streams", nil, nil)
		return status != http.StatusNotFound
	})
	return e
}

// call calls the console's API and decodes its JSON answer into out (nil:
// discarded); it returns the status and the raw body.
func (e *env) call(method, path string, body, out any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+"api/"+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
		}
	}
	return resp.StatusCode, raw
}

// must calls the API and fails the test unless it answers 2xx.
func (e *env) must(method, path string, body, out any) []byte {
	e.t.Helper()
	status, raw := e.call(method, path, body, out)
	if status >= 300 {
		e.t.Fatalf("%s %s: HTTP %d: %s", method, path, status, raw)
	}
	return raw
}

// streamView is the part of GET streams the tests read.
type streamView struct {
	Name   string           `json:"name"`
	State  string           `json:"state"`
	Calls  map[string]int64 `json:"calls"`
	Counts struct {
		Read, Written, Updated, Skipped, Failed, Retried, DeadLettered, Resolved int64
		OpenDead                                                                 *int64 `json:"open_dead_letters"`
	} `json:"counts"`
	Checkpoint *time.Time `json:"checkpoint"`
	Replay     bool       `json:"replay"`
	ReplayWhy  string     `json:"replay_why"`
}

func (c *streamView) UnmarshalJSON(b []byte) error {
	type plain streamView
	var p struct {
		plain
		Counts map[string]int64 `json:"counts"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = streamView(p.plain)
	m := p.Counts
	c.Counts.Read, c.Counts.Written, c.Counts.Updated, c.Counts.Skipped = m["read"], m["written"], m["updated"], m["skipped"]
	c.Counts.Failed, c.Counts.Retried, c.Counts.DeadLettered, c.Counts.Resolved = m["failed"], m["retried"], m["dead_lettered"], m["resolved"]
	if v, ok := m["open_dead_letters"]; ok {
		c.Counts.OpenDead = &v
	}
	return nil
}

func (e *env) stream() streamView {
	e.t.Helper()
	var body struct {
		Streams []streamView `json:"streams"`
	}
	e.must("GET", "streams", nil, &body)
	for _, s := range body.Streams {
		if s.Name == stream {
			return s
		}
	}
	e.t.Fatalf("GET streams has no stream %s", stream)
	return streamView{}
}

// waitFor polls cond every 200 ms until it holds or the timeout passes.
func (e *env) waitFor(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// caughtUp waits until the stream read every sales-out document of the
// sandbox and waits for its next poll with everything acknowledged.
func (e *env) caughtUp() streamView {
	e.t.Helper()
	want := int64(len(e.truth()))
	var s streamView
	e.waitFor("the stream to read every document and wait", 2*time.Minute, func() bool {
		s = e.stream()
		return s.State == "waiting" && s.Counts.Read >= want && s.Counts.Written+s.Counts.Skipped+s.Counts.DeadLettered >= s.Counts.Read
	})
	return s
}

// truth is the sandbox's confirmed sales-out documents (those the stream
// reads) by io_id, as the vendor serves them.
func (e *env) truth() map[string]map[string]any {
	e.t.Helper()
	out := map[string]map[string]any{}
	for _, d := range e.sb.Env().Dataset(sbjst.DatasetSaleout).FullTruth() {
		raw, err := json.Marshal(d.Document)
		if err != nil {
			e.t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			e.t.Fatal(err)
		}
		if fmt.Sprint(doc["status"]) != "Confirmed" {
			continue
		}
		out[d.ID] = doc
	}
	return out
}

// bills is the sandbox's SAL_OUTSTOCK by number; a number stored twice fails the test.
func (e *env) bills() map[string]streamtest.Bill {
	e.t.Helper()
	return streamtest.K3Bills(e.t, e.sb, "SAL_OUTSTOCK")
}

// addCustomers creates audited customers in the sandbox's K3Cloud, as an
// operator keeps them (the test's setup; the stream signs properly).
func (e *env) addCustomers(numbers ...string) {
	e.t.Helper()
	if len(numbers) > 0 {
		streamtest.K3{T: e.t, SB: e.sb}.AddCustomers(numbers...)
	}
}

// clearRowFaults makes the sandbox's K3Cloud accept every row again.
func (e *env) clearRowFaults() {
	e.t.Helper()
	f := e.sb.Env().Faults()
	f.RowFailRate = 0
	if err := e.sb.SetFaults(f); err != nil {
		e.t.Fatal(err)
	}
}

// deadLetter is a dead letter as the API answers it.
type deadLetter struct {
	ID            int64             `json:"id"`
	Stream        string            `json:"stream"`
	SourceID      string            `json:"source_id"`
	Target        string            `json:"target"`
	ErrorCode     string            `json:"error_code"`
	ErrorMessage  string            `json:"error_message"`
	Status        string            `json:"status"`
	Attempts      int               `json:"attempts"`
	Note          string            `json:"note"`
	Payload       map[string]any    `json:"payload"`
	TargetPayload map[string]any    `json:"target_payload"`
	SourceMeta    map[string]string `json:"source_meta"`
	LastFailureAt time.Time         `json:"last_failure_at"`
}

func (e *env) deadLetters(query string) []deadLetter {
	e.t.Helper()
	var body struct {
		DeadLetters []deadLetter `json:"dead_letters"`
	}
	e.must("GET", "dead-letters?"+query, nil, &body)
	return body.DeadLetters
}

type job struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	Error    string `json:"error"`
	Resolved int64  `json:"resolved"`
	Failed   int64  `json:"failed"`
}

// replay starts a replay and waits for it to end.
func (e *env) replay(body map[string]any) job {
	e.t.Helper()
	var j job
	status, raw := e.call("POST", "dead-letters/replay", body, &j)
	if status != http.StatusAccepted {
		e.t.Fatalf("replay %v: HTTP %d: %s", body, status, raw)
	}
	e.waitFor("the replay to end", 2*time.Minute, func() bool {
		e.must("GET", fmt.Sprintf("replays/%d", j.ID), nil, &j)
		return j.State != "running"
	})
	if j.State != "done" {
		e.t.Fatalf("replay %d: %s: %s", j.ID, j.State, j.Error)
	}
	return j
}

type record struct {
	SourceID     string `json:"source_id"`
	Target       string `json:"target"`
	TargetNumber string `json:"target_number"`
	TargetID     string `json:"target_id"`
	Action       string `json:"action"`
}

func (e *env) records(query string) []record {
	e.t.Helper()
	var body struct {
		Records []record `json:"records"`
	}
	e.must("GET", "records?"+query, nil, &body)
	return body.Records
}
