package core

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestLimiterEnforcesEveryRule(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(Rule{N: 5, Per: time.Second}, Rule{N: 100, Per: time.Minute})
	for i := range 5 {
		if r := l.Allow("app", t0); r != -1 {
			t.Fatalf("call %d refused by rule %d", i, r)
		}
	}
	if r := l.Allow("app", t0); r != 0 {
		t.Fatalf("6th call in one instant: got rule %d, want 0 (5/s)", r)
	}
	if r := l.Allow("other", t0); r != -1 {
		t.Fatalf("keys must not share buckets, got %d", r)
	}
	// Five calls a second stay within 5/s but exhaust 100/min after 100 calls.
	now := t0
	refused := -1
	for i := 0; i < 200 && refused == -1; i++ {
		now = now.Add(200 * time.Millisecond)
		refused = l.Allow("app", now)
	}
	if refused != 1 {
		t.Fatalf("steady 5/s: got rule %d, want 1 (100/min)", refused)
	}
}

func TestLimiterToleratesFixedWindowBursts(t *testing.T) {
	// A client limiter allowing N per interval in fixed windows sends N at
	// the end of one window and N at the start of the next.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(Rule{N: 5, Per: time.Second})
	for i := range 5 {
		if l.Allow("k", t0) != -1 {
			t.Fatalf("first burst call %d refused", i)
		}
	}
	t1 := t0.Add(time.Second)
	for i := range 5 {
		if l.Allow("k", t1) != -1 {
			t.Fatalf("second burst call %d refused one interval later", i)
		}
	}
}

func TestDatasetTouchAndTruth(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, Shanghai)
	d := NewDataset("ds", []Doc{
		{ID: "2", Modified: t0, Body: map[string]any{"remark": "a"}},
		{ID: "1", Modified: t0.Add(time.Hour), Body: map[string]any{"remark": "b"}},
	}, func(body map[string]any, v int) { body["remark"] = body["remark"].(string) + "!" })

	before, _ := d.Get("2")
	if !d.Touch("2", t0.Add(2*time.Hour)) {
		t.Fatal("Touch of a known id failed")
	}
	after, _ := d.Get("2")
	if before.Body["remark"] != "a" {
		t.Fatalf("Touch changed a copy handed out earlier: %v", before.Body)
	}
	if after.Body["remark"] != "a!" || after.Version != 2 || !after.Modified.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after Touch: %+v", after)
	}
	tr := d.Truth()
	if len(tr) != 2 || tr[0].ID != "1" || tr[1].ID != "2" || tr[1].Modified != "2026-01-01 02:00:00" || tr[1].Version != 2 {
		t.Fatalf("truth: %+v", tr)
	}
	if d.Touch("nope", t0) {
		t.Fatal("Touch of an unknown id succeeded")
	}
}

func TestMaybeMutateTouchesOnlyTheQuery(t *testing.T) {
	e, err := NewEnv(Options{Seed: 7, Faults: Faults{MutateRate: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, Shanghai)
	d := NewDataset("ds", []Doc{{ID: "a", Modified: t0}, {ID: "b", Modified: t0}}, nil)
	for range 10 {
		if id := e.MaybeMutate(d, func(doc *Doc) bool { return doc.ID == "b" }); id != "b" {
			t.Fatalf("mutated %q, want b", id)
		}
	}
	a, _ := d.Get("a")
	b, _ := d.Get("b")
	if a.Version != 1 || b.Version != 11 {
		t.Fatalf("versions a=%d b=%d, want 1 and 11", a.Version, b.Version)
	}
}

func TestRowFailsIsDeterministic(t *testing.T) {
	e, _ := NewEnv(Options{Seed: 3, Faults: Faults{RowFailRate: 0.3}})
	fails := 0
	for i := range 1000 {
		// sequential numbers, as real bill numbers are
		k := fmt.Sprintf("STK:QT%06d", 100000+i)
		v := e.RowFails(k)
		if v != e.RowFails(k) {
			t.Fatalf("verdict for %q changed", k)
		}
		if v {
			fails++
		}
	}
	if fails < 250 || fails > 350 {
		t.Fatalf("%d of 1000 rows failed at rate 0.3", fails)
	}
	_ = e.SetFaults(Faults{})
	if e.RowFails("anything") {
		t.Fatal("a row failed with row_fail_rate 0")
	}
}

func TestWrapInjectsTransportFaults(t *testing.T) {
	e, _ := NewEnv(Options{Seed: 1, Faults: Faults{ErrorRate: 1}})
	served := 0
	h := e.Wrap("v", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		WriteJSON(w, 200, map[string]any{"ok": true})
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(e.Close)

	for range 20 {
		resp, err := http.Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 500 {
			t.Fatalf("error_rate 1 answered %d: %s", resp.StatusCode, body)
		}
	}
	if served != 0 {
		t.Fatalf("handler served %d calls under error_rate 1", served)
	}
	if n := e.Stats.Count("v", "/x", "http_500") + e.Stats.Count("v", "/x", "http_502"); n != 20 {
		t.Fatalf("stats recorded %d faults, want 20", n)
	}

	// timeout_rate 1: the client gives up; the handler may have run (write lands unseen).
	_ = e.SetFaults(Faults{TimeoutRate: 1})
	c := &http.Client{Timeout: 200 * time.Millisecond}
	if _, err := c.Get(srv.URL + "/y"); err == nil {
		t.Fatal("timeout fault answered")
	}
	if e.Stats.Count("v", "/y", "timeout") != 1 {
		t.Fatal("timeout not recorded")
	}
}

func TestFaultsJSON(t *testing.T) {
	var f Faults
	if err := json.Unmarshal([]byte(`{"error_rate":0.1,"session_ttl":"90s","token_ttl":1000000000}`), &f); err != nil {
		t.Fatal(err)
	}
	if f.ErrorRate != 0.1 || time.Duration(f.SessionTTL) != 90*time.Second || time.Duration(f.TokenTTL) != time.Second {
		t.Fatalf("decoded %+v", f)
	}
	if err := (Faults{ErrorRate: 2}).Validate(); err == nil {
		t.Fatal("error_rate 2 accepted")
	}
	if err := json.Unmarshal([]byte(`{"session_ttl":"soon"}`), &f); err == nil {
		t.Fatal("bad duration accepted")
	}
}

func TestCatalogDeterministic(t *testing.T) {
	a, b := Catalog(5), Catalog(5)
	if len(a) != CatalogSize || a[10] != b[10] || a[0].ID != "SKU00001" {
		t.Fatalf("catalog not deterministic or misnumbered: %+v %+v", a[10], b[10])
	}
	if Catalog(6)[10].Name == a[10].Name && Catalog(6)[11].Name == a[11].Name && Catalog(6)[12].Name == a[12].Name {
		t.Fatal("different seeds gave the same catalog")
	}
	ts := SpreadTimes(NewRand(1, "x"), 100, time.Now(), DataSpan)
	for i := 1; i < len(ts); i++ {
		if ts[i].Before(ts[i-1]) {
			t.Fatal("SpreadTimes not ascending")
		}
	}
}
