package observe

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestHelpLines: every kind of metric gets a HELP line from the catalogue,
// or one saying what kind it is; none of them calls itself a Benthos metric.
func TestHelpLines(t *testing.T) {
	e := newExporter(t, PrometheusOptions{Prefix: "acme"})
	e.NewCounterCtor("erpsync_documents_read_total", "vendor", "interface")("wdt", "shop.php").Incr(1)
	e.NewGaugeCtor("erpsync_checkpoint_lag_seconds", "vendor", "interface")("wdt", "shop.php").Set(3)
	e.NewTimerCtor("output_latency_ns")().Timing(1e6)
	e.NewCounterCtor("my_plugin_things")().Incr(1)
	e.NewGaugeCtor("my_plugin_level")().Set(1)
	e.NewTimerCtor("my_plugin_wait_ns")().Timing(1)

	fams := scrapeHandler(t, e.HandlerFunc())
	for name, want := range map[string]string{
		"acme_erpsync_documents_read_total":   metricHelp["erpsync_documents_read_total"],
		"acme_erpsync_checkpoint_lag_seconds": metricHelp["erpsync_checkpoint_lag_seconds"],
		"acme_output_latency_seconds":         metricHelp["output_latency_ns"],
		"acme_my_plugin_things":               "Counter my_plugin_things of a stream component.",
		"acme_my_plugin_level":                "Gauge my_plugin_level of a stream component.",
		"acme_my_plugin_wait_seconds":         "Timer my_plugin_wait of a stream component, in seconds.",
	} {
		f, ok := fams[name]
		if !ok {
			t.Errorf("%s is not exported", name)
			continue
		}
		if f.GetHelp() != want || want == "" {
			t.Errorf("HELP %s = %q, want %q", name, f.GetHelp(), want)
		}
	}
	for name, h := range metricHelp {
		if strings.Contains(strings.ToLower(h), "benthos") || !strings.HasSuffix(h, ".") {
			t.Errorf("help of %s: %q (should describe the metric, end with a full stop and not name the engine)", name, h)
		}
		if strings.HasSuffix(name, "_ns") != strings.Contains(h, "in seconds") {
			t.Errorf("help of %s: %q (a timer, and only a timer, is exported in seconds and says so)", name, h)
		}
	}
}

// TestEveryMetricHasHelp reads the plugins' and internal packages' sources
// for the metrics they create (Metrics().NewCounter/NewGauge/NewTimer with a
// string literal or a string constant) and wants a catalogue entry for each.
func TestEveryMetricHasHelp(t *testing.T) {
	root := filepath.Join("..", "..")
	consts := map[string]map[string]ast.Expr{} // package name → constant → value
	type use struct {
		pkg string
		arg ast.Expr
		at  string
	}
	var uses []use
	fset := token.NewFileSet()
	for _, dir := range []string{"plugins", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			pkg := f.Name.Name
			if consts[pkg] == nil {
				consts[pkg] = map[string]ast.Expr{}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec:
					for i, id := range n.Names {
						if i < len(n.Values) {
							consts[pkg][id.Name] = n.Values[i]
						}
					}
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok || !slices.Contains([]string{"NewCounter", "NewGauge", "NewTimer"}, sel.Sel.Name) || len(n.Args) == 0 {
						return true
					}
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" {
						return true
					}
					uses = append(uses, use{pkg, n.Args[0], fset.Position(n.Pos()).String()})
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var resolve func(pkg string, e ast.Expr, depth int) (string, bool)
	resolve = func(pkg string, e ast.Expr, depth int) (string, bool) {
		if depth > 5 {
			return "", false
		}
		switch e := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.Ident:
			if v, ok := consts[pkg][e.Name]; ok {
				return resolve(pkg, v, depth+1)
			}
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				if v, ok := consts[x.Name][e.Sel.Name]; ok {
					return resolve(x.Name, v, depth+1)
				}
			}
		}
		return "", false
	}
	found := map[string]bool{}
	for _, u := range uses {
		name, ok := resolve(u.pkg, u.arg, 0)
		if !ok {
			t.Errorf("%s: cannot tell the metric's name (use a string literal or constant)", u.at)
			continue
		}
		found[name] = true
		if _, ok := metricHelp[name]; !ok {
			t.Errorf("%s: metric %s has no entry in metricHelp (metrics_help.go)", u.at, name)
		}
	}
	// The scan must see the metrics it is meant to guard.
	for _, want := range []string{"erpsync_vendor_requests_total", "erpsync_documents_read_total", "erpsync_rows_written_total", "erpsync_dead_letters_total", "erpsync_alerts_sent"} {
		if !found[want] {
			t.Errorf("the source scan did not find %s: it no longer sees how plugins create metrics", want)
		}
	}
}
