package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// maxPlaceholders is the protocol's limit of parameters in one prepared
// statement (the count is a uint16).
const maxPlaceholders = 65535

// WriterConfig says where and how a Writer writes.
type WriterConfig struct {
	Table      string   // validated, optionally schema.table
	Columns    []string // validated, in the order of each row's values
	KeyColumns []string // subset of Columns; when set the insert is an upsert
	Retry      RetryPolicy
	// OnRetry, when set, hears every retry of a transient failure.
	OnRetry func(err error, attempt int, wait time.Duration)
}

// Writer writes rows to one table with multi-row INSERT statements.
// It is safe for concurrent use.
type Writer struct {
	db      *DB
	cfg     WriterConfig
	where   string // quoted table, for messages
	head    string // INSERT INTO `t` (`a`,`b`) VALUES
	tuple   string // (?,?)
	tail    string // ON DUPLICATE KEY UPDATE ... or ""
	keyIdx  []int
	maxRows int // rows per statement allowed by the placeholder limit
	budget  int // bytes of values per statement
	retries atomic.Int64

	mu       sync.Mutex
	stmts    map[int]string
	prepared map[int]*sql.Stmt
}

// maxPrepared bounds the prepared statements a Writer keeps: one per
// statement size seen in normal writes (a batching policy yields one or two
// sizes); bisection's sizes are sent unprepared.
const maxPrepared = 4

// NewWriter validates the table and columns and prepares the statement text.
func NewWriter(db *DB, cfg WriterConfig) (*Writer, error) {
	if err := validateTarget(cfg.Table, cfg.Columns, cfg.KeyColumns); err != nil {
		return nil, err
	}
	head, tuple, tail := insertParts(cfg.Table, cfg.Columns, cfg.KeyColumns)
	w := &Writer{
		db: db, cfg: cfg, where: quoteTable(cfg.Table),
		head: head, tuple: tuple, tail: tail,
		maxRows:  maxPlaceholders / len(cfg.Columns),
		budget:   1 << 20,
		stmts:    map[int]string{},
		prepared: map[int]*sql.Stmt{},
	}
	if db != nil && db.MaxPacket > 0 {
		// Values travel once in the execute packet (twice as long when the
		// DSN interpolates and escapes them): keep well below the ceiling.
		w.budget = db.MaxPacket / 2
	}
	for _, k := range cfg.KeyColumns {
		for i, c := range cfg.Columns {
			if c == k {
				w.keyIdx = append(w.keyIdx, i)
			}
		}
	}
	return w, nil
}

// validateTarget checks every name, and that key columns are columns.
func validateTarget(table string, columns, keys []string) error {
	if err := ValidateTable(table); err != nil {
		return err
	}
	if len(columns) == 0 {
		return errors.New("columns is empty: list the columns args_mapping fills, in order")
	}
	seen := map[string]bool{}
	for _, c := range columns {
		if err := ValidateIdent("column", c); err != nil {
			return err
		}
		if seen[strings.ToLower(c)] {
			return fmt.Errorf("column %q is listed twice in columns", c)
		}
		seen[strings.ToLower(c)] = true
	}
	for _, k := range keys {
		if err := ValidateIdent("key column", k); err != nil {
			return err
		}
		if !slicesContains(columns, k) {
			return fmt.Errorf("key column %q is not one of columns %v: key_columns must be listed in columns too", k, columns)
		}
	}
	return nil
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// insertParts builds the fixed parts of the statement. With key columns the
// other columns are updated with the VALUES(col) form, which both MySQL
// (deprecated but supported in 8.x) and MariaDB accept; when every column
// is a key column the update is a no-op, so a replayed row is ignored.
func insertParts(table string, columns, keys []string) (head, tuple, tail string) {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(quoteTable(table))
	b.WriteString(" (")
	for i, c := range columns {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteIdent(c))
	}
	b.WriteString(") VALUES ")
	head = b.String()
	tuple = "(" + strings.TrimSuffix(strings.Repeat("?,", len(columns)), ",") + ")"
	if len(keys) == 0 {
		return head, tuple, ""
	}
	var u []string
	for _, c := range columns {
		if !slicesContains(keys, c) {
			u = append(u, quoteIdent(c)+"=VALUES("+quoteIdent(c)+")")
		}
	}
	if len(u) == 0 {
		u = []string{quoteIdent(keys[0]) + "=" + quoteIdent(keys[0])}
	}
	return head, tuple, " ON DUPLICATE KEY UPDATE " + strings.Join(u, ",")
}

// statement returns the INSERT for n rows.
func (w *Writer) statement(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.stmts[n]; ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(w.head) + n*(len(w.tuple)+1) + len(w.tail))
	b.WriteString(w.head)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(w.tuple)
	}
	b.WriteString(w.tail)
	s := b.String()
	if len(w.stmts) > 16 { // batch sizes are few; bisection makes the rest
		clear(w.stmts)
	}
	w.stmts[n] = s
	return s
}

// Retries is how many transient failures this writer has retried.
func (w *Writer) Retries() int64 { return w.retries.Load() }

// RowError is a row the server refused, or could not be written because
// the statement failed for another reason after other rows of the batch
// were written.
type RowError struct {
	Table string
	Index int    // index of the row in the batch given to Write
	Key   string // key column values (or the first column) as col=value
	Code  uint16 // the server's error number, 0 when none
	Err   error
	class class
}

var atRowRE = regexp.MustCompile(` at row \d+$`)

func (e *RowError) Error() string {
	// "at row 1" in the server's message counts within the statement that
	// isolated the row, not within the batch: drop it.
	msg := atRowRE.ReplaceAllString(e.Err.Error(), "")
	hint := e.class.String()
	switch e.class {
	case classRow:
		hint = rowCodeHint(e.Code)
	case classTooLarge:
		hint = "the row alone exceeds max_allowed_packet: raise it on the server or shrink the row"
	}
	return fmt.Sprintf("%s: %s: row %d of the batch (%s): %s (%s)", system, e.Table, e.Index, e.Key, msg, hint)
}

func (e *RowError) Unwrap() error { return e.Err }

// PartialError is a batch of which some rows were written and the rows
// listed were not.
type PartialError struct {
	Table string
	Total int
	Rows  []*RowError
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %d of %d rows not written", system, e.Table, len(e.Rows), e.Total)
	for i, r := range e.Rows {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Rows)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(r.Error())
	}
	return b.String()
}

// row states during Write
const (
	pending byte = iota
	written
	refused
)

// Write inserts rows, each holding one value per column. It returns nil when
// every row was written, a *PartialError listing the rows that were not
// (every other row was written), or another error when nothing was written.
//
// Rows are sent in as few statements as the placeholder limit and
// max_allowed_packet allow. Transient failures are retried with backoff. When
// the server refuses a multi-row statement because of a row's data, the
// statement is bisected until the refused rows are isolated, so the good
// rows still land. A retry after a lost connection may repeat an insert the
// server had committed: key columns make that harmless.
func (w *Writer) Write(ctx context.Context, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(w.cfg.Columns)
	for i, r := range rows {
		if len(r) != n {
			return fmt.Errorf("%s: %s: row %d has %d values for %d columns", system, w.where, i, len(r), n)
		}
	}
	state := make([]byte, len(rows))
	errs := make([]*RowError, len(rows))
	var fatal error
	for lo := 0; lo < len(rows) && fatal == nil; {
		hi := w.chunkEnd(rows, lo)
		fatal = w.write(ctx, rows, lo, hi, state, errs, true)
		lo = hi
	}
	var out []*RowError
	wrote := false
	for i, s := range state {
		switch s {
		case written:
			wrote = true
		case refused:
			out = append(out, errs[i])
		case pending:
			out = append(out, &RowError{Table: w.where, Index: i, Key: w.key(rows[i]), Code: errCode(fatal), Err: w.db.scrub(fatal), class: classify(fatal)})
		}
	}
	if fatal != nil && !wrote && len(out) == len(rows) && allPending(state) {
		return w.stmtError(ctx, len(rows), fatal)
	}
	if len(out) == 0 {
		return nil
	}
	return &PartialError{Table: w.where, Total: len(rows), Rows: out}
}

func allPending(state []byte) bool {
	for _, s := range state {
		if s != pending {
			return false
		}
	}
	return true
}

// stmtError describes a statement that failed for a reason other than
// one row's data.
func (w *Writer) stmtError(ctx context.Context, n int, err error) error {
	c := classify(err)
	what := "permanent: check table, columns, grants and init_statement"
	if c == classTransient {
		what = fmt.Sprintf("transient: still failing after %d retries", w.cfg.Retry.MaxRetries)
	}
	if ctx.Err() != nil {
		what = "stopped: " + ctx.Err().Error()
	}
	return fmt.Errorf("%s: insert into %s (%d rows): %w (%s)", system, w.where, n, w.db.scrub(err), what)
}

// chunkEnd returns the end of the statement starting at lo.
func (w *Writer) chunkEnd(rows [][]any, lo int) int {
	size := 0
	hi := lo
	for hi < len(rows) && hi-lo < w.maxRows {
		rs := rowSize(rows[hi])
		if hi > lo && size+rs > w.budget {
			break
		}
		size += rs
		hi++
	}
	return hi
}

func rowSize(r []any) int {
	n := 0
	for _, v := range r {
		switch x := v.(type) {
		case string:
			n += len(x) + 9
		case []byte:
			n += len(x) + 9
		default:
			n += 9
		}
	}
	return n
}

// write writes rows[lo:hi], bisecting on row-level refusals. It returns
// the error that stops the whole batch, if any.
func (w *Writer) write(ctx context.Context, rows [][]any, lo, hi int, state []byte, errs []*RowError, top bool) error {
	err := retrying(ctx, w.cfg.Retry, w.onRetry, func() error { return w.exec(ctx, rows[lo:hi], top) })
	if err == nil {
		for i := lo; i < hi; i++ {
			state[i] = written
		}
		return nil
	}
	c := classify(err)
	if c != classRow && c != classTooLarge {
		return err
	}
	if hi-lo == 1 {
		state[lo] = refused
		errs[lo] = &RowError{Table: w.where, Index: lo, Key: w.key(rows[lo]), Code: errCode(err), Err: w.db.scrub(err), class: c}
		return nil
	}
	mid := lo + (hi-lo)/2
	if err := w.write(ctx, rows, lo, mid, state, errs, false); err != nil {
		return err
	}
	return w.write(ctx, rows, mid, hi, state, errs, false)
}

func (w *Writer) onRetry(err error, attempt int, wait time.Duration) {
	w.retries.Add(1)
	if w.cfg.OnRetry != nil {
		w.cfg.OnRetry(w.db.scrub(err), attempt, wait)
	}
}

// exec runs the INSERT of rows. Statements of the sizes normal writes use
// are prepared once and reused (database/sql prepares them again on each
// new connection), which saves a round trip and the server's parse of a
// statement with thousands of placeholders on every batch.
func (w *Writer) exec(ctx context.Context, rows [][]any, reuse bool) error {
	args := make([]any, 0, len(rows)*len(w.cfg.Columns))
	for _, r := range rows {
		args = append(args, r...)
	}
	if reuse {
		if st := w.preparedStmt(ctx, len(rows)); st != nil {
			_, err := st.ExecContext(ctx, args...)
			return err
		}
	}
	_, err := w.db.ExecContext(ctx, w.statement(len(rows)), args...)
	return err
}

// preparedStmt returns the prepared INSERT of n rows, or nil when the
// Writer already keeps maxPrepared others or preparing failed (the caller
// then sends the statement unprepared, and reports any error from that).
func (w *Writer) preparedStmt(ctx context.Context, n int) *sql.Stmt {
	w.mu.Lock()
	st, ok := w.prepared[n]
	full := len(w.prepared) >= maxPrepared
	w.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := w.db.PrepareContext(ctx, w.statement(n))
	if err != nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if prev, ok := w.prepared[n]; ok { // a concurrent writer won
		_ = st.Close()
		return prev
	}
	w.prepared[n] = st
	return st
}

// Close releases the prepared statements.
func (w *Writer) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for n, st := range w.prepared {
		_ = st.Close()
		delete(w.prepared, n)
	}
}

// key renders the key column values of a row (the first column's when no
// key columns are set) for an error message.
func (w *Writer) key(r []any) string {
	idx := w.keyIdx
	if len(idx) == 0 {
		idx = []int{0}
	}
	parts := make([]string, 0, len(idx))
	for _, i := range idx {
		parts = append(parts, w.cfg.Columns[i]+"="+showValue(r[i]))
	}
	return strings.Join(parts, ", ")
}

func showValue(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		s = fmt.Sprintf("%q", x)
	case []byte:
		s = fmt.Sprintf("%q", x)
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > 64 {
		cut := 60
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
