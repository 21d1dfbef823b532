package observe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	pmFieldPrefix           = "prefix"
	pmFieldAddProcess       = "add_process_metrics"
	pmFieldAddGo            = "add_go_metrics"
	pmFieldHistogramBuckets = "histogram_buckets"
	pmFieldPushURL          = "push_url"
	pmFieldPushInterval     = "push_interval"
	pmFieldPushJobName      = "push_job_name"
)

// DefaultTimerBuckets are the histogram buckets of timers, in seconds. They
// reach a minute because vendor calls (Kingdee BatchSave, paged list
// reads) take seconds, not the milliseconds prometheus.DefBuckets is cut for.
var DefaultTimerBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

func prometheusSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Summary("Exposes metrics in the Prometheus text format at `/metrics` (and `/stats`) on erpsync's HTTP server, and can push them to a Pushgateway.").
		Description(`
Every metric of the stream (Benthos's own such as `+"`input_received`"+`, `+"`output_sent`"+`, `+"`output_error`"+`,
and the `+"`erpsync_*`"+` metrics of erpsync plugins) is kept in a registry private to this exporter and
served by erpsync's HTTP server (`+"`http.address`"+`, default `+"`127.0.0.1:4195`"+`: set `+"`0.0.0.0:4195`"+`
for Prometheus to reach it from another host or container) at `+"`/metrics`"+`, each with a HELP line saying what it counts.

Names. Prometheus accepts `+"`[a-zA-Z_:][a-zA-Z0-9_:]*`"+` for metric names and `+"`[a-zA-Z_][a-zA-Z0-9_]*`"+`
for label names, and reserves label names starting with `+"`__`"+`. Every other character becomes `+"`_`"+`
(`+"`erpsync.requests-total`"+` → `+"`erpsync_requests_total`"+`), a name starting with a digit gets a
leading `+"`_`"+`, and a label name starting with `+"`__`"+` loses the extra underscores. With a `+"`prefix`"+`,
names become `+"`<prefix>_<name>`"+`.

Kinds. Counters are Prometheus counters (names kept as given, no `+"`_total`"+` added); gauges are
gauges. Timers are histograms observed in seconds (Benthos measures them in nanoseconds), with the
buckets of `+"`histogram_buckets`"+`; their name is changed to say so: a trailing `+"`_ns`"+` becomes
`+"`_seconds`"+` (`+"`output_latency_ns`"+` → `+"`output_latency_seconds`"+`) and `+"`_seconds`"+` is appended
to a name that does not already end with it. Histograms rather than summaries because they
aggregate across instances and streams in PromQL (`+"`histogram_quantile`"+`).

A name asked for twice with other label keys or as another kind is a programming error in a
plugin; the second metric is dropped (not exported) and an error is logged once.`).
		Fields(
			service.NewStringField(pmFieldPrefix).Description("Prefix of every metric name, joined with `_`; empty adds none.").Default(""),
			service.NewBoolField(pmFieldAddProcess).Description("Also export the process collector (`process_cpu_seconds_total`, `process_resident_memory_bytes`, open file descriptors, ...).").Default(false),
			service.NewBoolField(pmFieldAddGo).Description("Also export the Go runtime collector (`go_goroutines`, `go_memstats_*`, GC pauses, ...).").Default(false),
			service.NewFloatListField(pmFieldHistogramBuckets).Description("Upper bounds, in seconds, of the histogram buckets of timers; empty uses the default (5ms to 60s).").Default([]any{}).Advanced(),
			service.NewURLField(pmFieldPushURL).Description("Pushgateway base URL (e.g. `http://pushgateway:9091`) to push every metric to every `push_interval` and once more at shutdown; empty pushes nothing. For short runs (`erpsync run` of a one-shot sync) that end before a scrape.").Optional().Advanced(),
			service.NewDurationField(pmFieldPushInterval).Description("Interval between pushes to `push_url`.").Default("15s").Advanced(),
			service.NewStringField(pmFieldPushJobName).Description("Job label of pushed metrics.").Default("erpsync").Advanced(),
		).
		LintRule(`root = if this.histogram_buckets.or([]).length() > 1 && this.histogram_buckets.or([]).sort() != this.histogram_buckets.or([]) { ["histogram_buckets must be in increasing order"] } else { [] }`).
		Example("Scrape at /metrics", "Serves every metric at http://<host>:4195/metrics, with the Go runtime and process metrics.", `
http:
  address: 0.0.0.0:4195
metrics:
  prometheus:
    add_go_metrics: true
    add_process_metrics: true
`)
}

// PrometheusExporter is the `prometheus` metrics exporter: Benthos metrics
// kept in a private registry, served by HandlerFunc.
type PrometheusExporter struct {
	reg     *prometheus.Registry
	prefix  string
	buckets []float64
	log     *service.Logger

	mu   sync.Mutex
	vecs map[string]*promVec

	pusher     *push.Pusher
	pushEvery  time.Duration
	stopPush   chan struct{}
	pushDone   chan struct{}
	closeOnce  sync.Once
	pushTarget string // push_url without credentials, for messages
}

// promVec is one registered metric family and what it was registered as.
type promVec struct {
	kind      string
	labelKeys []string
	// pick, when the label keys asked for name one label twice, lists for
	// each label kept the positions of its values (see uniqueLabels).
	pick    [][]int
	counter *prometheus.CounterVec
	gauge   *prometheus.GaugeVec
	hist    *prometheus.HistogramVec
}

// uniqueLabels drops the repeats of a label key. In streams mode Benthos
// puts a static label "stream" (the stream's id) before the keys a
// component asks for, and the dead-letter metrics have a "stream" label of
// their own: Prometheus refuses a family with a label twice, so the metric
// was not exported at all. The first non-empty value wins: in a stream the
// stream's id, as on every other metric of that stream (and it is what
// Benthos deletes the series by when the stream is removed); in a resource
// shared by the streams, whose static "stream" is empty, the component's
// own (the stream of the message). pick is nil when no key repeats.
func uniqueLabels(keys []string) (unique []string, pick [][]int) {
	repeated := false
	for i, k := range keys {
		if slices.Index(keys, k) != i {
			repeated = true
			break
		}
	}
	if !repeated {
		return keys, nil
	}
	unique = make([]string, 0, len(keys))
	for i, k := range keys {
		if j := slices.Index(unique, k); j >= 0 {
			pick[j] = append(pick[j], i)
			continue
		}
		unique = append(unique, k)
		pick = append(pick, []int{i})
	}
	return unique, pick
}

// values returns the label values of the family's keys.
func (v *promVec) values(labelValues []string) []string {
	if v.pick == nil {
		return labelValues
	}
	out := make([]string, len(v.pick))
	for j, positions := range v.pick {
		for _, i := range positions {
			if i >= len(labelValues) {
				return labelValues // wrong count: let Prometheus refuse it
			}
			if out[j] = labelValues[i]; out[j] != "" {
				break
			}
		}
	}
	return out
}

func (v *promVec) deletePartialMatch(l prometheus.Labels) {
	switch {
	case v.counter != nil:
		v.counter.DeletePartialMatch(l)
	case v.gauge != nil:
		v.gauge.DeletePartialMatch(l)
	case v.hist != nil:
		v.hist.DeletePartialMatch(l)
	}
}

// PrometheusOptions configures NewPrometheusExporter.
type PrometheusOptions struct {
	Prefix            string
	AddProcessMetrics bool
	AddGoMetrics      bool
	// HistogramBuckets of timers in seconds; nil uses DefaultTimerBuckets.
	HistogramBuckets []float64
	// PushURL (optional) of a Pushgateway, pushed every PushInterval and at Close.
	PushURL      string
	PushInterval time.Duration
	PushJobName  string
}

// NewPrometheusExporter builds an exporter; log may be nil.
func NewPrometheusExporter(opts PrometheusOptions, log *service.Logger) (*PrometheusExporter, error) {
	e := &PrometheusExporter{
		reg:     prometheus.NewRegistry(),
		prefix:  opts.Prefix,
		buckets: opts.HistogramBuckets,
		log:     log,
		vecs:    map[string]*promVec{},
	}
	if len(e.buckets) == 0 {
		e.buckets = DefaultTimerBuckets
	}
	if !slices.IsSorted(e.buckets) {
		return nil, fmt.Errorf("prometheus: histogram_buckets must be in increasing order, got %v", e.buckets)
	}
	if opts.AddProcessMetrics {
		if err := e.reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return nil, fmt.Errorf("prometheus: registering the process collector: %w", err)
		}
	}
	if opts.AddGoMetrics {
		if err := e.reg.Register(collectors.NewGoCollector()); err != nil {
			return nil, fmt.Errorf("prometheus: registering the Go collector: %w", err)
		}
	}
	if opts.PushURL != "" {
		u, err := url.Parse(opts.PushURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("prometheus: push_url must be an absolute URL such as http://pushgateway:9091")
		}
		if opts.PushInterval <= 0 {
			return nil, fmt.Errorf("prometheus: push_interval must be positive, got %v", opts.PushInterval)
		}
		job := opts.PushJobName
		if job == "" {
			job = "erpsync"
		}
		u.User = nil
		e.pushTarget = u.String()
		e.pusher = push.New(opts.PushURL, job).Gatherer(e.reg)
		e.pushEvery = opts.PushInterval
		e.stopPush = make(chan struct{})
		e.pushDone = make(chan struct{})
		go e.pushLoop()
	}
	return e, nil
}

func newPrometheusFromParsed(conf *service.ParsedConfig, log *service.Logger) (service.MetricsExporter, error) {
	var o PrometheusOptions
	var err error
	if o.Prefix, err = conf.FieldString(pmFieldPrefix); err != nil {
		return nil, err
	}
	if o.AddProcessMetrics, err = conf.FieldBool(pmFieldAddProcess); err != nil {
		return nil, err
	}
	if o.AddGoMetrics, err = conf.FieldBool(pmFieldAddGo); err != nil {
		return nil, err
	}
	if o.HistogramBuckets, err = conf.FieldFloatList(pmFieldHistogramBuckets); err != nil {
		return nil, err
	}
	if conf.Contains(pmFieldPushURL) {
		u, err := conf.FieldURL(pmFieldPushURL)
		if err != nil {
			return nil, err
		}
		o.PushURL = u.String()
	}
	if o.PushInterval, err = conf.FieldDuration(pmFieldPushInterval); err != nil {
		return nil, err
	}
	if o.PushJobName, err = conf.FieldString(pmFieldPushJobName); err != nil {
		return nil, err
	}
	return NewPrometheusExporter(o, log)
}

// Registry is the exporter's registry (for tests and embedding).
func (e *PrometheusExporter) Registry() *prometheus.Registry { return e.reg }

// HandlerFunc serves the registry in the Prometheus exposition format.
// Benthos mounts it at /metrics and /stats of its HTTP server.
func (e *PrometheusExporter) HandlerFunc() http.HandlerFunc {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}).ServeHTTP
}

// MetricName is the Prometheus name of the Benthos metric name (see the
// spec's description for the rule).
func (e *PrometheusExporter) MetricName(name string) string {
	if e.prefix != "" {
		name = e.prefix + "_" + name
	}
	return sanitizeMetricName(name)
}

// timerName is the Prometheus name of a timer: in seconds, and named so.
func (e *PrometheusExporter) timerName(name string) string {
	n := e.MetricName(name)
	switch {
	case strings.HasSuffix(n, "_seconds"):
		return n
	case strings.HasSuffix(n, "_ns"):
		return strings.TrimSuffix(n, "_ns") + "_seconds"
	}
	return n + "_seconds"
}

// sanitizeMetricName maps name onto [a-zA-Z_:][a-zA-Z0-9_:]*.
func sanitizeMetricName(name string) string {
	return sanitize(name, true)
}

// sanitizeLabelName maps name onto [a-zA-Z_][a-zA-Z0-9_]*, without the
// reserved leading "__".
func sanitizeLabelName(name string) string {
	s := sanitize(name, false)
	if strings.HasPrefix(s, "__") {
		s = "_" + strings.TrimLeft(s, "_")
	}
	return s
}

func sanitize(name string, colon bool) string {
	if name == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(name) + 1)
	for i, r := range name {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || colon && r == ':'
		if i == 0 && r >= '0' && r <= '9' {
			b.WriteByte('_')
		}
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// vec returns the family registered under name, registering it with mk
// when new; nil when name is taken by another kind or other label keys.
func (e *PrometheusExporter) vec(kind, name string, keys []string, mk func(labels []string) (*promVec, prometheus.Collector)) *promVec {
	labels := make([]string, len(keys))
	for i, k := range keys {
		labels[i] = sanitizeLabelName(k)
	}
	labels, pick := uniqueLabels(labels)
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.vecs[name]; ok {
		if v == nil { // failed to register before; already logged
			return nil
		}
		if v.kind == kind && slices.Equal(v.labelKeys, labels) && slices.EqualFunc(v.pick, pick, slices.Equal[[]int]) {
			return v
		}
		e.logErr("prometheus: metric %s was created as a %s with labels %v and is asked for again as a %s with labels %v; the second is not exported (a plugin bug: give it its own name)",
			name, v.kind, v.labelKeys, kind, labels)
		return nil
	}
	v, c := mk(labels)
	v.kind, v.labelKeys, v.pick = kind, labels, pick
	if err := e.reg.Register(c); err != nil {
		// Only a clash with a collector (add_go_metrics: go_*, process_*) gets here.
		e.logErr("prometheus: metric %s is not exported: %v", name, err)
		v = nil
	}
	e.vecs[name] = v
	return v
}

func (e *PrometheusExporter) logErr(format string, args ...any) {
	if e.log != nil {
		e.log.Errorf(format, args...)
	}
}

// NewCounterCtor implements service.MetricsExporter.
func (e *PrometheusExporter) NewCounterCtor(name string, labelKeys ...string) service.MetricsExporterCounterCtor {
	n := e.MetricName(name)
	v := e.vec("counter", n, labelKeys, func(labels []string) (*promVec, prometheus.Collector) {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: n, Help: metricHelpText("counter", name)}, labels)
		return &promVec{counter: c}, c
	})
	if v == nil {
		return func(...string) service.MetricsExporterCounter { return noopMetric{} }
	}
	return func(labelValues ...string) service.MetricsExporterCounter {
		c, err := v.counter.GetMetricWithLabelValues(v.values(labelValues)...)
		if err != nil {
			return noopMetric{}
		}
		return promCounter{c}
	}
}

// NewTimerCtor implements service.MetricsExporter.
func (e *PrometheusExporter) NewTimerCtor(name string, labelKeys ...string) service.MetricsExporterTimerCtor {
	n := e.timerName(name)
	v := e.vec("timer", n, labelKeys, func(labels []string) (*promVec, prometheus.Collector) {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: n, Help: metricHelpText("timer", name), Buckets: e.buckets}, labels)
		return &promVec{hist: h}, h
	})
	if v == nil {
		return func(...string) service.MetricsExporterTimer { return noopMetric{} }
	}
	return func(labelValues ...string) service.MetricsExporterTimer {
		o, err := v.hist.GetMetricWithLabelValues(v.values(labelValues)...)
		if err != nil {
			return noopMetric{}
		}
		return promTimer{o}
	}
}

// NewGaugeCtor implements service.MetricsExporter.
func (e *PrometheusExporter) NewGaugeCtor(name string, labelKeys ...string) service.MetricsExporterGaugeCtor {
	n := e.MetricName(name)
	v := e.vec("gauge", n, labelKeys, func(labels []string) (*promVec, prometheus.Collector) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: n, Help: metricHelpText("gauge", name)}, labels)
		return &promVec{gauge: g}, g
	})
	if v == nil {
		return func(...string) service.MetricsExporterGauge { return noopMetric{} }
	}
	return func(labelValues ...string) service.MetricsExporterGauge {
		g, err := v.gauge.GetMetricWithLabelValues(v.values(labelValues)...)
		if err != nil {
			return noopMetric{}
		}
		return promGauge{g}
	}
}

// DeleteSeriesPartialMatch implements service.MetricsExporterSeriesDeleter:
// Benthos calls it when a stream is removed so its series stop being served.
func (e *PrometheusExporter) DeleteSeriesPartialMatch(labels map[string]string) {
	l := make(prometheus.Labels, len(labels))
	for k, v := range labels {
		l[sanitizeLabelName(k)] = v
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range e.vecs {
		if v != nil {
			v.deletePartialMatch(l)
		}
	}
}

// Close stops pushing, after a last push when push_url is set.
func (e *PrometheusExporter) Close(ctx context.Context) error {
	var err error
	e.closeOnce.Do(func() {
		if e.pusher == nil {
			return
		}
		close(e.stopPush)
		select {
		case <-e.pushDone:
		case <-ctx.Done():
			err = ctx.Err()
			return
		}
		err = e.push(ctx)
	})
	return err
}

func (e *PrometheusExporter) pushLoop() {
	defer close(e.pushDone)
	t := time.NewTicker(e.pushEvery)
	defer t.Stop()
	for {
		select {
		case <-e.stopPush:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), e.pushEvery)
			if err := e.push(ctx); err != nil {
				e.logErr("%v", err)
			}
			cancel()
		}
	}
}

// push replaces this job's metrics on the Pushgateway.
func (e *PrometheusExporter) push(ctx context.Context) error {
	if err := e.pusher.PushContext(ctx); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error repeats the URL, which may carry a password
		}
		return fmt.Errorf("prometheus: pushing to %s failed (check push_url and that the Pushgateway is up): %w", e.pushTarget, err)
	}
	return nil
}

type promCounter struct{ c prometheus.Counter }

func (p promCounter) Incr(n int64) {
	if n > 0 { // a Prometheus counter panics on a negative increment
		p.c.Add(float64(n))
	}
}

func (p promCounter) IncrFloat64(n float64) {
	if n > 0 {
		p.c.Add(n)
	}
}

type promTimer struct{ o prometheus.Observer }

func (p promTimer) Timing(ns int64) { p.o.Observe(float64(ns) / 1e9) }

type promGauge struct{ g prometheus.Gauge }

func (p promGauge) Set(v int64)          { p.g.Set(float64(v)) }
func (p promGauge) SetFloat64(v float64) { p.g.Set(v) }

// noopMetric stands in for a metric that could not be registered.
type noopMetric struct{}

func (noopMetric) Incr(int64)          {}
func (noopMetric) IncrFloat64(float64) {}
func (noopMetric) Timing(int64)        {}
func (noopMetric) Set(int64)           {}
func (noopMetric) SetFloat64(float64)  {}

func init() {
	service.MustRegisterMetricsExporter("prometheus", prometheusSpec(), newPrometheusFromParsed)
}
