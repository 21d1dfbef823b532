// Package deadletters runs the dead-letter round trip of the shipped KIS
// pipeline end to end: config/streams/jushuitan_other_inout_to_kis.yaml with
// DEAD_LETTER_TABLE set records the bills the sandbox's KIS refuses (and
// those the mapping rejects) in a MariaDB table, and
// config/streams/replay_jushuitan_other_inout_to_kis.yaml writes them once
// the cause is gone and marks them resolved.
package deadletters

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	sbkis "github.com/erpsync/erpsync/sandbox/kis"
)

const (
	stream      = "jushuitan_other_inout_to_kis"
	replay      = "replay_jushuitan_other_inout_to_kis"
	records     = 400
	rowFailRate = 0.2
	createPath  = "/koas/app007104/api/miscellaneousreceipt/create"
	// kisCode is the errcode the sandbox's KIS answers a bill refused under
	// row_fail_rate with, and kisMessage a part of its description.
	kisCode    = "20005"
	kisMessage = "保存校验失败"
)

type item struct {
	SkuID string  `json:"sku_id"`
	Qty   float64 `json:"qty"`
}

type bill struct {
	IoID      json.Number `json:"io_id"`
	IoDate    string      `json:"io_date"`
	Status    string      `json:"status"`
	Type      string      `json:"type"`
	Warehouse string      `json:"warehouse"`
	Items     []item      `json:"items"`
}

// expectation sorts the source bills by what the pipeline does with them.
type expectation struct {
	written    map[string]bill // KIS takes them on the first run
	kisRefused map[string]bill // KIS refuses them while row_fail_rate is on
	noItems    map[string]bill // the mapping rejects them, whatever KIS does
}

// sourceBills reads the sandbox's truth: every other in/out bill as
// Jushuitan serves it, independently of the input under test.
func sourceBills(t *testing.T, sb *sandbox.Server) []bill {
	t.Helper()
	var out []bill
	for _, d := range sb.Env().Dataset(sbjst.DatasetOtherInout).FullTruth() {
		raw, err := json.Marshal(d.Document)
		if err != nil {
			t.Fatal(err)
		}
		var b bill
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&b); err != nil {
			t.Fatalf("source bill %s: %v", d.ID, err)
		}
		out = append(out, b)
	}
	if len(out) != records {
		t.Fatalf("the sandbox holds %d bills, want %d", len(out), records)
	}
	return out
}

func expect(t *testing.T, sb *sandbox.Server, bills []bill) expectation {
	t.Helper()
	e := expectation{written: map[string]bill{}, kisRefused: map[string]bill{}, noItems: map[string]bill{}}
	for _, b := range bills {
		id := b.IoID.String()
		switch {
		case b.Type != "其它退货" || b.Status != "Confirmed":
		case len(b.Items) == 0:
			e.noItems[id] = b
		case sb.Env().RowFails("kis:" + id):
			e.kisRefused[id] = b
		default:
			e.written[id] = b
		}
	}
	if len(e.written) == 0 || len(e.kisRefused) == 0 || len(e.noItems) == 0 {
		t.Fatalf("degenerate sample: %d to write, %d refused by KIS, %d without items", len(e.written), len(e.kisRefused), len(e.noItems))
	}
	t.Logf("%d bills to write, %d refused by KIS, %d without items", len(e.written), len(e.kisRefused), len(e.noItems))
	return e
}

// ---------------------------------------------------------------------------
// Database

// row is a dead letter as the table holds it.
type row struct {
	ID            int64
	Stream        string
	SourceID      string
	SourceVendor  string
	Target        string
	ErrorCode     string
	ErrorMessage  string
	Payload       string
	TargetPayload sql.NullString
	SourceMeta    sql.NullString
	Status        string
	Attempts      int
	First, Last   time.Time
	Resolved      sql.NullTime
}

func readTable(t *testing.T, db *sql.DB, table string) map[string]row {
	t.Helper()
	rows, err := db.Query("SELECT id, stream, source_id, source_vendor, target, error_code, error_message, payload, target_payload, source_meta, status, attempts, first_failure_at, last_failure_at, resolved_at FROM " + table)
	if err != nil {
		t.Fatalf("reading the dead-letter table %s: %v", table, err)
	}
	defer rows.Close()
	out := map[string]row{}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.ID, &r.Stream, &r.SourceID, &r.SourceVendor, &r.Target, &r.ErrorCode, &r.ErrorMessage, &r.Payload,
			&r.TargetPayload, &r.SourceMeta, &r.Status, &r.Attempts, &r.First, &r.Last, &r.Resolved); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[r.SourceID]; dup {
			t.Errorf("source_id %s has two rows", r.SourceID)
		}
		out[r.SourceID] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ---------------------------------------------------------------------------
// KIS

type kisDoc struct {
	Number string `json:"number"`
	Writes int    `json:"writes"`
	Data   struct {
		Head  map[string]any   `json:"Head"`
		Entry []map[string]any `json:"Entry"`
	} `json:"data"`
}

func kisBills(t *testing.T, sb *sandbox.Server) map[string]kisDoc {
	t.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/kis/bills")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Documents []kisDoc `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := map[string]kisDoc{}
	for _, d := range body.Documents {
		if _, dup := out[d.Number]; dup {
			t.Errorf("KIS lists bill %s twice", d.Number)
		}
		out[d.Number] = d
	}
	return out
}

func createCalls(sb *sandbox.Server) int { return sb.Stats().Requests[sbkis.Vendor][createPath] }

// checkKIS asserts that KIS holds exactly the bills of want, each written
// once, with its number, date and one line per source item.
func checkKIS(t *testing.T, sb *sandbox.Server, want ...map[string]bill) {
	t.Helper()
	all := map[string]bill{}
	for _, m := range want {
		for id, b := range m {
			all[id] = b
		}
	}
	docs := kisBills(t, sb)
	for id, d := range docs {
		b, ok := all[id]
		if !ok {
			t.Errorf("KIS holds bill %s, which should not be there", id)
			continue
		}
		if d.Writes != 1 {
			t.Errorf("bill %s: written %d times, want once", id, d.Writes)
		}
		if d.Data.Head["FBillNo"] != id || d.Data.Head["Fdate"] != strings.Replace(b.IoDate, " ", "T", 1) || len(d.Data.Entry) != len(b.Items) {
			t.Errorf("bill %s: head %v with %d lines, from a source bill of %s with %d items", id, d.Data.Head, len(d.Data.Entry), b.IoDate, len(b.Items))
		}
		for i, l := range d.Data.Entry {
			if i < len(b.Items) && (l["FItemID"] != b.Items[i].SkuID || l["FQty"] != b.Items[i].Qty) {
				t.Errorf("bill %s line %d: %v, from item %+v", id, i+1, l, b.Items[i])
			}
		}
	}
	if len(docs) != len(all) {
		t.Errorf("KIS holds %d bills, want %d", len(docs), len(all))
	}
}

// ---------------------------------------------------------------------------
// Runs

func baseEnv(sb *sandbox.Server, state string, extra ...string) []string {
	j, k := sbjst.DefaultConfig(), sbkis.DefaultConfig()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"JST_BASE_URL=" + sb.URL(), "JST_APP_KEY=" + j.AppKey, "JST_APP_SECRET=" + j.AppSecret,
		"JST_ACCESS_TOKEN=" + j.AccessToken, "JST_REFRESH_TOKEN=" + j.RefreshToken,
		"KIS_BASE_URL=" + sb.URL(), "KIS_CLIENT_ID=" + k.ClientID, "KIS_CLIENT_SECRET=" + k.ClientSecret,
		"KIS_AUTH_CODE=" + k.AuthCode, "KIS_ACCT_NUMBER=" + k.AcctNumber, "KIS_PID=" + k.PID, "KIS_ICRMID=" + k.ICRMID,
		"KIS_MATERIAL_FALLBACK_TO_SKU=true",
		"ERPSYNC_STATE_DIR=" + state,
		"SYNC_START=" + time.Now().Add(-31*24*time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP=true",
	}
	return append(env, extra...)
}

// run runs a shipped config to its end (the input stops by itself).
func run(t *testing.T, env []string, config string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resources := erpsynctest.Path("config/resources/erpsync.yaml") + "," + erpsynctest.Path("config/resources/jushuitan_kis_mapping.yaml")
	cmd := exec.CommandContext(ctx, erpsynctest.Binary(t), "--log.level", "warn", "--set", "http.enabled=false", "-r", resources, "run", erpsynctest.Path("config/streams/"+config+".yaml"))
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", config, err, out.String())
	}
}

// ---------------------------------------------------------------------------
// Assertions on the table

// want is what one dead letter must look like at a point of the test.
type want struct {
	status   string
	attempts int
}

// checkTable asserts the table holds exactly the bills of e that failed
// (KIS refusals and bills without items), each with its reason, source
// document and state; kisState and noItemsState give the state of each group.
func checkTable(t *testing.T, rows map[string]row, e expectation, kisState, noItemsState want) {
	t.Helper()
	for id, r := range rows {
		_, refused := e.kisRefused[id]
		_, noItems := e.noItems[id]
		if !refused && !noItems {
			t.Errorf("the table holds %s, which never failed: %s", id, r.ErrorMessage)
		}
	}
	check := func(id string, b bill, w want, code, msg string, targetPayload bool) {
		t.Helper()
		r, ok := rows[id]
		if !ok {
			t.Errorf("bill %s (%s) is not in the dead-letter table", id, msg)
			return
		}
		if r.Stream != stream || r.Target != "kis" || r.SourceVendor != "jushuitan" || r.ErrorCode != code || !strings.Contains(r.ErrorMessage, msg) {
			t.Errorf("dead letter %s: stream %q target %q vendor %q error_code %q error %q; want %s, kis, jushuitan, %q and an error containing %q",
				id, r.Stream, r.Target, r.SourceVendor, r.ErrorCode, r.ErrorMessage, stream, code, msg)
		}
		if r.Status != w.status || r.Attempts != w.attempts || r.Resolved.Valid != (w.status == "resolved") {
			t.Errorf("dead letter %s: status %s, attempts %d, resolved_at %v; want %s after %d failures", id, r.Status, r.Attempts, r.Resolved, w.status, w.attempts)
		}
		if r.Last.Before(r.First) || (w.attempts == 1 && !r.Last.Equal(r.First)) {
			t.Errorf("dead letter %s: first failure %v, last %v (attempts %d)", id, r.First, r.Last, r.Attempts)
		}
		// payload is the SOURCE bill, as Jushuitan served it.
		var src bill
		dec := json.NewDecoder(strings.NewReader(r.Payload))
		dec.UseNumber()
		if err := dec.Decode(&src); err != nil || src.IoID.String() != id || src.IoDate != b.IoDate || len(src.Items) != len(b.Items) {
			t.Errorf("dead letter %s: payload is not the source bill (%v): %.200s", id, err, r.Payload)
		}
		// target_payload is the KIS bill KIS refused, NULL when KIS never saw it.
		if targetPayload {
			var kb struct{ Head map[string]any }
			if !r.TargetPayload.Valid || json.Unmarshal([]byte(r.TargetPayload.String), &kb) != nil || kb.Head["FBillNo"] != id {
				t.Errorf("dead letter %s: target_payload %v, want the KIS bill", id, r.TargetPayload)
			}
		} else if r.TargetPayload.Valid {
			t.Errorf("dead letter %s: target_payload %.100s, want NULL (the mapping rejected the source)", id, r.TargetPayload.String)
		}
		var meta map[string]string
		if !r.SourceMeta.Valid || json.Unmarshal([]byte(r.SourceMeta.String), &meta) != nil || meta["source_id"] != id || meta["source_api"] != sbjst.PathOtherInout {
			t.Errorf("dead letter %s: source_meta %v, want the source message's metadata", id, r.SourceMeta)
		}
		if _, internal := meta["erpsync_source"]; internal {
			t.Errorf("dead letter %s: source_meta holds the stash erpsync_source", id)
		}
	}
	for id, b := range e.kisRefused {
		check(id, b, kisState, kisCode, kisMessage, true)
	}
	for id, b := range e.noItems {
		check(id, b, noItemsState, "", "no items (明细为空)", false)
	}
}

func ids(m map[string]row) []int64 {
	out := make([]int64, 0, len(m))
	for _, r := range m {
		out = append(out, r.ID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestIntegrationDeadLetterRoundTrip: rows the sandbox's KIS rejects land in
// the table with KIS's errcode and message, attempts 1, open, and exactly
// those (plus the bills the mapping rejects); a second failing run counts
// attempt 2; a replay while KIS still refuses writes nothing and counts
// attempt 3; once the fault is gone the replay writes each refused bill
// exactly once and resolves it, and a second replay writes nothing. Bills
// the mapping rejects stay open, one more attempt per replay.
func TestIntegrationDeadLetterRoundTrip(t *testing.T) {
	db := erpsynctest.OpenDB(t, "parseTime=true&loc=UTC")
	table := fmt.Sprintf("e2e_dead_letters_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + table) })

	sb := streamtest.StartSandbox(t, records, func(o *sandbox.Options) {
		o.Limits = false
		o.Faults = core.Faults{RowFailRate: rowFailRate}
		// The configs close windows a minute before now: every bill must be
		// old enough to be read in one run.
		o.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	})
	e := expect(t, sb, sourceBills(t, sb))
	state := erpsynctest.StateDir(t)
	robots := startRobots(t)
	env := baseEnv(sb, state, "MYSQL_DSN="+erpsynctest.MySQLDSN(), "DEAD_LETTER_TABLE="+table,
		"DINGTALK_WEBHOOK_URL="+robots.url+dingtalkPath+"?access_token="+dingtalkToken, "DINGTALK_SECRET="+dingtalkSecret,
		"WECOM_WEBHOOK_URL="+robots.url+wecomPath+"?key="+wecomKey)
	file := filepath.Join(state, "dead_letters", stream+".jsonl")

	// 1. The stream: refused bills land in the table, and still in the file;
	// both robots hear of each (up to their 20 a minute).
	run(t, env, stream)
	checkKIS(t, sb, e.written)
	first := readTable(t, db, table)
	checkTable(t, first, e, want{"open", 1}, want{"open", 1})
	if n := countLines(t, file); n != len(e.kisRefused)+len(e.noItems) {
		t.Errorf("the dead-letter file holds %d lines, want %d", n, len(e.kisRefused)+len(e.noItems))
	}
	checkAlerts(t, robots, e, baseEnv(sb, state))
	if t.Failed() {
		return
	}

	// 2. The same windows again: every failure counts once more.
	if err := os.Remove(filepath.Join(state, "checkpoints", stream)); err != nil {
		t.Fatalf("the checkpoint should exist after a run: %v", err)
	}
	run(t, env, stream)
	second := readTable(t, db, table)
	checkTable(t, second, e, want{"open", 2}, want{"open", 2})
	// The file keeps one line per failure: the bills failed as before.
	if n := countLines(t, file); n != len(e.kisRefused)+len(e.noItems) {
		t.Errorf("after reading the same windows again the dead-letter file holds %d lines, want still %d", n, len(e.kisRefused)+len(e.noItems))
	}
	for id, r := range second {
		if r.ID != first[id].ID || !r.First.Equal(first[id].First) || r.Last.Before(first[id].Last) {
			t.Errorf("dead letter %s: id %d→%d, first failure %v→%v, last %v→%v: the id and first failure must stay, the last move on",
				id, first[id].ID, r.ID, first[id].First, r.First, first[id].Last, r.Last)
		}
	}
	checkKIS(t, sb, e.written)

	// 3. Replay while KIS still refuses: nothing written or resolved, one
	// more attempt each.
	calls := createCalls(sb)
	run(t, env, replay)
	checkKIS(t, sb, e.written)
	checkTable(t, readTable(t, db, table), e, want{"open", 3}, want{"open", 3})
	if got := createCalls(sb) - calls; got != len(e.kisRefused) {
		t.Errorf("failing replay: %d create calls, want %d (each refused bill once)", got, len(e.kisRefused))
	}
	if t.Failed() {
		return
	}

	// 4. The cause is removed: the replay writes each refused bill once and
	// resolves it; bills without items fail again.
	if err := sb.Env().SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	calls = createCalls(sb)
	before := time.Now().UTC().Add(-time.Minute)
	run(t, env, replay)
	checkKIS(t, sb, e.written, e.kisRefused)
	resolved := readTable(t, db, table)
	checkTable(t, resolved, e, want{"resolved", 3}, want{"open", 4})
	for id := range e.kisRefused {
		if r := resolved[id]; r.Resolved.Valid && r.Resolved.Time.Before(before) {
			t.Errorf("dead letter %s: resolved_at %v is older than the replay", id, r.Resolved.Time)
		}
	}
	if got := createCalls(sb) - calls; got != len(e.kisRefused) {
		t.Errorf("replay: %d create calls, want %d (each refused bill once)", got, len(e.kisRefused))
	}
	if fmt.Sprint(ids(resolved)) != fmt.Sprint(ids(first)) {
		t.Errorf("the replay changed the rows' ids: %v, then %v", ids(first), ids(resolved))
	}

	// 5. A second replay has nothing to write: no KIS call, the resolved
	// rows stay as they are.
	calls = createCalls(sb)
	run(t, env, replay)
	checkKIS(t, sb, e.written, e.kisRefused)
	again := readTable(t, db, table)
	checkTable(t, again, e, want{"resolved", 3}, want{"open", 5})
	for id := range e.kisRefused {
		if !again[id].Resolved.Time.Equal(resolved[id].Resolved.Time) {
			t.Errorf("dead letter %s: resolved again by the second replay", id)
		}
	}
	if got := createCalls(sb) - calls; got != 0 {
		t.Errorf("second replay: %d create calls, want none", got)
	}
}

// ---------------------------------------------------------------------------
// Alert robots

const (
	dingtalkPath   = "/robot/send"
	dingtalkToken  = "dl-test-dingtalk-token"
	dingtalkSecret = "SECdl-test-dingtalk-secret"
	wecomPath      = "/cgi-bin/webhook/send"
	wecomKey       = "dl-test-wecom-key"
	// robotLimit is the robots' rate limit (20 a minute): alerts beyond it
	// are dropped, not waited for.
	robotLimit = 20
)

// robots is a stand-in DingTalk and WeCom robot that keeps every request.
type robots struct {
	url  string
	mu   sync.Mutex
	reqs []robotReq
}

type robotReq struct {
	path  string
	query url.Values
	body  []byte
}

func startRobots(t *testing.T) *robots {
	t.Helper()
	r := &robots{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, robotReq{req.URL.Path, req.URL.Query(), body})
		r.mu.Unlock()
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *robots) requests() []robotReq {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]robotReq(nil), r.reqs...)
}

// alertLine matches a line of the alert text: "key: value".
var alertLine = regexp.MustCompile(`(?m)^(stream|target|source_id|error_code|error): (.*)$`)

// checkAlerts: each robot received one alert per dead letter up to its
// limit, each naming the stream, the target, a dead-lettered bill, its
// error code and message, signed for DingTalk, and no credential of env.
func checkAlerts(t *testing.T, r *robots, e expectation, env []string) {
	t.Helper()
	dead := len(e.kisRefused) + len(e.noItems)
	got := map[string][]string{}
	for _, req := range r.requests() {
		var body struct {
			MsgType string `json:"msgtype"`
			Text    struct {
				Content string `json:"content"`
			} `json:"text"`
		}
		if err := json.Unmarshal(req.body, &body); err != nil || body.MsgType != "text" {
			t.Errorf("robot request %s %s: not a text message: %v", req.path, req.body, err)
			continue
		}
		switch req.path {
		case dingtalkPath:
			if req.query.Get("access_token") != dingtalkToken || req.query.Get("sign") == "" || req.query.Get("timestamp") == "" {
				t.Errorf("DingTalk request without its token or signature: %v", req.query)
			}
		case wecomPath:
			if req.query.Get("key") != wecomKey {
				t.Errorf("WeCom request without its key: %v", req.query)
			}
		default:
			t.Errorf("robot request to %s", req.path)
		}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			if len(v) >= 6 && (strings.Contains(k, "SECRET") || strings.Contains(k, "TOKEN") || strings.Contains(k, "AUTH_CODE")) &&
				bytes.Contains(req.body, []byte(v)) {
				t.Errorf("alert %s holds the value of %s", req.body, k)
			}
		}
		if bytes.Contains(req.body, []byte(dingtalkSecret)) || bytes.Contains(req.body, []byte(dingtalkToken)) || bytes.Contains(req.body, []byte(wecomKey)) {
			t.Errorf("alert %s holds a robot credential", req.body)
		}
		f := map[string]string{}
		for _, m := range alertLine.FindAllStringSubmatch(body.Text.Content, -1) {
			f[m[1]] = m[2]
		}
		id := f["source_id"]
		_, refused := e.kisRefused[id]
		_, noItems := e.noItems[id]
		switch {
		case f["stream"] != stream || f["target"] != "kis":
			t.Errorf("alert %q: stream %q target %q, want %s and kis", body.Text.Content, f["stream"], f["target"], stream)
		case refused && (f["error_code"] != kisCode || !strings.Contains(f["error"], kisMessage)):
			t.Errorf("alert of refused bill %s: code %q error %q, want %s and %q", id, f["error_code"], f["error"], kisCode, kisMessage)
		case noItems && (f["error_code"] != "" || !strings.Contains(f["error"], "no items")):
			t.Errorf("alert of bill %s without items: code %q error %q", id, f["error_code"], f["error"])
		case !refused && !noItems:
			t.Errorf("alert names %q, which was not dead-lettered: %q", id, body.Text.Content)
		}
		got[req.path] = append(got[req.path], id)
	}
	for _, p := range []string{dingtalkPath, wecomPath} {
		ids := got[p]
		if len(ids) != min(dead, robotLimit) {
			t.Errorf("robot %s got %d alerts, want %d (one per dead letter, at most %d a minute)", p, len(ids), min(dead, robotLimit), robotLimit)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("robot %s: bill %s alerted twice", p, id)
			}
			seen[id] = true
		}
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("dead-letter file: %v", err)
	}
	return bytes.Count(b, []byte("\n"))
}
