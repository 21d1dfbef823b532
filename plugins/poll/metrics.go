package poll

import (
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/opsmetrics"
)

// Metric names of the source side. They are part of the user contract
// (dashboards and alert rules use them).
const (
	MetricVendorRequests     = opsmetrics.VendorRequests         // vendor, interface, code
	MetricDocumentsRead      = "erpsync_documents_read_total"    // vendor, interface; documents emitted (re-reads of unchanged documents are not)
	MetricWindowsCompleted   = "erpsync_windows_completed_total" // vendor, interface
	MetricCheckpointLag      = "erpsync_checkpoint_lag_seconds"  // vendor, interface
	MetricRateLimitWaits     = "erpsync_rate_limit_waits_total"  // vendor, interface
	MetricCredentialRenewals = opsmetrics.CredentialRenewals     // vendor
	// MetricRereads counts parts of windows read again because an answer
	// could not be trusted: reason inconsistent_pass (totals moved,
	// documents repeated, pages not adding up) or keyset_unverified (a
	// keyset jump the next total did not confirm).
	MetricRereads = "erpsync_window_rereads_total" // vendor, interface, reason
)

type metrics struct {
	vendor, api string
	requests    *service.MetricCounter
	documents   *service.MetricCounter
	windows     *service.MetricCounter
	lag         *service.MetricGauge
	waits       *service.MetricCounter
	rereads     *service.MetricCounter
}

func newMetrics(mgr *service.Resources, vendorName, api string) *metrics {
	m := mgr.Metrics()
	return &metrics{
		vendor: vendorName, api: api,
		requests:  m.NewCounter(MetricVendorRequests, "vendor", "interface", "code"),
		documents: m.NewCounter(MetricDocumentsRead, "vendor", "interface"),
		windows:   m.NewCounter(MetricWindowsCompleted, "vendor", "interface"),
		lag:       m.NewGauge(MetricCheckpointLag, "vendor", "interface"),
		waits:     m.NewCounter(MetricRateLimitWaits, "vendor", "interface"),
		rereads:   m.NewCounter(MetricRereads, "vendor", "interface", "reason"),
	}
}
