package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckHealth(t *testing.T) {
	answer := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/ready" || r.Method != http.MethodGet {
				http.Error(w, "wrong request "+r.Method+" "+r.URL.Path, http.StatusTeapot)
				return
			}
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL + "/ready"
	closed.Close()

	cases := map[string]struct {
		handler http.HandlerFunc // nil: url is used as it is
		url     string
		timeout time.Duration
		want    []string // substrings of the error; nil: no error
	}{
		"ready":          {handler: answer(200, "OK")},
		"not ready":      {handler: answer(503, "error: output not connected\n  kafka\n"), want: []string{"not ready", "503 Service Unavailable", "error: output not connected kafka"}},
		"server error":   {handler: answer(500, ""), want: []string{"not ready: 500 Internal Server Error"}},
		"redirect is ok": {handler: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ready", http.StatusFound) }, url: "/elsewhere"},
		"refused":        {url: closedURL, want: []string{closedURL, "refused", "is erpsync running"}},
		"timeout": {handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			timeout: 100 * time.Millisecond, want: []string{"no answer within 100ms"}},
		"bad url":     {url: "::nope", want: []string{`--url "::nope"`}},
		"bad timeout": {url: "http://127.0.0.1:9/ready", timeout: -time.Second, want: []string{"--timeout -1s: must be positive"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			url := tc.url
			if tc.handler != nil {
				mux := http.NewServeMux()
				mux.HandleFunc("/", tc.handler)
				if name == "redirect is ok" {
					mux.HandleFunc("/ready", answer(200, "OK"))
				}
				srv := httptest.NewServer(mux)
				t.Cleanup(srv.Close)
				if url == "" {
					url = "/ready"
				}
				url = srv.URL + url
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			err := checkHealth(context.Background(), url, timeout)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("checkHealth(%s) = %v, want ready", url, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("checkHealth(%s) = nil, want an error containing %q", url, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("checkHealth(%s) = %q, want it to contain %q", url, err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("checkHealth(%s): the reason is not one line: %q", url, err)
			}
		})
	}
}

// TestHealthcheckCommand runs `erpsync healthcheck` as the image's
// HEALTHCHECK does: exit 0 while a running erpsync is ready, 1 with a
// one-line reason once it is gone or not ready.
func TestHealthcheckCommand(t *testing.T) {
	exitCode := func(err error) int {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("running erpsync healthcheck: %v", err)
		}
		return 0
	}

	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "error: input not connected", http.StatusServiceUnavailable)
	}))
	t.Cleanup(notReady.Close)
	out, err := run(t, "healthcheck", "--url", notReady.URL+"/ready")
	if code := exitCode(err); code != 1 || strings.Count(strings.TrimSpace(out), "\n") != 0 ||
		!strings.Contains(out, "erpsync healthcheck: "+notReady.URL+"/ready: not ready: 503 Service Unavailable: error: input not connected") {
		t.Errorf("healthcheck of a server answering 503: exit %d, want 1 and one line naming the answer:\n%s", code, out)
	}

	out, err = run(t, "healthcheck", "extra")
	if code := exitCode(err); code != 1 || !strings.Contains(out, "takes no arguments") {
		t.Errorf("healthcheck with an argument: exit %d, want 1 naming the mistake:\n%s", code, out)
	}

	// A real erpsync, its server at an address of this test (the default,
	// 127.0.0.1:4195, may be taken by another run on this machine).
	addr := unusedAddr(t)
	cfg := filepath.Join(t.TempDir(), "stream.yaml")
	writeFile(t, cfg, "input:\n  generate:\n    interval: 1s\n    mapping: 'root = {}'\noutput:\n  drop: {}\n")
	p := startBackground(t, nil, "run", "--set", "http.address="+addr, "--log.level", "info", cfg)
	p.waitOutput(t, "Launching a erpsync instance", time.Minute)
	url := "http://" + addr + "/ready"
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err = run(t, "healthcheck", "--url", url, "--timeout", "2s")
		if exitCode(err) == 0 {
			break
		}
		// Ready follows the input and output connecting: poll until then.
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck of a running erpsync at %s did not pass within 30s:\n%s\n%s", url, out, p.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, url+": ready") {
		t.Errorf("healthcheck passed without saying so:\n%s", out)
	}

	_ = p.cmd.Process.Kill()
	<-p.done
	out, err = run(t, "healthcheck", "--url", url, "--timeout", "2s")
	if code := exitCode(err); code != 1 || !strings.Contains(out, "is erpsync running") {
		t.Errorf("healthcheck after erpsync stopped: exit %d, want 1 saying nothing answers:\n%s", code, out)
	}
}
