package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/erpsync/erpsync/internal/apiguard"
)

// defaultHealthURL is /ready of the HTTP server at its default address. A
// container's server listens on 0.0.0.0:4195, which loopback reaches too.
const defaultHealthURL = "http://" + apiguard.DefaultAddress + "/ready"

// healthcheckCommand asks a running erpsync whether it is ready, for the
// container's HEALTHCHECK: the distroless image has no curl or wget.
func healthcheckCommand() *cli.Command {
	return &cli.Command{
		Name:      "healthcheck",
		Usage:     "Exit 0 when a running erpsync answers 200 on /ready, 1 otherwise",
		ArgsUsage: " ",
		Description: `GETs the /ready endpoint of a running erpsync's HTTP server and exits 0 when
it answers 200 OK; otherwise prints one line saying why (connection refused,
timeout, the status and the start of the body: Benthos answers 503 naming
the input or output that is not connected) and exits 1. The image's
HEALTHCHECK runs it:

  erpsync healthcheck
  erpsync healthcheck --url http://127.0.0.1:4195/ready --timeout 3s`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", Value: defaultHealthURL, Usage: "the URL to GET"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "give up after this long"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return cli.Exit("erpsync healthcheck: takes no arguments (the address is --url)", 1)
			}
			if err := checkHealth(c.Context, c.String("url"), c.Duration("timeout")); err != nil {
				return cli.Exit("erpsync healthcheck: "+err.Error(), 1)
			}
			fmt.Fprintf(c.App.Writer, "erpsync healthcheck: %s: ready\n", c.String("url"))
			return nil
		},
	}
}

// checkHealth GETs url and returns nil only for a 200 answer.
func checkHealth(ctx context.Context, url string, timeout time.Duration) error {
	if timeout <= 0 {
		return fmt.Errorf("--timeout %v: must be positive", timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("--url %q: %v", url, err)
	}
	// No proxy: the server asked about is this machine's or this container's.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("%s: no answer within %v (is erpsync running, with its HTTP server at this address?)", url, timeout)
		}
		return fmt.Errorf("%s: %v (is erpsync running, with its HTTP server at this address?)", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		reason := strings.Join(strings.Fields(string(body)), " ")
		if reason == "" {
			return fmt.Errorf("%s: not ready: %s", url, resp.Status)
		}
		return fmt.Errorf("%s: not ready: %s: %s", url, resp.Status, reason)
	}
	return nil
}
