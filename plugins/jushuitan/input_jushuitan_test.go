package jushuitan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/streamtest"
	_ "github.com/erpsync/erpsync/plugins/state"
	"github.com/erpsync/erpsync/sandbox"
)

func TestIntegrationJushuitanInputReadsEveryDocumentOnce(t *testing.T) {
	box := streamtest.StartSandbox(t, 300)
	start := time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339)
	for _, tc := range []struct{ api, dataset, begin, end, span string }{
		{APIOtherInout, "jushuitan_other_inout", "modified_begin", "modified_end", "168h"},
		{APISkusn, "jushuitan_skusn", "create_time_start", "create_time_end", "720h"},
	} {
		t.Run(tc.dataset, func(t *testing.T) {
			d := streamtest.RunInput(t, fmt.Sprintf(`jushuitan:
  base_url: %s
  app_key: sandbox-jst-app
  app_secret: sandbox-jst-secret
  access_token: sandbox-jst-token
  refresh_token: sandbox-jst-refresh
  api: %s
  params: |
    root.%s = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
    root.%s = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
  window:
    start: %s
    max_span: %s
    lookback: 0s
    lag: 0s
  stop_when_caught_up: true
  checkpoint:
    cache: checkpoints
`, box.URL(), tc.api, tc.begin, tc.end, start, tc.span))
			streamtest.ExactlyOnce(t, box, tc.dataset, d)
		})
	}
}

func TestJushuitanInputLint(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"span above 7 days": {"app_key: a\napp_secret: s\naccess_token: t\napi: /open/other/inout/query\nwindow:\n  max_span: 200h\n", "above the vendor maximum of 168h"},
		"page above 50":     {"app_key: a\napp_secret: s\naccess_token: t\napi: /open/other/inout/query\npage_size: 51\n", "page_size 51 is above the vendor maximum 50"},
		"missing secret":    {"app_key: a\naccess_token: t\napi: /open/other/inout/query\n", "app_secret"},
	} {
		t.Run(name, func(t *testing.T) {
			err := service.NewStreamBuilder().AddInputYAML("jushuitan:\n  " + strings.ReplaceAll(strings.TrimSpace(tc.yaml), "\n", "\n  "))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestIntegrationJushuitanBadSecretStopsWithoutLeakingIt(t *testing.T) {
	box := streamtest.StartSandbox(t, 50)
	const secret = "wrong-secret-8c1f"
	var logs bytes.Buffer
	b := service.NewStreamBuilder()
	b.SetLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := b.AddInputYAML(fmt.Sprintf(`jushuitan:
  base_url: %s
  app_key: sandbox-jst-app
  app_secret: %s
  access_token: sandbox-jst-token
  refresh_token: sandbox-jst-refresh
  api: %s
  params: |
    root.modified_begin = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
    root.modified_end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
  window:
    max_span: 168h
`, box.URL(), secret, APIOtherInout)); err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML("drop: {}"); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The input ends by itself on a permanent error; the stream then stops.
	if err := s.Run(ctx); err != nil {
		t.Fatalf("stream: %v", err)
	}
	out := logs.String()
	want := "jushuitan: /open/other/inout/query: code 10"
	if !strings.Contains(out, want) {
		t.Fatalf("logs do not name vendor, interface and code (%q):\n%s", want, out)
	}
	for _, s := range []string{secret, "sandbox-jst-token", "sandbox-jst-refresh"} {
		if strings.Contains(out, s) {
			t.Fatalf("a secret (%s) appears in the logs:\n%s", s, out)
		}
	}
}

// The renewed token pair lands in the token_cache; through the state cache
// (what config/resources/erpsync.yaml declares for it) its file and spare
// copy are 0600 in a 0700 directory.
func TestIntegrationRenewedTokensWrittenOwnerOnly(t *testing.T) {
	// The sandbox clock jumps past the token lifetime after the first
	// page: the configured token is then expired, a renewed one is not.
	var offset atomic.Int64
	box := streamtest.StartSandbox(t, 120, func(o *sandbox.Options) {
		o.Jushuitan.TokenTTL = 2 * time.Minute
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	dir := filepath.Join(t.TempDir(), "state", "checkpoints")
	d := streamtest.RunInput(t, fmt.Sprintf(`jushuitan:
  base_url: %s
  app_key: sandbox-jst-app
  app_secret: sandbox-jst-secret
  access_token: sandbox-jst-token
  refresh_token: sandbox-jst-refresh
  token_cache: checkpoints
  api: %s
  params: |
    root.modified_begin = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
    root.modified_end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
  window:
    start: %s
    max_span: 168h
    lookback: 0s
    lag: 0s
  stop_when_caught_up: true
  checkpoint:
    cache: checkpoints
    key: jst_inout
`, box.URL(), APIOtherInout, time.Now().Add(-31*24*time.Hour).Format(time.RFC3339)),
		streamtest.WithCacheYAML("label: checkpoints\nstate:\n  directory: "+dir),
		streamtest.WithReject(func(int, service.MessageBatch) error {
			offset.CompareAndSwap(0, int64(5*time.Minute)) // within the 10 min timestamp tolerance
			return nil
		}))
	streamtest.ExactlyOnce(t, box, "jushuitan_other_inout", d)
	if n := box.Env().Stats.Count("jushuitan", "/openWeb/auth/refreshToken", "0"); n < 1 {
		t.Fatalf("no token refresh happened (%d): the renewal path was not exercised", n)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o700 {
		t.Errorf("state directory mode %v, want 0700", m)
	}
	key := "jushuitan_tokens_sandbox-jst-app"
	for _, name := range []string{key, key + ".spare", "jst_inout"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, m)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, key))
	if err != nil {
		t.Fatal(err)
	}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &pair); err != nil || pair.AccessToken == "" || pair.AccessToken == "sandbox-jst-token" {
		t.Fatalf("the token file does not hold the renewed pair (err %v)", err)
	}
}
