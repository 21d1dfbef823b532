package all

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	servicePkg  = "github.com/redpanda-data/benthos/v4/public/service"
	bloblangPkg = "github.com/redpanda-data/benthos/v4/public/bloblang"
	pluginsPkg  = "github.com/erpsync/erpsync/plugins/"
)

// registerTypes maps what follows Register/MustRegister in a Benthos
// registration function to the component type it registers.
var registerTypes = map[string]map[string]string{
	servicePkg: {
		"Input": "input", "BatchInput": "input",
		"Output": "output", "BatchOutput": "output",
		"Processor": "processor", "BatchProcessor": "processor",
		"Cache": "cache", "RateLimit": "rate_limit", "MetricsExporter": "metrics",
		"BatchScannerCreator": "scanner", "BatchBuffer": "buffer", "OtelTracerProvider": "tracer",
	},
	bloblangPkg: {
		"Method": "bloblang_method", "MethodV2": "bloblang_method",
		"Function": "bloblang_function", "FunctionV2": "bloblang_function",
	},
}

// registration is one Benthos registration call found in the source.
type registration struct {
	Component
	pkg, at string
}

// registrations parses the non-test Go files under dir and returns every
// call of a Benthos registration function, failing the test on one whose
// name is not a string literal (it could not be checked).
func registrations(t *testing.T, dir string) []registration {
	t.Helper()
	var out []registration
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		imports := map[string]string{} // local name -> import path
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = p
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkgIdent, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			types, ok := registerTypes[imports[pkgIdent.Name]]
			if !ok {
				return true
			}
			fn := sel.Sel.Name
			kind, found := strings.CutPrefix(fn, "MustRegister")
			if !found {
				if kind, found = strings.CutPrefix(fn, "Register"); !found {
					return true
				}
			}
			at := fset.Position(call.Pos()).String()
			typ, ok := types[kind]
			if !ok {
				t.Errorf("%s: %s.%s registers a component this test does not know: add it to registerTypes", at, pkgIdent.Name, fn)
				return true
			}
			var name string
			if len(call.Args) > 0 {
				if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					name, _ = strconv.Unquote(lit.Value)
				}
			}
			if name == "" {
				t.Errorf("%s: %s.%s: the component name is not a string literal, so this test cannot check Components: use a literal", at, pkgIdent.Name, fn)
				return true
			}
			out = append(out, registration{
				Component: Component{typ, name},
				pkg:       pluginsPkg + filepath.ToSlash(filepath.Dir(mustRel(t, dir, path))),
				at:        at,
			})
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustRel(t *testing.T, base, path string) string {
	t.Helper()
	rel, err := filepath.Rel(base, path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestComponentsListsEveryRegistration: Components names exactly what the
// plugin packages register, and all.go imports every package that
// registers something, so `erpsync docs` documents every erpsync component.
func TestComponentsListsEveryRegistration(t *testing.T) {
	regs := registrations(t, "..")
	if len(regs) == 0 {
		t.Fatal("no registration found under plugins/: is the test reading the right folder?")
	}
	f, err := parser.ParseFile(token.NewFileSet(), "all.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var imported []string
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		imported = append(imported, p)
	}
	found := map[Component]bool{}
	for _, r := range regs {
		found[r.Component] = true
		if !slices.Contains(Components, r.Component) {
			t.Errorf("%s registers %s %q, which all.Components does not list: add {%q, %q}", r.at, r.Type, r.Name, r.Type, r.Name)
		}
		if !slices.Contains(imported, r.pkg) {
			t.Errorf("%s registers %s %q, but all.go does not import %s", r.at, r.Type, r.Name, r.pkg)
		}
	}
	for _, c := range Components {
		if !found[c] {
			t.Errorf("all.Components lists %s %q, which no plugin under plugins/ registers (with a literal name)", c.Type, c.Name)
		}
	}
}
