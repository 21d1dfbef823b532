package xbb

import (
	"net/http"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/plugins/poll"
)

const (
	xiFieldBaseURL = "base_url"
	xiFieldCorpid  = "corpid"
	xiFieldToken   = "token"
	xiFieldUserID  = "user_id"
)

// xbbLimits: XBB documents no window maximum; pages are 100 at most.
var xbbLimits = func() poll.VendorLimits {
	d := catalogue.Defaults(vendorName)
	return poll.VendorLimits{MaxSpan: d.MaxSpan(), DefaultSpan: d.DefaultSpan(), MaxPageSize: d.Paging.MaxSize}
}()

func xbbInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Reads lists of 销帮帮 XBB CRM (products, customers, ...) page by page, incrementally by updateTime, with checkpoints that advance only after the target acknowledged.").
		Description(`
Each request is a JSON POST to `+"`base_url + /pro/v2/api/ + api`"+`, signed with the `+"`sign`"+` header
(sha256 of the exact body bytes followed by the token). The `+"`params`"+` mapping builds the body,
usually `+"`conditions`"+` on `+"`updateTime`"+` (Unix seconds) from the window; the input adds
`+"`corpid`"+`, `+"`userId`"+`, `+"`page`"+` and `+"`pageSize`"+`.

One message per list item (its JSON as received), one batch per page. Metadata: `+"`source_vendor`"+` (xbb),
`+"`source_api`"+`, `+"`source_id`"+` (dataId), `+"`source_modified`"+`, `+"`window_start`"+`, `+"`window_end`"+`, `+"`page`"+`.
Pages hold at most 100 items. A `+"`window.start`"+` in the future is not a lint error (a Benthos lint rule cannot warn without failing `+"`lint`"+`): the input logs a warning when it starts, and reads nothing until then without a checkpoint.
`).
		Fields(
			service.NewURLField(xiFieldBaseURL).Description("API host.").Default(DefaultBaseURL).
				LintRule(poll.URLLintRule("xbb", xiFieldBaseURL, DefaultBaseURL, true)),
			service.NewStringField(xiFieldCorpid).Description("Company id (corpid)."),
			service.NewStringField(xiFieldToken).Description("Company API token; it signs every request.").Secret(),
			service.NewStringField(xiFieldUserID).Description("Operator id sent as userId; empty sends none.").Default(""),
		).
		Fields(poll.InterfaceFields(vendorName,
			"Interface under /pro/v2/api/, e.g. `product/list`, `customer/list` or `contract/list`: one of erpsync's catalogue (`erpsync catalogue xbb`), or any other list interface described by `interface`.",
			"Bloblang building the request body's business fields (conditions, formId, ...).",
			xbbLimits)...).
		LintRule(poll.CatalogueLintRules(vendorName)).
		Example("Products changed since the last run", "Incremental product sync by updateTime with one hour of overlap, as in the XBB case study.", `
input:
  xbb:
    corpid: ${XBB_CORPID}
    token: ${XBB_TOKEN}
    api: product/list
    params: |
      root.conditions = [
        {"attr": "updateTime", "symbol": "greaterequal", "value": [@window_start.ts_unix()]},
        {"attr": "updateTime", "symbol": "lessequal", "value": [@window_end.ts_unix()]}
      ]
    window:
      start: 2024-06-01T00:00:00+08:00
      max_span: 168h
      lookback: 1h
    checkpoint:
      cache: checkpoints
      key: xbb_products
    rate_limit: xbb_account
`).
		Example("Customers of the customer form", "customer/list needs the tenant's customer formId (from form/list). The list holds the existing customers; a second input with `root.del = 1` reads the recycle bin (the deleted ones).", `
input:
  xbb:
    corpid: ${XBB_CORPID}
    token: ${XBB_TOKEN}
    api: customer/list
    params: |
      root.formId = 5614249
      root.conditions = [
        {"attr": "updateTime", "symbol": "greaterequal", "value": [@window_start.ts_unix()]},
        {"attr": "updateTime", "symbol": "lessequal", "value": [@window_end.ts_unix()]}
      ]
    window:
      start: 2024-06-01T00:00:00+08:00
      lookback: 1h
    checkpoint:
      cache: checkpoints
      key: xbb_customers
`)
}

func newXBBInputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
	var cfg ClientConfig
	var err error
	if cfg.BaseURL, err = conf.FieldString(xiFieldBaseURL); err != nil {
		return nil, err
	}
	if cfg.Corpid, err = conf.FieldString(xiFieldCorpid); err != nil {
		return nil, err
	}
	if cfg.Token, err = conf.FieldString(xiFieldToken); err != nil {
		return nil, err
	}
	if cfg.UserID, err = conf.FieldString(xiFieldUserID); err != nil {
		return nil, err
	}
	iface, err := poll.ParseInterface(conf, vendorName, "")
	if err != nil {
		return nil, err
	}
	opts, err := poll.ParseOptions(conf, vendorName, iface.Limits())
	if err != nil {
		return nil, err
	}
	// XBB windows are conditions inside the params mapping (with the
	// form's formId), never plain fields: only document_id applies.
	opts.DocumentID = iface.DocumentID
	cfg.Interface = &iface.Entry
	if opts.FilterField == "" {
		opts.FilterField = DefaultFilterField
	}
	opts.ApplyAnswerShape(iface)
	cfg.FilterField = opts.FilterField
	cfg.MaxAnswerBytes = int64(opts.MaxAnswerBytes)
	if opts.Timeout > 0 {
		// The engine's per-request timeout is the only one, so a timeout
		// error names the field that set it.
		cfg.HTTPClient = &http.Client{}
	}
	client, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	poll.WarnFutureStart(mgr.Logger(), opts, time.Now())
	return service.AutoRetryNacksBatched(poll.New(client, opts, mgr)), nil
}

func init() {
	service.MustRegisterBatchInput("xbb", xbbInputSpec(), newXBBInputFromParsed)
}
