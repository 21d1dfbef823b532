package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestExpandLintResources(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.yaml", "b.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	glob := filepath.Join(dir, "*.yaml")
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	missing := filepath.Join(dir, "none", "*.yaml")
	for _, c := range []struct {
		name string
		in   []string
		want []string
	}{
		{"lint -r glob", []string{"erpsync", "lint", "-e", "x.env", "-r", glob, "s.yaml"},
			[]string{"erpsync", "lint", "-e", "x.env", "-r", a, "-r", b, "s.yaml"}},
		{"global flags first", []string{"erpsync", "--log.level", "warn", "lint", "--resources=" + glob},
			[]string{"erpsync", "--log.level", "warn", "lint", "--resources=" + a, "--resources=" + b}},
		{"-r= form", []string{"erpsync", "lint", "-r=" + glob},
			[]string{"erpsync", "lint", "-r=" + a, "-r=" + b}},
		{"no match kept", []string{"erpsync", "lint", "-r", missing},
			[]string{"erpsync", "lint", "-r", missing}},
		{"run untouched", []string{"erpsync", "run", "-r", glob, "s.yaml"},
			[]string{"erpsync", "run", "-r", glob, "s.yaml"}},
		{"global -r before lint untouched", []string{"erpsync", "-r", glob, "streams"},
			[]string{"erpsync", "-r", glob, "streams"}},
	} {
		if got := expandLintResources(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
