package docgen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// testEnv holds one input whose spec uses every feature a page shows, and
// one Bloblang method.
func testEnv(t *testing.T) (*service.Environment, *bloblang.Environment) {
	t.Helper()
	spec := service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Reads things.").
		Description("\nFirst paragraph.\n\n== Metadata\n\n- `thing_id`: the id.\n\n```yaml\n== not a heading\n```\n").
		Fields(
			service.NewStringField("url").Description("Where things are.").Default("https://things.example.com"),
			service.NewStringField("secret").Description("The secret.").Secret(),
			service.NewStringField("note").Description("A note.").Optional(),
			service.NewIntField("max_bytes").Description("A big number.").Default(67108864).Advanced(),
			service.NewStringEnumField("mode", "fast", "slow").Description("How.").Default("fast"),
			service.NewStringAnnotatedEnumField("shape", map[string]string{"round": "Round things.", "square": "Square things."}).Description("Shape.").Default("round"),
			service.NewInterpolatedStringField("key").Description("Key per message.").Default(`${! meta("id") }`),
			service.NewBloblangField("mapping").Description("A mapping.").Default("root = this\nroot.x = 1").Example("root = {}"),
			service.NewObjectField("window",
				service.NewStringField("start").Description("Start.").Default(""),
				service.NewStringField("end").Description("End."),
			).Description("The window."),
			service.NewObjectField("backoff",
				service.NewDurationField("initial").Description("First wait.").Default("1s"),
			).Description("Backoff.").Advanced(),
			service.NewObjectListField("limits",
				service.NewIntField("count").Description("Calls."),
			).Description("Limits."),
			service.NewStringMapField("types").Description("Types by column.").Optional(),
		).
		Example("Read things", "Every thing, once.", "input:\n  things:\n    secret: ${SECRET}\n")
	env := service.NewEmptyEnvironment()
	err := env.RegisterInput("things", spec, func(*service.ParsedConfig, *service.Resources) (service.Input, error) {
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	blobl := bloblang.NewEmptyEnvironment()
	err = blobl.RegisterMethodV2("twice", bloblang.NewPluginSpec().Category("ERP").
		Description("Doubles a number. More text.").
		Param(bloblang.NewInt64Param("by").Description("Factor.").Default(2)).
		Example("Double", `root.n = this.n.twice()`, [2]string{`{"n":2}`, `{"n":4}`}),
		func(*bloblang.ParsedParams) (bloblang.Method, error) {
			return func(v any) (any, error) { return v, nil }, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return env, blobl
}

var testComponents = []Component{{"input", "things"}, {"bloblang_method", "twice"}}

func TestComponentPageShowsEveryPartOfTheSpec(t *testing.T) {
	env, blobl := testEnv(t)
	pages, err := Pages(env, blobl, testComponents, Options{Regenerate: "make docs"})
	if err != nil {
		t.Fatal(err)
	}
	page := string(pages["inputs/things.md"])
	for _, want := range []string{
		marker + "`make docs`",
		"# `things` input",
		"*Status: beta · Categories: Services*",
		"Reads things.\n\nFirst paragraph.",
		"## Metadata\n\n- `thing_id`: the id.", // AsciiDoc title made Markdown
		"```yaml\n== not a heading\n```",       // but not inside code
		"## Fields\n\n**required**: no default, must be set. *advanced*: left out of the common config above. *secret*: a credential",
		"### `url`\n\n`string` · default `https://things.example.com`\n\nWhere things are.",
		"### `secret`\n\n`string` · **required** · *secret*",
		"### `note`\n\n`string` · optional, no default",
		"### `max_bytes`\n\n`int` · default `67108864` · *advanced*",
		"Options: `fast`, `slow`.",
		"- `round`: Round things.\n- `square`: Square things.",
		"### `key`\n\n`string` · interpolated (`${! ... }` per message) · default `${! meta(\"id\") }`",
		"### `mapping`\n\n`string` · a Bloblang mapping · default below",
		"Default:\n\n```\nroot = this\nroot.x = 1\n```",
		"Example:\n\n```yaml\nmapping: root = {}\n```",
		"### `window`\n\n`object` · **required**", // a field of its own must be set
		"### `window.start`\n\n`string` · default `\"\"`",
		"### `window.end`\n\n`string` · **required**",
		"### `backoff`\n\n`object` · *advanced*",
		"### `backoff.initial`\n\n`string` · default `1s` · *advanced*",
		"### `limits`\n\n`array of object` · **required**",
		"### `limits[].count`\n\n`int` · **required**",
		"### `types`\n\n`map of string` · optional, no default",
		"## Examples\n\n### Read things\n\nEvery thing, once.\n\n```yaml\ninput:\n  things:\n    secret: ${SECRET}\n```\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	common := codeAfter(t, page, "## Configuration")
	full := codeAfter(t, page, "<details>")
	for _, want := range []string{"input:\n  label: \"\"\n  things:\n    url: https://things.example.com\n", "    secret: \"\" # required\n", "    note: \"\" # optional\n", "    window:\n      start: \"\"\n      end: \"\" # required\n", "    limits: [] # required\n"} {
		if !strings.Contains(common, want) {
			t.Errorf("the common config lacks %q:\n%s", want, common)
		}
	}
	if strings.Contains(common, "max_bytes") || strings.Contains(common, "backoff") {
		t.Errorf("the common config shows advanced fields:\n%s", common)
	}
	if !strings.Contains(full, "    max_bytes: 67108864\n") || !strings.Contains(full, "    backoff:\n      initial: 1s\n") {
		t.Errorf("the full config lacks the advanced fields:\n%s", full)
	}

	blo := string(pages[BloblangPage])
	for _, want := range []string{
		"## `twice`\n\n*Method `.twice(by: integer)` · Status: stable · Categories: ERP*\n\nDoubles a number. More text.",
		"| `by` | `integer` | `2` | Factor. |",
		"```coffee\nroot.n = this.n.twice()\n\n# In:  {\"n\":2}\n# Out: {\"n\":4}\n```",
	} {
		if !strings.Contains(blo, want) {
			t.Errorf("the Bloblang page lacks %q:\n%s", want, blo)
		}
	}
	index := string(pages[IndexPage])
	for _, want := range []string{"| [`things`](inputs/things.md) | Reads things. |", "| [`twice`](bloblang.md#twice) | method | Doubles a number. |"} {
		if !strings.Contains(index, want) {
			t.Errorf("the index lacks %q:\n%s", want, index)
		}
	}
}

// codeAfter is the first fenced code block of page after marker.
func codeAfter(t *testing.T, page, marker string) string {
	t.Helper()
	_, rest, ok := strings.Cut(page, marker)
	if ok {
		_, rest, ok = strings.Cut(rest, "```yaml\n")
	}
	if ok {
		rest, _, ok = strings.Cut(rest, "```")
	}
	if !ok {
		t.Fatalf("no code block after %q:\n%s", marker, page)
	}
	return rest
}

func TestPagesRefusesWhatIsNotRegistered(t *testing.T) {
	env, blobl := testEnv(t)
	for _, c := range []Component{{"output", "things"}, {"bloblang_method", "thrice"}, {"widget", "things"}} {
		_, err := Pages(env, blobl, []Component{c}, Options{})
		if err == nil || !strings.Contains(err.Error(), c.Name) {
			t.Errorf("%s %s: got %v, want an error naming it", c.Type, c.Name, err)
		}
	}
}

func TestDiffAndWrite(t *testing.T) {
	env, blobl := testEnv(t)
	pages, err := Pages(env, blobl, testComponents, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if diff, err := Diff(filepath.Join(dir, "none"), pages); err != nil || len(diff) != len(pages) {
		t.Fatalf("a folder that does not exist: %v %v, want every page missing", diff, err)
	}
	if err := Write(dir, pages); err != nil {
		t.Fatal(err)
	}
	if diff, err := Diff(dir, pages); err != nil || len(diff) != 0 {
		t.Fatalf("just written: %v %v", diff, err)
	}
	write := func(p, s string) {
		t.Helper()
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("inputs/things.md", string(pages["inputs/things.md"])+"edited by hand\n")
	if err := os.Remove(filepath.Join(dir, BloblangPage)); err != nil {
		t.Fatal(err)
	}
	write("outputs/gone.md", marker+"an old page -->\n")
	write("notes.md", "# written by someone\n")
	diff, err := Diff(dir, pages)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"missing: bloblang.md", "stale: inputs/things.md", "unexpected: notes.md", "unexpected: outputs/gone.md"}
	if !slices.Equal(diff, want) {
		t.Fatalf("diff %q, want %q", diff, want)
	}
	if err := Write(dir, pages); err != nil {
		t.Fatal(err)
	}
	// The generated page of a removed component goes; a file someone wrote stays.
	diff, err = Diff(dir, pages)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(diff, []string{"unexpected: notes.md"}) {
		t.Fatalf("after Write: %q, want only the hand-written notes.md left over", diff)
	}
}

// The rendered example of a spec must be the spec's, byte for byte, or
// linting the spec's examples would not check what users read.
func TestExamplesAreShownAsWritten(t *testing.T) {
	env, _ := testEnv(t)
	view, err := lookup(env, Component{"input", "things"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := view.FormatJSON()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := decodeSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	page := string(renderComponent(spec, Options{}))
	for _, e := range spec.Examples {
		if !strings.Contains(page, "```yaml\n"+strings.Trim(e.Config, "\n")+"\n```") {
			t.Errorf("example %q not shown as written", e.Title)
		}
	}
	if len(spec.Examples) == 0 {
		t.Fatal("the test spec's example was not read")
	}
}
