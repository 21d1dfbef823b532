package xbb

import (
	"crypto/sha256"
	"encoding/hex"
)

// Sign returns the value of the sign header for body: lowercase hex of
// sha256(body || token), token appended with no separator.
//
// The digest is hex-encoded byte by byte, so the result always has 64
// digits: one public client formats it as a big integer and drops leading
// zeros, which makes about one request in sixteen fail with a bad sign.
// body must be the exact bytes sent on the wire.
func Sign(body []byte, token string) string {
	h := sha256.New()
	h.Write(body)
	h.Write([]byte(token))
	return hex.EncodeToString(h.Sum(nil))
}
