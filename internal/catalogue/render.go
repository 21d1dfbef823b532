package catalogue

import (
	"encoding/json"
	"fmt"
	"strings"
)

// vendorTitles name the vendors in rendered pages.
var vendorTitles = map[string]string{
	Jushuitan: "聚水潭 Jushuitan (input `jushuitan`)",
	WDT:       "旺店通 WDT enterprise (input `wdt`, protocols `openapi2` and `qimen`)",
	XBB:       "销帮帮 XBB (input `xbb`)",
}

// Markdown renders the catalogue of vendor ("" for all) as a page.
func Markdown(vendor string) []byte {
	var b strings.Builder
	b.WriteString("# Interface catalogue\n\n")
	b.WriteString("The list interfaces erpsync's source inputs read without further settings (generated from\n")
	b.WriteString("`internal/catalogue/data/*.yaml` by `erpsync docs`; `erpsync catalogue [vendor]` prints the same,\n")
	b.WriteString("`--json` as data). For an interface not listed here, describe it in the input's `interface` field\n")
	b.WriteString("(`id_fields` or `document_id`, and where its shape differs from the vendor's usual one: `list`,\n")
	b.WriteString("`modified_fields`, `max_span`, `max_page_size`, `page_field`, `size_field`, `first_page`); without an id\n")
	b.WriteString("it is refused at lint. Confidence: **C** confirmed by the vendor's documentation or several\n")
	b.WriteString("independent sources, **I** inferred.\n")
	vendors := []string{Jushuitan, WDT, XBB}
	if vendor != "" {
		vendors = []string{vendor}
	}
	for _, v := range vendors {
		fmt.Fprintf(&b, "\n## %s\n\n", vendorTitles[v])
		b.WriteString("| interface | title | id | modified | window (filter, max span) | paging | conf. |\n")
		b.WriteString("|---|---|---|---|---|---|---|\n")
		for _, e := range All(v) {
			name := "`" + e.Interface + "`"
			for _, a := range e.Aliases {
				name += "<br>`" + a + "`"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, e.Title, code(e.ID, " + "), code(e.Modified, ", "),
				windowText(e), pagingText(e.Paging), e.Confidence)
		}
		d := Defaults(v)
		fmt.Fprintf(&b, "\nAn interface not listed is read with the vendor's usual shape: list %s, modified %s, window %s,\npaging %s; its id must be configured.\n",
			listText(d.List), code(d.Modified, ", "), windowText(d), pagingText(d.Paging))
		b.WriteString("\nSources and notes:\n\n")
		for _, e := range All(v) {
			fmt.Fprintf(&b, "- `%s`: %s", e.Interface, strings.Join(e.Sources, "; "))
			if e.Notes != "" {
				fmt.Fprintf(&b, ". %s", strings.TrimSpace(e.Notes))
			}
			b.WriteString("\n")
		}
	}
	return []byte(b.String())
}

func code(fields []string, sep string) string {
	if len(fields) == 0 {
		return "—"
	}
	return "`" + strings.Join(fields, "`"+sep+"`") + "`"
}

func listText(l string) string {
	if l == "" {
		return "the answer's array"
	}
	return "`" + l + "`"
}

func windowText(e Entry) string {
	w := e.Window
	if w == nil {
		return "none (read whole)"
	}
	span := "no documented maximum"
	if w.MaxSpan > 0 {
		span = "≤ " + DurationText(w.MaxSpan.D())
	}
	s := fmt.Sprintf("`%s`/`%s` on `%s`, %s", w.Start, w.End, w.Filter, span)
	if w.Stable {
		s += ", stable"
	}
	return s
}

func pagingText(p Paging) string {
	s := fmt.Sprintf("`%s` from %d, `%s` ≤ %d, ends by %s", p.Page, p.FirstPage, p.Size, p.MaxSize, p.End)
	return s
}

// JSON renders the entries of vendor ("" for all) as a JSON array.
func JSON(vendor string) ([]byte, error) {
	list := []map[string]any{}
	for _, e := range All(vendor) {
		list = append(list, jsonEntry(e))
	}
	return json.MarshalIndent(list, "", "  ")
}

func jsonEntry(e Entry) map[string]any {
	m := map[string]any{
		"vendor": e.Vendor, "interface": e.Interface, "title": e.Title, "list": e.List,
		"id": e.ID, "modified": e.Modified, "confidence": e.Confidence, "sources": e.Sources,
		"paging": map[string]any{"page": e.Paging.Page, "size": e.Paging.Size, "first_page": e.Paging.FirstPage,
			"default_size": e.Paging.DefaultSize, "max_size": e.Paging.MaxSize, "end": e.Paging.End, "total": e.Paging.Total},
	}
	if len(e.Aliases) > 0 {
		m["aliases"] = e.Aliases
	}
	if len(e.Protocols) > 0 {
		m["protocols"] = e.Protocols
	}
	if e.Notes != "" {
		m["notes"] = e.Notes
	}
	if w := e.Window; w != nil {
		m["window"] = map[string]any{"start": w.Start, "end": w.End, "filter": w.Filter, "layout": w.LayoutOrDefault(),
			"max_span": DurationText(w.MaxSpan.D()), "default_span": DurationText(e.DefaultSpan()), "stable": w.Stable}
	}
	return m
}
