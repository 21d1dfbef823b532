// Package jushuitankingdee runs the shipped Jushuitan → K3Cloud stream
// configs (config/streams/jushuitan_sales_out_to_kingdee.yaml and
// jushuitan_returns_to_kingdee.yaml) unchanged, with the erpsync binary,
// against the sandbox, and checks the sandbox's K3Cloud against the
// sandbox's Jushuitan truth.
package jushuitankingdee

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, erpsynctest.Binary(t), "--log.level", "warn", "--set", "http.enabled=false",
		"-r", erpsynctest.Path("config/resources")+"/*.yaml", "run", erpsynctest.Path("config/streams/"+stream+".yaml"))
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", stream, err, out.String())
	}
}

// forgetCheckpoint deletes the stream's checkpoint, so the next run reads
// every window again.
func forgetCheckpoint(t *testing.T, state, key string) {
	t.Helper()
	if err := os.Remove(filepath.Join(state, "checkpoints", key)); err != nil {
		t.Fatalf("the checkpoint of %s should exist after a run: %v", key, err)
	}
}

// k3 calls the sandbox's K3Cloud directly for the test's setup: the
// customers an operator keeps in Kingdee, materials removed from it.
type k3 struct {
	t  *testing.T
	sb *sandbox.Server
}

func (c k3) call(method string, data any) map[string]any {
	c.t.Helper()
	cfg := k3cloud.DefaultConfig()
	body, _ := json.Marshal(map[string]any{"formid": nil, "data": data})
	if m, ok := data.(map[string]any); ok {
		body, _ = json.Marshal(map[string]any{"formid": m["_form"], "data": without(m, "_form")})
	}
	path := "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService." + method + ".common.kdsvc"
	req, _ := http.NewRequest(http.MethodPost, c.sb.URL()+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	ts := fmt.Sprint(time.Now().Unix())
	appData := base64.StdEncoding.EncodeToString([]byte(cfg.AcctID + "," + cfg.Username + ",2052,0"))
	for k, v := range map[string]string{
		"X-Api-ClientID": strings.SplitN(cfg.AppID, "_", 2)[0], "X-Api-Auth-Version": "2.0", "x-api-timestamp": ts,
		"x-api-nonce": ts, "x-api-signheaders": "x-api-timestamp,x-api-nonce", "X-Api-Signature": "unchecked",
		"X-Kd-Appkey": cfg.AppID, "X-Kd-Appdata": appData, "X-Kd-Signature": "unchecked",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatalf("K3Cloud %s: %v", method, err)
	}
	res, _ := out["Result"].(map[string]any)
	st, _ := res["ResponseStatus"].(map[string]any)
	if st["IsSuccess"] != true {
		c.t.Fatalf("K3Cloud %s %s: %v", method, body, out)
	}
	return out
}

func without(m map[string]any, key string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// addCustomers creates audited customers.
func (c k3) addCustomers(numbers ...string) {
	c.t.Helper()
	var models []map[string]any
	for _, no := range numbers {
		models = append(models, map[string]any{"FNumber": no, "FName": "客户" + no,
			"FCreateOrgId": map[string]any{"FNumber": "100"}, "FUseOrgId": map[string]any{"FNumber": "100"}})
	}
	c.call("BatchSave", map[string]any{"_form": "BD_Customer", "Model": models, "IsAutoSubmitAndAudit": true})
}

// removeMaterials un-audits and deletes materials, so their SKUs are unknown to Kingdee.
func (c k3) removeMaterials(numbers ...string) {
	c.t.Helper()
	c.call("UnAudit", map[string]any{"_form": "BD_MATERIAL", "Numbers": numbers})
	c.call("Delete", map[string]any{"_form": "BD_MATERIAL", "Numbers": numbers})
}

// bill is a stored K3Cloud bill of the sandbox.
type bill struct {
	Number string         `json:"number"`
	Writes int            `json:"writes"`
	Data   map[string]any `json:"data"`
}

func k3Bills(t *testing.T, sb *sandbox.Server, form string) map[string]bill {
	t.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/k3cloud/" + form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Documents []bill `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := map[string]bill{}
	for _, b := range body.Documents {
		if _, dup := out[b.Number]; dup {
			t.Errorf("%s: bill %s stored twice", form, b.Number)
		}
		out[b.Number] = b
	}
	return out
}

func refNumber(v any) string {
	m, _ := v.(map[string]any)
	for k, x := range m {
		if strings.EqualFold(k, "FNumber") {
			s, _ := x.(string)
			return s
		}
	}
	return ""
}

// sourceDocs renders the truth of a Jushuitan dataset as the vendor serves it.
func sourceDocs[T any](t *testing.T, sb *sandbox.Server, dataset string) []T {
	t.Helper()
	var out []T
	for _, d := range sb.Env().Dataset(dataset).FullTruth() {
		raw, err := json.Marshal(d.Document)
		if err != nil {
			t.Fatal(err)
		}
		var doc T
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		out = append(out, doc)
	}
	if len(out) != records {
		t.Fatalf("%s: %d documents in the truth, want %d", dataset, len(out), records)
	}
	return out
}

type deadLetter struct {
	Stream   string          `json:"stream"`
	SourceID string          `json:"source_id"`
	Error    string          `json:"error"`
	Payload  json.RawMessage `json:"payload"`
	At       string          `json:"at"`
}

func readDeadLetters(t *testing.T, path string) []deadLetter {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []deadLetter
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var d deadLetter
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkDeadLetters: every rejected document is in the dead letter times
// times with a reason containing its expected text, and nothing else is. A
// document modified while the stream ran is read again in a later window
// and dead-lettered again: extra[id] (its modifications) more records are
// allowed for it, no more.
func checkDeadLetters(t *testing.T, path, stream string, rejected map[string]string, times int, extra map[string]int) {
	t.Helper()
	count := map[string]int{}
	for _, d := range readDeadLetters(t, path) {
		want, ok := rejected[d.SourceID]
		switch {
		case !ok:
			t.Errorf("dead letter holds %s, which should have been written or ignored: %s", d.SourceID, d.Error)
		case d.Stream != stream || !strings.Contains(d.Error, want) || !strings.HasSuffix(d.Error, "(permanent)") || d.At == "":
			t.Errorf("dead letter of %s: stream %q, error %q (want it to contain %q and end with (permanent)), at %q", d.SourceID, d.Stream, d.Error, want, d.At)
		case !bytes.Contains(d.Payload, []byte(d.SourceID)):
			t.Errorf("dead letter of %s: payload %s does not name the document", d.SourceID, d.Payload)
		}
		count[d.SourceID]++
	}
	for id, why := range rejected {
		if count[id] < times || count[id] > times+extra[id] {
			t.Errorf("%s is %d times in the dead letter, want %d to %d (%s)", id, count[id], times, times+extra[id], why)
		}
	}
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

func fen(v float64) int64 {
	if v < 0 {
		return int64(v*100 - 0.5)
	}
	return int64(v*100 + 0.5)
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
