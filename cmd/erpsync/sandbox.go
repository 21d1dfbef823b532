package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/erpsync/erpsync/internal/demo"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
)

// credFlag binds one credential flag to a field of the sandbox options.
type credFlag struct {
	name, usage string
	field       func(o *sandbox.Options) *string
}

var credFlags = []credFlag{
	{"jst-app-key", "Jushuitan app_key", func(o *sandbox.Options) *string { return &o.Jushuitan.AppKey }},
	{"jst-app-secret", "Jushuitan app_secret", func(o *sandbox.Options) *string { return &o.Jushuitan.AppSecret }},
	{"jst-access-token", "Jushuitan access_token", func(o *sandbox.Options) *string { return &o.Jushuitan.AccessToken }},
	{"jst-refresh-token", "Jushuitan refresh_token", func(o *sandbox.Options) *string { return &o.Jushuitan.RefreshToken }},
	{"wdt-sid", "WDT sid", func(o *sandbox.Options) *string { return &o.WDT.SID }},
	{"wdt-appkey", "WDT openapi2 appkey", func(o *sandbox.Options) *string { return &o.WDT.AppKey }},
	{"wdt-appsecret", "WDT openapi2 appsecret", func(o *sandbox.Options) *string { return &o.WDT.AppSecret }},
	{"qm-app-key", "Qimen app_key", func(o *sandbox.Options) *string { return &o.WDT.QimenAppKey }},
	{"qm-app-secret", "Qimen app_secret", func(o *sandbox.Options) *string { return &o.WDT.QimenAppSecret }},
	{"qm-target-app-key", "Qimen target_app_key", func(o *sandbox.Options) *string { return &o.WDT.QimenTargetAppKey }},
	{"xbb-corpid", "XBB corpid", func(o *sandbox.Options) *string { return &o.XBB.Corpid }},
	{"xbb-token", "XBB token", func(o *sandbox.Options) *string { return &o.XBB.Token }},
	{"xbb-user-id", "XBB userId", func(o *sandbox.Options) *string { return &o.XBB.UserID }},
	{"k3-acct-id", "K3Cloud acct_id (data centre)", func(o *sandbox.Options) *string { return &o.K3Cloud.AcctID }},
	{"k3-username", "K3Cloud username", func(o *sandbox.Options) *string { return &o.K3Cloud.Username }},
	{"k3-password", "K3Cloud password", func(o *sandbox.Options) *string { return &o.K3Cloud.Password }},
	{"k3-app-id", "K3Cloud app_id", func(o *sandbox.Options) *string { return &o.K3Cloud.AppID }},
	{"k3-app-secret", "K3Cloud app_secret", func(o *sandbox.Options) *string { return &o.K3Cloud.AppSecret }},
	{"kis-client-id", "KIS client_id", func(o *sandbox.Options) *string { return &o.KIS.ClientID }},
	{"kis-client-secret", "KIS client_secret", func(o *sandbox.Options) *string { return &o.KIS.ClientSecret }},
	{"kis-auth-code", "KIS authorization code", func(o *sandbox.Options) *string { return &o.KIS.AuthCode }},
}

// answerRates binds each rate flag of the default answer faults to its field.
var answerRates = []struct {
	name, usage string
	field       func(a *core.AnswerFaults) *float64
}{
	{"null-rate", "share of answers that succeed without a list", func(a *core.AnswerFaults) *float64 { return &a.NullRate }},
	{"total-drift-rate", "share of pages whose reported total is off by 1-3", func(a *core.AnswerFaults) *float64 { return &a.TotalDriftRate }},
	{"duplicate-rate", "share of pages after the first that repeat 1-3 rows of the previous one", func(a *core.AnswerFaults) *float64 { return &a.DuplicateRate }},
	{"short-page-rate", "share of pages, not the last, that lack 1-3 rows", func(a *core.AnswerFaults) *float64 { return &a.ShortPageRate }},
	{"modified-after-create", "share of unique-code flows modified 1-6 h after creation", func(a *core.AnswerFaults) *float64 { return &a.ModifiedAfterCreate }},
}

var answerFlags = func() []cli.Flag {
	out := []cli.Flag{
		&cli.StringFlag{Name: "order", Usage: "order of list answers: " + strings.Join(core.Orders, ", ") + " (default: as documented)"},
	}
	for _, r := range answerRates {
		out = append(out, &cli.Float64Flag{Name: r.name, Usage: r.usage})
	}
	return append(out, &cli.StringFlag{
		Name:  "interface-faults",
		Usage: `JSON of answer faults per dataset, each replacing --order and the rates above, e.g. '{"jushuitan_skusn":{"order":"desc"}}'`,
	})
}()

// answerFaults reads the answer-fault flags.
func answerFaults(c *cli.Context) (core.AnswerFaults, core.InterfaceFaults, error) {
	var a core.AnswerFaults
	a.Order = c.String("order")
	if a.Order != "" && !slices.Contains(core.Orders, a.Order) {
		return a, nil, fmt.Errorf("--order must be one of %s, got %q", strings.Join(core.Orders, ", "), a.Order)
	}
	for _, r := range answerRates {
		v := c.Float64(r.name)
		if !(v >= 0 && v <= 1) {
			return a, nil, fmt.Errorf("--%s must be between 0 and 1, got %v", r.name, v)
		}
		*r.field(&a) = v
	}
	raw := strings.TrimSpace(c.String("interface-faults"))
	if raw == "" {
		return a, nil, nil
	}
	var ifs core.InterfaceFaults
	if err := json.Unmarshal([]byte(raw), &ifs); err != nil {
		return a, nil, fmt.Errorf("--interface-faults: %w", err)
	}
	f := core.Faults{Interfaces: ifs}
	if err := f.Validate(); err != nil {
		return a, nil, fmt.Errorf("--interface-faults: %w", err)
	}
	if err := f.CheckInterfaces(sandbox.DatasetNames()); err != nil {
		return a, nil, fmt.Errorf("--interface-faults: %w", err)
	}
	return a, ifs, nil
}

func sandboxCommand() *cli.Command {
	def := sandbox.DefaultOptions()
	flags := []cli.Flag{
		&cli.StringFlag{Name: "addr", Value: sandbox.DefaultAddr, Usage: "address to listen on (port 0 picks a free one)"},
		&cli.Uint64Flag{Name: "seed", Value: def.Seed, Usage: "seed of the generated data and of the fault dice"},
		&cli.IntFlag{Name: "records", Value: def.Records, Usage: "documents per source dataset"},
		&cli.StringFlag{Name: "limits", Value: "real", Usage: "vendor rate limits: real (as documented) or off"},
		&cli.DurationFlag{Name: "latency", Usage: "base latency added to every call"},
		&cli.DurationFlag{Name: "row-latency", Usage: "extra latency per written row"},
		&cli.Float64Flag{Name: "error-rate", Usage: "share of calls answered with HTTP 5xx or an HTML gateway page"},
		&cli.Float64Flag{Name: "timeout-rate", Usage: "share of calls whose answer never comes"},
		&cli.DurationFlag{Name: "token-ttl", Usage: "lifetime of access tokens (0: the vendor's default)"},
		&cli.DurationFlag{Name: "session-ttl", Usage: "lifetime of K3Cloud/KIS sessions (0: the default)"},
		&cli.Float64Flag{Name: "mutate-rate", Usage: "chance per page served that a document in the queried range changes"},
		&cli.Float64Flag{Name: "row-fail-rate", Usage: "share of written rows that fail validation"},
		&cli.DurationFlag{Name: "k3-signature-window", Value: def.K3Cloud.SignatureWindow, Usage: "K3Cloud: accepted x-api-timestamp and LoginBySign skew (0: none checked, as observed in production)"},
		&cli.IntFlag{Name: "k3-max-request-bytes", Value: def.K3Cloud.MaxRequestBytes, Usage: "K3Cloud: largest request body served (default the ASP.NET default, 4 MiB; negative: no limit)"},
		&cli.StringFlag{Name: "k3-request-refusal", Value: def.K3Cloud.RequestRefusal, Usage: "K3Cloud: how a larger request is refused: aspnet (HTTP 500 page), iis (HTTP 404.13) or proxy (HTTP 413)"},
		&cli.BoolFlag{Name: "kis-strict-headers", Value: def.KIS.StrictHeaders, Usage: "KIS: require Kis-Ver on every call and KIS-Signature on get_service_gateway (default: accept what production accepts)"},
		&cli.StringFlag{Name: "env-file", Usage: "also write an env file (KEY=value lines) pointing every shipped config at this sandbox, for `erpsync -e FILE ...`"},
	}
	flags = append(flags, answerFlags...)
	for _, cf := range credFlags {
		flags = append(flags, &cli.StringFlag{Name: cf.name, Value: *cf.field(&def), Usage: cf.usage})
	}
	return &cli.Command{
		Name:  "sandbox",
		Usage: "Serve simulators of every vendor API (Jushuitan, WDT, Qimen, XBB, K3Cloud, KIS)",
		Description: `Serves faithful simulators of the vendor APIs on one listener, at their real
paths, so pipelines can be developed and tested without credentials. On start
it prints one JSON line to stdout: {"url": ..., "credentials": {...}}.
Faults can be changed at run time with POST /_sandbox/faults. The answer
faults make list interfaces answer out of order, without a list, with wrong
totals, overlapping or short pages; --interface-faults sets them per dataset
(jushuitan_other_inout, jushuitan_skusn, jushuitan_saleout, jushuitan_aftersale_received,
jushuitan_purchasein, jushuitan_purchaseout, jushuitan_orders, jushuitan_refunds,
jushuitan_inventory, jushuitan_skus, wdt_shops, wdt_trades, wdt_stockout_trade,
wdt_refunds, wdt_stockin_refund, wdt_stockin_purchase, wdt_stocks, wdt_goods,
xbb_products, xbb_customers, xbb_contracts).`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			o, err := sandboxOptions(c)
			if err != nil {
				return err
			}
			sb, err := sandbox.Start(o)
			if err != nil {
				return err
			}
			defer sb.Close()
			line, err := json.Marshal(struct {
				URL         string         `json:"url"`
				Credentials map[string]any `json:"credentials"`
			}{sb.URL(), sb.Credentials()})
			if err != nil {
				return err
			}
			if path := c.String("env-file"); path != "" {
				if err := writeEnvFile(path, demo.SandboxEnv(sb.URL(), o)); err != nil {
					return fmt.Errorf("--env-file: %w", err)
				}
			}
			fmt.Fprintln(c.App.Writer, string(line))

			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sig)
			select {
			case <-sig:
			case <-c.Context.Done():
			}
			return nil
		},
	}
}

func sandboxOptions(c *cli.Context) (o sandbox.Options, err error) {
	o = sandbox.DefaultOptions()
	o.Addr = c.String("addr")
	o.Seed = c.Uint64("seed")
	o.Records = c.Int("records")
	switch c.String("limits") {
	case "real":
		o.Limits = true
	case "off":
		o.Limits = false
	default:
		return o, fmt.Errorf("--limits must be real or off, got %q", c.String("limits"))
	}
	o.Latency = c.Duration("latency")
	o.RowLatency = c.Duration("row-latency")
	o.Faults = core.Faults{
		ErrorRate:   c.Float64("error-rate"),
		TimeoutRate: c.Float64("timeout-rate"),
		TokenTTL:    core.Duration(c.Duration("token-ttl")),
		SessionTTL:  core.Duration(c.Duration("session-ttl")),
		MutateRate:  c.Float64("mutate-rate"),
		RowFailRate: c.Float64("row-fail-rate"),
	}
	if o.K3Cloud.SignatureWindow = c.Duration("k3-signature-window"); o.K3Cloud.SignatureWindow < 0 {
		return o, fmt.Errorf("--k3-signature-window must not be negative, got %s", o.K3Cloud.SignatureWindow)
	}
	if o.K3Cloud.MaxRequestBytes = c.Int("k3-max-request-bytes"); o.K3Cloud.MaxRequestBytes == 0 {
		return o, errors.New("--k3-max-request-bytes must not be 0 (negative: no limit)")
	}
	switch o.K3Cloud.RequestRefusal = c.String("k3-request-refusal"); o.K3Cloud.RequestRefusal {
	case k3cloud.RefusalASPNET, k3cloud.RefusalIIS, k3cloud.RefusalProxy:
	default:
		return o, fmt.Errorf("--k3-request-refusal must be aspnet, iis or proxy, got %q", o.K3Cloud.RequestRefusal)
	}
	o.KIS.StrictHeaders = c.Bool("kis-strict-headers")
	if o.Faults.Answers, o.Faults.Interfaces, err = answerFaults(c); err != nil {
		return o, err
	}
	if err := o.Faults.Validate(); err != nil {
		return o, err
	}
	if o.Records <= 0 {
		return o, fmt.Errorf("--records must be positive, got %d", o.Records)
	}
	for _, cf := range credFlags {
		*cf.field(&o) = c.String(cf.name)
	}
	return o, nil
}

// writeEnvFile writes env as sorted KEY=value lines, atomically (a reader
// never sees half a file) and 0600: it holds the sandbox's credentials.
func writeEnvFile(path string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by erpsync sandbox: every shipped config pointed at this sandbox.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
