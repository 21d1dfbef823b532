package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/internal/docgen"
	"github.com/erpsync/erpsync/plugins/all"
)

// committedDocs is the repository's docs/components.
const committedDocs = "../../docs/components"

// TestDocsPagesAreCurrent fails when a committed page of docs/components
// differs from what the specs of this build render, is missing, or
// documents nothing.
func TestDocsPagesAreCurrent(t *testing.T) {
	pages, err := docPages()
	if err != nil {
		t.Fatal(err)
	}
	diff, err := docgen.Diff(committedDocs, pages)
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) > 0 {
		t.Fatalf("docs/components is out of date with the component specs; regenerate it with `%s` (or `erpsync docs --out docs/components`) and commit the result:\n  %s",
			regenerate, strings.Join(diff, "\n  "))
	}
}

// TestDocsPageForEveryComponent: every erpsync component has its page and
// an index entry linking to it, and no page is left without a component.
func TestDocsPageForEveryComponent(t *testing.T) {
	pages, err := docPages()
	if err != nil {
		t.Fatal(err)
	}
	index := string(pages[docgen.IndexPage])
	want := map[string]bool{docgen.IndexPage: true, docgen.CataloguePage: true}
	if !strings.Contains(index, "("+docgen.CataloguePage+")") {
		t.Errorf("the index does not link to %s", docgen.CataloguePage)
	}
	for _, c := range all.Components {
		p := docgen.PagePath(docgen.Component(c))
		want[p] = true
		page, ok := pages[p]
		if !ok {
			t.Errorf("%s %s: no page %s", c.Type, c.Name, p)
			continue
		}
		if !bytes.Contains(page, []byte("`"+c.Name+"`")) {
			t.Errorf("%s %s: page %s does not name it", c.Type, c.Name, p)
		}
		link := "(" + p + ")"
		if p == docgen.BloblangPage {
			link = "(" + p + "#" + c.Name + ")"
		}
		if !strings.Contains(index, "[`"+c.Name+"`]"+link) {
			t.Errorf("%s %s: the index does not link to %s", c.Type, c.Name, link)
		}
	}
	for p := range pages {
		if !want[p] {
			t.Errorf("page %s documents no erpsync component", p)
		}
	}
}

// TestDocsCommand runs `erpsync docs`: --out writes what the specs render,
// --check accepts that and refuses, naming each page and the command that
// regenerates them, a folder with a stale, a missing and an unexpected page.
func TestDocsCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "components")
	if out, err := run(t, "docs", "--out", dir); err != nil {
		t.Fatalf("erpsync docs --out: %v\n%s", err, out)
	}
	pages, err := docPages()
	if err != nil {
		t.Fatal(err)
	}
	if diff, err := docgen.Diff(dir, pages); err != nil || len(diff) > 0 {
		t.Fatalf("erpsync docs --out wrote other pages than the specs render: %v %v", diff, err)
	}
	if out, err := run(t, "docs", "--check", dir); err != nil {
		t.Fatalf("erpsync docs --check refused the pages --out just wrote: %v\n%s", err, out)
	}

	stale := filepath.Join(dir, "inputs", "jushuitan.md")
	b, err := os.ReadFile(stale)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, bytes.Replace(b, []byte("page_size"), []byte("pagesize"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "outputs", "kis.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inputs", "old.md"), []byte("# old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "docs", "--check", dir)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("erpsync docs --check on changed pages: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{"stale: inputs/jushuitan.md", "missing: outputs/kis.md", "unexpected: inputs/old.md", regenerate} {
		if !strings.Contains(out, want) {
			t.Errorf("erpsync docs --check does not say %q:\n%s", want, out)
		}
	}

	for _, args := range [][]string{{"docs"}, {"docs", "--out", dir, "--check", dir}} {
		if out, err := run(t, args...); err == nil || !strings.Contains(out, "exactly one of --out DIR or --check DIR") {
			t.Errorf("erpsync %s: %v, want a usage error\n%s", strings.Join(args, " "), err, out)
		}
	}
}
