package wdt

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// signedFields returns the fields a signature covers: every received field
// except sign itself. Whether WDT drops empty values before checking is not
// documented [I]; the simulator signs exactly what it received, so a client
// that follows the contract (send no empty values) always matches.
func signedFields(params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for k, v := range params {
		if k != "sign" {
			out[k] = v
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // byte-wise ascending, as the contract says
	return keys
}

// packOpenapi2 builds the openapi2 string to sign:
// "<len(k) %02d>-<k>:<len(v) %04d>-<v>" joined by ";". Lengths are Unicode
// character counts (the official PHP demo's iconv_strlen); byteLen selects
// the UTF-8 byte-count variant some community ports compute instead.
// Padding is a minimum width, never a truncation (printf semantics).
func packOpenapi2(params map[string]string, byteLen bool) string {
	count := utf8.RuneCountInString
	if byteLen {
		count = func(s string) int { return len(s) }
	}
	var b strings.Builder
	for i, k := range sortedKeys(params) {
		if i > 0 {
			b.WriteByte(';')
		}
		v := params[k]
		fmt.Fprintf(&b, "%02d-%s:%04d-%s", count(k), k, count(v), v)
	}
	return b.String()
}

// openapi2Sign is lowercase hex md5(pack(params) + appsecret).
func openapi2Sign(params map[string]string, secret string, byteLen bool) string {
	sum := md5.Sum([]byte(packOpenapi2(params, byteLen) + secret))
	return hex.EncodeToString(sum[:])
}

// qimenSign is uppercase hex md5(secret + k1v1k2v2... + secret) over the
// byte-wise sorted keys, values un-encoded.
func qimenSign(params map[string]string, secret string) string {
	var b strings.Builder
	b.WriteString(secret)
	for _, k := range sortedKeys(params) {
		b.WriteString(k)
		b.WriteString(params[k])
	}
	b.WriteString(secret)
	sum := md5.Sum([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// signEqual compares exactly (in constant time): openapi2 signs are
// lowercase hex and Qimen signs uppercase hex, and a client that sends the
// wrong case has mixed the two schemes up, so it is not forgiven [I].
func signEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
