package kafka_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/erpsync/erpsync/plugins/all"
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// Configs written for Redpanda Connect's kafka input and output
// (testdata/connect, copied unchanged from Connect's documentation) lint
// with every component the erpsync binary registers, with no lint at all,
// also when deprecated fields are rejected.
func TestConnectKafkaExamplesLint(t *testing.T) {
	files, err := filepath.Glob("testdata/connect/*.yaml")
	if err != nil || len(files) < 6 {
		t.Fatalf("testdata/connect: %d files, %v; want the Connect examples", len(files), err)
	}
	linter := service.GlobalEnvironment().FullConfigSchema("", "").NewStreamConfigLinter().
		SetRejectDeprecated(true).SetSkipEnvVarCheck(true)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), "kafka:") {
				t.Fatalf("%s uses no kafka component", f)
			}
			lints, err := linter.LintYAML(data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, l := range lints {
				t.Errorf("lint: %v", l.Error())
			}
		})
	}
}

// The same linter does report what Connect's kafka would reject, so the
// test above can fail.
func TestConnectKafkaLinterCatchesMistakes(t *testing.T) {
	linter := service.GlobalEnvironment().FullConfigSchema("", "").NewStreamConfigLinter().SetSkipEnvVarCheck(true)
	for name, yaml := range map[string]string{
		"unknown field":         "output:\n  kafka:\n    addresses: [ a:9092 ]\n    topic: t\n    max_msg_byte: 10\n",
		"both names of a field": "output:\n  kafka:\n    addresses: [ a:9092 ]\n    topic: t\n    max_msg_bytes: 10\n    max_message_bytes: 10\n",
		"mixed topics":          "input:\n  kafka:\n    addresses: [ a:9092 ]\n    topics: [ a, 'b:0' ]\n    consumer_group: g\n",
	} {
		t.Run(name, func(t *testing.T) {
			lints, err := linter.LintYAML([]byte(yaml))
			if err == nil && len(lints) == 0 {
				t.Fatal("no lint")
			}
		})
	}
}
