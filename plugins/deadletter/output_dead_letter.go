package deadletter

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/streamstate"
	"github.com/erpsync/erpsync/plugins/mysql"
)

const (
	dlFieldDSN           = "dsn"
	dlFieldTable         = "table"
	dlFieldCreateTable   = "create_table"
	dlFieldStream        = "stream"
	dlFieldTarget        = "target"
	dlFieldSourceID      = "source_id"
	dlFieldSourceVendor  = "source_vendor"
	dlFieldError         = "error"
	dlFieldErrorCode     = "error_code"
	dlFieldPayload       = "payload"
	dlFieldTargetPayload = "target_payload"
	dlFieldBatching      = "batching"

	// MetaSource is the metadata key a stream stashes the source document
	// under before its mapping (`meta erpsync_source = content().string()`),
	// so that a dead letter holds the document the mapping can run on again.
	MetaSource = "erpsync_source"

	// MetricDeadLetters counts recorded dead letters by stream and target.
	MetricDeadLetters = "erpsync_dead_letters_total"
)

// internalMeta are the prefixes of metadata keys that are not part of the
// source message: erpsync's own bookkeeping (erpsync_error, erpsync_source),
// Benthos' fallback_error and the replay's dead_letter_*.
var internalMeta = []string{"erpsync_", "fallback_", "dead_letter_"}

// storeRetry bounds the retries of one statement on deadlocks and lost
// connections; past them the write fails and Benthos retries it.
var storeRetry = mysql.RetryPolicy{MaxRetries: 5, Initial: 100 * time.Millisecond, Max: 5 * time.Second}

// connFields are the fields the three components share.
func connFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewStringField(dlFieldDSN).
			Description("Data source name in go-sql-driver/mysql form, `user:password@tcp(host:3306)/database`. Its password never appears in errors or logs. The component connects on first use, so a configured component that is never used needs no database; an empty dsn fails that first use.").
			Example("erpsync:${MYSQL_PASSWORD}@tcp(mysql:3306)/erpsync").
			Secret(),
		service.NewStringField(dlFieldTable).
			Description("Dead-letter table, optionally `schema.table`. Several streams share one table: rows are keyed by (stream, source_id).").
			Default(DefaultTable),
		service.NewBoolField(dlFieldCreateTable).
			Description("Create the table when it is missing (needs the CREATE grant). The schema is in the description.").
			Default(true).Advanced(),
	}
}

// lintTable is the lint rule of the table field; the pattern is the one
// mysql.ValidateTable uses.
const lintTable = `root = if this.table.type() == "string" && !this.table.re_match("^[A-Za-z_][A-Za-z0-9_$]{0,63}([.][A-Za-z_][A-Za-z0-9_$]{0,63})?$") { ["table %q is not a valid MySQL table name: letters, digits, _ and $, optionally schema.table".format(this.table)] }`

// schemaDoc is the table's definition as the specs show it.
var schemaDoc = "```sql\n" + fmt.Sprintf(Schema, DefaultTable) + "\n```"

func deadLetterOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Records documents that could not be written to their target in a MySQL / MariaDB dead-letter table, one row per (stream, source_id), with the source document so that they can be replayed.").
		Description(`
Put it in the last tier of a `+"`fallback`"+` output, behind the target output: it receives what the target refused
(or what the mapping rejected, through `+"`reject_errored`"+`), with the reason as metadata `+"`fallback_error`"+`.
Each message becomes one row of the table below (created when missing), written with one multi-row upsert per
batch:

`+schemaDoc+`

- A new (stream, source_id) is inserted `+"`open`"+` with `+"`attempts`"+` 1 and both failure times now (the database's UTC clock).
- A document already in the table gets `+"`attempts + 1`"+`, the new error, payloads, metadata and `+"`last_failure_at`"+`,
  keeps its `+"`id`"+` and `+"`first_failure_at`"+`, and is `+"`open`"+` again if it had been `+"`resolved`"+`. `+"`resolved_at`"+` stays: an
  open row with a `+"`resolved_at`"+` is a document that failed again after it had been resolved.

`+"`payload`"+` is the SOURCE document, the input of the stream's mapping, so that the `+"`dead_letters`"+` input can run it
through the same mapping again: the stream stashes it in metadata before mapping,

`+"```yaml"+`
pipeline:
  processors:
    - mapping: meta `+MetaSource+` = content().string()
    - resource: my_mapping
`+"```"+`

and the default `+"`payload`"+` mapping reads it back (without the stash the message as the target saw it is stored,
which a replay would map a second time). `+"`target_payload`"+` keeps what the target refused when it differs from the
source. `+"`source_meta`"+` keeps the message's metadata (a JSON object, without `+"`erpsync_*`"+`, `+"`fallback_*`"+` and
`+"`dead_letter_*`"+` keys), which the replay restores. `+"`error_code`"+` is, unless configured, the vendor code found
in the error text (`+"`kis: /koas/...: code 20005 ...`"+` gives `+"`20005`"+`, a MySQL `+"`Error 1406`"+` gives `+"`1406`"+`) and
empty when the text has none (a document the mapping rejected). A message without a source_id is keyed by
`+"`sha256:<hex of the payload>`"+`.

Failures: deadlocks and lost connections are retried 5 times with backoff; past that the batch fails, and
Benthos retries it (a `+"`fallback`"+` tier or a `+"`fan_out`"+` broker retries until it succeeds), so a dead letter is
never dropped while the database is away.

Metrics: `+"`"+MetricDeadLetters+"{stream, target}`"+`, dead letters recorded.
`).
		Fields(connFields()...).
		Fields(
			service.NewInterpolatedStringField(dlFieldStream).
				Description("Name of the stream these documents belong to (usually the config's file name); it is part of the key and what the `dead_letters` input replays. Interpolated per message, so that one output (a resource several streams share) can record the dead letters of all of them, e.g. `${! @erpsync_stream }`."),
			service.NewInterpolatedStringField(dlFieldTarget).
				Description("Name of the target that refused the documents, e.g. `kis` or `k3cloud:BD_MATERIAL`, for inspection and the metric label; interpolated per message like `stream`."),
			service.NewInterpolatedStringField(dlFieldSourceID).
				Description("Id of the source document: the key, with stream, of its row.").
				Default(`${! @source_id.or("") }`),
			service.NewInterpolatedStringField(dlFieldSourceVendor).
				Description("Vendor the source document came from.").
				Default(`${! @source_vendor.or("") }`),
			service.NewInterpolatedStringField(dlFieldError).
				Description("Why the document failed. Behind a `fallback` the reason is metadata `fallback_error`.").
				Default(`${! @fallback_error.or("") }`),
			service.NewInterpolatedStringField(dlFieldErrorCode).
				Description("Vendor error code. Unset: extracted from the error text (the code of an erpsync vendor error, else a MySQL error number, else empty).").
				Optional().
				Example(`${! @fallback_error.re_find_all_submatch("errcode=(\\d+)").index(0).index(1).or("") }`),
			service.NewBloblangField(dlFieldPayload).
				Description("Mapping returning the source document to store (a string is stored as it is, anything else as JSON). The default reads the stash `"+MetaSource+"`, else the message itself.").
				Default(`root = @`+MetaSource+`.or(content())`),
			service.NewBloblangField(dlFieldTargetPayload).
				Description("Mapping returning what the target refused (a string as it is, anything else as JSON; `deleted()` or null stores NULL). Unset: the message when it differs from the payload.").
				Optional(),
			service.NewOutputMaxInFlightField().Default(1),
			service.NewBatchPolicyField(dlFieldBatching),
		).
		LintRule(lintTable+"\nroot = if this.stream.or(\"\").trim() == \"\" { [\"stream is empty: name the stream whose dead letters these are\"] }").
		Example("KIS bills to the dead-letter table", "Bills the mapping rejects and bills KIS refuses are recorded with the source document, to be replayed by the `dead_letters` input once the cause is fixed.", exampleDeadLetter)
}

// deadLetterOutput writes batches of dead letters.
type deadLetterOutput struct {
	conn      *Conn
	stream    *service.InterpolatedString
	target    *service.InterpolatedString
	sourceID  *service.InterpolatedString
	vendor    *service.InterpolatedString
	errText   *service.InterpolatedString
	errCode   *service.InterpolatedString // nil: extracted
	payload   *bloblang.Executor
	tgPayload *bloblang.Executor // nil: the message
	log       *service.Logger
	mRecorded *service.MetricCounter
}

func newDeadLetterOutputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*deadLetterOutput, service.BatchPolicy, int, error) {
	var pol service.BatchPolicy
	o := &deadLetterOutput{log: mgr.Logger()}
	conn, err := connFromParsed(conf, mgr.Logger(), storeRetry)
	if err != nil {
		return nil, pol, 0, err
	}
	o.conn = conn
	if o.stream, err = conf.FieldInterpolatedString(dlFieldStream); err != nil {
		return nil, pol, 0, err
	}
	if s, static := o.stream.Static(); static {
		if err := ValidateStream(s); err != nil {
			return nil, pol, 0, fmt.Errorf("dead_letter: %w", err)
		}
	}
	if o.target, err = conf.FieldInterpolatedString(dlFieldTarget); err != nil {
		return nil, pol, 0, err
	}
	if o.sourceID, err = conf.FieldInterpolatedString(dlFieldSourceID); err != nil {
		return nil, pol, 0, err
	}
	if o.vendor, err = conf.FieldInterpolatedString(dlFieldSourceVendor); err != nil {
		return nil, pol, 0, err
	}
	if o.errText, err = conf.FieldInterpolatedString(dlFieldError); err != nil {
		return nil, pol, 0, err
	}
	if conf.Contains(dlFieldErrorCode) {
		if o.errCode, err = conf.FieldInterpolatedString(dlFieldErrorCode); err != nil {
			return nil, pol, 0, err
		}
	}
	if o.payload, err = conf.FieldBloblang(dlFieldPayload); err != nil {
		return nil, pol, 0, err
	}
	if conf.Contains(dlFieldTargetPayload) {
		if o.tgPayload, err = conf.FieldBloblang(dlFieldTargetPayload); err != nil {
			return nil, pol, 0, err
		}
	}
	maxInFlight, err := conf.FieldMaxInFlight()
	if err != nil {
		return nil, pol, 0, err
	}
	if maxInFlight < 1 {
		return nil, pol, 0, fmt.Errorf("dead_letter: max_in_flight must be at least 1, got %d", maxInFlight)
	}
	if pol, err = conf.FieldBatchPolicy(dlFieldBatching); err != nil {
		return nil, pol, 0, err
	}
	o.mRecorded = mgr.Metrics().NewCounter(MetricDeadLetters, "stream", "target")
	return o, pol, maxInFlight, nil
}

// connFromParsed reads the shared connection fields; retry bounds the
// retries of one statement.
func connFromParsed(conf *service.ParsedConfig, log *service.Logger, retry mysql.RetryPolicy) (*Conn, error) {
	var c ConnConfig
	var err error
	if c.DSN, err = conf.FieldString(dlFieldDSN); err != nil {
		return nil, err
	}
	if c.Store.Table, err = conf.FieldString(dlFieldTable); err != nil {
		return nil, err
	}
	if c.Store.CreateTable, err = conf.FieldBool(dlFieldCreateTable); err != nil {
		return nil, err
	}
	c.Store.Retry = retry
	c.Store.OnRetry = func(err error, attempt int, wait time.Duration) {
		log.Warnf("%v; retry %d in %s", err, attempt, wait.Round(time.Millisecond))
	}
	c.Logger = func(msg string) { log.Warnf("mysql driver: %s", msg) }
	return NewConn(c)
}

// Connect does nothing: the table is opened by the first write, so that a
// dead letter nothing fails into needs no database.
func (o *deadLetterOutput) Connect(context.Context) error { return nil }

// WriteBatch records every message of the batch in one upsert.
func (o *deadLetterOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	letters := make([]Letter, 0, len(batch))
	for i, msg := range batch {
		l, err := o.letter(batch, i, msg)
		if err != nil {
			return err
		}
		letters = append(letters, l)
	}
	first := letters[0]
	st, err := o.conn.Store(ctx)
	if err != nil {
		return fmt.Errorf("dead_letter: stream %s: %w", first.Stream, err)
	}
	if err := st.Record(ctx, letters...); err != nil {
		return fmt.Errorf("dead_letter: stream %s: %w", first.Stream, err)
	}
	for _, l := range letters {
		o.mRecorded.Incr(1, l.Stream, l.Target)
		// What the console shows: the stream's table and its count.
		streamstate.RegisterDeadLetters(streamstate.Table{Stream: l.Stream, DSN: o.conn.cfg.DSN, Table: o.conn.cfg.Store.Table, Target: l.Target}).Recorded(l.SourceID)
	}
	o.log.Warnf("dead_letter: %d document(s) of stream %s recorded in %s (e.g. %s: %s)",
		len(letters), first.Stream, o.conn.cfg.Store.Table, first.SourceID, first.ErrorMessage)
	return nil
}

// letter builds the row of message i. A mapping that fails is logged and
// worked around rather than failing the write: a dead letter must not be
// lost to its own configuration.
func (o *deadLetterOutput) letter(batch service.MessageBatch, i int, msg *service.Message) (Letter, error) {
	raw, err := msg.AsBytes()
	if err != nil {
		return Letter{}, fmt.Errorf("dead_letter: message %d has no content: %w", i, err)
	}
	stream, err := batch.TryInterpolatedString(i, o.stream)
	if err == nil {
		err = ValidateStream(stream)
	}
	if err != nil {
		// Without its stream the row has no key: fail, so that the
		// dead letter is retried rather than recorded under a wrong one.
		return Letter{}, fmt.Errorf("dead_letter: message %d: field stream: %w", i, err)
	}
	l := Letter{Stream: stream}
	str := func(field string, is *service.InterpolatedString) string {
		s, err := batch.TryInterpolatedString(i, is)
		if err != nil {
			o.log.Warnf("dead_letter: stream %s: field %s of message %d: %v", stream, field, i, err)
		}
		return s
	}
	l.Target = str(dlFieldTarget, o.target)
	l.SourceID = str(dlFieldSourceID, o.sourceID)
	l.SourceVendor = str(dlFieldSourceVendor, o.vendor)
	l.ErrorMessage = str(dlFieldError, o.errText)
	if o.errCode != nil {
		l.ErrorCode = str(dlFieldErrorCode, o.errCode)
	} else {
		l.ErrorCode = ErrorCode(l.ErrorMessage)
	}
	p, err := mapBytes(batch, i, o.payload)
	if err != nil || p == nil {
		o.log.Warnf("dead_letter: stream %s: payload mapping of message %d gave no document (%v); storing the message itself", stream, i, err)
		p = raw
	}
	l.Payload = p
	if o.tgPayload != nil {
		tp, err := mapBytes(batch, i, o.tgPayload)
		if err != nil {
			o.log.Warnf("dead_letter: stream %s: target_payload mapping of message %d: %v; storing NULL", stream, i, err)
		}
		l.TargetPayload = tp
	} else if !sameJSON(raw, p) {
		l.TargetPayload = raw
	}
	l.SourceMeta = map[string]string{}
	_ = msg.MetaWalk(func(k, v string) error {
		for _, p := range internalMeta {
			if strings.HasPrefix(k, p) {
				return nil
			}
		}
		l.SourceMeta[k] = v
		return nil
	})
	if strings.TrimSpace(l.SourceID) == "" {
		o.log.Warnf("dead_letter: stream %s: message %d has no source_id; keyed by the digest of its payload", stream, i)
	}
	return l, nil
}

// mapBytes runs a mapping on message i and returns the bytes it produced:
// a string as it is, anything else as JSON; nil when the mapping deleted
// the root or set it to null. (BloblangQuery rather than
// BloblangQueryValue, so that `@key` reads the message's metadata as it
// does in a mapping processor.)
func mapBytes(batch service.MessageBatch, i int, exe *bloblang.Executor) ([]byte, error) {
	res, err := batch.BloblangQuery(i, exe)
	if err != nil || res == nil {
		return nil, err
	}
	b, err := res.AsBytes()
	if err != nil || string(b) == "null" {
		return nil, err
	}
	return b, nil
}

func (o *deadLetterOutput) Close(context.Context) error { return o.conn.Close() }

func init() {
	service.MustRegisterBatchOutput("dead_letter", deadLetterOutputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			o, pol, n, err := newDeadLetterOutputFromParsed(conf, mgr)
			if err != nil {
				return nil, pol, 0, err
			}
			return o, pol, n, nil
		})
}

// Examples of the specs, linted by TestSpecExamplesLint (and by
// cmd/erpsync's TestDocsExamples, which also runs them against the sandbox).
//
// exampleKISBill maps a Jushuitan other in/out bill to a KIS 其他入库单, as
// the kis output's example does; exampleLedger is the ledger it names.
const (
	exampleKISBill = `    - mapping: |
        root.Head.FBillNo = this.io_id.string()
        root.Head.Fdate = this.io_date.kd_datetime()
        root.Head.FTranType = 10
        root.Head.FROB = 1
        root.Head.FDCStockID = "CK001"
        root.Entry = this.items.map_each(i -> {
          "FItemID": i.sku_id, "FQty": i.qty, "Fauxqty": i.qty, "FAuxQtyMust": i.qty,
          "FPlanMode": 14036, "FDCStockID": "CK001"
        })
`
	exampleLedger = `
cache_resources:
  - label: kis_ledger
    state:
      directory: ./state/kis_ledger
`
)

const exampleDeadLetter = `
pipeline:
  processors:
    # The source document, for the dead letter (and so for the replay).
    - mapping: meta erpsync_source = content().string()
` + exampleKISBill + `
output:
  fallback:
    - reject_errored:
        kis:
          base_url: ${KIS_BASE_URL}
          client_id: ${KIS_CLIENT_ID}
          client_secret: ${KIS_CLIENT_SECRET}
          auth_code: ${KIS_AUTH_CODE}
          acct_number: ${KIS_ACCT_NUMBER}
          pid: ${KIS_PID}
          icrmid: ${KIS_ICRMID}
          ledger: kis_ledger
    - dead_letter:
        dsn: ${MYSQL_DSN}
        stream: jushuitan_to_kis
        target: kis
` + exampleLedger

// sameJSON tells whether a and b are the same document, byte for byte or
// as JSON values (a mapping that failed re-serialises the source document:
// the target never saw it, there is no target payload to keep).
func sameJSON(a, b []byte) bool {
	if string(a) == string(b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
