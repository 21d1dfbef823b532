package wdt

import (
	"fmt"
	"strings"
	"testing"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/streamtest"
)

func TestIntegrationWDTInputReadsEveryShopOnce(t *testing.T) {
	box := streamtest.StartSandbox(t, 250)
	for _, proto := range []string{"openapi2", "qimen"} {
		t.Run(proto, func(t *testing.T) {
			api, creds := "shop.php", "appkey: sandbox-wdt-key\n  appsecret: sandbox-wdt-secret"
			if proto == "qimen" {
				api, creds = "wdt.shop.query", "app_key: sandbox-qm-app\n  app_secret: sandbox-qm-secret\n  target_app_key: sandbox-qm-target"
			}
			got := map[string]int{}
			// Disabled shops are listed only when asked for: two full reads.
			for _, disabled := range []int{0, 1} {
				d := streamtest.RunInput(t, fmt.Sprintf(`wdt:
  base_url: %s
  protocol: %s
  sid: sandbox-wdt-sid
  %s
  api: %s
  params: 'root.is_disabled = %d'
  page_size: 40
  stop_when_caught_up: true
`, box.URL(), proto, creds, api, disabled))
				for id, n := range d.Count {
					got[id] += n
				}
			}
			streamtest.ExactlyOnce(t, box, "wdt_shops", streamtest.Delivered{Count: got})
		})
	}
}

func TestWDTInputLintNeedsProtocolCredentials(t *testing.T) {
	err := service.NewStreamBuilder().AddInputYAML("wdt:\n  protocol: qimen\n  sid: s\n  api: wdt.shop.query\n  app_key: a\n")
	if err == nil || !strings.Contains(err.Error(), "protocol qimen needs app_key, app_secret and target_app_key") {
		t.Fatalf("got %v", err)
	}
}
