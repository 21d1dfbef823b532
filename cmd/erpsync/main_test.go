package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	// The container image has no zoneinfo: the binary must carry Go's own.
	out, err := exec.Command("go", "tool", "nm", erpsyncBin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	if !strings.Contains(string(out), "time/tzdata.loadFromEmbeddedTZData") {
		t.Fatal("the erpsync binary does not embed time/tzdata")
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "tz.yaml")
	writeFile(t, cfg, `
input:
  generate:
    count: 1
    interval: ""
    mapping: 'root = 1717207200.ts_tz("Asia/Shanghai").ts_format("2006-01-02 15:04:05")'
output:
  stdout: {}
logger:
  level: none
http:
  enabled: false # port 4195 may be another erpsync's
`)
	got, err := run(t, "run", cfg)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, got)
	}
	// 2024-06-01 02:00:00 UTC is 10:00 in Shanghai.
	if strings.TrimSpace(got) != "2024-06-01 10:00:00" {
		t.Fatalf("Asia/Shanghai time gave %q, want 2024-06-01 10:00:00", got)
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

func TestSandboxCommandServesSignedQuery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, erpsyncBin, "sandbox", "--addr", "127.0.0.1:0", "--records", "50")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var start struct {
		URL         string                    `json:"url"`
		Credentials map[string]map[string]any `json:"credentials"`
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the sandbox's start line: %v", err)
	}
	if err := json.Unmarshal([]byte(line), &start); err != nil {
		t.Fatalf("start line is not JSON: %v\n%s", err, line)
	}
	if !strings.HasPrefix(start.URL, "http://127.0.0.1:") {
		t.Fatalf("unexpected url %q", start.URL)
	}
	for _, v := range []string{"jushuitan", "wdt", "xbb", "k3cloud", "kis"} {
		if len(start.Credentials[v]) == 0 {
			t.Errorf("start line has no credentials for %s", v)
		}
	}
	resp, err := http.Get(start.URL + "/_sandbox/source/jushuitan_other_inout")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var src struct {
		Documents []struct {
			ID string `json:"id"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(body, &src); err != nil || len(src.Documents) != 50 {
		t.Fatalf("source truth: err=%v, %d documents, want 50\n%s", err, len(src.Documents), body)
	}
}

// TestReadmeSandboxExample runs the README's signed Jushuitan query, as
// written, against `erpsync sandbox --records 500`.
func TestReadmeSandboxExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- readme-example: jushuitan-query -->\n```bash\n"
	i := strings.Index(string(readme), marker)
	if i < 0 {
		t.Fatal("README has no jushuitan-query example")
	}
	script := string(readme[i+len(marker):])
	script = script[:strings.Index(script, "```")]

	url := startSandbox(t, "--records", "500")
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "SANDBOX="+url)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("README example failed: %v\n%s", err, out)
	}
	var ans struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
		Data struct {
			Datas   []map[string]any `json:"datas"`
			HasNext bool             `json:"has_next"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &ans); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, out)
	}
	if ans.Code != 0 || len(ans.Data.Datas) == 0 {
		t.Fatalf("signed query answered code %d %q with %d documents", ans.Code, ans.Msg, len(ans.Data.Datas))
	}
}

// startSandbox runs `erpsync sandbox` on a free port and returns its URL.
func startSandbox(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(erpsyncBin, append([]string{"sandbox", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the sandbox's start line: %v", err)
	}
	var start struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(line), &start); err != nil || start.URL == "" {
		t.Fatalf("start line is not {\"url\": ...}: %v\n%s", err, line)
	}
	return start.URL
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPermanentVendorErrorFailsTheProcess: a bad app secret stops the input
// with the vendor's code and message, and `erpsync run` exits non-zero.
func TestPermanentVendorErrorFailsTheProcess(t *testing.T) {
	url := startSandbox(t, "--records", "20")
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, cfg, `
input:
  jushuitan:
    base_url: `+url+`
    app_key: sandbox-jst-app
    app_secret: not-the-secret-42
    access_token: sandbox-jst-token
    refresh_token: sandbox-jst-refresh
    api: /open/other/inout/query
    params: |
      root.modified_begin = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
      root.modified_end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
    window:
      max_span: 168h
output:
  drop: {}
http:
  enabled: false # port 4195 may be another erpsync's
`)
	out, err := run(t, "run", cfg)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("erpsync run with a bad secret: %v, want exit code 1\n%s", err, out)
	}
	if !strings.Contains(out, "jushuitan: /open/other/inout/query: code 10") {
		t.Fatalf("output does not name vendor, interface and code:\n%s", out)
	}
	if strings.Contains(out, "not-the-secret-42") {
		t.Fatalf("the secret leaked into the output:\n%s", out)
	}
}

// TestReadmeFirstStream runs the README's first stream, as written, against
// `erpsync sandbox --records 500`: it must print every bill once and exit.
func TestReadmeFirstStream(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- readme-example: jushuitan-stream -->\n```yaml\n"
	i := strings.Index(string(readme), marker)
	if i < 0 {
		t.Fatal("README has no jushuitan-stream example")
	}
	conf := string(readme[i+len(marker):])
	conf = conf[:strings.Index(conf, "```")]
	path := filepath.Join(t.TempDir(), "first.yaml")
	writeFile(t, path, conf)

	url := startSandbox(t, "--records", "500")
	cmd := exec.Command(erpsyncBin, "run", "--set", "http.enabled=false", path) // port 4195 may be another erpsync's
	cmd.Env = append(os.Environ(), "SANDBOX="+url, "START="+time.Now().Add(-31*24*time.Hour).Format(time.RFC3339))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("README stream failed: %v\n%s", err, out)
	}
	ids := map[float64]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var doc struct {
			IOID float64 `json:"io_id"`
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil || doc.IOID == 0 {
			t.Fatalf("not a bill: %q (%v)", line, err)
		}
		ids[doc.IOID] = true
	}
	if len(ids) != 500 {
		t.Fatalf("the README stream printed %d distinct bills, want 500", len(ids))
	}
}
