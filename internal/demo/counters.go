package demo

import (
	"context"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// counters is a metrics exporter keeping the sum of every counter by name,
// which is all the progress lines need.
type counters struct {
	mu  sync.Mutex
	sum map[string]int64
}

func newCounters() *counters { return &counters{sum: map[string]int64{}} }

func (c *counters) get(names ...string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, name := range names {
		n += c.sum[name]
	}
	return n
}

func (c *counters) add(name string, n int64) {
	c.mu.Lock()
	c.sum[name] += n
	c.mu.Unlock()
}

type counter struct {
	c    *counters
	name string
}

func (k counter) Incr(n int64)          { k.c.add(k.name, n) }
func (k counter) IncrFloat64(f float64) { k.c.add(k.name, int64(f)) }

type nop struct{}

func (nop) Timing(int64)        {}
func (nop) Set(int64)           {}
func (nop) SetFloat64(float64)  {}
func (nop) Incr(int64)          {}
func (nop) IncrFloat64(float64) {}
func (nop) Decr(int64)          {}
func (nop) DecrFloat64(float64) {}

func (c *counters) NewCounterCtor(name string, _ ...string) service.MetricsExporterCounterCtor {
	return func(...string) service.MetricsExporterCounter { return counter{c, name} }
}

func (c *counters) NewTimerCtor(string, ...string) service.MetricsExporterTimerCtor {
	return func(...string) service.MetricsExporterTimer { return nop{} }
}

func (c *counters) NewGaugeCtor(string, ...string) service.MetricsExporterGaugeCtor {
	return func(...string) service.MetricsExporterGauge { return nop{} }
}

func (c *counters) Close(context.Context) error { return nil }
