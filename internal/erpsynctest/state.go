package erpsynctest

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	// The MySQL driver for OpenDB.
	_ "github.com/go-sql-driver/mysql"
)

// MySQLDSN is the MariaDB/MySQL of the integration tests: $MYSQL_DSN, or
// the local server tests/run.sh starts.
func MySQLDSN() string {
	if d := os.Getenv("MYSQL_DSN"); d != "" {
		return d
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

// OpenDB opens MySQLDSN, with extra DSN parameters such as
// "parseTime=true", closed when the test ends. It fails the test when no
// server answers: these are integration tests, not optional ones.
func OpenDB(tb testing.TB, params ...string) *sql.DB {
	tb.Helper()
	dsn := MySQLDSN()
	for _, p := range params {
		if strings.Contains(dsn, "?") {
			dsn += "&" + p
		} else {
			dsn += "?" + p
		}
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		tb.Fatalf("MariaDB/MySQL does not answer at MYSQL_DSN (tests/run.sh starts it): %v", err)
	}
	return db
}

// StateDir returns a fresh ERPSYNC_STATE_DIR with the sub-folders the
// shipped configs' file caches and dead letters need.
func StateDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, sub := range []string{"checkpoints", "ledgers", "dead_letters", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}
