package jushuitan

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strings"
)

// Sign computes the openweb signature (contract 3.2): lowercase hex md5 of
// the app secret followed by key+value of every parameter in byte-wise key
// order. The secret is a prefix only; nothing is appended. params are
// exactly the fields that will be posted, without "sign", with their raw
// (not URL-encoded) values: the platform recomputes the digest over what it
// receives, so signing anything else gives code 10.
func Sign(params map[string]string, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys) // sort.Strings is byte-wise, as the platform orders keys
	var b strings.Builder
	b.WriteString(secret)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(params[k])
	}
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}
