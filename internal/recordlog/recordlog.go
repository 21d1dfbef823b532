// Package recordlog is the `records` field target outputs share, and the
// seam between them and its implementation (plugins/deadletter): what an
// output confirmed goes to the record log and resolves its open dead
// letter; the console shows the output's counts. plugins/deadletter
// registers the implementation (Register) in its init; outputs that
// plugins/deadletter itself depends on (plugins/mysql) reach it through
// here without an import cycle.
package recordlog

import (
	"context"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// Field names of the `records` object.
const (
	Field                = "records"
	FieldStream          = "stream"
	FieldDSN             = "dsn"
	FieldTable           = "table"
	FieldDeadLetterTable = "dead_letter_table"
	FieldRetention       = "retention"
)

// Actions of a record.
const (
	ActionCreated = "created"
	ActionUpdated = "updated"
	ActionSkipped = "skipped" // already there (idempotent rerun)
	// ActionUpserted: written by an upsert that does not tell an insert
	// from an update (MySQL's multi-row INSERT ... ON DUPLICATE KEY UPDATE).
	ActionUpserted = "upserted"
)

// Record is one document a target confirmed.
type Record struct {
	ID           int64     `json:"id,omitempty"`
	Stream       string    `json:"stream"`
	SourceID     string    `json:"source_id"`
	Target       string    `json:"target"`
	TargetNumber string    `json:"target_number"`
	TargetID     string    `json:"target_id"`
	Action       string    `json:"action"`
	WrittenAt    time.Time `json:"written_at"`
}

// Recorder is what an output reports to. Written logs what the target
// confirmed (Stream and Target are filled in) and resolves the documents'
// open dead letters, retrying until the database answers or ctx ends.
type Recorder interface {
	Written(ctx context.Context, recs []Record) error
	Failed(n int)
	Retried(n int)
	Close() error
}

// Spec is the `records` field.
func Spec() *service.ConfigField {
	return service.NewObjectField(Field,
		service.NewStringField(FieldStream).
			Description("The stream these documents belong to: the `stream` of its dead letters. The console shows the output's counts under it."),
		service.NewStringField(FieldDSN).
			Description("Data source name of the record log and dead-letter table, `user:password@tcp(host:3306)/database`; its password never appears in errors or logs.").
			Default("").Secret(),
		service.NewStringField(FieldTable).
			Description("Table of the record log (one row per document the target confirmed: source id, target number and id, created / updated / skipped / upserted, time), created when missing. Empty keeps no log.").
			Default(""),
		service.NewStringField(FieldDeadLetterTable).
			Description("Dead-letter table of the stream: a document the target confirmed resolves its open dead letter there (a replay, or the source read it again after the cause was fixed). Empty resolves nothing.").
			Default(""),
		service.NewDurationField(FieldRetention).
			Description("Records older than this are deleted (checked at most every 10 minutes).").
			Default("720h"),
	).Description("What the console shows of this output and where the documents it wrote are logged (docs/console.md). Leave out to log nothing.").
		Optional().Advanced()
}

var (
	mu      sync.Mutex
	factory func(conf *service.ParsedConfig, target string) (Recorder, error)
)

// Register sets the implementation (plugins/deadletter).
func Register(f func(conf *service.ParsedConfig, target string) (Recorder, error)) {
	mu.Lock()
	factory = f
	mu.Unlock()
}

// FromParsed reads an output's `records` field; nil when it is not set.
// target names the target ("k3cloud:SAL_OUTSTOCK", "mysql:<table>").
func FromParsed(conf *service.ParsedConfig, target string) (Recorder, error) {
	if !conf.Contains(Field) {
		return nil, nil
	}
	mu.Lock()
	f := factory
	mu.Unlock()
	if f == nil {
		// Every erpsync build links plugins/deadletter (plugins/all).
		return nil, errNoImpl
	}
	return f(conf, target)
}

type implMissing struct{}

func (implMissing) Error() string {
	return "records: no record log in this build (plugins/deadletter is not linked)"
}

var errNoImpl error = implMissing{}

// Nop is a Recorder that does nothing, for outputs without records.
type Nop struct{}

// Written does nothing.
func (Nop) Written(context.Context, []Record) error { return nil }

// Failed does nothing.
func (Nop) Failed(int) {}

// Retried does nothing.
func (Nop) Retried(int) {}

// Close does nothing.
func (Nop) Close() error { return nil }

// OrNop returns r, or Nop when r is nil.
func OrNop(r Recorder) Recorder {
	if r == nil {
		return Nop{}
	}
	return r
}
