package docgen

import (
	"fmt"
	"sort"
	"strings"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
)

// blobEntry is one Bloblang method or function to document.
type blobEntry struct {
	kind        string // "method" or "function"
	name        string
	status      string
	categories  []string
	description string
	params      bloblang.TemplateParamsData
	examples    []bloblang.TemplateExampleData
}

// bloblangEntries reads the named methods and functions from blobl, methods
// first, each sorted by name.
func bloblangEntries(blobl *bloblang.Environment, methods, functions []string) ([]blobEntry, error) {
	if blobl == nil {
		return nil, fmt.Errorf("docgen: Bloblang methods or functions to document but no Bloblang environment")
	}
	want := func(names []string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	wantM, wantF := want(methods), want(functions)
	var out []blobEntry
	blobl.WalkMethods(func(name string, v *bloblang.MethodView) {
		if !wantM[name] {
			return
		}
		delete(wantM, name)
		d := v.TemplateData()
		var cats []string
		for _, c := range d.Categories {
			cats = append(cats, c.Category)
		}
		out = append(out, blobEntry{"method", name, d.Status, cats, d.Description, d.Params, d.Examples})
	})
	blobl.WalkFunctions(func(name string, v *bloblang.FunctionView) {
		if !wantF[name] {
			return
		}
		delete(wantF, name)
		d := v.TemplateData()
		var cats []string
		if d.Category != "" {
			cats = []string{d.Category}
		}
		out = append(out, blobEntry{"function", name, d.Status, cats, d.Description, d.Params, d.Examples})
	})
	for n := range wantM {
		return nil, fmt.Errorf("docgen: Bloblang method %s is not registered in this environment (is its plugin package imported?)", n)
	}
	for n := range wantF {
		return nil, fmt.Errorf("docgen: Bloblang function %s is not registered in this environment (is its plugin package imported?)", n)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].kind != out[j].kind {
			return out[i].kind == "method"
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

func (e blobEntry) call() string {
	var ps []string
	for _, p := range e.params.Definitions {
		ps = append(ps, p.Name+": "+p.ValueType)
	}
	if e.params.Variadic {
		ps = append(ps, "...")
	}
	if e.kind == "method" {
		return "." + e.name + "(" + strings.Join(ps, ", ") + ")"
	}
	return e.name + "(" + strings.Join(ps, ", ") + ")"
}

func renderBloblang(entries []blobEntry, o Options) []byte {
	var b strings.Builder
	b.WriteString(header(o))
	b.WriteString("# Bloblang methods and functions\n\n")
	b.WriteString("Added to Bloblang by erpsync, for every `mapping`, `bloblang` processor and interpolation " +
		"(`${! ... }`) of its configs, alongside Benthos's own.\n\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "## `%s`\n\n", e.name)
		status := e.status
		if status == "" {
			status = "stable"
		}
		meta := []string{strings.ToUpper(e.kind[:1]) + e.kind[1:] + " `" + e.call() + "`", "Status: " + status}
		if len(e.categories) > 0 {
			meta = append(meta, "Categories: "+strings.Join(e.categories, ", "))
		}
		b.WriteString("*" + strings.Join(meta, " · ") + "*\n\n")
		if d := markdown(e.description); d != "" {
			b.WriteString(d + "\n\n")
		}
		if len(e.params.Definitions) > 0 {
			b.WriteString("### Parameters\n\n| Name | Type | Default | Description |\n|---|---|---|---|\n")
			for _, p := range e.params.Definitions {
				def := "required"
				switch {
				case p.DefaultMarshalled != "":
					def = "`" + escapeCell(p.DefaultMarshalled) + "`"
				case p.IsOptional:
					def = "optional"
				}
				fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", p.Name, p.ValueType, def, escapeCell(p.Description))
			}
			b.WriteString("\n")
		}
		if len(e.examples) > 0 {
			b.WriteString("### Examples\n\n")
			for _, x := range e.examples {
				if s := markdown(x.Summary); s != "" {
					b.WriteString(s + "\n\n")
				}
				b.WriteString("```coffee\n" + strings.Trim(x.Mapping, "\n") + "\n")
				for _, r := range x.Results {
					fmt.Fprintf(&b, "\n# In:  %s\n# Out: %s\n", r[0], r[1])
				}
				b.WriteString("```\n\n")
			}
		}
	}
	return []byte(strings.TrimRight(b.String(), "\n") + "\n")
}

func renderIndex(comps []componentSpec, blo []blobEntry, o Options) []byte {
	var b strings.Builder
	b.WriteString(header(o))
	title := o.Title
	if title == "" {
		title = "Component reference"
	}
	b.WriteString("# " + title + "\n\n")
	if s := strings.TrimSpace(o.Intro); s != "" {
		b.WriteString(s + "\n\n")
	}
	b.WriteString("The list interfaces the source inputs read without further settings, with their fields, windows, paging, limits and sources: [interface catalogue](" + CataloguePage + ").\n\n")
	for _, t := range componentTypes {
		var of []componentSpec
		for _, c := range comps {
			if c.Type == t.typ {
				of = append(of, c)
			}
		}
		if len(of) == 0 {
			continue
		}
		sort.Slice(of, func(i, j int) bool { return of[i].Name < of[j].Name })
		fmt.Fprintf(&b, "## %s\n\n| Name | Summary |\n|---|---|\n", t.heading)
		for _, c := range of {
			fmt.Fprintf(&b, "| [`%s`](%s) | %s |\n", c.Name, PagePath(Component{c.Type, c.Name}), escapeCell(c.Summary))
		}
		b.WriteString("\n")
	}
	if len(blo) > 0 {
		b.WriteString("## Bloblang\n\n| Name | Kind | Summary |\n|---|---|---|\n")
		for _, e := range blo {
			fmt.Fprintf(&b, "| [`%s`](%s#%s) | %s | %s |\n", e.name, BloblangPage, e.name, e.kind, escapeCell(firstSentence(e.description)))
		}
		b.WriteString("\n")
	}
	return []byte(strings.TrimRight(b.String(), "\n") + "\n")
}
