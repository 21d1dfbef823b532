package mysql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/recordlog"
)

// Field names shared with Redpanda Connect's sql_insert where they overlap.
const (
	moFieldDSN             = "dsn"
	moFieldTable           = "table"
	moFieldColumns         = "columns"
	moFieldArgsMapping     = "args_mapping"
	moFieldKeyColumns      = "key_columns"
	moFieldInitStatement   = "init_statement"
	moFieldConnMaxOpen     = "conn_max_open"
	moFieldConnMaxIdle     = "conn_max_idle"
	moFieldConnMaxIdleTime = "conn_max_idle_time"
	moFieldConnMaxLifeTime = "conn_max_life_time"
	moFieldMaxRetries      = "max_retries"
	moFieldBackoff         = "backoff"
	moFieldBackoffInitial  = "initial_interval"
	moFieldBackoffMax      = "max_interval"
	moFieldBatching        = "batching"
)

// MetaError is the metadata key a refused message carries: why, for a
// dead-letter output behind a fallback.
const MetaError = "erpsync_error"

// connFields are the connection fields the output and the cache share.
func connFields(defaultMaxOpen int) []*service.ConfigField {
	return []*service.ConfigField{
		service.NewStringField(moFieldDSN).
			Description("Data source name in go-sql-driver/mysql form, `user:password@tcp(host:3306)/database?param=value`. " +
				"Its password never appears in errors or logs. Driver parameters go after `?`, e.g. `timeout=5s`, `tls=true`, or a session variable such as `innodb_lock_wait_timeout=10`.").
			Example("erpsync:${MYSQL_PASSWORD}@tcp(mysql:3306)/bi?timeout=5s").
			Secret(),
		service.NewStringField(moFieldInitStatement).
			Description("SQL run once each time the component connects, e.g. `CREATE TABLE IF NOT EXISTS ...`. It may hold several statements separated by `;`.").
			Default("").
			Example("CREATE TABLE IF NOT EXISTS bi_orders (order_no VARCHAR(64) PRIMARY KEY, status VARCHAR(32), amount DECIMAL(18,2), modified DATETIME)"),
		service.NewIntField(moFieldConnMaxOpen).
			Description("Most connections open at once; 0 is unlimited.").
			Default(defaultMaxOpen).Advanced(),
		service.NewIntField(moFieldConnMaxIdle).
			Description("Most idle connections kept; unset keeps as many as `conn_max_open`, so busy writers do not reconnect.").
			Optional().Advanced(),
		service.NewDurationField(moFieldConnMaxIdleTime).
			Description("Close a connection idle for this long; unset never does.").
			Optional().Advanced(),
		service.NewDurationField(moFieldConnMaxLifeTime).
			Description("Close a connection this old; unset never does. Set it below the server's or a proxy's `wait_timeout`.").
			Optional().Advanced(),
		service.NewIntField(moFieldMaxRetries).
			Description("Retries of a statement that failed transiently (deadlock 1213, lock-wait timeout 1205, lost connection, server restart) before the batch fails.").
			Default(5).Advanced(),
		service.NewObjectField(moFieldBackoff,
			service.NewDurationField(moFieldBackoffInitial).Description("Wait before the first retry; it doubles with every retry, with jitter.").Default("100ms"),
			service.NewDurationField(moFieldBackoffMax).Description("Longest wait between retries.").Default("5s"),
		).Description("Waits between retries of transient failures.").Advanced(),
	}
}

// lintIdents is the Bloblang lint rule of table, columns and key_columns;
// the pattern is the one ValidateTable and ValidateIdent use.
var lintIdents = fmt.Sprintf(`
let ident = "^%[1]s$"
let tbl = "^%[1]s([.]%[1]s)?$"
let cols = this.columns.or([])
let keys = this.key_columns.or([])
let head = [
  if this.table.type() == "string" && !this.table.re_match($tbl) { "table %%q is not a valid MySQL table name: %[2]s (optionally schema.table)".format(this.table) } else { null },
  if $cols.length() == 0 { "columns is empty: list the columns args_mapping fills, in order" } else { null },
]
let badCols = $cols.filter(c -> !c.string().re_match($ident)).map_each(c -> "column %%q is not a valid MySQL identifier: %[2]s".format(c))
let badKeys = $keys.filter(k -> !$cols.contains(k)).map_each(k -> "key column %%q is not one of columns: key_columns must be listed in columns too".format(k))
root = $head.merge($badCols).merge($badKeys).filter(e -> e != null)
`, identPattern, identRule)

func mysqlOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Writes rows to a MySQL or MariaDB table, one multi-row INSERT (or upsert) per batch, retrying deadlocks and lost connections and reporting refused rows one by one.").
		Description(`
Each message becomes one row: `+"`args_mapping`"+` returns an array with one value per entry of `+"`columns`"+`, in order.
A batch is written with a single statement, values always as placeholders:

`+"```sql"+`
INSERT INTO `+"`t` (`a`,`b`) VALUES (?,?),(?,?)"+`
`+"```"+`

With `+"`key_columns`"+` the statement is an upsert, `+"`... ON DUPLICATE KEY UPDATE `b`=VALUES(`b`)`"+`, which MySQL and
MariaDB both accept: a replayed or changed document updates its row instead of duplicating it. The table's PRIMARY
or UNIQUE key decides what a duplicate is; `+"`key_columns`"+` names those columns, which are never updated and identify
a row in errors. Without `+"`key_columns`"+` rows are plainly inserted, and a replay after a failure may duplicate them
(or be refused as duplicates), so set them whenever the target has a business key.

Table and column names must match `+"`[A-Za-z_][A-Za-z0-9_$]{0,63}`"+` (the table optionally `+"`schema.table`"+`); they are
backquoted, never built from message data. Batches larger than the 65535-placeholder limit or half of the server's
`+"`max_allowed_packet`"+` are split into several statements.

### Errors

Deadlocks (1213), lock-wait timeouts (1205), lost connections and server restarts are retried `+"`max_retries`"+` times with
backoff. When the server refuses a statement because of a row's data (duplicate key 1062 without `+"`key_columns`"+`,
foreign key 1452, NULL in a NOT NULL column 1048, wrong type or range 1366/1264/1406/1292, ...), the batch is split until
the refused rows are isolated: every other row is written and only the refused messages fail, each with an error naming
its index in the batch, its key values, the server's code and message. Behind a `+"`fallback`"+` output, the next tier
receives only those messages, each with that text as metadata `+"`fallback_error`"+`: copy it to `+"`"+MetaError+"`"+` there, as in the
second example (Benthos does not carry metadata set by an output over to the next fallback tier).
Type errors are errors only in a strict `+"`sql_mode`"+` (the default of MySQL 5.7+ and MariaDB 10.2.4+); otherwise the server
silently truncates.

Errors that no row causes (unknown table or column, missing grants) fail the whole batch.
`).
		Fields(connFields(10)...).
		Fields(
			service.NewStringField(moFieldTable).
				Description("Target table, optionally `schema.table`.").
				Example("bi_orders"),
			service.NewStringListField(moFieldColumns).
				Description("Columns written, in the order of the values `args_mapping` returns.").
				Example([]string{"order_no", "status", "amount", "modified"}),
			service.NewBloblangField(moFieldArgsMapping).
				Description("Bloblang mapping that returns one array per message: the row's values, one per column. Numbers, strings, booleans, null, timestamps and bytes are sent as they are; objects and arrays as JSON text.").
				Example(`root = [ this.order_no, this.status, this.amount, this.modified.ts_parse("2006-01-02 15:04:05") ]`),
			service.NewStringListField(moFieldKeyColumns).
				Description("Columns of the table's primary or unique key. When set, rows are upserted: the other columns are updated on a duplicate key. Each must also be listed in `columns`.").
				Default([]any{}).
				Example([]string{"order_no"}),
			service.NewOutputMaxInFlightField(),
			service.NewBatchPolicyField(moFieldBatching),
			recordlog.Spec(),
		).
		LintRule(lintIdents).
		Example("Jushuitan unique codes into a BI table",
			"Upsert one row per unique code (seed 004), creating the table on first connect.", exampleOutputUpsert).
		Example("Refused rows to a dead letter",
			"Good rows of every batch land; rows MySQL refuses (and messages the mapping cannot turn into a row) go to a file with the reason.", exampleOutputDeadLetter)
}

// connConfigFromParsed reads the shared connection fields.
func connConfigFromParsed(conf *service.ParsedConfig) (ConnConfig, RetryPolicy, error) {
	var c ConnConfig
	var r RetryPolicy
	var err error
	if c.DSN, err = conf.FieldString(moFieldDSN); err != nil {
		return c, r, err
	}
	if _, _, err := parseDSN(c.DSN); err != nil {
		return c, r, err
	}
	if c.InitStatement, err = conf.FieldString(moFieldInitStatement); err != nil {
		return c, r, err
	}
	if c.MaxOpen, err = conf.FieldInt(moFieldConnMaxOpen); err != nil {
		return c, r, err
	}
	c.MaxIdle = 0
	if conf.Contains(moFieldConnMaxIdle) {
		if c.MaxIdle, err = conf.FieldInt(moFieldConnMaxIdle); err != nil {
			return c, r, err
		}
		if c.MaxIdle == 0 {
			c.MaxIdle = -1 // explicit 0: keep none idle
		}
	}
	if conf.Contains(moFieldConnMaxIdleTime) {
		if c.MaxIdleTime, err = conf.FieldDuration(moFieldConnMaxIdleTime); err != nil {
			return c, r, err
		}
	}
	if conf.Contains(moFieldConnMaxLifeTime) {
		if c.MaxLifetime, err = conf.FieldDuration(moFieldConnMaxLifeTime); err != nil {
			return c, r, err
		}
	}
	if r.MaxRetries, err = conf.FieldInt(moFieldMaxRetries); err != nil {
		return c, r, err
	}
	if r.Initial, err = conf.FieldDuration(moFieldBackoff, moFieldBackoffInitial); err != nil {
		return c, r, err
	}
	if r.Max, err = conf.FieldDuration(moFieldBackoff, moFieldBackoffMax); err != nil {
		return c, r, err
	}
	return c, r, nil
}

type mysqlOutput struct {
	conn    ConnConfig
	wcfg    WriterConfig
	args    *bloblang.Executor
	log     *service.Logger
	retries *service.MetricCounter
	written *service.MetricCounter
	failed  *service.MetricCounter
	// rec logs written rows and counts them for the console.
	rec recordlog.Recorder

	mu     sync.Mutex
	db     *DB
	writer *Writer
}

func newMySQLOutputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*mysqlOutput, error) {
	o := &mysqlOutput{
		log:     mgr.Logger(),
		retries: mgr.Metrics().NewCounter("mysql_output_retries"),
		// Shared names and labels of every erpsync output (target, object).
		written: mgr.Metrics().NewCounter("erpsync_rows_written_total", "target", "object"),
		failed:  mgr.Metrics().NewCounter("erpsync_rows_failed_total", "target", "object"),
	}
	var err error
	if o.conn, o.wcfg.Retry, err = connConfigFromParsed(conf); err != nil {
		return nil, err
	}
	o.conn.Logger = func(msg string) { o.log.Warnf("mysql driver: %s", msg) }
	if o.wcfg.Table, err = conf.FieldString(moFieldTable); err != nil {
		return nil, err
	}
	if o.wcfg.Columns, err = conf.FieldStringList(moFieldColumns); err != nil {
		return nil, err
	}
	if o.wcfg.KeyColumns, err = conf.FieldStringList(moFieldKeyColumns); err != nil {
		return nil, err
	}
	if err := validateTarget(o.wcfg.Table, o.wcfg.Columns, o.wcfg.KeyColumns); err != nil {
		return nil, fmt.Errorf("mysql output: %w", err)
	}
	if o.args, err = conf.FieldBloblang(moFieldArgsMapping); err != nil {
		return nil, err
	}
	o.wcfg.OnRetry = func(err error, attempt int, wait time.Duration) {
		o.retries.Incr(1)
		o.log.Warnf("%v; retry %d of %d in %s", err, attempt, o.wcfg.Retry.MaxRetries, wait.Round(time.Millisecond))
	}
	rec, err := recordlog.FromParsed(conf, "mysql:"+o.wcfg.Table)
	if err != nil {
		return nil, fmt.Errorf("mysql output: %w", err)
	}
	o.rec = recordlog.OrNop(rec)
	return o, nil
}

func (o *mysqlOutput) Connect(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.db != nil {
		return nil
	}
	db, err := Open(ctx, o.conn, nil)
	if err != nil {
		return err
	}
	w, err := NewWriter(db, o.wcfg)
	if err != nil {
		_ = db.Close()
		return err
	}
	o.db, o.writer = db, w
	o.log.Infof("mysql output: writing to %s at %s", quoteTable(o.wcfg.Table), db.Where)
	return nil
}

func (o *mysqlOutput) getWriter() *Writer {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.writer
}

// WriteBatch writes the batch in one statement (or a few, when it is very
// large). It returns nil when every message was written, a
// *service.BatchError naming the messages that were not (the others were
// written), or an error when none was.
func (o *mysqlOutput) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	w := o.getWriter()
	if w == nil {
		return service.ErrNotConnected
	}
	rows, pos, failed := o.rows(batch)
	err := w.Write(ctx, rows)
	var pe *PartialError
	table := o.wcfg.Table
	refused := map[int]bool{}
	switch {
	case err == nil:
		o.written.Incr(int64(len(rows)), "mysql", table)
	case errors.As(err, &pe):
		o.written.Incr(int64(len(rows)-len(pe.Rows)), "mysql", table)
		for _, r := range pe.Rows {
			r.Index = pos[r.Index]
			refused[r.Index] = true
			failed = append(failed, failure{r.Index, r})
		}
	case len(failed) == 0:
		o.rec.Retried(len(batch))
		return err
	default:
		for _, i := range pos {
			failed = append(failed, failure{i, err})
		}
	}
	if err == nil || pe != nil {
		// The rows MySQL took: logged (an upsert does not say which rows
		// it inserted and which it updated).
		recs := make([]recordlog.Record, 0, len(pos))
		for _, i := range pos {
			if refused[i] {
				continue
			}
			sid, _ := batch[i].MetaGet("source_id")
			recs = append(recs, recordlog.Record{SourceID: sid, TargetNumber: sid, Action: recordlog.ActionUpserted})
		}
		if rerr := o.rec.Written(ctx, recs); rerr != nil {
			// Upserted; delivered again, the same rows are written again.
			return fmt.Errorf("mysql output: %s: %d rows written but not logged, the batch will be delivered again: %w", quoteTable(table), len(recs), rerr)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	o.failed.Incr(int64(len(failed)), "mysql", table)
	o.rec.Failed(len(failed))
	sort.Slice(failed, func(a, b int) bool { return failed[a].i < failed[b].i })
	berr := service.NewBatchError(batch, fmt.Errorf("mysql output: %s: %d of %d messages not written; first: %w",
		quoteTable(o.wcfg.Table), len(failed), len(batch), failed[0].err))
	for _, f := range failed {
		batch[f.i].MetaSetMut(MetaError, f.err.Error())
		berr.Failed(f.i, f.err)
	}
	return berr
}

type failure struct {
	i   int
	err error
}

// parallelMin is the smallest batch whose rows are built on several cores.
const parallelMin = 64

// rows evaluates args_mapping for every message of the batch and returns
// the rows, the batch index of each, and the messages that gave no row.
//
// Decoding JSON is most of a mapping's cost, and the database waits
// meanwhile, so a large batch is decoded and mapped on several cores:
// first each message's JSON is decoded by one goroutine only (each message
// caches its own parsed form, so this is race-free), then, when every
// message decoded, the mapping runs over slices of the batch. A mapping that
// reads other messages of the batch then only reads cached values.
func (o *mysqlOutput) rows(batch service.MessageBatch) ([][]any, []int, []failure) {
	n, ncols := len(batch), len(o.wcfg.Columns)
	vals := make([][]any, n)
	errs := make([]error, n)
	exec := batch.BloblangExecutor(o.args)
	eval := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			vals[i], errs[i] = o.row(exec, i, ncols)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), 8)
	if n >= parallelMin && workers > 1 {
		var bad atomic.Bool
		inParallel(n, workers, func(lo, hi int) {
			for _, m := range batch[lo:hi] {
				if _, err := m.AsStructured(); err != nil {
					bad.Store(true)
				}
			}
		})
		if bad.Load() {
			eval(0, n)
		} else {
			inParallel(n, workers, eval)
		}
	} else {
		eval(0, n)
	}
	rows := make([][]any, 0, n)
	pos := make([]int, 0, n)
	var failed []failure
	for i := range n {
		if errs[i] != nil {
			failed = append(failed, failure{i, errs[i]})
			continue
		}
		rows = append(rows, vals[i])
		pos = append(pos, i)
	}
	return rows, pos, failed
}

// inParallel runs fn over [0,n) cut into one slice per worker and waits.
func inParallel(n, workers int, fn func(lo, hi int)) {
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += per {
		wg.Go(func() { fn(lo, min(lo+per, n)) })
	}
	wg.Wait()
}

// row evaluates args_mapping for message i.
func (o *mysqlOutput) row(exec *service.MessageBatchBloblangExecutor, i, ncols int) ([]any, error) {
	var v any
	res, err := exec.Query(i)
	if err == nil && res == nil {
		err = errors.New("the mapping deleted the row")
	}
	if err == nil {
		v, err = res.AsStructured()
	}
	if err != nil {
		return nil, fmt.Errorf("mysql output: %s: message %d: args_mapping failed: %w", quoteTable(o.wcfg.Table), i, err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != ncols {
		return nil, fmt.Errorf("mysql output: %s: message %d: args_mapping must return an array of %d values (one per column), got %s",
			quoteTable(o.wcfg.Table), i, ncols, describe(v))
	}
	for j, x := range arr {
		if arr[j], err = sqlValue(x); err != nil {
			return nil, fmt.Errorf("mysql output: %s: message %d: column %s: %w", quoteTable(o.wcfg.Table), i, o.wcfg.Columns[j], err)
		}
	}
	return arr, nil
}

func describe(v any) string {
	if arr, ok := v.([]any); ok {
		return fmt.Sprintf("an array of %d", len(arr))
	}
	return fmt.Sprintf("%T", v)
}

// sqlValue turns a Bloblang value into a driver argument.
func sqlValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, []byte, bool, int64, float64, time.Time,
		int, int8, int16, int32, uint, uint8, uint16, uint32, uint64, float32:
		return x, nil
	case json.Number:
		// Integers as integers; anything else as text, so DECIMAL columns
		// receive the digits exactly rather than a float's approximation.
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, nil
		}
		return string(x), nil
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("cannot encode %T as JSON: %w", x, err)
		}
		return string(b), nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

func (o *mysqlOutput) Close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.db == nil {
		return nil
	}
	o.writer.Close()
	err := o.db.Close()
	o.db, o.writer = nil, nil
	return err
}

func init() {
	service.MustRegisterBatchOutput("mysql", mysqlOutputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			var pol service.BatchPolicy
			maxInFlight, err := conf.FieldMaxInFlight()
			if err != nil {
				return nil, pol, 0, err
			}
			if pol, err = conf.FieldBatchPolicy(moFieldBatching); err != nil {
				return nil, pol, 0, err
			}
			o, err := newMySQLOutputFromParsed(conf, mgr)
			if err != nil {
				return nil, pol, 0, err
			}
			return o, pol, maxInFlight, nil
		})
}

// Examples of the spec, linted by TestSpecExamplesLint.
const exampleOutputUpsert = `
output:
  mysql:
    dsn: bi:${MYSQL_PASSWORD}@tcp(mysql:3306)/bi
    init_statement: |
      CREATE TABLE IF NOT EXISTS jst_sn_flow (
        sn VARCHAR(64) PRIMARY KEY,
        sku_id VARCHAR(64) NOT NULL,
        io_type VARCHAR(32),
        modified DATETIME
      )
    table: jst_sn_flow
    columns: [ sn, sku_id, io_type, modified ]
    key_columns: [ sn ]
    args_mapping: |
      root = [ this.sku_sn, this.sku_id, this.inout_type.string(), this.modified_time ]
    batching:
      count: 500
      period: 1s
`

const exampleOutputDeadLetter = `
output:
  fallback:
    - mysql:
        dsn: bi:${MYSQL_PASSWORD}@tcp(mysql:3306)/bi
        table: bi_orders
        columns: [ order_no, status, amount ]
        key_columns: [ order_no ]
        args_mapping: root = [ this.order_no, this.status, this.amount ]
        batching:
          count: 500
          period: 1s
    - processors:
        - mapping: |
            meta erpsync_error = @fallback_error
            root.document = this.catch(content().string())
            root.error = @fallback_error
      file:
        path: ./dead_letters/mysql.jsonl
        codec: lines
`
