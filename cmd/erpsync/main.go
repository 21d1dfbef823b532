// Command erpsync is the erpsync binary: the Benthos CLI with erpsync's
// plugins, name, documentation and HTTP server defaults, plus the
// `sandbox`, `demo` and `docs` subcommands.
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

	"github.com/erpsync/erpsync/internal/apiguard"
	"github.com/erpsync/erpsync/internal/buildinfo"
	"github.com/erpsync/erpsync/internal/fatal"
	_ "github.com/erpsync/erpsync/plugins/all"
)

func main() {
	version, date := buildinfo.Read()
	if versionRequested(os.Args[1:]) {
		printVersion(os.Stdout, version, date)
		return
	}
	installHelpPrinter()

	ctx, cancel := context.WithCancel(context.Background())
	guard := apiguard.New(service.GlobalEnvironment(), cancel)
	// A component that meets an error only the user can fix (see
	// internal/fatal) ends the run through this context.
	fatal.SetCancel(cancel)
	opts := []service.CLIOptFunc{
		service.CLIOptSetArgs(expandLintResources(os.Args)...),
		service.CLIOptSetBinaryName(binaryName),
		service.CLIOptSetProductName(productName),
		service.CLIOptSetVersion(version, date),
		service.CLIOptSetDocumentationURL(docsURL),
		service.CLIOptSetDefaultConfigPaths(defaultConfigPaths...),
		service.CLIOptSetMainSchemaFrom(func() *service.ConfigSchema { return mainSchema(version, date) }),
		service.CLIOptAddCommand(sandboxCommand()),
		service.CLIOptAddCommand(demoCommand()),
		service.CLIOptAddCommand(studioCommand()),
		service.CLIOptAddCommand(docsCommand()),
		service.CLIOptAddCommand(healthcheckCommand()),
		service.CLIOptAddCommand(catalogueCommand()),
	}
	opts = append(opts, guard.CLIOpts()...)
	run := func() (int, error) { return service.RunCLIToCode(ctx, opts...) }
	var code int
	var err error
	if autocompleteRequested(os.Args[1:]) {
		code, err = runAutocomplete(run)
	} else {
		code, err = run()
	}
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, fillBenthosTemplate(err.Error()))
	} else if gerr := guard.Err(); gerr != nil {
		// The server failed after the streams had started; the guard
		// stopped them.
		fmt.Fprintln(os.Stderr, gerr)
		if code == 0 {
			code = 1
		}
	}
	// A component stopped the run with an error only the user can fix
	// (bad configuration, refused credentials, state that cannot be
	// stored): Benthos shut the streams down cleanly; the process failed.
	if stops := fatal.Errs(); len(stops) > 0 {
		for _, e := range stops {
			fmt.Fprintf(os.Stderr, "erpsync: stopped: %v\n", e)
		}
		code = 1
	}
	os.Exit(code)
}

// mainSchema is Benthos's main config schema with erpsync's defaults: the
// HTTP server on loopback only, and logs naming erpsync as their service.
func mainSchema(version, date string) *service.ConfigSchema {
	s := service.GlobalEnvironment().FullConfigSchema(version, date)
	s.SetFieldDefault(apiguard.DefaultAddress, "http", "address")
	s.SetFieldDefault(map[string]any{"@service": productName}, "logger", "static_fields")
	return s
}
