package apiguard

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
)

// secretEnv is an environment with an input whose `password` is a secret.
func secretEnv(t *testing.T) *service.Environment {
	t.Helper()
	env := service.NewEnvironment()
	spec := service.NewConfigSpec().Fields(
		service.NewStringField("user"),
		service.NewStringField("password").Secret(),
		service.NewURLField("url").Default(""),
	)
	err := env.RegisterInput("secretive", spec, func(*service.ParsedConfig, *service.Resources) (service.Input, error) {
		return nil, errors.New("not for running")
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestScrubStreamConfig(t *testing.T) {
	env := secretEnv(t)
	cases := []struct {
		name       string
		password   string
		url        string
		want, gone string
	}{
		{"a value", "s3cr3t-value-123", "", "!!!SECRET_SCRUBBED!!!", "s3cr3t-value-123"},
		{"an env reference stays", "${DB_PASSWORD}", "", "${DB_PASSWORD}", "!!!SECRET_SCRUBBED!!!"},
		{"a URL's password", "x", "http://bob:hunter2-pw@host:1/", "!!!SECRET_SCRUBBED!!!", "hunter2-pw"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf := map[string]any{
				"input":  map[string]any{"secretive": map[string]any{"user": "alice", "password": c.password, "url": c.url}},
				"output": map[string]any{"drop": map[string]any{}},
			}
			out, err := ScrubStreamConfig(env, conf)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(out)
			s := string(b)
			if !strings.Contains(s, c.want) || strings.Contains(s, c.gone) || !strings.Contains(s, `"user":"alice"`) {
				t.Fatalf("scrubbed config %s: want %q and the user, not %q", s, c.want, c.gone)
			}
		})
	}
}

func TestGate(t *testing.T) {
	env := secretEnv(t)
	g := newGate(env)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	get := func(t *testing.T, method string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/streams/s1", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, _ := get(t, http.MethodGet); code != http.StatusServiceUnavailable {
		t.Fatalf("before the stream manager exists: HTTP %d, want 503", code)
	}

	var answer string
	var seen []string
	g.open(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method)
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if answer == "" {
			http.Error(w, "Stream not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	})

	answer = `{"active":true,"uptime":1.5,"uptime_str":"1.5s","config":{"input":{"secretive":{"user":"alice","password":"s3cr3t-value-123"}},"output":{"drop":{}}}}`
	code, body := get(t, http.MethodGet)
	if code != http.StatusOK || strings.Contains(body, "s3cr3t") || !strings.Contains(body, "!!!SECRET_SCRUBBED!!!") ||
		!strings.Contains(body, `"active":true`) || !strings.Contains(body, `"uptime_str":"1.5s"`) {
		t.Fatalf("GET: HTTP %d %s", code, body)
	}

	// A config the stream spec cannot read is not shown at all.
	answer = `{"active":true,"config":{"input":{"no_such_input":{"password":"s3cr3t-value-123"}}}}`
	if code, body := get(t, http.MethodGet); code != http.StatusInternalServerError || strings.Contains(body, "s3cr3t") {
		t.Fatalf("unreadable config: HTTP %d %s", code, body)
	}
	answer = `{"active":true}`
	if code, _ := get(t, http.MethodGet); code != http.StatusInternalServerError {
		t.Fatalf("answer without a config: HTTP %d, want 500", code)
	}

	answer = ""
	if code, body := get(t, http.MethodGet); code != http.StatusNotFound || !strings.Contains(body, "Stream not found") {
		t.Fatalf("an error answer is passed on: HTTP %d %s", code, body)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if code, _ := get(t, m); code != http.StatusAccepted {
			t.Errorf("%s: HTTP %d, want the stream manager's 202", m, code)
		}
	}
	if len(seen) != 8 {
		t.Errorf("the stream manager saw %v, want every request after open", seen)
	}
}

// TestListenFailure: a failure logged before the config hook returns ends
// the run from the hook; one logged later cancels the run. Either way Err
// names the address and http.address.
func TestListenFailure(t *testing.T) {
	t.Run("late", func(t *testing.T) {
		cancelled := false
		g := New(service.NewEnvironment(), func() { cancelled = true })
		g.addr = "127.0.0.1:4195"
		g.started = true
		log := slog.New(watcher{g})
		log.Info("Listening for HTTP requests at: http://127.0.0.1:4195\n")
		log.Error("Config lint error")
		if cancelled || g.Err() != nil {
			t.Fatalf("cancelled=%v err=%v before any failure", cancelled, g.Err())
		}
		log.Error("HTTP Server error: listen tcp 127.0.0.1:4195: bind: address already in use\n")
		log.Error("HTTP Server error: a second one")
		err := g.Err()
		if !cancelled || err == nil {
			t.Fatalf("cancelled=%v err=%v after the failure", cancelled, err)
		}
		for _, want := range []string{"cannot listen on 127.0.0.1:4195", "http.address", "bind: address already in use"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q does not say %q", err, want)
			}
		}
	})
	t.Run("early", func(t *testing.T) {
		cancelled := false
		g := New(service.NewEnvironment(), func() { cancelled = true })
		// Benthos's server goroutine may fail before the config hook runs.
		slog.New(watcher{g}).Error("HTTP Server error: listen tcp 0.0.0.0:80: bind: permission denied")
		err := g.onConfigParse(httpConf(t, true, "0.0.0.0:80"))
		if cancelled {
			t.Fatal("a failure before the config hook returned cancelled the run (the hook returns it instead)")
		}
		var le *ListenError
		if !errors.As(err, &le) || le.Addr != "0.0.0.0:80" || le.Reason != "listen tcp 0.0.0.0:80: bind: permission denied" || g.Err() == nil {
			t.Fatalf("the hook returned %#v", err)
		}
	})
	t.Run("none", func(t *testing.T) {
		g := New(service.NewEnvironment(), func() { t.Error("cancelled") })
		slog.New(watcher{g}).Info("Listening for HTTP requests at: http://127.0.0.1:4195")
		if err := g.onConfigParse(httpConf(t, true, "127.0.0.1:4195")); err != nil || g.Err() != nil {
			t.Fatalf("the hook returned %v", err)
		}
		// Disabled: nothing to wait for.
		g = New(service.NewEnvironment(), func() { t.Error("cancelled") })
		if err := g.onConfigParse(httpConf(t, false, "127.0.0.1:4195")); err != nil {
			t.Fatalf("the hook returned %v", err)
		}
	})
}

// httpConf is a main config holding http.enabled and http.address.
func httpConf(t *testing.T, enabled bool, addr string) *service.ParsedConfig {
	t.Helper()
	spec := service.NewConfigSpec().Fields(service.NewObjectField("http",
		service.NewBoolField("enabled"), service.NewStringField("address")))
	p, err := spec.ParseYAML("http:\n  enabled: "+strconv.FormatBool(enabled)+"\n  address: "+addr+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWatcherIgnoresOtherLogs(t *testing.T) {
	g := New(service.NewEnvironment(), func() { t.Error("cancelled") })
	g.started = true
	h := watcher{g}
	if h.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("the watcher asks for debug records (every component's)")
	}
	slog.New(h).Warn("HTTP Server error: only at error level")
	slog.New(h).Error("Failed to connect: HTTP Server error: not at the start")
	if g.Err() != nil {
		t.Fatalf("err %v", g.Err())
	}
}

func TestStreamsCRUDRefusesWhatItCannotRead(t *testing.T) {
	for _, s := range []*service.RunningStreamSummary{nil, {}} {
		if _, err := streamsCRUD(s); err == nil {
			t.Errorf("streamsCRUD(%v) found a handler", s)
		}
	}
}
