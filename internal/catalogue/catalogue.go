// Package catalogue is erpsync's catalogue of vendor list interfaces: for
// each interface a source input can read, where the documents sit in the
// answer, which field is a document's id and which its modified time, the
// window's parameters and the field they filter on, how the interface
// pages, its limits, and where these facts come from (with the confidence
// marks of the vendor notes: C confirmed by the vendor's documentation or
// by several independent sources, I inferred).
//
// The catalogue is data: one YAML file per vendor under data/, embedded in
// the binary. Adding an interface means adding an entry there (and its
// simulation to the sandbox), not code. Inputs look an interface up with
// Lookup; a user can override every field for an interface the catalogue
// lacks (the inputs' `interface` field), see Override.
package catalogue

import (
	"embed"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed data/*.yaml
var files embed.FS

// Vendors whose interfaces the catalogue lists (the file names under data/).
const (
	Jushuitan = "jushuitan"
	WDT       = "wdt"
	XBB       = "xbb"
)

// Paging end conditions (Paging.End).
const (
	// EndHasNext: the answer's has_next flag says whether a page follows.
	EndHasNext = "has_next"
	// EndTotal: the answer's total count (Paging.Total) says how many
	// documents match; pages follow while page*size < total.
	EndTotal = "total_count"
	// EndPageCount: the answer's page count says how many pages there are.
	EndPageCount = "page_count"
	// EndShortPage: no count; a page shorter than the page size is the last.
	EndShortPage = "short_page"
)

// Entry is one interface.
type Entry struct {
	// Vendor is the file the entry comes from (jushuitan, wdt, xbb).
	Vendor string `yaml:"-"`
	// Interface is what the input's `api` field holds: a path for
	// Jushuitan ("/open/orders/out/simple/query") and XBB ("product/list"),
	// a php file name for WDT openapi2 ("trade_query.php"), a method for
	// Qimen ("wdt.trade.query").
	Interface string `yaml:"interface"`
	// Aliases are other names of the same interface: the Qimen method of a
	// WDT php file, the path with a prefix.
	Aliases []string `yaml:"aliases,omitempty"`
	// Protocols the interface is served on: WDT "openapi2", "qimen";
	// Jushuitan "openweb", "qimen". Empty: the vendor's only protocol.
	Protocols []string `yaml:"protocols,omitempty"`
	// Title is the vendor's name of the interface (Chinese as documented).
	Title string `yaml:"title"`
	// List is where the documents sit in the answer's data (Jushuitan
	// data, WDT the answer object, XBB result): a field name, or "" when
	// the data is the array itself.
	List string `yaml:"list"`
	// ID are the fields making a document's id (metadata source_id),
	// joined by ":" in this order when several.
	ID []string `yaml:"id"`
	// Modified are the fields holding a document's modified time; the
	// first present and non-empty wins.
	Modified []string `yaml:"modified"`
	// Window describes incremental reads; nil for interfaces read whole.
	Window *Window `yaml:"window,omitempty"`
	// Paging says how the interface pages.
	Paging Paging `yaml:"paging"`
	// Sources are the documents the facts come from (URLs or names).
	Sources []string `yaml:"sources"`
	// Confidence is C or I, as in the vendor notes.
	Confidence string `yaml:"confidence"`
	// Notes are facts that do not fit a field (date_type values, status
	// codes, quirks seen).
	Notes string `yaml:"notes,omitempty"`
	// Sandbox is the dataset of `erpsync sandbox` that simulates the
	// interface (its truth: GET /_sandbox/source/<dataset>); the
	// catalogue's tests read every entry through it.
	Sandbox string `yaml:"sandbox,omitempty"`
}

// Window is how an interface takes a time window.
type Window struct {
	// Start and End are the business parameters of the window's bounds.
	Start string `yaml:"start"`
	End   string `yaml:"end"`
	// Filter is the document field the bounds filter on.
	Filter string `yaml:"filter"`
	// Layout is the bounds' text layout (Go reference time), China time;
	// "unix" for Unix seconds. Default "2006-01-02 15:04:05".
	Layout string `yaml:"layout,omitempty"`
	// MaxSpan is the longest window the vendor accepts; DefaultSpan the
	// input's default (MaxSpan when 0).
	MaxSpan     Duration `yaml:"max_span"`
	DefaultSpan Duration `yaml:"default_span,omitempty"`
	// Stable: the filter field never changes once a document exists (a
	// creation time), so a document never leaves a window while it is read.
	Stable bool `yaml:"stable,omitempty"`
	// Required: the vendor refuses a call without the window (a full
	// read of the interface is impossible).
	Required bool `yaml:"required,omitempty"`
}

// Paging is how an interface pages.
type Paging struct {
	// Page and Size are the parameters of the page number and size.
	Page string `yaml:"page"`
	Size string `yaml:"size"`
	// FirstPage is the number of the first page (0 or 1).
	FirstPage int `yaml:"first_page"`
	// DefaultSize is the size erpsync sends when the input sets none
	// (usually MaxSize, to spend fewer calls); MaxSize the vendor's maximum.
	DefaultSize int `yaml:"default_size"`
	MaxSize     int `yaml:"max_size"`
	// VendorDefault is the size the vendor applies when none is sent.
	VendorDefault int `yaml:"vendor_default,omitempty"`
	// End is how the last page is known (EndHasNext, EndTotal,
	// EndPageCount, EndShortPage).
	End string `yaml:"end"`
	// Total is the answer field with the total count, if any.
	Total string `yaml:"total,omitempty"`
}

// Duration is a time.Duration written as "60m", "168h".
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 60m or 720h", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D is the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

type file struct {
	Vendor string `yaml:"vendor"`
	// Defaults is the shape assumed for an interface the catalogue does
	// not list (the vendor's usual answer); it has no id: the user must
	// name one (interface.id_fields or interface.document_id).
	Defaults   Entry   `yaml:"defaults"`
	Interfaces []Entry `yaml:"interfaces"`
}

var (
	loadOnce sync.Once
	loaded   map[string][]Entry
	defaults map[string]Entry
	loadErr  error
)

func load() (map[string][]Entry, error) {
	loadOnce.Do(func() {
		loaded = map[string][]Entry{}
		defaults = map[string]Entry{}
		for _, v := range []string{Jushuitan, WDT, XBB} {
			raw, err := files.ReadFile("data/" + v + ".yaml")
			if err != nil {
				loadErr = err
				return
			}
			var f file
			dec := yaml.NewDecoder(strings.NewReader(string(raw)))
			dec.KnownFields(true)
			if err := dec.Decode(&f); err != nil {
				loadErr = fmt.Errorf("catalogue data/%s.yaml: %w", v, err)
				return
			}
			if f.Vendor != v {
				loadErr = fmt.Errorf("catalogue data/%s.yaml: vendor is %q", v, f.Vendor)
				return
			}
			for i := range f.Interfaces {
				f.Interfaces[i].Vendor = v
				if err := f.Interfaces[i].check(); err != nil {
					loadErr = fmt.Errorf("catalogue data/%s.yaml: %w", v, err)
					return
				}
			}
			d := f.Defaults
			d.Vendor, d.Interface, d.Title, d.Confidence = v, "", "(not in the catalogue)", "I"
			if d.Paging.Page == "" || d.Paging.MaxSize <= 0 || len(d.ID) != 0 {
				loadErr = fmt.Errorf("catalogue data/%s.yaml: defaults need paging and no id", v)
				return
			}
			defaults[v] = d
			loaded[v] = f.Interfaces
		}
		loadErr = checkUnique(loaded)
	})
	return loaded, loadErr
}

// All returns the entries of vendor, in file order; every vendor's when
// vendor is "". The catalogue is part of the binary, so a broken file is
// a programming error: All panics on it (a unit test loads it).
func All(vendor string) []Entry {
	m, err := load()
	if err != nil {
		panic(err)
	}
	if vendor != "" {
		return append([]Entry(nil), m[vendor]...)
	}
	var out []Entry
	for _, v := range []string{Jushuitan, WDT, XBB} {
		out = append(out, m[v]...)
	}
	return out
}

// Lookup finds the entry of api for vendor: by Interface or an alias,
// after Normalize.
func Lookup(vendor, api string) (Entry, bool) {
	key := Normalize(vendor, api)
	for _, e := range All(vendor) {
		for _, n := range e.Names() {
			if Normalize(vendor, n) == key {
				return e, true
			}
		}
	}
	return Entry{}, false
}

// Defaults is the shape of vendor's interfaces the catalogue does not
// list: the vendor's usual answer, with no id fields.
func Defaults(vendor string) Entry {
	if _, err := load(); err != nil {
		panic(err)
	}
	return defaults[vendor]
}

// Names are the entry's interface name and its aliases.
func (e Entry) Names() []string { return append([]string{e.Interface}, e.Aliases...) }

// Normalize turns the spellings an input accepts for one interface into
// one key: Jushuitan paths with or without their leading slash; XBB paths
// with or without "/pro/v2/api/"; WDT php names with or without
// "/openapi2/", Qimen methods with or without the router prefix.
func Normalize(vendor, api string) string {
	api = strings.TrimSpace(api)
	switch vendor {
	case Jushuitan:
		if !strings.HasPrefix(api, "/") {
			api = "/" + api
		}
	case XBB:
		api = strings.TrimPrefix(strings.TrimPrefix(api, "/pro/v2/api/"), "/")
	case WDT:
		api = strings.TrimPrefix(strings.TrimPrefix(api, "/"), "openapi2/")
		api = strings.TrimPrefix(api, "hu3cgwt0tc.")
	}
	return api
}

// Serves tells whether the entry is served on protocol ("" matches any).
func (e Entry) Serves(protocol string) bool {
	if protocol == "" || len(e.Protocols) == 0 {
		return true
	}
	for _, p := range e.Protocols {
		if p == protocol {
			return true
		}
	}
	return false
}

// MaxSpan is the longest window (0 when the interface takes none).
func (e Entry) MaxSpan() time.Duration {
	if e.Window == nil {
		return 0
	}
	return e.Window.MaxSpan.D()
}

// DefaultSpan is the input's default window.max_span.
func (e Entry) DefaultSpan() time.Duration {
	if e.Window == nil {
		return 0
	}
	if e.Window.DefaultSpan > 0 {
		return e.Window.DefaultSpan.D()
	}
	return e.Window.MaxSpan.D()
}

// Layout is the window bounds' layout.
func (w *Window) LayoutOrDefault() string {
	if w == nil || w.Layout == "" {
		return "2006-01-02 15:04:05"
	}
	return w.Layout
}

func (e Entry) check() error {
	where := fmt.Sprintf("interface %q", e.Interface)
	switch {
	case strings.TrimSpace(e.Interface) == "":
		return fmt.Errorf("an entry has no interface")
	case e.Title == "":
		return fmt.Errorf("%s: title is required", where)
	case len(e.ID) == 0:
		return fmt.Errorf("%s: id is required", where)
	case e.Confidence != "C" && e.Confidence != "I":
		return fmt.Errorf("%s: confidence must be C or I, not %q", where, e.Confidence)
	case len(e.Sources) == 0:
		return fmt.Errorf("%s: sources are required", where)
	case e.Paging.Page == "" || e.Paging.Size == "":
		return fmt.Errorf("%s: paging.page and paging.size are required", where)
	case e.Paging.FirstPage != 0 && e.Paging.FirstPage != 1:
		return fmt.Errorf("%s: paging.first_page must be 0 or 1", where)
	case e.Paging.MaxSize <= 0 || e.Paging.DefaultSize <= 0 || e.Paging.DefaultSize > e.Paging.MaxSize:
		return fmt.Errorf("%s: paging.default_size and max_size must be positive, default <= max", where)
	}
	switch e.Paging.End {
	case EndHasNext, EndPageCount, EndShortPage:
	case EndTotal:
		if e.Paging.Total == "" {
			return fmt.Errorf("%s: paging.end total_count needs paging.total", where)
		}
	default:
		return fmt.Errorf("%s: paging.end %q is not has_next, total_count, page_count or short_page", where, e.Paging.End)
	}
	if w := e.Window; w != nil {
		if w.Start == "" || w.End == "" || w.Filter == "" || (w.MaxSpan <= 0 && w.DefaultSpan <= 0) {
			return fmt.Errorf("%s: window needs start, end, filter and max_span (or default_span where no maximum is documented)", where)
		}
		if w.MaxSpan > 0 && w.DefaultSpan > w.MaxSpan {
			return fmt.Errorf("%s: window.default_span is above max_span", where)
		}
	}
	return nil
}

func checkUnique(m map[string][]Entry) error {
	for v, es := range m {
		seen := map[string]string{}
		for _, e := range es {
			for _, n := range e.Names() {
				k := Normalize(v, n)
				if prev, dup := seen[k]; dup {
					return fmt.Errorf("catalogue data/%s.yaml: %q is listed by %q and %q", v, n, prev, e.Interface)
				}
				seen[k] = e.Interface
			}
		}
	}
	return nil
}

// Known lists the names (interfaces and aliases) of vendor, sorted, for
// messages and lint rules.
func Known(vendor string) []string {
	var out []string
	for _, e := range All(vendor) {
		out = append(out, e.Names()...)
	}
	sort.Strings(out)
	return out
}
