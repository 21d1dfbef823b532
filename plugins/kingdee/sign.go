package kingdee

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// sdkXorKey is the constant the official SDKs XOR the AppID's secret part
// with to obtain the gateway key (PYSDK stores it ROT13-obfuscated).
const sdkXorKey = "0054f397c6234378b09ca7d3e5debce7"

// gatewayKey splits an AppID "<clientId>_<32-char encoded secret>" and
// derives the key that signs X-Api-Signature (k3cloud.md 3.1 step 1). A
// malformed AppID is a configuration error: the SDKs disagree on what to do
// with it (JSDK uses it unchanged, PYSDK signs with ""), so fail fast.
func gatewayKey(appID string) (clientID, clientSec string, err error) {
	parts := strings.Split(appID, "_")
	if len(parts) != 2 || parts[0] == "" || len(parts[1]) != 32 {
		return "", "", errors.New("auth.app_id must be <clientId>_<32-character secret>, as issued by the K3Cloud third-party system registration")
	}
	// The AppID travels in the X-Kd-Appkey and X-Api-ClientID headers: a
	// control character (or a newline, which base64 decoding skips) would
	// make net/http refuse every request, reported as a transient failure
	// retried forever. Issued AppIDs are digits, '_' and base64.
	for i := 0; i < len(appID); i++ {
		if c := appID[i]; c <= ' ' || c >= 0x7f {
			return "", "", fmt.Errorf("auth.app_id must be <clientId>_<32-character secret> of printable ASCII without spaces; byte %d is %#02x (check for a pasted newline or space)", i, c)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", fmt.Errorf("auth.app_id: the part after '_' is not base64: %w", err)
	}
	for i := range raw {
		raw[i] ^= sdkXorKey[i%len(sdkXorKey)]
	}
	return parts[0], base64.StdEncoding.EncodeToString(raw), nil
}

// kdHmac is the SDKs' HMAC: base64 of the lowercase hex text of
// HMAC-SHA256, not of the raw digest.
func kdHmac(content, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(content))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

// encodePath percent-encodes a URL path as UTF-8 with every byte outside the
// unreserved set (so also "/") written as %XX.
func encodePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// signHeaders returns the mode-A headers of one request to path (the URL
// path, e.g. /k3cloud/Kingdee...Save.common.kdsvc) at Unix second ts.
func signHeaders(path string, ts int64, clientID, clientSec, appID, appSecret, appData string) map[string]string {
	t := strconv.FormatInt(ts, 10)
	sts := "POST\n" + encodePath(path) + "\n\nx-api-nonce:" + t + "\nx-api-timestamp:" + t + "\n"
	return map[string]string{
		"X-Api-ClientID":     clientID,
		"X-Api-Auth-Version": "2.0",
		"x-api-timestamp":    t,
		"x-api-nonce":        t,
		"x-api-signheaders":  "x-api-timestamp,x-api-nonce",
		"X-Api-Signature":    kdHmac(sts, clientSec),
		"X-Kd-Appkey":        appID,
		"X-Kd-Appdata":       base64.StdEncoding.EncodeToString([]byte(appData)),
		"X-Kd-Signature":     kdHmac(appID+appData, appSecret),
	}
}

// loginSign is the LoginBySign sign: lowercase hex SHA-256 of the ordinal
// sort of the five values, concatenated (k3cloud.md 3.2).
func loginSign(acctID, username, appID, appSecret, ts string) string {
	v := []string{acctID, username, appID, appSecret, ts}
	sort.Strings(v) // Go compares strings bytewise: ordinal order
	sum := sha256.Sum256([]byte(strings.Join(v, "")))
	return hex.EncodeToString(sum[:])
}
