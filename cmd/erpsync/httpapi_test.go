package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Fake credentials of the streams below; none may ever be served.
var fakeSecrets = []string{"s3cr3t-value-123", "t0ken-value-456", "r3fresh-value-789"}

// jstStream is a Jushuitan stream polling a closed local port, with the
// fake secrets (the refresh token from $JST_REFRESH, as a deployment would).
const jstStream = `
input:
  jushuitan:
    base_url: http://127.0.0.1:9
    app_key: visible-app-key
    app_secret: s3cr3t-value-123
    access_token: t0ken-value-456
    refresh_token: ${JST_REFRESH}
    api: /open/other/inout/query
output:
  drop: {}
`

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func assertNoSecret(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range fakeSecrets {
		if strings.Contains(body, s) {
			t.Errorf("%s serves the secret %s:\n%s", what, s, body)
		}
	}
}

// TestHTTPStreamsAPIScrubsSecrets: in streams mode no endpoint that answers
// configs serves a configured secret, for streams read from files and
// streams created through the API, whichever root path is used.
func TestHTTPStreamsAPIScrubsSecrets(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "jst.yaml"), jstStream)
	addr := unusedAddr(t)
	p := startBackground(t, []string{"JST_REFRESH=r3fresh-value-789"},
		"streams", "--set", "http.address="+addr, "--set", "http.debug_endpoints=true", "--log.level", "info", dir)
	p.waitOutput(t, "Launching erpsync in streams mode", time.Minute)
	base := "http://" + addr

	// A stream created through the API, secrets in its body.
	body := strings.ReplaceAll(jstStream, "${JST_REFRESH}", "r3fresh-value-789")
	resp, err := http.Post(base+"/streams/posted", "application/yaml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /streams/posted: HTTP %d", resp.StatusCode)
	}

	for _, path := range []string{"/streams/jst", "/benthos/streams/jst", "/streams/posted"} {
		code, got := httpGet(t, base+path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d %s", path, code, got)
		}
		assertNoSecret(t, "GET "+path, got)
		// The config is there, secrets scrubbed as erpsync echo does.
		if !strings.Contains(got, "visible-app-key") || strings.Count(got, "!!!SECRET_SCRUBBED!!!") != 3 {
			t.Errorf("GET %s does not answer the scrubbed config:\n%s", path, got)
		}
	}
	for _, path := range []string{"/streams", "/endpoints", "/debug/config/json", "/debug/config/yaml", "/streams/jst/stats", "/version"} {
		code, got := httpGet(t, base+path)
		if code != http.StatusOK {
			t.Errorf("GET %s: HTTP %d %s", path, code, got)
		}
		assertNoSecret(t, "GET "+path, got)
	}
	if code, _ := httpGet(t, base+"/streams/nope"); code != http.StatusNotFound {
		t.Errorf("GET /streams/nope: HTTP %d, want 404", code)
	}

	// The rest of the API still reaches the stream manager.
	req, _ := http.NewRequest(http.MethodPatch, base+"/streams/jst", strings.NewReader(`{"output":{"drop":{}}}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH /streams/jst: %v %v", err, resp)
	}
	req, _ = http.NewRequest(http.MethodDelete, base+"/streams/posted", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE /streams/posted: %v %v", err, resp)
	}
	if code, _ := httpGet(t, base+"/streams/posted"); code != http.StatusNotFound {
		t.Errorf("GET /streams/posted after DELETE: HTTP %d, want 404", code)
	}
	assertNoSecret(t, "the log", p.out.String())
}

// TestHTTPRunModeDebugConfigScrubbed: in run mode the debug endpoints serve
// the whole config, the stream's secrets scrubbed.
func TestHTTPRunModeDebugConfigScrubbed(t *testing.T) {
	addr := unusedAddr(t)
	cfg := filepath.Join(t.TempDir(), "jst.yaml")
	writeFile(t, cfg, "http:\n  address: "+addr+"\n  debug_endpoints: true\n"+jstStream)
	p := startBackground(t, []string{"JST_REFRESH=r3fresh-value-789"}, "run", "--log.level", "info", cfg)
	p.waitOutput(t, "Launching a erpsync instance", time.Minute)
	for _, path := range []string{"/debug/config/json", "/debug/config/yaml"} {
		code, got := httpGet(t, "http://"+addr+path)
		if code != http.StatusOK || !strings.Contains(got, "visible-app-key") {
			t.Errorf("GET %s: HTTP %d %s", path, code, got)
		}
		assertNoSecret(t, "GET "+path, got)
	}
	if code, _ := httpGet(t, "http://"+addr+"/streams/jst"); code != http.StatusNotFound {
		t.Errorf("run mode serves /streams/{id}: HTTP %d", code)
	}
}

// TestHTTPDefaultAddressIsLoopback: without http.address the server listens
// on 127.0.0.1:4195 only. Port 4195 may be taken on a shared machine; then
// erpsync must refuse to run, naming 127.0.0.1:4195, which proves the
// default as well.
func TestHTTPDefaultAddressIsLoopback(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "default.yaml")
	writeFile(t, cfg, "input:\n  generate:\n    interval: 1h\n    mapping: 'root = {}'\noutput:\n  drop: {}\n")
	if out, err := run(t, "echo", cfg); err != nil || !strings.Contains(out, "address: 127.0.0.1:4195") {
		t.Fatalf("erpsync echo does not show the default http.address 127.0.0.1:4195: %v\n%s", err, out)
	}

	p := startBackground(t, nil, "run", "--log.level", "info", cfg)
	p.waitOutput(t, "Listening for HTTP requests at: ", time.Minute)
	if !strings.Contains(p.out.String(), "Listening for HTTP requests at: http://127.0.0.1:4195") {
		t.Fatalf("the server does not listen at 127.0.0.1:4195:\n%s", p.out)
	}
	select {
	case <-p.done:
		if !strings.Contains(p.out.String(), "cannot listen on 127.0.0.1:4195") {
			t.Fatalf("erpsync ended (%v):\n%s", p.err, p.out)
		}
		t.Log("port 4195 is taken on this machine; erpsync refused it, naming 127.0.0.1:4195")
		return
	case <-time.After(2 * time.Second):
	}
	addrs, ok := listeningAddrs(t, p.cmd.Process.Pid)
	if !ok {
		t.Log("no /proc: the listening sockets are not checked")
	} else if !slices.Equal(addrs, []string{"127.0.0.1:4195"}) {
		t.Fatalf("erpsync listens on %v, want only 127.0.0.1:4195", addrs)
	}
	if code, got := httpGet(t, "http://127.0.0.1:4195/ping"); code != http.StatusOK || got != "pong" {
		t.Fatalf("GET /ping: HTTP %d %q", code, got)
	}
}

// TestHTTPExplicitAddressHonoured: http.address set to every interface is
// where the server listens.
func TestHTTPExplicitAddressHonoured(t *testing.T) {
	_, port, _ := net.SplitHostPort(unusedAddr(t))
	cfg := filepath.Join(t.TempDir(), "explicit.yaml")
	writeFile(t, cfg, "http:\n  address: 0.0.0.0:"+port+"\ninput:\n  generate:\n    interval: 1h\n    mapping: 'root = {}'\noutput:\n  drop: {}\n")
	p := startBackground(t, nil, "run", "--log.level", "info", cfg)
	p.waitOutput(t, "Launching a erpsync instance", time.Minute)
	// Go listens on every interface with one dual-stack socket where it can.
	if addrs, ok := listeningAddrs(t, p.cmd.Process.Pid); ok && !slices.Equal(addrs, []string{"0.0.0.0:" + port}) && !slices.Equal(addrs, []string{"[::]:" + port}) {
		t.Fatalf("erpsync listens on %v, want 0.0.0.0:%s or [::]:%s", addrs, port, port)
	}
	if code, got := httpGet(t, "http://127.0.0.1:"+port+"/ping"); code != http.StatusOK || got != "pong" {
		t.Fatalf("GET /ping: HTTP %d %q", code, got)
	}
}

// TestHTTPPortInUse: with http.address taken, `run` and `streams` exit
// non-zero at once, naming the address and the field.
func TestHTTPPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	addr := l.Addr().String()
	dir := t.TempDir()
	stream := "input:\n  generate:\n    interval: 1s\n    mapping: 'root = {}'\noutput:\n  drop: {}\n"
	writeFile(t, filepath.Join(dir, "run.yaml"), "http:\n  address: "+addr+"\n"+stream)
	streams := filepath.Join(dir, "streams")
	writeFile(t, filepath.Join(dir, "root.yaml"), "http:\n  address: "+addr+"\n")
	if err := os.MkdirAll(streams, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(streams, "s.yaml"), stream)

	for name, args := range map[string][]string{
		"run":              {"run", filepath.Join(dir, "run.yaml")},
		"streams":          {"streams", "-o", filepath.Join(dir, "root.yaml"), streams},
		"streams --no-api": {"streams", "--no-api", "--set", "http.address=" + addr, streams},
	} {
		t.Run(name, func(t *testing.T) {
			p := startBackground(t, nil, args...)
			err := p.wait(t, 30*time.Second)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("erpsync %v: %v, want a non-zero exit\n%s", args, err, p.out)
			}
			out := p.out.String()
			if !strings.Contains(out, "cannot listen on "+addr) || !strings.Contains(out, "http.address") || !strings.Contains(out, "address already in use") {
				t.Fatalf("erpsync %v does not say the address %s (http.address) is in use:\n%s", args, addr, out)
			}
		})
	}
}
