// Package mysql holds erpsync's MySQL / MariaDB components, built on
// github.com/go-sql-driver/mysql:
//
//   - output `mysql` (output_mysql.go): one multi-row INSERT per batch, an
//     upsert (INSERT ... ON DUPLICATE KEY UPDATE col=VALUES(col)) when
//     key_columns are set, retries of deadlocks, lock-wait timeouts and lost
//     connections, and per-row errors for rows the server rejects, so the
//     good rows of a batch land and only the bad ones go to a dead letter;
//   - cache `mysql` (cache_mysql.go): a key/value table with TTLs that
//     several erpsync processes can share for checkpoints, ledgers and
//     lookups.
//
// client.go and kv.go speak SQL only and know nothing of Benthos: identifier
// validation and quoting, DSN handling (a DSN's password never reaches an
// error or a log line), error classification, statement building, batch
// splitting, retries and the search for the failing rows of a batch.
package mysql
