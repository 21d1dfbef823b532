package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
	"github.com/erpsync/erpsync/sandbox/jushuitan"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
	"github.com/erpsync/erpsync/sandbox/kis"
	"github.com/erpsync/erpsync/sandbox/wdt"
	"github.com/erpsync/erpsync/sandbox/xbb"
)

// DefaultAddr is where `erpsync sandbox` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:18080"

// Options configure a sandbox.
type Options struct {
	// Addr to listen on; "127.0.0.1:0" (the default of DefaultOptions) picks a free port.
	Addr string
	// Seed makes the generated data and the fault dice deterministic.
	Seed uint64
	// Records is the number of documents per source dataset.
	Records int
	// Limits enforces the vendors' published rate limits.
	Limits bool
	// Latency is added to every call, RowLatency per written row.
	Latency, RowLatency time.Duration
	// Faults in force at start; they can be changed later with SetFaults.
	Faults core.Faults

	Jushuitan jushuitan.Config
	WDT       wdt.Config
	XBB       xbb.Config
	K3Cloud   k3cloud.Config
	KIS       kis.Config

	// Now overrides the clock (tests); nil means time.Now.
	Now func() time.Time
}

// DefaultOptions are the documented defaults with a free port: seed 1, 1000
// records, real limits, no latency, no faults, default credentials.
func DefaultOptions() Options {
	return Options{
		Addr:      "127.0.0.1:0",
		Seed:      1,
		Records:   1000,
		Limits:    true,
		Jushuitan: jushuitan.DefaultConfig(),
		WDT:       wdt.DefaultConfig(),
		XBB:       xbb.DefaultConfig(),
		K3Cloud:   k3cloud.DefaultConfig(),
		KIS:       kis.DefaultConfig(),
	}
}

// DatasetNames are the source datasets, one per list interface: the keys
// Faults.Interfaces accepts and the names GET /_sandbox/source/{dataset}
// serves.
func DatasetNames() []string {
	out := []string{jushuitan.DatasetOtherInout, jushuitan.DatasetSkusn, jushuitan.DatasetSaleout, jushuitan.DatasetReceived,
		jushuitan.DatasetPurchasein, jushuitan.DatasetPurchaseout,
		jushuitan.DatasetOrders, jushuitan.DatasetRefund, jushuitan.DatasetInventory, jushuitan.DatasetSKU}
	out = append(out, wdt.DatasetNames()...)
	return append(out, xbb.DatasetNames()...)
}

// Server is a running (or ready to run) sandbox.
type Server struct {
	env     *core.Env
	sims    []core.Simulator
	handler http.Handler
	limits  bool

	srv *http.Server
	ln  net.Listener
	url string
}

// New builds a sandbox without listening; use Handler to serve it yourself
// or Start to listen.
func New(o Options) (*Server, error) {
	env, err := core.NewEnv(core.Options{
		Seed: o.Seed, Records: o.Records, Limits: o.Limits,
		Latency: o.Latency, RowLatency: o.RowLatency, Faults: o.Faults, Now: o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Server{env: env, limits: o.Limits}
	jst, err := jushuitan.New(env, o.Jushuitan)
	if err != nil {
		return nil, fmt.Errorf("sandbox: jushuitan: %w", err)
	}
	w, err := wdt.New(env, o.WDT)
	if err != nil {
		return nil, fmt.Errorf("sandbox: wdt: %w", err)
	}
	x, err := xbb.New(env, o.XBB)
	if err != nil {
		return nil, fmt.Errorf("sandbox: xbb: %w", err)
	}
	k3, err := k3cloud.New(env, o.K3Cloud)
	if err != nil {
		return nil, fmt.Errorf("sandbox: k3cloud: %w", err)
	}
	ks, err := kis.New(env, o.KIS)
	if err != nil {
		return nil, fmt.Errorf("sandbox: kis: %w", err)
	}
	s.sims = []core.Simulator{jst, w, x, k3, ks}
	// Per-interface faults can be checked only now that every simulator
	// registered its datasets.
	if err := o.Faults.CheckInterfaces(env.DatasetNames()); err != nil {
		return nil, fmt.Errorf("sandbox: faults: %w", err)
	}

	mux := http.NewServeMux()
	for _, sim := range s.sims {
		sim.Register(mux)
	}
	mux.HandleFunc("GET /_sandbox/faults", s.getFaults)
	mux.HandleFunc("POST /_sandbox/faults", s.postFaults)
	mux.HandleFunc("GET /_sandbox/stats", s.getStats)
	mux.HandleFunc("GET /_sandbox/source/{dataset}", s.getSource)
	mux.HandleFunc("POST /_sandbox/reset", s.postReset)
	mux.HandleFunc("POST /_sandbox/expire_tokens", func(w http.ResponseWriter, _ *http.Request) {
		s.ExpireTokens()
		core.WriteJSON(w, http.StatusOK, map[string]any{"expired": true})
	})
	mux.HandleFunc("GET /_sandbox/", func(w http.ResponseWriter, r *http.Request) {
		core.WriteJSON(w, http.StatusNotFound, map[string]any{"error": "unknown sandbox endpoint " + r.URL.Path})
	})
	s.handler = mux
	return s, nil
}

// Start builds a sandbox and serves it on o.Addr.
func Start(o Options) (*Server, error) {
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen on %s: %w", addr, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the base URL of a started sandbox, e.g. http://127.0.0.1:18080.
func (s *Server) URL() string { return s.url }

// Handler serves every vendor and the /_sandbox/ endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// Env exposes the shared state (stats, datasets, faults) to tests.
func (s *Server) Env() *core.Env { return s.env }

// SetFaults replaces the faults in force; per-interface entries must name
// one of DatasetNames.
func (s *Server) SetFaults(f core.Faults) error { return s.env.SetFaults(f) }

// Credentials returns every vendor's credentials, keyed by vendor name.
func (s *Server) Credentials() map[string]any {
	out := make(map[string]any, len(s.sims))
	for _, sim := range s.sims {
		out[sim.Name()] = sim.Credentials()
	}
	return out
}

// Close stops serving; calls held by the timeout fault are released.
func (s *Server) Close() error {
	s.env.Close()
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	return err
}

// ExpireTokens expires the access tokens in force at every vendor that
// issues them (Jushuitan; KIS tokens and sessions): the next call must
// renew. Also POST
// /_sandbox/expire_tokens.
func (s *Server) ExpireTokens() {
	for _, sim := range s.sims {
		if x, ok := sim.(interface{ ExpireTokens() }); ok {
			x.ExpireTokens()
		}
	}
}

// Reset restores the initial state of every simulator and clears the stats.
func (s *Server) Reset() {
	for _, sim := range s.sims {
		sim.Reset()
	}
	s.env.Stats.Reset()
}

func (s *Server) getFaults(w http.ResponseWriter, _ *http.Request) {
	core.WriteJSON(w, http.StatusOK, s.env.Faults())
}

func (s *Server) postFaults(w http.ResponseWriter, r *http.Request) {
	// Fields absent from the body keep their current value, also inside
	// "answers" and inside an entry of "interfaces" already present (see
	// core.InterfaceFaults for null and new entries).
	f := s.env.Faults()
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		core.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "faults: " + err.Error()})
		return
	}
	if err := s.env.SetFaults(f); err != nil {
		core.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "faults: " + err.Error()})
		return
	}
	core.WriteJSON(w, http.StatusOK, f)
}

// StatsReply is the body of GET /_sandbox/stats.
type StatsReply struct {
	// Requests counts calls by vendor and interface.
	Requests map[string]map[string]int `json:"requests"`
	// Answers counts calls by vendor, interface and answer code.
	Answers map[string]map[string]map[string]int `json:"answers"`
	// Targets counts the documents stored per target ("k3cloud/BD_Customer", "kis/bills").
	Targets map[string]int `json:"targets"`
	// Datasets counts the documents per source dataset.
	Datasets map[string]int `json:"datasets"`
	// Faults counts the answer faults applied, by vendor, interface and
	// kind: "null", "total_drift", "duplicate", "short_page". Those answers
	// are also counted under their code in Answers.
	Faults map[string]map[string]map[string]int `json:"faults"`
}

// Stats returns what GET /_sandbox/stats answers.
func (s *Server) Stats() StatsReply {
	ans := s.env.Stats.Snapshot()
	req := make(map[string]map[string]int, len(ans))
	for v, ifs := range ans {
		req[v] = map[string]int{}
		for i, codes := range ifs {
			for _, n := range codes {
				req[v][i] += n
			}
		}
	}
	ds := map[string]int{}
	names := s.env.DatasetNames()
	sort.Strings(names)
	for _, n := range names {
		ds[n] = s.env.Dataset(n).Len()
	}
	return StatsReply{Requests: req, Answers: ans, Targets: s.env.TargetCounts(), Datasets: ds, Faults: s.env.Stats.FaultSnapshot()}
}

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) {
	core.WriteJSON(w, http.StatusOK, s.Stats())
}

// SourceReply is the body of GET /_sandbox/source/{dataset}.
type SourceReply struct {
	Dataset   string          `json:"dataset"`
	Documents []core.TruthDoc `json:"documents"`
}

func (s *Server) getSource(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("dataset")
	ds := s.env.Dataset(name)
	if ds == nil {
		names := s.env.DatasetNames()
		sort.Strings(names)
		core.WriteJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("unknown dataset %q; known: %v", name, names)})
		return
	}
	docs := ds.Truth()
	if r.URL.Query().Get("full") == "1" {
		docs = ds.FullTruth()
	}
	core.WriteJSON(w, http.StatusOK, SourceReply{Dataset: name, Documents: docs})
}

func (s *Server) postReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	core.WriteJSON(w, http.StatusOK, map[string]any{"reset": true})
}
