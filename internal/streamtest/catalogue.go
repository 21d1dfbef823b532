package streamtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/sandbox"
	xbbsandbox "github.com/erpsync/erpsync/sandbox/xbb"
)

// Reading is one way to read a catalogue entry: its api on one protocol.
type Reading struct {
	Entry    catalogue.Entry
	API      string
	Protocol string // WDT: openapi2 or qimen
}

// Name is vendor[/protocol]/api.
func (r Reading) Name() string {
	if r.Protocol != "" {
		return r.Entry.Vendor + "/" + r.Protocol + "/" + r.API
	}
	return r.Entry.Vendor + "/" + r.API
}

// Readings lists every catalogue entry on every protocol that serves it:
// a WDT entry is read as its php file on openapi2 and as its method on
// Qimen. An entry served on a protocol it names no interface for is a
// test failure.
func Readings(tb testing.TB) []Reading {
	var out []Reading
	for _, e := range catalogue.All("") {
		if e.Vendor != catalogue.WDT {
			out = append(out, Reading{Entry: e, API: e.Interface})
			continue
		}
		for _, p := range e.Protocols {
			api := ""
			for _, n := range e.Names() {
				if strings.HasSuffix(n, ".php") == (p == "openapi2") {
					api = n
					break
				}
			}
			if api == "" {
				tb.Errorf("wdt %s: served on %s but names no %s interface", e.Interface, p, p)
				continue
			}
			out = append(out, Reading{Entry: e, API: api, Protocol: p})
		}
	}
	return out
}

// Credentials is the input's vendor key and the sandbox's credentials, as
// YAML at the input's indentation.
func (r Reading) Credentials(url string) string {
	switch r.Entry.Vendor {
	case catalogue.Jushuitan:
		return fmt.Sprintf("jushuitan:\n  base_url: %s\n  app_key: sandbox-jst-app\n  app_secret: sandbox-jst-secret\n  access_token: sandbox-jst-token\n  refresh_token: sandbox-jst-refresh\n", url)
	case catalogue.XBB:
		return fmt.Sprintf("xbb:\n  base_url: %s\n  corpid: sandbox-xbb-corp\n  token: sandbox-xbb-token\n", url)
	}
	if r.Protocol == "qimen" {
		return fmt.Sprintf("wdt:\n  base_url: %s\n  protocol: qimen\n  sid: sandbox-wdt-sid\n  app_key: sandbox-qm-app\n  app_secret: sandbox-qm-secret\n  target_app_key: sandbox-qm-target\n", url)
	}
	return fmt.Sprintf("wdt:\n  base_url: %s\n  sid: sandbox-wdt-sid\n  appkey: sandbox-wdt-key\n  appsecret: sandbox-wdt-secret\n", url)
}

// InputYAML is an input reading r from start with nothing but what the
// catalogue says: no params mapping (XBB, whose windows are conditions,
// gets the one its docs show), the default span and page size, no
// lookback or lag, stopping when caught up.
func (r Reading) InputYAML(url string, start time.Time) string {
	var b strings.Builder
	b.WriteString(r.Credentials(url))
	fmt.Fprintf(&b, "  api: %s\n  stop_when_caught_up: true\n", r.API)
	if w := r.Entry.Window; w != nil {
		if r.Entry.Vendor == catalogue.XBB {
			b.WriteString("  params: |\n    root.conditions = [\n      {\"attr\": \"" + w.Filter + "\", \"symbol\": \"greaterequal\", \"value\": [@window_start.ts_unix()]},\n      {\"attr\": \"" + w.Filter + "\", \"symbol\": \"lessequal\", \"value\": [@window_end.ts_unix()]}\n    ]\n")
		}
		fmt.Fprintf(&b, "  window:\n    start: %s\n    lag: 0s\n    lookback: 0s\n", start.Format(time.RFC3339))
	}
	return b.String()
}

// FilterTimes are the times a dataset's documents carry in the field the
// interface's windows filter on (the creation time where the dataset
// keeps one, else the modified time).
func FilterTimes(tb testing.TB, sb *sandbox.Server, dataset string) []time.Time {
	tb.Helper()
	var out []time.Time
	for _, d := range sb.Env().Dataset(dataset).Truth() {
		at := d.Modified
		if d.Created != "" {
			at = d.Created
		}
		v, err := time.ParseInLocation("2006-01-02 15:04:05", at, shanghai)
		if err != nil {
			tb.Fatalf("%s: truth time %q: %v", dataset, at, err)
		}
		out = append(out, v)
	}
	return out
}

// Earliest is the oldest of FilterTimes.
func Earliest(tb testing.TB, sb *sandbox.Server, dataset string) time.Time {
	var first time.Time
	for _, v := range FilterTimes(tb, sb, dataset) {
		if first.IsZero() || v.Before(first) {
			first = v
		}
	}
	return first
}

// Passes are, for interfaces whose default answer is a documented subset
// of the simulation, the reads that together cover it once: each adds
// params (and, where the vendor then filters on another field, the
// window's filter_field) to the catalogue's input.
//   - WDT lists enabled shops unless is_disabled=1 asks for the disabled.
//   - WDT sales stock-outs without status are the shipped and completed
//     bills by consign time; cancelled (5) and approved (55) bills are
//     asked for by status, and then filtered by modified.
//   - WDT stock-ins default to completed bills (80); cancelled (10) and
//     pending (30) ones are asked for by status.
//   - XBB customers need the tenant's customer formId; the list holds the
//     existing customers, the recycle bin (del=1) the deleted ones.
//   - Jushuitan purchase-ins without statuss are the Confirmed bills; the
//     others are asked for by statuss.
var Passes = map[string][]string{
	"customer/list": {xbbMapping(fmt.Sprintf("root.formId = %d", xbbsandbox.CustomerFormID)),
		xbbMapping(fmt.Sprintf("root.formId = %d\nroot.del = 1", xbbsandbox.CustomerFormID))},
	"/open/purchasein/query":           {"", withStatuss("WaitConfirm", "Cancelled", "Delete", "Archive", "OuterConfirming")},
	"shop.php":                         {"  params: 'root.is_disabled = 0'\n", "  params: 'root.is_disabled = 1'\n"},
	"stockout_order_query_trade.php":   {"", withStatus("5,55", "modified")},
	"stockin_order_query_refund.php":   {"", withStatus("10,30", "")},
	"stockin_order_query_purchase.php": {"", withStatus("10,30", "")},
}

func withStatus(status, filter string) string {
	s := "  params: |\n    root.start_time = @window_start.ts_format(\"2006-01-02 15:04:05\", \"Asia/Shanghai\")\n" +
		"    root.end_time = @window_end.ts_format(\"2006-01-02 15:04:05\", \"Asia/Shanghai\")\n" +
		"    root.status = \"" + status + "\"\n"
	if filter != "" {
		s += "window-filter:" + filter
	}
	return s
}

// xbbMapping is a pass adding Bloblang lines to an XBB input's params
// mapping (which already holds the window's conditions).
func xbbMapping(lines string) string {
	return "xbb-mapping:" + lines
}

// withStatuss is a Jushuitan pass asking for the given statuss.
func withStatuss(statuss ...string) string {
	return "  params: |\n    root.modified_begin = @window_start.ts_format(\"2006-01-02 15:04:05\", \"Asia/Shanghai\")\n" +
		"    root.modified_end = @window_end.ts_format(\"2006-01-02 15:04:05\", \"Asia/Shanghai\")\n" +
		"    root.statuss = [\"" + strings.Join(statuss, "\", \"") + "\"]\n"
}

// WithPass adds a pass to an input.
func WithPass(in, pass string) string {
	if lines, ok := strings.CutPrefix(pass, "xbb-mapping:"); ok {
		const head = "  params: |\n"
		if !strings.Contains(in, head) {
			panic("xbb pass without a params mapping: " + in)
		}
		return strings.Replace(in, head, head+"    "+strings.ReplaceAll(lines, "\n", "\n    ")+"\n", 1)
	}
	if p, filter, ok := strings.Cut(pass, "window-filter:"); ok {
		in = strings.Replace(in, "  window:\n", "  window:\n    filter_field: "+filter+"\n", 1)
		pass = p
	}
	return in + pass
}
