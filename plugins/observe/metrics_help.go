package observe

import "strings"

// metricHelp is the HELP text of every metric erpsync's streams report, by
// the name the component asks for (before prefix and sanitising; timers by
// their Benthos name, ending in _ns). Benthos's metrics API carries no
// description, so the exporter can only describe what is listed here; the
// erpsync_* names are part of the user contract (deploy/README.md), and
// TestEveryMetricHasHelp fails when a plugin adds one without a line here.
var metricHelp = map[string]string{
	// Benthos's own component metrics.
	"input_received":           "Messages received by the input.",
	"input_latency_ns":         "Time from a message's read by the input to its acknowledgement by the output (or its storage in a buffer, or its rejection), in seconds.",
	"input_connection_up":      "Times the input connected to its source.",
	"input_connection_failed":  "Failed attempts of the input to connect to its source.",
	"input_connection_lost":    "Times the input lost its connection to its source.",
	"buffer_received":          "Messages written to the buffer.",
	"buffer_batch_received":    "Batches written to the buffer.",
	"buffer_sent":              "Messages read from the buffer.",
	"buffer_batch_sent":        "Batches read from the buffer.",
	"buffer_latency_ns":        "Time from a batch's read from the buffer to its acknowledgement, in seconds.",
	"processor_received":       "Messages received by the processor.",
	"processor_batch_received": "Batches received by the processor.",
	"processor_sent":           "Messages the processor passed on.",
	"processor_batch_sent":     "Batches the processor passed on.",
	"processor_error":          "Messages the processor flagged with an error.",
	"processor_latency_ns":     "Time the processor took per batch, in seconds.",
	"output_sent":              "Messages the output delivered.",
	"output_batch_sent":        "Batches the output delivered.",
	"output_error":             "Failed attempts of the output to deliver a batch.",
	"output_latency_ns":        "Time the output took to deliver a batch, in seconds.",
	"output_rejected":          "Messages the output rejected.",
	"output_connection_up":     "Times the output connected to its target.",
	"output_connection_failed": "Failed attempts of the output to connect to its target.",
	"output_connection_lost":   "Times the output lost its connection to its target.",
	"batch_created":            "Batches a batching policy created, by the mechanism that closed them.",
	"cache_success":            "Cache operations that succeeded, by operation.",
	"cache_error":              "Cache operations that failed, by operation.",
	"cache_not_found":          "Cache reads of a key that is not stored.",
	"cache_duplicate":          "Cache adds of a key that is already stored.",
	"cache_latency_ns":         "Time a cache operation took, in seconds, by operation.",
	"rate_limit_checked":       "Accesses checked against the rate limit.",
	"rate_limit_triggered":     "Accesses the rate limit made wait.",
	"rate_limit_error":         "Rate limit checks that failed.",

	// Sources (internal/opsmetrics, plugins/poll).
	"erpsync_vendor_requests_total":     "Calls to a vendor API, by vendor, interface and answer code (the vendor's code, or http_5xx, timeout, transport).",
	"erpsync_credential_renewals_total": "Access-token or session renewals, by vendor.",
	"erpsync_documents_read_total":      "Documents an input emitted, by vendor and interface (re-reads of unchanged documents are not counted).",
	"erpsync_windows_completed_total":   "Time windows the checkpoint moved past (read completely and every document acknowledged by the target), by vendor and interface.",
	"erpsync_checkpoint_lag_seconds":    "Seconds the checkpoint was behind the clock when it was last stored, by vendor and interface.",
	"erpsync_rate_limit_waits_total":    "Times an input waited for a vendor's rate limit before a call, by vendor and interface.",
	"erpsync_window_rereads_total":      "Parts of windows read again because an answer could not be trusted, by vendor, interface and reason (inconsistent_pass, keyset_unverified).",
	"erpsync_webhook_requests_total":    "Requests the webhook input answered, by HTTP status code.",

	// Targets (plugins/kingdee, plugins/kis, plugins/mysql).
	"erpsync_rows_written_total":   "Rows a target accepted as new, by target and object.",
	"erpsync_rows_updated_total":   "Rows a target accepted as updates of existing ones, by target and object.",
	"erpsync_rows_skipped_total":   "Rows not sent because the target already holds them, by target and object.",
	"erpsync_rows_duplicate_total": "Rows the target refused as already present (counted as delivered), by target and object.",
	"erpsync_rows_failed_total":    "Rows the target refused, by target and object; they go to the dead letter when one is configured.",
	"erpsync_rows_retried_total":   "Rows sent again after a transient failure of the target, by target and object.",
	"kis_retries":                  "Calls to KIS retried after a transient failure.",
	"mysql_output_retries":         "Writes to MySQL retried after a transient failure.",

	// Dead letters (plugins/deadletter) and alerts (plugins/observe).
	"erpsync_dead_letters_total":          "Documents recorded in the dead letter, by stream and the target that refused them.",
	"erpsync_dead_letters_resolved_total": "Dead letters marked resolved, by stream.",
	"erpsync_alerts_sent":                 "Alerts a group robot accepted, by vendor (dingtalk, wecom).",
	"erpsync_alerts_failed":               "Alerts given up on, by vendor (dingtalk, wecom).",
	"erpsync_alert_retries":               "Alert deliveries retried, by vendor (dingtalk, wecom).",
	"erpsync_alerts_dropped":              "Alerts dropped unsent because the robot's rate limit was reached (on_limit: drop), by vendor (dingtalk, wecom).",
	"erpsync_alert_throttled":             "Times an alert waited for the robot's rate limit, by vendor (dingtalk, wecom).",
}

// metricHelpText is the HELP text of the metric a component asked for as name. A
// name not in metricHelp (a plugin's own, or a test's) still says what
// kind of metric it is and who reports it.
func metricHelpText(kind, name string) string {
	if h, ok := metricHelp[name]; ok {
		return h
	}
	switch kind {
	case "timer":
		return "Timer " + strings.TrimSuffix(name, "_ns") + " of a stream component, in seconds."
	case "gauge":
		return "Gauge " + name + " of a stream component."
	}
	return "Counter " + name + " of a stream component."
}
