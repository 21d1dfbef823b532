package core

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAnswerFaultsValidate(t *testing.T) {
	for _, o := range append([]string{""}, Orders...) {
		if err := (AnswerFaults{Order: o}).Validate(); err != nil {
			t.Fatalf("order %q refused: %v", o, err)
		}
	}
	err := AnswerFaults{Order: "newest"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "asc, desc, id_asc, id_desc, random") {
		t.Fatalf("bad order: %v", err)
	}
	for _, bad := range []AnswerFaults{
		{NullRate: 1.5}, {TotalDriftRate: -0.1}, {DuplicateRate: 2}, {ShortPageRate: -1}, {ModifiedAfterCreate: 1.01},
	} {
		if bad.Validate() == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
	f := Faults{Interfaces: InterfaceFaults{"a": {NullRate: 3}}}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "interfaces.a: null_rate") {
		t.Fatalf("interface entry not validated: %v", err)
	}
	f = Faults{Answers: AnswerFaults{Order: "x"}}
	if err := f.Validate(); err == nil || !strings.HasPrefix(err.Error(), "answers: order") {
		t.Fatalf("answers not validated: %v", err)
	}
	f = Faults{Interfaces: InterfaceFaults{"b": {}, "nope": {}}}
	if err := f.CheckInterfaces([]string{"b", "a"}); err == nil || !strings.Contains(err.Error(), `"nope"; known: a, b`) {
		t.Fatalf("unknown interface: %v", err)
	}
	if err := f.CheckInterfaces([]string{"b", "nope"}); err != nil {
		t.Fatal(err)
	}
}

func TestAnswerForAndInterfaceMerge(t *testing.T) {
	f := Faults{Answers: AnswerFaults{NullRate: 0.5}}
	// Decoding merges: absent fields keep their values, a new entry starts
	// from zero, null removes an entry.
	steps := []string{
		`{"answers":{"order":"desc"},"interfaces":{"x":{"order":"random"}}}`,
		`{"interfaces":{"x":{"short_page_rate":0.25},"y":{"duplicate_rate":1}}}`,
	}
	for _, s := range steps {
		if err := json.Unmarshal([]byte(s), &f); err != nil {
			t.Fatal(err)
		}
	}
	if f.Answers != (AnswerFaults{Order: "desc", NullRate: 0.5}) {
		t.Fatalf("answers: %+v", f.Answers)
	}
	if got := f.AnswerFor("x"); got != (AnswerFaults{Order: "random", ShortPageRate: 0.25}) {
		t.Fatalf("x: %+v", got)
	}
	if got := f.AnswerFor("z"); got != f.Answers {
		t.Fatalf("z falls back to answers: %+v", got)
	}
	shared := f.Interfaces
	if err := json.Unmarshal([]byte(`{"interfaces":{"x":null}}`), &f); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Interfaces["x"]; ok || len(f.Interfaces) != 1 {
		t.Fatalf("x not removed: %+v", f.Interfaces)
	}
	if _, ok := shared["x"]; !ok {
		t.Fatal("decoding changed a map another Faults copy holds")
	}
	if err := json.Unmarshal([]byte(`{"interfaces":null}`), &f); err != nil || f.Interfaces != nil {
		t.Fatalf("null did not clear: %v %+v", err, f.Interfaces)
	}
	if err := json.Unmarshal([]byte(`{"interfaces":{"x":{"nope":1}}}`), &f); err == nil || !strings.Contains(err.Error(), "interfaces.x") {
		t.Fatalf("unknown field accepted: %v", err)
	}
	b, _ := json.Marshal(Faults{})
	if !strings.Contains(string(b), `"interfaces":{}`) || !strings.Contains(string(b), `"answers":{"order":""`) {
		t.Fatalf("marshal: %s", b)
	}
}

func TestEnvSetFaultsChecksInterfaceNames(t *testing.T) {
	e, err := NewEnv(Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.AddDataset(NewDataset("ds", nil, nil))
	m := InterfaceFaults{"ds": {Order: "desc"}}
	if err := e.SetFaults(Faults{Interfaces: m}); err != nil {
		t.Fatal(err)
	}
	m["ds"] = AnswerFaults{}
	if e.Faults().AnswerFor("ds").Order != "desc" {
		t.Fatal("SetFaults kept the caller's map")
	}
	if err := e.SetFaults(Faults{Interfaces: InterfaceFaults{"other": {}}}); err == nil || !strings.Contains(err.Error(), "known: ds") {
		t.Fatalf("unknown dataset accepted: %v", err)
	}
}

func TestArrange(t *testing.T) {
	asc := []int64{5, 1, 9, 3, 7} // as an interface orders them (by time)
	id := func(x int64) int64 { return x }
	try := func(order string, q uint64) []int64 {
		r := slices.Clone(asc)
		Arrange(r, order, 1, q, id)
		return r
	}
	if got := try("", 0); !slices.Equal(got, asc) {
		t.Fatalf("none: %v", got)
	}
	if got := try(OrderAsc, 0); !slices.Equal(got, asc) {
		t.Fatalf("asc: %v", got)
	}
	if got := try(OrderDesc, 0); !slices.Equal(got, []int64{7, 3, 9, 1, 5}) {
		t.Fatalf("desc: %v", got)
	}
	if got := try(OrderIDAsc, 0); !slices.Equal(got, []int64{1, 3, 5, 7, 9}) {
		t.Fatalf("id_asc: %v", got)
	}
	if got := try(OrderIDDesc, 0); !slices.Equal(got, []int64{9, 7, 5, 3, 1}) {
		t.Fatalf("id_desc: %v", got)
	}
	// random: a permutation, the same for one query whatever the input
	// order, different for another query.
	big := make([]int64, 200)
	for i := range big {
		big[i] = int64(i)
	}
	perm := func(q uint64, in []int64) []int64 {
		r := slices.Clone(in)
		Arrange(r, OrderRandom, 1, q, id)
		return r
	}
	a := perm(QueryKey("q1"), big)
	rev := slices.Clone(big)
	slices.Reverse(rev)
	if !slices.Equal(a, perm(QueryKey("q1"), rev)) {
		t.Fatal("random order depends on the input order")
	}
	if slices.Equal(a, big) || slices.Equal(a, perm(QueryKey("q2"), big)) {
		t.Fatal("random order is the identity or the same for two queries")
	}
	s := slices.Clone(a)
	slices.Sort(s)
	if !slices.Equal(s, big) {
		t.Fatal("random order is not a permutation")
	}
	// A document keeps its relative place when another leaves the set.
	without := perm(QueryKey("q1"), big[1:])
	if !slices.Equal(without, slices.DeleteFunc(slices.Clone(a), func(x int64) bool { return x == 0 })) {
		t.Fatal("random order of a subset is not the subsequence")
	}
}

func newTestEnv(t *testing.T, seed uint64) *Env {
	t.Helper()
	e, err := NewEnv(Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPageWithoutFaultsIsThePage(t *testing.T) {
	e := newTestEnv(t, 3)
	p := e.NewPage(AnswerFaults{Order: "desc"}, PageSpec{Vendor: "v", Iface: "i", Offset: 40, Size: 20, Nulls: []NullKind{NullData}})
	if p.Offset != 40 || p.Size != 20 || p.Null != NotNull {
		t.Fatalf("plan %+v", p)
	}
	if keep, total := p.Cut(100, 20); keep != 20 || total != 100 {
		t.Fatalf("cut %d %d", keep, total)
	}
	// No randomness was drawn: the generator is where a fresh one is.
	if got, want := e.IntN(1<<30), newTestEnv(t, 3).IntN(1<<30); got != want {
		t.Fatal("a fault-free page drew from the generator")
	}
	if len(e.Stats.FaultSnapshot()) != 0 {
		t.Fatal("faults counted")
	}
}

func TestPageFaults(t *testing.T) {
	e := newTestEnv(t, 5)
	spec := PageSpec{Vendor: "v", Iface: "i", Offset: 50, Size: 50, Nulls: []NullKind{NullData, NullList, MissingList}}
	kinds := map[NullKind]int{}
	for range 300 {
		p := e.NewPage(AnswerFaults{NullRate: 1}, spec)
		kinds[p.Null]++
		if keep, total := p.Cut(120, 50); keep != 0 || total != 120 {
			t.Fatalf("null cut %d %d", keep, total)
		}
	}
	if kinds[NotNull] != 0 || kinds[NullData] < 60 || kinds[NullList] < 60 || kinds[MissingList] < 60 {
		t.Fatalf("null kinds %v", kinds)
	}
	if n := e.Stats.FaultCount("v", "i", FaultNull); n != 300 {
		t.Fatalf("null counted %d", n)
	}
	// No null shapes: the null fault does not apply.
	if p := e.NewPage(AnswerFaults{NullRate: 1}, PageSpec{Offset: 0, Size: 5}); p.Null != NotNull {
		t.Fatal("null without shapes")
	}

	for range 200 {
		p := e.NewPage(AnswerFaults{DuplicateRate: 1}, spec)
		if d := 50 - p.Offset; d < 1 || d > 3 || p.Size != 50 {
			t.Fatalf("duplicate moved the page by %d", d)
		}
		if keep, total := p.Cut(120, 50); keep != 50 || total != 120 {
			t.Fatalf("duplicate cut %d %d", keep, total)
		}
		first := e.NewPage(AnswerFaults{DuplicateRate: 1}, PageSpec{Offset: 0, Size: 50})
		if first.Offset != 0 {
			t.Fatal("the first page was moved")
		}
		small := e.NewPage(AnswerFaults{DuplicateRate: 1}, PageSpec{Offset: 1, Size: 1})
		if small.Offset != 0 {
			t.Fatalf("moved before the first row: %d", small.Offset)
		}
	}

	for range 200 {
		p := e.NewPage(AnswerFaults{ShortPageRate: 1}, spec)
		keep, total := p.Cut(120, 50)
		if keep < 47 || keep > 49 || total != 120 {
			t.Fatalf("short cut %d %d", keep, total)
		}
		// The last page is never short, and one row always stays.
		if keep, _ := e.NewPage(AnswerFaults{ShortPageRate: 1}, spec).Cut(100, 50); keep != 50 {
			t.Fatalf("last page cut to %d", keep)
		}
		if keep, _ := e.NewPage(AnswerFaults{ShortPageRate: 1}, PageSpec{Offset: 0, Size: 2}).Cut(10, 2); keep != 1 {
			t.Fatalf("two-row page cut to %d", keep)
		}
	}

	seen := map[int]bool{}
	for range 300 {
		keep, total := e.NewPage(AnswerFaults{TotalDriftRate: 1}, spec).Cut(120, 50)
		if keep != 50 || total == 120 || total < 117 || total > 123 {
			t.Fatalf("drift %d %d", keep, total)
		}
		seen[total] = true
		if _, z := e.NewPage(AnswerFaults{TotalDriftRate: 1}, spec).Cut(0, 0); z < 1 || z > 3 {
			t.Fatalf("drift of an empty query to %d", z)
		}
		if _, nt := e.NewPage(AnswerFaults{TotalDriftRate: 1}, PageSpec{Offset: 50, Size: 50, NoTotal: true}).Cut(120, 50); nt != 120 {
			t.Fatal("drift on an answer without total")
		}
	}
	if len(seen) != 6 {
		t.Fatalf("drifted totals %v, want all of 117-119 and 121-123", seen)
	}
}

func TestServedVersionAndTimes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, Shanghai)
	d := NewDataset("ds", []Doc{{ID: "a", Modified: t0}, {ID: "b", Modified: t0}}, nil)
	if tr := d.Truth(); tr[0].ServedVersion != 0 || tr[0].Created != "" {
		t.Fatalf("fresh truth %+v", tr[0])
	}
	d.MarkServed("a", 1)
	d.Touch("a", t0.Add(time.Hour))
	d.Touch("a", t0.Add(2*time.Hour))
	d.MarkServed("a", 3)
	d.MarkServed("a", 2) // an older copy served late does not lower it
	d.MarkServed("zz", 9)
	if d.ServedVersion("a") != 3 || d.ServedVersion("b") != 0 || d.ServedVersion("zz") != 0 {
		t.Fatalf("served a=%d b=%d", d.ServedVersion("a"), d.ServedVersion("b"))
	}
	d.SetTimes(func(doc Doc) DocTimes { return DocTimes{Created: t0, Modified: doc.Modified.Add(time.Minute)} })
	tr := d.Truth()
	if tr[0].ServedVersion != 3 || tr[0].Version != 3 || tr[0].Created != "2026-01-01 00:00:00" || tr[0].Modified != "2026-01-01 02:01:00" {
		t.Fatalf("truth %+v", tr[0])
	}
}
