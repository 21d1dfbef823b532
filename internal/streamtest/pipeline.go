package streamtest

// Helpers of the end-to-end tests of the shipped streams (tests/pipelines):
// run a config with the erpsync binary, call the sandbox's K3Cloud for the
// test's own setup, read what K3Cloud stored and what the dead letter holds.

import (
	"bufio"
	"bytes"
	"context"
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
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
)

// RunToEnd runs the shipped stream config/streams/<stream>.yaml with every
// shipped resource until it exits by itself (STOP_WHEN_CAUGHT_UP=true in
// env), failing the test on an error exit or after timeout.
func RunToEnd(t testing.TB, env []string, stream string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
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

// ForgetCheckpoint deletes a stream's checkpoint in the state folder, so
// the next run reads every window again.
func ForgetCheckpoint(t testing.TB, state, key string) {
	t.Helper()
	if err := os.Remove(filepath.Join(state, "checkpoints", key)); err != nil {
		t.Fatalf("the checkpoint of %s should exist after a run: %v", key, err)
	}
}

// K3 calls the sandbox's K3Cloud directly for a test's setup: the base
// data an operator keeps in Kingdee. The sandbox must not verify the
// signature (Options.K3Cloud.StrictSignature false).
type K3 struct {
	T  testing.TB
	SB *sandbox.Server
}

// Call posts data to a DynamicFormService method; a map's "_form" key is
// sent as formid. The test fails unless K3Cloud answers IsSuccess.
func (c K3) Call(method string, data any) map[string]any {
	c.T.Helper()
	cfg := k3cloud.DefaultConfig()
	body, _ := json.Marshal(map[string]any{"formid": nil, "data": data})
	if m, ok := data.(map[string]any); ok {
		rest := map[string]any{}
		for k, v := range m {
			if k != "_form" {
				rest[k] = v
			}
		}
		body, _ = json.Marshal(map[string]any{"formid": m["_form"], "data": rest})
	}
	path := "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService." + method + ".common.kdsvc"
	req, _ := http.NewRequest(http.MethodPost, c.SB.URL()+path, bytes.NewReader(body))
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
		c.T.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.T.Fatalf("K3Cloud %s: %v", method, err)
	}
	res, _ := out["Result"].(map[string]any)
	st, _ := res["ResponseStatus"].(map[string]any)
	if st["IsSuccess"] != true {
		c.T.Fatalf("K3Cloud %s %s: %v", method, body, out)
	}
	return out
}

// AddCustomers creates audited customers of organisation 100.
func (c K3) AddCustomers(numbers ...string) {
	c.T.Helper()
	var models []map[string]any
	for _, no := range numbers {
		models = append(models, map[string]any{"FNumber": no, "FName": "客户" + no,
			"FCreateOrgId": map[string]any{"FNumber": "100"}, "FUseOrgId": map[string]any{"FNumber": "100"}})
	}
	c.Call("BatchSave", map[string]any{"_form": "BD_Customer", "Model": models, "IsAutoSubmitAndAudit": true})
}

// RemoveMaterials un-audits and deletes materials, so their SKUs are unknown to Kingdee.
func (c K3) RemoveMaterials(numbers ...string) {
	c.T.Helper()
	c.Call("UnAudit", map[string]any{"_form": "BD_MATERIAL", "Numbers": numbers})
	c.Call("Delete", map[string]any{"_form": "BD_MATERIAL", "Numbers": numbers})
}

// Bill is a stored K3Cloud bill of the sandbox.
type Bill struct {
	Number string         `json:"number"`
	Writes int            `json:"writes"`
	Data   map[string]any `json:"data"`
}

// K3Bills are the bills of a form the sandbox's K3Cloud stores, by number;
// a number stored twice fails the test.
func K3Bills(t testing.TB, sb *sandbox.Server, form string) map[string]Bill {
	t.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/k3cloud/" + form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Documents []Bill `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := map[string]Bill{}
	for _, b := range body.Documents {
		if _, dup := out[b.Number]; dup {
			t.Errorf("%s: bill %s stored twice", form, b.Number)
		}
		out[b.Number] = b
	}
	return out
}

// RefNumber is the FNumber of a base-data reference ({"FNumber": ...}, any case).
func RefNumber(v any) string {
	m, _ := v.(map[string]any)
	for k, x := range m {
		if strings.EqualFold(k, "FNumber") {
			s, _ := x.(string)
			return s
		}
	}
	return ""
}

// SourceDocs renders the truth of a source dataset as the vendor serves it;
// the test fails unless it holds want documents (want 0: any number but none).
func SourceDocs[T any](t testing.TB, sb *sandbox.Server, dataset string, want int) []T {
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
	if len(out) != want && (want != 0 || len(out) == 0) {
		t.Fatalf("%s: %d documents in the truth, want %d", dataset, len(out), want)
	}
	return out
}

// DeadLetter is one record of a stream's dead-letter file (docs/dead-letters.md).
type DeadLetter struct {
	Stream   string          `json:"stream"`
	SourceID string          `json:"source_id"`
	Error    string          `json:"error"`
	Payload  json.RawMessage `json:"payload"`
	At       string          `json:"at"`
}

// ReadDeadLetters reads a dead-letter file (none: no records).
func ReadDeadLetters(t testing.TB, path string) []DeadLetter {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []DeadLetter
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var d DeadLetter
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

// CheckDeadLetters: every rejected document (source_id -> a text its
// reason must contain) is in the dead letter times times, with its stream,
// a reason ending in "(permanent)" and a payload naming it (payloadKey:
// the text the payload must contain, the source_id when nil), and nothing
// else is. A document modified while the stream ran is read again in a
// later window and dead-lettered again: extra[id] (its modifications) more
// records are allowed for it, no more.
func CheckDeadLetters(t testing.TB, path, stream string, rejected map[string]string, times int, extra map[string]int, payloadKey func(id string) string) {
	t.Helper()
	count := map[string]int{}
	for _, d := range ReadDeadLetters(t, path) {
		want, ok := rejected[d.SourceID]
		key := d.SourceID
		if payloadKey != nil {
			key = payloadKey(d.SourceID)
		}
		switch {
		case !ok:
			t.Errorf("dead letter holds %s, which should have been written or ignored: %s", d.SourceID, d.Error)
		case d.Stream != stream || !strings.Contains(d.Error, want) || !strings.HasSuffix(d.Error, "(permanent)") || d.At == "":
			t.Errorf("dead letter of %s: stream %q, error %q (want it to contain %q and end with (permanent)), at %q", d.SourceID, d.Stream, d.Error, want, d.At)
		case !bytes.Contains(d.Payload, []byte(key)):
			t.Errorf("dead letter of %s: payload %s does not name the document (%s)", d.SourceID, d.Payload, key)
		}
		count[d.SourceID]++
	}
	for id, why := range rejected {
		if count[id] < times || count[id] > times+extra[id] {
			t.Errorf("%s is %d times in the dead letter, want %d to %d (%s)", id, count[id], times, times+extra[id], why)
		}
	}
}

// Fen is an amount in yuan as a whole number of fen, rounded half away from zero.
func Fen(v float64) int64 {
	if v < 0 {
		return int64(v*100 - 0.5)
	}
	return int64(v*100 + 0.5)
}

// Num is a JSON number, else 0.
func Num(v any) float64 {
	f, _ := v.(float64)
	return f
}
