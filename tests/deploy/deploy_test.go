package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

var (
	dashboardPath = filepath.Join("deploy", "grafana", "erpsync-dashboard.json")
	rulesPath     = filepath.Join("deploy", "prometheus", "erpsync-alerts.yml")
	reLabelValues = regexp.MustCompile(`^label_values\(\s*(?:([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*,\s*)?[a-zA-Z_][a-zA-Z0-9_]*\s*\)$`)
	reGrafanaVar  = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?`)
)

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(erpsynctest.Path(dashboardPath))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardPath, err)
	}
	return d
}

func flatPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatPanels(p.Panels)...)
	}
	return out
}

// checkExpr fails the test when expr does not parse as far as metricNames
// can tell or selects a metric erpsync does not export.
func checkExpr(t *testing.T, ex exported, where, expr string) []string {
	t.Helper()
	names, err := metricNames(expr)
	if err != nil {
		t.Errorf("%s: %v in %q", where, err, expr)
		return nil
	}
	if len(names) == 0 {
		t.Errorf("%s: %q selects no metric", where, expr)
	}
	for _, n := range names {
		if _, ok := ex[n]; !ok {
			t.Errorf("%s: %q uses %s, which erpsync does not export (known: %s)", where, expr, n, strings.Join(ex.names(), ", "))
		}
	}
	return names
}

// TestGrafanaDashboard checks deploy/grafana/erpsync-dashboard.json: a
// dashboard with a Prometheus data-source variable every panel uses, the
// panels operations need, and queries over exported metrics only.
func TestGrafanaDashboard(t *testing.T) {
	ex := exportedMetrics(t)
	d := readDashboard(t)
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 30 {
		t.Errorf("dashboard needs a title, a uid and a current schemaVersion; got %q, %q, %d", d.Title, d.UID, d.SchemaVersion)
	}

	vars := map[string]bool{}
	dsVar := ""
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		switch v.Type {
		case "datasource":
			if v.Query == "prometheus" {
				dsVar = v.Name
			}
		case "query":
			q := v.Query
			if m, ok := q.(map[string]any); ok {
				q = m["query"]
			}
			qs, _ := q.(string)
			m := reLabelValues.FindStringSubmatch(strings.TrimSpace(qs))
			if m == nil {
				t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, qs)
				continue
			}
			if m[1] != "" {
				checkExpr(t, ex, "variable "+v.Name, m[1]+m[2])
			}
		}
	}
	if dsVar == "" {
		t.Fatal("no Prometheus data-source variable (type datasource, query prometheus) in templating")
	}
	builtin := map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}

	ids := map[int]string{}
	used := map[string]bool{}
	for _, p := range flatPanels(d.Panels) {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %q has no gridPos", p.Title)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${"+dsVar+"}" {
			t.Errorf("panel %q: datasource %+v, want prometheus ${%s}", p.Title, p.Datasource, dsVar)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			where := fmt.Sprintf("panel %q query %s", p.Title, tg.RefID)
			for _, m := range reGrafanaVar.FindAllStringSubmatch(tg.Expr, -1) {
				if !vars[m[1]] && !builtin[m[1]] {
					t.Errorf("%s: unknown variable $%s", where, m[1])
				}
			}
			for _, n := range checkExpr(t, ex, where, tg.Expr) {
				used[n] = true
			}
		}
	}
	for _, want := range []string{
		"erpsync_vendor_requests_total", "erpsync_documents_read_total", "erpsync_windows_completed_total",
		"erpsync_checkpoint_lag_seconds", "erpsync_rows_written_total", "erpsync_rows_failed_total",
		"erpsync_rows_skipped_total", "erpsync_rate_limit_waits_total", "erpsync_credential_renewals_total",
		"erpsync_dead_letters_total", "output_latency_seconds_bucket",
	} {
		if !used[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// TestPrometheusAlertRules checks deploy/prometheus/erpsync-alerts.yml:
// every rule is a complete alert over exported metrics, the alerts the
// issue asks for are there, and promtool accepts the file when it is
// installed.
func TestPrometheusAlertRules(t *testing.T) {
	ex := exportedMetrics(t)
	raw, err := os.ReadFile(erpsynctest.Path(rulesPath))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", rulesPath, err)
	}
	if len(rf.Groups) == 0 {
		t.Fatalf("%s has no rule group", rulesPath)
	}
	uses := map[string][]string{} // alert -> metrics
	seen := map[string]bool{}
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: needs a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: rule without alert name (record %q)", g.Name, r.Record)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if strings.TrimSpace(r.Expr) == "" {
				t.Errorf("alert %s: no expr", r.Alert)
			}
			if d, err := model.ParseDuration(r.For); err != nil || d <= 0 {
				t.Errorf("alert %s: for %q is not a positive duration (%v)", r.Alert, r.For, err)
			}
			if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
				t.Errorf("alert %s: labels.severity %q, want critical or warning", r.Alert, sev)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: needs annotations summary and description", r.Alert)
			}
			uses[r.Alert] = checkExpr(t, ex, "alert "+r.Alert, r.Expr)
		}
	}
	for metric, why := range map[string]string{
		"erpsync_checkpoint_lag_seconds":    "checkpoint lag too high",
		"erpsync_vendor_requests_total":     "vendor error rate",
		"erpsync_rows_failed_total":         "rows failing",
		"erpsync_dead_letters_total":        "dead letters growing",
		"erpsync_documents_read_total":      "no documents read",
		"erpsync_credential_renewals_total": "credential renewals",
	} {
		found := false
		for _, ms := range uses {
			for _, m := range ms {
				found = found || m == metric
			}
		}
		if !found {
			t.Errorf("no alert over %s (%s)", metric, why)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool is not installed: the rules were checked by this test only (apt-get install prometheus provides it)")
		return
	}
	out, err := exec.Command(promtool, "check", "rules", erpsynctest.Path(rulesPath)).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check rules %s: %v\n%s", rulesPath, err, out)
	}
}

// TestDashboardQueriesPassPromtool hands every dashboard query, with the
// Grafana variables replaced, to promtool as recording rules: the real
// PromQL parser, when it is installed.
func TestDashboardQueriesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus provides it); TestGrafanaDashboard checked the queries without it")
	}
	d := readDashboard(t)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range flatPanels(d.Panels) {
		for _, tg := range p.Targets {
			expr := reGrafanaVar.ReplaceAllStringFunc(tg.Expr, func(v string) string {
				switch strings.Trim(v, "${}") {
				case "__rate_interval", "__interval", "__range":
					return "5m"
				}
				return ".*"
			})
			n++
			q, _ := json.Marshal(expr)
			fmt.Fprintf(&b, "      - record: dashboard:query%d\n        expr: %s\n", n, q)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Errorf("promtool rejects a dashboard query: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("%d rules found", n)) {
		t.Errorf("promtool checked %s, want %d rules", out, n)
	}
}
