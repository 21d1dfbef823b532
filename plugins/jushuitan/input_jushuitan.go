package jushuitan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/internal/fatal"
	"github.com/erpsync/erpsync/internal/opsmetrics"
	"github.com/erpsync/erpsync/plugins/poll"
)

const (
	jiFieldBaseURL      = "base_url"
	jiFieldAppKey       = "app_key"
	jiFieldAppSecret    = "app_secret"
	jiFieldAccessToken  = "access_token"
	jiFieldRefreshToken = "refresh_token"
	jiFieldProvider     = "provider_app"
	jiFieldTokenCache   = "token_cache"

	apiOtherInOut = "/open/other/inout/query"
	apiSkuSN      = "/open/webapi/wmsapi/skusn/queryinoutitemskusns"
)

// limitsFor are the documented window and page limits of api, from the
// interface catalogue (its Jushuitan defaults for an interface it lacks).
func limitsFor(api string) poll.VendorLimits {
	e, ok := catalogue.Lookup(vendorName, api)
	if !ok {
		e = catalogue.Defaults(vendorName)
	}
	return poll.VendorLimits{MaxSpan: e.MaxSpan(), DefaultSpan: e.DefaultSpan(), MaxPageSize: e.Paging.MaxSize}
}

func jushuitanInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Reads 聚水潭 Jushuitan openweb interfaces (other in/out bills, unique-code flows, ...) page by page in modified-time windows, with checkpoints that advance only after the target acknowledged.").
		Description(`
Each request is a signed form POST (md5 over the app secret and every field, `+"`version=2`"+`,
`+"`charset=utf-8`"+`) to `+"`base_url + api`"+`. The `+"`params`"+` mapping builds `+"`biz`"+` (for
`+"`/open/other/inout/query`"+`: `+"`modified_begin`"+`/`+"`modified_end`"+` in China time, `+"`status`"+`, `+"`types`"+`);
the input adds `+"`page_index`"+`/`+"`page_size`"+`. Both answer forms are read: `+"`data.datas`"+` with
`+"`has_next`"+`, and the bare array of the unique-code flow interface.

An expired token (code 100) is refreshed once and the call retried (self-built apps); a service-provider
app cannot refresh (code 150) and stops with a re-authorization error. Codes 199/200 (rate limited) pause
every stream sharing the `+"`rate_limit`"+` resource and retry. Limits: other in/out windows of at most 7
days and pages of 50; unique-code flows 30 days and 1000; other interfaces 7 days and 100. A `+"`window.start`"+` in the future is not a lint error (a Benthos lint rule cannot warn without failing `+"`lint`"+`): the input logs a warning when it starts, and reads nothing until then without a checkpoint.

One message per document, one batch per page. Metadata: `+"`source_vendor`"+` (jushuitan), `+"`source_api`"+`,
`+"`source_id`"+` (`+"`io_id`"+`; `+"`<io_id>:<sku_sn>`"+` for unique-code flows), `+"`source_modified`"+`,
`+"`window_start`"+`, `+"`window_end`"+`, `+"`page`"+`.
`).
		Fields(
			service.NewURLField(jiFieldBaseURL).Description("API host.").Default(DefaultBaseURL).
				LintRule(poll.URLLintRule("jushuitan", jiFieldBaseURL, DefaultBaseURL, true)),
			service.NewStringField(jiFieldAppKey).Description("Developer app key."),
			service.NewStringField(jiFieldAppSecret).Description("Developer app secret; it signs every request.").Secret(),
			service.NewStringField(jiFieldAccessToken).Description("The merchant's access token.").Secret(),
			service.NewStringField(jiFieldRefreshToken).Description("The merchant's refresh token, used when the access token expires (self-built apps). Empty: the input runs on the access token until it expires and then stops (exit code 1) with a re-authorization error.").Secret().Default(""),
			service.NewBoolField(jiFieldProvider).Description("The app is a service-provider (服务商) app, which may not refresh tokens: an expired token stops the input with a re-authorization error.").Default(false),
			service.NewStringField(jiFieldTokenCache).
				Description("Name of a cache resource keeping the token pair renewed at run time. A refresh makes the old pair unusable, so without it a restart falls back to the configured (spent) tokens and the merchant must authorize again. Share it between streams of one merchant. The cache holds live credentials: protect it like the config's secrets.").
				Default(""),
		).
		Fields(poll.InterfaceFields(vendorName,
			"Interface path, e.g. `/open/orders/out/simple/query`, `/open/other/inout/query` or `/open/webapi/wmsapi/skusn/queryinoutitemskusns`: one of erpsync's catalogue (`erpsync catalogue jushuitan`), or any other list interface described by `interface`.",
			"Bloblang building the `biz` business parameters. Omitted: the catalogue's window fields (e.g. `modified_begin`/`modified_end`) are sent with the window's bounds.",
			poll.VendorLimits{MaxSpan: 30 * 24 * time.Hour, DefaultSpan: 7 * 24 * time.Hour, MaxPageSize: 1000})...).
		LintRule(poll.CatalogueLintRules(vendorName)).
		Example("Confirmed other-return bills", "Incremental read of confirmed 其它退货 bills by modified time.", `
input:
  jushuitan:
    app_key: ${JST_APP_KEY}
    app_secret: ${JST_APP_SECRET}
    access_token: ${JST_ACCESS_TOKEN}
    refresh_token: ${JST_REFRESH_TOKEN}
    api: /open/other/inout/query
    params: |
      root.modified_begin = @window_start.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
      root.modified_end = @window_end.ts_format("2006-01-02 15:04:05", "Asia/Shanghai")
      root.status = "Confirmed"
      root.types = ["其它退货"]
    window:
      start: 2024-06-01T00:00:00+08:00
      max_span: 168h
    page_size: 50
    checkpoint:
      cache: checkpoints
      key: jushuitan_other_inout
    rate_limit: jushuitan_account
`)
}

func newJushuitanInputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
	var cfg ClientConfig
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{jiFieldBaseURL, &cfg.BaseURL}, {jiFieldAppKey, &cfg.AppKey}, {jiFieldAppSecret, &cfg.AppSecret},
		{jiFieldAccessToken, &cfg.AccessToken}, {jiFieldRefreshToken, &cfg.RefreshToken},
	} {
		if *f.dst, err = conf.FieldString(f.name); err != nil {
			return nil, err
		}
	}
	if cfg.Provider, err = conf.FieldBool(jiFieldProvider); err != nil {
		return nil, err
	}
	log := mgr.Logger()
	tokenCache, err := conf.FieldString(jiFieldTokenCache)
	if err != nil {
		return nil, err
	}
	store := tokenStore{mgr: mgr, cache: tokenCache, key: "jushuitan_tokens_" + cfg.AppKey}
	if p, ok, err := store.load(); err != nil {
		return nil, err
	} else if ok {
		cfg.AccessToken, cfg.RefreshToken = p.AccessToken, p.RefreshToken
		log.Infof("jushuitan: using the token pair renewed at %s from cache %q", p.Renewed.Format(time.RFC3339), tokenCache)
	}
	cfg.Observe = opsmetrics.Observer(mgr, vendorName)
	renewed := opsmetrics.Renewals(mgr, vendorName)
	cfg.OnTokens = func(access, refresh string, expiresIn time.Duration) {
		renewed()
		// Never log the tokens themselves.
		if err := store.save(access, refresh, expiresIn); err != nil {
			// The old pair is spent: running on would lose the new one at
			// the next restart. Stop now, while the user can still act.
			err = fmt.Errorf("jushuitan: access token renewed but not saved to token_cache %q: %w; the input stops: fix the state folder (ERPSYNC_STATE_DIR in the shipped configs) and run again; if the new pair is lost the app must be authorized again", tokenCache, err)
			log.Errorf("%v", err)
			fatal.Stop(err)
			return
		}
		log.Infof("jushuitan: access token renewed, valid for %s", expiresIn)
	}
	iface, err := poll.ParseInterface(conf, vendorName, "")
	if err != nil {
		return nil, err
	}
	opts, err := poll.ParseOptions(conf, vendorName, iface.Limits())
	if err != nil {
		return nil, err
	}
	if opts.FilterField == "" && iface.Window != nil {
		opts.FilterField = iface.Window.Filter
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
	poll.WarnFutureStart(log, opts, time.Now())
	return service.AutoRetryNacksBatched(poll.New(client, opts, mgr)), nil
}

func init() {
	service.MustRegisterBatchInput("jushuitan", jushuitanInputSpec(), newJushuitanInputFromParsed)
}

// tokenStore keeps the renewed token pair in a cache resource.
type tokenStore struct {
	mgr        *service.Resources
	cache, key string
}

type tokenPair struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresAt    time.Time `json:"expires_at"`
	Renewed      time.Time `json:"renewed"`
}

// load reads the pair saved last. A save cut short by a crash is read
// from its spare copy (poll.SaveState).
func (s tokenStore) load() (tokenPair, bool, error) {
	var p tokenPair
	if s.cache == "" {
		return p, false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, found, _, err := poll.LoadState(ctx, s.mgr, s.cache, s.key, func(b []byte) error {
		var q tokenPair
		if json.Unmarshal(b, &q) != nil || q.AccessToken == "" {
			// Never quote the value: it holds the tokens.
			return errors.New("not a token pair")
		}
		return nil
	})
	if err != nil {
		return p, false, fmt.Errorf("jushuitan: token_cache %q key %q: %w", s.cache, s.key, err)
	}
	if !found {
		return p, false, nil
	}
	_ = json.Unmarshal(raw, &p)
	return p, true, nil
}

func (s tokenStore) save(access, refresh string, expiresIn time.Duration) error {
	if s.cache == "" {
		return nil
	}
	now := time.Now()
	raw, err := json.Marshal(tokenPair{AccessToken: access, RefreshToken: refresh, ExpiresAt: now.Add(expiresIn), Renewed: now})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return poll.SaveState(ctx, s.mgr, s.cache, s.key, raw)
}
