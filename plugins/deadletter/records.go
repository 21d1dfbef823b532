package deadletter

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/recordlog"
	"github.com/erpsync/erpsync/internal/streamstate"
	"github.com/erpsync/erpsync/plugins/mysql"
)

// The record log: one row per document a target confirmed, beside the dead
// letters, so that an operator can answer "where did bill 10000071 go?"
// (the console's Records page). Target outputs (kingdee_batchsave, kis,
// mysql) write it through a Recorder configured by their `records` field;
// a document confirmed there also resolves its open dead letter.

// DefaultRecordsTable is the record log's table unless configured otherwise.
const DefaultRecordsTable = "erpsync_records"

// Record actions (internal/recordlog).
const (
	ActionCreated  = recordlog.ActionCreated
	ActionUpdated  = recordlog.ActionUpdated
	ActionSkipped  = recordlog.ActionSkipped
	ActionUpserted = recordlog.ActionUpserted
)

// RecordSchema is the CREATE TABLE statement of a record log; %s is the
// quoted table name.
const RecordSchema = `CREATE TABLE IF NOT EXISTS %s (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  stream        VARCHAR(128) NOT NULL,
  source_id     VARCHAR(191) NOT NULL,
  target        VARCHAR(128) NOT NULL DEFAULT '',
  target_number VARCHAR(191) NOT NULL DEFAULT '',
  target_id     VARCHAR(191) NOT NULL DEFAULT '',
  action        VARCHAR(16)  NOT NULL,
  written_at    DATETIME(6)  NOT NULL,
  PRIMARY KEY (id),
  KEY stream_time (stream, written_at),
  KEY source (source_id),
  KEY number (target_number),
  KEY written (written_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

// Record is one document a target confirmed.
type Record = recordlog.Record

// RecordStore reads and writes one record log.
type RecordStore struct {
	db    *mysql.DB
	t     string
	retry mysql.RetryPolicy
}

// OpenRecords connects to dsn and creates table when it is missing.
func OpenRecords(ctx context.Context, dsn, table string, retry mysql.RetryPolicy) (*RecordStore, error) {
	if err := mysql.ValidateTable(table); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	if dsn == "" {
		return nil, fmt.Errorf("records: table %s: dsn is empty; set it (the shipped configs read MYSQL_DSN)", table)
	}
	db, err := openDB(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	s := &RecordStore{db: db, t: quoteTable(table), retry: retry}
	if err := mysql.Retry(ctx, retry, nil, func() error {
		_, err := db.ExecContext(ctx, fmt.Sprintf(RecordSchema, s.t))
		return err
	}); err != nil {
		_ = db.Close()
		return nil, s.fail("creating the table", err)
	}
	return s, nil
}

func openDB(ctx context.Context, dsn string) (*mysql.DB, error) { return openDBLogged(ctx, dsn, nil) }

// openDBLogged opens the pool every table of the package uses: times in
// UTC, and affected rows counted as changed (Resolve counts the rows it
// changed, not those it found).
func openDBLogged(ctx context.Context, dsn string, logger func(string)) (*mysql.DB, error) {
	return mysql.Open(ctx, mysql.ConnConfig{DSN: dsn, MaxOpen: 4, Logger: logger}, func(cfg *gomysql.Config) {
		cfg.ParseTime = true
		cfg.Loc = time.UTC
		cfg.ClientFoundRows = false
	})
}

func (s *RecordStore) fail(what string, err error) error {
	return fmt.Errorf("records: %s %s at %s: %w", what, s.t, s.db.Where, s.db.Scrub(err))
}

// Close closes the pool.
func (s *RecordStore) Close() error { return s.db.Close() }

// Write appends records (written_at is the server's UTC clock).
func (s *RecordStore) Write(ctx context.Context, recs []Record) error {
	for lo := 0; lo < len(recs); lo += recordChunk {
		hi := min(lo+recordChunk, len(recs))
		var b strings.Builder
		b.WriteString("INSERT INTO " + s.t + " (stream,source_id,target,target_number,target_id,action,written_at) VALUES ")
		args := make([]any, 0, 6*(hi-lo))
		for i, r := range recs[lo:hi] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?,UTC_TIMESTAMP(6))")
			args = append(args, cut(r.Stream, maxStream), NormalizeSourceID(r.SourceID, nil), cut(r.Target, maxTarget),
				cut(r.TargetNumber, maxSourceID), cut(r.TargetID, maxSourceID), cut(r.Action, 16))
		}
		q := b.String()
		if err := mysql.Retry(ctx, s.retry, nil, func() error {
			_, err := s.db.ExecContext(ctx, q, args...)
			return err
		}); err != nil {
			return s.fail(fmt.Sprintf("writing %d records to", hi-lo), err)
		}
	}
	return nil
}

// Prune deletes records older than retention; it returns how many.
func (s *RecordStore) Prune(ctx context.Context, retention time.Duration) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM "+s.t+" WHERE written_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND", int64(retention/time.Second))
	if err != nil {
		return 0, s.fail("pruning", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// RecordQuery selects records: newest first.
type RecordQuery struct {
	Stream string // "" every stream
	// Search matches the source id or the target number exactly, or as a
	// prefix when it ends with *.
	Search string
	Limit  int
	Before int64 // only ids below (paging); 0 none
}

// List returns the records q selects, newest first.
func (s *RecordStore) List(ctx context.Context, q RecordQuery) ([]Record, error) {
	var where []string
	var args []any
	if q.Stream != "" {
		where, args = append(where, "stream=?"), append(args, q.Stream)
	}
	if q.Search != "" {
		if p, ok := strings.CutSuffix(q.Search, "*"); ok {
			like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
			where, args = append(where, "(source_id LIKE ? OR target_number LIKE ?)"), append(args, like, like)
		} else {
			where, args = append(where, "(source_id=? OR target_number=?)"), append(args, q.Search, q.Search)
		}
	}
	if q.Before > 0 {
		where, args = append(where, "id<?"), append(args, q.Before)
	}
	stmt := "SELECT id,stream,source_id,target,target_number,target_id,action,written_at FROM " + s.t
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	stmt += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, s.fail("reading", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		if err := rows.Scan(&r.ID, &r.Stream, &r.SourceID, &r.Target, &r.TargetNumber, &r.TargetID, &r.Action, &r.WrittenAt); err != nil {
			return nil, s.fail("reading", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("reading", err)
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// Recorder: the `records` field of target outputs.

const (
	rcField                = recordlog.Field
	rcFieldStream          = recordlog.FieldStream
	rcFieldDSN             = recordlog.FieldDSN
	rcFieldTable           = recordlog.FieldTable
	rcFieldDeadLetterTable = recordlog.FieldDeadLetterTable
	rcFieldRetention       = recordlog.FieldRetention
)

// recorderRetry is how long a record write is retried: the document is
// already in the target, so the write is retried (with the output's
// context) rather than failed into a dead letter.
var recorderRetry = mysql.RetryPolicy{MaxRetries: 1 << 20, Initial: 200 * time.Millisecond, Max: 30 * time.Second}

func init() {
	recordlog.Register(func(conf *service.ParsedConfig, target string) (recordlog.Recorder, error) {
		r, err := RecorderFromParsed(conf, target)
		if r == nil || err != nil {
			return nil, err
		}
		return r, nil
	})
}

// Recorder logs what a target output confirmed and counts it for the
// console. A nil *Recorder does nothing.
type Recorder struct {
	stream    string
	target    string
	dsn       string
	table     string
	dlTable   string
	retention time.Duration
	counts    *streamstate.Target
	dl        *streamstate.DeadLetterCounter

	mu        sync.Mutex
	store     *RecordStore
	dlStore   *Store
	lastPrune time.Time
}

// RecorderFromParsed reads the `records` field of a target output's config
// (nil when it is not set); target names the target ("k3cloud:SAL_OUTSTOCK").
func RecorderFromParsed(conf *service.ParsedConfig, target string) (*Recorder, error) {
	if !conf.Contains(rcField) {
		return nil, nil
	}
	c := conf.Namespace(rcField)
	r := &Recorder{target: target}
	var err error
	if r.stream, err = c.FieldString(rcFieldStream); err != nil {
		return nil, err
	}
	if err := ValidateStream(r.stream); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	if r.dsn, err = c.FieldString(rcFieldDSN); err != nil {
		return nil, err
	}
	if r.table, err = c.FieldString(rcFieldTable); err != nil {
		return nil, err
	}
	if r.dlTable, err = c.FieldString(rcFieldDeadLetterTable); err != nil {
		return nil, err
	}
	if r.retention, err = c.FieldDuration(rcFieldRetention); err != nil {
		return nil, err
	}
	for _, t := range []string{r.table, r.dlTable} {
		if t == "" {
			continue
		}
		if err := mysql.ValidateTable(t); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		if r.dsn == "" {
			return nil, fmt.Errorf("records: table %s is set but dsn is empty (the shipped configs read MYSQL_DSN)", t)
		}
		if _, err := gomysql.ParseDSN(r.dsn); err != nil {
			return nil, fmt.Errorf("records: dsn %s does not parse; expected user:password@tcp(host:3306)/database", mysql.RedactDSN(r.dsn))
		}
	}
	r.counts = streamstate.RegisterTarget(r.stream, target)
	if r.table != "" {
		streamstate.RegisterRecords(streamstate.Table{Stream: r.stream, DSN: r.dsn, Table: r.table, Target: target})
	}
	if r.dlTable != "" {
		r.dl = streamstate.RegisterDeadLetters(streamstate.Table{Stream: r.stream, DSN: r.dsn, Table: r.dlTable, Target: target})
		streamstate.MarkResolves(r.stream)
	}
	return r, nil
}

// Stream is the stream the recorder reports under ("" for nil).
func (r *Recorder) Stream() string {
	if r == nil {
		return ""
	}
	return r.stream
}

// Failed counts documents the target refused; Retried counts documents
// handed back for another delivery.
func (r *Recorder) Failed(n int) {
	if r != nil {
		r.counts.Count(0, 0, 0, n, 0, time.Now())
	}
}

// Retried counts documents handed back to be delivered again.
func (r *Recorder) Retried(n int) {
	if r != nil {
		r.counts.Count(0, 0, 0, 0, n, time.Now())
	}
}

// Written logs documents the target confirmed (Stream and Target filled in
// here), and resolves their open dead letters. It retries until the
// database answers or ctx ends.
func (r *Recorder) Written(ctx context.Context, recs []Record) error {
	if r == nil || len(recs) == 0 {
		return nil
	}
	var c, u, s int
	ids := make([]string, 0, len(recs))
	for i := range recs {
		recs[i].Stream, recs[i].Target = r.stream, r.target
		switch recs[i].Action {
		case ActionUpdated:
			u++
		case ActionSkipped:
			s++
		default:
			c++
		}
		ids = append(ids, recs[i].SourceID)
	}
	if r.table != "" {
		st, err := r.records(ctx)
		if err != nil {
			return err
		}
		if err := st.Write(ctx, recs); err != nil {
			return err
		}
		r.prune(ctx, st)
	}
	if r.dlTable != "" {
		st, err := r.deadLetters(ctx)
		if err != nil {
			return err
		}
		n, err := st.Resolve(ctx, r.stream, ids...)
		if err != nil {
			return err
		}
		if n > 0 {
			r.dl.Resolved(int(n))
		}
	}
	r.counts.Count(c, u, s, 0, 0, time.Now())
	return nil
}

func (r *Recorder) records(ctx context.Context) (*RecordStore, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store != nil {
		return r.store, nil
	}
	st, err := OpenRecords(ctx, r.dsn, r.table, recorderRetry)
	if err != nil {
		return nil, err
	}
	r.store = st
	return st, nil
}

func (r *Recorder) deadLetters(ctx context.Context) (*Store, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dlStore != nil {
		return r.dlStore, nil
	}
	st, err := openStore(ctx, r.dsn, r.dlTable, recorderRetry)
	if err != nil {
		return nil, err
	}
	r.dlStore = st
	return st, nil
}

func (r *Recorder) prune(ctx context.Context, st *RecordStore) {
	r.mu.Lock()
	due := time.Since(r.lastPrune) > 10*time.Minute
	if due {
		r.lastPrune = time.Now()
	}
	r.mu.Unlock()
	if due && r.retention > 0 {
		_, _ = st.Prune(ctx, r.retention)
	}
}

// Close closes the recorder's pools.
func (r *Recorder) Close() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store != nil {
		_ = r.store.Close()
		r.store = nil
	}
	if r.dlStore != nil {
		_ = r.dlStore.db.Close()
		r.dlStore = nil
	}
	return nil
}
