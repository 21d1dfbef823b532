package deploy

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/promtest"
	_ "github.com/erpsync/erpsync/plugins/observe"
)

const modulePath = "github.com/erpsync/erpsync"

// metricKind is how a plugin created a metric.
type metricKind string

const (
	kindCounter metricKind = "counter"
	kindGauge   metricKind = "gauge"
	kindTimer   metricKind = "timer"
)

// pluginMetric is one metric an erpsync package creates, as it appears at
// /metrics.
type pluginMetric struct {
	Name string // Prometheus family name
	Kind metricKind
	At   string // file:line of the constructor call
}

// goPackage is a parsed directory of non-test Go files.
type goPackage struct {
	files  []*ast.File
	consts map[string]ast.Expr // package-level constants
}

// sourceScan finds every NewCounter / NewGauge / NewTimer call of the
// packages under plugins/ and internal/ whose name is a string constant
// (literal, local constant or another package's constant), so the check
// follows the code without a hand-kept list.
type sourceScan struct {
	root string
	fset *token.FileSet
	pkgs map[string]*goPackage // by directory
}

func newSourceScan(root string) *sourceScan {
	return &sourceScan{root: root, fset: token.NewFileSet(), pkgs: map[string]*goPackage{}}
}

func (s *sourceScan) pkg(dir string) (*goPackage, error) {
	if p, ok := s.pkgs[dir]; ok {
		return p, nil
	}
	p := &goPackage{consts: map[string]ast.Expr{}}
	s.pkgs[dir] = p
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(s.fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, f)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						p.consts[name.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	return p, nil
}

// imports maps a file's import names to directories of this module.
func (s *sourceScan) imports(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		if !strings.HasPrefix(path, modulePath+"/") {
			continue
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		out[name] = filepath.Join(s.root, strings.TrimPrefix(path, modulePath+"/"))
	}
	return out
}

// str resolves e to a string constant; ok is false for anything else.
func (s *sourceScan) str(dir string, f *ast.File, e ast.Expr, depth int) (string, bool) {
	if depth > 8 {
		return "", false
	}
	switch t := e.(type) {
	case *ast.BasicLit:
		if t.Kind != token.STRING {
			return "", false
		}
		v, err := strconv.Unquote(t.Value)
		return v, err == nil
	case *ast.Ident:
		p, err := s.pkg(dir)
		if err != nil {
			return "", false
		}
		if v, ok := p.consts[t.Name]; ok {
			return s.str(dir, s.fileOf(p, v), v, depth+1)
		}
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		if !ok {
			return "", false
		}
		other, ok := s.imports(f)[x.Name]
		if !ok {
			return "", false
		}
		p, err := s.pkg(other)
		if err != nil {
			return "", false
		}
		if v, ok := p.consts[t.Sel.Name]; ok {
			return s.str(other, s.fileOf(p, v), v, depth+1)
		}
	case *ast.BinaryExpr:
		if t.Op != token.ADD {
			return "", false
		}
		a, ok1 := s.str(dir, f, t.X, depth+1)
		b, ok2 := s.str(dir, f, t.Y, depth+1)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return s.str(dir, f, t.X, depth)
	}
	return "", false
}

// fileOf is the file of p holding node n (for its imports).
func (s *sourceScan) fileOf(p *goPackage, n ast.Node) *ast.File {
	for _, f := range p.files {
		if f.Pos() <= n.Pos() && n.End() <= f.End() {
			return f
		}
	}
	return nil
}

// metrics walks every package directory under the given roots.
func (s *sourceScan) metrics(roots ...string) ([]pluginMetric, error) {
	var out []pluginMetric
	for _, r := range roots {
		err := filepath.WalkDir(filepath.Join(s.root, r), func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if n := d.Name(); n == "testdata" || strings.HasPrefix(n, ".") {
				return filepath.SkipDir
			}
			p, err := s.pkg(path)
			if err != nil {
				return err
			}
			for _, f := range p.files {
				ast.Inspect(f, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || len(call.Args) == 0 {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					var kind metricKind
					switch sel.Sel.Name {
					case "NewCounter":
						kind = kindCounter
					case "NewGauge":
						kind = kindGauge
					case "NewTimer":
						kind = kindTimer
					default:
						return true
					}
					name, ok := s.str(path, f, call.Args[0], 0)
					if !ok || name == "" {
						return true // time.NewTimer(d) and the like
					}
					pos := s.fset.Position(call.Pos())
					rel, _ := filepath.Rel(s.root, pos.Filename)
					out = append(out, pluginMetric{Name: promName(name, kind), Kind: kind, At: fmt.Sprintf("%s:%d", rel, pos.Line)})
					return true
				})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// promName is the family name the prometheus exporter serves a metric
// under (plugins/observe: timers are histograms in seconds).
func promName(name string, kind metricKind) string {
	if kind != kindTimer {
		return name
	}
	switch {
	case strings.HasSuffix(name, "_seconds"):
		return name
	case strings.HasSuffix(name, "_ns"):
		return strings.TrimSuffix(name, "_ns") + "_seconds"
	}
	return name + "_seconds"
}

// exported is the set of series names a PromQL query may select: every
// family, and _bucket/_sum/_count of histograms.
type exported map[string]string // name -> where it comes from

func (e exported) add(name string, histogram bool, from string) {
	e[name] = from
	if histogram {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			e[name+suf] = from
		}
	}
}

func (e exported) names() []string {
	out := make([]string, 0, len(e))
	for n := range e {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// benthosFamilies runs a small stream with the prometheus exporter and
// returns the families Benthos itself serves (input_received, output_sent,
// output_error, output_latency_seconds, ...).
func benthosFamilies(t *testing.T) promtest.Families {
	t.Helper()
	addr := promtest.FreeAddr(t)
	b := service.NewStreamBuilder()
	if err := b.SetYAML(fmt.Sprintf(`
http:
  enabled: true
  address: %s
logger:
  level: error
input:
  label: source
  generate:
    interval: 10ms
    mapping: 'root = {"n": counter()}'
pipeline:
  processors:
    - label: map
      mapping: root = this
output:
  label: sink
  drop: {}
metrics:
  prometheus: {}
`, addr)); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		_ = s.StopWithin(5 * time.Second)
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("stream: %v", err)
		}
	}()
	return promtest.Until(t, ctx, "http://"+addr+"/metrics", func(f promtest.Families) bool {
		_, lat := f["output_latency_seconds"]
		return promtest.Sum(f, "output_sent", nil) >= 3 && lat
	})
}

// exportedMetrics is every name erpsync serves: erpsync_* metrics of the
// plugins' source and Benthos's own from a live scrape.
func exportedMetrics(t *testing.T) exported {
	t.Helper()
	ms, err := newSourceScan(erpsynctest.RepoRoot()).metrics("plugins", "internal")
	if err != nil {
		t.Fatalf("scanning the plugins' source: %v", err)
	}
	out := exported{}
	kinds := map[string]metricKind{}
	for _, m := range ms {
		if k, ok := kinds[m.Name]; ok && k != m.Kind {
			t.Errorf("metric %s is created as a %s and as a %s (%s): the exporter drops the second", m.Name, k, m.Kind, m.At)
		}
		kinds[m.Name] = m.Kind
		out.add(m.Name, m.Kind == kindTimer, m.At)
	}
	for name, fam := range benthosFamilies(t) {
		out.add(name, fam.GetType() == dto.MetricType_HISTOGRAM, "benthos (live scrape)")
	}
	return out
}

// TestExportedMetricsInventory pins the scan: the metrics the dashboard and
// the rules are built on must be found, so a broken scan cannot pass every
// query as "unknown" or hide a rename.
func TestExportedMetricsInventory(t *testing.T) {
	ex := exportedMetrics(t)
	for _, want := range []string{
		"erpsync_vendor_requests_total", "erpsync_documents_read_total", "erpsync_windows_completed_total",
		"erpsync_checkpoint_lag_seconds", "erpsync_rate_limit_waits_total", "erpsync_credential_renewals_total",
		"erpsync_rows_written_total", "erpsync_rows_failed_total", "erpsync_rows_skipped_total",
		"erpsync_rows_updated_total", "erpsync_rows_retried_total", "erpsync_alerts_sent",
		"input_received", "output_sent", "output_error", "output_latency_seconds_bucket",
	} {
		if _, ok := ex[want]; !ok {
			t.Errorf("%s is not among the exported metrics found: %v", want, ex.names())
		}
	}
	for _, n := range ex.names() {
		if strings.HasPrefix(n, "erpsync_") {
			t.Logf("%s (%s)", n, ex[n])
		}
	}
}
