package secrets

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
)

// demoStreams are the four pipelines `erpsync demo` runs, in its order.
var demoStreams = []string{
	"jushuitan_other_inout_to_kis",
	"wdt_shops_to_kingdee_customers",
	"xbb_products_to_mysql",
	"jushuitan_skusn_to_mysql",
}

// signLike catches a signature printed as a parameter or header whatever
// its value: sign=..., "sign":"...", X-Api-Signature: ..., KIS-Signature=...
var signLike = regexp.MustCompile(`(?i)(\bsign|signature)["']?\s*[=:]\s*["']?[0-9a-zA-Z+/=_-]{16,}`)

// TestIntegrationDebugLogsHoldNoSecret runs the demo pipelines with the
// erpsync binary at log level debug against a sandbox answering 5xx pages,
// expiring tokens and sessions quickly and rejecting some rows, so retry,
// renewal and dead-letter paths log too, and greps everything the runs
// printed for every credential configured, every token and session the
// sandbox issued and every signature the clients sent.
func TestIntegrationDebugLogsHoldNoSecret(t *testing.T) {
	bin := erpsynctest.Binary(t)
	root := erpsynctest.RepoRoot()
	dsn, dbPassword := mysqlWithPassword(t)

	o := sandbox.DefaultOptions()
	o.Records = 150
	o.Faults = core.Faults{
		ErrorRate:   0.08,
		TokenTTL:    core.Duration(1500 * time.Millisecond),
		SessionTTL:  core.Duration(1500 * time.Millisecond),
		RowFailRate: 0.05,
	}
	sb, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	rec := newRecorder(sb.Handler())
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)

	state := t.TempDir()
	for _, sub := range []string{"checkpoints", "ledgers", "dead_letters"} {
		if err := os.MkdirAll(filepath.Join(state, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	suffix := randomHex(t, 4)
	env := map[string]string{
		"ERPSYNC_STATE_DIR":   state,
		"SYNC_START":          time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP": "true",
		"JST_BASE_URL":        srv.URL, "JST_APP_KEY": o.Jushuitan.AppKey, "JST_APP_SECRET": o.Jushuitan.AppSecret,
		"JST_ACCESS_TOKEN": o.Jushuitan.AccessToken, "JST_REFRESH_TOKEN": o.Jushuitan.RefreshToken,
		"WDT_BASE_URL": srv.URL, "WDT_SID": o.WDT.SID,
		"QIMEN_APP_KEY": o.WDT.QimenAppKey, "QIMEN_APP_SECRET": o.WDT.QimenAppSecret, "QIMEN_TARGET_APP_KEY": o.WDT.QimenTargetAppKey,
		"XBB_BASE_URL": srv.URL, "XBB_CORPID": o.XBB.Corpid, "XBB_TOKEN": o.XBB.Token,
		"K3CLOUD_URL": srv.URL + "/k3cloud/", "K3CLOUD_ACCT_ID": o.K3Cloud.AcctID, "K3CLOUD_USERNAME": o.K3Cloud.Username,
		"K3CLOUD_APP_ID": o.K3Cloud.AppID, "K3CLOUD_APP_SECRET": o.K3Cloud.AppSecret, "K3CLOUD_ORG": "100",
		"KIS_BASE_URL": srv.URL, "KIS_CLIENT_ID": o.KIS.ClientID, "KIS_CLIENT_SECRET": o.KIS.ClientSecret,
		"KIS_AUTH_CODE": o.KIS.AuthCode, "KIS_ACCT_NUMBER": o.KIS.AcctNumber, "KIS_PID": o.KIS.PID, "KIS_ICRMID": o.KIS.ICRMID,
		"KIS_MATERIAL_FALLBACK_TO_SKU": "true",
		"MYSQL_DSN":                    dsn,
		"XBB_PRODUCTS_TABLE":           "erpsync_secrets_xbb_" + suffix,
		"JST_SKUSN_TABLE":              "erpsync_secrets_skusn_" + suffix,
		// Dead letters go to MySQL too, through the DSN with the password.
		"DEAD_LETTER_TABLE": "erpsync_secrets_dl_" + suffix,
	}
	t.Cleanup(func() {
		dropTables(t, dsn, env["XBB_PRODUCTS_TABLE"], env["JST_SKUSN_TABLE"], env["DEAD_LETTER_TABLE"])
	})

	// What was configured: every credential of the sandbox accounts.
	configured := map[string]string{
		o.Jushuitan.AppSecret:            "JST_APP_SECRET",
		o.Jushuitan.AccessToken:          "JST_ACCESS_TOKEN",
		o.Jushuitan.RefreshToken:         "JST_REFRESH_TOKEN",
		o.WDT.QimenAppSecret:             "QIMEN_APP_SECRET",
		o.WDT.AppSecret:                  "WDT openapi2 appsecret",
		o.XBB.Token:                      "XBB_TOKEN",
		o.K3Cloud.AppSecret:              "K3CLOUD_APP_SECRET",
		o.K3Cloud.Password:               "K3Cloud password",
		k3SecretPart(t, o.K3Cloud.AppID): "K3CLOUD_APP_ID (the part after '_')",
		o.KIS.ClientSecret:               "KIS_CLIENT_SECRET",
		o.KIS.AuthCode:                   "KIS_AUTH_CODE",
	}
	if dbPassword != "" {
		configured[dbPassword] = "MySQL password of MYSQL_DSN"
	}

	var logs bytes.Buffer
	for _, stream := range demoStreams {
		out := runStream(t, bin, root, stream, env)
		fmt.Fprintf(&logs, "==> %s\n%s\n", stream, out)
		if !strings.Contains(out, "level=debug") {
			t.Errorf("%s: no debug line in its output: the run did not log at debug level\n%s", stream, tail(out, 2000))
		}
	}

	// The Jushuitan pair renewed during the runs.
	resp, err := http.Get(srv.URL + "/_sandbox/jushuitan/credentials")
	if err != nil {
		t.Fatal(err)
	}
	var jst struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&jst)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if jst.AccessToken == "" || jst.AccessToken == o.Jushuitan.AccessToken {
		t.Errorf("the Jushuitan access token was never renewed (now %q): the token_ttl fault did not bite, so the renewal path was not logged", jst.AccessToken)
	}
	issued := rec.Secrets()
	issued[jst.AccessToken] = "current Jushuitan access token"
	issued[jst.RefreshToken] = "current Jushuitan refresh token"

	// The faults must have exercised the error paths.
	stats := sb.Env().Stats.Snapshot()
	faults := 0
	for _, byIface := range stats {
		for _, byCode := range byIface {
			faults += byCode["http_500"] + byCode["http_502"]
		}
	}
	if faults == 0 {
		t.Error("the sandbox injected no 5xx: the error paths were not exercised")
	}
	signatures := 0
	for _, where := range issued {
		if strings.Contains(strings.ToLower(where), "sign") {
			signatures++
		}
	}
	if signatures == 0 || len(issued) < 20 {
		t.Fatalf("recorded %d credential-like values (%d signatures) on the wire: the recorder is broken", len(issued), signatures)
	}
	t.Logf("%d bytes of logs checked against %d configured credentials and %d values seen on the wire (%d signatures); %d faults injected",
		logs.Len(), len(configured), len(issued), signatures, faults)

	text := logs.String()
	for _, set := range []map[string]string{configured, issued} {
		for value, what := range set {
			if len(value) < 8 {
				t.Errorf("credential %s is too short to search for (%q)", what, value)
				continue
			}
			if i := strings.Index(text, value); i >= 0 {
				t.Errorf("the logs hold %s: ...%s...", what, excerpt(text, i, len(value)))
			}
		}
	}
	if m := signLike.FindStringIndex(text); m != nil {
		t.Errorf("the logs hold a signature: ...%s...", text[max(0, m[0]-60):min(len(text), m[1]+20)])
	}
}

// runStream runs one shipped stream to completion (it stops once caught
// up) and returns everything it printed.
func runStream(t *testing.T, bin, root, stream string, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"run", "--log.level", "debug",
		"-r", filepath.Join(root, "config", "resources", "*.yaml"),
		"--set", "http.enabled=false",
		filepath.Join(root, "config", "streams", stream+".yaml")}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = cleanEnviron(env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: erpsync %s: %v after %s\n%s", stream, strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond), tail(out.String(), 4000))
	}
	t.Logf("%s: ran in %s, %d bytes of logs", stream, time.Since(start).Round(time.Millisecond), out.Len())
	return out.String()
}

// mysqlWithPassword returns a DSN for a throw-away MySQL user with a random
// password (so the password can be looked for in the logs) and the
// password; when the server refuses to create users it returns $MYSQL_DSN
// itself and its password, which may be empty.
func mysqlWithPassword(t *testing.T) (string, string) {
	t.Helper()
	base := os.Getenv("MYSQL_DSN")
	if base == "" {
		base = "root@tcp(127.0.0.1:3306)/test"
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("MYSQL_DSN does not parse: %v", err)
	}
	cfg.Timeout = 3 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatalf("no MySQL/MariaDB answers at MYSQL_DSN (%s): %v; start one (tests/run.sh does) or set MYSQL_DSN", cfg.Addr, err)
	}
	user := "erpsync_sec_" + randomHex(t, 3)
	password := "pw" + randomHex(t, 12)
	stmts := []string{
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, password),
		fmt.Sprintf("CREATE USER '%s'@'localhost' IDENTIFIED BY '%s'", user, password),
		fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'%%'", cfg.DBName, user),
		fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'localhost'", cfg.DBName, user),
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Logf("cannot create a MySQL user with a password (%v): running with MYSQL_DSN as given", err)
			dropUser(base, user)
			return base, cfg.Passwd
		}
	}
	t.Cleanup(func() { dropUser(base, user) })
	uc := cfg.Clone()
	uc.User, uc.Passwd = user, password
	uc.Timeout = 0
	return uc.FormatDSN(), password
}

func dropUser(dsn, user string) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return
	}
	defer db.Close()
	_, _ = db.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user))
	_, _ = db.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'localhost'", user))
}

func dropTables(t *testing.T, dsn string, tables ...string) {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return
	}
	defer db.Close()
	for _, tb := range tables {
		if _, err := db.Exec("DROP TABLE IF EXISTS `" + tb + "`"); err != nil {
			t.Logf("dropping %s: %v", tb, err)
		}
	}
}

// k3SecretPart is the key material of a K3Cloud AppID, after the '_'.
func k3SecretPart(t *testing.T, appID string) string {
	t.Helper()
	_, secret, ok := strings.Cut(appID, "_")
	if !ok || secret == "" {
		t.Fatalf("K3Cloud AppID %q is not <clientId>_<secret>", appID)
	}
	return secret
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func TestSignLikePattern(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{`POST /open/other/inout/query?sign=0123456789abcdef0123456789abcdef`, true},
		{`form: {"sign":"0123456789ABCDEF0123456789ABCDEF"}`, true},
		{`X-Api-Signature: Zm9vYmFyYmF6cXV4cXV1eA==`, true},
		{`KIS-Signature=ab12cd34ef56ab12cd34`, true},
		{`jushuitan: /open/other/inout/query: code 10 签名错误 (check app_secret)`, false},
		{`k3cloud: signature mode, session renewed`, false},
		{`sign=short`, false},
	} {
		if got := signLike.MatchString(tc.line); got != tc.want {
			t.Errorf("signLike(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}
