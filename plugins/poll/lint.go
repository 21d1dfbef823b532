package poll

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/catalogue"
)

// The lint rules below are what `erpsync lint` (and any stream built with
// linting on) checks of a polling input before it runs. They mirror what
// ParseOptions and the vendor clients refuse, so a config that lints clean
// does not fail at start for its window, page size or base_url; the table
// test in cmd/erpsync runs each bad config through both.
//
// Benthos v4.80.0 cannot report a warning from a plugin's lint rule: every
// value a LintRule mapping returns becomes an error-level lint
// (internal/docs lintsFromAny), and `lint` exits 1 on any lint, warning or
// not. So what is suspicious but not wrong, a window.start in the future,
// is not linted: WarnFutureStart logs it when the input starts, and the
// inputs' docs say so.

// LintRules returns the Bloblang lint rule of a polling input: api's limits
// come from perAPI (keys as the vendor spells the interface; a key starting
// with "/" also matches without it), else lim, the limits the input applies
// to an interface its table does not list. It refuses what ParseOptions and
// the clients refuse, naming the field and the values allowed:
//
//   - page_size not a whole number, negative, or above the vendor maximum;
//   - window.start not RFC 3339;
//   - window.max_span not a positive duration, or above the vendor maximum;
//   - window.lookback or window.lag not a duration of 0s or more;
//   - window.lookback not shorter than window.max_span.
func LintRules(vendorName string, lim VendorLimits, perAPI map[string]VendorLimits) string {
	spanCases, pageCases, defCases := "", "", ""
	apis := make([]string, 0, len(perAPI))
	for api := range perAPI {
		apis = append(apis, api)
	}
	sort.Strings(apis)
	for _, api := range apis {
		l := perAPI[api]
		keys := fmt.Sprintf("%q", api)
		if strings.HasPrefix(api, "/") {
			keys += fmt.Sprintf(", %q", strings.TrimPrefix(api, "/"))
		}
		for _, k := range strings.Split(keys, ", ") {
			spanCases += fmt.Sprintf("  %s => %d,\n", k, int64(l.MaxSpan))
			pageCases += fmt.Sprintf("  %s => %d,\n", k, l.MaxPageSize)
			defCases += fmt.Sprintf("  %s => %d,\n", k, int64(defaultSpan(l)))
		}
	}
	// durations: null when absent, "bad" when not a duration string.
	return fmt.Sprintf(`
map dur {
  root = if this == null { null } else if this.type() != "string" { "bad" } else { this.parse_duration().catch("bad") }
}
let vendor = %q
let api = this.api.or("").string().trim()
let iface = if this.interface.type() == "object" { this.interface } else { {} }
let iface_span = $iface.max_span.apply("dur")
let max_span = if $iface_span != null && $iface_span != "bad" { $iface_span } else { match $api {
%s  _ => %d,
} }
let max_page = if $iface.max_page_size.type() == "number" { $iface.max_page_size } else { match $api {
%s  _ => %d,
} }
let default_span = match $api {
%s  _ => %d,
}
let w = if this.window.type() == "object" { this.window } else { {} }
let span = $w.max_span.apply("dur")
let lookback = $w.lookback.apply("dur")
let lag = $w.lag.apply("dur")
let where = "%%s %%s: ".format($vendor, $api)
let ps = this.page_size.or(0)
let ps_num = if $ps.type() == "number" && $ps.string().re_match("^-?[0-9]+$") { $ps.number() } else { -1 }
let page_range = if $max_page > 0 { "0 (the vendor's default) to %%d".format($max_page) } else { "0 (the vendor's default) or more" }
root = []
root = match {
  $ps_num < 0 => root.append($where + "page_size must be a whole number from %%s; %%v is not".format($page_range, $ps)),
  $max_page > 0 && $ps_num > $max_page => root.append($where + "page_size %%v is above the vendor maximum %%v; allowed: a whole number from %%s".format($ps, $max_page, $page_range)),
  _ => root,
}
let start = $w.start.or("")
let start_ok = match {
  $start.type() == "timestamp" => true,
  $start.type() != "string" => false,
  $start.trim() == "" => true,
  _ => $start.ts_parse("2006-01-02T15:04:05Z07:00").catch(null) != null,
}
root = if !$start_ok { root.append($where + "window.start must be an RFC 3339 time such as 2024-06-01T00:00:00+08:00, or empty (max_span before now); %%v is not".format($start)) } else { root }
let span_max_text = if $max_span > 0 { " up to the vendor maximum of %%vh".format($max_span / 3600000000000) } else { "" }
root = if $span == "bad" || ($span != null && $span <= 0) { root.append($where + "window.max_span must be a positive duration%%s, such as 24h (units ns, us, ms, s, m, h); %%v is not".format($span_max_text, $w.max_span)) } else { root }
root = if $span != null && $span != "bad" && $max_span > 0 && $span > $max_span { root.append($where + "window.max_span %%s is above the vendor maximum of %%vh".format($w.max_span, $max_span / 3600000000000)) } else { root }
root = if $lookback == "bad" || ($lookback != null && $lookback < 0) { root.append($where + "window.lookback must be a duration of 0s or more, shorter than window.max_span, such as 10m (the default); %%v is not".format($w.lookback)) } else { root }
root = if $lag == "bad" || ($lag != null && $lag < 0) { root.append($where + "window.lag must be a duration of 0s or more, such as 1m (the default); %%v is not".format($w.lag)) } else { root }
let span_eff = if $span == null { $default_span } else { $span }
let lookback_eff = if $lookback == null { 600000000000 } else { $lookback }
root = if this.window != null && $span_eff.type() == "number" && $lookback_eff.type() == "number" && $span_eff > 0 && $lookback_eff >= 0 && $lookback_eff >= $span_eff { root.append($where + "window.lookback must be shorter than window.max_span (%%v), or windows never advance".format(if $span == null { "its default" } else { $w.max_span })) } else { root }
`, vendorName, spanCases, int64(lim.MaxSpan), pageCases, lim.MaxPageSize, defCases, int64(defaultSpan(lim)))
}

// defaultSpan is the window.max_span ParseOptions applies when none is set.
func defaultSpan(lim VendorLimits) time.Duration {
	switch {
	case lim.DefaultSpan > 0:
		return lim.DefaultSpan
	case lim.MaxSpan > 0:
		return lim.MaxSpan
	}
	return 24 * time.Hour
}

// URLLintRule is the lint rule of an input's base_url field: an http(s) URL
// with a host, as the clients require; empty when allowEmpty (the client
// then uses the vendor's production address). example is shown in the
// message.
func URLLintRule(vendorName, field, example string, allowEmpty bool) string {
	empty := ""
	if allowEmpty {
		empty = ", or empty for the production address"
	}
	return fmt.Sprintf(`
let s = if this.type() == "string" { this.trim() } else { "" }
let u = $s.parse_url().catch({})
root = match {
  this.type() == "string" && $s == "" && %t => [],
  ["http", "https"].contains($u.scheme.or("")) && $u.host.or("") != "" => [],
  _ => ["%s: %s must be an http(s) URL with a host, such as %s%s; %%v is not".format(this)],
}
`, allowEmpty, vendorName, field, example, empty)
}

// WarnFutureStart logs, when the input starts, a window.start in the future
// (lint cannot warn without failing, see above): with no checkpoint the
// input then reads nothing until that time.
func WarnFutureStart(log *service.Logger, o Options, now time.Time) {
	if log == nil || o.Window == nil || !o.Window.Start.After(now) {
		return
	}
	log.Warnf("%s %s: window.start %s is in the future: without a checkpoint the input reads nothing until then (set window.start to a past time, or leave it empty to start max_span before now)",
		o.Vendor, o.API, o.Window.Start.Format(time.RFC3339))
}

// CatalogueLimits are the limits of vendorName's catalogued interfaces,
// keyed by every name and alias, for LintRules.
func CatalogueLimits(vendorName string) map[string]VendorLimits {
	out := map[string]VendorLimits{}
	for _, e := range catalogue.All(vendorName) {
		l := InterfaceLimits(e)
		for _, n := range catalogue.Spellings(vendorName) {
			if c, ok := catalogue.Lookup(vendorName, n); ok && c.Interface == e.Interface {
				out[n] = l
			}
		}
	}
	return out
}

// InterfaceLimits are the engine limits of an entry; one read whole (no
// window in the catalogue) takes the vendor's default window limits
// should a config give it a window anyway.
func InterfaceLimits(e catalogue.Entry) VendorLimits {
	if e.Window == nil {
		d := catalogue.Defaults(e.Vendor)
		return VendorLimits{MaxSpan: d.MaxSpan(), DefaultSpan: d.DefaultSpan(), MaxPageSize: e.Paging.MaxSize}
	}
	return VendorLimits{MaxSpan: e.MaxSpan(), DefaultSpan: e.DefaultSpan(), MaxPageSize: e.Paging.MaxSize}
}

// CatalogueLintRules is the lint rule of a vendor's polling input: the
// limits of LintRules taken from the catalogue (the vendor's defaults for
// an interface it lacks), plus the refusal of an interface the catalogue
// lacks unless the config says how to read it (interface.id_fields or
// interface.document_id), with the message of catalogue.UnknownError.
func CatalogueLintRules(vendorName string) string {
	d := catalogue.Defaults(vendorName)
	lim := VendorLimits{MaxSpan: d.MaxSpan(), DefaultSpan: d.DefaultSpan(), MaxPageSize: d.Paging.MaxSize}
	known := catalogue.Spellings(vendorName)
	quoted := make([]string, len(known))
	for i, k := range known {
		quoted[i] = fmt.Sprintf("%q", k)
	}
	msg := catalogue.UnknownError(vendorName, "%s").Error()
	return LintRules(vendorName, lim, CatalogueLimits(vendorName)) + fmt.Sprintf(`
let has_ids = $iface.id_fields.type() == "array" && $iface.id_fields.length() > 0
let has_mapping = $iface.document_id.or("").string().trim() != ""
root = if $api != "" && ![%s].contains($api) && !$has_ids && !$has_mapping { root.append(%q.format($api)) } else { root }
root = if $has_ids && $has_mapping { root.append($where + "set interface.id_fields or interface.document_id, not both") } else { root }
`, strings.Join(quoted, ", "), msg)
}
