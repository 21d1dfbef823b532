package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/internal/console"
)

// Demo tables of the console (dropped at the start of a demo with --console).
const (
	demoDeadLetterTable = "erpsync_demo_dead_letters"
	demoRecordsTable    = "erpsync_demo_records"
)

// serveConsole serves the console of the demo's streams at o.ConsoleAddr
// until ctx ends: the streams' state and counts (they ran in this process),
// their dead letters and records in MySQL, and replays through the same
// shipped configs, against the sandbox that is still running.
func (r *run) serveConsole(ctx context.Context, w io.Writer) error {
	dir := filepath.Join(r.o.StateDir, "console")
	var streams []console.StreamFile
	for _, p := range pipelines {
		path, err := copyConfig(dir, "streams/"+p.stream+".yaml")
		if err != nil {
			return err
		}
		streams = append(streams, console.StreamFile{Name: p.stream, Path: path})
	}
	res, err := fs.Glob(config.FS, "resources/*.yaml")
	if err != nil {
		return err
	}
	for _, p := range res {
		if _, err := copyConfig(dir, p); err != nil {
			return err
		}
	}
	// A replay builds the stream again: it reads the demo's environment.
	for k, v := range r.env {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	srv := console.New(console.Config{Mode: "demo", Streams: streams, Resources: []string{filepath.Join(dir, "resources", "*.yaml")},
		Token: os.Getenv(console.TokenEnv)})
	mux := http.NewServeMux()
	mux.Handle(console.Path, srv)
	mux.Handle("/", http.RedirectHandler(console.Path, http.StatusFound))
	ln, err := net.Listen("tcp", r.o.ConsoleAddr)
	if err != nil {
		return fmt.Errorf("demo: the console cannot listen on %s (--console-addr): %w", r.o.ConsoleAddr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(w, "\nConsole: http://%s%s — the demo's streams, dead letters and records; Ctrl-C stops it.\n", ln.Addr(), console.Path)
	if r.db == nil {
		fmt.Fprintln(w, "(No MySQL answers at MYSQL_DSN: the console shows the streams, without dead-letter table or records.)")
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// copyConfig writes an embedded config file under dir and returns its path.
func copyConfig(dir, name string) (string, error) {
	raw, err := config.FS.ReadFile(name)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, raw, 0o600)
}
