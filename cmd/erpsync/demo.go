package main

import (
	"fmt"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/erpsync/erpsync/sandbox"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "Run the shipped pipelines against an embedded sandbox",
		Description: `Starts an embedded vendor sandbox and runs the shipped pipelines against it.

The pipelines (Jushuitan -> KIS, WDT -> K3Cloud, XBB -> MySQL, Jushuitan SN
flows -> MySQL) need outputs that are not part of this build yet: for now the
demo starts the embedded sandbox, shows what it serves and stops.`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "records", Value: 1000, Usage: "documents per source dataset"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the generated data"},
		},
		Action: func(c *cli.Context) error {
			o := sandbox.DefaultOptions()
			o.Records = c.Int("records")
			o.Seed = c.Uint64("seed")
			sb, err := sandbox.Start(o)
			if err != nil {
				return err
			}
			defer sb.Close()
			w := c.App.Writer
			fmt.Fprintf(w, "erpsync demo: embedded sandbox at %s\n\n", sb.URL())
			st := sb.Stats()
			names := make([]string, 0, len(st.Datasets))
			for n := range st.Datasets {
				names = append(names, n)
			}
			sort.Strings(names)
			fmt.Fprintf(w, "%-26s %10s\n", "source dataset", "documents")
			for _, n := range names {
				fmt.Fprintf(w, "%-26s %10d\n", n, st.Datasets[n])
			}
			fmt.Fprintln(w, "\nThe pipeline demo is not available yet: the Kingdee, MySQL and Kafka")
			fmt.Fprintln(w, "outputs it writes to arrive in later releases. Meanwhile run")
			fmt.Fprintln(w, "`erpsync sandbox` and call it as the README shows.")
			return nil
		},
	}
}
