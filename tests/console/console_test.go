package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
)

// TestIntegrationConsoleEndpoints runs the shipped sales-out stream with
// K3Cloud refusing a third of the rows and one shop's customer missing, and
// goes through every endpoint as an operator would: the stream's counts,
// the dead letters with their reasons and documents, filters, a resolution
// by hand, a replay of a selection and of the rest once the causes are
// fixed, the record log, and a checkpoint reset that reads everything again
// without writing anything twice.
func TestIntegrationConsoleEndpoints(t *testing.T) {
	e := start(t, 150, 0.3, "", "JST001", "JST002", "JST003", "JST004")
	truth := e.truth()
	s := e.caughtUp()

	// Streams: every document read once, each written or dead-lettered.
	if s.Counts.Read != int64(len(truth)) {
		t.Errorf("read %d, the sandbox holds %d confirmed sales-out documents", s.Counts.Read, len(truth))
	}
	if s.Counts.Written == 0 || s.Counts.DeadLettered == 0 || s.Counts.Written+s.Counts.DeadLettered != s.Counts.Read {
		t.Errorf("written %d + dead-lettered %d should be the %d read, both non-zero", s.Counts.Written, s.Counts.DeadLettered, s.Counts.Read)
	}
	if s.Counts.OpenDead == nil || *s.Counts.OpenDead != s.Counts.DeadLettered {
		t.Errorf("open dead letters %v, want %d", s.Counts.OpenDead, s.Counts.DeadLettered)
	}
	if s.Calls["0"] == 0 || s.Checkpoint == nil || !s.Replay {
		t.Errorf("calls %v, checkpoint %v, replay %v (%s)", s.Calls, s.Checkpoint, s.Replay, s.ReplayWhy)
	}

	// Dead letters: each a truth document, not in Kingdee, with its reason.
	bills := e.bills()
	dls := e.deadLetters("stream=" + stream)
	if int64(len(dls)) != s.Counts.DeadLettered {
		t.Fatalf("GET dead-letters lists %d, the stream dead-lettered %d", len(dls), s.Counts.DeadLettered)
	}
	var refused, rejected []deadLetter
	for _, d := range dls {
		if _, ok := truth[d.SourceID]; !ok {
			t.Errorf("dead letter %d: source %s is not a sandbox document", d.ID, d.SourceID)
		}
		if _, ok := bills[d.SourceID]; ok {
			t.Errorf("dead letter %s is also in K3Cloud", d.SourceID)
		}
		if d.Target != "k3cloud:SAL_OUTSTOCK" || d.Status != "open" || d.Attempts != 1 || d.ErrorMessage == "" {
			t.Errorf("dead letter %+v", d)
		}
		switch {
		case strings.Contains(d.ErrorMessage, "customer JST005 is missing"):
			rejected = append(rejected, d)
		case d.ErrorCode != "":
			refused = append(refused, d)
		default:
			t.Errorf("dead letter %s: unexpected reason %q", d.SourceID, d.ErrorMessage)
		}
	}
	if len(refused) < 2 || len(rejected) < 2 {
		t.Fatalf("want several Kingdee refusals and mapping rejections, got %d and %d", len(refused), len(rejected))
	}
	if len(bills) != int(s.Counts.Written) {
		t.Errorf("K3Cloud holds %d bills, the stream wrote %d", len(bills), s.Counts.Written)
	}

	// One opened: the source document and what Kingdee refused.
	var one deadLetter
	e.must("GET", fmt.Sprintf("dead-letters/%d", refused[0].ID), nil, &one)
	if idText(one.Payload["io_id"]) != one.SourceID || fmt.Sprint(one.TargetPayload["FBillNo"]) != one.SourceID || one.SourceMeta["source_id"] != one.SourceID {
		t.Errorf("dead letter %d: payload io_id %v, target FBillNo %v, meta %v", one.ID, one.Payload["io_id"], one.TargetPayload["FBillNo"], one.SourceMeta)
	}
	var rej deadLetter
	e.must("GET", fmt.Sprintf("dead-letters/%d", rejected[0].ID), nil, &rej)
	if rej.TargetPayload != nil || idText(rej.Payload["io_id"]) != rej.SourceID {
		t.Errorf("a document the mapping rejected never reached Kingdee: target payload %v, payload io_id %v", rej.TargetPayload, rej.Payload["io_id"])
	}

	// Filters.
	code := refused[0].ErrorCode
	byCode := e.deadLetters("stream=" + stream + "&error_code=" + code)
	for _, d := range byCode {
		if d.ErrorCode != code {
			t.Errorf("error_code=%s listed code %s", code, d.ErrorCode)
		}
	}
	if len(byCode) == 0 || len(byCode) == len(dls) {
		t.Errorf("error_code=%s listed %d of %d", code, len(byCode), len(dls))
	}
	if n := len(e.deadLetters("stream=" + stream + "&status=resolved")); n != 0 {
		t.Errorf("%d resolved before anything was resolved", n)
	}
	if n := len(e.deadLetters("since=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339))); n != 0 {
		t.Errorf("since an hour ahead listed %d", n)
	}
	if n := len(e.deadLetters("target=kis")); n != 0 {
		t.Errorf("target=kis listed %d", n)
	}
	for _, bad := range []string{"dead-letters?status=bogus", "dead-letters?limit=x", "dead-letters?since=yesterday", "dead-letters/abc"} {
		if status, _ := e.call("GET", bad, nil, nil); status != http.StatusBadRequest {
			t.Errorf("GET %s: HTTP %d, want 400", bad, status)
		}
	}
	if status, _ := e.call("GET", "dead-letters/99999999", nil, nil); status != http.StatusNotFound {
		t.Errorf("an unknown dead letter: HTTP %d, want 404", status)
	}

	// Records: one per written bill, findable by its number.
	recs := e.records("stream=" + stream + "&limit=1000")
	if len(recs) != int(s.Counts.Written) {
		t.Errorf("%d records for %d bills written", len(recs), s.Counts.Written)
	}
	for _, r := range recs {
		b, ok := bills[r.TargetNumber]
		if !ok || r.Action != "created" || r.SourceID != r.TargetNumber || r.Target != "k3cloud:SAL_OUTSTOCK" || r.TargetID == "" {
			t.Errorf("record %+v (in K3Cloud: %v)", r, ok)
		}
		_ = b
	}
	if len(recs) > 0 {
		no := recs[0].TargetNumber
		if got := e.records("q=" + no); len(got) != 1 || got[0].TargetNumber != no {
			t.Errorf("records q=%s: %+v", no, got)
		}
		if got := e.records("q=" + no[:len(no)-1] + "*"); len(got) == 0 {
			t.Errorf("records q=%s*: none", no[:len(no)-1])
		}
	}
	if got := e.records("q=does-not-exist"); len(got) != 0 {
		t.Errorf("records of an unknown number: %+v", got)
	}

	// Resolve by hand: a note is required.
	hand := rejected[0]
	if status, _ := e.call("POST", "dead-letters/resolve", map[string]any{"stream": stream, "ids": []int64{hand.ID}}, nil); status != http.StatusBadRequest {
		t.Errorf("resolve without a note: HTTP %d, want 400", status)
	}
	var res struct {
		Resolved int64 `json:"resolved"`
	}
	e.must("POST", "dead-letters/resolve", map[string]any{"stream": stream, "ids": []int64{hand.ID}, "note": "订单已在金蝶手工录入"}, &res)
	var handGot deadLetter
	e.must("GET", fmt.Sprintf("dead-letters/%d", hand.ID), nil, &handGot)
	if res.Resolved != 1 || handGot.Status != "resolved" || handGot.Note != "订单已在金蝶手工录入" {
		t.Errorf("resolved by hand: %d, %s, note %q", res.Resolved, handGot.Status, handGot.Note)
	}

	// Replay a selection once Kingdee accepts the rows again.
	e.clearRowFaults()
	sel := refused[:len(refused)/2]
	var ids []int64
	for _, d := range sel {
		ids = append(ids, d.ID)
	}
	j := e.replay(map[string]any{"stream": stream, "ids": ids})
	if j.Resolved != int64(len(sel)) || j.Failed != 0 {
		t.Errorf("replay of %d: resolved %d, failed %d", len(sel), j.Resolved, j.Failed)
	}
	bills = e.bills()
	for _, d := range sel {
		var got deadLetter
		e.must("GET", fmt.Sprintf("dead-letters/%d", d.ID), nil, &got)
		if got.Status != "resolved" {
			t.Errorf("replayed %s: %s", d.SourceID, got.Status)
		}
		if b, ok := bills[d.SourceID]; !ok || b.Writes != 1 {
			t.Errorf("replayed %s: in K3Cloud %v, writes %d", d.SourceID, ok, b.Writes)
		}
	}
	for _, d := range refused[len(refused)/2:] {
		if _, ok := bills[d.SourceID]; ok {
			t.Errorf("%s was not selected but is in K3Cloud", d.SourceID)
		}
	}

	// Replay all of the stream once the missing customer exists.
	e.addCustomers("JST005")
	e.replay(map[string]any{"stream": stream, "all": true})
	if open := e.deadLetters("stream=" + stream); len(open) != 0 {
		t.Errorf("%d still open after the replay of all, e.g. %+v", len(open), open[0])
	}
	bills = e.bills()
	for id := range truth {
		b, ok := bills[id]
		if id == hand.SourceID {
			if ok {
				t.Errorf("%s was resolved by hand, not replayed, yet is in K3Cloud", id)
			}
			continue
		}
		if !ok || b.Writes != 1 {
			t.Errorf("%s: in K3Cloud %v, writes %d", id, ok, b.Writes)
		}
	}
	if got := e.records("q=" + refused[len(refused)-1].SourceID); len(got) != 1 || got[0].Action != "created" {
		t.Errorf("the record of a replayed bill: %+v", got)
	}

	// Checkpoints: a reset reads everything again; nothing is written twice.
	var cps struct {
		Checkpoints []struct {
			Stream, Key, Cache, State string
			Checkpoint                *time.Time
		} `json:"checkpoints"`
	}
	e.must("GET", "checkpoints", nil, &cps)
	if len(cps.Checkpoints) != 1 || cps.Checkpoints[0].Key != stream || cps.Checkpoints[0].Checkpoint == nil {
		t.Fatalf("checkpoints: %+v", cps.Checkpoints)
	}
	back := time.Now().Add(-40 * 24 * time.Hour).Format(time.RFC3339)
	for _, bad := range []map[string]any{
		{"stream": stream, "to": back, "confirm": "yes"},
		{"stream": stream, "to": time.Now().Add(time.Hour).Format(time.RFC3339), "confirm": stream},
		{"stream": stream, "to": "not a time", "confirm": stream},
	} {
		if status, raw := e.call("POST", "checkpoints/reset", bad, nil); status != http.StatusBadRequest {
			t.Errorf("reset %v: HTTP %d %s, want 400", bad, status, raw)
		}
	}
	if status, _ := e.call("POST", "checkpoints/reset", map[string]any{"stream": "nope", "to": back, "confirm": "nope"}, nil); status != http.StatusNotFound {
		t.Errorf("reset of an unknown stream: HTTP %d, want 404", status)
	}
	before := e.stream()
	e.must("POST", "checkpoints/reset", map[string]any{"stream": stream, "to": back, "confirm": stream}, nil)
	// Read again: every bill in K3Cloud is skipped. The stream's own
	// Kingdee lookups still remember JST005 as missing (their cache keeps
	// an answer 10 minutes; the replay built its own): those documents fail
	// again, and their dead letters open again rather than doubling.
	e.waitFor("the stream to read everything again", 2*time.Minute, func() bool {
		s := e.stream()
		return s.State == "waiting" && s.Counts.Read >= before.Counts.Read+int64(len(truth)) &&
			s.Counts.Skipped >= int64(len(truth)-len(rejected))
	})
	after := e.stream()
	if after.Counts.Written != before.Counts.Written || after.Counts.Skipped != int64(len(truth)-len(rejected)) {
		t.Errorf("the re-read wrote %d and skipped %d, want 0 and %d", after.Counts.Written-before.Counts.Written,
			after.Counts.Skipped, len(truth)-len(rejected))
	}
	for id, b := range e.bills() {
		if b.Writes != 1 {
			t.Errorf("%s written %d times", id, b.Writes)
		}
	}
	e.waitFor("the re-read failures in the table", 30*time.Second, func() bool {
		return len(e.deadLetters("stream="+stream)) == len(rejected)
	})
	for _, d := range e.deadLetters("stream=" + stream) {
		if !strings.Contains(d.ErrorMessage, "customer JST005 is missing") || d.Attempts != 2 {
			t.Errorf("re-opened dead letter %+v", d)
		}
	}
	if skipped := e.records("q=" + refused[0].SourceID); len(skipped) != 2 || skipped[0].Action != "skipped" {
		t.Errorf("records of %s after the re-read: %+v (want skipped, then created)", refused[0].SourceID, skipped)
	}

	// No answer carries a secret.
	j3, k3 := sbjst.DefaultConfig(), k3cloud.DefaultConfig()
	for _, path := range []string{"streams", "dead-letters?status=all", fmt.Sprintf("dead-letters/%d", one.ID), "records", "checkpoints", "replays"} {
		_, raw := e.call("GET", path, nil, nil)
		for _, secret := range []string{j3.AppSecret, j3.AccessToken, j3.RefreshToken, k3.AppSecret, k3.Password, e.dlTable + "@"} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("GET %s shows a secret (%q)", path, secret)
			}
		}
	}
}

// TestIntegrationConsoleToken: with ERPSYNC_CONSOLE_TOKEN set, the API
// answers only requests carrying it (header or the sign-in cookie).
func TestIntegrationConsoleToken(t *testing.T) {
	const token = "console-token-for-the-test"
	e := start(t, 5, 0, token)
	get := func(h map[string]string, cookie *http.Cookie) int {
		req, _ := http.NewRequest("GET", e.url+"api/streams", nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(nil, nil); s != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d, want 401", s)
	}
	if s := get(map[string]string{"Authorization": "Bearer wrong"}, nil); s != http.StatusUnauthorized {
		t.Errorf("wrong token: HTTP %d, want 401", s)
	}
	if s := get(map[string]string{"Authorization": "Bearer " + token}, nil); s != http.StatusOK {
		t.Errorf("the token: HTTP %d, want 200", s)
	}
	login := func(tok string) *http.Response {
		resp, err := http.Post(e.url+"api/login", "application/json", strings.NewReader(`{"token":"`+tok+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := login("wrong"); r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 {
		t.Errorf("sign-in with a wrong token: HTTP %d, cookies %v", r.StatusCode, r.Cookies())
	}
	r := login(token)
	if r.StatusCode != http.StatusOK || len(r.Cookies()) != 1 || !r.Cookies()[0].HttpOnly {
		t.Fatalf("sign-in: HTTP %d, cookies %v", r.StatusCode, r.Cookies())
	}
	if s := get(nil, r.Cookies()[0]); s != http.StatusOK {
		t.Errorf("with the sign-in cookie: HTTP %d, want 200", s)
	}
	// The page itself loads (it asks for the token); POSTs need JSON.
	resp, err := http.Get(e.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("the page: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest("POST", e.url+"api/dead-letters/resolve", strings.NewReader("stream=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form POST: HTTP %d, want 415", resp.StatusCode)
	}
}

// idText renders a JSON id (a float64 once decoded) as the vendor's digits.
func idText(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
