package jushuitan

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/streamtest"
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
