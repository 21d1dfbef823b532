package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// vendorInputs are minimal valid configs of the polling inputs; base_url is
// a closed local port, so nothing here can reach a vendor.
var vendorInputs = map[string]string{
	"jushuitan": "jushuitan:\n  base_url: http://127.0.0.1:9\n  app_key: a\n  app_secret: s\n  access_token: t\n  refresh_token: r\n  api: /open/other/inout/query\n",
	"wdt":       "wdt:\n  base_url: http://127.0.0.1:9\n  sid: s\n  appkey: k\n  appsecret: x\n  api: shop.php\n",
	"xbb":       "xbb:\n  base_url: http://127.0.0.1:9\n  corpid: c\n  token: t\n  api: product/list\n",
}

// streamWith is a stream config whose input is vendor's minimal input with
// extra fields (YAML at the input's indentation) added or replacing.
func streamWith(vendor, extra string) string {
	lines := strings.Split(strings.TrimRight(vendorInputs[vendor], "\n"), "\n")
	for _, e := range strings.Split(strings.TrimRight(extra, "\n"), "\n") {
		if key, _, ok := strings.Cut(strings.TrimSpace(e), ":"); ok && strings.HasPrefix(e, "  ") && !strings.HasPrefix(e, "   ") {
			for i, l := range lines {
				if strings.HasPrefix(l, "  "+key+":") {
					lines = append(lines[:i], lines[i+1:]...)
					break
				}
			}
		}
	}
	in := strings.Join(lines, "\n") + "\n" + extra
	return "input:\n  " + strings.ReplaceAll(strings.TrimRight(in, "\n"), "\n", "\n  ") + "\noutput:\n  drop: {}\n"
}

// buildAndRun constructs and runs conf without linting, as `erpsync run`
// would after a lint it skipped, and returns what stopped it.
func buildAndRun(t *testing.T, conf string, logs *bytes.Buffer) error {
	t.Helper()
	b := service.NewStreamBuilder()
	b.DisableLinting()
	if logs != nil {
		b.SetLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	} else if err := b.SetLoggerYAML("level: none"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetYAML(conf); err != nil {
		return err
	}
	s, err := b.Build()
	if err != nil {
		return err
	}
	// A constructor's refusal ends Run at once; a config it accepted polls
	// the closed local port until the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Run(ctx)
}

// TestLintRefusesWhatRunRefuses: every bad config of the table fails both
// `erpsync lint` (the binary) and stream construction, and both name the
// field; lint also says what is allowed.
func TestLintRefusesWhatRunRefuses(t *testing.T) {
	cases := []struct {
		name, vendor, extra string
		field               string // named by lint and run
		allowed             string // named by lint
	}{
		{"page_size text", "jushuitan", "  page_size: lots\n", "page_size", "whole number from 0 (the vendor's default) to 50"},
		{"page_size quoted number", "xbb", "  page_size: \"20\"\n", "page_size", "whole number from 0 (the vendor's default) to 100"},
		{"page_size negative", "jushuitan", "  page_size: -5\n", "page_size", "from 0 (the vendor's default) to 50"},
		{"page_size negative wdt", "wdt", "  page_size: -1\n", "page_size", "to 100"},
		{"page_size above an unlisted interface's maximum", "jushuitan", "  api: /open/shops/query\n  page_size: 500\n", "page_size", "to 100"},
		{"page_size above the table's maximum", "jushuitan", "  page_size: 51\n", "page_size", "to 50"},
		{"page_size above xbb's maximum", "xbb", "  page_size: 101\n", "page_size", "to 100"},
		{"start not a time", "wdt", "  window:\n    start: yesterday\n", "window.start", "RFC 3339 time such as 2024-06-01T00:00:00+08:00"},
		{"start a date only", "xbb", "  window:\n    start: 2024-06-01\n", "window.start", "RFC 3339"},
		{"base_url without scheme", "jushuitan", "  base_url: openapi.jushuitan.com\n", "base_url", "http(s) URL with a host"},
		{"base_url not a url", "wdt", "  base_url: not a url\n", "base_url", "http(s) URL with a host"},
		{"base_url not a url xbb", "xbb", "  base_url: ftp://proapi.xbongbong.com\n", "base_url", "http(s) URL with a host"},
		{"lookback negative", "xbb", "  window:\n    lookback: -5m\n", "window.lookback", "duration of 0s or more"},
		{"lag negative", "jushuitan", "  window:\n    lag: -1s\n", "window.lag", "duration of 0s or more"},
		{"max_span zero", "wdt", "  window:\n    max_span: 0s\n", "window.max_span", "positive duration up to the vendor maximum of 720h"},
		{"max_span not a duration", "xbb", "  window:\n    max_span: soon\n", "window.max_span", "positive duration"},
		{"max_span above an interface's maximum", "wdt", "  api: trade_query.php\n  window:\n    max_span: 2h\n", "window.max_span", "vendor maximum of 1h"},
		{"lookback not shorter than max_span", "xbb", "  window:\n    max_span: 1h\n    lookback: 1h\n", "window.lookback", "shorter than window.max_span"},
		{"interface not in the catalogue", "jushuitan", "  api: /open/some/thing/query\n", "interface.id_fields", "erpsync catalogue jushuitan"},
		{"wdt interface not in the catalogue", "wdt", "  api: purchase_order_query.php\n", "interface.id_fields", "interface.document_id"},
		{"xbb interface not in the catalogue", "xbb", "  api: paymentSheet/list\n", "interface.id_fields", "interface.modified_fields"},
		{"interface max_span", "jushuitan", "  api: /open/some/thing/query\n  interface:\n    id_fields: [x_id]\n    max_span: 1h\n  window:\n    max_span: 2h\n", "window.max_span", "vendor maximum of 1h"},
		{"interface max_page_size", "wdt", "  api: purchase_order_query.php\n  interface:\n    id_fields: [purchase_id]\n    max_page_size: 40\n  page_size: 41\n", "page_size", "to 40"},
		{"both id settings", "wdt", "  api: purchase_order_query.php\n  interface:\n    id_fields: [a]\n    document_id: 'root = this.a'\n", "interface.id_fields", "not both"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conf := streamWith(tc.vendor, tc.extra)
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := run(t, "lint", p)
			if err == nil {
				t.Errorf("erpsync lint accepted:\n%s", conf)
			} else if !strings.Contains(out, tc.field) || !strings.Contains(out, tc.allowed) {
				t.Errorf("erpsync lint does not name %s and %q:\n%s", tc.field, tc.allowed, out)
			}
			runErr := buildAndRun(t, conf, nil)
			if runErr == nil || strings.Contains(runErr.Error(), "context deadline exceeded") {
				t.Fatalf("run accepted (%v):\n%s", runErr, conf)
			}
			// The clients say BaseURL for base_url.
			norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
			if !strings.Contains(norm(runErr.Error()), norm(tc.field)) {
				t.Errorf("run's error does not name %s: %v", tc.field, runErr)
			}
		})
	}
}

// TestLintAcceptsGoodVendorConfigs keeps the rules from refusing what run
// accepts (a rule that fails to evaluate refuses everything).
func TestLintAcceptsGoodVendorConfigs(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, c := range []struct{ vendor, extra string }{
		{"jushuitan", "  page_size: 50\n  window:\n    start: 2024-06-01T00:00:00+08:00\n    max_span: 168h\n    lookback: 0s\n    lag: 0s\n"},
		{"jushuitan", "  api: /open/webapi/wmsapi/skusn/queryinoutitemskusns\n  page_size: 1000\n  window:\n    max_span: 720h\n"},
		{"jushuitan", "  api: open/other/inout/query\n  base_url: \"\"\n  page_size: 0\n"},
		{"wdt", "  base_url: \"\"\n  page_size: 100\n  window:\n    start: \"2024-06-01T00:00:00Z\"\n    lookback: 10m\n"},
		{"wdt", "  api: trade_query.php\n  window:\n    max_span: 1h\n    lookback: 5m\n"},
		{"xbb", "  page_size: 100\n  window:\n    start: 2024-06-01T00:00:00.5+08:00\n    max_span: 2000h\n"},
		{"jushuitan", "  api: /open/some/thing/query\n  interface:\n    id_fields: [x_id]\n    list: items\n    max_span: 24h\n  window:\n    max_span: 24h\n"},
		{"wdt", "  api: purchase_order_query.php\n  interface:\n    document_id: 'root = this.purchase_no'\n  window:\n    max_span: 1h\n"},
		{"xbb", "  api: paymentSheet/list\n  interface:\n    id_fields: [dataId]\n"},
	} {
		p := filepath.Join(dir, "good"+string(rune('a'+i))+".yaml")
		if err := os.WriteFile(p, []byte(streamWith(c.vendor, c.extra)), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if out, err := run(t, append([]string{"lint"}, paths...)...); err != nil {
		t.Fatalf("erpsync lint refused good configs: %v\n%s", err, out)
	}
}

// A window.start in the future lints clean (Benthos v4.80.0 lint rules
// cannot warn without failing) and the input logs a warning when it starts.
func TestFutureStartLintsCleanAndWarnsAtRun(t *testing.T) {
	start := time.Now().Add(48 * time.Hour).Format(time.RFC3339)
	for vendor := range vendorInputs {
		t.Run(vendor, func(t *testing.T) {
			conf := streamWith(vendor, "  stop_when_caught_up: true\n  window:\n    start: "+start+"\n")
			p := filepath.Join(t.TempDir(), "future.yaml")
			if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := run(t, "lint", p); err != nil {
				t.Fatalf("erpsync lint refused a future window.start: %v\n%s", err, out)
			}
			var logs bytes.Buffer
			if err := buildAndRun(t, conf, &logs); err != nil {
				t.Fatalf("run: %v", err)
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "window.start "+start+" is in the future") {
				t.Fatalf("no warning about the future window.start:\n%s", logs.String())
			}
		})
	}
}
