// Package kingdee runs the shipped Kingdee stream configs (config/streams/
// wdt_shops_to_kingdee_customers.yaml, excel_to_kingdee_materials.yaml)
// unchanged, with the erpsync binary, against the sandbox.
package kingdee

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
	"github.com/erpsync/erpsync/sandbox/wdt"
)

// erpsyncBin is the binary under test: $ERPSYNC_BIN when tests/run.sh built
// it already, otherwise built once in TestMain.
var erpsyncBin string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	if bin := os.Getenv("ERPSYNC_BIN"); bin != "" {
		erpsyncBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "erpsync-pipelines-kingdee")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	erpsyncBin = filepath.Join(dir, "erpsync")
	if out, err := exec.Command("go", "build", "-o", erpsyncBin, "../../../cmd/erpsync").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building erpsync: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

const (
	resourcesPath = "../../../config/resources/*.yaml"
	streamsDir    = "../../../config/streams"
)

// k3Env points the K3CLOUD_* variables at the sandbox.
func k3Env(sb *sandbox.Server) map[string]string {
	c := k3cloud.DefaultConfig()
	return map[string]string{
		"K3CLOUD_URL":        sb.URL() + "/k3cloud/",
		"K3CLOUD_ACCT_ID":    c.AcctID,
		"K3CLOUD_USERNAME":   c.Username,
		"K3CLOUD_APP_ID":     c.AppID,
		"K3CLOUD_APP_SECRET": c.AppSecret,
	}
}

// wdtEnv points the WDT and Qimen variables at the sandbox.
func wdtEnv(sb *sandbox.Server) map[string]string {
	c := wdt.DefaultConfig()
	return map[string]string{
		"WDT_BASE_URL":         sb.URL(),
		"WDT_SID":              c.SID,
		"QIMEN_APP_KEY":        c.QimenAppKey,
		"QIMEN_APP_SECRET":     c.QimenAppSecret,
		"QIMEN_TARGET_APP_KEY": c.QimenTargetAppKey,
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// runStream runs the shipped config <name>.yaml with only env (plus PATH,
// HOME and TMPDIR) until it exits by itself, and returns its output. A
// non-zero exit fails the test unless wantFail.
func runStream(t *testing.T, name string, env map[string]string, wantFail bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, erpsyncBin, "--set", "http.enabled=false", "-r", resourcesPath, "run", "--log.level", "warn", filepath.Join(streamsDir, name+".yaml"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not end within 2 minutes; output:\n%s", name, out)
	}
	if err != nil && !wantFail {
		t.Fatalf("%s: %v; output:\n%s", name, err, out)
	}
	if err == nil && wantFail {
		t.Fatalf("%s ended without an error; output:\n%s", name, out)
	}
	return string(out)
}

// k3Docs reads a K3Cloud form of the sandbox, keyed by upper-cased number
// (K3Cloud compares numbers case-insensitively).
func k3Docs(t *testing.T, sb *sandbox.Server, form string) map[string]core.TargetDoc {
	t.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/k3cloud/" + form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /_sandbox/k3cloud/%s: HTTP %d", form, resp.StatusCode)
	}
	var body struct {
		Documents []core.TargetDoc `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]core.TargetDoc, len(body.Documents))
	for _, d := range body.Documents {
		key := strings.ToUpper(d.Number)
		if _, dup := out[key]; dup {
			t.Fatalf("%s: number %s stored twice", form, d.Number)
		}
		out[key] = d
	}
	return out
}

// deadLetters reads a dead-letter file (absent: none).
func deadLetters(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %q is not JSON: %v", path, sc.Text(), err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
