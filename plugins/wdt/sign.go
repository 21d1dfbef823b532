package wdt

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SignOpenapi2 is the openapi2 signature (docs/vendors/wdt.md section 3.1):
// the fields sorted by key, each packed as
// "<key length, 2 digits>-<key>:<value length, 4 digits>-<value>", joined
// by ";", the appsecret appended without separator, lowercase hex md5.
// params are the fields that will be posted, without "sign" (a "sign" entry
// is ignored, so a map can be re-signed after the fact).
func SignOpenapi2(params map[string]string, secret string) string {
	sum := md5.Sum([]byte(packOpenapi2(params) + secret))
	return hex.EncodeToString(sum[:])
}

// packOpenapi2 is the string SignOpenapi2 hashes, before the secret.
//
// Lengths are Unicode character counts, never bytes: WDT's PHP demo uses
// iconv_strlen, and the byte-count ports agree with it only for ASCII, so a
// Chinese shop_no ("店铺01": 4 characters, 8 bytes) is where they break.
// The padding is a minimum width (printf semantics): a value of 12345
// characters packs "12345", never a truncated "2345".
func packOpenapi2(params map[string]string) string {
	var b strings.Builder
	for i, k := range signedKeys(params) {
		if i > 0 {
			b.WriteByte(';')
		}
		v := params[k]
		b.WriteString(pad(utf8.RuneCountInString(k), 2))
		b.WriteByte('-')
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(pad(utf8.RuneCountInString(v), 4))
		b.WriteByte('-')
		b.WriteString(v)
	}
	return b.String()
}

// pad is printf("%0*d", width, n) without fmt's reflection.
func pad(n, width int) string {
	s := strconv.Itoa(n)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// SignQimen is the Qimen (TOP) md5 signature (section 3.2): secret, then
// every field but "sign" as key+value in byte-wise key order, values
// un-encoded (the timestamp keeps its space), then the secret again;
// uppercase hex. The secret is the Qimen/Taobao app secret of app_key, not
// the WDT appsecret.
func SignQimen(params map[string]string, secret string) string {
	var b strings.Builder
	b.WriteString(secret)
	for _, k := range signedKeys(params) {
		b.WriteString(k)
		b.WriteString(params[k])
	}
	b.WriteString(secret)
	sum := md5.Sum([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// signedKeys are params' keys except "sign", sorted byte-wise (Go's string
// order), as both schemes require.
func signedKeys(params map[string]string) []string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
