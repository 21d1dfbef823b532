package deploy

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	reGrouping   = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	reToken      = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*|[0-9][0-9a-zA-Z_.]*`)
	promKeywords = map[string]bool{
		"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true, "without": true,
		"on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true,
		"atan2": true, "start": true, "end": true,
	}
)

// metricNames returns the metric names a PromQL expression selects. It is
// not a PromQL parser (the Prometheus module is not a dependency): it drops
// strings, label matchers, ranges and grouping clauses, then keeps the
// identifiers that are neither function calls nor keywords. Grafana
// variables may appear only inside matchers and ranges.
func metricNames(expr string) ([]string, error) {
	s, err := dropStrings(expr)
	if err != nil {
		return nil, err
	}
	for _, p := range [][2]byte{{'{', '}'}, {'[', ']'}} {
		if s, err = dropBetween(s, p[0], p[1]); err != nil {
			return nil, err
		}
	}
	if strings.Count(s, "(") != strings.Count(s, ")") {
		return nil, fmt.Errorf("unbalanced parentheses")
	}
	if strings.Contains(s, "$") {
		return nil, fmt.Errorf("a Grafana variable outside a label matcher or range")
	}
	for prev := ""; prev != s; {
		prev, s = s, reGrouping.ReplaceAllString(s, " ")
	}
	seen := map[string]bool{}
	for _, loc := range reToken.FindAllStringIndex(s, -1) {
		tok := s[loc[0]:loc[1]]
		if tok[0] >= '0' && tok[0] <= '9' || promKeywords[strings.ToLower(tok)] {
			continue
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // function or aggregation
		}
		seen[tok] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// dropStrings replaces PromQL string literals (double, single and back
// quoted) with a space.
func dropStrings(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '"' && c != '\'' && c != '`' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for ; j < len(s) && s[j] != c; j++ {
			if s[j] == '\\' && c != '`' {
				j++
			}
		}
		if j >= len(s) {
			return "", fmt.Errorf("unterminated string at %d", i)
		}
		b.WriteByte(' ')
		i = j
	}
	return b.String(), nil
}

// dropBetween replaces open...close spans (not nested) with a space.
func dropBetween(s string, open, close byte) (string, error) {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == open:
			if depth > 0 {
				return "", fmt.Errorf("nested %c at %d", open, i)
			}
			depth++
		case c == close:
			if depth == 0 {
				return "", fmt.Errorf("unbalanced %c at %d", close, i)
			}
			depth--
			b.WriteByte(' ')
		case depth == 0:
			b.WriteByte(c)
		}
	}
	if depth != 0 {
		return "", fmt.Errorf("unclosed %c", open)
	}
	return b.String(), nil
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string
		err  bool
	}{
		{expr: `erpsync_checkpoint_lag_seconds > 1800`, want: "erpsync_checkpoint_lag_seconds"},
		{expr: `sum by (vendor, code) (rate(erpsync_vendor_requests_total{vendor=~"$vendor", code!="0"}[$__rate_interval]))`, want: "erpsync_vendor_requests_total"},
		{expr: `histogram_quantile(0.95, sum by (le, label) (rate(output_latency_seconds_bucket{job=~"$job"}[5m])))`, want: "output_latency_seconds_bucket"},
		{expr: "a_total / on (job) group_left (x) b_total", want: "a_total b_total"},
		{expr: `sum(increase(x_total[12h])) == 0 and on (job, vendor) sum(rate(y_total[1h] offset 1h)) > 0`, want: "x_total y_total"},
		{expr: `up{job="a)b"}`, want: "up"},
		{expr: `rate(x_total{a="b"}[5m]`, err: true},
		{expr: `rate(x_total{a="b}[5m])`, err: true},
		{expr: `rate($metric[5m])`, err: true},
	} {
		got, err := metricNames(tc.expr)
		if (err != nil) != tc.err {
			t.Errorf("metricNames(%q): error %v, want error %v", tc.expr, err, tc.err)
			continue
		}
		if !tc.err && strings.Join(got, " ") != tc.want {
			t.Errorf("metricNames(%q) = %v, want %s", tc.expr, got, tc.want)
		}
	}
}
