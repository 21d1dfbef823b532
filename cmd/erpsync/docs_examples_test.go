package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/docgen"
	"github.com/erpsync/erpsync/plugins/all"
	"github.com/erpsync/erpsync/sandbox"
)

// specExamples are the examples of every erpsync component spec, as the
// pages show them.
func specExamples(t *testing.T) []docgen.Example {
	t.Helper()
	cs := make([]docgen.Component, len(all.Components))
	for i, c := range all.Components {
		cs[i] = docgen.Component(c)
	}
	exs, err := docgen.Examples(service.GlobalEnvironment(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) == 0 {
		t.Fatal("no component spec has an example")
	}
	return exs
}

// exampleKey names an example in test output and in exampleRuns.
func exampleKey(e docgen.Example) string {
	return e.Type + " " + e.Name + ": " + e.Title
}

// exampleEnv is the environment the examples' ${...} variables take: the
// sandbox's address and credentials, the MySQL DSN and a state folder. The
// shipped configs use the same names.
func exampleEnv(url string, o sandbox.Options, dsn, stateDir string) map[string]string {
	return map[string]string{
		"ERPSYNC_STATE_DIR": stateDir,
		"JST_APP_KEY":       o.Jushuitan.AppKey, "JST_APP_SECRET": o.Jushuitan.AppSecret,
		"JST_ACCESS_TOKEN": o.Jushuitan.AccessToken, "JST_REFRESH_TOKEN": o.Jushuitan.RefreshToken,
		"WDT_SID":       o.WDT.SID,
		"QIMEN_APP_KEY": o.WDT.QimenAppKey, "QIMEN_APP_SECRET": o.WDT.QimenAppSecret, "QIMEN_TARGET_APP_KEY": o.WDT.QimenTargetAppKey,
		"XBB_CORPID": o.XBB.Corpid, "XBB_TOKEN": o.XBB.Token,
		"K3CLOUD_URL": url + "/k3cloud/", "K3CLOUD_ACCT_ID": o.K3Cloud.AcctID, "K3CLOUD_USERNAME": o.K3Cloud.Username,
		"K3CLOUD_APP_ID": o.K3Cloud.AppID, "K3CLOUD_APP_SECRET": o.K3Cloud.AppSecret,
		"KIS_BASE_URL": url, "KIS_CLIENT_ID": o.KIS.ClientID, "KIS_CLIENT_SECRET": o.KIS.ClientSecret,
		"KIS_AUTH_CODE": o.KIS.AuthCode, "KIS_ACCT_NUMBER": o.KIS.AcctNumber, "KIS_PID": o.KIS.PID, "KIS_ICRMID": o.KIS.ICRMID,
		"MYSQL_DSN": dsn,
		// Examples spelling a DSN out take the password from here.
		"MYSQL_PASSWORD":       "placeholder",
		"WEBHOOK_SECRET":       "sandbox-webhook-secret",
		"DINGTALK_WEBHOOK_URL": url + "/robot/send?access_token=sandbox-dingtalk-token",
		"DINGTALK_SECRET":      "SECsandbox-dingtalk-secret",
		"WECOM_WEBHOOK_URL":    url + "/cgi-bin/webhook/send?key=sandbox-wecom-key",
	}
}

// TestDocsExamplesLint runs `erpsync lint` (the binary, with the variables
// of exampleEnv in an env file) over every example of every erpsync
// component spec: what the pages show is a config the linter accepts.
func TestDocsExamplesLint(t *testing.T) {
	exs := specExamples(t)
	dir := t.TempDir()
	env := exampleEnv("http://127.0.0.1:9", sandbox.DefaultOptions(), "root@tcp(127.0.0.1:3306)/test", dir)
	var lines []string
	for k, v := range env {
		lines = append(lines, k+"="+v)
	}
	sort.Strings(lines)
	envFile := filepath.Join(dir, "examples.env")
	if err := os.WriteFile(envFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unsafe := regexp.MustCompile(`[^A-Za-z0-9_]+`)
	files := map[string]docgen.Example{}
	args := []string{"lint", "-e", envFile}
	for i, e := range exs {
		p := filepath.Join(dir, fmt.Sprintf("%02d_%s_%s.yaml", i, e.Type, unsafe.ReplaceAllString(e.Name, "_")))
		if err := os.WriteFile(p, []byte(e.Config), 0o600); err != nil {
			t.Fatal(err)
		}
		files[p] = e
		args = append(args, p)
	}
	out, err := run(t, args...)
	if err == nil {
		t.Logf("erpsync lint accepts all %d examples", len(exs))
		return
	}
	// Name each failing example, with the linter's words.
	named := false
	for p, e := range files {
		var msgs []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, p) {
				msgs = append(msgs, strings.TrimPrefix(l, p))
			}
		}
		if len(msgs) > 0 {
			named = true
			t.Errorf("the example %q of %s %s does not lint (fix it in the spec in plugins/):\n  %s\n%s",
				e.Title, e.Type, e.Name, strings.Join(msgs, "\n  "), e.Config)
		}
	}
	if !named {
		t.Fatalf("erpsync lint failed without naming an example: %v\n%s", err, out)
	}
}
