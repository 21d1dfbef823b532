// Package console is erpsync's operator console: a web page and the JSON
// API under it, served by every `erpsync run` and `erpsync streams` process
// on its HTTP server under /console/ (http.address, default
// 127.0.0.1:4195). It shows each stream's state, checkpoint, counts and
// vendor calls (internal/streamstate), the dead letters of every stream
// with their reason and documents, the record log of written documents,
// and lets an operator replay dead letters through the stream's own
// mapping and target, resolve them by hand with a note, and reset a
// checkpoint. The page is embedded (static/), with no build step and no
// CDN; every action is an endpoint of the API (see API in api.go and
// docs/console.md).
//
// Access: with ERPSYNC_CONSOLE_TOKEN set, every request must carry the
// token (Authorization: Bearer, or the cookie the page's sign-in sets);
// with Benthos's http.basic_auth enabled, Benthos checks that first. With
// neither, the console answers only requests from the loopback interface.
package console

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// TokenEnv is the environment variable holding the console's token.
const TokenEnv = "ERPSYNC_CONSOLE_TOKEN"

// Path is where the console is served.
const Path = "/console/"

const cookieName = "erpsync_console"

//go:embed static
var static embed.FS

// StreamFile is a stream config the process runs.
type StreamFile struct {
	Name string // the stream's name: the file's base name without extension
	Path string
}

// Config is how the process runs: what the console needs to replay.
type Config struct {
	Mode      string // "run" or "streams"
	Streams   []StreamFile
	Resources []string // -r globs
	// Token, when set, is required of every request.
	Token string
	// BasicAuth: Benthos's http.basic_auth is enabled and checks every
	// request before the console sees it.
	BasicAuth bool
	Now       func() time.Time
}

// Server serves the console.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	stores *stores
	jobs   *jobs
	mu     sync.Mutex
}

// New returns the console of a process run as cfg says.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), stores: newStores(), jobs: newJobs()}
	sub, _ := fs.Sub(static, "static")
	files := http.FileServer(http.FS(sub))
	s.mux.Handle(Path, http.StripPrefix(Path, noCache(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeErr(w, http.StatusMethodNotAllowed, "the page answers GET only")
			return
		}
		files.ServeHTTP(w, r)
	}))))
	s.routes()
	return s
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP checks access, then serves the page or the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == strings.TrimSuffix(Path, "/") {
		http.Redirect(w, r, Path, http.StatusFound)
		return
	}
	if r.URL.Path == Path+"api/login" && r.Method == http.MethodPost {
		s.login(w, r)
		return
	}
	if status, msg := s.allowed(r); status != 0 {
		if strings.HasPrefix(r.URL.Path, Path+"api/") || status == http.StatusForbidden {
			writeErr(w, status, msg)
			return
		}
		// The page itself loads; it asks for the token when the API refuses.
	}
	if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		// A cross-site form cannot send JSON without the browser asking first.
		writeErr(w, http.StatusUnsupportedMediaType, "send the request body as application/json")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// allowed says whether r may use the console: 0, or the status and reason.
func (s *Server) allowed(r *http.Request) (int, string) {
	if s.cfg.Token != "" {
		if tokenOK(s.cfg.Token, requestToken(r)) {
			return 0, ""
		}
		return http.StatusUnauthorized, "the console needs its token (" + TokenEnv + "): send Authorization: Bearer <token> or sign in on the page"
	}
	if s.cfg.BasicAuth {
		return 0, ""
	}
	if isLoopback(r.RemoteAddr) {
		return 0, ""
	}
	return http.StatusForbidden, "the console answers only 127.0.0.1 when no access is configured: set " + TokenEnv + " (or http.basic_auth) to open it to other hosts"
}

func requestToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return c.Value
	}
	return ""
}

func tokenOK(want, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// login sets the token cookie when the token is right.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "the body must be {\"token\": \"...\"}")
		return
	}
	if s.cfg.Token == "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "token_required": false})
		return
	}
	if !tokenOK(s.cfg.Token, body.Token) {
		writeErr(w, http.StatusUnauthorized, "wrong token")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: body.Token, Path: Path, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// apiError is the body of every failed API call.
type apiError struct {
	Error string `json:"error"`
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

var errNotFound = errors.New("not found")
