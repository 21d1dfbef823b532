// Package streamtest runs a Benthos input in a real stream for plugin tests
// and counts what it delivered.
package streamtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/sandbox"
)

// StartSandbox starts a sandbox with records documents per dataset on a free port.
func StartSandbox(t *testing.T, records int) *sandbox.Server {
	t.Helper()
	o := sandbox.DefaultOptions()
	o.Records = records
	sb, err := sandbox.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// Delivered counts deliveries per source_id and records the metadata of
// the last delivery of each.
type Delivered struct {
	Count map[string]int
	Meta  map[string]map[string]string
}

// RunInput runs inputYAML (an input config, e.g. "xbb:\n  ...") with a
// memory cache named "checkpoints" until the input ends, acknowledging
// everything, and returns what was delivered.
func RunInput(t *testing.T, inputYAML string) Delivered {
	t.Helper()
	b := service.NewStreamBuilder()
	if err := b.AddCacheYAML("label: checkpoints\nmemory: {}"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetLoggerYAML("level: warn"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddInputYAML(inputYAML); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	d := Delivered{Count: map[string]int{}, Meta: map[string]map[string]string{}}
	if err := b.AddBatchConsumerFunc(func(_ context.Context, batch service.MessageBatch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range batch {
			meta := map[string]string{}
			_ = m.MetaWalk(func(k, v string) error { meta[k] = v; return nil })
			d.Count[meta["source_id"]]++
			d.Meta[meta["source_id"]] = meta
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return d
}

// ExactlyOnce fails the test unless every document of the sandbox dataset
// was delivered exactly once and nothing else was.
func ExactlyOnce(t *testing.T, sb *sandbox.Server, dataset string, d Delivered) {
	t.Helper()
	truth := sb.Env().Dataset(dataset).Truth()
	if len(d.Count) != len(truth) {
		t.Fatalf("%s: %d documents delivered, the truth has %d", dataset, len(d.Count), len(truth))
	}
	for _, doc := range truth {
		if d.Count[doc.ID] != 1 {
			t.Fatalf("%s: document %s delivered %d times", dataset, doc.ID, d.Count[doc.ID])
		}
	}
}
