// Command erpsync is the erpsync binary: the Benthos CLI with erpsync's
// plugins, plus the `sandbox` and `demo` subcommands.
package main

import (
	"context"
	// Vendor times are Asia/Shanghai and the container image has no zoneinfo.
	_ "time/tzdata"

	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"

	"github.com/erpsync/erpsync/internal/buildinfo"
	_ "github.com/erpsync/erpsync/plugins/all"
)

func main() {
	version, date := buildinfo.Read()
	service.RunCLI(context.Background(),
		service.CLIOptSetBinaryName("erpsync"),
		service.CLIOptSetProductName("erpsync"),
		service.CLIOptSetVersion(version, date),
		service.CLIOptSetDocumentationURL("https://github.com/erpsync/erpsync"),
		service.CLIOptAddCommand(sandboxCommand()),
		service.CLIOptAddCommand(demoCommand()),
	)
}
