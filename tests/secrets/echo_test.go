package secrets

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

// envRef finds the environment variables a config reads: `${NAME}`,
// `${NAME:default}` (interpolated when the config is read) and Bloblang's
// `env("NAME")` (read at run time).
var envRef = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)[}:]|env\("([A-Z][A-Z0-9_]*)"\)`)

// credentialVar matches the name of an environment variable that carries a
// credential. K3CLOUD_APP_ID is one: its second half is key material.
var credentialVar = regexp.MustCompile(`SECRET|TOKEN|PASSWORD|PASSWD|DSN|AUTH_CODE|APP_ID|WEBHOOK_URL`)

// markerVars are identifiers (not credentials) whose value echo must print:
// the positive control that proves the fake environment reached the config.
var markerVars = map[string]bool{
	"JST_APP_KEY": true, "QIMEN_APP_KEY": true, "K3CLOUD_USERNAME": true,
	"KIS_CLIENT_ID": true, "XBB_CORPID": true, "WDT_SID": true,
}

// shippedConfigs are the stream configs of config/streams and the resource
// files of config/resources, relative to the repository root.
func shippedConfigs(t *testing.T) (streams, resources []string) {
	t.Helper()
	root := erpsynctest.RepoRoot()
	all, err := filepath.Glob(filepath.Join(root, "config", "streams", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if !strings.HasSuffix(p, "_benthos_test.yaml") {
			streams = append(streams, p)
		}
	}
	if resources, err = filepath.Glob(filepath.Join(root, "config", "resources", "*.yaml")); err != nil {
		t.Fatal(err)
	}
	if len(streams) < 8 || len(resources) == 0 {
		t.Fatalf("found %d stream configs and %d resource files under config/: wrong root %s?", len(streams), len(resources), root)
	}
	return streams, resources
}

// referencedVars returns the variables a file reads.
func referencedVars(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range envRef.FindAllStringSubmatch(string(raw), -1) {
		seen[m[1]+m[2]] = true
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// fakeEnv gives every credential variable a recognisable random value and
// every marker variable a recognisable identifier. secrets maps each
// credential variable to the part of its value that must never be printed.
func fakeEnv(t *testing.T, vars []string) (env map[string]string, secrets map[string]string) {
	t.Helper()
	env, secrets = map[string]string{}, map[string]string{}
	for _, v := range vars {
		switch {
		case credentialVar.MatchString(v):
			b := make([]byte, 8)
			if _, err := rand.Read(b); err != nil {
				t.Fatal(err)
			}
			fake := "fake" + strings.ReplaceAll(strings.ToLower(v), "_", "") + hex.EncodeToString(b)
			secrets[v] = fake
			switch {
			case strings.HasSuffix(v, "DSN"):
				env[v] = "erpsync:" + fake + "@tcp(127.0.0.1:3306)/erp"
			case strings.HasSuffix(v, "APP_ID"):
				env[v] = "200001_" + fake
			default:
				env[v] = fake
			}
		case markerVars[v]:
			env[v] = "marker-" + strings.ToLower(v)
		}
	}
	return env, secrets
}

// TestEchoScrubsEveryShippedCredential runs `erpsync echo` on every shipped
// stream config (with the shared resources) and on every resource file,
// with every credential variable set to a random fake, passed through the
// process environment and through an env file (`-e`, as tests/run.sh
// does), and checks that no credential is printed while the identifiers
// are.
func TestEchoScrubsEveryShippedCredential(t *testing.T) {
	bin := erpsynctest.Binary(t)
	root := erpsynctest.RepoRoot()
	if _, err := os.Stat(filepath.Join(root, "config", "placeholders.env")); err != nil {
		t.Fatalf("config/placeholders.env (the env file tests/run.sh lints with) is missing: %v", err)
	}
	streams, resources := shippedConfigs(t)
	resGlob := filepath.Join(root, "config", "resources", "*.yaml")

	var allVars []string
	for _, p := range append(append([]string{}, streams...), resources...) {
		allVars = append(allVars, referencedVars(t, p)...)
	}
	env, secrets := fakeEnv(t, allVars)
	if len(secrets) < 10 {
		t.Fatalf("only %d credential variables found in the shipped configs (%v): the scan is broken", len(secrets), secrets)
	}
	envFile := filepath.Join(t.TempDir(), "fake.env")
	var ef strings.Builder
	for k, v := range env {
		ef.WriteString(k + "=" + v + "\n")
	}
	if err := os.WriteFile(envFile, []byte(ef.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	type target struct {
		name string
		args []string
		vars []string
	}
	var targets []target
	for _, p := range streams {
		targets = append(targets, target{"streams/" + filepath.Base(p), []string{"-r", resGlob, p}, referencedVars(t, p)})
	}
	for _, p := range resources {
		targets = append(targets, target{"resources/" + filepath.Base(p), []string{p}, referencedVars(t, p)})
	}

	for _, how := range []string{"process env", "env file"} {
		for _, tg := range targets {
			t.Run(how+"/"+tg.name, func(t *testing.T) {
				args := append([]string{"echo"}, tg.args...)
				cmd := exec.Command(bin)
				cmd.Dir = root
				cmd.Env = cleanEnviron(env)
				if how == "env file" {
					args = append([]string{"echo", "-e", envFile}, tg.args...)
					cmd.Env = cleanEnviron(nil)
				}
				cmd.Args = append([]string{bin}, args...)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("erpsync %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
				}
				out := stdout.String() + stderr.String()
				for v, secret := range secrets {
					if i := strings.Index(out, secret); i >= 0 {
						t.Errorf("echo prints the value of %s: ...%s...", v, excerpt(out, i, len(secret)))
					}
				}
				for _, v := range tg.vars {
					if markerVars[v] && !strings.Contains(out, env[v]) {
						t.Errorf("echo does not print %s=%s: the fake environment did not reach the config, so the scrub check proves nothing", v, env[v])
					}
				}
			})
		}
	}
}

// cleanEnviron is the test process environment without any variable the
// shipped configs could read from it, plus extra.
func cleanEnviron(extra map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if credentialVar.MatchString(k) || markerVars[k] || strings.HasPrefix(k, "JST_") || strings.HasPrefix(k, "K3CLOUD_") ||
			strings.HasPrefix(k, "KIS_") || strings.HasPrefix(k, "XBB_") || strings.HasPrefix(k, "WDT_") || strings.HasPrefix(k, "QIMEN_") {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	return out
}

// excerpt shows the text around a leak, with the leaked value masked.
func excerpt(s string, i, n int) string {
	from, to := max(0, i-60), min(len(s), i+n+20)
	return strings.ReplaceAll(s[from:to], s[i:i+n], "<SECRET>")
}
