package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// erpsyncBin is the binary under test: $ERPSYNC_BIN when tests/run.sh built
// it already, otherwise built once here.
var erpsyncBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("ERPSYNC_BIN"); bin != "" {
		erpsyncBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "erpsync-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	erpsyncBin = filepath.Join(dir, "erpsync")
	out, err := exec.Command("go", "build", "-o", erpsyncBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building erpsync: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, erpsyncBin, args...).CombinedOutput()
	return string(out), err
}

func TestVersion(t *testing.T) {
	out, err := run(t, "--version")
	if err != nil {
		t.Fatalf("erpsync --version: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Version: ") || strings.Contains(out, "Version: \n") {
		t.Fatalf("erpsync --version printed no version:\n%s", out)
	}
}

func TestListInputsHasCoreComponents(t *testing.T) {
	out, err := run(t, "list", "inputs")
	if err != nil {
		t.Fatalf("erpsync list inputs: %v\n%s", err, out)
	}
	for _, want := range []string{"generate", "file", "http_server", "stdin"} {
		if !strings.Contains(out, want) {
			t.Errorf("list inputs lacks core input %q", want)
		}
	}
}

func TestTimeZoneDatabaseIsEmbedded(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tz.yaml")
	writeFile(t, cfg, `
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = "2024-06-01 10:00:00".ts_parse("2006-01-02 15:04:05", "Asia/Shanghai").ts_unix()'
output:
  stdout: {}
logger:
  level: none
`)
	cmd := exec.Command(erpsyncBin, "run", cfg)
	// An empty zoneinfo path proves the binary needs no system tz files.
	cmd.Env = append(os.Environ(), "ZONEINFO=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	// 2024-06-01 10:00:00 in Shanghai is 02:00:00 UTC.
	if got := strings.TrimSpace(string(out)); got != "1717207200" {
		t.Fatalf("Asia/Shanghai parse gave %q, want 1717207200", got)
	}
}

func TestLintRejectsBrokenConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, "input:\n  generate:\n    mapping: 'root = {}'\noutput:\n  drop: {}\n")
	if out, err := run(t, "lint", good); err != nil {
		t.Fatalf("lint of a valid config failed: %v\n%s", err, out)
	}

	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "input:\n  generate:\n    mapping: 'root = {}'\n    no_such_field: 1\noutput:\n  drop: {}\n")
	out, err := run(t, "lint", bad)
	if err == nil {
		t.Fatalf("lint accepted a config with an unknown field:\n%s", out)
	}
	if !strings.Contains(out, "no_such_field") {
		t.Fatalf("lint error does not name the bad field:\n%s", out)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
