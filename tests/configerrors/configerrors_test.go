package configerrors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	sbk3 "github.com/erpsync/erpsync/sandbox/k3cloud"
	sbkis "github.com/erpsync/erpsync/sandbox/kis"
)

const kisStream = "jushuitan_other_inout_to_kis"

// goNames are Go identifiers of the client configs: a message naming one
// speaks to the programmer, not to the user who writes YAML.
var goNames = []string{"Config.", "AcctNumber", "RefreshToken", "AccessToken", "ClientSecret", "BaseURL", "AuthCode", "missing credential"}

// secrets are the sandbox's credentials that must never be printed.
func secrets() []string {
	j, k, k3 := sbjst.DefaultConfig(), sbkis.DefaultConfig(), sbk3.DefaultConfig()
	return []string{j.AppSecret, j.AccessToken, j.RefreshToken, k.ClientSecret, k.AuthCode, k3.AppSecret}
}

func startSandbox(t *testing.T, records int, latency time.Duration) *sandbox.Server {
	t.Helper()
	return streamtest.StartSandbox(t, records, func(o *sandbox.Options) {
		o.Limits = false
		o.Latency = latency
		// The shipped configs close windows a minute before now
		// (window.lag): every generated document must be old enough.
		o.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	})
}

// env is the environment of a shipped stream run against sb, with state
// under state; extra KEY=value entries override (KEY= empties a variable).
func env(sb *sandbox.Server, state string, extra ...string) []string {
	j, k, k3 := sbjst.DefaultConfig(), sbkis.DefaultConfig(), sbk3.DefaultConfig()
	vars := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"JST_BASE_URL=" + sb.URL(), "JST_APP_KEY=" + j.AppKey, "JST_APP_SECRET=" + j.AppSecret,
		"JST_ACCESS_TOKEN=" + j.AccessToken, "JST_REFRESH_TOKEN=" + j.RefreshToken,
		"KIS_BASE_URL=" + sb.URL(), "KIS_CLIENT_ID=" + k.ClientID, "KIS_CLIENT_SECRET=" + k.ClientSecret,
		"KIS_AUTH_CODE=" + k.AuthCode, "KIS_ACCT_NUMBER=" + k.AcctNumber, "KIS_PID=" + k.PID, "KIS_ICRMID=" + k.ICRMID,
		"KIS_MATERIAL_FALLBACK_TO_SKU=true",
		"K3CLOUD_URL=" + sb.URL() + "/k3cloud/", "K3CLOUD_ACCT_ID=" + k3.AcctID, "K3CLOUD_USERNAME=" + k3.Username,
		"K3CLOUD_APP_ID=" + k3.AppID, "K3CLOUD_APP_SECRET=" + k3.AppSecret,
		"MYSQL_DSN=" + erpsynctest.MySQLDSN(),
		"ERPSYNC_STATE_DIR=" + state,
		"SYNC_START=" + time.Now().Add(-31*24*time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP=true",
	}
	return append(vars, extra...)
}

// shipped is the command line running config/streams/<stream>.yaml with
// the shipped resources.
func shipped(stream string) []string {
	resources := erpsynctest.Path("config/resources/erpsync.yaml") + "," + erpsynctest.Path("config/resources/jushuitan_kis_mapping.yaml")
	return []string{"--log.level", "warn", "--set", "http.enabled=false", "-r", resources, "run", erpsynctest.Path("config/streams/" + stream + ".yaml")}
}

// written writes a config file for the test and returns the command line running it.
func written(t *testing.T, yaml string) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stream.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--log.level", "warn", "--set", "http.enabled=false", "run", p}
}

// result is how a run ended.
type result struct {
	code    int
	out     string
	elapsed time.Duration
}

// run starts the binary and waits for it to exit, at most bound; a run
// still going then is killed and fails the test (it would have gone on
// retrying forever). during, if set, runs while the process runs.
func run(t *testing.T, args, environ []string, bound time.Duration, during func(*exec.Cmd)) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, erpsynctest.Binary(t), args...)
	cmd.Env = environ
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if during != nil {
		during(cmd)
	}
	err := cmd.Wait()
	r := result{out: out.String(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("still running after %s (retrying forever instead of stopping?); output:\n%s", bound, tail(r.out))
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return r
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func tail(s string) string {
	if len(s) > 6000 {
		return "..." + s[len(s)-6000:]
	}
	return s
}

// check asserts the exit code and the output's words.
func check(t *testing.T, r result, code int, want, forbidden []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d", r.code, code)
	}
	for _, w := range want {
		if !strings.Contains(r.out, w) {
			t.Errorf("output does not name %q", w)
		}
	}
	for _, f := range append(append([]string(nil), forbidden...), append(goNames, secrets()...)...) {
		if f != "" && strings.Contains(r.out, f) {
			t.Errorf("output holds %q (a Go name or a secret)", f)
		}
	}
	if t.Failed() {
		t.Logf("output after %s:\n%s", r.elapsed.Round(time.Millisecond), tail(r.out))
	} else if testing.Verbose() {
		t.Logf("exit %d after %s; last lines:\n%s", r.code, r.elapsed.Round(time.Millisecond), lastLines(r.out, 3))
	}
}

// k3Config is a minimal stream writing two customers through
// kingdee_batchsave; formID and acctID are what the cases break.
func k3Config(sb *sandbox.Server, formID, acctID string) string {
	k3 := sbk3.DefaultConfig()
	return fmt.Sprintf(`
input:
  generate:
    count: 2
    interval: ""
    mapping: 'root = {"FNumber": "CE" + counter().string(), "FName": "客户" + counter().string()}'
output:
  kingdee_batchsave:
    url: %s/k3cloud/
    auth:
      acct_id: %s
      username: %s
      app_id: ${K3CLOUD_APP_ID}
      app_secret: ${K3CLOUD_APP_SECRET}
    form_id: %s
`, sb.URL(), acctID, k3.Username, formID)
}

// TestConfigurationErrors: every case is a configuration that can only be
// fixed by the user; the process exits 1 quickly, naming what to change.
func TestConfigurationErrors(t *testing.T) {
	sb := startSandbox(t, 40, 0)
	k3 := sbk3.DefaultConfig()
	tests := []struct {
		name string
		// args and extra environment of the run; nil args: the KIS stream.
		args      func(t *testing.T) []string
		env       []string
		setup     func(t *testing.T)
		want      []string
		forbidden []string
		bound     time.Duration
	}{
		{name: "kis acct_number missing", env: []string{"KIS_ACCT_NUMBER="},
			want: []string{"kis: acct_number is required"}, bound: 30 * time.Second},
		{name: "kis client_secret missing", env: []string{"KIS_CLIENT_SECRET="},
			want: []string{"kis: client_secret is required"}, bound: 30 * time.Second},
		{name: "kis base_url not a URL", env: []string{"KIS_BASE_URL=ftp://example.com"},
			want: []string{"kis: base_url", "not an http(s) URL"}, bound: 30 * time.Second},
		{name: "jushuitan app_secret missing", env: []string{"JST_APP_SECRET="},
			want: []string{"jushuitan: app_secret is required"}, bound: 30 * time.Second},
		{name: "kis pid missing: 40000 缺少参数pid", env: []string{"KIS_PID="},
			want:  []string{"kis: /koas/user/get_service_gateway: code 40000 缺少参数pid", "pid (KIS_PID in the shipped configs)", "erpsync: stopped:"},
			bound: 30 * time.Second},
		{name: "kis unknown account", env: []string{"KIS_ACCT_NUMBER=no-such-acct"},
			want:  []string{"kis: /koas/", "code 40006", "acctnumber=no-such-acct", "acct_number (KIS_ACCT_NUMBER in the shipped configs)", "erpsync: stopped:"},
			bound: 30 * time.Second},
		{name: "kis unknown client_secret", env: []string{"KIS_CLIENT_SECRET=wrong-secret"},
			want:      []string{"kis: /koas/oauth2/access_token: code 40001", "check client_id, client_secret (KIS_CLIENT_ID, KIS_CLIENT_SECRET in the shipped configs)", "erpsync: stopped:"},
			forbidden: []string{"wrong-secret"}, bound: 30 * time.Second},
		{name: "k3cloud unknown form_id", args: func(t *testing.T) []string { return written(t, k3Config(sb, "BD_NoSuchForm", k3.AcctID)) },
			want:  []string{"kingdee_batchsave: probing BD_NoSuchForm", "k3cloud: ", "BD_NoSuchForm", "check form_id", "erpsync: stopped:"},
			bound: 30 * time.Second},
		{name: "k3cloud wrong acct_id", args: func(t *testing.T) []string { return written(t, k3Config(sb, "BD_Customer", "no-such-dc")) },
			want:  []string{"k3cloud: ", "no-such-dc", "acct_id", "erpsync: stopped:"},
			bound: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := shipped(kisStream)
			if tt.args != nil {
				args = tt.args(t)
			}
			if tt.setup != nil {
				tt.setup(t)
			}
			r := run(t, args, env(sb, erpsynctest.StateDir(t), tt.env...), tt.bound, nil)
			check(t, r, 1, tt.want, tt.forbidden)
		})
	}
}

// TestRefreshTokenOptional: refresh_token is optional in the spec, and so
// in behaviour: without one the input runs on the access token (a run that
// catches up exits 0) and, once the vendor says the token expired, stops
// with exit code 1 and a re-authorization error naming refresh_token and
// JST_REFRESH_TOKEN.
func TestRefreshTokenOptional(t *testing.T) {
	t.Run("valid access token: runs", func(t *testing.T) {
		sb := startSandbox(t, 20, 0)
		r := run(t, shipped(kisStream), env(sb, erpsynctest.StateDir(t), "JST_REFRESH_TOKEN="), 2*time.Minute, nil)
		check(t, r, 0, nil, nil)
		if n := sb.Stats().Targets["kis/bills"]; n == 0 {
			t.Errorf("no bill reached KIS (targets %v)", sb.Stats().Targets)
		}
	})
	t.Run("expired access token: stops", func(t *testing.T) {
		sb := startSandbox(t, 20, 0)
		sb.ExpireTokens()
		r := run(t, shipped(kisStream), env(sb, erpsynctest.StateDir(t), "JST_REFRESH_TOKEN="), 30*time.Second, nil)
		check(t, r, 1, []string{"jushuitan: /open/other/inout/query: code 100",
			"access_token expired and no refresh_token is configured", "JST_REFRESH_TOKEN", "erpsync: stopped:"}, nil)
		if n := sb.Stats().Requests["jushuitan"]["/openWeb/auth/refreshToken"]; n != 0 {
			t.Errorf("%d refresh calls without a refresh token", n)
		}
	})
}

// TestStateFolderMissing: the KIS stream's state folder disappears after
// start (the state caches created it). The first bill KIS confirms cannot
// be recorded in the ledger: the stream stops with exit 1 naming the path,
// and KIS received at most one bill (max_in_flight 1) — the stream does not
// write on without a ledger or a checkpoint.
func TestStateFolderMissing(t *testing.T) {
	// Latency: the state folder is removed long before the first answer.
	sb := startSandbox(t, 60, 300*time.Millisecond)
	state := filepath.Join(t.TempDir(), "state")
	r := run(t, shipped(kisStream), env(sb, state), time.Minute, func(*exec.Cmd) {
		// The state caches create their folders while the config is built,
		// before any input reads.
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := os.Stat(filepath.Join(state, "ledgers")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Error("the state cache never created " + filepath.Join(state, "ledgers"))
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err := os.RemoveAll(state); err != nil {
			t.Error(err)
		}
	})
	check(t, r, 1, []string{state + "/", "no such file or directory", "erpsync: stopped:"}, nil)
	if n := sb.Stats().Targets["kis/bills"]; n > 1 {
		t.Errorf("KIS received %d bills after the state folder was gone, want at most 1", n)
	}
	if strings.Contains(r.out, "is written to KIS") && !strings.Contains(r.out, "duplicate-number answer counts it as written") {
		t.Error("the ledger failure does not say what a restart does with the bill")
	}
}

// TestIntegrationCheckpointUnwritable: the checkpoint of the Jushuitan → MySQL stream
// cannot be stored (its spare copy's name is taken by a folder, which no
// permission bit can get around, root included): exit 1 naming the file.
func TestIntegrationCheckpointUnwritable(t *testing.T) {
	erpsynctest.OpenDB(t) // fails loudly without MariaDB
	sb := startSandbox(t, 40, 0)
	state := erpsynctest.StateDir(t)
	blocked := filepath.Join(state, "checkpoints", "jushuitan_skusn_to_mysql.spare")
	if err := os.MkdirAll(filepath.Join(blocked, "taken"), 0o700); err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("erpsync_cfgerr_skusn_%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		db := erpsynctest.OpenDB(t)
		_, _ = db.Exec("DROP TABLE IF EXISTS " + table)
	})
	r := run(t, shipped("jushuitan_skusn_to_mysql"), env(sb, state, "JST_SKUSN_TABLE="+table), time.Minute, nil)
	check(t, r, 1, []string{"cannot store the checkpoint", blocked, "ERPSYNC_STATE_DIR", "erpsync: stopped:"}, nil)
}
