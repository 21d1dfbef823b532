package docgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// componentSpec is the part of ConfigView.FormatJSON a page shows. The
// schema is Benthos's docs.ComponentSpec (undocumented, so the committed
// pages and their freshness test are what notice a change to it).
type componentSpec struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Status      string    `json:"status"`
	Summary     string    `json:"summary"`
	Description string    `json:"description"`
	Categories  []string  `json:"categories"`
	Footnotes   string    `json:"footnotes"`
	Examples    []example `json:"examples"`
	Config      fieldSpec `json:"config"`
	Version     string    `json:"version"`
}

type example struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
	Config  string `json:"config"`
}

// fieldSpec is Benthos's docs.FieldSpec, as FormatJSON writes it.
type fieldSpec struct {
	Name             string      `json:"name"`
	Type             string      `json:"type"`
	Kind             string      `json:"kind"`
	Description      string      `json:"description"`
	IsAdvanced       bool        `json:"is_advanced"`
	IsDeprecated     bool        `json:"is_deprecated"`
	IsOptional       bool        `json:"is_optional"`
	IsSecret         bool        `json:"is_secret"`
	Default          *any        `json:"default"`
	Interpolated     bool        `json:"interpolated"`
	Bloblang         bool        `json:"bloblang"`
	Examples         []any       `json:"examples"`
	AnnotatedOptions [][2]string `json:"annotated_options"`
	Options          []string    `json:"options"`
	Children         []fieldSpec `json:"children"`
	Version          string      `json:"version"`
}

// decodeSpec reads FormatJSON's output, keeping whole numbers whole (a
// default of 67108864 is not 6.7108864e+07).
func decodeSpec(raw []byte) (componentSpec, error) {
	var spec componentSpec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&spec); err != nil {
		return spec, err
	}
	var fix func(fs []fieldSpec)
	fix = func(fs []fieldSpec) {
		for i := range fs {
			if fs[i].Default != nil {
				v := numbers(*fs[i].Default)
				fs[i].Default = &v
			}
			for j, e := range fs[i].Examples {
				fs[i].Examples[j] = numbers(e)
			}
			fix(fs[i].Children)
		}
	}
	root := []fieldSpec{spec.Config}
	fix(root)
	spec.Config = root[0]
	return spec, nil
}

// numbers turns the json.Numbers in v into int64 or float64.
func numbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	case []any:
		for i := range t {
			t[i] = numbers(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = numbers(t[k])
		}
	}
	return v
}

// isObject is a field holding fields of its own (not a list or map of
// them).
func (f fieldSpec) isObject() bool {
	return len(f.Children) > 0 && (f.Kind == "" || f.Kind == "scalar")
}

// required is a field that must be set: no default, not optional, and for
// an object, a field of its own that must be set.
func (f fieldSpec) required() bool {
	if f.IsOptional || f.Default != nil || f.IsDeprecated {
		return false
	}
	if !f.isObject() {
		return true
	}
	for _, c := range f.Children {
		if c.required() {
			return true
		}
	}
	return false
}

// typeName says what a field holds: `string`, `array of object`, ...
func (f fieldSpec) typeName() string {
	t := f.Type
	switch t {
	case "unknown", "":
		t = "any"
	case "rate_limit":
		t = "rate limit"
	}
	switch f.Kind {
	case "array":
		return "array of " + t
	case "2darray":
		return "array of arrays of " + t
	case "map":
		return "map of " + t
	}
	return t
}

// wrapper is how a component's config sits in a config file.
func wrapper(typ string) (top string, label bool) {
	switch typ {
	case "input", "output":
		return typ, true
	case "metrics", "buffer", "tracer":
		return typ, false
	case "processor", "cache", "rate_limit":
		return "", true
	}
	return "", false
}

func renderComponent(c componentSpec, o Options) []byte {
	var b strings.Builder
	b.WriteString(header(o))
	fmt.Fprintf(&b, "# `%s` %s\n\n", c.Name, strings.ReplaceAll(c.Type, "_", " "))
	status := c.Status
	if status == "" {
		status = "stable"
	}
	meta := []string{"Status: " + status}
	if len(c.Categories) > 0 {
		meta = append(meta, "Categories: "+strings.Join(c.Categories, ", "))
	}
	if c.Version != "" {
		meta = append(meta, "Since: "+c.Version)
	}
	b.WriteString("*" + strings.Join(meta, " · ") + "*\n\n")
	if s := strings.TrimSpace(c.Summary); s != "" {
		b.WriteString(s + "\n\n")
	}
	if d := markdown(c.Description); d != "" {
		b.WriteString(d + "\n\n")
	}

	fields := c.Config.Children
	b.WriteString("## Configuration\n\n")
	hasAdvanced := false
	walkFields(fields, "", func(_ string, f fieldSpec) {
		if f.IsAdvanced {
			hasAdvanced = true
		}
	})
	if hasAdvanced {
		b.WriteString("Common fields, with their defaults:\n\n")
	} else {
		b.WriteString("Every field, with its default:\n\n")
	}
	b.WriteString("```yaml\n" + configYAML(c, false) + "```\n\n")
	if hasAdvanced {
		b.WriteString("<details>\n<summary>Every field, advanced ones included</summary>\n\n")
		b.WriteString("```yaml\n" + configYAML(c, true) + "```\n\n</details>\n\n")
	}

	if len(fields) > 0 {
		b.WriteString("## Fields\n\n")
		b.WriteString(legend(fields) + "\n\n")
		walkFields(fields, "", func(name string, f fieldSpec) { renderField(&b, name, f) })
	} else if c.Config.Type != "" && c.Config.Type != "object" {
		fmt.Fprintf(&b, "The config is a single value: %s.\n\n", c.Config.typeName())
	}

	if len(c.Examples) > 0 {
		b.WriteString("## Examples\n\n")
		for _, e := range c.Examples {
			fmt.Fprintf(&b, "### %s\n\n", strings.TrimSpace(e.Title))
			if s := strings.TrimSpace(e.Summary); s != "" {
				b.WriteString(markdown(s) + "\n\n")
			}
			b.WriteString("```yaml\n" + strings.Trim(e.Config, "\n") + "\n```\n\n")
		}
	}
	if f := markdown(c.Footnotes); f != "" {
		b.WriteString("## Notes\n\n" + f + "\n\n")
	}
	return []byte(strings.TrimRight(b.String(), "\n") + "\n")
}

// legend explains the marks the field list uses.
func legend(fields []fieldSpec) string {
	var req, adv, sec, nested bool
	walkFields(fields, "", func(name string, f fieldSpec) {
		req = req || f.required()
		adv = adv || f.IsAdvanced
		sec = sec || f.IsSecret
		nested = nested || strings.ContainsAny(name, ".[")
	})
	var parts []string
	if req {
		parts = append(parts, "**required**: no default, must be set.")
	}
	if adv {
		parts = append(parts, "*advanced*: left out of the common config above.")
	}
	if sec {
		parts = append(parts, "*secret*: a credential; give it from the environment (`${NAME}`), not in the file.")
	}
	if nested {
		parts = append(parts, "A dotted name is a field of an object (`a.b`), of each object of a list (`a[].b`) or of each value of a map (`a.<name>.b`).")
	}
	if len(parts) == 0 {
		return "Every field has a default."
	}
	return strings.Join(parts, " ")
}

// walkFields visits every field that is not deprecated, depth first, with
// its dotted name.
func walkFields(fields []fieldSpec, prefix string, fn func(name string, f fieldSpec)) {
	for _, f := range fields {
		if f.IsDeprecated {
			continue
		}
		name := prefix + f.Name
		fn(name, f)
		if len(f.Children) == 0 {
			continue
		}
		switch f.Kind {
		case "array":
			name += "[]"
		case "2darray":
			name += "[][]"
		case "map":
			name += ".<name>"
		}
		walkFields(f.Children, name+".", fn)
	}
}

func renderField(b *strings.Builder, name string, f fieldSpec) {
	fmt.Fprintf(b, "### `%s`\n\n", name)
	tags := []string{"`" + f.typeName() + "`"}
	if f.Interpolated {
		tags = append(tags, "interpolated (`${! ... }` per message)")
	}
	if f.Bloblang {
		tags = append(tags, "a Bloblang mapping")
	}
	var blockDefault string
	switch {
	case f.required():
		tags = append(tags, "**required**")
	case f.Default != nil:
		if s, ok := (*f.Default).(string); ok && strings.Contains(s, "\n") {
			tags = append(tags, "default below")
			blockDefault = s
		} else {
			tags = append(tags, "default "+inlineDefault(*f.Default))
		}
	case f.IsOptional:
		tags = append(tags, "optional, no default")
	}
	if f.IsAdvanced {
		tags = append(tags, "*advanced*")
	}
	if f.IsSecret {
		tags = append(tags, "*secret*")
	}
	if f.Version != "" {
		tags = append(tags, "since "+f.Version)
	}
	b.WriteString(strings.Join(tags, " · ") + "\n\n")
	if d := markdown(f.Description); d != "" {
		b.WriteString(d + "\n\n")
	}
	if blockDefault != "" {
		b.WriteString("Default:\n\n```\n" + strings.TrimRight(blockDefault, "\n") + "\n```\n\n")
	}
	switch {
	case len(f.AnnotatedOptions) > 0:
		b.WriteString("Options:\n\n")
		for _, o := range f.AnnotatedOptions {
			fmt.Fprintf(b, "- `%s`: %s\n", o[0], strings.Join(strings.Fields(o[1]), " "))
		}
		b.WriteString("\n")
	case len(f.Options) > 0:
		opts := make([]string, len(f.Options))
		for i, o := range f.Options {
			opts[i] = "`" + o + "`"
		}
		b.WriteString("Options: " + strings.Join(opts, ", ") + ".\n\n")
	}
	if len(f.Examples) > 0 {
		if len(f.Examples) == 1 {
			b.WriteString("Example:\n\n")
		} else {
			b.WriteString("Examples:\n\n")
		}
		for _, e := range f.Examples {
			b.WriteString("```yaml\n" + yamlOf(map[string]any{f.Name: e}) + "```\n\n")
		}
	}
}

// configYAML is the component's config with every default, placeholders
// marked required or optional where there is none, as it sits in a
// config file.
func configYAML(c componentSpec, advanced bool) string {
	var body *yaml.Node
	if c.Config.isObject() {
		body = fieldsNode(c.Config.Children, advanced)
	} else {
		body = valueNode(c.Config, advanced)
	}
	inner := &yaml.Node{Kind: yaml.MappingNode}
	top, label := wrapper(c.Type)
	if label {
		inner.Content = append(inner.Content, scalar("label"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "", Style: yaml.DoubleQuotedStyle})
	}
	inner.Content = append(inner.Content, scalar(c.Name), body)
	root := inner
	if top != "" {
		root = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar(top), inner}}
	}
	return encodeYAML(root)
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func fieldsNode(fields []fieldSpec, advanced bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range fields {
		if f.IsDeprecated || (f.IsAdvanced && !advanced) {
			continue
		}
		n.Content = append(n.Content, scalar(f.Name), valueNode(f, advanced))
	}
	return n
}

func valueNode(f fieldSpec, advanced bool) *yaml.Node {
	if f.Default != nil {
		var v yaml.Node
		if err := v.Encode(*f.Default); err == nil {
			if v.Kind == yaml.SequenceNode || v.Kind == yaml.MappingNode {
				if len(v.Content) == 0 {
					v.Style = yaml.FlowStyle
				}
			}
			return &v
		}
	}
	if f.isObject() {
		return fieldsNode(f.Children, advanced)
	}
	var v *yaml.Node
	switch {
	case f.Kind == "array" || f.Kind == "2darray":
		v = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	case f.Kind == "map" || f.Type == "object":
		v = &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	case f.Type == "int" || f.Type == "float":
		v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "0"}
	case f.Type == "bool":
		v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"}
	default:
		v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "", Style: yaml.DoubleQuotedStyle}
	}
	if f.required() {
		v.LineComment = "required"
	} else {
		v.LineComment = "optional"
	}
	return v
}

func encodeYAML(n *yaml.Node) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return fmt.Sprintf("# cannot render: %v\n", err)
	}
	_ = enc.Close()
	return buf.String()
}

func yamlOf(v any) string {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return fmt.Sprintf("# cannot render: %v\n", err)
	}
	return encodeYAML(&n)
}

// inlineDefault writes a default as Markdown code: a string as it would be
// typed in YAML without quotes (`""` when empty), anything else as JSON.
func inlineDefault(v any) string {
	s, ok := v.(string)
	if !ok {
		return "`" + inlineJSON(v) + "`"
	}
	if s == "" {
		return "`\"\"`"
	}
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// inlineJSON writes v as JSON without HTML escapes (a default of `<` or
// `&` reads as written).
func inlineJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(buf.String())
}

// markdown trims a spec text and turns its AsciiDoc section titles (`==
// Title`, which Benthos specs use) into Markdown headings of the same
// level, outside code blocks. Everything else is left as written.
func markdown(s string) string {
	s = strings.Trim(s, "\n")
	if strings.TrimSpace(s) == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	fence := false
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") {
			fence = !fence
			continue
		}
		if fence {
			continue
		}
		level := 0
		for level < len(t) && t[level] == '=' {
			level++
		}
		if level >= 2 && level <= 6 && len(t) > level && t[level] == ' ' {
			lines[i] = strings.Repeat("#", level) + t[level:]
		}
	}
	return strings.Join(lines, "\n")
}
