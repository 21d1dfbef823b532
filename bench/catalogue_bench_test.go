package bench

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
)

// minCalls is the fewest calls the limits allow for reading docs (their
// filter times; zero times for a read whole) from start to end: windows of
// span (none when span is 0, a read whole), and in each at least one page
// of size — a window without documents still costs its call.
func minCalls(times []time.Time, start, end time.Time, span time.Duration, size int) int {
	if span <= 0 || (len(times) > 0 && times[0].IsZero()) {
		return max(1, (len(times)+size-1)/size)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	calls, i := 0, 0
	for lo := start; lo.Before(end); lo = lo.Add(span) {
		hi := lo.Add(span)
		n := 0
		for i < len(times) && times[i].Before(hi) {
			n++
			i++
		}
		calls += max(1, (n+size-1)/size)
	}
	return calls
}

// deliveredFilterTimes are the values of the window's filter field (as the
// sandbox serves each document now) of the documents of dataset that the
// read delivered.
func deliveredFilterTimes(tb testing.TB, sb *sandbox.Server, dataset string, w *catalogue.Window, delivered map[string]int) []time.Time {
	tb.Helper()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		tb.Fatal(err)
	}
	layout := w.Layout
	if layout == "" {
		layout = "2006-01-02 15:04:05"
	}
	var out []time.Time
	for _, d := range sb.Env().Dataset(dataset).FullTruth() {
		if delivered[d.ID] == 0 {
			continue
		}
		raw, err := json.Marshal(d.Document)
		if err != nil {
			tb.Fatal(err)
		}
		var doc map[string]any
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			tb.Fatal(err)
		}
		var at time.Time
		switch v := doc[w.Filter].(type) {
		case json.Number:
			n, err := v.Int64()
			if err != nil {
				tb.Fatalf("%s %s: filter %s = %v", dataset, d.ID, w.Filter, v)
			}
			at = time.Unix(n, 0)
		case string:
			if at, err = time.ParseInLocation(layout, v, shanghai); err != nil {
				tb.Fatalf("%s %s: filter %s = %q: %v", dataset, d.ID, w.Filter, v, err)
			}
		default:
			tb.Fatalf("%s %s: no filter field %s in the served document", dataset, d.ID, w.Filter)
		}
		out = append(out, at)
	}
	if len(out) != len(delivered) {
		tb.Fatalf("%s: %d documents delivered, %d of them in the truth", dataset, len(delivered), len(out))
	}
	return out
}

// BenchmarkCatalogueCalls reads every catalogued interface on every
// protocol through its input with nothing but the catalogue's description
// (default span and page size) against the sandbox, and reports the
// vendor calls it made per document against the fewest the limits allow
// (one call per page, at least one per window): of-min = min / calls, 1
// meaning no call wasted.
func BenchmarkCatalogueCalls(b *testing.B) {
	records := envInt("BENCH_CATALOGUE_RECORDS", 2000)
	for _, r := range streamtest.Readings(b) {
		b.Run(r.Name(), func(b *testing.B) {
			for range b.N {
				sb := streamtest.StartSandbox(b, records, func(o *sandbox.Options) { o.Limits = false })
				ds := r.Entry.Sandbox
				start := streamtest.Earliest(b, sb, ds).Add(-2 * time.Hour)
				t0 := time.Now()
				in := r.InputYAML(sb.URL(), start)
				if ps := streamtest.Passes[r.Entry.Interface]; len(ps) > 0 {
					// The default read: the first pass (customer/list needs its form id).
					in = streamtest.WithPass(in, ps[0])
				}
				got := streamtest.RunInput(b, in)
				end := time.Now()
				docs := len(got.Count)
				if docs == 0 {
					b.Fatal("read nothing")
				}
				calls := sb.Env().Stats.Count(r.Entry.Vendor, "", "")
				// The documents the read answers (a default filter such as
				// enabled shops or shipped bills may answer fewer than the
				// truth), at their value of the window's filter field.
				times := make([]time.Time, docs)
				if w := r.Entry.Window; w != nil {
					times = deliveredFilterTimes(b, sb, ds, w, got.Count)
				}
				minimum := minCalls(times, start, end, r.Entry.DefaultSpan(), r.Entry.Paging.DefaultSize)
				b.ReportMetric(float64(docs), "docs")
				b.ReportMetric(float64(calls), "calls")
				b.ReportMetric(float64(minimum), "min-calls")
				b.ReportMetric(float64(calls)/float64(docs), "calls/doc")
				b.ReportMetric(float64(minimum)/float64(calls), "of-min")
				b.ReportMetric(end.Sub(t0).Seconds(), "s")
			}
		})
	}
}

// TestCatalogueCallsCoverEveryEntry: BenchmarkCatalogueCalls measures every
// catalogue entry, a WDT one on each protocol that serves it, with a
// dataset the sandbox simulates: an entry added to the catalogue is
// measured without touching the benchmark.
func TestCatalogueCallsCoverEveryEntry(t *testing.T) {
	measured := map[string]int{}
	for _, r := range streamtest.Readings(t) {
		measured[r.Entry.Vendor+" "+r.Entry.Interface]++
	}
	datasets := map[string]bool{}
	for _, d := range sandbox.DatasetNames() {
		datasets[d] = true
	}
	entries := catalogue.All("")
	if len(entries) == 0 {
		t.Fatal("the catalogue is empty")
	}
	for _, e := range entries {
		want := 1
		if e.Vendor == catalogue.WDT {
			want = len(e.Protocols)
		}
		if n := measured[e.Vendor+" "+e.Interface]; n != want || want == 0 {
			t.Errorf("%s %s: measured %d times, want %d (one per protocol)", e.Vendor, e.Interface, n, want)
		}
		if !datasets[e.Sandbox] {
			t.Errorf("%s %s: sandbox dataset %q is not simulated", e.Vendor, e.Interface, e.Sandbox)
		}
	}
}
