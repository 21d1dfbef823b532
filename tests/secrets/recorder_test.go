package secrets

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// secretKey matches the name of a header, form or query parameter, or JSON
// key whose value is a credential, a session or a signature.
var secretKey = regexp.MustCompile(`(?i)sign|token|secret|session|authdata|password|passwd|cookie|authorization`)

// notSecretKey are names secretKey matches whose values are not secret
// (sign_method, token_type, session expiry times, ...).
var notSecretKey = regexp.MustCompile(`(?i)method|type|expire|time|ttl|version|headers|_in$`)

// recorder wraps the sandbox and keeps every credential-like value that
// passed in either direction: signatures and tokens the clients sent,
// tokens, sessions and cookies the sandbox issued.
type recorder struct {
	next http.Handler

	mu     sync.Mutex
	values map[string]string // value -> where it was seen
}

func newRecorder(next http.Handler) *recorder {
	return &recorder{next: next, values: map[string]string{}}
}

// Secrets returns the recorded values, value -> where it was seen.
func (rc *recorder) Secrets() map[string]string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]string, len(rc.values))
	for k, v := range rc.values {
		out[k] = v
	}
	return out
}

func (rc *recorder) keep(where, name, value string) {
	if !secretKey.MatchString(name) || notSecretKey.MatchString(name) {
		return
	}
	// "Bearer <token>", "a=b; c=d": keep each part.
	for _, part := range strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == ';' || r == ',' }) {
		if _, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(name, "cookie") {
			part = v
		}
		if len(part) < 8 || strings.EqualFold(part, "bearer") {
			continue
		}
		rc.mu.Lock()
		if _, ok := rc.values[part]; !ok {
			rc.values[part] = where + " " + name
		}
		rc.mu.Unlock()
	}
}

func (rc *recorder) keepJSON(where, name string, v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			rc.keepJSON(where, k, c)
		}
	case []any:
		for _, c := range t {
			rc.keepJSON(where, name, c)
		}
	case string:
		rc.keep(where, name, t)
		// Envelopes that carry JSON as a string (Jushuitan's biz, ...).
		if strings.HasPrefix(strings.TrimSpace(t), "{") {
			var inner any
			if json.Unmarshal([]byte(t), &inner) == nil {
				rc.keepJSON(where, name, inner)
			}
		}
	}
}

func (rc *recorder) keepBody(where, contentType string, body []byte) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/x-www-form-urlencoded":
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, vs := range form {
				for _, v := range vs {
					rc.keep(where+" form", k, v)
					if strings.HasPrefix(strings.TrimSpace(v), "{") {
						var inner any
						if json.Unmarshal([]byte(v), &inner) == nil {
							rc.keepJSON(where+" form "+k, k, inner)
						}
					}
				}
			}
		}
	default:
		var v any
		if json.Unmarshal(bytes.TrimSpace(body), &v) == nil {
			rc.keepJSON(where+" json", "", v)
		}
	}
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		rc.next.ServeHTTP(w, r)
		return
	}
	where := "request " + r.URL.Path
	for k, vs := range r.Header {
		for _, v := range vs {
			rc.keep(where+" header", k, v)
		}
	}
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			rc.keep(where+" query", k, v)
		}
	}
	body, _ := io.ReadAll(r.Body)
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	rc.keepBody(where, r.Header.Get("Content-Type"), body)

	tw := &teeWriter{ResponseWriter: w}
	rc.next.ServeHTTP(tw, r)
	where = "response " + r.URL.Path
	for k, vs := range w.Header() {
		for _, v := range vs {
			if strings.EqualFold(k, "Set-Cookie") {
				if c, err := http.ParseSetCookie(v); err == nil {
					rc.keep(where+" cookie "+c.Name, "cookie", c.Name+"="+c.Value)
				}
				continue
			}
			rc.keep(where+" header", k, v)
		}
	}
	rc.keepBody(where, w.Header().Get("Content-Type"), tw.body.Bytes())
}

// teeWriter keeps a copy of the response body.
type teeWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if t.body.Len() < 4<<20 {
		t.body.Write(p)
	}
	return t.ResponseWriter.Write(p)
}

// sortedKeys lists a map's keys in order, for messages.
func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
