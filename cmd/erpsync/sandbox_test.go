package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
)

// parseSandboxFlags runs the sandbox command's flag parsing in process and
// returns the options it would start with.
func parseSandboxFlags(t *testing.T, args ...string) (sandbox.Options, error) {
	t.Helper()
	cmd := sandboxCommand()
	var o sandbox.Options
	var perr error
	cmd.Action = func(c *cli.Context) error {
		o, perr = sandboxOptions(c)
		return nil
	}
	app := &cli.App{Name: "erpsync", Commands: []*cli.Command{cmd}, Writer: io.Discard, ErrWriter: io.Discard}
	if err := app.Run(append([]string{"erpsync", "sandbox"}, args...)); err != nil {
		return o, err
	}
	return o, perr
}

func TestSandboxAnswerFaultFlags(t *testing.T) {
	o, err := parseSandboxFlags(t, "--order", "id_desc", "--null-rate", "0.1", "--total-drift-rate", "0.2",
		"--duplicate-rate", "0.3", "--short-page-rate", "0.4", "--modified-after-create", "0.5",
		"--interface-faults", `{"jushuitan_skusn":{"order":"random"},"wdt_shops":{"null_rate":1}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := core.AnswerFaults{Order: "id_desc", NullRate: 0.1, TotalDriftRate: 0.2, DuplicateRate: 0.3, ShortPageRate: 0.4, ModifiedAfterCreate: 0.5}
	if o.Faults.Answers != want {
		t.Fatalf("answers %+v, want %+v", o.Faults.Answers, want)
	}
	if len(o.Faults.Interfaces) != 2 || o.Faults.Interfaces["jushuitan_skusn"] != (core.AnswerFaults{Order: "random"}) ||
		o.Faults.Interfaces["wdt_shops"] != (core.AnswerFaults{NullRate: 1}) {
		t.Fatalf("interfaces %+v", o.Faults.Interfaces)
	}
	if o, err := parseSandboxFlags(t); err != nil || !o.Faults.Answers.IsZero() || o.Faults.Interfaces != nil {
		t.Fatalf("defaults: %v %+v", err, o.Faults)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--order", "newest"}, `--order must be one of asc, desc, id_asc, id_desc, random, got "newest"`},
		{[]string{"--null-rate", "1.5"}, "--null-rate must be between 0 and 1"},
		{[]string{"--short-page-rate", "-0.1"}, "--short-page-rate must be between 0 and 1"},
		{[]string{"--modified-after-create", "2"}, "--modified-after-create must be between 0 and 1"},
		{[]string{"--interface-faults", `{"jushuitan_skusn":`}, "--interface-faults:"},
		{[]string{"--interface-faults", `{"jushuitan_skusn":{"order":"up"}}`}, "--interface-faults: interfaces.jushuitan_skusn: order must be one of"},
		{[]string{"--interface-faults", `{"jushuitan_skusn":{"rate":1}}`}, `--interface-faults: interfaces.jushuitan_skusn: json: unknown field "rate"`},
		{[]string{"--interface-faults", `{"skusn":{}}`}, `--interface-faults: interfaces: unknown dataset "skusn"; known: jushuitan_aftersale_received, jushuitan_inventory, jushuitan_orders, jushuitan_other_inout, jushuitan_purchasein, jushuitan_purchaseout, jushuitan_refunds, jushuitan_saleout, jushuitan_skus, jushuitan_skusn, wdt_goods, wdt_refunds, wdt_shops, wdt_stockin_purchase, wdt_stockin_refund, wdt_stockout_trade, wdt_stocks, wdt_trades, xbb_contracts, xbb_customers, xbb_products`},
		{[]string{"--interface-faults", `[]`}, "--interface-faults: interfaces must be an object"},
	} {
		if _, err := parseSandboxFlags(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

// TestSandboxCommandAnswerFaults: the binary starts with the flags in force
// and refuses a bad value before listening.
func TestSandboxCommandAnswerFaults(t *testing.T) {
	url := startSandbox(t, "--records", "20", "--order", "desc", "--interface-faults", `{"xbb_products":{"short_page_rate":0.5}}`)
	resp, err := http.Get(url + "/_sandbox/faults")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f core.Faults
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		t.Fatal(err)
	}
	if f.Answers.Order != "desc" || f.AnswerFor("xbb_products") != (core.AnswerFaults{ShortPageRate: 0.5}) || f.AnswerFor("wdt_shops").Order != "desc" {
		t.Fatalf("faults in force: %+v", f)
	}
	out, err := run(t, "sandbox", "--addr", "127.0.0.1:0", "--interface-faults", `{"nope":{}}`)
	if err == nil || !strings.Contains(out, `unknown dataset "nope"`) {
		t.Fatalf("bad --interface-faults: %v\n%s", err, out)
	}
}

// TestSandboxFidelityFlags: the vendor-fidelity switches default to the
// behaviour observed in production and can be made strict.
func TestSandboxFidelityFlags(t *testing.T) {
	o, err := parseSandboxFlags(t)
	if err != nil || o.K3Cloud.SignatureWindow != 0 {
		t.Fatalf("defaults: %v %+v", err, o.K3Cloud)
	}
	if o.KIS.StrictHeaders {
		t.Fatal("KIS strict headers on by default")
	}
	if o, err = parseSandboxFlags(t, "--kis-strict-headers"); err != nil || !o.KIS.StrictHeaders {
		t.Fatalf("--kis-strict-headers: %v", err)
	}
	if o, err = parseSandboxFlags(t, "--k3-signature-window", "15m"); err != nil || o.K3Cloud.SignatureWindow.String() != "15m0s" {
		t.Fatalf("--k3-signature-window: %v %s", err, o.K3Cloud.SignatureWindow)
	}
	if _, err := parseSandboxFlags(t, "--k3-signature-window", "-1m"); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Fatalf("negative window: %v", err)
	}
	if o.K3Cloud.MaxRequestBytes != 4<<20 || o.K3Cloud.RequestRefusal != "aspnet" {
		t.Fatalf("request size defaults: %d %q", o.K3Cloud.MaxRequestBytes, o.K3Cloud.RequestRefusal)
	}
	if o, err = parseSandboxFlags(t, "--k3-max-request-bytes", "65536", "--k3-request-refusal", "proxy"); err != nil || o.K3Cloud.MaxRequestBytes != 65536 || o.K3Cloud.RequestRefusal != "proxy" {
		t.Fatalf("request size flags: %v %+v", err, o.K3Cloud)
	}
	if _, err := parseSandboxFlags(t, "--k3-request-refusal", "teapot"); err == nil || !strings.Contains(err.Error(), "aspnet, iis or proxy") {
		t.Fatalf("unknown refusal: %v", err)
	}
	if _, err := parseSandboxFlags(t, "--k3-max-request-bytes", "0"); err == nil || !strings.Contains(err.Error(), "must not be 0") {
		t.Fatalf("zero limit: %v", err)
	}
}
