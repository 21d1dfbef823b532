package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNameInLogs: a stream run with --log.level info logs as erpsync.
func TestNameInLogs(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "tiny.yaml")
	writeFile(t, cfg, "http:\n  address: "+unusedAddr(t)+"\ninput:\n  generate:\n    count: 1\n    interval: \"\"\n    mapping: 'root = {}'\noutput:\n  drop: {}\n")
	out, err := run(t, "run", "--log.level", "info", cfg)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "@service=erpsync") || strings.Contains(out, "@service=benthos") {
		t.Fatalf("the log lines do not name erpsync as their service:\n%s", out)
	}
}

// TestNameVersion: --version names erpsync, a version and a build date.
func TestNameVersion(t *testing.T) {
	for _, flag := range []string{"--version", "-v"} {
		out, err := run(t, flag)
		if err != nil {
			t.Fatalf("erpsync %s: %v\n%s", flag, err, out)
		}
		m := regexp.MustCompile(`\Aerpsync (\S+)\nVersion: (\S+)\nDate: (\S+)\n\z`).FindStringSubmatch(out)
		if m == nil || m[1] != m[2] {
			t.Fatalf("erpsync %s printed %q, want \"erpsync <version>\\nVersion: <version>\\nDate: <date>\\n\"", flag, out)
		}
		if _, err := time.Parse(time.RFC3339, m[3]); err != nil && m[3] != "unknown" {
			t.Fatalf("date %q is neither an RFC 3339 time nor \"unknown\"", m[3])
		}
	}
}

var urlRE = regexp.MustCompile("https?://[^\\s\"'<>()`\\\\]+")

// TestNameHelp: the help of erpsync and of every command (and their
// subcommands), and the JSON of --help-autocomplete, leave no Benthos
// placeholder, name no Benthos or Redpanda site, list no studio, and every
// link they print exists: erpsync's links are
// https://github.com/erpsync/erpsync/tree/main/<path> with <path> in this
// repository.
func TestNameHelp(t *testing.T) {
	links := 0
	var visit func(args []string, depth int)
	visit = func(args []string, depth int) {
		out, err := run(t, append(args, "--help")...)
		if err != nil {
			t.Errorf("erpsync %v --help: %v\n%s", args, err, out)
			return
		}
		links += checkHelpText(t, fmt.Sprintf("erpsync %v --help", args), out)
		if depth == 2 {
			return
		}
		for _, sub := range helpCommands(out) {
			visit(append(append([]string{}, args...), sub), depth+1)
		}
	}
	visit(nil, 0)
	if links == 0 {
		t.Fatal("no help page printed a link: the documentation URL is gone")
	}

	out, err := run(t, "--help-autocomplete")
	var entries []struct{ Path, Short, Long string }
	if err != nil || json.Unmarshal([]byte(out), &entries) != nil || len(entries) < 10 {
		t.Fatalf("erpsync --help-autocomplete: %v\n%s", err, out)
	}
	checkHelpText(t, "erpsync --help-autocomplete", out)
}

// checkHelpText reports what help text out (named what) must not hold and
// returns how many links it checked.
func checkHelpText(t *testing.T, what, out string) (links int) {
	t.Helper()
	const repoLinks = "https://github.com/erpsync/erpsync/tree/main/"
	if strings.Contains(out, "{{") {
		t.Errorf("%s leaves a template placeholder:\n%s", what, out)
	}
	if strings.Contains(strings.ToLower(out), "studio") {
		t.Errorf("%s mentions studio:\n%s", what, out)
	}
	for _, u := range urlRE.FindAllString(out, -1) {
		u = strings.TrimRight(u, ".,;:")
		links++
		low := strings.ToLower(u)
		switch {
		case strings.Contains(low, "benthos.dev") || strings.Contains(low, "redpanda"):
			t.Errorf("%s links %s", what, u)
		case strings.HasPrefix(u, "http://127.0.0.1:"):
			// erpsync's own HTTP server (healthcheck's default URL), not a page.
		case strings.HasPrefix(u, "https://github.com/erpsync/erpsync"):
			path, ok := strings.CutPrefix(u, repoLinks)
			if !ok {
				t.Errorf("%s links %s, not below %s", what, u, repoLinks)
				continue
			}
			if _, err := os.Stat(filepath.Join("..", "..", filepath.FromSlash(path))); err != nil {
				t.Errorf("%s links %s, which is not in the repository: %v", what, u, err)
			}
		default:
			t.Errorf("%s links %s (not one of erpsync's)", what, u)
		}
	}
	return links
}

// helpCommands are the commands listed in the COMMANDS section of a help
// page, without urfave/cli's own `help`.
func helpCommands(help string) []string {
	var cmds []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "COMMANDS:":
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			name := strings.TrimSuffix(strings.Fields(line)[0], ",")
			if name != "help" {
				cmds = append(cmds, name)
			}
		}
	}
	return cmds
}

// TestNameStudioRefuses: `studio` is not listed and refuses, saying why.
func TestNameStudioRefuses(t *testing.T) {
	for _, args := range [][]string{{"studio"}, {"studio", "pull", "--token", "x"}, {"studio", "sync-schema", "--help"}} {
		out, err := run(t, args...)
		if err == nil || !strings.Contains(out, "erpsync studio: not available") || strings.Contains(out, "benthos.dev") {
			t.Errorf("erpsync %v: %v\n%s", args, err, out)
		}
	}
}

// TestNameStreamsLintMessage: streams mode's lint refusal names erpsync,
// not a raw {{.ProductName}}.
func TestNameStreamsLintMessage(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yaml"), "input:\n  generate:\n    mapping: 'root = {}'\n    no_such_field: 1\noutput:\n  drop: {}\n")
	out, err := run(t, "streams", "--set", "http.address="+unusedAddr(t), dir)
	if err == nil {
		t.Fatalf("streams mode ran a stream with a lint error:\n%s", out)
	}
	if strings.Contains(out, "{{") || !strings.Contains(out, "run erpsync with --chilled") {
		t.Fatalf("streams mode's lint refusal:\n%s", out)
	}
}

// TestNameMetricHelp: /metrics of a running stream describes erpsync's
// metrics in their HELP lines, none of which says Benthos.
func TestNameMetricHelp(t *testing.T) {
	addr := unusedAddr(t)
	cfg := filepath.Join(t.TempDir(), "metrics.yaml")
	writeFile(t, cfg, `
http:
  address: `+addr+`
metrics:
  prometheus: {}
logger:
  level: warn
input:
  jushuitan:
    base_url: http://127.0.0.1:9
    app_key: a
    app_secret: s3cr3t-value-123
    access_token: t
    refresh_token: r
    api: /open/other/inout/query
output:
  drop: {}
`)
	p := startBackground(t, nil, "run", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var help map[string]string
	for {
		help = helpLines(t, ctx, "http://"+addr+"/metrics")
		if _, ok := help["erpsync_vendor_requests_total"]; ok {
			break
		}
		select {
		case <-p.done:
			t.Fatalf("erpsync ended: %v\n%s", p.err, p.out)
		case <-ctx.Done():
			t.Fatalf("/metrics never showed erpsync_vendor_requests_total; HELP lines: %v\n%s", help, p.out)
		case <-time.After(100 * time.Millisecond):
		}
	}
	for name, h := range help {
		if strings.Contains(strings.ToLower(h), "benthos") {
			t.Errorf("HELP %s %s", name, h)
		}
	}
	if h := help["erpsync_vendor_requests_total"]; !strings.Contains(h, "vendor API") {
		t.Errorf("HELP erpsync_vendor_requests_total %q does not say what it counts", h)
	}
}

// helpLines are the HELP texts of a /metrics page by metric, or nil while
// the server does not answer.
func helpLines(t *testing.T, ctx context.Context, url string) map[string]string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	help := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, text, _ := strings.Cut(rest, " ")
			help[name] = text
		}
	}
	return help
}
