package deadletter

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/streamstate"
	"github.com/erpsync/erpsync/plugins/mysql"
)

const (
	drFieldStream   = "stream"
	drFieldSourceID = "source_id"
	drFieldBatching = "batching"

	// MetricResolved counts dead letters marked resolved, by stream.
	MetricResolved = "erpsync_dead_letters_resolved_total"
)

// resolveRetry: the target has confirmed the document when resolve runs,
// so a database that is away is waited for (until the stream stops)
// rather than turned into a new failure of a document that is written.
var resolveRetry = mysql.RetryPolicy{MaxRetries: math.MaxInt32, Initial: 200 * time.Millisecond, Max: 10 * time.Second}

func deadLetterResolveOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Marks dead letters resolved (status `resolved`, `resolved_at` now) once their document reached the target: the last step of a replay.").
		Description(`
Each message names one dead letter by (`+"`stream`"+`, `+"`source_id`"+`); the open row is set `+"`resolved`"+` with
`+"`resolved_at`"+` the database's UTC time, one UPDATE per batch. A message whose row is not open (already
resolved, or never dead-lettered) changes nothing and is not an error.

Resolve only what the target confirmed: put it after the target output in a broker that stops at the first
failure, `+"`fan_out_sequential_fail_fast`"+`, so it only sees messages the target acknowledged. (`+"`fan_out_sequential`"+`
would retry a refused document forever instead of letting the `+"`fallback`"+` record it again.)

`+"```yaml"+`
output:
  fallback:
    - reject_errored:
        broker:
          pattern: fan_out_sequential_fail_fast
          outputs:
            - kis: { ... }
            - dead_letter_resolve: { dsn: ..., stream: my_stream }
    - dead_letter: { dsn: ..., stream: my_stream, target: kis }   # still failing: attempts + 1, stays open
`+"```"+`

Transient database failures (lost connection, deadlock) are retried until the stream stops: the document is
already in the target, so failing here would record a failure that did not happen. (Should the stream stop
first, the row stays open and the next replay finds the document in the target's ledger and resolves it.)

Metrics: `+"`"+MetricResolved+"{stream}`"+`.
`).
		Fields(connFields()...).
		Fields(
			service.NewStringField(drFieldStream).
				Description("Stream whose dead letters are resolved: the `stream` of the `dead_letter` output that recorded them."),
			service.NewInterpolatedStringField(drFieldSourceID).
				Description("Source id of the dead letter (the `dead_letters` input sets metadata `source_id`).").
				Default(`${! @source_id.or("") }`),
			service.NewOutputMaxInFlightField().Default(1),
			service.NewBatchPolicyField(drFieldBatching),
		).
		LintRule(lintTable+"\nroot = if this.stream.or(\"\").trim() == \"\" { [\"stream is empty: name the stream whose dead letters are resolved\"] }").
		Example("Replay KIS dead letters", "Each open dead letter of the stream goes through the same mapping to KIS; it is resolved only once KIS confirmed it, and a bill still refused is recorded again (attempts + 1).", exampleReplay)
}

type deadLetterResolveOutput struct {
	conn      *Conn
	stream    string
	sourceID  *service.InterpolatedString
	log       *service.Logger
	mResolved *service.MetricCounter
	counts    *streamstate.DeadLetterCounter
}

func newDeadLetterResolveOutputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*deadLetterResolveOutput, service.BatchPolicy, int, error) {
	var pol service.BatchPolicy
	o := &deadLetterResolveOutput{log: mgr.Logger()}
	conn, err := connFromParsed(conf, mgr.Logger(), resolveRetry)
	if err != nil {
		return nil, pol, 0, err
	}
	o.conn = conn
	if o.stream, err = conf.FieldString(drFieldStream); err != nil {
		return nil, pol, 0, err
	}
	if err := ValidateStream(o.stream); err != nil {
		return nil, pol, 0, fmt.Errorf("dead_letter_resolve: %w", err)
	}
	if o.sourceID, err = conf.FieldInterpolatedString(drFieldSourceID); err != nil {
		return nil, pol, 0, err
	}
	maxInFlight, err := conf.FieldMaxInFlight()
	if err != nil {
		return nil, pol, 0, err
	}
	if maxInFlight < 1 {
		return nil, pol, 0, fmt.Errorf("dead_letter_resolve: max_in_flight must be at least 1, got %d", maxInFlight)
	}
	if pol, err = conf.FieldBatchPolicy(drFieldBatching); err != nil {
		return nil, pol, 0, err
	}
	o.mResolved = mgr.Metrics().NewCounter(MetricResolved, "stream")
	o.counts = streamstate.RegisterDeadLetters(streamstate.Table{Stream: o.stream, DSN: o.conn.cfg.DSN, Table: o.conn.cfg.Store.Table})
	return o, pol, maxInFlight, nil
}

// Connect does nothing: the table is opened by the first write.
func (o *deadLetterResolveOutput) Connect(context.Context) error { return nil }

// WriteBatch resolves the batch's dead letters in one statement.
func (o *deadLetterResolveOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	ids := make([]string, 0, len(batch))
	for i := range batch {
		id, err := batch.TryInterpolatedString(i, o.sourceID)
		if err != nil || strings.TrimSpace(id) == "" {
			// Nothing names the row; failing would only turn a written
			// document into a new failure.
			o.log.Warnf("dead_letter_resolve: stream %s: message %d has no source_id (%v); nothing to resolve", o.stream, i, err)
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	st, err := o.conn.Store(ctx)
	if err != nil {
		return fmt.Errorf("dead_letter_resolve: stream %s: %w", o.stream, err)
	}
	n, err := st.Resolve(ctx, o.stream, ids...)
	if err != nil {
		return fmt.Errorf("dead_letter_resolve: stream %s: %w", o.stream, err)
	}
	o.mResolved.Incr(n, o.stream)
	o.counts.Resolved(int(n))
	if n < int64(len(ids)) {
		o.log.Debugf("dead_letter_resolve: stream %s: %d of %d dead letters were open", o.stream, n, len(ids))
	}
	return nil
}

func (o *deadLetterResolveOutput) Close(context.Context) error { return o.conn.Close() }

func init() {
	service.MustRegisterBatchOutput("dead_letter_resolve", deadLetterResolveOutputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			o, pol, n, err := newDeadLetterResolveOutputFromParsed(conf, mgr)
			if err != nil {
				return nil, pol, 0, err
			}
			return o, pol, n, nil
		})
}

const exampleReplay = `
input:
  dead_letters:
    dsn: ${MYSQL_DSN}
    stream: jushuitan_to_kis

pipeline:
  processors:
` + exampleKISBill + `
output:
  fallback:
    - reject_errored:
        broker:
          pattern: fan_out_sequential_fail_fast
          outputs:
            - kis:
                base_url: ${KIS_BASE_URL}
                client_id: ${KIS_CLIENT_ID}
                client_secret: ${KIS_CLIENT_SECRET}
                auth_code: ${KIS_AUTH_CODE}
                acct_number: ${KIS_ACCT_NUMBER}
                pid: ${KIS_PID}
                icrmid: ${KIS_ICRMID}
                ledger: kis_ledger
            - dead_letter_resolve:
                dsn: ${MYSQL_DSN}
                stream: jushuitan_to_kis
    - dead_letter:
        dsn: ${MYSQL_DSN}
        stream: jushuitan_to_kis
        target: kis
` + exampleLedger
