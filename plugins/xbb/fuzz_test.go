package xbb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
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

// FuzzSign: the sign header of any body and token (non-UTF-8, empty, huge)
// is 64 lowercase hex digits (leading zeros kept), the same on every run,
// and sha256(body || token).
func FuzzSign(f *testing.F) {
	f.Add([]byte(`{"corpid":"c","page":1}`), "token", uint16(1))
	f.Add([]byte{}, "", uint16(0))
	f.Add([]byte("\xff\xfe\x00值"), "令牌\xff", uint16(65535))
	f.Fuzz(func(t *testing.T, body []byte, token string, rep uint16) {
		body = bytes.Repeat(body, int(rep%1024)+1)
		s := Sign(body, token)
		if len(s) != 64 || strings.ToLower(s) != s {
			t.Fatalf("Sign = %q, want 64 lowercase hex digits", s)
		}
		if s2 := Sign(body, token); s2 != s {
			t.Fatalf("Sign is not deterministic: %q, %q", s, s2)
		}
		if sum := sha256.Sum256(append(append([]byte(nil), body...), token...)); s != hex.EncodeToString(sum[:]) {
			t.Fatalf("Sign = %q, want %x", s, sum)
		}
	})
}
