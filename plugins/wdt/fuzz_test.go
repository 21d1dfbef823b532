package wdt

import (
	"context"
	"testing"

	"github.com/erpsync/erpsync/internal/fuzzhttp"
)

// FuzzFetchPage feeds arbitrary answers to both protocols: never a panic,
// every failure a vendor error naming vendor and interface.
func FuzzFetchPage(f *testing.F) {
	for _, seed := range []string{
		`{"code":0,"message":"","total_count":1,"shoplist":[{"shop_id":1,"shop_no":"店铺01","modified":"2024-06-01 10:00:00"}]}`,
		`{"response":{"errorcode":0,"total_count":1,"shoplist":[{"shop_id":"1"}]}}`,
		`{"response":{"flag":"failure","code":"sign-check-failure","message":"Illegal request"}}`,
		`{"code":2020,"message":"调用频率超限,请稍后再试"}`,
		`{"code":0,"total_count":"x","shoplist":{}}`,
		`{"code":0,"total_count":5,"shoplist":[{"shop_no":"x"}]}`,
		`<html>502</html>`,
		`{"code":0,"shoplist":[`,
		"\xff",
		``,
	} {
		f.Add(200, []byte(seed))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		srv := fuzzhttp.Start(t)
		srv.Answer(status, body)
		for _, cfg := range []ClientConfig{
			{BaseURL: srv.URL, Protocol: ProtocolOpenapi2, SID: "s", AppKey: "k", AppSecret: "x"},
			{BaseURL: srv.URL, Protocol: ProtocolQimen, SID: "s", QimenAppKey: "a", QimenAppSecret: "b", TargetAppKey: "c"},
		} {
			c, err := NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			api := "shop.php"
			if cfg.Protocol == ProtocolQimen {
				api = "wdt.shop.query"
			}
			p, err := c.FetchPage(context.Background(), api, map[string]any{"shop_no": "店铺01"}, 0, 100)
			fuzzhttp.CheckErr(t, err, "wdt", api)
			if err == nil {
				for _, d := range p.Docs {
					if d.ID == "" {
						t.Fatalf("document without id from %q", body)
					}
				}
			}
		}
	})
}
