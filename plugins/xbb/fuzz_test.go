package xbb

import (
	"context"
	"testing"

	"github.com/erpsync/erpsync/internal/fuzzhttp"
)

// FuzzFetchPage feeds arbitrary answers to the client: it must never panic,
// and every failure must be a vendor error naming vendor and interface.
func FuzzFetchPage(f *testing.F) {
	for _, seed := range []string{
		`{"code":1,"success":true,"msg":"操作成功","result":{"list":[{"dataId":1000001,"updateTime":1717207200,"data":{"serialNo":"SKU00001"}}],"totalCount":1,"totalPage":1}}`,
		`{"code":1,"result":{"list":[{"dataId":"x"}]}}`,
		`{"code":1,"result":{"list":[{"dataId":1,"updateTime":-5}]}}`,
		`{"code":1,"result":{"list":{}}}`,
		`{"code":100010,"success":false,"msg":"签名错误"}`,
		`{"code":100050,"msg":"请求频率超过20次/秒"}`,
		`{"success":true}`,
		`<html>502</html>`,
		`{"code":1,"result":{"list":[`,
		"\xff\xfe",
		``,
		`null`,
	} {
		f.Add(200, []byte(seed))
	}
	f.Add(503, []byte(`Service Unavailable`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		srv := fuzzhttp.Start(t)
		srv.Answer(status, body)
		c, err := NewClient(ClientConfig{BaseURL: srv.URL, Corpid: "c", Token: "t"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.FetchPage(context.Background(), "product/list", map[string]any{"k": "值"}, 0, 100)
		fuzzhttp.CheckErr(t, err, "xbb", "product/list")
		if err == nil {
			for _, d := range p.Docs {
				if d.ID == "" {
					t.Fatalf("document without id from %q", body)
				}
			}
		}
	})
}
