package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

const (
	productName = "erpsync"
	binaryName  = "erpsync"
	// docsURL is the root of every documentation link erpsync prints: the
	// docs folder of the repository, which exists (a link below it must
	// name a file that exists there too).
	docsURL  = "https://github.com/erpsync/erpsync/tree/main/docs"
	appUsage = "moves Chinese e-commerce data into ERPs - " + docsURL
)

// defaultConfigPaths are where a bare `erpsync` looks for a config, in
// place of Benthos's /benthos.yaml and /etc/benthos/config.yaml.
var defaultConfigPaths = []string{"/erpsync.yaml", "/etc/erpsync/config.yaml", "/etc/erpsync.yaml"}

// benthosDocPaths are the pages of Benthos's own documentation that its
// help texts (blobl, streams, template, test) link below the documentation
// URL. erpsync's docs have none of them, so the sentence carrying such a
// link is left out of the help.
var benthosDocPaths = []string{
	"/guides/bloblang/about",
	"/guides/streams_mode/about",
	"/configuration/templating",
	"/configuration/unit_testing",
}

// installHelpPrinter makes every help page erpsync's: Benthos builds its
// commands inside RunCLIToCode, out of reach, but they are all printed
// through urfave/cli's HelpPrinter.
func installHelpPrinter() {
	defaultPrinter := cli.HelpPrinter
	cli.HelpPrinter = func(w io.Writer, templ string, data any) {
		switch d := data.(type) {
		case *cli.App:
			d.Usage = appUsage
			d.Description = rebrandText(d.Description)
			for _, c := range d.Commands {
				rebrandCommand(c)
			}
		case *cli.Command:
			rebrandCommand(d)
		}
		defaultPrinter(w, templ, data)
	}
}

func rebrandCommand(c *cli.Command) {
	c.Usage = rebrandText(c.Usage)
	c.Description = rebrandText(c.Description)
	for _, s := range c.Subcommands {
		rebrandCommand(s)
	}
}

// rebrandText drops the lines linking a Benthos page (and a line
// introducing such a link: "For more information check out the docs at:")
// and mends Benthos's "a {{.ProductName}}" grammar.
func rebrandText(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !linksBenthosPage(l) {
			out = append(out, l)
			continue
		}
		if n := len(out); n > 0 && strings.HasSuffix(strings.TrimSpace(out[n-1]), ":") && strings.HasPrefix(strings.TrimSpace(l), docsURL) {
			out = out[:n-1]
		}
	}
	s = strings.TrimRight(strings.Join(out, "\n"), " \n")
	return strings.ReplaceAll(s, " a "+productName, " an "+productName)
}

func linksBenthosPage(line string) bool {
	for _, p := range benthosDocPaths {
		if strings.Contains(line, docsURL+p) {
			return true
		}
	}
	return false
}

// fillBenthosTemplate fills the placeholders Benthos leaves in some of its
// messages (streams mode's "run {{.ProductName}} with --chilled").
func fillBenthosTemplate(s string) string {
	return strings.NewReplacer(
		"{{.ProductName}}", productName,
		"{{.BinaryName}}", binaryName,
		"{{.DocumentationURL}}", docsURL,
	).Replace(s)
}

// rootFlagSet tells whether args (without the program name) set the bool
// flag name (-name, --name, --name=true) among the flags before the
// command, where Benthos's root command reads it.
func rootFlagSet(args []string, names ...string) bool {
	for _, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") {
			return false
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !slices.Contains(names, name) {
			continue
		}
		if !hasVal {
			return true
		}
		if b, err := strconv.ParseBool(val); err == nil && b {
			return true
		}
	}
	return false
}

// versionRequested: Benthos would print only "Version:" and "Date:".
func versionRequested(args []string) bool { return rootFlagSet(args, "v", "version") }

// autocompleteRequested: Benthos prints every command's texts as JSON for
// shell completion, unbranded (the help printer never sees them).
func autocompleteRequested(args []string) bool { return rootFlagSet(args, "help-autocomplete") }

// rebrandAutocomplete rewrites the JSON of --help-autocomplete as the help
// printer rewrites help pages.
func rebrandAutocomplete(in []byte) ([]byte, error) {
	var entries []map[string]any
	if err := json.Unmarshal(in, &entries); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e["path"] == binaryName {
			e["short"] = appUsage
		}
		for _, k := range []string{"short", "long"} {
			if s, ok := e[k].(string); ok {
				e[k] = rebrandText(s)
			}
		}
	}
	out, err := json.Marshal(entries)
	return append(out, '\n'), err
}

func printVersion(w io.Writer, version, date string) {
	fmt.Fprintf(w, "%s %s\nVersion: %s\nDate: %s\n", productName, version, version, date)
}

// studioCommand replaces Benthos's `studio`, which connects to Benthos
// Studio: erpsync's configs are files in the repository.
func studioCommand() *cli.Command {
	return &cli.Command{
		Name:            "studio",
		Usage:           "Not available: erpsync does not connect to Benthos Studio",
		Hidden:          true,
		HideHelp:        true,
		SkipFlagParsing: true,
		Action: func(*cli.Context) error {
			return errors.New("erpsync studio: not available: erpsync does not connect to Benthos Studio; " +
				"keep configs as files, check them with `erpsync lint` and run them with `erpsync run` or `erpsync streams`")
		},
	}
}

// runAutocomplete runs Benthos's --help-autocomplete with its standard
// output captured (Benthos takes os.Stdout when the run starts) and prints
// it rebranded.
func runAutocomplete(run func() (int, error)) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 1, err
	}
	stdout := os.Stdout
	os.Stdout = w
	var captured bytes.Buffer
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&captured, r)
		close(copied)
	}()
	code, runErr := run()
	os.Stdout = stdout
	_ = w.Close()
	<-copied
	_ = r.Close()
	out, err := rebrandAutocomplete(captured.Bytes())
	if err != nil {
		out = captured.Bytes() // not the JSON expected: pass it on as it is
	}
	_, _ = stdout.Write(out)
	return code, runErr
}
