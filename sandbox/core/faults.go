package core

import (
	"bytes"
	"net/http"
	"net/http/httptest"
)

// gatewayPage is what a reverse proxy in front of a vendor answers when the
// backend is down: HTML, not the vendor's JSON envelope.
const gatewayPage = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// Wrap applies the base latency and the transport faults (error_rate,
// timeout_rate) to a vendor's handler. Faults are recorded in Stats under
// the vendor and the request path.
func (e *Env) Wrap(vendor string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.Sleep(r.Context(), e.Latency)
		f := e.Faults()
		if e.Chance(f.ErrorRate) {
			if e.Chance(0.5) {
				e.Stats.Record(vendor, r.URL.Path, "http_502")
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write([]byte(gatewayPage))
				return
			}
			e.Stats.Record(vendor, r.URL.Path, "http_500")
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		if e.Chance(f.TimeoutRate) {
			e.Stats.Record(vendor, r.URL.Path, "timeout")
			if e.Chance(0.5) {
				// Served, then the answer is lost: a write lands unseen.
				rec := httptest.NewRecorder()
				rec.Body = &bytes.Buffer{}
				h.ServeHTTP(rec, r)
			}
			e.hang(r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hang keeps the connection open without answering until the client gives
// up or the sandbox closes; the connection is then dropped.
func (e *Env) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-e.closing:
	}
	panic(http.ErrAbortHandler)
}
