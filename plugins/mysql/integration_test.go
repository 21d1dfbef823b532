package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// testDSN is the server the integration tests use; tests/run.sh makes sure
// it answers.
func testDSN() string {
	if d := os.Getenv("MYSQL_DSN"); d != "" {
		return d
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

// dsnWith returns the test DSN with extra driver parameters.
func dsnWith(t *testing.T, params map[string]string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(testDSN())
	if err != nil {
		t.Fatalf("MYSQL_DSN: %v", err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	for k, v := range params {
		cfg.Params[k] = v
	}
	return cfg.FormatDSN()
}

// testDB opens the test server or fails the test loudly.
func testDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", testDSN())
	if err != nil {
		t.Fatalf("MYSQL_DSN %q: %v", RedactDSN(testDSN()), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("MariaDB/MySQL does not answer at MYSQL_DSN=%s: %v (run ./tests/run.sh, which starts it)", RedactDSN(testDSN()), err)
	}
	return db
}

var tableSeq atomic.Int64

// newTable creates a table unique to this test (and process) from a
// column definition list, and drops it when the test ends.
func newTable(t *testing.T, db *sql.DB, prefix, defs string) string {
	t.Helper()
	name := fmt.Sprintf("%s_%d_%d_%d", prefix, os.Getpid(), time.Now().UnixNano()%1e6, tableSeq.Add(1))
	mustExec(t, db, fmt.Sprintf("CREATE TABLE `%s` (%s) ENGINE=InnoDB", name, defs))
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS `" + name + "`") })
	return name
}

func mustExec(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// startOutput builds and connects a mysql output from the YAML of its fields.
func startOutput(t *testing.T, yaml string) *mysqlOutput {
	t.Helper()
	conf, err := mysqlOutputSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	o, err := newMySQLOutputFromParsed(conf, service.MockResources())
	if err != nil {
		t.Fatalf("constructor: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = o.Close(context.Background()) })
	return o
}

func batchOf(docs ...string) service.MessageBatch {
	b := make(service.MessageBatch, len(docs))
	for i, d := range docs {
		b[i] = service.NewMessage([]byte(d))
	}
	return b
}

// dump returns the table's rows, ordered by the first column, as text.
func dump(t *testing.T, db *sql.DB, table, cols string) []string {
	t.Helper()
	rows, err := db.Query("SELECT CONCAT_WS('|'," + cols + ") FROM `" + table + "` ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func sameRows(t *testing.T, got []string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("table holds\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestIntegrationOutputUpsert(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		keys   string
		first  []string
		second []string
		want   []string
	}{
		{
			name:   "key columns: second write updates the other columns",
			keys:   "key_columns: [id]",
			first:  []string{`{"id":1,"name":"a","qty":1}`, `{"id":2,"name":"b","qty":2}`},
			second: []string{`{"id":2,"name":"b2","qty":20}`, `{"id":3,"name":"c","qty":3}`},
			want:   []string{"1|a|1", "2|b2|20", "3|c|3"},
		},
		{
			name:   "every column a key: a replay is ignored",
			keys:   "key_columns: [id, name, qty]",
			first:  []string{`{"id":1,"name":"a","qty":1}`},
			second: []string{`{"id":1,"name":"a","qty":1}`},
			want:   []string{"1|a|1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := newTable(t, db, "up", "id INT PRIMARY KEY, name VARCHAR(32) NOT NULL, qty INT")
			o := startOutput(t, fmt.Sprintf(`
dsn: %s
table: %s
columns: [id, name, qty]
%s
args_mapping: root = [this.id, this.name, this.qty]
`, testDSN(), table, tt.keys))
			for _, b := range [][]string{tt.first, tt.second} {
				if err := o.WriteBatch(ctx, batchOf(b...)); err != nil {
					t.Fatalf("write: %v", err)
				}
			}
			sameRows(t, dump(t, db, table, "id,name,qty"), tt.want...)
		})
	}

	t.Run("no key columns: plain insert, a replay adds rows", func(t *testing.T) {
		table := newTable(t, db, "ins", "seq INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(32), qty INT")
		o := startOutput(t, fmt.Sprintf(`
dsn: %s
table: %s
columns: [code, qty]
args_mapping: root = [this.code, this.qty]
`, testDSN(), table))
		b := []string{`{"code":"x","qty":1}`, `{"code":"y","qty":2}`}
		for range 2 {
			if err := o.WriteBatch(ctx, batchOf(b...)); err != nil {
				t.Fatalf("write: %v", err)
			}
		}
		sameRows(t, dump(t, db, table, "seq,code,qty"), "1|x|1", "2|y|2", "3|x|1", "4|y|2")
	})
}

// TestIntegrationOutputInitStatement creates and seeds the table with a
// two-statement init_statement, run when the output connects.
func TestIntegrationOutputInitStatement(t *testing.T) {
	db := testDB(t)
	table := fmt.Sprintf("init_%d_%d", os.Getpid(), tableSeq.Add(1))
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS `" + table + "`") })
	o := startOutput(t, fmt.Sprintf(`
dsn: %[1]s
init_statement: |
  CREATE TABLE IF NOT EXISTS %[2]s (id INT PRIMARY KEY, v VARCHAR(16));
  INSERT IGNORE INTO %[2]s VALUES (0, 'seed');
table: %[2]s
columns: [id, v]
key_columns: [id]
args_mapping: root = [this.id, this.v]
`, testDSN(), table))
	if err := o.WriteBatch(context.Background(), batchOf(`{"id":1,"v":"a"}`)); err != nil {
		t.Fatal(err)
	}
	sameRows(t, dump(t, db, table, "id,v"), "0|seed", "1|a")
}

// TestIntegrationOutputBadRows writes batches holding rows the server
// refuses: the others must land, and each refused message must fail with
// its index, key and reason.
func TestIntegrationOutputBadRows(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	parent := newTable(t, db, "parent", "id INT PRIMARY KEY")
	mustExec(t, db, "INSERT INTO `"+parent+"` VALUES (1),(2)")

	tests := []struct {
		name    string
		keys    string
		pre     string // rows present before the batch, as VALUES text
		docs    []string
		bad     map[int][]string // batch index -> texts its error must hold
		mapping string
		want    []string
	}{
		{
			name: "NOT NULL, type, length and range errors",
			keys: "key_columns: [id]",
			docs: []string{
				`{"id":10,"name":"ok","qty":1,"p":1}`,
				`{"id":11,"name":null,"qty":1,"p":1}`,
				`{"id":12,"name":"ok","qty":2,"p":2}`,
				`{"id":13,"name":"ok","qty":"abc","p":1}`,
				`{"id":14,"name":"this name is far too long for the column","qty":1,"p":1}`,
				`{"id":15,"name":"ok","qty":99999999999,"p":1}`,
				`{"id":16,"name":"ok","qty":3,"p":1}`,
			},
			bad: map[int][]string{
				1: {"row 1 of the batch", "id=11", "Error 1048", "NOT NULL"},
				3: {"row 3 of the batch", "id=13", "Error 1366", "qty"},
				4: {"row 4 of the batch", "id=14", "Error 1406"},
				5: {"row 5 of the batch", "id=15", "Error 1264"},
			},
			want: []string{"10|ok|1|1", "12|ok|2|2", "16|ok|3|1"},
		},
		{
			name: "foreign key",
			keys: "key_columns: [id]",
			docs: []string{`{"id":20,"name":"ok","qty":1,"p":1}`, `{"id":21,"name":"ok","qty":1,"p":7}`},
			bad:  map[int][]string{1: {"row 1 of the batch", "id=21", "Error 1452", "foreign key"}},
			want: []string{"20|ok|1|1"},
		},
		{
			name: "duplicate key without key_columns",
			pre:  "(30,'old',1,1)",
			docs: []string{`{"id":31,"name":"ok","qty":1,"p":1}`, `{"id":30,"name":"dup","qty":1,"p":1}`, `{"id":32,"name":"ok","qty":1,"p":2}`},
			bad:  map[int][]string{1: {"row 1 of the batch", "id=30", "Error 1062", "set key_columns"}},
			want: []string{"30|old|1|1", "31|ok|1|1", "32|ok|1|2"},
		},
		{
			name:    "a message args_mapping cannot turn into a row",
			keys:    "key_columns: [id]",
			docs:    []string{`{"id":40,"name":"ok","qty":1,"p":1}`, `{"id":41}`, `not json`},
			mapping: `root = if this.name != null { [this.id, this.name, this.qty, this.p] } else { [this.id] }`,
			bad: map[int][]string{
				1: {"message 1", "array of 4 values"},
				2: {"message 2", "args_mapping failed"},
			},
			want: []string{"40|ok|1|1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := newTable(t, db, "bad", fmt.Sprintf(
				"id INT PRIMARY KEY, name VARCHAR(16) NOT NULL, qty INT, p INT, FOREIGN KEY (p) REFERENCES `%s`(id)", parent))
			if tt.pre != "" {
				mustExec(t, db, "INSERT INTO `"+table+"` VALUES "+tt.pre)
			}
			mapping := tt.mapping
			if mapping == "" {
				mapping = "root = [this.id, this.name, this.qty, this.p]"
			}
			o := startOutput(t, fmt.Sprintf("dsn: %s\ntable: %s\ncolumns: [id, name, qty, p]\n%s\nargs_mapping: '%s'\n",
				testDSN(), table, tt.keys, strings.ReplaceAll(mapping, "'", "''")))
			batch := batchOf(tt.docs...)
			idx := batch.Index()
			err := o.WriteBatch(ctx, batch)
			var berr *service.BatchError
			if !errors.As(err, &berr) {
				t.Fatalf("want a *service.BatchError, got %T %v", err, err)
			}
			failed := map[int]bool{}
			berr.WalkMessagesIndexedBy(idx, func(i int, _ *service.Message, err error) bool {
				if err == nil {
					return true
				}
				failed[i] = true
				t.Logf("message %d: %v", i, err)
				want, ok := tt.bad[i]
				if !ok {
					t.Errorf("message %d failed but should have been written: %v", i, err)
					return true
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("message %d: error %q does not mention %q", i, err, w)
					}
				}
				meta, ok := batch[i].MetaGet(MetaError)
				if !ok || meta != err.Error() {
					t.Errorf("message %d: metadata %s = %q, want the error", i, MetaError, meta)
				}
				return true
			})
			for i := range tt.bad {
				if !failed[i] {
					t.Errorf("message %d was refused by the server but not reported", i)
				}
			}
			sameRows(t, dump(t, db, table, "id,name,qty,p"), tt.want...)
		})
	}
}

func TestIntegrationOutputStatementError(t *testing.T) {
	o := startOutput(t, fmt.Sprintf("dsn: %s\ntable: no_such_table_here\ncolumns: [id]\nargs_mapping: root = [this.id]\n", testDSN()))
	err := o.WriteBatch(context.Background(), batchOf(`{"id":1}`, `{"id":2}`))
	var berr *service.BatchError
	if err == nil || errors.As(err, &berr) {
		t.Fatalf("want a plain error failing the whole batch, got %T %v", err, err)
	}
	for _, w := range []string{"`no_such_table_here`", "2 rows", "Error 1146", "permanent"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// lockWaiting waits until a transaction on the server waits for a lock
// on table (the output's statement is blocked) and returns its connection
// id, or fails the test. InnoDB refreshes INNODB_TRX only when it was not
// read for 100 ms: poll more slowly than that, or the view never changes.
func lockWaiting(t *testing.T, db *sql.DB, table string) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		var id int64
		err := db.QueryRow(`SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX
			WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE ? LIMIT 1`, "%"+table+"%").Scan(&id)
		if err == nil {
			return id
		}
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the output's statement never waited for the lock")
		}
	}
	return 0
}

// TestIntegrationOutputDeadlockRetried provokes a real deadlock (1213)
// in which the output's statement is the victim, and checks that the
// output retried it and succeeded.
//
// A test transaction locks row 2, the output's upsert locks row 1 and
// waits for row 2, then the test transaction asks for row 1: a cycle.
// InnoDB rolls back the lighter transaction, and the test's has first
// written 200 filler rows, so the victim is the output's.
func TestIntegrationOutputDeadlockRetried(t *testing.T) {
	db := testDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	table := newTable(t, db, "dl", "id INT PRIMARY KEY, v VARCHAR(16)")
	filler := newTable(t, db, "dlf", "id INT PRIMARY KEY")
	mustExec(t, db, "INSERT INTO `"+table+"` VALUES (1,'init'),(2,'init')")

	o := startOutput(t, fmt.Sprintf(`
dsn: %s
table: %s
columns: [id, v]
key_columns: [id]
args_mapping: root = [this.id, this.v]
backoff: {initial_interval: 20ms, max_interval: 100ms}
`, testDSN(), table))
	retried := make(chan error, 10)
	onRetry := o.wcfg.OnRetry
	o.writer.cfg.OnRetry = func(err error, attempt int, wait time.Duration) {
		onRetry(err, attempt, wait)
		retried <- err
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	var vals []string
	for i := range 200 {
		vals = append(vals, fmt.Sprintf("(%d)", i))
	}
	mustExec(t, tx, "INSERT INTO `"+filler+"` VALUES "+strings.Join(vals, ","))
	mustExec(t, tx, "UPDATE `"+table+"` SET v = 'test' WHERE id = 2")

	done := make(chan error, 1)
	go func() {
		done <- o.WriteBatch(ctx, batchOf(`{"id":1,"v":"output"}`, `{"id":2,"v":"output"}`))
	}()
	lockWaiting(t, db, table)

	// Closing the cycle: the output's statement is rolled back as the
	// victim, which lets this update of row 1 through.
	if _, err := tx.ExecContext(ctx, "UPDATE `"+table+"` SET v = 'test' WHERE id = 1"); err != nil {
		t.Fatalf("the test's transaction was chosen as the deadlock victim: %v", err)
	}
	select {
	case err := <-retried:
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != erLockDeadlock {
			t.Fatalf("retried %v, want a deadlock (1213)", err)
		}
	case err := <-done:
		t.Fatalf("the write ended (%v) before any retry", err)
	}
	// The retry waits for the test's locks; committing releases them.
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write after the deadlock: %v", err)
	}
	if o.writer.Retries() < 1 {
		t.Fatalf("retries = %d", o.writer.Retries())
	}
	sameRows(t, dump(t, db, table, "id,v"), "1|output", "2|output")
}

// TestIntegrationOutputLockWaitRetried holds a row lock from another
// connection past the output session's lock-wait timeout (1 s), then
// releases it once the output has retried: the write must succeed.
func TestIntegrationOutputLockWaitRetried(t *testing.T) {
	db := testDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	table := newTable(t, db, "lw", "id INT PRIMARY KEY, v VARCHAR(16)")
	mustExec(t, db, "INSERT INTO `"+table+"` VALUES (1,'init')")

	o := startOutput(t, fmt.Sprintf(`
dsn: %s
table: %s
columns: [id, v]
key_columns: [id]
args_mapping: root = [this.id, this.v]
backoff: {initial_interval: 20ms, max_interval: 100ms}
`, dsnWith(t, map[string]string{"innodb_lock_wait_timeout": "1"}), table))
	retried := make(chan error, 10)
	o.writer.cfg.OnRetry = func(err error, _ int, _ time.Duration) { retried <- err }

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	mustExec(t, tx, "SELECT v FROM `"+table+"` WHERE id = 1 FOR UPDATE")

	done := make(chan error, 1)
	go func() { done <- o.WriteBatch(ctx, batchOf(`{"id":1,"v":"output"}`)) }()
	select {
	case err := <-retried:
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != erLockWaitTimeout {
			t.Fatalf("retried %v, want a lock-wait timeout (1205)", err)
		}
	case err := <-done:
		t.Fatalf("the write ended (%v) before any retry", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
	sameRows(t, dump(t, db, table, "id,v"), "1|output")
}

// TestIntegrationOutputConnectionLost kills the output's connection while
// its statement waits for a lock: the output must retry on a new
// connection and succeed once the lock is released.
func TestIntegrationOutputConnectionLost(t *testing.T) {
	db := testDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	table := newTable(t, db, "lost", "id INT PRIMARY KEY, v VARCHAR(16)")
	mustExec(t, db, "INSERT INTO `"+table+"` VALUES (1,'init')")
	o := startOutput(t, fmt.Sprintf(`
dsn: %s
table: %s
columns: [id, v]
key_columns: [id]
args_mapping: root = [this.id, this.v]
backoff: {initial_interval: 20ms, max_interval: 100ms}
`, testDSN(), table))
	retried := make(chan error, 10)
	o.writer.cfg.OnRetry = func(err error, _ int, _ time.Duration) { retried <- err }

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	mustExec(t, tx, "SELECT v FROM `"+table+"` WHERE id = 1 FOR UPDATE")

	done := make(chan error, 1)
	go func() { done <- o.WriteBatch(ctx, batchOf(`{"id":1,"v":"output"}`)) }()
	victim := lockWaiting(t, db, table)
	mustExec(t, db, fmt.Sprintf("KILL CONNECTION %d", victim))
	select {
	case err := <-retried:
		if classify(err) != classTransient {
			t.Fatalf("retried %v, which is not a transient error", err)
		}
		t.Logf("retried after: %v", err)
	case err := <-done:
		t.Fatalf("the write ended (%v) before any retry", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write after the connection was killed: %v", err)
	}
	sameRows(t, dump(t, db, table, "id,v"), "1|output")
}

// TestIntegrationOutputLargeBatch writes a batch that must be split by the
// packet budget (maxAllowedPacket=64KiB on the driver).
func TestIntegrationOutputLargeBatch(t *testing.T) {
	db := testDB(t)
	table := newTable(t, db, "big", "id INT PRIMARY KEY, body TEXT")
	o := startOutput(t, fmt.Sprintf("dsn: %s\ntable: %s\ncolumns: [id, body]\nkey_columns: [id]\nargs_mapping: root = [this.id, this.body]\n",
		dsnWith(t, map[string]string{"maxAllowedPacket": "65536"}), table))
	if o.writer.budget > 32<<10 {
		t.Fatalf("budget %d ignores maxAllowedPacket", o.writer.budget)
	}
	body := strings.Repeat("x", 2000)
	docs := make([]string, 200)
	for i := range docs {
		docs[i] = fmt.Sprintf(`{"id":%d,"body":%q}`, i, body)
	}
	if err := o.WriteBatch(context.Background(), batchOf(docs...)); err != nil {
		t.Fatalf("write: %v", err)
	}
	var n, total int
	if err := db.QueryRow("SELECT COUNT(*), SUM(LENGTH(body)) FROM `"+table+"`").Scan(&n, &total); err != nil {
		t.Fatal(err)
	}
	if n != 200 || total != 200*len(body) {
		t.Fatalf("%d rows, %d bytes; want 200 rows, %d bytes", n, total, 200*len(body))
	}
}

// TestIntegrationSecretsStayOut checks that a DSN's password appears in no
// error, whether the DSN does not parse, the server refuses the login or
// nothing answers.
func TestIntegrationSecretsStayOut(t *testing.T) {
	testDB(t)
	const secret = "Pw-s3cret-XYZ"
	cfg, err := mysql.ParseDSN(testDSN())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dsn  string
		want string
	}{
		{"server refuses the password", fmt.Sprintf("%s:%s@tcp(%s)/%s", cfg.User, secret, cfg.Addr, cfg.DBName), "Error 1045"},
		{"nothing answers", fmt.Sprintf("root:%s@tcp(127.0.0.1:1)/test?timeout=2s", secret), "127.0.0.1:1"},
		{"DSN does not parse", fmt.Sprintf("root:%s@tcp(127.0.0.1:3306)/test?timeout=%s", secret, secret), "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := fmt.Sprintf("dsn: '%s'\ntable: t\ncolumns: [id]\nargs_mapping: root = [this.id]\n", tt.dsn)
			conf, err := mysqlOutputSpec().ParseYAML(yaml, nil)
			if err != nil {
				t.Fatal(err)
			}
			o, err := newMySQLOutputFromParsed(conf, service.MockResources())
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				err = o.Connect(ctx)
				_ = o.Close(ctx)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}
