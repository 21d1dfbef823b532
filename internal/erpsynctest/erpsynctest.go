// Package erpsynctest runs the erpsync binary in tests: built once per test
// process (or taken from $ERPSYNC_BIN, which tests/run.sh sets).
package erpsynctest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of an erpsync binary built from this tree.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("ERPSYNC_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "erpsync-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "erpsync")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/erpsync")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// RepoRoot is the root of the erpsync tree.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Path joins a path relative to the repository root.
func Path(rel string) string { return filepath.Join(RepoRoot(), rel) }

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// WaitListening waits until addr accepts connections.
func WaitListening(tb testing.TB, addr string, timeout time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("nothing listens at %s after %s: %v", addr, timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
