package deadletter

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	diFieldStream       = "stream"
	diFieldIDs          = "ids"
	diFieldBatchSize    = "batch_size"
	diFieldStopWhenDone = "stop_when_done"
	diFieldPollInterval = "poll_interval"

	// Metadata the input sets besides the source document's own.
	MetaDeadLetterID        = "dead_letter_id"
	MetaDeadLetterAttempts  = "dead_letter_attempts"
	MetaDeadLetterError     = "dead_letter_error"
	MetaDeadLetterErrorCode = "dead_letter_error_code"
	MetaDeadLetterTarget    = "dead_letter_target"
)

func deadLettersInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Reads the open dead letters of one stream from the dead-letter table, as the source documents they hold, so that a replay config runs them through the same mapping and output again.").
		Description(`
Reads rows of the table the `+"`dead_letter`"+` output writes (schema in its description) whose `+"`stream`"+` is the
configured one and whose `+"`status`"+` is `+"`open`"+` (with `+"`ids`"+`, only the rows of these ids), in `+"`id`"+` order, `+"`batch_size`"+` per query, one message per batch. Each message is the
row's `+"`payload`"+` (the source document, as the stream's input delivered it) with the metadata the source message
had (`+"`source_meta`"+`: `+"`source_id`"+`, `+"`source_vendor`"+`, `+"`source_api`"+`, `+"`source_modified`"+`, ...) restored, and:

| metadata | value |
|---|---|
| `+"`source_id`"+`, `+"`source_vendor`"+` | the row's columns |
| `+"`"+MetaSource+"`"+` | the payload again: what a `+"`dead_letter`"+` output of the replay stores if the document fails once more |
| `+"`"+MetaDeadLetterID+"`"+` | the row's id |
| `+"`"+MetaDeadLetterAttempts+"`"+` | failures so far |
| `+"`"+MetaDeadLetterError+"`"+`, `+"`"+MetaDeadLetterErrorCode+"`"+`, `+"`"+MetaDeadLetterTarget+"`"+` | the last failure |

The input only reads: the replay's output decides what happens to a row. Resolve rows with the
`+"`dead_letter_resolve`"+` output once the target confirmed them, and record a document that fails again with a
`+"`dead_letter`"+` output of the same `+"`stream`"+` (attempts + 1, still open): see the example.

A pass reads the rows open when it starts, up to the highest id then, each once: a row that fails again
keeps its id and is not read a second time in the same pass, and rows dead-lettered while the pass runs
wait for the next. With `+"`stop_when_done`"+` (the default) the input ends after one pass, once every message
is acknowledged, so `+"`erpsync run`"+` exits. Without it, a new pass starts `+"`poll_interval`"+` after the last one
ended, retrying what is still open.
`).
		Fields(connFields()...).
		Fields(
			service.NewStringField(diFieldStream).
				Description("Stream whose dead letters are read: the `stream` of the `dead_letter` output that recorded them."),
			service.NewIntListField(diFieldIDs).
				Description("Row ids (the table's `id`) to read: only those of these rows that belong to `stream` and are open are read; a resolved id, an unknown id or one of another stream is skipped. Empty reads every open row of the stream.").
				Example([]any{1042, 1043}).
				Default([]any{}),
			service.NewIntField(diFieldBatchSize).
				Description("Rows read per query. Each row is emitted as a batch of its own, so that its outcome is its own: a broker that stops at a failure must not hold back the documents that succeeded.").
				Default(50),
			service.NewBoolField(diFieldStopWhenDone).
				Description("End after one pass over the rows open at start (and once all are acknowledged). Set false to keep replaying every `poll_interval`.").
				Default(true),
			service.NewDurationField(diFieldPollInterval).
				Description("Wait between passes when `stop_when_done` is false.").
				Default("1m"),
			service.NewAutoRetryNacksToggleField(),
		).
		LintRule(lintTable+"\nroot = if this.stream.or(\"\").trim() == \"\" { [\"stream is empty: name the stream whose dead letters are replayed\"] } else if this.batch_size.or(50) < 1 { [\"batch_size must be at least 1\"] }").
		Example("Replay KIS dead letters", "Each open dead letter of the stream goes through the same mapping to KIS; it is resolved only once KIS confirmed it, and a bill still refused is recorded again (attempts + 1).", exampleReplay)
}

type deadLettersInput struct {
	conn         *Conn
	stream       string
	ids          []int64 // empty: every open row
	batchSize    int
	stopWhenDone bool
	pollInterval time.Duration
	log          *service.Logger

	// Pass state, used by ReadBatch only (Benthos calls it from one goroutine).
	inPass  bool
	afterID int64
	upToID  int64
	queue   []Row // read, not yet emitted

	mu       sync.Mutex
	inFlight map[int64]bool // ids emitted and not yet acknowledged
}

func newDeadLettersInputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
	in := &deadLettersInput{log: mgr.Logger(), inFlight: map[int64]bool{}}
	conn, err := connFromParsed(conf, mgr.Logger(), storeRetry)
	if err != nil {
		return nil, err
	}
	in.conn = conn
	if in.stream, err = conf.FieldString(diFieldStream); err != nil {
		return nil, err
	}
	if err := ValidateStream(in.stream); err != nil {
		return nil, fmt.Errorf("dead_letters: %w", err)
	}
	ids, err := conf.FieldIntList(diFieldIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id < 1 {
			return nil, fmt.Errorf("dead_letters: ids: %d is not a row id (ids start at 1)", id)
		}
		in.ids = append(in.ids, int64(id))
	}
	if in.batchSize, err = conf.FieldInt(diFieldBatchSize); err != nil {
		return nil, err
	}
	if in.batchSize < 1 {
		return nil, fmt.Errorf("dead_letters: batch_size must be at least 1, got %d", in.batchSize)
	}
	if in.stopWhenDone, err = conf.FieldBool(diFieldStopWhenDone); err != nil {
		return nil, err
	}
	if in.pollInterval, err = conf.FieldDuration(diFieldPollInterval); err != nil {
		return nil, err
	}
	if !in.stopWhenDone && in.pollInterval <= 0 {
		return nil, fmt.Errorf("dead_letters: poll_interval must be positive when stop_when_done is false")
	}
	return service.AutoRetryNacksBatchedToggled(conf, in)
}

// Connect opens the table, so that a wrong dsn or grant shows at start.
func (in *deadLettersInput) Connect(ctx context.Context) error {
	if _, err := in.conn.Store(ctx); err != nil {
		return fmt.Errorf("dead_letters: stream %s: %w", in.stream, err)
	}
	return nil
}

// ReadBatch returns the next open dead letter of the current pass, alone
// in its batch.
func (in *deadLettersInput) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	for len(in.queue) == 0 {
		if err := in.fill(ctx); err != nil {
			return nil, nil, err
		}
	}
	r := in.queue[0]
	in.queue = in.queue[1:]
	return service.MessageBatch{rowMessage(r)}, func(context.Context, error) error {
		in.mu.Lock()
		delete(in.inFlight, r.ID)
		in.mu.Unlock()
		return nil
	}, nil
}

// fill reads the next rows of the pass into the queue, leaving out rows
// still in flight from an earlier pass; at the end of a pass it ends the
// input or waits for the next pass.
func (in *deadLettersInput) fill(ctx context.Context) error {
	st, err := in.conn.Store(ctx)
	if err != nil {
		return service.ErrNotConnected
	}
	if !in.inPass {
		if in.upToID, err = st.MaxOpenID(ctx, in.stream, in.ids...); err != nil {
			return fmt.Errorf("dead_letters: stream %s: %w", in.stream, err)
		}
		in.inPass, in.afterID = true, 0
		if len(in.ids) > 0 {
			in.log.Infof("dead_letters: replaying the open dead letters of stream %s among ids %v", in.stream, in.ids)
		} else {
			in.log.Infof("dead_letters: replaying the open dead letters of stream %s (ids up to %d)", in.stream, in.upToID)
		}
	}
	rows, err := st.ReadOpen(ctx, in.stream, in.afterID, in.upToID, in.batchSize, in.ids...)
	if err != nil {
		return fmt.Errorf("dead_letters: stream %s: %w", in.stream, err)
	}
	if len(rows) == 0 {
		in.inPass = false
		if in.stopWhenDone {
			return service.ErrEndOfInput
		}
		return sleep(ctx, in.pollInterval)
	}
	in.afterID = rows[len(rows)-1].ID
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range rows {
		if !in.inFlight[r.ID] {
			in.inFlight[r.ID] = true
			in.queue = append(in.queue, r)
		}
	}
	return nil
}

// rowMessage is the message the input emits for a row: the payload with the
// source metadata restored and the dead_letter_* keys.
func rowMessage(r Row) *service.Message {
	m := service.NewMessage(r.Payload)
	for k, v := range r.SourceMeta {
		m.MetaSetMut(k, v)
	}
	m.MetaSetMut("source_id", r.SourceID)
	if r.SourceVendor != "" {
		m.MetaSetMut("source_vendor", r.SourceVendor)
	}
	m.MetaSetMut(MetaSource, string(r.Payload))
	m.MetaSetMut(MetaDeadLetterID, strconv.FormatInt(r.ID, 10))
	m.MetaSetMut(MetaDeadLetterAttempts, strconv.Itoa(r.Attempts))
	m.MetaSetMut(MetaDeadLetterError, r.ErrorMessage)
	m.MetaSetMut(MetaDeadLetterErrorCode, r.ErrorCode)
	m.MetaSetMut(MetaDeadLetterTarget, r.Target)
	return m
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (in *deadLettersInput) Close(context.Context) error { return in.conn.Close() }

func init() {
	service.MustRegisterBatchInput("dead_letters", deadLettersInputSpec(), newDeadLettersInputFromParsed)
}
