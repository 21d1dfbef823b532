package wdt

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

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

// FuzzSign: both WDT signatures of any parameters (non-UTF-8, empty, huge
// values) are 32 hex digits (openapi2 lowercase, Qimen uppercase), the same
// on every run, blind to a "sign" entry, and equal to a reference built
// with fmt's printf padding.
func FuzzSign(f *testing.F) {
	f.Add("appsecret", "shop_no", "店铺01", "timestamp", "2024-06-01 10:00:00", "sid", "s", uint16(1))
	f.Add("", "", "", "", "", "", "", uint16(0))
	f.Add("\xff", "值\xfe", "\xff\xfe", "a", "b", "sign", "ignored", uint16(12345))
	f.Add("s", "k", "v", "k", "dup", "x", "", uint16(65535))
	f.Fuzz(func(t *testing.T, secret, k1, v1, k2, v2, k3, v3 string, rep uint16) {
		params := map[string]string{k1: v1, k2: strings.Repeat(v2, int(rep)), k3: v3}
		o, q := SignOpenapi2(params, secret), SignQimen(params, secret)
		if len(o) != 32 || strings.ToLower(o) != o {
			t.Fatalf("SignOpenapi2 = %q, want 32 lowercase hex digits", o)
		}
		if len(q) != 32 || strings.ToUpper(q) != q {
			t.Fatalf("SignQimen = %q, want 32 uppercase hex digits", q)
		}
		for range 3 { // map iteration order differs between calls
			if o2, q2 := SignOpenapi2(params, secret), SignQimen(params, secret); o2 != o || q2 != q {
				t.Fatalf("signatures are not deterministic: %q %q, %q %q", o, o2, q, q2)
			}
		}
		withSign := maps.Clone(params)
		withSign["sign"] = "0123456789abcdef"
		if SignOpenapi2(withSign, secret) != SignOpenapi2(without(params, "sign"), secret) ||
			SignQimen(withSign, secret) != SignQimen(without(params, "sign"), secret) {
			t.Fatal("a sign entry changes the signature")
		}
		keys := slices.Sorted(maps.Keys(without(params, "sign")))
		packed := make([]string, len(keys))
		var top strings.Builder
		top.WriteString(secret)
		for i, k := range keys {
			packed[i] = fmt.Sprintf("%02d-%s:%04d-%s", utf8.RuneCountInString(k), k, utf8.RuneCountInString(params[k]), params[k])
			top.WriteString(k + params[k])
		}
		top.WriteString(secret)
		if sum := md5.Sum([]byte(strings.Join(packed, ";") + secret)); o != hex.EncodeToString(sum[:]) {
			t.Fatalf("SignOpenapi2 = %q, want %x", o, sum)
		}
		if sum := md5.Sum([]byte(top.String())); q != strings.ToUpper(hex.EncodeToString(sum[:])) {
			t.Fatalf("SignQimen = %q, want %X", q, sum)
		}
	})
}

func without(m map[string]string, key string) map[string]string {
	out := maps.Clone(m)
	delete(out, key)
	return out
}
