// Package apiguard makes erpsync's HTTP server safe by default. The server
// is Benthos's (/ready, /ping, /metrics, and in streams mode the streams
// API); erpsync reaches it only through the hooks of Benthos's CLI
// (service.CLIOpt...), and this package holds everything it does there:
//
//   - the server listens on DefaultAddress, loopback only, unless
//     http.address says otherwise (the main config schema's default, set
//     by cmd/erpsync);
//   - a server that cannot listen (port taken, no permission, bad address)
//     ends the run with a ListenError naming the address and http.address,
//     where Benthos logs the failure and runs on without /ready and
//     /metrics;
//   - in streams mode, GET /streams/{id} answers the stream's config with
//     its secrets scrubbed as `erpsync echo` prints them (fields marked
//     Secret() and URL passwords become "!!!SECRET_SCRUBBED!!!", values
//     that are ${ENV} references stay), where Benthos answers the config
//     as it was read, secrets in clear text.
//
// Benthos v4.80.0 offers no hook around its HTTP handlers, so the last
// point relies on two facts of its internals, checked when the streams API
// starts (erpsync refuses to start it, naming --no-api, when either fails):
// the stream manager is the one field of service.RunningStreamSummary and
// serves HandleStreamCRUD; and its HTTP router tries routes in the order
// they were registered, so a route for /streams/{id} registered before the
// stream manager's answers every request for it. See gate.
package apiguard

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/urfave/cli/v2"

	"github.com/erpsync/erpsync/internal/console"
)

// DefaultAddress is where the HTTP server listens when http.address is not
// set: loopback only, because the server has no authentication by default
// and the streams API can create, change and delete streams. A container
// sets http.address: 0.0.0.0:4195 in its config.
const DefaultAddress = "127.0.0.1:4195"

const (
	// How long the first config hook waits for Benthos's server goroutine
	// to reach its listen call, and then for a failure of it to be logged.
	// A failure after that still ends the run (Guard cancels it).
	listenWait  = 5 * time.Second
	listenGrace = 100 * time.Millisecond
)

// ListenError is why the HTTP server could not listen.
type ListenError struct {
	Addr   string // http.address
	Reason string // as Benthos's server reported it
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("erpsync: the HTTP server (/ready, /metrics, the streams API) cannot listen on %s, the address set by http.address: %s; "+
		"stop what holds that address or set http.address to another one (http.enabled: false runs without the server)", e.Addr, e.Reason)
}

// Guard applies the package's rules to one run of Benthos's CLI. Pass
// CLIOpts to service.RunCLIToCode with a context whose cancel function was
// given to New; afterwards Err tells whether the server failed.
type Guard struct {
	env    *service.Environment
	cancel context.CancelFunc

	listening     chan struct{} // closed when the server goroutine starts listening
	listeningOnce sync.Once
	failed        chan struct{} // closed when err is set

	mu      sync.Mutex
	addr    string
	started bool // the config hook has returned: a failure now cancels the run
	err     *ListenError

	streamsAPI bool // `erpsync streams` without --no-api
	reg        registrar
	gate       *gate

	// console: what the run was given, for the console (internal/console).
	consoleCfg console.Config
}

// New returns a Guard for a CLI run that cancel stops; env is the
// environment of the run's plugins (service.GlobalEnvironment() for
// cmd/erpsync), whose specs say which fields are secrets.
func New(env *service.Environment, cancel context.CancelFunc) *Guard {
	return &Guard{
		env:       env,
		cancel:    cancel,
		listening: make(chan struct{}),
		failed:    make(chan struct{}),
		gate:      newGate(env),
	}
}

// CLIOpts are the options installing the guard. They take Benthos's
// single slots for the tee logger, the custom run-flag hook, the config
// hook and the stream-start hook: nothing else in the run may set those.
func (g *Guard) CLIOpts() []service.CLIOptFunc {
	return []service.CLIOptFunc{
		service.CLIOptAddTeeLogger(slog.New(watcher{g})),
		service.CLIOptCustomRunFlags(nil, g.onRun),
		service.CLIOptOnConfigParse(g.onConfigParse),
		service.CLIOptOnStreamStart(g.onStreamStart),
	}
}

// Err is why the HTTP server could not listen, or nil.
func (g *Guard) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		return nil
	}
	return g.err
}

// onRun is called first by `run` and `streams` (and the bare command).
func (g *Guard) onRun(c *cli.Context) error {
	g.streamsAPI = c.Command != nil && c.Command.Name == "streams" && !c.Bool("no-api")
	g.consoleCfg = consoleConfig(c)
	return nil
}

// consoleConfig is what the console needs of the command line: the stream
// configs the run reads and its resource files.
func consoleConfig(c *cli.Context) console.Config {
	cfg := console.Config{Mode: "run", Token: os.Getenv(console.TokenEnv)}
	// Benthos's subcommands repeat the root flags (-r, -c): the values may
	// be given on either side of the subcommand's name.
	seen := map[string]bool{}
	config := ""
	for _, lc := range c.Lineage() {
		for _, r := range lc.StringSlice("resources") {
			if !seen[r] {
				seen[r] = true
				cfg.Resources = append(cfg.Resources, r)
			}
		}
		if config == "" {
			config = lc.String("config")
		}
	}
	var paths []string
	if c.Command != nil && c.Command.Name == "streams" {
		cfg.Mode = "streams"
		paths = c.Args().Slice()
	} else if config != "" {
		paths = []string{config}
	} else if c.Args().Len() > 0 {
		paths = []string{c.Args().First()}
	}
	cfg.Streams = console.StreamFiles(paths)
	return cfg
}

// onConfigParse is called once the main config is read and the resources
// and the HTTP server are started, before any stream is created. An error
// ends the run before a stream starts.
func (g *Guard) onConfigParse(p *service.ParsedConfig) error {
	enabled, err := p.FieldBool("http", "enabled")
	if err != nil {
		return fmt.Errorf("erpsync: reading http.enabled: %w", err)
	}
	addr, err := p.FieldString("http", "address")
	if err != nil {
		return fmt.Errorf("erpsync: reading http.address: %w", err)
	}
	g.mu.Lock()
	g.addr = addr
	if g.err != nil && g.err.Addr == "" { // failed before this hook ran
		g.err.Addr = addr
	}
	g.mu.Unlock()

	if enabled {
		wait := time.NewTimer(listenWait)
		select {
		case <-g.listening:
			grace := time.NewTimer(listenGrace)
			select {
			case <-g.failed:
			case <-grace.C:
			}
			grace.Stop()
		case <-g.failed:
		case <-wait.C:
		}
		wait.Stop()
	}
	g.mu.Lock()
	g.started = true
	failure := g.err
	g.mu.Unlock()
	if failure != nil {
		return failure
	}

	if enabled {
		if err := g.mountConsole(p); err != nil {
			return err
		}
	}
	if !g.streamsAPI {
		return nil
	}
	if g.reg, err = registrarOf(p.Resources()); err != nil {
		return fmt.Errorf("erpsync: %w; the streams API cannot be served with its secrets scrubbed: run `erpsync streams --no-api`", err)
	}
	g.reg.RegisterEndpoint(gatePath, "Same as /streams/{id}, where GET answers the config with its secrets scrubbed (registered first, so that it answers every request for /streams/{id}).", g.gate.ServeHTTP)
	return nil
}

// onStreamStart is called once the stream, or in streams mode the stream
// manager with the configured streams, is created.
func (g *Guard) onStreamStart(s *service.RunningStreamSummary) error {
	if !g.streamsAPI {
		return nil
	}
	crud, err := streamsCRUD(s)
	if err != nil {
		return fmt.Errorf("erpsync: %w; the streams API cannot be served with its secrets scrubbed: run `erpsync streams --no-api`", err)
	}
	g.gate.open(crud)
	// The stream manager's own route is never reached (the gate's comes
	// first); point it at the gate too, should that order ever change.
	g.reg.RegisterEndpoint("/streams/{id}", "Perform CRUD operations on streams, supporting POST (Create), GET (Read, secrets scrubbed), PUT (Update), PATCH (Patch update) and DELETE (Delete).", g.gate.ServeHTTP)
	return nil
}

// mountConsole serves the console under /console/ on the HTTP server.
func (g *Guard) mountConsole(p *service.ParsedConfig) error {
	reg, err := registrarOf(p.Resources())
	if err != nil {
		return fmt.Errorf("erpsync: %w; the console cannot be served", err)
	}
	cfg := g.consoleCfg
	if p.Contains("http", "basic_auth", "enabled") {
		if cfg.BasicAuth, err = p.FieldBool("http", "basic_auth", "enabled"); err != nil {
			return fmt.Errorf("erpsync: reading http.basic_auth.enabled: %w", err)
		}
	}
	srv := console.New(cfg)
	reg.RegisterEndpoint(console.Path, "erpsync's operator console (streams, dead letters, records, checkpoints) and its JSON API under /console/api/.", srv.ServeHTTP)
	reg.RegisterEndpoint(strings.TrimSuffix(console.Path, "/"), "Redirects to /console/.", srv.ServeHTTP)
	return nil
}

func (g *Guard) serverListening() {
	g.listeningOnce.Do(func() { close(g.listening) })
}

func (g *Guard) serverFailed(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return
	}
	g.err = &ListenError{Addr: g.addr, Reason: reason}
	close(g.failed)
	if g.started {
		// The streams run already: stop them; main reports Err.
		g.cancel()
	}
}

// watcher reads the log of the run for the outcome of the server's listen
// call: Benthos logs it and offers no other way to learn it.
type watcher struct{ g *Guard }

func (w watcher) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (w watcher) Handle(_ context.Context, r slog.Record) error {
	switch msg := strings.TrimSpace(r.Message); {
	case strings.HasPrefix(msg, "Listening for HTTP requests at"):
		w.g.serverListening()
	case r.Level >= slog.LevelError && strings.HasPrefix(msg, "HTTP Server error:"):
		w.g.serverFailed(strings.TrimSpace(strings.TrimPrefix(msg, "HTTP Server error:")))
	}
	return nil
}

func (w watcher) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w watcher) WithGroup(string) slog.Handler      { return w }
