package kis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/fatal"
	"github.com/erpsync/erpsync/internal/opsmetrics"
	"github.com/erpsync/erpsync/internal/recordlog"
	"github.com/erpsync/erpsync/internal/vendor"
)

const (
	koFieldBaseURL      = "base_url"
	koFieldClientID     = "client_id"
	koFieldClientSecret = "client_secret"
	koFieldAuthCode     = "auth_code"
	koFieldAcctNumber   = "acct_number"
	koFieldPID          = "pid"
	koFieldICRMID       = "icrmid"
	koFieldState        = "state"
	koFieldAPI          = "api"
	koFieldLedger       = "ledger"
	koFieldLedgerTTL    = "ledger_ttl"
	koFieldMaxInFlight  = "max_in_flight"
	koFieldTimeout      = "timeout"
	koFieldMaxRetries   = "max_retries"
	koFieldBackoff      = "backoff"
	koFieldBackoffInit  = "initial_interval"
	koFieldBackoffMax   = "max_interval"

	// MetaError is the metadata key naming why a bill can never be written.
	MetaError = "erpsync_error"

	// authBackoff: a refused app credential or authorization code needs an
	// operator; retrying the koas flow every second only fills the log.
	authBackoff = 10 * time.Second
)

// clockNow is the output's clock (Kis-Timestamp, credential expiry); tests
// replace it to drive expiry together with the sandbox clock.
var clockNow = time.Now

func kisOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Creates 金蝶KIS bills (default 其他入库单, other inbound) through the koas open API, one message per bill, written exactly once by FBillNo.").
		Description(`
Each message is one bill, the JSON object `+"`{\"Head\": {...}, \"Entry\": [{...}, ...]}`"+`; the output posts it
wrapped as `+"`{\"Object\": <message>}`"+` to `+"`base_url + api`"+`. `+"`Head.FBillNo`"+` is required: it is what makes
writes idempotent. Map it from the source document's id (e.g. the Jushuitan `+"`io_id`"+`), never generate it.

Authentication is the koas flow: the authorization code is exchanged for an access token and a session,
the signed `+"`get_service_gateway`"+` call gives `+"`auth_data`"+` and the gateway route, and both are refreshed
ahead of expiry (and after a refusal) by the two refresh calls, or by the full flow when they cannot be.
Credentials are shared by all in-flight writes and renewed by one of them at a time. A refused app
credential or code, an unknown account or a missing `+"`pid`"+` stops the process (exit code 1) with KIS's code and
message and the field to check, without acknowledging any bill; so does a ledger entry that cannot be
stored (the bill is in KIS then, and KIS's duplicate answer records it after the restart).

Idempotency: the `+"`ledger`"+` cache holds one entry per bill number (key `+"`kis_<acct_number>_<api>_<FBillNo>`"+`, path characters as `+"`_`"+`),
written only after KIS confirmed the bill or answered that the number already exists. A bill found in
the ledger is acknowledged without any call. KIS offers no way to ask whether a bill landed, so after
an ambiguous failure (timeout, HTTP 5xx, reset) the same bill is sent again with the same FBillNo and
a "duplicate bill number" answer counts as written (an inference from the contract; it relies on KIS
refusing a second bill with the same number per bill type).

Failures: timeouts, 5xx, rate limits and refused credentials are retried here with backoff (until
the stream stops, or `+"`max_retries`"+`), so they never reach a `+"`fallback`"+` output. A bill KIS rejects
(validation, missing master data, a bad message) is not retried: the write fails with an error naming
vendor, interface, errcode and description, which a `+"`fallback`"+` output receives as metadata
`+"`fallback_error`"+` (copy it to `+"`erpsync_error`"+` there, see the example: Benthos does not carry metadata set
by an output over to the next fallback tier). Without a `+"`fallback`"+`, the input receives the rejection
and, by Benthos' usual rules, delivers the bill again.

Metrics: `+"`kis_bills_created`"+`, `+"`kis_bills_skipped`"+` (ledger hits), `+"`kis_bills_duplicate`"+`,
`+"`kis_bills_rejected`"+`, `+"`kis_retries`"+`.
`).
		Fields(
			service.NewURLField(koFieldBaseURL).Description("koas host, e.g. `https://api.kingdee.com` (confirm per installation)."),
			service.NewStringField(koFieldClientID).Description("Developer app client_id."),
			service.NewStringField(koFieldClientSecret).Description("Developer app client_secret.").Secret(),
			service.NewStringField(koFieldAuthCode).Description("Authorization code granted by the customer, exchanged for tokens (again whenever the refresh tokens are gone).").Secret(),
			service.NewStringField(koFieldAcctNumber).Description("Account (账套) number, `acctnumber`."),
			service.NewStringField(koFieldPID).Description("Installation `pid`, sent to get_service_gateway.").Default(""),
			service.NewStringField(koFieldICRMID).Description("Installation `icrmid`, sent to get_service_gateway.").Default(""),
			service.NewStringField(koFieldState).Description("Kis-State header: a stable id of this installation; it is signed and bound to the session, so keep it fixed. Empty derives one from client_id and acct_number.").Default("").Advanced(),
			service.NewStringField(koFieldAPI).Description("Create interface path. Siblings: `/koas/app007104/api/<productreceipt|purchasereceipt|pickinglist|salesdelivery|stocktransfer|subcontractreceipt|subcontractdelivery|miscellaneousdelivery>/create`.").Default(DefaultCreatePath),
			service.NewStringField(koFieldLedger).Description("Name of the cache resource holding the write ledger (bill numbers already written). Use a persistent cache (`state`, `mysql`) so the ledger survives restarts; a ledger entry that cannot be stored stops the process (exit code 1)."),
			service.NewDurationField(koFieldLedgerTTL).Description("How long a ledger entry is kept. Past it, a replayed bill is sent again and KIS's duplicate answer still stops a second bill.").Default("720h"),
			service.NewIntField(koFieldMaxInFlight).Description("Bills written in parallel. The contract advises writing serially at 2-5 requests per second.").Default(1),
			service.NewDurationField(koFieldTimeout).Description("Timeout of one HTTP request. A create that times out may have landed; it is sent again with the same FBillNo.").Default("30s"),
			service.NewIntField(koFieldMaxRetries).Description("Attempts after a retryable failure (timeout, 5xx, rate limit, refused credentials) before the bill fails with the last error; 0 retries until the stream stops.").Default(0).Advanced(),
			service.NewObjectField(koFieldBackoff,
				service.NewDurationField(koFieldBackoffInit).Description("Wait before the first retry; doubled on each further retry.").Default("500ms"),
				service.NewDurationField(koFieldBackoffMax).Description("Longest wait between retries.").Default("30s"),
			).Description("Backoff between retries of one bill.").Advanced(),
			recordlog.Spec(),
		).
		LintRule(`
root = []
root = if !this.api.or("`+DefaultCreatePath+`").has_prefix("/koas/") { root.append("kis: api must be a koas path such as `+DefaultCreatePath+`") } else { root }
root = if this.api.or("").contains("?") { root.append("kis: api must not carry a query; the output adds access_token") } else { root }
root = if this.max_in_flight.or(1) < 1 { root.append("kis: max_in_flight must be at least 1") } else { root }
root = if this.max_retries.or(0) < 0 { root.append("kis: max_retries must not be negative") } else { root }
`).
		Example("Jushuitan other inbound to KIS 其他入库单", "Bills rejected by KIS go to a dead-letter file with the vendor's errcode and description; everything else is retried and written exactly once.", `
cache_resources:
  - label: kis_ledger
    state:
      directory: ./state/kis_ledger

pipeline:
  processors:
    - mapping: |
        root.Head.FBillNo = this.io_id.string()
        root.Head.Fdate = this.io_date.kd_datetime()
        root.Head.FTranType = 10
        root.Head.FROB = 1
        root.Head.FDCStockID = "CK001"
        root.Entry = this.items.map_each(i -> {
          "FItemID": i.sku_id, "FQty": i.qty, "Fauxqty": i.qty, "FAuxQtyMust": i.qty,
          "FPlanMode": 14036, "FDCStockID": "CK001"
        })

output:
  fallback:
    - kis:
        base_url: ${KIS_BASE_URL}
        client_id: ${KIS_CLIENT_ID}
        client_secret: ${KIS_CLIENT_SECRET}
        auth_code: ${KIS_AUTH_CODE}
        acct_number: ${KIS_ACCT_NUMBER}
        pid: ${KIS_PID}
        icrmid: ${KIS_ICRMID}
        ledger: kis_ledger
    - processors:
        - mapping: |
            meta erpsync_error = @fallback_error
            root.document = this.catch(content().string())
            root.error = @fallback_error
      file:
        path: ./dead_letters/kis.jsonl
        codec: lines
`)
}

// kisOutput writes one bill per message.
type kisOutput struct {
	client     *Client
	api        string
	acct       string
	ledger     string
	ledgerTTL  time.Duration
	maxRetries int
	boInit     time.Duration
	boMax      time.Duration
	res        *service.Resources
	log        *service.Logger
	locks      keyLocks

	// stops holds the error that stopped the output (see stop).
	stops fatal.Latch

	mCreated, mSkipped, mDuplicate, mRejected, mRetries *service.MetricCounter
	// rec logs written bills and counts them for the console (nil: off).
	rec recordlog.Recorder
}

func newKISOutputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*kisOutput, int, error) {
	var cfg Config
	strs := []struct {
		name string
		dst  *string
	}{
		{koFieldClientID, &cfg.ClientID}, {koFieldClientSecret, &cfg.ClientSecret}, {koFieldAuthCode, &cfg.AuthCode},
		{koFieldAcctNumber, &cfg.AcctNumber}, {koFieldPID, &cfg.PID}, {koFieldICRMID, &cfg.ICRMID}, {koFieldState, &cfg.State},
	}
	for _, f := range strs {
		v, err := conf.FieldString(f.name)
		if err != nil {
			return nil, 0, err
		}
		*f.dst = v
	}
	base, err := conf.FieldURL(koFieldBaseURL)
	if err != nil {
		return nil, 0, err
	}
	cfg.BaseURL = base.String()
	if cfg.Timeout, err = conf.FieldDuration(koFieldTimeout); err != nil {
		return nil, 0, err
	}
	cfg.Now = clockNow
	o := &kisOutput{res: mgr, log: mgr.Logger(), acct: cfg.AcctNumber, locks: keyLocks{m: map[string]chan struct{}{}}}
	if o.api, err = conf.FieldString(koFieldAPI); err != nil {
		return nil, 0, err
	}
	if !strings.HasPrefix(o.api, "/koas/") || strings.ContainsAny(o.api, "?#") {
		return nil, 0, fmt.Errorf("kis: api %q must be a koas path such as %s", o.api, DefaultCreatePath)
	}
	if o.ledger, err = conf.FieldString(koFieldLedger); err != nil {
		return nil, 0, err
	}
	if o.ledgerTTL, err = conf.FieldDuration(koFieldLedgerTTL); err != nil {
		return nil, 0, err
	}
	if o.maxRetries, err = conf.FieldInt(koFieldMaxRetries); err != nil {
		return nil, 0, err
	}
	bo := conf.Namespace(koFieldBackoff)
	if o.boInit, err = bo.FieldDuration(koFieldBackoffInit); err != nil {
		return nil, 0, err
	}
	if o.boMax, err = bo.FieldDuration(koFieldBackoffMax); err != nil {
		return nil, 0, err
	}
	maxInFlight, err := conf.FieldInt(koFieldMaxInFlight)
	if err != nil {
		return nil, 0, err
	}
	if maxInFlight < 1 || o.maxRetries < 0 || o.boInit <= 0 || o.boMax < o.boInit {
		return nil, 0, errors.New("kis: max_in_flight must be >= 1, max_retries >= 0 and 0 < backoff.initial_interval <= backoff.max_interval")
	}
	cfg.Observe = opsmetrics.Observer(mgr, vendorName)
	cfg.OnRenew = opsmetrics.Renewals(mgr, vendorName)
	if o.client, err = NewClient(cfg); err != nil {
		return nil, 0, err
	}
	m := mgr.Metrics()
	// Shared names and labels of every erpsync output (target, object).
	o.mCreated = m.NewCounter("erpsync_rows_written_total", "target", "object")
	o.mSkipped = m.NewCounter("erpsync_rows_skipped_total", "target", "object")
	o.mDuplicate = m.NewCounter("erpsync_rows_duplicate_total", "target", "object")
	o.mRejected = m.NewCounter("erpsync_rows_failed_total", "target", "object")
	o.mRetries = m.NewCounter("kis_retries")
	if o.rec, err = recordlog.FromParsed(conf, "kis"); err != nil {
		return nil, 0, fmt.Errorf("kis: %w", err)
	}
	o.rec = recordlog.OrNop(o.rec)
	return o, maxInFlight, nil
}

// Connect runs the koas flow so that a bad credential shows at start. A
// permanent refusal (bad app credential, code, account, missing pid) can
// only be cured by the user: it stops the process (internal/fatal), and
// Connect keeps failing until the streams are shut down.
func (o *kisOutput) Connect(ctx context.Context) error {
	if err := o.stopped(); err != nil {
		return service.NewErrBackOff(err, authBackoff)
	}
	if !o.res.HasCache(o.ledger) {
		return fmt.Errorf("kis: ledger cache resource %q does not exist; declare it under cache_resources", o.ledger)
	}
	if err := o.client.Login(ctx); err != nil {
		if ctx.Err() == nil && vendor.KindOf(err) == vendor.Permanent {
			return service.NewErrBackOff(o.stop(fmt.Errorf("%w: %s", err, ConfigHint(err))), authBackoff)
		}
		return err
	}
	return nil
}

// stop records err as the reason this output (and the process) stops and
// returns it; later calls of Connect and Write fail with the first one.
func (o *kisOutput) stop(err error) error { return o.stops.Stop(o.log, err) }

func (o *kisOutput) stopped() error { return o.stops.Err() }

// kisOutcome is what became of a bill written.
type kisOutcome struct{ action, number, id string }

// Write writes one bill, at most once per FBillNo (see the description),
// and logs it in the record log when the output has one.
func (o *kisOutput) Write(ctx context.Context, msg *service.Message) error {
	var out kisOutcome
	err := o.write(ctx, msg, &out)
	if err == nil && out.action != "" {
		sid, _ := msg.MetaGet("source_id")
		if sid == "" {
			sid = out.number
		}
		if rerr := o.rec.Written(ctx, []recordlog.Record{{SourceID: sid, TargetNumber: out.number, TargetID: out.id, Action: out.action}}); rerr != nil {
			// In KIS and in the ledger: delivered again, it is skipped
			// and logged then.
			return fmt.Errorf("kis: bill %s written but not logged, it will be delivered again: %w", out.number, rerr)
		}
	}
	if err != nil && vendor.KindOf(err) == vendor.Permanent {
		o.rec.Failed(1)
	}
	return err
}

func (o *kisOutput) write(ctx context.Context, msg *service.Message, out *kisOutcome) error {
	if o.stopped() != nil {
		// Not written, not rejected: the bill stays unacknowledged.
		return service.ErrNotConnected
	}
	raw, err := msg.AsBytes()
	if err != nil {
		return o.reject(msg, "", &vendor.Error{Vendor: vendorName, Interface: o.api, Kind: vendor.Permanent, Msg: "message has no content: " + err.Error()})
	}
	bill, billNo, err := inspectBill(raw)
	if err != nil {
		return o.reject(msg, billNo, &vendor.Error{Vendor: vendorName, Interface: o.api, Kind: vendor.Permanent, Msg: err.Error()})
	}
	key := o.ledgerKey(billNo)
	// One write per bill number at a time in this process: a second copy
	// of the bill waits and then finds the ledger entry.
	unlock, err := o.locks.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()

	var last error
	ambiguous := false
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if o.maxRetries > 0 && attempt > o.maxRetries {
				return o.reject(msg, billNo, fmt.Errorf("gave up after %d retries: %w", o.maxRetries, last))
			}
			o.mRetries.Incr(1)
			if err := sleepCtx(ctx, o.delay(attempt, last)); err != nil {
				return err
			}
		}
		written, err := o.ledgerHas(ctx, key)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = fmt.Errorf("kis: ledger cache %q: %w", o.ledger, err)
			o.log.Warnf("kis: bill %s: reading the ledger failed (will retry): %v", billNo, err)
			continue
		}
		if written {
			o.mSkipped.Incr(1, "kis", o.api)
			out.action, out.number = recordlog.ActionSkipped, billNo
			return nil
		}
		created, err := o.client.Create(ctx, o.api, bill)
		switch {
		case err == nil:
			o.mCreated.Incr(1, "kis", o.api)
			out.action, out.number, out.id = recordlog.ActionCreated, billNo, fmt.Sprint(created.FID)
			return o.record(ctx, key, billNo, ledgerEntry{FID: created.FID, FBillNo: created.FBillNo})
		case IsDuplicate(err):
			o.mDuplicate.Incr(1, "kis", o.api)
			if ambiguous {
				o.log.Debugf("kis: bill %s: duplicate answer after an unanswered attempt: it landed then", billNo)
			} else {
				o.log.Warnf("kis: bill %s already exists in KIS (written before this ledger knew it); treated as written: %v", billNo, err)
			}
			out.action, out.number = recordlog.ActionSkipped, billNo
			return o.record(ctx, key, billNo, ledgerEntry{FBillNo: billNo, Duplicate: true})
		case ctx.Err() != nil:
			return ctx.Err()
		case IsAuthFailure(err) && vendor.KindOf(err) == vendor.Permanent:
			// No bill is at fault and only the user can fix it: stop,
			// leaving this bill unacknowledged.
			o.stop(fmt.Errorf("%w: %s", err, ConfigHint(err)))
			return service.ErrNotConnected
		case isConfigAnswer(err):
			// The interface does not exist: every bill would fail the same.
			o.stop(fmt.Errorf("%w: check api (the create interface path)", err))
			return service.ErrNotConnected
		case vendor.KindOf(err) == vendor.Permanent:
			return o.reject(msg, billNo, err)
		}
		if vendor.KindOf(err) == vendor.Transient && !IsAuthFailure(err) {
			ambiguous = true
		}
		last = err
		o.log.Debugf("kis: bill %s: attempt %d failed (will retry): %v", billNo, attempt+1, err)
	}
}

// ledgerKey is the ledger key of a bill: account, interface and number,
// escaped so that file-backed caches can use it as a file name, e.g.
// "kis_acct_koas_app007104_api_miscellaneousreceipt_create_JST10001".
func (o *kisOutput) ledgerKey(billNo string) string {
	scope := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, o.acct+o.api)
	return "kis_" + scope + "_" + url.PathEscape(billNo)
}

// reject marks a bill that will not be written and returns its error.
func (o *kisOutput) reject(msg *service.Message, billNo string, err error) error {
	if billNo != "" {
		err = fmt.Errorf("bill %s: %w", billNo, err)
	}
	o.mRejected.Incr(1, "kis", o.api)
	// Seen by anything holding this very message; Benthos' fallback passes
	// its next tier a copy taken before the write, which gets the same text
	// as metadata fallback_error instead.
	msg.MetaSetMut(MetaError, err.Error())
	return err
}

// delay is the wait before retry number attempt (from 1).
func (o *kisOutput) delay(attempt int, last error) time.Duration {
	d := o.boInit
	for i := 1; i < attempt && d < o.boMax; i++ {
		d *= 2
	}
	d = min(d, o.boMax)
	var ve *vendor.Error
	if errors.As(last, &ve) && ve.RetryAfter > d {
		d = ve.RetryAfter
	}
	return d
}

// ledgerEntry is the value stored per written bill.
type ledgerEntry struct {
	FID       int64     `json:"fid,omitempty"`
	FBillNo   string    `json:"fbillno"`
	Duplicate bool      `json:"duplicate,omitempty"`
	Written   time.Time `json:"written"`
}

func (o *kisOutput) ledgerHas(ctx context.Context, key string) (bool, error) {
	var found bool
	var getErr error
	err := o.res.AccessCache(ctx, o.ledger, func(c service.Cache) {
		_, getErr = c.Get(ctx, key)
		switch {
		case getErr == nil:
			found = true
		case errors.Is(getErr, service.ErrKeyNotFound):
			getErr = nil
		}
	})
	if err != nil {
		return false, err
	}
	return found, getErr
}

// record writes the ledger entry of a bill KIS holds. A failure stops the
// output and the process (internal/fatal) and leaves the bill
// unacknowledged: the bill is in KIS, and writing on without a ledger
// would leave every later bill unrecorded too. After a restart the bill
// is sent again and KIS's duplicate answer counts it as written.
func (o *kisOutput) record(ctx context.Context, key, billNo string, e ledgerEntry) error {
	e.Written = clockNow().UTC()
	v, _ := json.Marshal(e)
	ttl := o.ledgerTTL
	var setErr error
	err := o.res.AccessCache(ctx, o.ledger, func(c service.Cache) {
		if ttl > 0 {
			setErr = c.Set(ctx, key, v, &ttl)
		} else {
			setErr = c.Set(ctx, key, v, nil)
		}
	})
	if err == nil {
		err = setErr
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		// Shutting down: not acknowledged, so sent again after a restart,
		// where KIS's duplicate answer records it.
		return ctx.Err()
	}
	o.stop(fmt.Errorf("kis: bill %s is written to KIS but its entry in the ledger cache %q (key %q) could not be stored: %w; the output stops: fix the state folder (ERPSYNC_STATE_DIR in the shipped configs) and run again (the bill is sent again then, and KIS's duplicate-number answer counts it as written)", billNo, o.ledger, key, err))
	return service.ErrNotConnected
}

func (o *kisOutput) Close(context.Context) error { return nil }

// inspectBill checks that raw is a {Head, Entry} object with a bill number
// and returns it with that number.
func inspectBill(raw []byte) (json.RawMessage, string, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, "", errors.New("message is not a JSON object {Head, Entry}: " + vendor.Snippet(raw))
	}
	headRaw, ok := doc["Head"]
	if !ok {
		if _, wrapped := doc["Object"]; wrapped {
			return nil, "", errors.New(`message is wrapped in "Object"; send the bill itself {Head, Entry}, the output adds the wrapper`)
		}
		return nil, "", errors.New("message has no Head; want one bill {Head, Entry}")
	}
	var head map[string]json.RawMessage
	if err := json.Unmarshal(headRaw, &head); err != nil || head == nil {
		return nil, "", errors.New("Head is not an object")
	}
	billNo := rawText(head["FBillNo"])
	if billNo == "" || strings.ContainsAny(billNo, "{[") {
		return nil, "", errors.New("Head.FBillNo is missing: the kis output needs the bill number (e.g. the Jushuitan io_id) to write idempotently; without it KIS numbers the bill and a retry would create a second one")
	}
	return raw, billNo, nil
}

// keyLocks serialises work per key.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func (k *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	for {
		k.mu.Lock()
		held, busy := k.m[key]
		if !busy {
			ch := make(chan struct{})
			k.m[key] = ch
			k.mu.Unlock()
			return func() {
				k.mu.Lock()
				delete(k.m, key)
				k.mu.Unlock()
				close(ch)
			}, nil
		}
		k.mu.Unlock()
		select {
		case <-held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func init() {
	service.MustRegisterOutput("kis", kisOutputSpec(), func(conf *service.ParsedConfig, mgr *service.Resources) (service.Output, int, error) {
		o, n, err := newKISOutputFromParsed(conf, mgr)
		if err != nil {
			return nil, 0, err
		}
		return o, n, nil
	})
}
