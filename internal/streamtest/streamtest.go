// Package streamtest runs a Benthos input in a real stream for plugin tests
// and records what it delivered.
package streamtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/sandbox"
)

// StartSandbox starts a sandbox with records documents per dataset on a free
// port; opts (may be nil) adjusts the default options further.
func StartSandbox(t testing.TB, records int, opts ...func(*sandbox.Options)) *sandbox.Server {
	t.Helper()
	o := sandbox.DefaultOptions()
	o.Records = records
	for _, f := range opts {
		f(&o)
	}
	sb, err := sandbox.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// Delivered records, per source_id, how often it was delivered, the
// source_modified of each delivery in order and the metadata of the last.
type Delivered struct {
	Count    map[string]int
	Modified map[string][]string
	Meta     map[string]map[string]string
	Batches  int
}

func newDelivered() Delivered {
	return Delivered{Count: map[string]int{}, Modified: map[string][]string{}, Meta: map[string]map[string]string{}}
}

// Merge adds o's deliveries after d's.
func (d *Delivered) Merge(o Delivered) {
	for id, n := range o.Count {
		d.Count[id] += n
		d.Modified[id] = append(d.Modified[id], o.Modified[id]...)
		d.Meta[id] = o.Meta[id]
	}
	d.Batches += o.Batches
}

type runConfig struct {
	cacheYAML  string
	resources  []string
	reject     func(attempt int, batch service.MessageBatch) error
	killAfter  int
	timeout    time.Duration
	loggerYAML string
}

// Option adjusts RunInput.
type Option func(*runConfig)

// WithCacheYAML replaces the checkpoint cache ("checkpoints", memory by
// default), e.g. a file cache shared by two runs.
func WithCacheYAML(yaml string) Option { return func(c *runConfig) { c.cacheYAML = yaml } }

// WithRateLimitYAML adds a rate_limit resource.
func WithRateLimitYAML(yaml string) Option {
	return func(c *runConfig) { c.resources = append(c.resources, yaml) }
}

// WithReject lets the consumer refuse a batch (a nack): attempt counts the
// consumer calls so far, from 0. A refused batch is not recorded.
func WithReject(f func(attempt int, batch service.MessageBatch) error) Option {
	return func(c *runConfig) { c.reject = f }
}

// WithKillAfter stops the stream abruptly when n batches have been
// accepted: the next batch is left unacknowledged and the stream is stopped
// with it in flight, as a killed process would leave it.
func WithKillAfter(n int) Option { return func(c *runConfig) { c.killAfter = n } }

// WithTimeout replaces the two minutes a run may take at most (a backfill
// paced by a vendor's rate limit takes longer).
func WithTimeout(d time.Duration) Option { return func(c *runConfig) { c.timeout = d } }

// RunInput runs inputYAML (an input config, e.g. "xbb:\n  ...") until the
// input ends (or the kill point), acknowledging what the consumer accepts,
// and returns what was delivered.
func RunInput(t testing.TB, inputYAML string, opts ...Option) Delivered {
	t.Helper()
	rc := runConfig{cacheYAML: "label: checkpoints\nmemory: {}", timeout: 2 * time.Minute, loggerYAML: "level: warn"}
	for _, o := range opts {
		o(&rc)
	}
	b := service.NewStreamBuilder()
	if err := b.AddCacheYAML(rc.cacheYAML); err != nil {
		t.Fatal(err)
	}
	for _, r := range rc.resources {
		if err := b.AddRateLimitYAML(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetLoggerYAML(rc.loggerYAML); err != nil {
		t.Fatal(err)
	}
	if err := b.AddInputYAML(inputYAML); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	d := newDelivered()
	attempt := 0
	killed := make(chan struct{})
	var killOnce sync.Once
	if err := b.AddBatchConsumerFunc(func(ctx context.Context, batch service.MessageBatch) error {
		mu.Lock()
		n := attempt
		attempt++
		if rc.killAfter > 0 && d.Batches >= rc.killAfter {
			mu.Unlock()
			killOnce.Do(func() { close(killed) })
			<-ctx.Done()
			return errors.New("killed")
		}
		mu.Unlock()
		if rc.reject != nil {
			if err := rc.reject(n, batch); err != nil {
				return err
			}
		}
		mu.Lock()
		defer mu.Unlock()
		d.Batches++
		for _, m := range batch {
			meta := map[string]string{}
			_ = m.MetaWalk(func(k, v string) error { meta[k] = v; return nil })
			id := meta["source_id"]
			d.Count[id]++
			d.Modified[id] = append(d.Modified[id], meta["source_modified"])
			d.Meta[id] = meta
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rc.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
	case <-killed:
		_ = s.StopWithin(5 * time.Second)
		<-done
	}
	mu.Lock()
	defer mu.Unlock()
	return d
}

// ExactlyOnce fails the test unless every document of the sandbox dataset
// was delivered exactly once and nothing else was.
func ExactlyOnce(t testing.TB, sb *sandbox.Server, dataset string, d Delivered) {
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

// LatestIsTruth fails the test unless every document of the dataset was
// delivered and the last delivery of each carried its current modified time.
func LatestIsTruth(t testing.TB, sb *sandbox.Server, dataset string, d Delivered) {
	t.Helper()
	for _, doc := range sb.Env().Dataset(dataset).Truth() {
		mods := d.Modified[doc.ID]
		if len(mods) == 0 {
			t.Fatalf("%s: document %s (modified %s, version %d) never delivered", dataset, doc.ID, doc.Modified, doc.Version)
		}
		last, err := time.Parse(time.RFC3339, mods[len(mods)-1])
		if err != nil {
			t.Fatalf("%s: source_modified %q of %s: %v", dataset, mods[len(mods)-1], doc.ID, err)
		}
		got := last.In(shanghai).Format("2006-01-02 15:04:05")
		if doc.Created != "" && doc.ServedVersion < doc.Version {
			// A create-time window never shows a change made after the
			// document's window was last read (its create time does not
			// move), whatever the reader does: the version last served must
			// have been delivered, which is older than the truth.
			// Two changes in one second share a modified time, so only a
			// later time proves a version that was never served.
			if got > doc.Modified {
				t.Fatalf("%s: document %s: last delivery modified %s, but the sandbox never served a version after %d (truth version %d, modified %s)", dataset, doc.ID, got, doc.ServedVersion, doc.Version, doc.Modified)
			}
			continue
		}
		if got != doc.Modified {
			t.Fatalf("%s: document %s: last delivery modified %s, truth %s (version %d; deliveries %v)", dataset, doc.ID, got, doc.Modified, doc.Version, mods)
		}
	}
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()
