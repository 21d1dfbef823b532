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
	"github.com/erpsync/erpsync/sandbox/core"
)

func noLimits(o *sandbox.Options) { o.Limits = false }

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
	everyDocumentOnce(t, streamtest.StartSandbox(t, 300, noLimits))
}

// TestIntegrationEveryEntrySurvivesHostileAnswers: the same reads, with
// every catalogued interface answering as a real server may: in random
// order, sometimes without its list, with totals off by a few, pages
// repeating rows of the previous one and pages short of rows. The
// catalogue's description alone still delivers every document once.
func TestIntegrationEveryEntrySurvivesHostileAnswers(t *testing.T) {
	sb := streamtest.StartSandbox(t, 300, noLimits, func(o *sandbox.Options) {
		o.Faults.Answers = core.AnswerFaults{Order: "random", NullRate: 0.1, TotalDriftRate: 0.1, DuplicateRate: 0.1, ShortPageRate: 0.1}
	})
	everyDocumentOnce(t, sb)
	// The faults were dealt to every vendor.
	for _, v := range []string{catalogue.Jushuitan, catalogue.WDT, catalogue.XBB} {
		n := 0
		for _, kind := range []string{core.FaultNull, core.FaultDuplicate, core.FaultShortPage} {
			n += sb.Env().Stats.FaultCount(v, "", kind)
		}
		if n == 0 {
			t.Errorf("%s: no answer fault was dealt: the test proves nothing for it", v)
		}
	}
}

func everyDocumentOnce(t *testing.T, sb *sandbox.Server) {
	for _, r := range streamtest.Readings(t) {
		t.Run(r.Name(), func(t *testing.T) {
			if r.Entry.Sandbox == "" {
				t.Skip("not simulated: TestEveryEntryIsSimulated fails for it")
			}
			// Two hours before the oldest modified time: a filter time such as
			// a stock-out's consign time may precede it (by 90 minutes at most).
			start := streamtest.Earliest(t, sb, r.Entry.Sandbox).Add(-2 * time.Hour)
			in := r.InputYAML(sb.URL(), start)
			ps, split := streamtest.Passes[r.Entry.Interface]
			if !split {
				streamtest.ExactlyOnce(t, sb, r.Entry.Sandbox, streamtest.RunInput(t, in))
				return
			}
			var got streamtest.Delivered
			for i, p := range ps {
				d := streamtest.RunInput(t, streamtest.WithPass(in, p))
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
			streamtest.ExactlyOnce(t, sb, r.Entry.Sandbox, got)
		})
	}
}

// TestIntegrationWindowOverTheMaximumRefused: the simulation refuses a
// window one hour over the interface's maximum with a vendor error (code
// and message), as the vendor documents; a window of exactly the maximum
// is answered.
func TestIntegrationWindowOverTheMaximumRefused(t *testing.T) {
	sb := streamtest.StartSandbox(t, 50, noLimits)
	for _, r := range streamtest.Readings(t) {
		if r.Entry.MaxSpan() == 0 || r.Entry.Window == nil {
			continue
		}
		t.Run(r.Name(), func(t *testing.T) {
			f := fetcher(t, r, sb.URL())
			iface := poll.Interface{Entry: r.Entry}
			end := time.Now().Truncate(time.Second)
			ctx := context.Background()
			_, err := f.FetchPage(ctx, r.API, params(r, iface, end.Add(-r.Entry.MaxSpan()), end), 0, 0)
			if err != nil {
				t.Fatalf("a window of exactly %s was refused: %v", r.Entry.MaxSpan(), err)
			}
			_, err = f.FetchPage(ctx, r.API, params(r, iface, end.Add(-r.Entry.MaxSpan()-time.Hour), end), 0, 0)
			var ve *vendor.Error
			if !errors.As(err, &ve) || ve.Kind != vendor.Permanent || ve.Code == "" || ve.Msg == "" {
				t.Fatalf("a window of %s + 1h: %v, want a permanent vendor error with code and message", r.Entry.MaxSpan(), err)
			}
		})
	}
}

func params(r streamtest.Reading, iface poll.Interface, start, end time.Time) map[string]any {
	if r.Entry.Vendor == catalogue.XBB {
		f := r.Entry.Window.Filter
		return map[string]any{"conditions": []any{
			map[string]any{"attr": f, "symbol": "greaterequal", "value": []any{start.Unix()}},
			map[string]any{"attr": f, "symbol": "lessequal", "value": []any{end.Unix()}},
		}}
	}
	return iface.WindowParams(start, end)
}

func fetcher(t *testing.T, r streamtest.Reading, url string) poll.Fetcher {
	t.Helper()
	var f poll.Fetcher
	var err error
	switch r.Entry.Vendor {
	case catalogue.Jushuitan:
		f, err = jushuitan.NewClient(jushuitan.ClientConfig{BaseURL: url, AppKey: "sandbox-jst-app", AppSecret: "sandbox-jst-secret", AccessToken: "sandbox-jst-token", RefreshToken: "sandbox-jst-refresh"})
	case catalogue.XBB:
		f, err = xbb.NewClient(xbb.ClientConfig{BaseURL: url, Corpid: "sandbox-xbb-corp", Token: "sandbox-xbb-token"})
	default:
		f, err = wdt.NewClient(wdt.ClientConfig{BaseURL: url, Protocol: r.Protocol, SID: "sandbox-wdt-sid", AppKey: "sandbox-wdt-key", AppSecret: "sandbox-wdt-secret",
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
	for _, r := range streamtest.Readings(t) {
		if r.Entry.MaxSpan() == 0 {
			continue
		}
		for _, over := range []bool{false, true} {
			span := r.Entry.MaxSpan()
			if over {
				span += time.Hour
			}
			conf := "input:\n  " + strings.ReplaceAll(strings.TrimRight(r.Credentials("http://127.0.0.1:9")+fmt.Sprintf("  api: %s\n  window:\n    max_span: %s\n", r.API, catalogue.DurationText(span)), "\n"), "\n", "\n  ") + "\noutput:\n  drop: {}\n"
			p := filepath.Join(dir, strings.NewReplacer("/", "_", ".", "_").Replace(r.Name())+fmt.Sprint(over)+".yaml")
			if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "lint", p).CombinedOutput()
			switch {
			case over && (err == nil || !strings.Contains(string(out), "above the vendor maximum")):
				t.Errorf("%s: lint accepted max_span %s (maximum %s): %v %s", r.Name(), span, r.Entry.MaxSpan(), err, out)
			case !over && err != nil:
				t.Errorf("%s: lint refused max_span at the maximum %s: %s", r.Name(), span, out)
			}
		}
	}
}
