package deadletter

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/erpsync/erpsync/plugins/mysql"
)

// DefaultTable is the table dead letters live in unless configured otherwise.
const DefaultTable = "erpsync_dead_letters"

// Status of a dead letter.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
)

// Longest values of the short columns, in characters. Longer values are cut
// (error_code, source_vendor, target) or, for source_id, replaced by a
// digest so that distinct ids stay distinct.
const (
	maxStream   = 128
	maxSourceID = 191
	maxVendor   = 64
	maxTarget   = 128
	maxCode     = 64
)

// Schema is the CREATE TABLE statement of a dead-letter table; %s is the
// quoted table name. The package documentation and docs/dead-letters.md
// describe each column.
const Schema = `CREATE TABLE IF NOT EXISTS %s (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  stream           VARCHAR(128) NOT NULL,
  source_id        VARCHAR(191) NOT NULL,
  source_vendor    VARCHAR(64)  NOT NULL DEFAULT '',
  target           VARCHAR(128) NOT NULL DEFAULT '',
  error_code       VARCHAR(64)  NOT NULL DEFAULT '',
  error_message    MEDIUMTEXT   NOT NULL,
  payload          LONGTEXT     NOT NULL,
  target_payload   LONGTEXT     NULL,
  source_meta      TEXT         NULL,
  status           ENUM('open','resolved') NOT NULL DEFAULT 'open',
  attempts         INT UNSIGNED NOT NULL DEFAULT 1,
  first_failure_at DATETIME(6)  NOT NULL,
  last_failure_at  DATETIME(6)  NOT NULL,
  resolved_at      DATETIME(6)  NULL,
  PRIMARY KEY (id),
  UNIQUE KEY stream_source (stream, source_id),
  KEY stream_status (stream, status, id),
  KEY last_failure (last_failure_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

// Letter is one failure to record: a source document that could not be
// written to its target.
type Letter struct {
	Stream       string
	SourceID     string // "" is replaced by a digest of Payload (see NormalizeSourceID)
	SourceVendor string
	Target       string
	ErrorCode    string
	ErrorMessage string
	// Payload is the SOURCE document, the input of the stream's mapping.
	Payload []byte
	// TargetPayload is what the target refused; nil stores NULL.
	TargetPayload []byte
	// SourceMeta is the source message's metadata, restored on replay; nil stores NULL.
	SourceMeta map[string]string
}

// Row is a stored dead letter.
type Row struct {
	ID             int64
	Stream         string
	SourceID       string
	SourceVendor   string
	Target         string
	ErrorCode      string
	ErrorMessage   string
	Payload        []byte
	TargetPayload  []byte // nil when NULL
	SourceMeta     map[string]string
	Status         string
	Attempts       int
	FirstFailureAt time.Time // UTC
	LastFailureAt  time.Time // UTC
	ResolvedAt     time.Time // last resolution; zero if never resolved
	Note           string    // the operator's note of a resolution by hand (console)
}

// ---------------------------------------------------------------------------
// Values

// codeRE finds the vendor code in the text of an erpsync vendor error
// (internal/vendor.Error: "<vendor>: <interface>: code <code> <message> (<kind>)").
// mysqlCodeRE finds the server error number in a MySQL driver error
// ("Error 1406 (22001): Data too long ...").
var (
	codeRE      = regexp.MustCompile(`(?:^|: )code (\S+)`)
	mysqlCodeRE = regexp.MustCompile(`\bError (\d{4,5})\b`)
)

// ErrorCode extracts the vendor's error code from an erpsync error text:
// the code of a vendor error ("kis: /koas/...: code 20005 ..." gives
// "20005"), else a MySQL error number ("Error 1406 ..." gives "1406"),
// else "" (for instance a document the mapping rejected).
func ErrorCode(text string) string {
	if m := codeRE.FindStringSubmatch(text); m != nil {
		return cut(m[1], maxCode)
	}
	if m := mysqlCodeRE.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// NormalizeSourceID returns the key a document is stored under: its id, or
// when it has none a digest of the payload ("sha256:<hex>", so the same
// document meets its own row again), and for an id longer than the column
// its first characters followed by a digest of the whole id.
func NormalizeSourceID(id string, payload []byte) string {
	id = strings.ToValidUTF8(strings.TrimSpace(id), "?")
	if id == "" {
		sum := sha256.Sum256(payload)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	if utf8.RuneCountInString(id) <= maxSourceID {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return cut(id, maxSourceID-65) + "~" + hex.EncodeToString(sum[:])
}

// cut returns s cut to at most n characters, as valid UTF-8.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// text makes bytes storable in a utf8mb4 column: a strict server refuses
// invalid UTF-8, and a dead letter must never be lost to it.
func text(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

// ValidateStream checks a stream name: it is part of the key.
func ValidateStream(stream string) error {
	if strings.TrimSpace(stream) == "" {
		return errors.New("stream is empty: name the stream whose dead letters these are, e.g. jushuitan_other_inout_to_kis")
	}
	if utf8.RuneCountInString(stream) > maxStream {
		return fmt.Errorf("stream %q is longer than %d characters", stream, maxStream)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Store

// StoreConfig configures a Store.
type StoreConfig struct {
	Table string // validated, optionally schema.table
	// CreateTable creates the table when it is missing.
	CreateTable bool
	Retry       mysql.RetryPolicy
	// OnRetry, when set, hears every retry of a transient failure.
	OnRetry func(err error, attempt int, wait time.Duration)
}

// Store reads and writes one dead-letter table. Every operation is a
// single statement, retried on deadlocks and lost connections, so several
// processes can share the table.
type Store struct {
	db  *mysql.DB
	cfg StoreConfig
	t   string // quoted table
}

// NewStore validates the table name and creates the table when asked.
func NewStore(ctx context.Context, db *mysql.DB, cfg StoreConfig) (*Store, error) {
	if err := mysql.ValidateTable(cfg.Table); err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	s := &Store{db: db, cfg: cfg, t: quoteTable(cfg.Table)}
	if cfg.CreateTable {
		if err := s.retry(ctx, func() error {
			_, err := db.ExecContext(ctx, fmt.Sprintf(Schema, s.t))
			return err
		}); err != nil {
			return nil, s.fail("creating the table", err)
		}
	}
	return s, nil
}

func quoteTable(name string) string {
	if sc, t, ok := strings.Cut(name, "."); ok {
		return "`" + sc + "`.`" + t + "`"
	}
	return "`" + name + "`"
}

func (s *Store) retry(ctx context.Context, op func() error) error {
	return mysql.Retry(ctx, s.cfg.Retry, s.cfg.OnRetry, op)
}

func (s *Store) fail(what string, err error) error {
	kind := "permanent: check the dsn's grants and the table"
	if mysql.IsTransient(err) {
		kind = fmt.Sprintf("transient: still failing after %d retries", s.cfg.Retry.MaxRetries)
	}
	return fmt.Errorf("dead letters: %s %s at %s: %w (%s)", what, s.t, s.db.Where, s.db.Scrub(err), kind)
}

// recordColumns are the columns Record inserts, in order.
const recordColumns = "(stream,source_id,source_vendor,target,error_code,error_message,payload,target_payload,source_meta," +
	"status,attempts,first_failure_at,last_failure_at,resolved_at)"

// recordRow is one row of Record's VALUES: the failure times are the
// server's UTC clock, so hosts with different clocks or zones agree.
const recordRow = "(?,?,?,?,?,?,?,?,?,'open',1,UTC_TIMESTAMP(6),UTC_TIMESTAMP(6),NULL)"

// recordUpdate is what a failure of a document already in the table does:
// one more attempt, the newest error and payloads, open again; the id, the
// first failure time and resolved_at stay (an open row with a resolved_at
// failed again after it had been resolved).
const recordUpdate = " ON DUPLICATE KEY UPDATE attempts=attempts+1," +
	"source_vendor=VALUES(source_vendor),target=VALUES(target),error_code=VALUES(error_code)," +
	"error_message=VALUES(error_message),payload=VALUES(payload),target_payload=VALUES(target_payload)," +
	"source_meta=VALUES(source_meta),status='open',last_failure_at=VALUES(last_failure_at)"

// recordChunk bounds the rows of one statement.
const recordChunk = 200

// Record stores failures: a new (stream, source_id) becomes an open row
// with attempts 1; an existing one gets attempts+1, the new error and
// payloads and last_failure_at, and is opened again if it was resolved
// (keeping resolved_at, the time of that resolution).
func (s *Store) Record(ctx context.Context, letters ...Letter) error {
	budget := s.db.MaxPacket / 2
	for lo := 0; lo < len(letters); {
		hi, size := lo, 0
		for hi < len(letters) && hi-lo < recordChunk {
			l := letters[hi]
			n := len(l.Payload) + len(l.TargetPayload) + len(l.ErrorMessage) + 512
			if hi > lo && size+n > budget {
				break
			}
			size += n
			hi++
		}
		if err := s.record(ctx, letters[lo:hi]); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

func (s *Store) record(ctx context.Context, letters []Letter) error {
	var b strings.Builder
	b.WriteString("INSERT INTO " + s.t + " " + recordColumns + " VALUES ")
	args := make([]any, 0, 9*len(letters))
	for i, l := range letters {
		if err := ValidateStream(l.Stream); err != nil {
			return fmt.Errorf("dead letters: %w", err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(recordRow)
		var target, meta any
		if l.TargetPayload != nil {
			target = text(l.TargetPayload)
		}
		if len(l.SourceMeta) > 0 {
			m, _ := json.Marshal(l.SourceMeta)
			meta = text(m)
		}
		args = append(args, l.Stream, NormalizeSourceID(l.SourceID, l.Payload), cut(l.SourceVendor, maxVendor),
			cut(l.Target, maxTarget), cut(l.ErrorCode, maxCode), strings.ToValidUTF8(l.ErrorMessage, "\uFFFD"),
			text(l.Payload), target, meta)
	}
	b.WriteString(recordUpdate)
	q := b.String()
	if err := s.retry(ctx, func() error {
		_, err := s.db.ExecContext(ctx, q, args...)
		return err
	}); err != nil {
		return s.fail(fmt.Sprintf("recording %d dead letters in", len(letters)), err)
	}
	return nil
}

// Resolve marks the open dead letters of stream with these source ids
// resolved (resolved_at now) and returns how many it changed; ids with no
// open row are no error.
func (s *Store) Resolve(ctx context.Context, stream string, sourceIDs ...string) (int64, error) {
	if len(sourceIDs) == 0 {
		return 0, nil
	}
	var n int64
	for lo := 0; lo < len(sourceIDs); lo += recordChunk {
		hi := min(lo+recordChunk, len(sourceIDs))
		args := make([]any, 0, hi-lo+1)
		args = append(args, stream)
		for _, id := range sourceIDs[lo:hi] {
			args = append(args, NormalizeSourceID(id, nil))
		}
		q := "UPDATE " + s.t + " SET status='resolved',resolved_at=UTC_TIMESTAMP(6) WHERE stream=? AND status='open' AND source_id IN (?" +
			strings.Repeat(",?", hi-lo-1) + ")"
		var affected int64
		if err := s.retry(ctx, func() error {
			res, err := s.db.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			affected, err = res.RowsAffected()
			return err
		}); err != nil {
			return n, s.fail(fmt.Sprintf("resolving %d dead letters of stream %s in", hi-lo, stream), err)
		}
		n += affected
	}
	return n, nil
}

// MaxOpenID is the highest id of an open dead letter of stream, 0 if none.
func (s *Store) MaxOpenID(ctx context.Context, stream string, ids ...int64) (int64, error) {
	var id int64
	cond, args := idsCond(ids)
	err := s.retry(ctx, func() error {
		return s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id),0) FROM "+s.t+" WHERE stream=? AND status='open'"+cond,
			append([]any{stream}, args...)...).Scan(&id)
	})
	if err != nil {
		return 0, s.fail("reading", err)
	}
	return id, nil
}

const rowColumns = "id,stream,source_id,source_vendor,target,error_code,error_message,payload,target_payload,source_meta," +
	"status,attempts,first_failure_at,last_failure_at,resolved_at"

// idsCond is the condition restricting a query to the row ids given (none:
// no restriction) and its arguments.
func idsCond(ids []int64) (string, []any) {
	if len(ids) == 0 {
		return "", nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return " AND id IN (?" + strings.Repeat(",?", len(ids)-1) + ")", args
}

// ReadOpen returns up to limit open dead letters of stream with
// afterID < id <= upToID, in id order; with ids, only those of these rows.
func (s *Store) ReadOpen(ctx context.Context, stream string, afterID, upToID int64, limit int, ids ...int64) ([]Row, error) {
	cond, idArgs := idsCond(ids)
	q := "SELECT " + rowColumns + " FROM " + s.t + " WHERE stream=? AND status='open' AND id>? AND id<=?" + cond + " ORDER BY id LIMIT ?"
	args := append(append([]any{stream, afterID, upToID}, idArgs...), limit)
	var out []Row
	err := s.retry(ctx, func() error {
		var err error
		out, err = s.query(ctx, q, args...)
		return err
	})
	if err != nil {
		return nil, s.fail("reading open dead letters of stream "+stream+" from", err)
	}
	return out, nil
}

// Get returns the dead letter of (stream, sourceID), or sql.ErrNoRows.
func (s *Store) Get(ctx context.Context, stream, sourceID string) (Row, error) {
	q := "SELECT " + rowColumns + " FROM " + s.t + " WHERE stream=? AND source_id=?"
	var out []Row
	err := s.retry(ctx, func() error {
		var err error
		out, err = s.query(ctx, q, stream, NormalizeSourceID(sourceID, nil))
		return err
	})
	if err != nil {
		return Row{}, s.fail("reading", err)
	}
	if len(out) == 0 {
		return Row{}, sql.ErrNoRows
	}
	return out[0], nil
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]Row, error) {
	return s.queryRows(ctx, false, q, args...)
}

// queryRows runs q, whose columns are rowColumns followed by resolved_note
// when noted.
func (s *Store) queryRows(ctx context.Context, noted bool, q string, args ...any) ([]Row, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		r, err := scanRow(rows, noted)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// scanRow reads one row of rowColumns, followed by resolved_note when noted.
func scanRow(rows *sql.Rows, noted bool) (Row, error) {
	var r Row
	var target, meta, note sql.NullString
	var payload string
	var resolved sql.NullTime
	dest := []any{&r.ID, &r.Stream, &r.SourceID, &r.SourceVendor, &r.Target, &r.ErrorCode, &r.ErrorMessage,
		&payload, &target, &meta, &r.Status, &r.Attempts, &r.FirstFailureAt, &r.LastFailureAt, &resolved}
	if noted {
		dest = append(dest, &note)
	}
	if err := rows.Scan(dest...); err != nil {
		return Row{}, err
	}
	r.Payload = []byte(payload)
	if target.Valid {
		r.TargetPayload = []byte(target.String)
	}
	if meta.Valid && meta.String != "" {
		// A row edited by hand with broken JSON replays without its metadata.
		_ = json.Unmarshal([]byte(meta.String), &r.SourceMeta)
	}
	if resolved.Valid {
		r.ResolvedAt = resolved.Time
	}
	r.Note = note.String
	return r, nil
}

// ---------------------------------------------------------------------------
// Connection

// ConnConfig is how a component reaches its table.
type ConnConfig struct {
	DSN   string // go-sql-driver/mysql form; "" fails every operation
	Store StoreConfig
	// Logger receives the driver's own log lines (already free of secrets).
	Logger func(msg string)
}

// Conn opens the pool and the table on first use, so a component that is
// configured but never used (a dead-letter output nothing fails into, a
// switch case that is off) needs no database.
type Conn struct {
	cfg ConnConfig

	mu    sync.Mutex
	db    *mysql.DB
	store *Store
}

// NewConn checks the DSN (without connecting) and returns a Conn.
func NewConn(cfg ConnConfig) (*Conn, error) {
	if cfg.DSN != "" {
		if _, err := gomysql.ParseDSN(cfg.DSN); err != nil {
			return nil, fmt.Errorf("dead letters: dsn %s does not parse; expected user:password@tcp(host:3306)/database", mysql.RedactDSN(cfg.DSN))
		}
	}
	if err := mysql.ValidateTable(cfg.Store.Table); err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	return &Conn{cfg: cfg}, nil
}

// Store returns the table, connecting (and creating it) on first use.
func (c *Conn) Store(ctx context.Context) (*Store, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.store != nil {
		return c.store, nil
	}
	if c.cfg.DSN == "" {
		return nil, fmt.Errorf("dead letters: table %s: dsn is empty; set it (the shipped configs read MYSQL_DSN)", c.cfg.Store.Table)
	}
	db, err := openDBLogged(ctx, c.cfg.DSN, c.cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	st, err := NewStore(ctx, db, c.cfg.Store)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	c.db, c.store = db, st
	return st, nil
}

// Close closes the pool, if it was opened.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db == nil {
		return nil
	}
	err := c.db.Close()
	c.db, c.store = nil, nil
	return err
}
