package wdt

import (
	"net/http"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/plugins/poll"
)

const (
	wiFieldBaseURL        = "base_url"
	wiFieldProtocol       = "protocol"
	wiFieldSID            = "sid"
	wiFieldAppKey         = "appkey"
	wiFieldAppSecret      = "appsecret"
	wiFieldQimenAppKey    = "app_key"
	wiFieldQimenAppSecret = "app_secret"
	wiFieldTargetAppKey   = "target_app_key"
)

// wdtLimits are the limits of an interface the catalogue lacks (its WDT
// defaults: windows of at most 30 days, pages of 100).
var wdtLimits = func() poll.VendorLimits {
	d := catalogue.Defaults(Vendor)
	return poll.VendorLimits{MaxSpan: d.MaxSpan(), DefaultSpan: time.Hour, MaxPageSize: d.Paging.MaxSize}
}()

func wdtInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Reads 旺店通·企业版 WDT lists (shops, ...) through the native openapi2 interfaces or 奇门 Qimen, in full reads or modified-time windows.").
		Description(`
With `+"`protocol: openapi2`"+` each request is a signed form POST to `+"`base_url/openapi2/<api>`"+`
(`+"`api`"+` is the php file, e.g. `+"`shop.php`"+`; md5 over the length-prefixed fields, lengths in
characters). With `+"`protocol: qimen`"+` it goes to the Qimen router (`+"`api`"+` is the method, e.g.
`+"`wdt.shop.query`"+`; upper-case md5 with the secret on both ends) and the `+"`{\"response\":...}`"+`
wrapper is removed. Pages are numbered from 0 and end by `+"`total_count`"+`.

Omit `+"`window`"+` for master data such as shops: the whole list is read each poll. One message per
document, one batch per page. Metadata: `+"`source_vendor`"+` (wdt), `+"`source_api`"+`, `+"`source_id`"+`
(`+"`shop_id`"+` for shops), `+"`source_modified`"+`, `+"`page`"+`, and in windowed reads `+"`window_start`"+`/`+"`window_end`"+`.
Windows of `+"`trade_query.php`"+` span at most 60 minutes, of other interfaces 30 days; pages hold at most 100. A `+"`window.start`"+` in the future is not a lint error (a Benthos lint rule cannot warn without failing `+"`lint`"+`): the input logs a warning when it starts, and reads nothing until then without a checkpoint.
`).
		Fields(
			service.NewURLField(wiFieldBaseURL).Description("API host (openapi2) or Qimen router URL; empty uses the production address of the protocol.").Default("").
				LintRule(poll.URLLintRule("wdt", wiFieldBaseURL, DefaultBaseURL, true)),
			service.NewStringEnumField(wiFieldProtocol, ProtocolOpenapi2, ProtocolQimen).Description("openapi2 (native) or qimen (奇门).").Default(ProtocolOpenapi2),
			service.NewStringField(wiFieldSID).Description("WDT seller account (sid), sent on both protocols."),
			service.NewStringField(wiFieldAppKey).Description("openapi2 interface account (appkey).").Default(""),
			service.NewStringField(wiFieldAppSecret).Description("openapi2 secret (appsecret).").Secret().Default(""),
			service.NewStringField(wiFieldQimenAppKey).Description("Qimen: your app key (app_key).").Default(""),
			service.NewStringField(wiFieldQimenAppSecret).Description("Qimen: your app secret.").Secret().Default(""),
			service.NewStringField(wiFieldTargetAppKey).Description("Qimen: WDT's app key (target_app_key).").Default(""),
		).
		Fields(poll.InterfaceFields(Vendor,
			"openapi2: the php interface, e.g. `shop.php` or `stockout_order_query_trade.php`; qimen: the method, e.g. `wdt.shop.query`: one of erpsync's catalogue (`erpsync catalogue wdt`, with each interface's maximum window: 60 minutes for several), or any other list interface described by `interface`.",
			"Bloblang building the business fields (filters such as `is_disabled`, `platform`, windows as `start_time`/`end_time`). Omitted: the catalogue's window fields (`start_time`/`end_time`) are sent with the window's bounds.",
			wdtLimits)...).
		// One rule: a second LintRule call replaces the first.
		LintRule(poll.CatalogueLintRules(Vendor)+`
root = root.concat(match {
  this.protocol.or("openapi2") == "openapi2" && (this.appkey.or("") == "" || this.appsecret.or("") == "") => ["wdt: protocol openapi2 needs appkey and appsecret"],
  this.protocol.or("openapi2") == "qimen" && (this.app_key.or("") == "" || this.app_secret.or("") == "" || this.target_app_key.or("") == "") => ["wdt: protocol qimen needs app_key, app_secret and target_app_key"],
  _ => [],
})`).
		Example("Shops through Qimen", "Every shop, read in full each hour (seed scenario: WDT shops to Kingdee customers).", `
input:
  wdt:
    protocol: qimen
    sid: ${WDT_SID}
    app_key: ${QIMEN_APP_KEY}
    app_secret: ${QIMEN_APP_SECRET}
    target_app_key: ${QIMEN_TARGET_APP_KEY}
    api: wdt.shop.query
    params: 'root.is_disabled = 0'
    page_size: 100
    poll_interval: 1h
`)
}

func newWDTInputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
	var cfg ClientConfig
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{wiFieldBaseURL, &cfg.BaseURL}, {wiFieldProtocol, &cfg.Protocol}, {wiFieldSID, &cfg.SID},
		{wiFieldAppKey, &cfg.AppKey}, {wiFieldAppSecret, &cfg.AppSecret},
		{wiFieldQimenAppKey, &cfg.QimenAppKey}, {wiFieldQimenAppSecret, &cfg.QimenAppSecret},
		{wiFieldTargetAppKey, &cfg.TargetAppKey},
	} {
		if *f.dst, err = conf.FieldString(f.name); err != nil {
			return nil, err
		}
	}
	protocol := strings.ToLower(strings.TrimSpace(cfg.Protocol))
	if protocol == "" {
		protocol = ProtocolOpenapi2
	}
	iface, err := poll.ParseInterface(conf, Vendor, protocol)
	if err != nil {
		return nil, err
	}
	lim := iface.Limits()
	if (!iface.Catalogued || iface.Window == nil) && lim.DefaultSpan == lim.MaxSpan {
		lim.DefaultSpan = wdtLimits.DefaultSpan
	}
	opts, err := poll.ParseOptions(conf, Vendor, lim)
	if err != nil {
		return nil, err
	}
	poll.WarnFutureStart(mgr.Logger(), opts, time.Now())
	if opts.FilterField == "" {
		opts.FilterField = DefaultFilterField
		if iface.Window != nil {
			opts.FilterField = iface.Window.Filter
		}
	}
	opts.StableFilter = iface.Window != nil && iface.Window.Stable && opts.FilterField == iface.Window.Filter
	opts.ApplyInterface(iface)
	cfg.Interface = &iface.Entry
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
	return service.AutoRetryNacksBatched(poll.New(client, opts, mgr)), nil
}

func init() {
	service.MustRegisterBatchInput("wdt", wdtInputSpec(), newWDTInputFromParsed)
}
