package core

import (
	"encoding/json"
	"net/http"
)

// Simulator is what every vendor package of the sandbox provides. The root
// package (sandbox) builds one of each, registers their routes on one mux
// and serves them on one listener.
type Simulator interface {
	// Name is the vendor name used in Stats ("jushuitan", "wdt", "xbb", "k3cloud", "kis").
	Name() string
	// Register adds the vendor's real paths (wrapped with Env.Wrap so
	// transport faults apply) and its /_sandbox/... introspection paths
	// (not wrapped) to mux.
	Register(mux *http.ServeMux)
	// Reset restores the initial state: datasets regenerated from the seed
	// and re-registered with the Env, targets emptied, tokens and sessions
	// forgotten, rate limiters cleared.
	Reset()
	// Credentials returns the credentials clients need, JSON-encodable; the
	// sandbox prints them at start.
	Credentials() any
}

// WriteJSON answers v as JSON with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// TargetDoc is one document of a target store, as GET /_sandbox/k3cloud/{FormId}
// and GET /_sandbox/kis/bills answer: {"documents": [TargetDoc, ...]}.
type TargetDoc struct {
	Number string         `json:"number"`
	Writes int            `json:"writes"` // successful saves of this number
	Data   map[string]any `json:"data"`
}
