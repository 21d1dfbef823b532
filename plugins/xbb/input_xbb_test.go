package xbb

import (
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/streamtest"
)

const streamTmpl = `
input:
  xbb:
    base_url: %s
    corpid: sandbox-xbb-corp
    token: sandbox-xbb-token
    api: product/list
    params: |
      root.conditions = [
        {"attr": "updateTime", "symbol": "greaterequal", "value": [@window_start.ts_unix()]},
        {"attr": "updateTime", "symbol": "lessequal", "value": [@window_end.ts_unix()]}
      ]
    window:
      start: %s
      max_span: 168h
      lookback: 0s
      lag: 0s
    stop_when_caught_up: true
    checkpoint:
      cache: checkpoints
      key: xbb_products
`

func TestIntegrationXBBInputReadsEveryProductOnce(t *testing.T) {
	box := streamtest.StartSandbox(t, 400)
	start := time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339)
	d := streamtest.RunInput(t, fmt.Sprintf(strings.TrimPrefix(streamTmpl, "\ninput:\n"), box.URL(), start))
	streamtest.ExactlyOnce(t, box, "xbb_products", d)
	for id, m := range d.Meta {
		if m["source_vendor"] != "xbb" || m["source_api"] != "product/list" || m["window_end"] == "" || m["source_modified"] == "" {
			t.Fatalf("metadata of %s: %v", id, m)
		}
	}
}

func TestXBBInputLint(t *testing.T) {
	env := service.GlobalEnvironment()
	for name, tc := range map[string]struct {
		yaml string
		want string
	}{
		"missing token": {"corpid: c\napi: product/list\n", "token"},
		"page size":     {"corpid: c\ntoken: t\napi: product/list\npage_size: 500\n", "xbb product/list: page_size 500 is above the vendor maximum 100"},
		"lookback":      {"corpid: c\ntoken: t\napi: product/list\nwindow:\n  max_span: 1h\n  lookback: 2h\n", "lookback must be shorter"},
	} {
		t.Run(name, func(t *testing.T) {
			b := env.NewStreamBuilder()
			err := b.AddInputYAML("xbb:\n  " + strings.ReplaceAll(strings.TrimSpace(tc.yaml), "\n", "\n  "))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
