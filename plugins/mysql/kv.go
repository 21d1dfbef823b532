package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// MaxKeyBytes is the longest key the key/value table holds.
const MaxKeyBytes = 1024

// ErrNotFound and ErrExists are the KV's answers for a missing (or
// expired) key and for Add on a live key.
var (
	ErrNotFound = errors.New("key not found")
	ErrExists   = errors.New("key already exists")
)

// KVConfig configures a KV.
type KVConfig struct {
	Table string // validated, optionally schema.table
	// CreateTable creates the table when it is missing.
	CreateTable bool
	// PurgeInterval is how often at most a write also deletes expired rows
	// (up to purgeLimit of them). 0 disables the bulk purge; expired keys
	// read are deleted anyway.
	PurgeInterval time.Duration
	Retry         RetryPolicy
	// OnRetry, when set, hears every retry of a transient failure.
	OnRetry func(err error, attempt int, wait time.Duration)
}

const purgeLimit = 1000

// KV is a key/value store in one table:
//
//	`key` VARBINARY(1024) PRIMARY KEY, `value` LONGBLOB, `expires_at` DATETIME(6) NULL
//
// Keys compare byte for byte (no collation folds case or trailing spaces).
// Expiry times are the server's UTC clock, so processes on hosts whose
// clocks or time zones differ agree on what has expired. Every operation
// is one statement, so several processes can share the table.
type KV struct {
	db        *DB
	cfg       KVConfig
	t         string // quoted table
	getSQL    string
	delSQL    string
	purgeKey  string
	purgeAll  string
	lastPurge atomic.Int64
}

// NewKV validates the table name and creates the table when asked.
func NewKV(ctx context.Context, db *DB, cfg KVConfig) (*KV, error) {
	if err := ValidateTable(cfg.Table); err != nil {
		return nil, err
	}
	t := quoteTable(cfg.Table)
	kv := &KV{
		db: db, cfg: cfg, t: t,
		getSQL:   "SELECT `value`, `expires_at` IS NOT NULL AND `expires_at` <= UTC_TIMESTAMP(6) FROM " + t + " WHERE `key` = ?",
		delSQL:   "DELETE FROM " + t + " WHERE `key` = ?",
		purgeKey: "DELETE FROM " + t + " WHERE `key` = ? AND `expires_at` <= UTC_TIMESTAMP(6)",
		purgeAll: fmt.Sprintf("DELETE FROM %s WHERE `expires_at` <= UTC_TIMESTAMP(6) LIMIT %d", t, purgeLimit),
	}
	kv.lastPurge.Store(time.Now().UnixNano())
	if cfg.CreateTable {
		err := kv.retry(ctx, func() error {
			_, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+t+` (
  `+"`key`"+` VARBINARY(1024) NOT NULL,
  `+"`value`"+` LONGBLOB NOT NULL,
  `+"`expires_at`"+` DATETIME(6) NULL,
  PRIMARY KEY (`+"`key`"+`),
  KEY `+"`expires_at`"+` (`+"`expires_at`"+`)
)`)
			return err
		})
		if err != nil {
			return nil, kv.fail("creating table", "", err)
		}
	}
	return kv, nil
}

func (kv *KV) retry(ctx context.Context, op func() error) error {
	return retrying(ctx, kv.cfg.Retry, kv.cfg.OnRetry, op)
}

func (kv *KV) fail(op, key string, err error) error {
	if key != "" {
		op += fmt.Sprintf(" key %q", key)
	}
	return fmt.Errorf("%s cache %s: %s: %w (%s)", system, kv.t, op, kv.db.scrub(err), classify(err))
}

func checkKey(key string) error {
	if len(key) > MaxKeyBytes {
		return fmt.Errorf("%s cache: key of %d bytes is longer than %d: shorten or hash it", system, len(key), MaxKeyBytes)
	}
	return nil
}

// Get returns the value of a live key, or ErrNotFound. An expired key it
// meets is deleted.
func (kv *KV) Get(ctx context.Context, key string) ([]byte, error) {
	var val []byte
	var expired bool
	err := kv.retry(ctx, func() error {
		return kv.db.QueryRowContext(ctx, kv.getSQL, key).Scan(&val, &expired)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, kv.fail("get", key, err)
	}
	if expired {
		// Conditional, so a concurrent Set of a fresh value survives.
		_, _ = kv.db.ExecContext(ctx, kv.purgeKey, key)
		return nil, ErrNotFound
	}
	return val, nil
}

// Item is one key/value pair of SetMulti; TTL <= 0 never expires.
type Item struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// upsert builds INSERT ... VALUES (...),... for items, with onDup as its
// ON DUPLICATE KEY UPDATE clause.
func (kv *KV) upsert(items []Item, onDup string) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 3*len(items))
	b.WriteString("INSERT INTO " + kv.t + " (`key`,`value`,`expires_at`) VALUES ")
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		val := it.Value
		if val == nil {
			val = []byte{}
		}
		args = append(args, it.Key, val)
		if it.TTL > 0 {
			b.WriteString("(?,?,UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)")
			args = append(args, max(it.TTL.Microseconds(), 1))
		} else {
			b.WriteString("(?,?,NULL)")
		}
	}
	b.WriteString(" ON DUPLICATE KEY UPDATE ")
	b.WriteString(onDup)
	return b.String(), args
}

const setClause = "`value`=VALUES(`value`),`expires_at`=VALUES(`expires_at`)"

// addClause replaces an expired row only. MySQL assigns left to right and a
// later assignment sees the new value of an earlier column, so `value` goes
// first: its assignment leaves `expires_at` untouched for the second test.
// A live row is left unchanged, which the server reports as 0 rows
// affected (the pool runs without CLIENT_FOUND_ROWS).
const addClause = "`value`=IF(`expires_at` <= UTC_TIMESTAMP(6), VALUES(`value`), `value`)," +
	"`expires_at`=IF(`expires_at` <= UTC_TIMESTAMP(6), VALUES(`expires_at`), `expires_at`)"

// Set stores value under key, replacing any value.
func (kv *KV) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return kv.SetMulti(ctx, Item{Key: key, Value: value, TTL: ttl})
}

// SetMulti stores several items in one statement.
func (kv *KV) SetMulti(ctx context.Context, items ...Item) error {
	if len(items) == 0 {
		return nil
	}
	for _, it := range items {
		if err := checkKey(it.Key); err != nil {
			return err
		}
	}
	q, args := kv.upsert(items, setClause)
	err := kv.retry(ctx, func() error {
		_, err := kv.db.ExecContext(ctx, q, args...)
		return err
	})
	if err != nil {
		key := items[0].Key
		if len(items) > 1 {
			key = ""
		}
		return kv.fail(fmt.Sprintf("set of %d items", len(items)), key, err)
	}
	kv.maybePurge(ctx)
	return nil
}

// Add stores value under key unless a live (unexpired) value exists, in
// which case it returns ErrExists. It is atomic across processes.
func (kv *KV) Add(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	q, args := kv.upsert([]Item{{Key: key, Value: value, TTL: ttl}}, addClause)
	var affected int64
	err := kv.retry(ctx, func() error {
		res, err := kv.db.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		affected, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return kv.fail("add", key, err)
	}
	if affected == 0 {
		return ErrExists
	}
	kv.maybePurge(ctx)
	return nil
}

// Delete removes key; a missing key is not an error.
func (kv *KV) Delete(ctx context.Context, key string) error {
	err := kv.retry(ctx, func() error {
		_, err := kv.db.ExecContext(ctx, kv.delSQL, key)
		return err
	})
	if err != nil {
		return kv.fail("delete", key, err)
	}
	return nil
}

// maybePurge deletes a bounded number of expired rows, at most once per
// PurgeInterval per KV, on the caller's goroutine (no background work to
// stop). A failure is ignored: the next purge tries again.
func (kv *KV) maybePurge(ctx context.Context) {
	if kv.cfg.PurgeInterval <= 0 {
		return
	}
	last := kv.lastPurge.Load()
	now := time.Now().UnixNano()
	if now-last < int64(kv.cfg.PurgeInterval) || !kv.lastPurge.CompareAndSwap(last, now) {
		return
	}
	_, _ = kv.db.ExecContext(ctx, kv.purgeAll)
}
