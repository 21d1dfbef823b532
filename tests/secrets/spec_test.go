package secrets

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	// The binary's component set: Benthos's io and pure bundles and every
	// erpsync plugin.
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/erpsync/erpsync/plugins/all"
	// Not in plugins/all yet when this test was written; harmless once it is.
	_ "github.com/erpsync/erpsync/plugins/deadletter"
)

// credentialName matches the leaf name of a field that holds a credential.
// File paths (`key_file`) and references to resources (`token_cache`) end
// otherwise and do not match; identifiers (`app_key`, `client_id`) are not
// credentials.
var credentialName = regexp.MustCompile(`(?i)(^|_)(secret|appsecret|password|passwd|pwd|token|dsn|auth_code|webhook_url|private_key|api_key|access_key|credentials?)$`)

// erpsyncComponents are erpsync's components, by kind, with the fields each
// must keep secret whatever they are called. Optional ones are checked when
// registered (every component is checked by name pattern anyway).
var erpsyncComponents = []struct {
	kind, name string
	optional   bool
	secrets    []string
}{
	{kind: "input", name: "jushuitan", secrets: []string{"app_secret", "access_token", "refresh_token"}},
	{kind: "input", name: "wdt", secrets: []string{"appsecret", "app_secret"}},
	{kind: "input", name: "xbb", secrets: []string{"token"}},
	{kind: "input", name: "kafka", secrets: []string{"sasl.password", "tls.client_certs.key", "tls.client_certs.password"}},
	{kind: "output", name: "kingdee_batchsave", secrets: []string{"auth.app_id", "auth.app_secret", "auth.password"}},
	{kind: "output", name: "kis", secrets: []string{"client_secret", "auth_code"}},
	{kind: "output", name: "mysql", secrets: []string{"dsn"}},
	{kind: "output", name: "kafka", secrets: []string{"sasl.password"}},
	{kind: "output", name: "dingtalk", secrets: []string{"webhook_url", "secret"}},
	{kind: "output", name: "wecom", secrets: []string{"webhook_url"}},
	{kind: "output", name: "dead_letter", secrets: []string{"dsn"}},
	{kind: "output", name: "dead_letter_resolve", optional: true},
	{kind: "input", name: "dead_letters", optional: true},
	{kind: "processor", name: "kingdee_query", secrets: []string{"auth.app_id", "auth.app_secret", "auth.password"}},
	{kind: "cache", name: "mysql", secrets: []string{"dsn"}},
	{kind: "metrics", name: "prometheus"},
	{kind: "rate_limit", name: "token_bucket"},
	{kind: "scanner", name: "xlsx"},
}

// upstreamExceptions are fields of Benthos's own components that match
// credentialName but are not secret upstream; they are not erpsync's to
// change. OAuth 1's access token is paired with access_token_secret, which
// is secret.
var upstreamExceptions = map[string]bool{
	"input http_client oauth.access_token":  true,
	"output http_client oauth.access_token": true,
	"processor http oauth.access_token":     true,
	"input websocket oauth.access_token":    true,
	"output websocket oauth.access_token":   true,
}

type specField struct {
	Name     string      `json:"name"`
	IsSecret bool        `json:"is_secret"`
	Children []specField `json:"children"`
}

// specFields returns every field of a component's spec by dot path.
func specFields(t *testing.T, kind, name string, cv *service.ConfigView) map[string]specField {
	t.Helper()
	raw, err := cv.FormatJSON()
	if err != nil {
		t.Fatalf("%s %s: FormatJSON: %v", kind, name, err)
	}
	var spec struct {
		Config specField `json:"config"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("%s %s: spec JSON: %v", kind, name, err)
	}
	out := map[string]specField{}
	var walk func(prefix string, fs []specField)
	walk = func(prefix string, fs []specField) {
		for _, f := range fs {
			p := f.Name
			if prefix != "" {
				p = prefix + "." + f.Name
			}
			out[p] = f
			walk(p, f.Children)
		}
	}
	walk("", spec.Config.Children)
	return out
}

// allComponents walks every component of the global environment: kind ->
// name -> fields.
func allComponents(t *testing.T) map[string]map[string]map[string]specField {
	t.Helper()
	env := service.GlobalEnvironment()
	out := map[string]map[string]map[string]specField{}
	add := func(kind string) func(string, *service.ConfigView) {
		out[kind] = map[string]map[string]specField{}
		return func(name string, cv *service.ConfigView) { out[kind][name] = specFields(t, kind, name, cv) }
	}
	env.WalkInputs(add("input"))
	env.WalkOutputs(add("output"))
	env.WalkProcessors(add("processor"))
	env.WalkCaches(add("cache"))
	env.WalkMetrics(add("metrics"))
	env.WalkRateLimits(add("rate_limit"))
	env.WalkScanners(add("scanner"))
	env.WalkTracers(add("tracer"))
	env.WalkBuffers(add("buffer"))
	return out
}

// TestEveryCredentialFieldIsSecret checks the spec of every component the
// binary carries: a field named like a credential must be `.Secret()`
// (echo scrubs it, docs flag it), and erpsync's known credential fields
// must be secret whatever they are called.
func TestEveryCredentialFieldIsSecret(t *testing.T) {
	comps := allComponents(t)

	checked := 0
	for _, c := range erpsyncComponents {
		fields, ok := comps[c.kind][c.name]
		if !ok {
			if !c.optional {
				t.Errorf("%s %s is not registered: is it still in plugins/all?", c.kind, c.name)
			}
			continue
		}
		for _, path := range c.secrets {
			f, ok := fields[path]
			switch {
			case !ok:
				t.Errorf("%s %s has no field %s (renamed? update this test)", c.kind, c.name, path)
			case !f.IsSecret:
				t.Errorf("%s %s: %s holds a credential and is not .Secret()", c.kind, c.name, path)
			default:
				checked++
			}
		}
	}

	var upstream []string
	for kind, byName := range comps {
		for name, fields := range byName {
			for path, f := range fields {
				leaf := path[strings.LastIndex(path, ".")+1:]
				if !credentialName.MatchString(leaf) {
					continue
				}
				checked++
				if f.IsSecret {
					continue
				}
				key := kind + " " + name + " " + path
				if upstreamExceptions[key] {
					upstream = append(upstream, key)
					continue
				}
				t.Errorf("%s: named like a credential and not .Secret()", key)
			}
		}
	}
	sort.Strings(upstream)
	if len(upstream) > 0 {
		t.Logf("Benthos core fields left as upstream has them: %s", strings.Join(upstream, "; "))
	}
	if checked < 30 {
		t.Fatalf("only %d credential fields checked: the spec walk found too little", checked)
	}
}

// TestCredentialNamePattern pins what the pattern calls a credential.
func TestCredentialNamePattern(t *testing.T) {
	for _, tc := range []struct {
		leaf string
		want bool
	}{
		{"app_secret", true}, {"appsecret", true}, {"secret", true}, {"client_secret", true},
		{"access_token", true}, {"refresh_token", true}, {"token", true}, {"password", true},
		{"dsn", true}, {"auth_code", true}, {"webhook_url", true}, {"private_key", true},
		{"app_key", false}, {"appkey", false}, {"client_id", false}, {"token_cache", false},
		{"key_file", false}, {"private_key_file", false}, {"key", false}, {"table", false},
		{"username", false}, {"base_url", false}, {"token_url", false},
	} {
		if got := credentialName.MatchString(tc.leaf); got != tc.want {
			t.Errorf("credentialName(%q) = %v, want %v", tc.leaf, got, tc.want)
		}
	}
}
