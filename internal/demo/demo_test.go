package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
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
	if len(results) != len(pipelines) || len(pipelines) != 6 {
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
	if !strings.Contains(out.String(), "Jushuitan SN flows -> MySQL") || !strings.Contains(out.String(), "Jushuitan sales-out -> K3Cloud") ||
		!strings.Contains(out.String(), "Jushuitan purchase-in -> K3Cloud") {
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

// TestIntegrationDemoConsole: with Console set, the demo ends by printing
// the console's URL and serves it, with every stream it ran, until its
// context ends; the streams' dead letters are in the demo's table.
func TestIntegrationDemoConsole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := erpsynctest.FreeAddr(t)
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Options{Records: 80, Seed: 3, MySQLDSN: erpsynctest.MySQLDSN(), StateDir: t.TempDir(), Console: true, ConsoleAddr: addr}, out)
		done <- err
	}()
	url := "http://" + addr + "/console/"
	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(out.String(), "Console: "+url) {
		select {
		case err := <-done:
			t.Fatalf("the demo ended before serving the console: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no console URL printed:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Get(url + "api/streams")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Streams []struct {
			Name, State     string
			DeadLetterTable bool `json:"dead_letter_table"`
			Counts          map[string]int64
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(body.Streams) != len(pipelines) {
		t.Fatalf("the console lists %d streams, the demo ran %d", len(body.Streams), len(pipelines))
	}
	tables := 0
	for _, s := range body.Streams {
		if s.State != "finished" || s.Counts["read"] == 0 {
			t.Errorf("%s: state %s, read %d", s.Name, s.State, s.Counts["read"])
		}
		if s.DeadLetterTable {
			tables++
		}
	}
	if tables == 0 {
		t.Error("no stream of the demo wrote its dead letters to the table")
	}
	select {
	case err := <-done:
		t.Fatalf("the demo stopped serving by itself: %v", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the demo ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not end when interrupted")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIntegrationDemosTakeTurns: a second demo on the same database waits,
// saying so, until the first released the demo tables.
func TestIntegrationDemosTakeTurns(t *testing.T) {
	db := erpsynctest.OpenDB(t)
	ctx := context.Background()
	first, err := lockDemo(ctx, db, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		second, err := lockDemo(ctx, db, out)
		if err == nil {
			second()
		}
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "waiting for it to finish") {
		if time.Now().After(deadline) {
			t.Fatal("the second demo did not say it waits")
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the second demo went ahead while the first held the tables (%v)", err)
	default:
	}
	first()
	first() // idempotent
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
