package jushuitan

import (
	"context"
	"testing"

	"github.com/erpsync/erpsync/internal/fuzzhttp"
)

// FuzzFetchPage feeds arbitrary answers to the client: it must never panic,
// and every failure must be a vendor error naming vendor and interface.
func FuzzFetchPage(f *testing.F) {
	for _, seed := range []string{
		`{"code":0,"msg":"执行成功","data":{"page_index":1,"page_size":50,"data_count":1,"page_count":1,"has_next":false,"datas":[{"io_id":10001,"modified":"2024-06-01 10:05:00","items":[]}]}}`,
		`{"code":0,"data":[{"io_id":1,"sku_sn":"SN1","create_time":"2024-06-01 10:00:00"}]}`,
		`{"code":0,"data":{"datas":[{"io_id":"x"}],"has_next":true}}`,
		`{"code":0,"data":{"datas":[{"modified":"garbage"}]}}`,
		`{"code":10,"msg":"验证失败！无效签名"}`,
		`{"code":"199","msg":"调用频次超过限制"}`,
		`{"code":0,"data":null}`,
		`{"code":0,"data":{"datas":{}}}`,
		`<html><body>502 Bad Gateway</body></html>`,
		`{"code":0,"data":{"datas":[`,
		"\xff\xfe{\"code\":0}",
		``,
		`[]`,
		`{"code":1e400}`,
	} {
		f.Add(200, []byte(seed))
	}
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Add(404, []byte(`not found`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		srv := fuzzhttp.Start(t)
		srv.Answer(status, body)
		c, err := NewClient(ClientConfig{BaseURL: srv.URL, AppKey: "k", AppSecret: "s", AccessToken: "t", RefreshToken: "r", Provider: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, api := range []string{APIOtherInout, APISkusn, "/open/other/api"} {
			p, err := c.FetchPage(context.Background(), api, map[string]any{"x": "值"}, 0, 50)
			fuzzhttp.CheckErr(t, err, "jushuitan", api)
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
