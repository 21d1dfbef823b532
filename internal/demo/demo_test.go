package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

// TestIntegrationDemoDeliversEveryDocument runs the demo as `erpsync demo`
// does, with the local MariaDB, and requires every pipeline to pass.
func TestIntegrationDemoDeliversEveryDocument(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	results, err := Run(ctx, Options{Records: 150, Seed: 7, MySQLDSN: erpsynctest.MySQLDSN(), StateDir: t.TempDir()}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(pipelines) || len(pipelines) != 5 {
		t.Fatalf("%d pipelines ran", len(results))
	}
	for _, r := range results {
		if r.Skipped != "" {
			t.Fatalf("%s skipped: %s (MariaDB must answer at MYSQL_DSN; tests/run.sh starts it)", r.Title, r.Skipped)
		}
		if !r.OK() || r.Expected == 0 || r.Written == 0 {
			t.Fatalf("%s: %+v\n%s", r.Title, r, out.String())
		}
	}
	if !strings.Contains(out.String(), "Jushuitan SN flows -> MySQL") || !strings.Contains(out.String(), "Jushuitan sales-out -> K3Cloud") {
		t.Fatalf("summary lacks a pipeline:\n%s", out.String())
	}
}

// TestVerifyReportsMissingAndUnexpected checks the verification itself: a
// target lacking an expected document, or holding one nobody expected,
// fails the pipeline.
func TestVerifyReportsMissingAndUnexpected(t *testing.T) {
	r := &run{o: Options{StateDir: t.TempDir()}}
	p := pipeline{
		stream:  "none",
		expect:  func(*run) (map[string]string, error) { return map[string]string{"1": "A", "2": "B"}, nil },
		present: func(*run) (map[string]bool, error) { return map[string]bool{"A": true, "Z": true}, nil },
	}
	var res Result
	if err := r.verify(p, &res); err != nil {
		t.Fatal(err)
	}
	if res.OK() || len(res.Missing) != 1 || res.Missing[0] != "2" || len(res.Unexpected) != 1 || res.Unexpected[0] != "Z" || res.Written != 1 {
		t.Fatalf("verify: %+v", res)
	}
}
