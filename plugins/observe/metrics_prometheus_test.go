package observe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
)

func TestSanitizeNames(t *testing.T) {
	tests := []struct {
		in, metric, label string
	}{
		{"input_received", "input_received", "input_received"},
		{"erpsync.requests-total", "erpsync_requests_total", "erpsync_requests_total"},
		{"ns:sub", "ns:sub", "ns_sub"},
		{"9lives", "_9lives", "_9lives"},
		{"__reserved", "__reserved", "_reserved"},
		{"___x", "___x", "_x"},
		{"接口", "__", "_"},
		{"", "_", "_"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := sanitizeMetricName(tt.in); got != tt.metric {
				t.Errorf("metric name %q -> %q, want %q", tt.in, got, tt.metric)
			}
			if got := sanitizeLabelName(tt.in); got != tt.label {
				t.Errorf("label name %q -> %q, want %q", tt.in, got, tt.label)
			}
			if !model.LegacyValidation.IsValidMetricName(sanitizeMetricName(tt.in)) {
				t.Errorf("%q is not a valid metric name", sanitizeMetricName(tt.in))
			}
			if !model.LegacyValidation.IsValidLabelName(sanitizeLabelName(tt.in)) {
				t.Errorf("%q is not a valid label name", sanitizeLabelName(tt.in))
			}
		})
	}
}

func TestMetricAndTimerNames(t *testing.T) {
	tests := []struct {
		prefix, in, counter, timer string
	}{
		{"", "output_latency_ns", "output_latency_ns", "output_latency_seconds"},
		{"", "erpsync_request_duration", "erpsync_request_duration", "erpsync_request_duration_seconds"},
		{"", "erpsync_wait_seconds", "erpsync_wait_seconds", "erpsync_wait_seconds"},
		{"erp", "input_received", "erp_input_received", "erp_input_received_seconds"},
		{"erp-prod", "a.b", "erp_prod_a_b", "erp_prod_a_b_seconds"},
	}
	for _, tt := range tests {
		e := newExporter(t, PrometheusOptions{Prefix: tt.prefix})
		if got := e.MetricName(tt.in); got != tt.counter {
			t.Errorf("prefix %q: MetricName(%q) = %q, want %q", tt.prefix, tt.in, got, tt.counter)
		}
		if got := e.timerName(tt.in); got != tt.timer {
			t.Errorf("prefix %q: timerName(%q) = %q, want %q", tt.prefix, tt.in, got, tt.timer)
		}
	}
}

func TestExporterKindsAndLabels(t *testing.T) {
	e := newExporter(t, PrometheusOptions{HistogramBuckets: []float64{0.1, 1, 10}})
	e.NewCounterCtor("erpsync_vendor_requests", "vendor", "interface", "code")("jushuitan", "/open/orders", "0").Incr(3)
	c := e.NewCounterCtor("erpsync_vendor_requests", "vendor", "interface", "code")("jushuitan", "/open/orders", "199")
	c.Incr(1)
	c.Incr(-5) // ignored: a counter never goes down
	c.(interface{ IncrFloat64(float64) }).IncrFloat64(0.5)
	g := e.NewGaugeCtor("erpsync_checkpoint_lag_seconds", "stream")("orders")
	g.Set(42)
	g.(interface{ SetFloat64(float64) }).SetFloat64(12.5)
	tm := e.NewTimerCtor("erpsync_request_ns", "vendor")("wdt")
	tm.Timing(int64(500 * time.Millisecond))
	tm.Timing(int64(5 * time.Second))

	fams := scrapeHandler(t, e.HandlerFunc())
	assertValue(t, fams, "erpsync_vendor_requests", map[string]string{"vendor": "jushuitan", "interface": "/open/orders", "code": "0"}, 3)
	assertValue(t, fams, "erpsync_vendor_requests", map[string]string{"code": "199"}, 1.5)
	assertValue(t, fams, "erpsync_checkpoint_lag_seconds", map[string]string{"stream": "orders"}, 12.5)
	h := metricWith(t, fams, "erpsync_request_seconds", map[string]string{"vendor": "wdt"}).GetHistogram()
	if h.GetSampleCount() != 2 || math.Abs(h.GetSampleSum()-5.5) > 1e-9 {
		t.Errorf("timer histogram: count %d sum %v, want 2 and 5.5 (seconds)", h.GetSampleCount(), h.GetSampleSum())
	}
	var le []float64
	var cum []uint64
	for _, b := range h.GetBucket() {
		le = append(le, b.GetUpperBound())
		cum = append(cum, b.GetCumulativeCount())
	}
	if len(le) != 4 || le[0] != 0.1 || le[2] != 10 || !math.IsInf(le[3], 1) || cum[0] != 0 || cum[1] != 1 || cum[2] != 2 || cum[3] != 2 {
		t.Errorf("timer buckets %v with counts %v, want [0.1 1 10 +Inf] with [0 1 2 2]", le, cum)
	}
	if fams["erpsync_vendor_requests"].GetType() != dto.MetricType_COUNTER || fams["erpsync_checkpoint_lag_seconds"].GetType() != dto.MetricType_GAUGE {
		t.Error("counter or gauge exported as the wrong type")
	}
}

// In streams mode Benthos puts the label "stream" (the stream's id) before a
// component's own label keys; a component with a "stream" label of its own
// (the dead-letter outputs) then asks for "stream" twice. The family must
// still be exported, with the stream's id.
func TestExporterRepeatedLabelKey(t *testing.T) {
	var logs bytes.Buffer
	e := newExporter(t, PrometheusOptions{}, &logs)
	e.NewCounterCtor("erpsync_dead_letters_total", "stream", "stream", "target")("orders_to_kis", "orders", "kis").Incr(2)
	e.NewCounterCtor("erpsync_dead_letters_total", "stream", "stream", "target")("orders_to_kis", "orders", "kis").Incr(1)
	// A resource the streams share has an empty stream id: the component's
	// own stream (the message's) is kept.
	e.NewCounterCtor("erpsync_dead_letters_total", "stream", "stream", "target")("", "shared_a", "kis").Incr(4)
	e.NewCounterCtor("erpsync_dead_letters_total", "stream", "stream", "target")("", "shared_b", "kis").Incr(5)
	e.NewGaugeCtor("erpsync_lag", "stream", "path", "stream")("a", "root", "b").Set(7)
	e.NewTimerCtor("erpsync_wait_ns", "stream", "stream")("a", "b").Timing(int64(time.Second))
	fams := scrapeHandler(t, e.HandlerFunc())
	assertValue(t, fams, "erpsync_dead_letters_total", map[string]string{"stream": "orders_to_kis", "target": "kis"}, 3)
	assertValue(t, fams, "erpsync_dead_letters_total", map[string]string{"stream": "shared_a", "target": "kis"}, 4)
	assertValue(t, fams, "erpsync_dead_letters_total", map[string]string{"stream": "shared_b", "target": "kis"}, 5)
	assertValue(t, fams, "erpsync_lag", map[string]string{"stream": "a", "path": "root"}, 7)
	if h := metricWith(t, fams, "erpsync_wait_seconds", map[string]string{"stream": "a"}).GetHistogram(); h.GetSampleCount() != 1 {
		t.Errorf("timer with a repeated label: %d samples, want 1", h.GetSampleCount())
	}
	if logs.Len() > 0 {
		t.Errorf("exporter logged: %s", logs.String())
	}
}

func TestExporterConflictingNameIsDroppedNotPanicking(t *testing.T) {
	var logs strings.Builder
	e := newExporter(t, PrometheusOptions{}, &logs)
	e.NewCounterCtor("erpsync_rows", "target")("mysql").Incr(2)
	e.NewCounterCtor("erpsync_rows", "target", "result")("mysql", "ok").Incr(7) // other labels
	e.NewGaugeCtor("erpsync_rows", "target")("mysql").Set(9)                    // other kind
	e.NewCounterCtor("erpsync_rows", "target")("mysql", "extra").Incr(1)        // wrong number of values
	fams := scrapeHandler(t, e.HandlerFunc())
	assertValue(t, fams, "erpsync_rows", map[string]string{"target": "mysql"}, 2)
	if n := len(fams["erpsync_rows"].GetMetric()); n != 1 {
		t.Errorf("erpsync_rows has %d series, want 1", n)
	}
	if !strings.Contains(logs.String(), "erpsync_rows") {
		t.Errorf("the conflict was not logged: %q", logs.String())
	}
}

func TestExporterDeleteSeriesPartialMatch(t *testing.T) {
	e := newExporter(t, PrometheusOptions{})
	ctor := e.NewCounterCtor("input_received", "stream", "label")
	ctor("a", "x").Incr(1)
	ctor("b", "x").Incr(1)
	e.NewGaugeCtor("erpsync_lag", "stream")("a").Set(1)
	e.DeleteSeriesPartialMatch(map[string]string{"stream": "a"})
	fams := scrapeHandler(t, e.HandlerFunc())
	if n := len(fams["input_received"].GetMetric()); n != 1 {
		t.Errorf("input_received has %d series after deleting stream a, want 1", n)
	}
	if _, ok := fams["erpsync_lag"]; ok {
		t.Error("erpsync_lag of stream a is still exported")
	}
}

func TestExporterGoAndProcessCollectors(t *testing.T) {
	tests := []struct {
		opts PrometheusOptions
		want string
		has  bool
	}{
		{PrometheusOptions{AddGoMetrics: true}, "go_goroutines", true},
		{PrometheusOptions{}, "go_goroutines", false},
		{PrometheusOptions{AddProcessMetrics: true}, "process_cpu_seconds_total", true},
	}
	for _, tt := range tests {
		fams := scrapeHandler(t, newExporter(t, tt.opts).HandlerFunc())
		if _, ok := fams[tt.want]; ok != tt.has {
			t.Errorf("%+v: %s exported = %v, want %v", tt.opts, tt.want, ok, tt.has)
		}
	}
}

func TestExporterPushesOnClose(t *testing.T) {
	type push struct {
		method, path string
		body         int
	}
	got := make(chan push, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- push{r.Method, r.URL.Path, len(b)}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	e, err := NewPrometheusExporter(PrometheusOptions{PushURL: srv.URL, PushInterval: time.Hour, PushJobName: "sync"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.NewCounterCtor("output_sent")().Incr(1)
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p.method != http.MethodPut || p.path != "/metrics/job/sync" || p.body == 0 {
			t.Errorf("push %+v, want a PUT of metrics to /metrics/job/sync", p)
		}
	default:
		t.Fatal("Close pushed nothing")
	}
}

func TestExporterPushErrorHidesPassword(t *testing.T) {
	e, err := NewPrometheusExporter(PrometheusOptions{PushURL: "http://user:hunter2@127.0.0.1:1", PushInterval: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = e.Close(context.Background())
	if err == nil {
		t.Fatal("push to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("push error shows the password: %v", err)
	}
}

func TestExporterRejectsUnsortedBuckets(t *testing.T) {
	if _, err := NewPrometheusExporter(PrometheusOptions{HistogramBuckets: []float64{1, 0.5}}, nil); err == nil {
		t.Error("unsorted buckets accepted")
	}
	err := service.NewStreamBuilder().SetMetricsYAML("prometheus:\n  histogram_buckets: [1, 0.5]")
	if err == nil || !strings.Contains(err.Error(), "increasing") {
		t.Errorf("lint of unsorted buckets: %v", err)
	}
}

// TestPrometheusServesStreamMetrics runs a stream with the exporter and the
// Benthos HTTP server, and scrapes /metrics over HTTP while it runs.
func TestPrometheusServesStreamMetrics(t *testing.T) {
	env := service.NewEnvironment()
	err := env.RegisterProcessor("erpsync_test_count", service.NewConfigSpec(),
		func(_ *service.ParsedConfig, mgr *service.Resources) (service.Processor, error) {
			return &countingProcessor{c: mgr.Metrics().NewCounter("erpsync_test_total", "vendor")}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	b := env.NewStreamBuilder()
	// One batch of five messages, then nothing for an hour: the stream (and
	// its HTTP server) keeps running while the test scrapes.
	if err := b.SetYAML(`
http:
  enabled: true
  address: ` + addr + `
logger:
  level: warn
input:
  generate:
    interval: 1h
    batch_size: 5
    mapping: |
      root = {}
      meta vendor = ["jushuitan", "wdt", "jushuitan", "jushuitan", "wdt"].index((counter() - 1) % 5)
pipeline:
  processors:
    - erpsync_test_count: {}
output:
  drop: {}
`); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMetricsYAML("prometheus: {}"); err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- stream.Run(ctx) }()
	t.Cleanup(func() {
		_ = stream.Stop(context.Background())
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("stream: %v", err)
		}
	})

	url := "http://" + addr + "/metrics"
	fams := scrapeUntil(t, ctx, url, func(f map[string]*dto.MetricFamily) bool { return sum(f, "output_sent") >= 5 })
	assertSum(t, fams, "input_received", 5)
	assertSum(t, fams, "output_sent", 5)
	assertValue(t, fams, "input_received", map[string]string{"path": "root.input"}, 5)
	assertValue(t, fams, "erpsync_test_total", map[string]string{"vendor": "jushuitan", "path": "root.pipeline.processors.0"}, 3)
	assertValue(t, fams, "erpsync_test_total", map[string]string{"vendor": "wdt"}, 2)
	if _, ok := fams["output_latency_seconds"]; !ok {
		t.Error("Benthos's output_latency_ns timer is not exported as output_latency_seconds")
	}
	// Benthos mounts the same handler at /stats.
	if stats := scrapeURL(t, ctx, "http://"+addr+"/stats"); sum(stats, "output_sent") != 5 {
		t.Errorf("/stats output_sent = %v, want 5", sum(stats, "output_sent"))
	}
}

// scrapeUntil scrapes url until ready holds (the stream's counters are
// updated just after it acknowledges), and returns that scrape.
func scrapeUntil(t *testing.T, ctx context.Context, url string, ready func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		fams := scrapeURL(t, ctx, url)
		if ready(fams) {
			return fams
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: the expected values never appeared; last scrape had output_sent %v", url, sum(fams, "output_sent"))
		case <-tick.C:
		}
	}
}

type countingProcessor struct{ c *service.MetricCounter }

func (p *countingProcessor) Process(_ context.Context, m *service.Message) (service.MessageBatch, error) {
	v, _ := m.MetaGet("vendor")
	p.c.Incr(1, v)
	return service.MessageBatch{m}, nil
}

func (p *countingProcessor) Close(context.Context) error { return nil }

// ------------------------------------------------------------------ helpers

func newExporter(t *testing.T, o PrometheusOptions, logs ...io.Writer) *PrometheusExporter {
	t.Helper()
	var log *service.Logger
	if len(logs) > 0 {
		log = service.NewLoggerFromSlog(slogTo(logs[0]))
	}
	e, err := NewPrometheusExporter(o, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func scrapeHandler(t *testing.T, h http.HandlerFunc) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return scrapeURL(t, context.Background(), srv.URL)
}

// scrapeURL GETs url, retrying while the server is not yet listening.
func scrapeURL(t *testing.T, ctx context.Context, url string) map[string]*dto.MetricFamily {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for range 250 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: HTTP %d", url, resp.StatusCode)
			}
			p := expfmt.NewTextParser(model.LegacyValidation)
			fams, err := p.TextToMetricFamilies(resp.Body)
			if err != nil {
				t.Fatalf("GET %s: not the Prometheus text format: %v", url, err)
			}
			return fams
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: %v", url, lastErr)
		case <-tick.C:
		}
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return nil
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, lp := range m.GetLabel() {
		have[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func metricWith(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("metric %s is not exported", name)
	}
	for _, m := range f.GetMetric() {
		if labelsMatch(m, labels) {
			return m
		}
	}
	t.Fatalf("metric %s has no series with labels %v", name, labels)
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return math.NaN()
}

func assertValue(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string, want float64) {
	t.Helper()
	if got := value(metricWith(t, fams, name, labels)); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func assertSum(t *testing.T, fams map[string]*dto.MetricFamily, name string, want float64) {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("metric %s is not exported", name)
	}
	if got := sum(fams, name); got != want {
		t.Errorf("sum of %s = %v, want %v (%d series)", name, got, want, len(f.GetMetric()))
	}
}

func sum(fams map[string]*dto.MetricFamily, name string) float64 {
	var s float64
	for _, m := range fams[name].GetMetric() {
		s += value(m)
	}
	return s
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestExporterNameTakenByCollector(t *testing.T) {
	var logs strings.Builder
	e := newExporter(t, PrometheusOptions{AddGoMetrics: true}, &logs)
	for range 2 { // the second ask must not trip over the failed first
		e.NewGaugeCtor("go_goroutines")().Set(-1)
	}
	fams := scrapeHandler(t, e.HandlerFunc())
	if v := value(fams["go_goroutines"].GetMetric()[0]); v < 1 {
		t.Errorf("go_goroutines = %v: the plugin gauge replaced the collector's", v)
	}
	if n := strings.Count(logs.String(), "go_goroutines is not exported"); n != 1 {
		t.Errorf("the clash was logged %d times, want once: %q", n, logs.String())
	}
}
