package main

//go:generate go run . docs --out ../../docs/components

import (
	"fmt"
	"strings"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/urfave/cli/v2"

	"github.com/erpsync/erpsync/internal/docgen"
	"github.com/erpsync/erpsync/plugins/all"
)

// regenerate is the command the pages and the freshness errors name.
const regenerate = "go generate ./cmd/erpsync"

const docsIntro = "The components erpsync adds to Benthos, one page each, generated from the specs in " +
	"[`plugins/`](../../plugins/): what a component does, every field with its type and default, and " +
	"examples that `go test ./cmd/erpsync -run Docs` lints and runs (against the sandbox, MariaDB, an in-process Kafka or a stand-in robot). " +
	"Benthos core components (`file`, `http_server`, `generate`, `mapping`, `switch`, `fallback`, ...) are " +
	"documented by Benthos; `erpsync list` names every component of this build."

// docPages renders the pages of every erpsync component.
func docPages() (map[string][]byte, error) {
	cs := make([]docgen.Component, len(all.Components))
	for i, c := range all.Components {
		cs[i] = docgen.Component(c)
	}
	return docgen.Pages(service.GlobalEnvironment(), bloblang.GlobalEnvironment(), cs, docgen.Options{
		Regenerate: regenerate,
		Title:      "erpsync component reference",
		Intro:      docsIntro,
	})
}

func docsCommand() *cli.Command {
	return &cli.Command{
		Name:      "docs",
		Usage:     "Write, or check, the Markdown reference pages of erpsync's own components",
		ArgsUsage: " ",
		Description: `Renders one page per erpsync component (inputs, outputs, processors, caches,
rate limits, metrics, scanners), one page for its Bloblang methods and an
index (README.md), from the component specs in this binary. Benthos core
components are not included.

  erpsync docs --out docs/components     write the pages (and remove
                                         generated pages of removed components)
  erpsync docs --check docs/components   exit 1, listing every missing, stale
                                         or unexpected page, unless the folder
                                         holds exactly what --out would write

` + "`" + regenerate + "`" + ` runs the first for the repository's docs/components.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "folder to write the pages to"},
			&cli.StringFlag{Name: "check", Usage: "folder to compare with the pages, writing nothing"},
		},
		Action: func(c *cli.Context) error {
			out, check := c.String("out"), c.String("check")
			if (out == "") == (check == "") || c.Args().Len() > 0 {
				return cli.Exit("erpsync docs: give exactly one of --out DIR or --check DIR, and no arguments", 2)
			}
			pages, err := docPages()
			if err != nil {
				return cli.Exit("erpsync docs: "+err.Error(), 1)
			}
			if out != "" {
				if err := docgen.Write(out, pages); err != nil {
					return cli.Exit(fmt.Sprintf("erpsync docs: writing %s: %v", out, err), 1)
				}
				fmt.Fprintf(c.App.Writer, "erpsync docs: %d pages in %s\n", len(pages), out)
				return nil
			}
			diff, err := docgen.Diff(check, pages)
			if err != nil {
				return cli.Exit(fmt.Sprintf("erpsync docs: reading %s: %v", check, err), 1)
			}
			if len(diff) > 0 {
				return cli.Exit(fmt.Sprintf("erpsync docs: %s is out of date with the component specs (regenerate with `%s`, or `erpsync docs --out %s`):\n  %s",
					check, regenerate, check, strings.Join(diff, "\n  ")), 1)
			}
			fmt.Fprintf(c.App.Writer, "erpsync docs: the %d pages in %s are current\n", len(pages), check)
			return nil
		},
	}
}
