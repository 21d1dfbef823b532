package observe

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkCounterIncrWithLabels measures what a plugin pays per
// MetricCounter.Incr(1, labels...) through the exporter (label lookup and
// add); the baseline is client_golang used directly the same way.
func BenchmarkCounterIncrWithLabels(b *testing.B) {
	b.Run("exporter", func(b *testing.B) {
		e, err := NewPrometheusExporter(PrometheusOptions{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctor := e.NewCounterCtor("erpsync_vendor_requests", "vendor", "interface", "code")
		b.ReportAllocs()
		for b.Loop() {
			ctor("jushuitan", "/open/orders/single/query", "0").Incr(1)
		}
	})
	b.Run("baseline_client_golang", func(b *testing.B) {
		reg := prometheus.NewRegistry()
		cv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "erpsync_vendor_requests", Help: "x"}, []string{"vendor", "interface", "code"})
		reg.MustRegister(cv)
		b.ReportAllocs()
		for b.Loop() {
			cv.WithLabelValues("jushuitan", "/open/orders/single/query", "0").Add(1)
		}
	})
}

// BenchmarkTimerObserve: one timing observation through the exporter
// against a histogram observed directly.
func BenchmarkTimerObserve(b *testing.B) {
	b.Run("exporter", func(b *testing.B) {
		e, err := NewPrometheusExporter(PrometheusOptions{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		tm := e.NewTimerCtor("output_latency_ns", "label", "path")("", "root.output")
		b.ReportAllocs()
		for b.Loop() {
			tm.Timing(1_500_000)
		}
	})
	b.Run("baseline_client_golang", func(b *testing.B) {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "x_seconds", Help: "x", Buckets: DefaultTimerBuckets})
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(0.0015)
		}
	})
}
