package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// system names the database in every error of this package.
const system = "mysql"

// identPattern is the only shape of table and column name the components
// accept: names are backquoted in statements, and refusing anything else
// keeps data, typos and injection attempts out of the SQL text.
const identPattern = `[A-Za-z_][A-Za-z0-9_$]{0,63}`

var (
	identRE = regexp.MustCompile(`^` + identPattern + `$`)
	tableRE = regexp.MustCompile(`^` + identPattern + `([.]` + identPattern + `)?$`)
)

// identRule says, in an error, what a valid name looks like.
const identRule = "use letters, digits, _ and $, start with a letter or _, at most 64 characters"

// ValidateIdent checks one column name.
func ValidateIdent(what, name string) error {
	if !identRE.MatchString(name) {
		return fmt.Errorf("%s %q is not a valid MySQL identifier: %s", what, name, identRule)
	}
	return nil
}

// ValidateTable checks a table name, optionally qualified as schema.table.
func ValidateTable(name string) error {
	if !tableRE.MatchString(name) {
		return fmt.Errorf("table %q is not a valid MySQL table name: %s (optionally schema.table)", name, identRule)
	}
	return nil
}

// quoteIdent backquotes a validated name. Validation already excludes
// backquotes; quoting only protects reserved words such as `key` or `order`.
func quoteIdent(name string) string { return "`" + name + "`" }

// quoteTable backquotes a validated, optionally schema-qualified table name.
func quoteTable(name string) string {
	if s, t, ok := strings.Cut(name, "."); ok {
		return quoteIdent(s) + "." + quoteIdent(t)
	}
	return quoteIdent(name)
}

// ---------------------------------------------------------------------------
// DSN and connections

// ConnConfig is how a component connects.
type ConnConfig struct {
	// DSN in go-sql-driver/mysql form: user:password@tcp(host:3306)/db?params.
	DSN           string
	MaxOpen       int           // 0: unlimited
	MaxIdle       int           // <0: database/sql default (2); 0: MaxOpen
	MaxIdleTime   time.Duration // 0: no limit
	MaxLifetime   time.Duration // 0: no limit
	InitStatement string        // run once after the pool opens; may hold several statements
	// Logger receives the driver's own log lines (already free of secrets).
	Logger func(msg string)
}

// DB is an open connection pool plus what the components learned about
// the server when it opened.
type DB struct {
	*sql.DB
	// Where is user@addr/db, for errors and logs: never the password.
	Where string
	// MaxPacket is the smaller of the server's max_allowed_packet and the
	// driver's, the ceiling of one statement.
	MaxPacket int
	redact    func(string) string
}

// parseDSN parses a DSN, and returns with it a function that removes its
// password from any text. A DSN that does not parse is reported without
// the driver's message, which may quote the DSN.
func parseDSN(dsn string) (*mysql.Config, func(string) string, error) {
	redact := redactor(dsnPassword(dsn))
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, redact, fmt.Errorf("%s: dsn %s does not parse: %s; expected user:password@tcp(host:3306)/database?param=value",
			system, redact(RedactDSN(dsn)), redact(err.Error()))
	}
	if cfg.Passwd != "" {
		redact = redactor(cfg.Passwd)
	}
	return cfg, redact, nil
}

// passwordSpan finds the password of a DSN the way go-sql-driver does (the
// text between the first ':' and the last '@' before the last '/'), so it
// can be redacted even from a DSN the driver rejects.
func passwordSpan(dsn string) (from, to int, ok bool) {
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		slash = len(dsn)
	}
	at := strings.LastIndexByte(dsn[:slash], '@')
	if at < 0 {
		return 0, 0, false
	}
	colon := strings.IndexByte(dsn[:at], ':')
	if colon < 0 || colon+1 == at {
		return 0, 0, false
	}
	return colon + 1, at, true
}

func dsnPassword(dsn string) string {
	if from, to, ok := passwordSpan(dsn); ok {
		return dsn[from:to]
	}
	return ""
}

// RedactDSN returns dsn with its password replaced by ***.
func RedactDSN(dsn string) string {
	if from, to, ok := passwordSpan(dsn); ok {
		return redactor(dsn[from:to])(dsn[:from] + "***" + dsn[to:])
	}
	return dsn
}

func redactor(secret string) func(string) string {
	if secret == "" {
		return func(s string) string { return s }
	}
	return func(s string) string { return strings.ReplaceAll(s, secret, "***") }
}

// redactErr keeps the error chain (errors.Is/As still work) but scrubs the
// password from its text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (d *DB) scrub(err error) error {
	if err == nil || d == nil || d.redact == nil {
		return err
	}
	msg := d.redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type driverLogger struct {
	fn     func(string)
	redact func(string) string
}

func (l driverLogger) Print(v ...any) { l.fn(l.redact(strings.TrimSpace(fmt.Sprint(v...)))) }

// Open opens a pool, checks that the server answers, reads its
// max_allowed_packet and runs the init statement. adjust may change the
// driver configuration (the cache needs ClientFoundRows off).
func Open(ctx context.Context, c ConnConfig, adjust func(*mysql.Config)) (*DB, error) {
	cfg, redact, err := parseDSN(c.DSN)
	if err != nil {
		return nil, err
	}
	if c.Logger != nil {
		cfg.Logger = driverLogger{fn: c.Logger, redact: redact}
	}
	if adjust != nil {
		adjust(cfg)
	}
	where := fmt.Sprintf("%s@%s/%s", cfg.User, cfg.Addr, cfg.DBName)
	fail := func(what string, err error) error {
		return fmt.Errorf("%s: %s at %s: %s; check dsn, the server and the user's grants",
			system, what, where, redact(err.Error()))
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fail("configuring the driver", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(c.MaxOpen)
	switch {
	case c.MaxIdle > 0:
		db.SetMaxIdleConns(c.MaxIdle)
	case c.MaxIdle < 0:
		db.SetMaxIdleConns(0)
	case c.MaxOpen > 0:
		db.SetMaxIdleConns(c.MaxOpen)
	}
	db.SetConnMaxIdleTime(c.MaxIdleTime)
	db.SetConnMaxLifetime(c.MaxLifetime)

	var serverPacket int
	if err := db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&serverPacket); err != nil {
		_ = db.Close()
		return nil, fail("connecting", err)
	}
	maxPacket := serverPacket
	if cfg.MaxAllowedPacket > 0 && cfg.MaxAllowedPacket < maxPacket {
		maxPacket = cfg.MaxAllowedPacket
	}
	d := &DB{DB: db, Where: where, MaxPacket: maxPacket, redact: redact}
	if strings.TrimSpace(c.InitStatement) != "" {
		if err := runInit(ctx, cfg, c.InitStatement); err != nil {
			_ = db.Close()
			return nil, fail("running init_statement", err)
		}
	}
	return d, nil
}

// runInit runs the init statement on a connection of its own that allows
// several statements, so the pool itself keeps multiStatements off.
func runInit(ctx context.Context, cfg *mysql.Config, stmt string) error {
	ic := cfg.Clone()
	ic.MultiStatements = true
	connector, err := mysql.NewConnector(ic)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// ---------------------------------------------------------------------------
// Error classification

// class says what to do about a failed statement.
type class int

const (
	// classFatal: the statement cannot work (unknown table or column,
	// syntax, permissions). Retrying or splitting does not help.
	classFatal class = iota
	// classTransient: deadlock, lock-wait timeout, lost connection, server
	// going away: retry the same statement after a backoff.
	classTransient
	// classRow: a row's data was refused (constraint, NULL, type, range).
	// The statement failed as a whole; find the row.
	classRow
	// classTooLarge: the statement exceeded max_allowed_packet: split it.
	classTooLarge
)

// MySQL / MariaDB server error numbers the components act on.
const (
	erDupEntry           = 1062
	erLockWaitTimeout    = 1205
	erLockDeadlock       = 1213
	erNoReferencedRow    = 1216
	erNoReferencedRow2   = 1452
	erBadNull            = 1048
	erWarnNullToNotNull  = 1263
	erNoDefaultForField  = 1364
	erTruncatedWrongVal  = 1366
	erWarnDataOutOfRange = 1264
	erWarnDataTruncated  = 1265
	erDataTooLong        = 1406
	erTruncatedWrongVal2 = 1292
	erDataOutOfRange     = 1690
	erInvalidCharString  = 1300
	erCheckConstraint    = 4025 // MariaDB
	erCheckConstraint2   = 3819 // MySQL 8
	erNetPacketTooLarge  = 1153
	erConCount           = 1040
	erServerShutdown     = 1053
	erQueryInterrupted   = 1317
	erConnKilled         = 1927
	erReadOnly           = 1290
	erReadOnlyMode       = 1836
	crServerGone         = 2006
	crServerLost         = 2013
)

// rowCodeHint says, for a row-level error, what is wrong and what to do.
func rowCodeHint(code uint16) string {
	switch code {
	case erDupEntry:
		return "duplicate key: set key_columns to upsert, or route the row to a dead letter"
	case erNoReferencedRow, erNoReferencedRow2:
		return "foreign key: the referenced row must be written first"
	case erBadNull, erWarnNullToNotNull, erNoDefaultForField:
		return "a NOT NULL column got no value: fix args_mapping or the source data"
	case erCheckConstraint, erCheckConstraint2:
		return "CHECK constraint: fix the source data or the mapping"
	}
	return "value does not fit the column type: fix args_mapping, the source data or the column definition"
}

func classify(err error) class {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case erLockDeadlock, erLockWaitTimeout, erConCount, erServerShutdown, erQueryInterrupted,
			erConnKilled, erReadOnly, erReadOnlyMode, crServerGone, crServerLost:
			return classTransient
		case erDupEntry, erNoReferencedRow, erNoReferencedRow2, erBadNull, erWarnNullToNotNull,
			erNoDefaultForField, erTruncatedWrongVal, erWarnDataOutOfRange, erWarnDataTruncated,
			erDataTooLong, erTruncatedWrongVal2, erDataOutOfRange, erInvalidCharString,
			erCheckConstraint, erCheckConstraint2:
			return classRow
		case erNetPacketTooLarge:
			return classTooLarge
		}
		return classFatal
	}
	if errors.Is(err, mysql.ErrPktTooLarge) {
		return classTooLarge
	}
	var ne net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &ne) {
		return classTransient
	}
	return classFatal
}

func errCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func (c class) String() string {
	switch c {
	case classTransient:
		return "transient"
	case classRow:
		return "row refused"
	case classTooLarge:
		return "statement too large"
	}
	return "permanent"
}

// ---------------------------------------------------------------------------
// Retries

// RetryPolicy bounds the retries of transient failures.
type RetryPolicy struct {
	MaxRetries int           // retries after the first attempt; 0: none
	Initial    time.Duration // first wait
	Max        time.Duration // longest wait
}

// wait returns the backoff before retry n (1-based), with jitter so that
// deadlocked writers do not collide again in lockstep.
func (p RetryPolicy) wait(n int) time.Duration {
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retrying runs op until it succeeds, fails with a non-transient error,
// the retries are spent or ctx ends. onRetry (optional) hears each retry.
func retrying(ctx context.Context, p RetryPolicy, onRetry func(err error, attempt int, wait time.Duration), op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || classify(err) != classTransient || attempt > p.MaxRetries || ctx.Err() != nil {
			return err
		}
		w := p.wait(attempt)
		if onRetry != nil {
			onRetry(err, attempt, w)
		}
		if serr := sleep(ctx, w); serr != nil {
			return err
		}
	}
}
