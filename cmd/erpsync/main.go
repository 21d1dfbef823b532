// Command erpsync is the erpsync binary: the Benthos CLI with erpsync's
// plugins, plus the `sandbox`, `demo` and `docs` subcommands.
package main

import (
	"context"
	"fmt"
	"os"
	// Vendor times are Asia/Shanghai and the container image has no zoneinfo.
	_ "time/tzdata"

	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"

	"github.com/erpsync/erpsync/internal/buildinfo"
	_ "github.com/erpsync/erpsync/plugins/all"
	"github.com/erpsync/erpsync/plugins/poll"
)

func main() {
	version, date := buildinfo.Read()
	code, err := service.RunCLIToCode(context.Background(),
		service.CLIOptSetBinaryName("erpsync"),
		service.CLIOptSetProductName("erpsync"),
		service.CLIOptSetVersion(version, date),
		service.CLIOptSetDocumentationURL("https://github.com/erpsync/erpsync"),
		service.CLIOptAddCommand(sandboxCommand()),
		service.CLIOptAddCommand(demoCommand()),
		service.CLIOptAddCommand(docsCommand()),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	// An input stopped by a permanent vendor error (bad secret, no
	// permission) ends its stream cleanly; the process still failed.
	if stops := poll.Stopped(); code == 0 && len(stops) > 0 {
		for _, e := range stops {
			fmt.Fprintf(os.Stderr, "erpsync: an input stopped: %v\n", e)
		}
		code = 1
	}
	os.Exit(code)
}
