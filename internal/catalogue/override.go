package catalogue

import (
	"fmt"
	"strings"
	"time"
)

// Override is what a user sets in an input's `interface` field to read an
// interface the catalogue lacks, or to correct a catalogued one. Zero
// fields keep the catalogue's (or the vendor defaults') value.
type Override struct {
	// List is where the documents sit; Set tells an explicit "" (the data
	// is the array itself) from unset.
	List    string
	ListSet bool
	// ID are the id fields; DocumentID says a Bloblang mapping computes
	// the id instead (the engine applies it).
	ID         []string
	DocumentID bool
	Modified   []string
	// MaxSpan and MaxPageSize replace the limits.
	MaxSpan     time.Duration
	MaxPageSize int
	// Page and Size rename the paging parameters; FirstPage (when
	// FirstPageSet) renumbers the first page.
	Page, Size   string
	FirstPage    int
	FirstPageSet bool
	// WindowStart and WindowEnd name the window's parameters.
	WindowStart, WindowEnd string
}

// Empty tells whether nothing is overridden.
func (o Override) Empty() bool {
	return !o.ListSet && len(o.ID) == 0 && !o.DocumentID && len(o.Modified) == 0 && o.MaxSpan == 0 &&
		o.MaxPageSize == 0 && o.Page == "" && o.Size == "" && !o.FirstPageSet && o.WindowStart == "" && o.WindowEnd == ""
}

// Resolve returns the entry an input reads api with: the catalogue's,
// else the vendor's defaults, with ov applied. An interface the catalogue
// lacks needs an id (ov.ID or ov.DocumentID); the error says what to set.
// protocol is the WDT protocol ("" for other vendors); an entry not
// served on it is an error.
func Resolve(vendor, protocol, api string, ov Override) (Entry, error) {
	e, known := Lookup(vendor, api)
	if !known {
		if len(ov.ID) == 0 && !ov.DocumentID {
			return Entry{}, UnknownError(vendor, api)
		}
		e = Defaults(vendor)
		e.Interface = strings.TrimSpace(api)
	} else if !e.Serves(protocol) {
		return Entry{}, fmt.Errorf("%s %s: the interface is served on %s, not on protocol %s", vendor, api, strings.Join(e.Protocols, ", "), protocol)
	}
	if ov.ListSet {
		e.List = ov.List
	}
	if len(ov.ID) > 0 {
		e.ID = append([]string(nil), ov.ID...)
	}
	if ov.DocumentID {
		e.ID = nil
	}
	if len(ov.Modified) > 0 {
		e.Modified = append([]string(nil), ov.Modified...)
	}
	if ov.MaxSpan > 0 {
		if e.Window == nil {
			e.Window = Defaults(vendor).Window
		}
		w := *e.Window
		w.MaxSpan = Duration(ov.MaxSpan)
		if w.DefaultSpan > w.MaxSpan {
			w.DefaultSpan = 0
		}
		e.Window = &w
	}
	if ov.WindowStart != "" || ov.WindowEnd != "" {
		if e.Window == nil {
			e.Window = Defaults(vendor).Window
		}
		w := *e.Window
		if ov.WindowStart != "" {
			w.Start = ov.WindowStart
		}
		if ov.WindowEnd != "" {
			w.End = ov.WindowEnd
		}
		e.Window = &w
	}
	if ov.MaxPageSize > 0 {
		e.Paging.MaxSize = ov.MaxPageSize
		if e.Paging.DefaultSize > ov.MaxPageSize {
			e.Paging.DefaultSize = ov.MaxPageSize
		}
	}
	if ov.Page != "" {
		e.Paging.Page = ov.Page
	}
	if ov.Size != "" {
		e.Paging.Size = ov.Size
	}
	if ov.FirstPageSet {
		if ov.FirstPage != 0 && ov.FirstPage != 1 {
			return Entry{}, fmt.Errorf("%s %s: interface.first_page must be 0 or 1, not %d", vendor, api, ov.FirstPage)
		}
		e.Paging.FirstPage = ov.FirstPage
	}
	return e, nil
}

// UnknownError is the error of an interface the catalogue lacks and the
// config gives no id for: it says what to set.
func UnknownError(vendor, api string) error {
	return fmt.Errorf("%s %s: %s", vendor, strings.TrimSpace(api), UnknownHint(vendor))
}

// UnknownHint is UnknownError without the vendor and interface, for
// errors that name them already.
func UnknownHint(vendor string) string {
	d := Defaults(vendor)
	list := d.List
	if list == "" {
		list = "the first array of the answer"
	}
	return fmt.Sprintf("this interface is not in erpsync's catalogue (`erpsync catalogue %s` lists the %d it knows): "+
		"set interface.id_fields to the field(s) holding each document's id, or interface.document_id to a Bloblang mapping computing it; "+
		"check interface.list (default: %s), interface.modified_fields (default: %s) and interface.max_span / interface.max_page_size (defaults: %s / %d) against the vendor's documentation",
		vendor, len(All(vendor)), list, strings.Join(d.Modified, ", "), spanText(d), d.Paging.MaxSize)
}

// DurationText prints a duration the way configs write it: 60m, 168h, 720h.
func DurationText(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func spanText(e Entry) string {
	switch {
	case e.Window == nil:
		return "none"
	case e.Window.MaxSpan > 0:
		return DurationText(e.Window.MaxSpan.D())
	}
	return "none documented"
}

// Spellings lists every spelling of vendor's catalogued names that
// Normalize maps to one of them, for lint rules (which cannot call Go).
func Spellings(vendor string) []string {
	var out []string
	for _, n := range Known(vendor) {
		switch vendor {
		case Jushuitan:
			out = append(out, n, strings.TrimPrefix(n, "/"))
		case XBB:
			out = append(out, n, "/"+n, "/pro/v2/api/"+n)
		case WDT:
			if strings.HasSuffix(n, ".php") {
				out = append(out, n, "/"+n, "openapi2/"+n, "/openapi2/"+n)
			} else {
				out = append(out, n, "hu3cgwt0tc."+n)
			}
		default:
			out = append(out, n)
		}
	}
	return out
}
