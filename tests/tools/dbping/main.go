// Command dbping tells tests/run.sh whether MySQL/MariaDB answers at a DSN.
//
// Exit codes: 0 the server answered and the database is usable; 2 nothing
// answers (connection refused, timeout); 3 a server answered but refused the
// login or the database (it needs configuring, not starting); 1 anything else.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/go-sql-driver/mysql"
)

func main() {
	dsn := flag.String("dsn", "root@tcp(127.0.0.1:3306)/test", "go-sql-driver/mysql DSN")
	timeout := flag.Duration("timeout", 3*time.Second, "how long to wait for an answer")
	flag.Parse()

	cfg, err := mysql.ParseDSN(*dsn)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dbping: invalid MYSQL_DSN: %v\n", err)
		os.Exit(1)
	}
	cfg.Timeout = *timeout
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		fmt.Fprintf(os.Stderr, "dbping: %v\n", err)
		os.Exit(1)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var version string
	err = db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version)
	if err == nil {
		fmt.Printf("dbping: %s answers at %s (database %q)\n", version, cfg.Addr, cfg.DBName)
		return
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		// 1044/1045 access denied, 1049 unknown database, 1698 socket-only root.
		fmt.Fprintf(os.Stderr, "dbping: server at %s refused: %v\n", cfg.Addr, err)
		os.Exit(3)
	}
	fmt.Fprintf(os.Stderr, "dbping: nothing answers at %s: %v\n", cfg.Addr, err)
	os.Exit(2)
}
