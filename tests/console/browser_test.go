package console

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

// Artefacts is where the browser test leaves its screenshots:
// $ERPSYNC_TEST_ARTEFACTS/console, default .artefacts/console in the
// repository (tests/run.sh prints the folder).
func artefacts() string {
	root := os.Getenv("ERPSYNC_TEST_ARTEFACTS")
	if root == "" {
		root = erpsynctest.Path(".artefacts")
	}
	return filepath.Join(root, "console")
}

// TestIntegrationConsoleBrowser opens the console in Debian's chromium
// (playwright-core, tests/console/browser): the stream ran with K3Cloud
// refusing a third of the bills; the page shows them with their reason;
// the sandbox's fault is cleared; a click on "Replay all" resolves them,
// and each is then in K3Cloud exactly once. tests/run.sh installs chromium
// and playwright-core when they are missing; without them this test fails.
func TestIntegrationConsoleBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no chromium at %s (%v): run ./tests/run.sh, which installs Debian's chromium, or apt-get install chromium", chromium, err)
	}
	script := erpsynctest.Path("tests/console/browser/console.mjs")
	if _, err := os.Stat(erpsynctest.Path("tests/console/browser/node_modules/playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed: run ./tests/run.sh, or npm ci --prefix tests/console/browser (%v)", err)
	}
	e := start(t, 80, 0.3, "", "JST001", "JST002", "JST003", "JST004", "JST005")
	s := e.caughtUp()
	if s.Counts.DeadLettered == 0 {
		t.Fatal("no bill was refused: the test needs some")
	}
	shots := artefacts()
	_ = os.RemoveAll(shots)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+e.url, "SANDBOX_URL="+e.sb.URL(), "STREAM="+stream, "SHOTS="+shots, "CHROMIUM="+chromium)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("the browser test failed: %v\n%s\n%s", err, errOut.String(), out.String())
	}
	t.Logf("screenshots in %s", shots)
	var res struct {
		Failed   []string `json:"failed"`
		Replayed []string `json:"replayed"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &res); err != nil {
		t.Fatalf("the browser test's answer %q: %v", out.String(), err)
	}
	sort.Strings(res.Failed)
	sort.Strings(res.Replayed)
	if len(res.Failed) != int(s.Counts.DeadLettered) || len(res.Replayed) != len(res.Failed) {
		t.Fatalf("the page showed %d failed and %d resolved; the stream dead-lettered %d", len(res.Failed), len(res.Replayed), s.Counts.DeadLettered)
	}
	for i := range res.Failed {
		if res.Failed[i] != res.Replayed[i] {
			t.Fatalf("failed %v, resolved %v", res.Failed, res.Replayed)
		}
	}
	bills := e.bills()
	for _, id := range res.Replayed {
		if b, ok := bills[id]; !ok || b.Writes != 1 {
			t.Errorf("%s: in K3Cloud %v, writes %d", id, ok, b.Writes)
		}
	}
	for id := range e.truth() {
		if b, ok := bills[id]; !ok || b.Writes != 1 {
			t.Errorf("%s: in K3Cloud %v, writes %d", id, ok, b.Writes)
		}
	}
	for _, name := range []string{"01-streams", "02-dead-letters", "03-detail", "05-resolved", "06-records", "08-zh-dead-letters"} {
		if fi, err := os.Stat(filepath.Join(shots, name+".png")); err != nil || fi.Size() < 5000 {
			t.Errorf("screenshot %s missing or empty (%v)", name, err)
		}
	}
}
