package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/erpsync/erpsync/internal/catalogue"
)

// catalogueCommand prints erpsync's catalogue of vendor list interfaces.
func catalogueCommand() *cli.Command {
	return &cli.Command{
		Name:      "catalogue",
		Usage:     "List the vendor interfaces the source inputs know (id and modified fields, windows, paging, limits, sources)",
		ArgsUsage: "[jushuitan|wdt|xbb]",
		Description: `Prints the catalogue of list interfaces the jushuitan, wdt and xbb inputs read
without further settings, as Markdown, or as JSON with --json. An interface not
listed needs the input's interface.id_fields (or interface.document_id):

  erpsync catalogue
  erpsync catalogue wdt --json`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *cli.Context) error {
			vendor, asJSON := "", c.Bool("json")
			var args []string
			for _, a := range c.Args().Slice() {
				if a == "--json" || a == "-json" {
					asJSON = true // after the vendor, where the flag parser stops
					continue
				}
				args = append(args, a)
			}
			switch len(args) {
			case 0:
			case 1:
				vendor = args[0]
				if vendor != catalogue.Jushuitan && vendor != catalogue.WDT && vendor != catalogue.XBB {
					return cli.Exit(fmt.Sprintf("erpsync catalogue: unknown vendor %q: use jushuitan, wdt or xbb", vendor), 1)
				}
			default:
				return cli.Exit("erpsync catalogue: takes at most one vendor (jushuitan, wdt or xbb)", 1)
			}
			if asJSON {
				out, err := catalogue.JSON(vendor)
				if err != nil {
					return cli.Exit("erpsync catalogue: "+err.Error(), 1)
				}
				fmt.Fprintln(c.App.Writer, string(out))
				return nil
			}
			_, err := c.App.Writer.Write(catalogue.Markdown(vendor))
			return err
		},
	}
}
