package jushuitan

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strings"
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
		for _, api := range []string{APIOtherInout, APISkusn} {
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

// FuzzSign: the openweb signature of any parameters (non-UTF-8, empty,
// huge values) is 32 lowercase hex digits, the same on every run whatever
// the map order, and equal to md5(secret + key+value in byte-wise key order).
func FuzzSign(f *testing.F) {
	f.Add("secret", "app_key", "k", "biz", `{"page_index":1}`, "timestamp", "1717207200", uint16(1))
	f.Add("", "", "", "", "", "", "", uint16(0))
	f.Add("密钥\xff", "值", "\xfe\x00", "B", "b", "a", "A", uint16(4096))
	f.Add("s", "k", "same", "k2", "same", "k", "dup", uint16(65535))
	f.Fuzz(func(t *testing.T, secret, k1, v1, k2, v2, k3, v3 string, rep uint16) {
		params := map[string]string{k1: v1, k2: strings.Repeat(v2, int(rep)), k3: v3}
		s := Sign(params, secret)
		if len(s) != 32 || strings.ToLower(s) != s {
			t.Fatalf("Sign = %q, want 32 lowercase hex digits", s)
		}
		if _, err := hex.DecodeString(s); err != nil {
			t.Fatalf("Sign = %q: %v", s, err)
		}
		for range 3 { // map iteration order differs between calls
			if s2 := Sign(params, secret); s2 != s {
				t.Fatalf("Sign is not deterministic: %q, %q", s, s2)
			}
		}
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) })
		h := md5.New()
		h.Write([]byte(secret))
		for _, k := range keys {
			h.Write([]byte(k + params[k]))
		}
		if want := hex.EncodeToString(h.Sum(nil)); s != want {
			t.Fatalf("Sign = %q, want %q", s, want)
		}
	})
}
