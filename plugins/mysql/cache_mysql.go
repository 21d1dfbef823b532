package mysql

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	mcFieldTable         = "table"
	mcFieldCreateTable   = "create_table"
	mcFieldDefaultTTL    = "default_ttl"
	mcFieldPurgeInterval = "purge_interval"
)

func mysqlCacheSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("A key/value cache in a MySQL or MariaDB table, with TTLs, that several erpsync processes can share: checkpoints, write ledgers, lookups.").
		Description(`
The table (created when missing unless `+"`create_table: false`"+`) is

`+"```sql"+`
CREATE TABLE IF NOT EXISTS erpsync_cache (
  `+"`key`"+` VARBINARY(1024) NOT NULL PRIMARY KEY,
  `+"`value`"+` LONGBLOB NOT NULL,
  `+"`expires_at`"+` DATETIME(6) NULL,
  KEY `+"`expires_at`"+` (`+"`expires_at`"+`)
)
`+"```"+`

Keys compare byte for byte (no collation folds case or trailing spaces) and hold at most 1024 bytes.
Expiry uses the database server's UTC clock, so processes whose clocks or time zones differ agree.
An expired key reads as missing and is deleted when read; besides, a write deletes up to 1000 expired
rows at most once per `+"`purge_interval`"+`.

`+"`add`"+` is atomic across processes: it inserts the key, or replaces it when the stored value has expired,
and otherwise fails with "key already exists". Every operation is a single statement retried on
deadlocks and lost connections. An `+"`add`"+` retried after a lost connection may report "key already
exists" for a value it had itself stored.
`).
		Fields(connFields(4)...).
		Fields(
			service.NewStringField(mcFieldTable).
				Description("Table holding the keys, optionally `schema.table`.").
				Default("erpsync_cache"),
			service.NewBoolField(mcFieldCreateTable).
				Description("Create the table when it is missing (needs the CREATE grant).").
				Default(true).Advanced(),
			service.NewDurationField(mcFieldDefaultTTL).
				Description("TTL of keys set without one; unset keys set without a TTL never expire.").
				Optional().Example("24h"),
			service.NewDurationField(mcFieldPurgeInterval).
				Description("How often at most a write also deletes expired rows; `0s` only deletes expired keys when they are read.").
				Default("1m").Advanced(),
		).
		LintRule(fmt.Sprintf(`root = if this.table.type() == "string" && !this.table.re_match("^%[1]s([.]%[1]s)?$") { ["table %%q is not a valid MySQL table name: %[2]s (optionally schema.table)".format(this.table)] }`, identPattern, identRule)).
		Example("Shared de-duplication", "Several replicas of a stream drop documents any of them already passed on in the last week: `dedupe` adds the key, and the add is atomic across processes. The same resource can hold a polling input's `checkpoint.cache`.", exampleCacheDedupe)
}

type mysqlCache struct {
	conn       ConnConfig
	kcfg       KVConfig
	defaultTTL time.Duration
	log        *service.Logger

	mu sync.Mutex
	db *DB
	kv *KV
}

func newMySQLCacheFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*mysqlCache, error) {
	c := &mysqlCache{log: mgr.Logger()}
	var err error
	if c.conn, c.kcfg.Retry, err = connConfigFromParsed(conf); err != nil {
		return nil, err
	}
	c.conn.Logger = func(msg string) { c.log.Warnf("mysql driver: %s", msg) }
	if c.kcfg.Table, err = conf.FieldString(mcFieldTable); err != nil {
		return nil, err
	}
	if err := ValidateTable(c.kcfg.Table); err != nil {
		return nil, fmt.Errorf("mysql cache: %w", err)
	}
	if c.kcfg.CreateTable, err = conf.FieldBool(mcFieldCreateTable); err != nil {
		return nil, err
	}
	if c.kcfg.PurgeInterval, err = conf.FieldDuration(mcFieldPurgeInterval); err != nil {
		return nil, err
	}
	if conf.Contains(mcFieldDefaultTTL) {
		if c.defaultTTL, err = conf.FieldDuration(mcFieldDefaultTTL); err != nil {
			return nil, err
		}
	}
	c.kcfg.OnRetry = func(err error, attempt int, wait time.Duration) {
		c.log.Warnf("%v; retry %d of %d in %s", err, attempt, c.kcfg.Retry.MaxRetries, wait.Round(time.Millisecond))
	}
	return c, nil
}

// store connects on first use, so a database that is down when the stream
// starts only fails the operations tried before it comes back.
func (c *mysqlCache) store(ctx context.Context) (*KV, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kv != nil {
		return c.kv, nil
	}
	// Add tells a refused add by "0 rows affected", which CLIENT_FOUND_ROWS
	// would turn into 1: keep it off whatever the DSN says.
	db, err := Open(ctx, c.conn, func(cfg *mysql.Config) { cfg.ClientFoundRows = false })
	if err != nil {
		return nil, err
	}
	kv, err := NewKV(ctx, db, c.kcfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	c.db, c.kv = db, kv
	return kv, nil
}

func (c *mysqlCache) ttl(ttl *time.Duration) time.Duration {
	if ttl == nil {
		return c.defaultTTL
	}
	return *ttl
}

func cacheErr(err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return service.ErrKeyNotFound
	case errors.Is(err, ErrExists):
		return service.ErrKeyAlreadyExists
	}
	return err
}

func (c *mysqlCache) Get(ctx context.Context, key string) ([]byte, error) {
	kv, err := c.store(ctx)
	if err != nil {
		return nil, err
	}
	v, err := kv.Get(ctx, key)
	return v, cacheErr(err)
}

func (c *mysqlCache) Set(ctx context.Context, key string, value []byte, ttl *time.Duration) error {
	kv, err := c.store(ctx)
	if err != nil {
		return err
	}
	return kv.Set(ctx, key, value, c.ttl(ttl))
}

// SetMulti sets several keys in one statement (Benthos uses it when a
// cache output writes a batch).
func (c *mysqlCache) SetMulti(ctx context.Context, items ...service.CacheItem) error {
	kv, err := c.store(ctx)
	if err != nil {
		return err
	}
	its := make([]Item, len(items))
	for i, it := range items {
		its[i] = Item{Key: it.Key, Value: it.Value, TTL: c.ttl(it.TTL)}
	}
	return kv.SetMulti(ctx, its...)
}

func (c *mysqlCache) Add(ctx context.Context, key string, value []byte, ttl *time.Duration) error {
	kv, err := c.store(ctx)
	if err != nil {
		return err
	}
	return cacheErr(kv.Add(ctx, key, value, c.ttl(ttl)))
}

func (c *mysqlCache) Delete(ctx context.Context, key string) error {
	kv, err := c.store(ctx)
	if err != nil {
		return err
	}
	return kv.Delete(ctx, key)
}

func (c *mysqlCache) Close(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db == nil {
		return nil
	}
	err := c.db.Close()
	c.db, c.kv = nil, nil
	return err
}

func init() {
	service.MustRegisterCache("mysql", mysqlCacheSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.Cache, error) {
			return newMySQLCacheFromParsed(conf, mgr)
		})
}

// Examples of the spec, linted by TestSpecExamplesLint.
const exampleCacheDedupe = `
cache_resources:
  - label: shared_state
    mysql:
      dsn: erpsync:${MYSQL_PASSWORD}@tcp(mysql:3306)/erpsync
      table: erpsync_cache
      default_ttl: 168h

pipeline:
  processors:
    - dedupe:
        cache: shared_state
        key: ${! meta("source_id") }-${! content().hash("xxhash64").encode("hex") }
`
