// Package promtest scrapes a Prometheus endpoint in tests.
package promtest

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Scrape reads url once; ok is false when nothing answered yet.
func Scrape(ctx context.Context, url string) (Families, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false, nil
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, true, err
	}
	return fams, true, nil
}

// Until scrapes url until ready holds or ctx ends.
func Until(tb testing.TB, ctx context.Context, url string, ready func(Families) bool) Families {
	tb.Helper()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var last Families
	for {
		fams, ok, err := Scrape(ctx, url)
		if err != nil {
			tb.Fatalf("scraping %s: %v", url, err)
		}
		if ok {
			last = fams
			if ready(fams) {
				return fams
			}
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("scraping %s: condition not reached before the deadline; last scrape had %d families", url, len(last))
		case <-tick.C:
		}
	}
}

// Sum adds the values of every series of name whose labels include want.
func Sum(f Families, name string, want map[string]string) float64 {
	fam, ok := f[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range fam.GetMetric() {
		match := true
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Untyped != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total
}

// Series lists the label sets of name.
func Series(f Families, name string) []map[string]string {
	var out []map[string]string
	for _, m := range f[name].GetMetric() {
		ls := map[string]string{}
		for _, l := range m.GetLabel() {
			ls[l.GetName()] = l.GetValue()
		}
		out = append(out, ls)
	}
	return out
}
