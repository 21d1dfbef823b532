// Package fuzzhttp serves fuzzer-chosen answers over real HTTP, so client
// fuzz targets exercise the whole read path: status, body, parsing.
package fuzzhttp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/erpsync/erpsync/internal/vendor"
)

// Server answers every request with the body and status last set.
type Server struct {
	URL    string
	body   atomic.Pointer[[]byte]
	status atomic.Int32
}

// Start serves until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{}
	empty := []byte{}
	s.body.Store(&empty)
	s.status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(s.status.Load()))
		_, _ = w.Write(*s.body.Load())
	}))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Answer sets what the next requests get; statuses outside 200..599 become 200.
func (s *Server) Answer(status int, body []byte) {
	if status < 200 || status > 599 {
		status = 200
	}
	b := append([]byte(nil), body...)
	s.body.Store(&b)
	s.status.Store(int32(status))
}

// CheckErr fails unless err is nil or a *vendor.Error naming the vendor and
// the interface: every bad answer must give a clear, classified error.
func CheckErr(tb testing.TB, err error, vendorName, iface string) {
	tb.Helper()
	if err == nil {
		return
	}
	var ve *vendor.Error
	if !errors.As(err, &ve) {
		tb.Fatalf("error is not a *vendor.Error: %T %v", err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, vendorName+": ") || !strings.Contains(msg, iface) {
		tb.Fatalf("error does not name vendor %q and interface %q: %s", vendorName, iface, msg)
	}
}
