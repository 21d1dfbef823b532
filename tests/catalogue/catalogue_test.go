// Package catalogue tests erpsync's interface catalogue entry by entry
// against the sandbox: every catalogued interface is simulated, an input
// given nothing but its api (the catalogue's window fields, id, list and
// paging) reads every document of the simulation exactly once, on every
// protocol that serves it, and a window over the interface's maximum is
// refused by the simulation as by the vendor, and at lint.
package catalogue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/internal/vendor"
	_ "github.com/erpsync/erpsync/plugins/all"
	"github.com/erpsync/erpsync/plugins/jushuitan"
	"github.com/erpsync/erpsync/plugins/poll"
	"github.com/erpsync/erpsync/plugins/wdt"
	"github.com/erpsync/erpsync/plugins/xbb"
	"github.com/erpsync/erpsync/sandbox"
)

// reading is one way to read an entry: its api on one protocol.
type reading struct {
	entry    catalogue.Entry
	api      string
	protocol string // wdt only
}

func (r reading) name() string {
	if r.protocol != "" {
		return r.entry.Vendor + "/" + r.protocol + "/" + r.api
	}
	return r.entry.Vendor + "/" + r.api
}

// readings lists every entry on every protocol that serves it: a WDT
// entry is read as its php file on openapi2 and as its method on Qimen.
func readings(t *testing.T) []reading {
	var out []reading
	for _, e := range catalogue.All("") {
		if e.Vendor != catalogue.WDT {
			out = append(out, reading{entry: e, api: e.Interface})
			continue
		}
		for _, p := range e.Protocols {
			api := ""
			for _, n := range e.Names() {
				if strings.HasSuffix(n, ".php") == (p == wdt.ProtocolOpenapi2) {
					api = n
					break
				}
			}
			if api == "" {
				t.Errorf("wdt %s: served on %s but names no %s interface", e.Interface, p, p)
				continue
			}
			out = append(out, reading{entry: e, api: api, protocol: p})
		}
	}
	return out
}

func credentials(r reading, url string) string {
	switch r.entry.Vendor {
	case catalogue.Jushuitan:
		return fmt.Sprintf("jushuitan:\n  base_url: %s\n  app_key: sandbox-jst-app\n  app_secret: sandbox-jst-secret\n  access_token: sandbox-jst-token\n  refresh_token: sandbox-jst-refresh\n", url)
	case catalogue.XBB:
		return fmt.Sprintf("xbb:\n  base_url: %s\n  corpid: sandbox-xbb-corp\n  token: sandbox-xbb-token\n", url)
	}
	if r.protocol == wdt.ProtocolQimen {
		return fmt.Sprintf("wdt:\n  base_url: %s\n  protocol: qimen\n  sid: sandbox-wdt-sid\n  app_key: sandbox-qm-app\n  app_secret: sandbox-qm-secret\n  target_app_key: sandbox-qm-target\n", url)
	}
	return fmt.Sprintf("wdt:\n  base_url: %s\n  sid: sandbox-wdt-sid\n  appkey: sandbox-wdt-key\n  appsecret: sandbox-wdt-secret\n", url)
}

// earliest is the oldest filter time of a dataset's truth.
func earliest(t *testing.T, sb *sandbox.Server, dataset string) time.Time {
	t.Helper()
	var first time.Time
	for _, d := range sb.Env().Dataset(dataset).Truth() {
		at := d.Modified
		if d.Created != "" {
			at = d.Created
		}
		v, err := time.ParseInLocation("2006-01-02 15:04:05", at, shanghai)
		if err != nil {
			t.Fatalf("%s: truth time %q: %v", dataset, at, err)
		}
		if first.IsZero() || v.Before(first) {
			first = v
		}
	}
	return first
}

// inputYAML is an input reading r with nothing but what the catalogue
// says: no params mapping (XBB, whose windows are conditions, gets the
// one its docs show), the default span and page size.
func inputYAML(r reading, url string, start time.Time) string {
	var b strings.Builder
	b.WriteString(credentials(r, url))
	fmt.Fprintf(&b, "  api: %s\n  stop_when_caught_up: true\n", r.api)
	if w := r.entry.Window; w != nil {
		if r.entry.Vendor == catalogue.XBB {
			b.WriteString("  params: |\n    root.conditions = [\n      {\"attr\": \"" + w.Filter + "\", \"symbol\": \"greaterequal\", \"value\": [@window_start.ts_unix()]},\n      {\"attr\": \"" + w.Filter + "\", \"symbol\": \"lessequal\", \"value\": [@window_end.ts_unix()]}\n    ]\n")
		}
		fmt.Fprintf(&b, "  window:\n    start: %s\n    lag: 0s\n    lookback: 0s\n", start.Format(time.RFC3339))
	}
	return b.String()
}

func noLimits(o *sandbox.Options) { o.Limits = false }

// passes are, for interfaces whose default answer is a documented subset
// of the simulation, the params of reads that together cover it once:
// WDT lists enabled shops unless is_disabled=1 asks for the disabled ones.
var passes = map[string][]string{
	"shop.php": {"root.is_disabled = 0", "root.is_disabled = 1"},
}

// TestEveryEntryIsSimulated: the catalogue names a sandbox dataset for
// every interface, and the sandbox serves it.
func TestEveryEntryIsSimulated(t *testing.T) {
	served := map[string]bool{}
	for _, d := range sandbox.DatasetNames() {
		served[d] = true
	}
	for _, e := range catalogue.All("") {
		if e.Sandbox == "" {
			t.Errorf("%s %s: no sandbox dataset: every catalogued interface must be simulated", e.Vendor, e.Interface)
		} else if !served[e.Sandbox] {
			t.Errorf("%s %s: sandbox dataset %q is not served (datasets: %v)", e.Vendor, e.Interface, e.Sandbox, sandbox.DatasetNames())
		}
	}
}

// TestIntegrationEveryEntryReadsEveryDocumentOnce pages through every
// document of every catalogued interface with the catalogue's own
// description, on every protocol, and counts the calls against the
// fewest the limits allow.
func TestIntegrationEveryEntryReadsEveryDocumentOnce(t *testing.T) {
	sb := streamtest.StartSandbox(t, 300, noLimits)
	for _, r := range readings(t) {
		t.Run(r.name(), func(t *testing.T) {
			if r.entry.Sandbox == "" {
				t.Skip("not simulated: TestEveryEntryIsSimulated fails for it")
			}
			start := earliest(t, sb, r.entry.Sandbox).Add(-time.Minute)
			in := inputYAML(r, sb.URL(), start)
			ps, split := passes[r.entry.Interface]
			if !split {
				streamtest.ExactlyOnce(t, sb, r.entry.Sandbox, streamtest.RunInput(t, in))
				return
			}
			var got streamtest.Delivered
			for i, p := range ps {
				d := streamtest.RunInput(t, in+"  params: '"+p+"'\n")
				if len(d.Count) == 0 {
					t.Fatalf("pass %q read nothing", p)
				}
				if i == 0 {
					got = d
					continue
				}
				for id, n := range d.Count {
					got.Count[id] += n
				}
			}
			streamtest.ExactlyOnce(t, sb, r.entry.Sandbox, got)
		})
	}
}

// TestIntegrationWindowOverTheMaximumRefused: the simulation refuses a
// window one hour over the interface's maximum with a vendor error (code
// and message), as the vendor documents; a window of exactly the maximum
// is answered.
func TestIntegrationWindowOverTheMaximumRefused(t *testing.T) {
	sb := streamtest.StartSandbox(t, 50, noLimits)
	for _, r := range readings(t) {
		if r.entry.MaxSpan() == 0 || r.entry.Window == nil {
			continue
		}
		t.Run(r.name(), func(t *testing.T) {
			f := fetcher(t, r, sb.URL())
			iface := poll.Interface{Entry: r.entry}
			end := time.Now().Truncate(time.Second)
			ctx := context.Background()
			_, err := f.FetchPage(ctx, r.api, params(r, iface, end.Add(-r.entry.MaxSpan()), end), 0, 0)
			if err != nil {
				t.Fatalf("a window of exactly %s was refused: %v", r.entry.MaxSpan(), err)
			}
			_, err = f.FetchPage(ctx, r.api, params(r, iface, end.Add(-r.entry.MaxSpan()-time.Hour), end), 0, 0)
			var ve *vendor.Error
			if !errors.As(err, &ve) || ve.Kind != vendor.Permanent || ve.Code == "" || ve.Msg == "" {
				t.Fatalf("a window of %s + 1h: %v, want a permanent vendor error with code and message", r.entry.MaxSpan(), err)
			}
		})
	}
}

func params(r reading, iface poll.Interface, start, end time.Time) map[string]any {
	if r.entry.Vendor == catalogue.XBB {
		f := r.entry.Window.Filter
		return map[string]any{"conditions": []any{
			map[string]any{"attr": f, "symbol": "greaterequal", "value": []any{start.Unix()}},
			map[string]any{"attr": f, "symbol": "lessequal", "value": []any{end.Unix()}},
		}}
	}
	return iface.WindowParams(start, end)
}

func fetcher(t *testing.T, r reading, url string) poll.Fetcher {
	t.Helper()
	var f poll.Fetcher
	var err error
	switch r.entry.Vendor {
	case catalogue.Jushuitan:
		f, err = jushuitan.NewClient(jushuitan.ClientConfig{BaseURL: url, AppKey: "sandbox-jst-app", AppSecret: "sandbox-jst-secret", AccessToken: "sandbox-jst-token", RefreshToken: "sandbox-jst-refresh"})
	case catalogue.XBB:
		f, err = xbb.NewClient(xbb.ClientConfig{BaseURL: url, Corpid: "sandbox-xbb-corp", Token: "sandbox-xbb-token"})
	default:
		f, err = wdt.NewClient(wdt.ClientConfig{BaseURL: url, Protocol: r.protocol, SID: "sandbox-wdt-sid", AppKey: "sandbox-wdt-key", AppSecret: "sandbox-wdt-secret",
			QimenAppKey: "sandbox-qm-app", QimenAppSecret: "sandbox-qm-secret", TargetAppKey: "sandbox-qm-target"})
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestLintRefusesAWindowOverEachMaximum: `erpsync lint` refuses, for
// every entry with a documented maximum, a window.max_span above it, and
// accepts the maximum itself.
func TestLintRefusesAWindowOverEachMaximum(t *testing.T) {
	bin := erpsynctest.Binary(t)
	dir := t.TempDir()
	for _, r := range readings(t) {
		if r.entry.MaxSpan() == 0 {
			continue
		}
		for _, over := range []bool{false, true} {
			span := r.entry.MaxSpan()
			if over {
				span += time.Hour
			}
			conf := "input:\n  " + strings.ReplaceAll(strings.TrimRight(credentials(r, "http://127.0.0.1:9")+fmt.Sprintf("  api: %s\n  window:\n    max_span: %s\n", r.api, catalogue.DurationText(span)), "\n"), "\n", "\n  ") + "\noutput:\n  drop: {}\n"
			p := filepath.Join(dir, strings.NewReplacer("/", "_", ".", "_").Replace(r.name())+fmt.Sprint(over)+".yaml")
			if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "lint", p).CombinedOutput()
			switch {
			case over && (err == nil || !strings.Contains(string(out), "above the vendor maximum")):
				t.Errorf("%s: lint accepted max_span %s (maximum %s): %v %s", r.name(), span, r.entry.MaxSpan(), err, out)
			case !over && err != nil:
				t.Errorf("%s: lint refused max_span at the maximum %s: %s", r.name(), span, out)
			}
		}
	}
}


var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()
