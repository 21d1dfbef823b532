package poll

import (
	"fmt"
	"slices"
	"strings"
	"time"

	// The lint rules use pure Bloblang methods (parse_duration); Benthos
	// parses lint rules when a spec is registered, so those methods must be
	// registered first.
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/catalogue"
)

// Field names of the poll engine contract; they are part of the user
// contract of every polling input.
const (
	FieldAPI              = "api"
	FieldParams           = "params"
	FieldWindow           = "window"
	FieldWindowStart      = "start"
	FieldWindowMaxSpan    = "max_span"
	FieldWindowLookback   = "lookback"
	FieldWindowLag        = "lag"
	FieldPageSize         = "page_size"
	FieldPollInterval     = "poll_interval"
	FieldStopWhenCaughtUp = "stop_when_caught_up"
	FieldCheckpoint       = "checkpoint"
	FieldCheckpointCache  = "cache"
	FieldCheckpointKey    = "key"
	FieldRateLimit        = "rate_limit"
	FieldTimeout          = "timeout"
	FieldMaxRetries       = "max_retries"
	FieldBackoff          = "backoff"
	FieldBackoffInitial   = "initial_interval"
	FieldBackoffMax       = "max_interval"
	FieldMaxPages         = "max_pages"
	FieldWindowFilter     = "filter_field"
	FieldMaxAnswerBytes   = "max_answer_bytes"
)

// DefaultMaxAnswerBytes bounds one vendor answer (max_answer_bytes).
const DefaultMaxAnswerBytes = 64 << 20

// VendorLimits describe what a vendor allows, for defaults and lint.
type VendorLimits struct {
	// MaxSpan is the longest window the vendor accepts (0: none documented).
	MaxSpan time.Duration
	// DefaultSpan is the default window.max_span (the vendor maximum when 0).
	DefaultSpan time.Duration
	// MaxPageSize is the vendor's page-size maximum (0: none documented).
	MaxPageSize int
}

// Fields returns the engine's config fields. apiDoc and paramsDoc describe
// the vendor's api and params; example values make the docs runnable.
func Fields(apiDoc, paramsDoc string, lim VendorLimits) []*service.ConfigField {
	span := lim.DefaultSpan
	if span == 0 {
		span = lim.MaxSpan
	}
	if span == 0 {
		span = 24 * time.Hour
	}
	pageDoc := "Documents per page; 0 uses the vendor's default."
	if lim.MaxPageSize > 0 {
		pageDoc += fmt.Sprintf(" The vendor allows at most %d.", lim.MaxPageSize)
	}
	spanDoc := "Longest window one request may cover."
	if lim.MaxSpan > 0 {
		spanDoc += fmt.Sprintf(" The vendor allows at most %s.", lim.MaxSpan)
	}
	return []*service.ConfigField{
		service.NewStringField(FieldAPI).Description(apiDoc),
		service.NewBloblangField(FieldParams).
			Description(paramsDoc + " The mapping sees metadata `window_start` and `window_end` (timestamps in Asia/Shanghai; absent in full reads) and `page` (0-based); the input adds the vendor's paging fields itself.").
			Optional(),
		// The children have no Default(): Benthos fills the defaults of an
		// optional object's children even when the object is absent, which
		// would turn every full read into a windowed one. ParseOptions
		// applies the documented defaults itself.
		service.NewObjectField(FieldWindow,
			service.NewStringField(FieldWindowStart).
				Description("Where the first run begins (RFC 3339), used when no checkpoint exists. Empty (the default): `max_span` before now.").
				Optional(),
			service.NewDurationField(FieldWindowMaxSpan).Description(spanDoc+fmt.Sprintf(" Default: %s.", span)).Optional(),
			service.NewDurationField(FieldWindowLookback).
				Description("Overlap re-read before the checkpoint (and before each previous window end), for rows that appear late with an older modified time. Default: 10m.").
				Optional(),
			service.NewDurationField(FieldWindowLag).
				Description("How far behind now a window closes, so rows still being written are read in the next window. Default: 1m.").
				Optional(),
			service.NewStringField(FieldWindowFilter).
				Description("The document field the window's bounds filter on — the field the `params` mapping puts `window_start`/`window_end` into a condition on (e.g. `create_time` for unique-code flows, `io_date` when other in/out bills are queried with `date_type: 2`). The input checks every answer against it and pages on it, never on another time field. Empty: the interface's documented filter field.").
				Optional(),
		).Description("Incremental reads by a time field (usually the modified time). Omit it for full reads (master data such as shops): the whole list is read each poll.").Optional(),
		// An any field, read with FieldInt: Benthos (v4.80.0) skips a component's lint
		// rules when an int field holds text, so "page_size: lots" would lint clean.
		service.NewAnyField(FieldPageSize).Description(pageDoc).Default(0),
		service.NewDurationField(FieldPollInterval).Description("Wait between polls once caught up.").Default("1m"),
		service.NewBoolField(FieldStopWhenCaughtUp).
			Description("End the input once the newest window (or the one full read) is read and every message acknowledged, so cron-style and backfill runs exit by themselves. When the run's last page could not prove it was the last (no count, and less than half a page), the checkpoint stays at that page's newest filter value and the next run reads from there again.").
			Default(false),
		service.NewObjectField(FieldCheckpoint,
			service.NewStringField(FieldCheckpointCache).Description("Name of the cache resource holding the checkpoint; empty keeps none (every start begins at `window.start`).").Default(""),
			service.NewStringField(FieldCheckpointKey).Description("Key of the checkpoint in the cache; give every stream reading the same interface its own. Empty: `<vendor>_<api>` with `/` and other unsafe characters replaced by `_`.").Default(""),
		).Description("Where the checkpoint (the end of the last fully acknowledged window) is stored, after the acknowledgements."),
		service.NewStringField(FieldRateLimit).
			Description("Name of a rate_limit resource shared by every stream on this vendor account. A rate-limit answer from the vendor pauses every stream sharing it.").
			Default(""),
		service.NewDurationField(FieldTimeout).Description("Timeout of one request.").Default("30s"),
		service.NewIntField(FieldMaxRetries).Description("Retries of one request after transient or rate-limit failures before the read is reported as failed (and retried later from the same page).").Default(5),
		service.NewObjectField(FieldBackoff,
			service.NewDurationField(FieldBackoffInitial).Description("First wait before a retry.").Default("1s"),
			service.NewDurationField(FieldBackoffMax).Description("Longest wait between retries.").Default("30s"),
		).Description("Exponential backoff between retries.").Advanced(),
		service.NewIntField(FieldMaxPages).Description("Guard against a vendor that never reports the last page: most requests for one window, re-reads included.").Default(10000).Advanced(),
		service.NewIntField(FieldMaxAnswerBytes).Description("Largest answer body accepted, in bytes; a larger answer stops the input with an error naming this field (lower `page_size` or raise this).").Default(DefaultMaxAnswerBytes).Advanced(),
	}
}

// InterfaceFields are Fields plus the `interface` field of vendorName.
func InterfaceFields(vendorName, apiDoc, paramsDoc string, lim VendorLimits) []*service.ConfigField {
	return append(Fields(apiDoc, paramsDoc, lim), InterfaceField(vendorName))
}

// ApplyInterface sets the options that follow from the interface: the
// document_id mapping and, without a params mapping, the window fields.
func (o *Options) ApplyInterface(i Interface) {
	o.DocumentID = i.DocumentID
	if o.Params == nil && i.Window != nil {
		o.WindowParams = i.WindowParams
	}
	o.ApplyAnswerShape(i)
}

// ApplyAnswerShape sets what the engine may assume of the interface's
// answers: whether the window's filter only rises (StableFilter set
// before, or the filter is the document's modified time) and whether More
// is the vendor's has_next.
func (o *Options) ApplyAnswerShape(i Interface) {
	o.RisingFilter = o.StableFilter || (o.FilterField != "" && slices.Contains(i.Modified, o.FilterField))
	o.HasNext = i.Paging.End == catalogue.EndHasNext
}

// ParseOptions reads the engine's fields.
func ParseOptions(conf *service.ParsedConfig, vendorName string, lim VendorLimits) (Options, error) {
	o := Options{Vendor: vendorName}
	var err error
	if o.API, err = conf.FieldString(FieldAPI); err != nil {
		return o, err
	}
	if strings.TrimSpace(o.API) == "" {
		return o, fmt.Errorf("%s: field api must name the vendor interface", vendorName)
	}
	if conf.Contains(FieldParams) {
		if o.Params, err = conf.FieldBloblang(FieldParams); err != nil {
			return o, err
		}
	}
	if conf.Contains(FieldWindow) {
		w := &WindowConfig{MaxSpan: lim.DefaultSpan, Lookback: 10 * time.Minute, Lag: time.Minute}
		if w.MaxSpan == 0 {
			w.MaxSpan = lim.MaxSpan
		}
		if w.MaxSpan == 0 {
			w.MaxSpan = 24 * time.Hour
		}
		for _, f := range []struct {
			name string
			dst  *time.Duration
		}{{FieldWindowMaxSpan, &w.MaxSpan}, {FieldWindowLookback, &w.Lookback}, {FieldWindowLag, &w.Lag}} {
			if conf.Contains(FieldWindow, f.name) {
				if *f.dst, err = conf.FieldDuration(FieldWindow, f.name); err != nil {
					return o, err
				}
			}
		}
		start := ""
		if conf.Contains(FieldWindow, FieldWindowStart) {
			if start, err = conf.FieldString(FieldWindow, FieldWindowStart); err != nil {
				return o, err
			}
		}
		if start == "" {
			w.Start = time.Now().Add(-w.MaxSpan).Truncate(time.Second)
		} else if w.Start, err = time.Parse(time.RFC3339, start); err != nil {
			return o, fmt.Errorf("%s: window.start %q is not an RFC 3339 time (e.g. 2024-06-01T00:00:00+08:00): %w", vendorName, start, err)
		}
		if err := w.Validate(lim.MaxSpan); err != nil {
			return o, fmt.Errorf("%s %s: %w", vendorName, o.API, err)
		}
		o.Window = w
		if conf.Contains(FieldWindow, FieldWindowFilter) {
			if o.FilterField, err = conf.FieldString(FieldWindow, FieldWindowFilter); err != nil {
				return o, err
			}
			o.FilterField = strings.TrimSpace(o.FilterField)
		}
	}
	if o.PageSize, err = conf.FieldInt(FieldPageSize); err != nil {
		return o, err
	}
	if o.PageSize < 0 || (lim.MaxPageSize > 0 && o.PageSize > lim.MaxPageSize) {
		return o, fmt.Errorf("%s %s: page_size %d is outside 0..%d", vendorName, o.API, o.PageSize, lim.MaxPageSize)
	}
	if o.PollInterval, err = conf.FieldDuration(FieldPollInterval); err != nil {
		return o, err
	}
	if o.StopWhenCaughtUp, err = conf.FieldBool(FieldStopWhenCaughtUp); err != nil {
		return o, err
	}
	if o.CheckpointCache, err = conf.FieldString(FieldCheckpoint, FieldCheckpointCache); err != nil {
		return o, err
	}
	if o.CheckpointKey, err = conf.FieldString(FieldCheckpoint, FieldCheckpointKey); err != nil {
		return o, err
	}
	if o.CheckpointKey == "" {
		o.CheckpointKey = DefaultCheckpointKey(vendorName, o.API)
	}
	if o.RateLimit, err = conf.FieldString(FieldRateLimit); err != nil {
		return o, err
	}
	if o.Timeout, err = conf.FieldDuration(FieldTimeout); err != nil {
		return o, err
	}
	if o.MaxRetries, err = conf.FieldInt(FieldMaxRetries); err != nil {
		return o, err
	}
	if o.BackoffInitial, err = conf.FieldDuration(FieldBackoff, FieldBackoffInitial); err != nil {
		return o, err
	}
	if o.BackoffMax, err = conf.FieldDuration(FieldBackoff, FieldBackoffMax); err != nil {
		return o, err
	}
	if o.MaxPages, err = conf.FieldInt(FieldMaxPages); err != nil {
		return o, err
	}
	if o.MaxAnswerBytes, err = conf.FieldInt(FieldMaxAnswerBytes); err != nil {
		return o, err
	}
	if o.MaxAnswerBytes <= 0 {
		return o, fmt.Errorf("%s %s: max_answer_bytes %d must be positive", vendorName, o.API, o.MaxAnswerBytes)
	}
	return o, nil
}

// DefaultCheckpointKey is the checkpoint key of an input that names none:
// vendor and api with every character a file name or cache key could
// choke on replaced, e.g. "jushuitan_open_other_inout_query".
func DefaultCheckpointKey(vendorName, api string) string {
	b := []byte(vendorName + "_" + strings.Trim(api, "/"))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}
