package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/erpsync/erpsync/internal/demo"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "Run the shipped pipelines against an embedded sandbox and verify every document arrived",
		Description: `Starts an embedded vendor sandbox and runs the shipped pipelines against it:
Jushuitan other-return bills to KIS, Jushuitan sales-out and purchase-in to
K3Cloud bills, WDT shops to K3Cloud customers, XBB
products to MySQL and Jushuitan unique-code flows to MySQL. Each shows a live
progress line; at the end every source document is checked against the
sandbox's truth: it must be in its target, or in the dead letter with the
reason it was rejected. Exits 0 only when that holds for every pipeline.

The MySQL pipelines use MYSQL_DSN (default root@tcp(127.0.0.1:3306)/test)
and are skipped, with the reason, when no server answers there.

With --console the demo ends by printing the console's URL and keeps serving
it (and the sandbox) until interrupted: the streams it ran, their dead
letters and records (MySQL tables erpsync_demo_dead_letters and
erpsync_demo_records), replays and checkpoints. See docs/console.md.`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "records", Value: 1000, Usage: "documents per source dataset"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the generated data"},
			&cli.StringFlag{Name: "state-dir", Usage: "where checkpoints, ledgers, dead letters and logs go (default: a new temporary folder)"},
			&cli.BoolFlag{Name: "console", Usage: "after the summary, serve the console (streams, dead letters, records, replay) at --console-addr until interrupted"},
			&cli.StringFlag{Name: "console-addr", Value: "127.0.0.1:4195", Usage: "address of the console with --console"},
		},
		Action: func(c *cli.Context) error {
			dsn, ok := os.LookupEnv("MYSQL_DSN")
			if !ok {
				dsn = "root@tcp(127.0.0.1:3306)/test"
			}
			fi, _ := os.Stdout.Stat()
			live := fi != nil && fi.Mode()&os.ModeCharDevice != 0
			ctx := c.Context
			if c.Bool("console") {
				// Ctrl-C ends the console, not the process mid-answer.
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
			}
			results, err := demo.Run(ctx, demo.Options{
				Records: c.Int("records"), Seed: c.Uint64("seed"), MySQLDSN: dsn,
				StateDir: c.String("state-dir"), Live: live,
				Console: c.Bool("console"), ConsoleAddr: c.String("console-addr"),
			}, c.App.Writer)
			if err != nil {
				return err
			}
			skipped := 0
			for _, r := range results {
				if !r.OK() {
					return cli.Exit(fmt.Sprintf("erpsync demo: %s did not deliver every document", r.Title), 1)
				}
				if r.Skipped != "" {
					skipped++
				}
			}
			if skipped > 0 {
				fmt.Fprintf(c.App.Writer, "\nEvery source document of the %d pipelines that ran reached its target or the dead letter (%d skipped: see above).\n", len(results)-skipped, skipped)
				return nil
			}
			fmt.Fprintln(c.App.Writer, "\nEvery source document reached its target or the dead letter.")
			return nil
		},
	}
}
