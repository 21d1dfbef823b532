package console

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/erpsync/erpsync/internal/streamstate"
)

func serve(t *testing.T, s *Server, method, path, remote, body string, h map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = remote
	for k, v := range h {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestWithoutAccessConfiguredOnlyLoopbackIsServed(t *testing.T) {
	s := New(Config{})
	for remote, want := range map[string]int{"127.0.0.1:5555": 200, "[::1]:5555": 200, "10.1.2.3:5555": 403, "192.168.1.9:80": 403} {
		rec := serve(t, s, "GET", "/console/api/streams", remote, "", nil)
		if rec.Code != want {
			t.Errorf("GET from %s: HTTP %d, want %d", remote, rec.Code, want)
		}
		if want == 403 && !strings.Contains(rec.Body.String(), TokenEnv) {
			t.Errorf("the refusal does not say what to set: %s", rec.Body.String())
		}
		// The page is refused too: it would only fail on every call.
		if rec := serve(t, s, "GET", "/console/", remote, "", nil); rec.Code != want {
			t.Errorf("page from %s: HTTP %d, want %d", remote, rec.Code, want)
		}
	}
}

func TestBasicAuthOpensOtherHosts(t *testing.T) {
	s := New(Config{BasicAuth: true})
	if rec := serve(t, s, "GET", "/console/api/streams", "10.1.2.3:5555", "", nil); rec.Code != 200 {
		t.Errorf("behind Benthos's basic auth: HTTP %d", rec.Code)
	}
}

func TestTokenIsRequiredFromEveryHost(t *testing.T) {
	s := New(Config{Token: "t0ken"})
	for _, c := range []struct {
		h    map[string]string
		want int
	}{
		{nil, 401},
		{map[string]string{"Authorization": "Bearer nope"}, 401},
		{map[string]string{"Authorization": "Bearer t0ken"}, 200},
		{map[string]string{"Cookie": cookieName + "=t0ken"}, 200},
	} {
		if rec := serve(t, s, "GET", "/console/api/streams", "127.0.0.1:1", "", c.h); rec.Code != c.want {
			t.Errorf("%v: HTTP %d, want %d", c.h, rec.Code, c.want)
		}
	}
	// The page loads without the token: it asks for it.
	rec := serve(t, s, "GET", "/console/", "10.1.2.3:5", "", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "app.js") {
		t.Errorf("the page: HTTP %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "t0ken") {
		t.Error("the page shows the token")
	}
}

func TestPostsMustBeJSON(t *testing.T) {
	s := New(Config{})
	rec := serve(t, s, "POST", "/console/api/dead-letters/resolve", "127.0.0.1:1", "stream=x", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("a form post: HTTP %d, want 415", rec.Code)
	}
	rec = serve(t, s, "POST", "/console/api/dead-letters/resolve", "127.0.0.1:1", `{"stream":"x","ids":[1],"bogus":1}`, map[string]string{"Content-Type": "application/json"})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "bogus") {
		t.Errorf("an unknown field: HTTP %d %s", rec.Code, rec.Body.String())
	}
	if rec := serve(t, s, "GET", "/console/api/nope", "127.0.0.1:1", "", nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), "no such console endpoint") {
		t.Errorf("an unknown endpoint: HTTP %d %s", rec.Code, rec.Body.String())
	}
}

const streamYAML = `
input:
  jushuitan:
    api: /open/orders/out/simple/query
    app_secret: ${JST_APP_SECRET:}
    checkpoint:
      cache: checkpoints
      key: ${KEY:sales_out}
pipeline:
  processors:
    - mapping: root = this
output:
  fallback:
    - reject_errored:
        kingdee_batchsave:
          url: ${K3CLOUD_URL:}
          form_id: SAL_OUTSTOCK
    - switch:
        cases:
          - output:
              resource: dead_letters
          - output:
              reject: no
http:
  address: 0.0.0.0:4195
tests: []
`

func TestStreamConfigIsRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales_out.yaml")
	if err := os.WriteFile(path, []byte(streamYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := readStreamConf(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.InputType != "jushuitan" || c.API != "/open/orders/out/simple/query" || c.CheckpointCache != "checkpoints" || c.CheckpointKey != "sales_out" {
		t.Errorf("input: %+v", c)
	}
	if strings.Join(c.Outputs, ",") != "kingdee_batchsave,resource dead_letters" {
		t.Errorf("outputs %v", c.Outputs)
	}
	files := StreamFiles([]string{filepath.Dir(path), filepath.Join(t.TempDir(), "missing.yaml")})
	if len(files) != 1 || files[0].Name != "sales_out" {
		t.Errorf("stream files %+v", files)
	}
}

func TestReplayConfigReplacesOnlyTheInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales_out.yaml")
	if err := os.WriteFile(path, []byte(streamYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := replayConfig(path, streamstate.Table{DSN: "u:p@tcp(h:3306)/d", Table: "dl"}, "sales_out", []int64{3, 5})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	in := doc["input"].(map[string]any)["dead_letters"].(map[string]any)
	if in["stream"] != "sales_out" || in["table"] != "dl" || in["stop_when_done"] != true || len(in["ids"].([]any)) != 2 {
		t.Errorf("input %v", in)
	}
	if _, ok := doc["http"]; ok {
		t.Error("the replay would open its own HTTP server")
	}
	if _, ok := doc["tests"]; ok {
		t.Error("tests kept")
	}
	if !strings.Contains(out, "kingdee_batchsave") || !strings.Contains(out, "root = this") || !strings.Contains(out, "dead_letters") {
		t.Errorf("the pipeline or output changed:\n%s", out)
	}
	// ${...} stays for the builder to interpolate.
	if !strings.Contains(out, "${K3CLOUD_URL:}") || strings.Contains(out, "JST_APP_SECRET") {
		t.Errorf("the config was interpolated:\n%s", out)
	}
}
