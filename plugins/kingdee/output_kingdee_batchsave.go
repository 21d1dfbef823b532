package kingdee

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/fatal"
	"github.com/erpsync/erpsync/internal/opsmetrics"
	"github.com/erpsync/erpsync/internal/recordlog"
	"github.com/erpsync/erpsync/internal/vendor"
)

const (
	kbFieldNumberField = "number_field"
	kbFieldIDField     = "id_field"
	kbFieldOnConflict  = "on_conflict"
	kbFieldAutoAudit   = "is_auto_submit_and_audit"
	kbFieldVerifyBase  = "is_verify_base_data_field"
	kbFieldNeedUpdate  = "need_update_fields"
	kbFieldNeedReturn  = "need_return_fields"
	kbFieldBatchCount  = "batch_count"
	kbFieldBatching    = "batching"
	kbFieldMaxInFlight = "max_in_flight"
	kbFieldMaxRequest  = "max_request_bytes"

	onConflictSkip   = "skip"
	onConflictUpdate = "update"
	onConflictFail   = "fail"

	// MetaError is the metadata key a permanently failed message carries.
	MetaError = "erpsync_error"
)

const (
	// warnEvery: every this many failed attempts of a batch, log an error.
	warnEvery = 5
	// lookupChunk bounds the numbers of one IN filter.
	lookupChunk = 500
	// defaultMaxRequestBytes bounds the body of one BatchSave request:
	// 3 MiB. Kingdee publishes no request size limit and no cap on
	// documents or entry rows per BatchSave [C: not found in Kingdee's
	// WebAPI pages; its community's advice is about BatchCount, at most 5
	// server threads, vip.kingdee.com/article/42071]. The WebAPI runs on
	// ASP.NET and IIS, whose defaults refuse bodies over 4096 KB
	// (httpRuntime maxRequestLength) and 30,000,000 bytes (request filtering
	// maxAllowedContentLength) [C: platform defaults]; that a deployment
	// keeps them is [I], so the default stays below the lower one with room
	// for a stricter proxy [I].
	defaultMaxRequestBytes = 3 << 20
	// maxRowMessages bounds the K3Cloud messages quoted in one document's
	// error (a bill of 500 bad lines has 500 of them).
	maxRowMessages = 10
)

// The pause between attempts on transient failures starts at retryBase and
// doubles up to maxBackoff. Variables so tests can shorten them.
var (
	retryBase  = 200 * time.Millisecond
	maxBackoff = 30 * time.Second
)

func batchSaveOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Writes documents to 金蝶云星空 Kingdee K3Cloud with BatchSave, idempotently by document number, with per-row results.").
		Description(`
One message is one document: a K3Cloud `+"`Model`"+` object (e.g. a `+"`BD_Customer`"+` or an `+"`STK_MISCELLANEOUS`"+`
bill) built by a Bloblang mapping upstream. Keep Kingdee's field order; the output sends the JSON as it is,
except that it sets the internal id field (`+"`id_field`"+`) of documents it updates.

== Idempotency

Every batch (and every retry within it) starts with one `+"`ExecuteBillQuery`"+` for the numbers (`+"`number_field`"+`)
of its documents (`+"`IN`"+` filter, quotes escaped, 500 numbers per query). Documents that already exist are
handled by `+"`on_conflict`"+`: `+"`skip`"+` acknowledges them without writing, `+"`update`"+` sets their internal id and saves
them as updates, `+"`fail`"+` rejects them permanently. Kingdee's duplicate-number answer (MsgCode 11
`+"`违反字段唯一性要求…已经被使用。`"+`) counts as already written under `+"`skip`"+`. A write whose outcome is unknown
(timeout, HTTP 5xx, reset, session lost) is never re-sent blindly: the next attempt's query tells which
documents landed, and only the others are sent again. Messages with the same number in one batch are
written once (the last one wins) and share its outcome. A message without a number is a permanent failure:
auto-numbered documents cannot be written idempotently.

== Per-row results

BatchSave reports each document by DIndex. Rows that failed transiently (network-control conflict, call
limit, database failure, no answer for the row, timeouts, HTTP 5xx, resets, a lost session, and whole-call
failures such as a wrong configuration) are retried inside the output, each attempt starting with the
existence query, with backoff from 200ms doubling to 30s, an error logged every fifth attempt, until they
succeed or the output closes. Rows that can never succeed (validation, missing base data, no permission,
not operable, `+"`on_conflict: fail`"+` on an existing number, a message without a number) fail at once with a
per-message error whose text names the vendor, the interface, the MsgCode, the form, the number and
Kingdee's message, and ends with `+"`(permanent)`"+`; the same text is set as metadata `+"`"+MetaError+"`"+` on the
message. K3Cloud returns one MsgCode per answer (the first failure's), so the code of other failed rows is
the batch's; the message is per row. Every row K3Cloud refuses, retried or not, is also logged at warn level
in Kingdee's words, with fields `+"`msg_code`"+`, `+"`form`"+`, `+"`bill_no`"+` and `+"`d_index`"+` (its position in the request;
up to 10 rows of one answer one by one, then a count). Only when the output closes with rows unresolved does it return one
error for the whole batch, ending with `+"`(transient)`"+`, and the batch is delivered again (rows that landed
are then found by the query). Per-message errors are never used for retries: Benthos v4.80.0 re-delivers
the wrong messages when a batch it already reduced after a per-message error is rejected per message again.

== Request size

A batch is written with as many BatchSave calls as `+"`max_request_bytes`"+` (default 3 MiB) requires: documents
are packed in order into requests whose JSON body stays within the limit, the body being measured exactly
as it is sent. One document is never split across calls: a bill with 500 entry rows travels whole, and a
document larger than the limit goes alone in a call of its own. Kingdee publishes no request size limit;
the web server in front of the WebAPI refuses bodies larger than its own (ASP.NET's 4096 KB and IIS's
30,000,000 bytes by default, a proxy's often 1 MiB) with an HTTP page, not a K3Cloud answer: HTTP 500
`+"`Maximum request length exceeded`"+` / `+"`超过了最大请求长度`"+`, HTTP 404.13 or HTTP 413. Such a refusal is never
retried as it is: a request of several documents is split in halves and sent again, and a document
refused alone fails permanently, its error naming the number, the size of the request and the limit.
Nothing of a refused request was written.

A document K3Cloud refuses fails whole, whatever the number of its entry rows that are at fault; none of
its rows is written. Its error quotes Kingdee's messages with their field (`+"`FieldName`"+`); the entry row is
named in the message (e.g. `+"`明细第137行`"+`), `+"`DIndex`"+` being the document's position in its request. Up to
10 messages are quoted, then a count.

== Dead letters

Without a `+"`fallback`"+`, a permanent failure is nacked and re-delivered by the input forever. With one, Benthos
hands the next tier a copy of exactly the failed messages, with metadata `+"`fallback_error`"+` set to the error
text; metadata set by this output is not carried over (copy it as in the example). Route on the
`+"`(permanent)`"+` suffix and `+"`reject`"+` the rest, so that a batch handed back while the output closes is
re-delivered rather than dead-lettered (see the example).

== Batching

`+"`batching`"+` is applied inside the output: documents of concurrent deliveries (single messages or input
batches) are merged into BatchSave calls of `+"`count`"+` documents (or `+"`byte_size`"+`), a partial batch leaving after
`+"`period`"+` (200ms when only count is set). Each message still gets its own result. Benthos's own output
batcher is not used because (v4.80.0) it reduces a per-message error to the whole source batch, which
would send the good rows of that batch to a dead letter too. `+"`check`"+` and `+"`processors`"+` are not supported.
Without `+"`batching`"+`, each delivered batch (e.g. one page of a poll input) is one BatchSave call.

== Sessions

K3Cloud serves the requests of one session one at a time, so each of the `+"`max_in_flight`"+` concurrent batches
uses its own session (its own cookie jar). At connect time the output probes the server with fresh
authentication (GetDataCenterList and one ExecuteBillQuery on the form), so an unknown data centre
(acct_id), an unknown form_id or refused credentials stop the process at start-up (exit code 1, naming
K3Cloud's code and message and the field to check) instead of failing every write.

== Metrics

`+"`kingdee_rows_written`"+`, `+"`kingdee_rows_updated`"+`, `+"`kingdee_rows_skipped`"+` (existing under skip), `+"`kingdee_rows_failed`"+`
(permanent), `+"`kingdee_rows_retried`"+` (handed back to Benthos), each labelled with the form id.`).
		Fields(connectionFields()...).
		Fields(
			service.NewStringField(kdFieldFormID).Description("Business object (form) id, e.g. `BD_Customer`, `STK_MISCELLANEOUS`.").Example("BD_Customer").Example("STK_MISCELLANEOUS"),
			service.NewStringField(kbFieldNumberField).Description("The document number field, the idempotency key: `FNumber` for base data, `FBillNo` for bills. Empty means `FNumber` for `BD_*` forms, otherwise `FBillNo`.").Default(""),
			service.NewStringField(kbFieldIDField).Description("The internal id field that makes a save an update: `FID` for bills; empty means the form's own key for known base data (`FCUSTID` for BD_Customer, `FMATERIALID` for BD_MATERIAL, `FSupplierId`, `FStockId`, `FDEPTID`, ...), otherwise `FID`.").Default("").Advanced(),
			service.NewStringEnumField(kbFieldOnConflict, onConflictSkip, onConflictUpdate, onConflictFail).
				Description("What to do with a document whose number already exists: `skip` acknowledges it unchanged, `update` saves it as an update of the existing one (an audited document must be un-audited first, else MsgCode 12, a permanent failure), `fail` rejects it permanently.").
				Default(onConflictSkip),
			service.NewBoolField(kbFieldAutoAudit).Description("IsAutoSubmitAndAudit: submit and audit each saved document in the same call.").Default(false),
			service.NewBoolField(kbFieldVerifyBase).Description("IsVerifyBaseDataField: reject references to base data that does not exist (MsgCode 9) instead of dropping them.").Default(false),
			service.NewStringListField(kbFieldNeedUpdate).Description("NeedUpDateFields: the fields an update writes; empty writes every field sent.").Default([]any{}),
			service.NewStringListField(kbFieldNeedReturn).Description("NeedReturnFields: fields the server returns for saved documents (entry fields as `FEntity.FSeq`).").Default([]any{}).Advanced(),
			service.NewIntField(kbFieldBatchCount).Description("BatchCount: server threads for one BatchSave, effective only when the batch is larger; 0 sends none.").Default(0).Advanced(),
			service.NewBatchPolicyField(kbFieldBatching).Description("How documents are grouped into one BatchSave (applied inside the output, see Batching); 50-200 documents per call is the usual range."),
			service.NewIntField(kbFieldMaxRequest).Description("The largest BatchSave request body, in bytes: a batch whose JSON would exceed it is sent as several BatchSave calls, never splitting one document (a bill and all its entry rows travel together); a document larger than the limit is sent alone. 0 sends each batch in one call whatever its size. See Request size.").Default(defaultMaxRequestBytes).Advanced(),
			service.NewOutputMaxInFlightField().Description("Concurrent BatchSave calls, each on its own session.").Default(4),
			recordlog.Spec(),
		).
		LintRule(authLintRule).
		Example("Customers with a dead letter", "Shops from WDT become BD_Customer documents; existing numbers are skipped, rows Kingdee rejects go to a file with the reason, transient failures are retried.", `
output:
  fallback:
    - kingdee_batchsave:
        url: ${K3CLOUD_URL}
        auth:
          acct_id: ${K3CLOUD_ACCT_ID}
          username: ${K3CLOUD_USERNAME}
          app_id: ${K3CLOUD_APP_ID}
          app_secret: ${K3CLOUD_APP_SECRET}
        form_id: BD_Customer
        number_field: FNumber
        on_conflict: skip
        is_auto_submit_and_audit: true
        batching:
          count: 100
          period: 1s
        max_in_flight: 4
    - switch:
        cases:
          - check: '@fallback_error.has_suffix("(permanent)")'
            output:
              file:
                path: ./dead_letters/k3_customers.jsonl
                codec: lines
              processors:
                - mapping: |
                    meta erpsync_error = @fallback_error
                    root.document = this
                    root.error = @fallback_error
          - output:
              reject: '${! @fallback_error }'
`)
}

func init() {
	service.MustRegisterBatchOutput("kingdee_batchsave", batchSaveOutputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			o, err := newBatchSaveFromParsed(conf, mgr)
			if err != nil {
				return nil, service.BatchPolicy{}, 0, err
			}
			// Batching happens inside the output (see collect), so Benthos
			// gets no policy; it may hand over enough messages to fill every
			// session's batch and the next one.
			return o, service.BatchPolicy{}, o.maxInFlight * max(o.count, 1) * 2, nil
		})
}

type batchSaveOutput struct {
	// stops holds the error that stopped the output (see stop).
	stops fatal.Latch

	cfg         Config
	form        string
	numberField string
	idField     string
	onConflict  string
	opts        SaveOptions
	maxInFlight int
	maxRequest  int // max_request_bytes; 0: no limit
	count       int
	byteSize    int
	period      time.Duration
	log         *service.Logger

	mu       sync.Mutex
	sessions chan *Client // idle sessions; nil until Connect
	submit   chan *request
	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc
	stopped  chan struct{} // closed when collect returns
	flushes  sync.WaitGroup

	mWritten, mUpdated, mSkipped, mFailed, mRetried *service.MetricCounter
	// rec logs confirmed documents and counts them for the console (nil: off).
	rec recordlog.Recorder

	// pause is the first wait between attempts; tests shorten it.
	pause time.Duration
}

// defaultPeriod flushes a partial batch when batching.count is set without
// a period, so the last documents of a stream are not held forever.
const defaultPeriod = 200 * time.Millisecond

func newBatchSaveFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*batchSaveOutput, error) {
	cfg, err := clientConfigFromParsed(conf)
	if err != nil {
		return nil, err
	}
	cfg.Observe = opsmetrics.Observer(mgr, vendorName)
	cfg.OnLogin = opsmetrics.Renewals(mgr, vendorName)
	o := &batchSaveOutput{cfg: cfg, log: mgr.Logger(), pause: retryBase}
	if o.form, err = conf.FieldString(kdFieldFormID); err != nil {
		return nil, err
	}
	if o.form = strings.TrimSpace(o.form); o.form == "" {
		return nil, errors.New("kingdee_batchsave: form_id is required")
	}
	if o.numberField, err = conf.FieldString(kbFieldNumberField); err != nil {
		return nil, err
	}
	if o.numberField == "" {
		o.numberField = defaultNumberField(o.form)
	}
	if o.idField, err = conf.FieldString(kbFieldIDField); err != nil {
		return nil, err
	}
	if o.idField == "" {
		o.idField = defaultIDField(o.form)
	}
	if o.onConflict, err = conf.FieldString(kbFieldOnConflict); err != nil {
		return nil, err
	}
	if o.opts.IsAutoSubmitAndAudit, err = conf.FieldBool(kbFieldAutoAudit); err != nil {
		return nil, err
	}
	if o.opts.IsVerifyBaseDataField, err = conf.FieldBool(kbFieldVerifyBase); err != nil {
		return nil, err
	}
	if o.opts.NeedUpdateFields, err = conf.FieldStringList(kbFieldNeedUpdate); err != nil {
		return nil, err
	}
	if o.opts.NeedReturnFields, err = conf.FieldStringList(kbFieldNeedReturn); err != nil {
		return nil, err
	}
	if o.opts.BatchCount, err = conf.FieldInt(kbFieldBatchCount); err != nil {
		return nil, err
	}
	pol, err := conf.FieldBatchPolicy(kbFieldBatching)
	if err != nil {
		return nil, err
	}
	if procs, _ := conf.FieldAny(kbFieldBatching, "processors"); pol.Check != "" || (procs != nil && fmt.Sprint(procs) != "[]") {
		return nil, errors.New("kingdee_batchsave: batching.check and batching.processors are not supported (the output batches internally to keep per-row results); use count, byte_size and period")
	}
	o.count, o.byteSize = pol.Count, pol.ByteSize
	if pol.Period != "" {
		if o.period, err = time.ParseDuration(pol.Period); err != nil {
			return nil, fmt.Errorf("kingdee_batchsave: batching.period: %w", err)
		}
	}
	if o.period == 0 && (o.count > 1 || o.byteSize > 0) {
		o.period = defaultPeriod
	}
	if o.maxRequest, err = conf.FieldInt(kbFieldMaxRequest); err != nil {
		return nil, err
	}
	if o.maxRequest < 0 {
		return nil, fmt.Errorf("kingdee_batchsave: %s must not be negative, got %d", kbFieldMaxRequest, o.maxRequest)
	}
	if o.maxInFlight, err = conf.FieldMaxInFlight(); err != nil {
		return nil, err
	}
	if o.maxInFlight < 1 {
		return nil, errors.New("kingdee_batchsave: max_in_flight must be at least 1")
	}
	m := mgr.Metrics()
	// Shared names and labels of every erpsync output (target, object).
	o.mWritten = m.NewCounter("erpsync_rows_written_total", "target", "object")
	o.mUpdated = m.NewCounter("erpsync_rows_updated_total", "target", "object")
	o.mSkipped = m.NewCounter("erpsync_rows_skipped_total", "target", "object")
	o.mFailed = m.NewCounter("erpsync_rows_failed_total", "target", "object")
	o.mRetried = m.NewCounter("erpsync_rows_retried_total", "target", "object")
	if o.rec, err = recordlog.FromParsed(conf, "k3cloud:"+o.form); err != nil {
		return nil, fmt.Errorf("kingdee_batchsave: %w", err)
	}
	o.rec = recordlog.OrNop(o.rec)
	return o, nil
}

// Connect opens the session pool, probes the server with fresh
// authentication and starts the batch collector.
func (o *batchSaveOutput) Connect(ctx context.Context) error {
	if err := o.stoppedErr(); err != nil {
		return service.NewErrBackOff(err, 10*time.Second)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sessions != nil {
		return nil
	}
	pool := make(chan *Client, o.maxInFlight)
	for range o.maxInFlight {
		c, err := NewClient(o.cfg)
		if err != nil {
			return err
		}
		pool <- c
	}
	probe := <-pool
	err := probe.Probe(ctx, o.form, o.numberField)
	pool <- probe
	if err != nil {
		if vendor.KindOf(err) == vendor.Permanent && ctx.Err() == nil {
			// Nothing is written yet and no document is at fault: a form,
			// data centre or credential the server refuses needs the user.
			err = o.stop(fmt.Errorf("kingdee_batchsave: probing %s on %s: %w: %s", o.form, o.cfg.URL, err, probeHint(err)))
			return service.NewErrBackOff(err, 10*time.Second)
		}
		// A flaky network must not hold the pipeline: writes check and retry.
		o.log.Warnf("kingdee_batchsave: probing %s on %s: %v (connecting anyway)", o.form, o.cfg.URL, err)
	}
	o.sessions = pool
	o.submit = make(chan *request)
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.stopped = make(chan struct{})
	go o.collect()
	return nil
}

// stop records err as the reason this output (and the process, see
// internal/fatal) stops, and returns the first such error.
func (o *batchSaveOutput) stop(err error) error { return o.stops.Stop(o.log, err) }

func (o *batchSaveOutput) stoppedErr() error { return o.stops.Err() }

// probeHint names the config fields a refused probe points at.
func probeHint(err error) string {
	var ve *vendor.Error
	if !errors.As(err, &ve) {
		return "check url and auth"
	}
	switch {
	case strings.Contains(ve.Msg, "业务对象") || ve.Code == "4" && strings.Contains(ve.Msg, "不存在"):
		return "check form_id (the business object's FormId, e.g. BD_MATERIAL)"
	case strings.Contains(ve.Msg, "acct_id") || strings.Contains(ve.Msg, "数据中心"):
		return "check auth.acct_id (the data centre id)"
	case ve.Status != 0 || ve.Code == "1":
		return "check auth.acct_id, auth.username, auth.app_id and auth.app_secret (or auth.password)"
	}
	return "check url, auth and form_id"
}

// Close stops the collector; writes in flight are cancelled (their rows
// are nacked, and a later delivery checks whether they landed).
func (o *batchSaveOutput) Close(ctx context.Context) error {
	o.mu.Lock()
	cancel, stopped := o.cancel, o.stopped
	o.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-stopped:
	case <-ctx.Done():
		return ctx.Err()
	}
	o.flushes.Wait()
	closeIdle(o.cfg.Transport)
	return nil
}

// closeIdle releases the pooled connections of a transport.
func closeIdle(rt http.RoundTripper) {
	if t, ok := rt.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// doc is one message of a batch.
type doc struct {
	raw    json.RawMessage
	number string
	key    string // folded number: K3Cloud compares numbers case-insensitively
	size   int
}

// rowOutcome is what became of one representative document.
type rowOutcome struct {
	done   bool   // resolved (success or permanent failure)
	err    error  // nil on success
	action string // on success: recordlog.ActionCreated, ActionUpdated or ActionSkipped
	id     string // on success: the document's internal id, when known
}

// request is one WriteBatch call waiting for its documents' outcomes.
type request struct {
	items   []*item
	pending atomic.Int64
	done    chan struct{}
}

// item is one document of a request.
type item struct {
	d   *doc
	req *request
	err error
	// action and id: what became of the document on success.
	action, id string
}

func (it *item) resolve(err error) {
	it.err = err
	if it.req.pending.Add(-1) == 0 {
		close(it.req.done)
	}
}

// resolveWith resolves the item with its row's outcome.
func (it *item) resolveWith(out *rowOutcome) {
	it.action, it.id = out.action, out.id
	it.resolve(out.err)
}

// WriteBatch hands the documents to the collector, which merges them with
// those of concurrent calls into BatchSave calls of batching.count, and
// answers with a per-message error for exactly the documents that failed.
// Merging here rather than in Benthos's output batcher keeps per-message
// errors: Benthos (v4.80.0) reduces a batch error to one error per source
// transaction when its batcher merged several, and a fallback tier would
// then receive the good rows of that transaction too.
func (o *batchSaveOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	if o.stoppedErr() != nil {
		// Not written, not failed: the batch stays unacknowledged and
		// Connect keeps failing until the streams shut down.
		return service.ErrNotConnected
	}
	o.mu.Lock()
	submit, stopped := o.submit, o.stopped
	o.mu.Unlock()
	if submit == nil {
		return service.ErrNotConnected
	}
	errs := make([]error, len(batch))
	req := &request{done: make(chan struct{})}
	index := make([]int, 0, len(batch))
	for i, m := range batch {
		d, err := o.parse(m)
		if err != nil {
			errs[i] = err
			continue
		}
		req.items = append(req.items, &item{d: d, req: req})
		index = append(index, i)
	}
	if len(req.items) > 0 {
		req.pending.Store(int64(len(req.items)))
		select {
		case submit <- req:
		case <-stopped:
			return service.ErrNotConnected
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-req.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		var recs []recordlog.Record
		for j, it := range req.items {
			errs[index[j]] = it.err
			if it.err == nil {
				sid, _ := batch[index[j]].MetaGet("source_id")
				if sid == "" {
					sid = it.d.number
				}
				recs = append(recs, recordlog.Record{SourceID: sid, TargetNumber: it.d.number, TargetID: it.id, Action: it.action})
			}
		}
		if err := o.rec.Written(ctx, recs); err != nil {
			// Written to K3Cloud; delivered again, the document is found
			// there and skipped, and its record written then.
			return fmt.Errorf("kingdee_batchsave: %d documents written to %s but not logged, the batch will be delivered again: %w", len(recs), o.form, err)
		}
	}
	return o.batchResult(batch, errs)
}

// batchResult answers Benthos for a batch. Permanent failures only: a
// per-message batch error, so a fallback routes exactly those messages.
// Any transient failure (only when the output closes): one plain error for
// the whole batch, re-delivered whole. Benthos v4.80.0 maps a per-message
// nack of a batch it already reduced by an earlier per-message nack to the
// wrong messages (AsyncPreserver indexes the reduced batch with positions
// of the original), so per-message nacks are never given for retries.
func (o *batchSaveOutput) batchResult(batch service.MessageBatch, errs []error) error {
	var bErr *service.BatchError
	var transient error
	failed := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed++
		if vendor.KindOf(err) != vendor.Permanent {
			if transient == nil {
				transient = err
			}
			continue
		}
		batch[i].MetaSetMut(MetaError, err.Error())
		if bErr == nil {
			bErr = service.NewBatchError(batch, err)
		}
		bErr.Failed(i, err)
	}
	if transient != nil {
		o.mRetried.Incr(int64(len(batch)), "k3cloud", o.form)
		o.rec.Retried(len(batch))
		return fmt.Errorf("kingdee_batchsave: %d of %d documents not written, the batch will be delivered again: %w", failed, len(batch), transient)
	}
	if bErr != nil {
		o.mFailed.Incr(int64(failed), "k3cloud", o.form)
		o.rec.Failed(failed)
		return bErr
	}
	return nil
}

// collect groups submitted documents into batches by count, byte size and
// period, and starts a flush per batch; flushes wait for a free session.
func (o *batchSaveOutput) collect() {
	defer close(o.stopped)
	var pending []*item
	var size int
	var first time.Time
	flush := func(n int) {
		b := pending[:n:n]
		pending = append([]*item(nil), pending[n:]...)
		size = 0
		for _, it := range pending {
			size += it.d.size
		}
		first = time.Now()
		o.flushes.Add(1)
		go o.flush(b)
	}
	for {
		var tick <-chan time.Time
		if len(pending) > 0 && o.period > 0 {
			tick = time.After(time.Until(first.Add(o.period)))
		}
		select {
		case req := <-o.submit:
			if len(pending) == 0 {
				first = time.Now()
			}
			for _, it := range req.items {
				pending = append(pending, it)
				size += it.d.size
			}
			for o.count > 0 && len(pending) >= o.count {
				flush(o.count)
			}
			if len(pending) > 0 && ((o.byteSize > 0 && size >= o.byteSize) || (o.count <= 1 && o.byteSize <= 0 && o.period <= 0)) {
				flush(len(pending))
			}
		case <-tick:
			flush(len(pending))
		case <-o.ctx.Done():
			for _, it := range pending {
				it.resolve(o.closingErr())
			}
			return
		}
	}
}

func (o *batchSaveOutput) closingErr() error {
	return &vendor.Error{Vendor: vendorName, Interface: "BatchSave", Msg: o.form + ": output closing; not written", Kind: vendor.Transient, Err: service.ErrNotConnected}
}

// flush writes one batch on a free session and resolves its items.
func (o *batchSaveOutput) flush(items []*item) {
	defer o.flushes.Done()
	var sess *Client
	select {
	case sess = <-o.sessions:
	case <-o.ctx.Done():
		for _, it := range items {
			it.resolve(o.closingErr())
		}
		return
	}
	docs := make([]*doc, len(items))
	rep := map[string]int{} // key -> index of the representative document
	for i, it := range items {
		docs[i] = it.d
		rep[it.d.key] = i // the last document with a number wins
	}
	reps := make([]int, 0, len(rep))
	for i, d := range docs {
		if rep[d.key] == i {
			reps = append(reps, i)
		}
	}
	outcome := o.write(o.ctx, sess, docs, reps)
	o.sessions <- sess
	failed := 0
	var sample error
	for i, it := range items {
		out := outcome[rep[docs[i].key]]
		if out.err != nil {
			failed++
			sample = out.err
		}
		it.resolveWith(out)
	}
	if failed > 0 {
		o.log.Warnf("kingdee_batchsave: %s: %d of %d documents not written, e.g. %v", o.form, failed, len(items), sample)
	}
}

// parse reads a message as a Model object and finds its number.
func (o *batchSaveOutput) parse(m *service.Message) (*doc, error) {
	b, err := m.AsBytes()
	if err != nil {
		return nil, o.rowErr("", "", "message has no content: "+err.Error())
	}
	b = bytes.TrimSpace(b)
	var obj map[string]json.RawMessage
	if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &obj) != nil {
		return nil, o.rowErr("", "", "message is not a JSON object (one message must be one K3Cloud Model)")
	}
	var no string
	for k, v := range obj {
		if strings.EqualFold(k, o.numberField) {
			no = scalarText(v)
		}
	}
	if no == "" {
		return nil, o.rowErr("", "", fmt.Sprintf("document has no %s: a document cannot be written idempotently without its number", o.numberField))
	}
	return &doc{raw: json.RawMessage(b), number: no, key: strings.ToUpper(no), size: len(b)}, nil
}

// rowErr is a permanent failure of one document.
func (o *batchSaveOutput) rowErr(code, number, msg string) error {
	subject := o.form
	if number != "" {
		subject += " " + number
	}
	return &vendor.Error{Vendor: vendorName, Interface: "BatchSave", Code: code, Msg: subject + ": " + msg, Kind: vendor.Permanent}
}

func scalarText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(v, &n) == nil {
		return n.String()
	}
	return ""
}

// write brings every representative document to a final outcome on one
// session: success, or a permanent failure. Transient failures are retried
// here, with backoff, until they succeed or ctx ends (the output closes);
// only then are they left with a transient error. Each attempt first asks
// which numbers exist, so nothing whose earlier write may have landed is
// sent again as a new document.
func (o *batchSaveOutput) write(ctx context.Context, sess *Client, docs []*doc, reps []int) map[int]*rowOutcome {
	out := make(map[int]*rowOutcome, len(reps))
	for _, i := range reps {
		out[i] = &rowOutcome{}
	}
	pending := reps
	mayHaveLanded := map[int]bool{} // sent as new documents, outcome unknown
	var lastErr error
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if attempt%warnEvery == 0 {
				o.log.Errorf("kingdee_batchsave: %s: %d documents still not written after %d attempts, retrying: %v", o.form, len(pending), attempt, lastErr)
			}
			if err := sleepCtx(ctx, backoff(o.pause, attempt)); err != nil {
				break
			}
		}
		keys := make([]string, 0, len(pending))
		for _, i := range pending {
			keys = append(keys, docs[i].number)
		}
		existing, err := o.lookup(ctx, sess, keys)
		if err != nil {
			lastErr = err
			if o.requestRefused(ctx, err) {
				break
			}
			continue
		}
		var send []int
		var models []json.RawMessage
		var updates []bool
		for _, i := range pending {
			d := docs[i]
			id, found := existing[d.key]
			switch {
			case found && mayHaveLanded[i]:
				out[i].done = true // our earlier write landed; its answer was lost
				out[i].action, out[i].id = recordlog.ActionCreated, id
				o.mWritten.Incr(1, "k3cloud", o.form)
			case found && o.onConflict == onConflictSkip:
				out[i].done = true
				out[i].action, out[i].id = recordlog.ActionSkipped, id
				o.mSkipped.Incr(1, "k3cloud", o.form)
			case found && o.onConflict == onConflictFail:
				out[i].done, out[i].err = true, o.rowErr("", d.number, fmt.Sprintf("already exists (%s %s) and on_conflict is fail", o.idField, id))
			case found:
				m, err := withID(d.raw, o.idField, id)
				if err != nil {
					out[i].done, out[i].err = true, o.rowErr("", d.number, err.Error())
					continue
				}
				send, models, updates = append(send, i), append(models, m), append(updates, true)
			default:
				send, models, updates = append(send, i), append(models, d.raw), append(updates, false)
			}
		}
		pending = nil
		if len(send) == 0 {
			break
		}
		c := &saveCall{sess: sess, docs: docs, out: out, mayHaveLanded: mayHaveLanded}
		refused := false
		for _, part := range o.split(models) {
			again, stop := o.saveChunk(ctx, c, send[part[0]:part[1]], models[part[0]:part[1]], updates[part[0]:part[1]])
			pending = append(pending, again...)
			if stop {
				refused = true
				break
			}
		}
		if c.lastErr != nil {
			lastErr = c.lastErr
		}
		for _, i := range pending {
			if out[i].err != nil {
				lastErr = out[i].err
				out[i].err = nil
			}
		}
		if refused {
			break
		}
	}
	// Only a closing output leaves rows unresolved; Benthos gets them back.
	for _, i := range reps {
		if out[i].done {
			continue
		}
		msg := "not written (output closing)"
		if lastErr != nil {
			msg += "; last failure: " + lastErr.Error()
		}
		out[i].err = &vendor.Error{Vendor: vendorName, Interface: "BatchSave", Msg: o.form + " " + docs[i].number + ": " + msg, Kind: vendor.Transient, Err: lastErr}
	}
	return out
}

// saveCall is the state one attempt's BatchSave calls share.
type saveCall struct {
	sess          *Client
	docs          []*doc
	out           map[int]*rowOutcome
	mayHaveLanded map[int]bool
	lastErr       error // of the last call that failed as a whole
}

// split packs models, in order, into ranges [start, end) whose BatchSave
// request stays within max_request_bytes; a model larger than the limit
// is a range of its own.
func (o *batchSaveOutput) split(models []json.RawMessage) [][2]int {
	if o.maxRequest <= 0 || len(models) == 0 {
		return [][2]int{{0, len(models)}}
	}
	overhead := BatchSaveOverhead(o.form, o.opts)
	var parts [][2]int
	start, size := 0, overhead
	for i, m := range models {
		add := ModelSize(m)
		if i > start {
			add++ // the comma
		}
		if i > start && size+add > o.maxRequest {
			parts = append(parts, [2]int{start, i})
			start, size, add = i, overhead, add-1
		}
		size += add
	}
	return append(parts, [2]int{start, len(models)})
}

// saveChunk sends one BatchSave of the documents send (models, updates
// alike) and applies its answer; it returns the documents to try again
// and whether the output stops (a request-level refusal, see
// requestRefused). A request refused for its size was not processed: with
// several documents it is split in halves and sent again; a document
// refused alone fails permanently.
func (o *batchSaveOutput) saveChunk(ctx context.Context, c *saveCall, send []int, models []json.RawMessage, updates []bool) ([]int, bool) {
	res, err := c.sess.BatchSave(ctx, o.form, models, o.opts)
	if err == nil {
		return o.mapResult(res, c.docs, send, updates, c.out), false
	}
	if IsTooLarge(err) && ctx.Err() == nil {
		size := BatchSaveOverhead(o.form, o.opts) + len(models) - 1
		for _, m := range models {
			size += ModelSize(m)
		}
		if len(send) > 1 {
			o.log.Warnf("kingdee_batchsave: %s: the server refused a BatchSave of %d documents (%d bytes, max_request_bytes %d) as too large; sending it in halves: %v", o.form, len(send), size, o.maxRequest, err)
			h := len(send) / 2
			again, stop := o.saveChunk(ctx, c, send[:h], models[:h], updates[:h])
			if stop {
				return append(again, send[h:]...), true
			}
			more, stop := o.saveChunk(ctx, c, send[h:], models[h:], updates[h:])
			return append(again, more...), stop
		}
		i := send[0]
		d := c.docs[i]
		var ve *vendor.Error
		errors.As(err, &ve)
		o.logTooLarge(d.number, size, ve)
		c.out[i].done, c.out[i].err = true, o.rowErr(CodeTooLarge, d.number, fmt.Sprintf(
			"the server refused the document as too large: its BatchSave request alone is %d bytes (max_request_bytes %d) and the server answered HTTP %d; reduce the document (fewer entry rows) or raise the server's request limit",
			size, o.maxRequest, ve.Status))
		return nil, false
	}
	// Outcome unknown for every row: the next attempt's lookup decides.
	c.lastErr = err
	for j, i := range send {
		if !updates[j] {
			c.mayHaveLanded[i] = true
		}
	}
	return send, o.requestRefused(ctx, err)
}

// logTooLarge logs a document the server refused alone for its size.
func (o *batchSaveOutput) logTooLarge(number string, size int, ve *vendor.Error) {
	o.log.With("form", o.form, "bill_no", number, "request_bytes", size).
		Warnf("kingdee_batchsave: %s %s: the server refused the document alone as too large (%d bytes, HTTP %d); permanent: not retried, the message fails", o.form, number, size, ve.Status)
}

// requestRefused reports whether a request-level error (not one row's) is
// permanent: the server refuses the request whatever the documents (an
// unknown form or field, a URL it does not serve), which only the user can
// fix. A session lost again right after logging in (MsgCode 1) is not
// counted: very short session lifetimes produce it too, and the retry
// heals it. It stops the output and the process; the
// rows are left unresolved, so they are redelivered, never dead-lettered.
func (o *batchSaveOutput) requestRefused(ctx context.Context, err error) bool {
	var ve *vendor.Error
	if ctx.Err() != nil || vendor.KindOf(err) != vendor.Permanent || errors.As(err, &ve) && ve.Code == "1" {
		return false
	}
	o.stop(fmt.Errorf("kingdee_batchsave: %s on %s: %w: %s", o.form, o.cfg.URL, err, probeHint(err)))
	return true
}

// backoff is the wait before attempt n (n >= 1): base doubling up to maxBackoff.
func backoff(base time.Duration, n int) time.Duration {
	d := base << min(n-1, 16)
	if d <= 0 || d > maxBackoff {
		return maxBackoff
	}
	return d
}

// mapResult applies a BatchSave answer by DIndex and returns the rows to
// try again (their last error in out[i].err).
func (o *batchSaveOutput) mapResult(res *SaveResult, docs []*doc, send []int, updates []bool, out map[int]*rowOutcome) []int {
	succ := res.SuccessByIndex()
	errsBy := res.ErrorsByIndex()
	firstFailed := -1
	if len(res.Status.Errors) > 0 {
		firstFailed = res.Status.Errors[0].DIndex
	}
	var again []int
	logged := 0
	defer func() {
		if logged > maxRowLogs {
			o.log.With("msg_code", res.Status.MsgCode, "form", o.form).
				Warnf("kingdee_batchsave: %s: K3Cloud refused %d more rows of this BatchSave (MsgCode %d), not logged one by one; their messages are in each row's error", o.form, logged-maxRowLogs, res.Status.MsgCode)
		}
	}()
	for j, i := range send {
		d := docs[i]
		if se, ok := succ[j]; ok {
			out[i].done = true
			out[i].id = string(se.ID)
			if updates[j] {
				out[i].action = recordlog.ActionUpdated
				o.mUpdated.Incr(1, "k3cloud", o.form)
			} else {
				out[i].action = recordlog.ActionCreated
				o.mWritten.Incr(1, "k3cloud", o.form)
			}
			continue
		}
		es, ok := errsBy[j]
		if !ok {
			out[i].err = &vendor.Error{Vendor: vendorName, Interface: "BatchSave", Code: fmt.Sprint(res.Status.MsgCode),
				Msg: o.form + " " + d.number + ": the answer has no result for this document", Kind: vendor.Transient}
			again = append(again, i)
			continue
		}
		msgs := make([]string, 0, len(es))
		dup := false
		kind := vendor.Permanent
		for _, e := range es {
			m := e.Message
			if e.FieldName != "" {
				m = e.FieldName + ": " + m
			}
			msgs = append(msgs, m)
			switch {
			case IsDuplicate(e.Message):
				dup = true
			case transientMessage(e.Message):
				kind = vendor.Transient
			}
		}
		if j == firstFailed && kind == vendor.Permanent && !dup {
			kind = MsgCodeKind(res.Status.MsgCode)
		}
		if len(msgs) > maxRowMessages {
			msgs = append(msgs[:maxRowMessages], fmt.Sprintf("and %d more errors of this document", len(msgs)-maxRowMessages))
		}
		text := strings.Join(msgs, "; ")
		code := fmt.Sprint(res.Status.MsgCode)
		if !dup || o.onConflict == onConflictFail {
			if logged++; logged <= maxRowLogs {
				o.logRefusal(res.Status.MsgCode, j, d.number, text, kind)
			}
		}
		switch {
		case dup && o.onConflict == onConflictSkip:
			out[i].done = true
			out[i].action = recordlog.ActionSkipped
			o.mSkipped.Incr(1, "k3cloud", o.form)
		case dup && o.onConflict == onConflictFail:
			out[i].done, out[i].err = true, o.rowErr("11", d.number, text+" (on_conflict is fail)")
		case dup:
			// Created by someone else since the lookup: the next lookup finds its id.
			out[i].err = &vendor.Error{Vendor: vendorName, Interface: "BatchSave", Code: "11", Msg: o.form + " " + d.number + ": " + text, Kind: vendor.Transient}
			again = append(again, i)
		case kind == vendor.Permanent:
			out[i].done, out[i].err = true, o.rowErr(code, d.number, text)
		default:
			out[i].err = &vendor.Error{Vendor: vendorName, Interface: "BatchSave", Code: code, Msg: o.form + " " + d.number + ": " + text, Kind: kind}
			again = append(again, i)
		}
	}
	return again
}

// maxRowLogs bounds the rows of one BatchSave answer logged one by one.
const maxRowLogs = 10

// logRefusal logs a row K3Cloud refused, in Kingdee's words: Benthos logs
// only one error of a failed batch, and a row retried here shows its
// message only every warnEvery attempts, so without this line an operator
// may never see what Kingdee said (e.g. MsgCode 500 服务器繁忙). dIndex is the
// row's position in the request, as K3Cloud numbers it.
func (o *batchSaveOutput) logRefusal(msgCode, dIndex int, number, text string, kind vendor.Kind) {
	next := "permanent: not retried, the message fails with this error"
	if kind != vendor.Permanent {
		next = "retrying (" + kind.String() + ")"
	}
	o.log.With("msg_code", msgCode, "form", o.form, "bill_no", number, "d_index", dIndex).
		Warnf("kingdee_batchsave: %s %s (DIndex %d): K3Cloud refused the row, MsgCode %d: %s; %s", o.form, number, dIndex, msgCode, text, next)
}

// transientMessage recognises per-row errors that a later call can fix;
// K3Cloud gives one MsgCode per answer, so rows other than the first
// failure are known by their message only.
func transientMessage(m string) bool {
	for _, s := range []string{"网络控制", "网控", "调用次数", "调用频率", "超时", "死锁", "数据库操作失败", "deadlock", "timeout"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// lookup returns the internal id of every number that exists, keyed by
// the folded number.
func (o *batchSaveOutput) lookup(ctx context.Context, sess *Client, numbers []string) (map[string]string, error) {
	found := make(map[string]string, len(numbers))
	for start := 0; start < len(numbers); start += lookupChunk {
		chunk := numbers[start:min(start+lookupChunk, len(numbers))]
		rows, err := sess.QueryAll(ctx, Query{FormID: o.form, FieldKeys: o.idField + "," + o.numberField, FilterString: InFilter(o.numberField, chunk)})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if len(r) < 2 {
				continue
			}
			key := strings.ToUpper(strings.TrimSpace(fmt.Sprint(r[1])))
			if _, seen := found[key]; !seen {
				found[key] = fmt.Sprint(r[0])
			}
		}
	}
	return found, nil
}

// withID returns the document with its internal id field set (replacing a
// field of that name in any case), keeping the order of the other fields.
func withID(raw json.RawMessage, field, id string) (json.RawMessage, error) {
	idJSON := []byte(id)
	if !json.Valid(idJSON) || len(idJSON) == 0 || idJSON[0] == '"' {
		idJSON, _ = json.Marshal(id)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("document is not a JSON object")
	}
	var b bytes.Buffer
	b.WriteByte('{')
	kb, _ := json.Marshal(field)
	b.Write(kb)
	b.WriteByte(':')
	b.Write(idJSON)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if strings.EqualFold(k, field) {
			continue
		}
		kb, _ := json.Marshal(k)
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
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
