package mysql

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redpanda-data/benthos/v4/public/service"
)

func TestValidateNames(t *testing.T) {
	tests := []struct {
		name    string
		table   string
		columns []string
		keys    []string
		wantErr string
	}{
		{name: "plain", table: "orders", columns: []string{"id", "sku_$1"}},
		{name: "schema qualified", table: "bi.orders_2024", columns: []string{"id"}, keys: []string{"id"}},
		{name: "reserved word is fine, it is quoted", table: "order", columns: []string{"key", "value"}},
		{name: "backquote in table", table: "t`; DROP TABLE x; --", columns: []string{"id"}, wantErr: "not a valid MySQL table name"},
		{name: "space in table", table: "my table", columns: []string{"id"}, wantErr: "not a valid MySQL table name"},
		{name: "three parts", table: "a.b.c", columns: []string{"id"}, wantErr: "not a valid MySQL table name"},
		{name: "leading digit", table: "1orders", columns: []string{"id"}, wantErr: "not a valid MySQL table name"},
		{name: "too long", table: strings.Repeat("a", 65), columns: []string{"id"}, wantErr: "at most 64 characters"},
		{name: "no columns", table: "t", wantErr: "columns is empty"},
		{name: "bad column", table: "t", columns: []string{"id", "na-me"}, wantErr: `column "na-me" is not a valid MySQL identifier`},
		{name: "injection in column", table: "t", columns: []string{"id", "a`=1"}, wantErr: "not a valid MySQL identifier"},
		{name: "duplicate column", table: "t", columns: []string{"id", "ID"}, wantErr: "listed twice"},
		{name: "bad key column", table: "t", columns: []string{"id"}, keys: []string{"i d"}, wantErr: "key column"},
		{name: "key column not a column", table: "t", columns: []string{"id"}, keys: []string{"sku"}, wantErr: `key column "sku" is not one of columns`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateTarget(tt.table, tt.columns, tt.keys)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestOutputConfigRejectsBadNames checks that bad names fail at config
// time, both in the linter and in the constructor.
func TestOutputConfigRejectsBadNames(t *testing.T) {
	tests := []struct {
		name, fields, want string
	}{
		{"table", "table: 'orders; drop'\ncolumns: [id]", `table "orders; drop" is not a valid MySQL table name`},
		{"column", "table: orders\ncolumns: [id, 'amount`']", "column \"amount`\" is not a valid MySQL identifier"},
		{"key column", "table: orders\ncolumns: [id]\nkey_columns: [sku]", `key column "sku" is not one of columns`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "dsn: root@tcp(127.0.0.1:3306)/test\nargs_mapping: root = [this.id]\n" + tt.fields
			conf, err := mysqlOutputSpec().ParseYAML(yaml, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err = newMySQLOutputFromParsed(conf, service.MockResources()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("constructor: error %v, want one containing %q", err, tt.want)
			}
			err = service.NewStreamBuilder().AddOutputYAML("mysql:\n" + indent(yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("lint: error %v, want one containing %q", err, tt.want)
			}
		})
	}
	// and a good config lints clean
	good := "mysql:\n  dsn: root@tcp(127.0.0.1:3306)/test\n  table: bi.orders\n  columns: [id, sku]\n  key_columns: [id]\n  args_mapping: root = [this.id, this.sku]\n"
	if err := service.NewStreamBuilder().AddOutputYAML(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

func TestInsertStatement(t *testing.T) {
	tests := []struct {
		name    string
		table   string
		columns []string
		keys    []string
		rows    int
		want    string
	}{
		{"plain insert", "t", []string{"a", "b"}, nil, 2,
			"INSERT INTO `t` (`a`,`b`) VALUES (?,?),(?,?)"},
		{"upsert", "s.t", []string{"id", "b", "c"}, []string{"id"}, 1,
			"INSERT INTO `s`.`t` (`id`,`b`,`c`) VALUES (?,?,?) ON DUPLICATE KEY UPDATE `b`=VALUES(`b`),`c`=VALUES(`c`)"},
		{"every column a key", "t", []string{"a", "b"}, []string{"a", "b"}, 1,
			"INSERT INTO `t` (`a`,`b`) VALUES (?,?) ON DUPLICATE KEY UPDATE `a`=`a`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWriter(nil, WriterConfig{Table: tt.table, Columns: tt.columns, KeyColumns: tt.keys})
			if err != nil {
				t.Fatal(err)
			}
			if got := w.statement(tt.rows); got != tt.want {
				t.Fatalf("statement:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestChunkEnd(t *testing.T) {
	cols := make([]string, 10)
	for i := range cols {
		cols[i] = fmt.Sprintf("c%d", i)
	}
	w, err := NewWriter(&DB{MaxPacket: 64 << 10}, WriterConfig{Table: "t", Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	small := make([][]any, 7000)
	for i := range small {
		small[i] = make([]any, 10)
	}
	big := make([][]any, 100)
	for i := range big {
		big[i] = []any{strings.Repeat("x", 1000), 1, 2, 3, 4, 5, 6, 7, 8, 9}
	}
	tests := []struct {
		name string
		rows [][]any
		want []int // statement sizes
	}{
		{"many small rows", small, nil},
		{"large rows", big, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sizes []int
			for lo := 0; lo < len(tt.rows); {
				hi := w.chunkEnd(tt.rows, lo)
				if hi <= lo {
					t.Fatalf("no progress at %d", lo)
				}
				size := 0
				for _, r := range tt.rows[lo:hi] {
					size += rowSize(r)
				}
				if hi-lo > 1 && size > w.budget {
					t.Fatalf("statement of %d rows carries %d bytes, over the %d budget", hi-lo, size, w.budget)
				}
				if (hi-lo)*10 > maxPlaceholders {
					t.Fatalf("statement of %d rows has more than %d placeholders", hi-lo, maxPlaceholders)
				}
				sizes = append(sizes, hi-lo)
				lo = hi
			}
			if len(sizes) < 2 {
				t.Fatalf("batch of %d rows sent as one statement", len(tt.rows))
			}
			if tt.want != nil && fmt.Sprint(sizes) != fmt.Sprint(tt.want) {
				t.Fatalf("statement sizes %v, want %v", sizes, tt.want)
			}
		})
	}
	// The placeholder limit alone, with a budget that does not bind.
	w.budget = 1 << 30
	if hi := w.chunkEnd(small, 0); hi != maxPlaceholders/10 {
		t.Fatalf("first statement has %d rows, want %d", hi, maxPlaceholders/10)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want class
	}{
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, classTransient},
		{&mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"}, classTransient},
		{fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: 2013}), classTransient},
		{driver.ErrBadConn, classTransient},
		{mysql.ErrInvalidConn, classTransient},
		{io.ErrUnexpectedEOF, classTransient},
		{&mysql.MySQLError{Number: 1062}, classRow},
		{&mysql.MySQLError{Number: 1452}, classRow},
		{&mysql.MySQLError{Number: 1048}, classRow},
		{&mysql.MySQLError{Number: 1366}, classRow},
		{&mysql.MySQLError{Number: 1264}, classRow},
		{&mysql.MySQLError{Number: 1406}, classRow},
		{&mysql.MySQLError{Number: 1153}, classTooLarge},
		{mysql.ErrPktTooLarge, classTooLarge},
		{&mysql.MySQLError{Number: 1146}, classFatal},
		{&mysql.MySQLError{Number: 1054}, classFatal},
		{errors.New("something else"), classFatal},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"root:pa:ss@w/rd@tcp(db:3306)/test", "root:***@tcp(db:3306)/test"},
		{"root@tcp(db:3306)/test", "root@tcp(db:3306)/test"},
		{"u:secret@/db?x=1", "u:***@/db?x=1"},
		{"u:@tcp(h)/db", "u:@tcp(h)/db"},
	}
	for _, tt := range tests {
		if got := RedactDSN(tt.dsn); got != tt.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
	// A DSN the driver rejects is reported without its password.
	_, _, err := parseDSN("root:Sup3rSecret@tcp(db:3306/test?timeout=xx")
	if err == nil {
		t.Fatal("bad DSN parsed")
	}
	if strings.Contains(err.Error(), "Sup3rSecret") || !strings.Contains(err.Error(), "***") {
		t.Fatalf("error leaks or hides the DSN badly: %v", err)
	}
	_, _, err = parseDSN("root:Sup3rSecret@tcp(db:3306)/test?timeout=Sup3rSecret")
	if err == nil || strings.Contains(err.Error(), "Sup3rSecret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestRetrying(t *testing.T) {
	deadlock := &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}
	p := RetryPolicy{MaxRetries: 3, Initial: time.Microsecond, Max: time.Microsecond}
	tests := []struct {
		name      string
		failures  []error
		wantCalls int
		wantErr   bool
	}{
		{"succeeds first", nil, 1, false},
		{"deadlock then success", []error{deadlock, deadlock}, 3, false},
		{"gives up after max retries", []error{deadlock, deadlock, deadlock, deadlock, deadlock}, 4, true},
		{"row errors are not retried", []error{&mysql.MySQLError{Number: 1062}}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, heard := 0, 0
			err := retrying(context.Background(), p, func(error, int, time.Duration) { heard++ }, func() error {
				calls++
				if calls <= len(tt.failures) {
					return tt.failures[calls-1]
				}
				return nil
			})
			if calls != tt.wantCalls || (err != nil) != tt.wantErr || heard != calls-1 {
				t.Fatalf("calls %d (want %d), retries heard %d, err %v (want error: %v)", calls, tt.wantCalls, heard, err, tt.wantErr)
			}
		})
	}
	// A cancelled context stops the waiting at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	err := retrying(ctx, RetryPolicy{MaxRetries: 5, Initial: time.Hour, Max: time.Hour}, nil, func() error { calls++; return deadlock })
	if calls != 1 || !errors.Is(err, deadlock) {
		t.Fatalf("cancelled: calls %d, err %v", calls, err)
	}
}

func TestBackoffBounds(t *testing.T) {
	p := RetryPolicy{Initial: 100 * time.Millisecond, Max: time.Second}
	for n := 1; n <= 10; n++ {
		w := p.wait(n)
		if w < 50*time.Millisecond || w > time.Second {
			t.Fatalf("wait(%d) = %s, outside [50ms, 1s]", n, w)
		}
	}
}

func TestSQLValue(t *testing.T) {
	ts := time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in      any
		want    any
		wantErr bool
	}{
		{json.Number("42"), int64(42), false},
		{json.Number("12.30"), "12.30", false},
		{"x", "x", false},
		{nil, nil, false},
		{ts, ts, false},
		{map[string]any{"a": 1}, `{"a":1}`, false},
		{[]any{"a", 2}, `["a",2]`, false},
		{struct{}{}, nil, true},
	}
	for _, tt := range tests {
		got, err := sqlValue(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("sqlValue(%#v) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestCacheConfigRejectsBadTable(t *testing.T) {
	yaml := "dsn: root@tcp(127.0.0.1:3306)/test\ntable: 'cache; drop'\n"
	conf, err := mysqlCacheSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `table "cache; drop" is not a valid MySQL table name`
	if _, err := newMySQLCacheFromParsed(conf, service.MockResources()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("constructor: %v, want %q", err, want)
	}
	if err := service.NewStreamBuilder().AddCacheYAML("label: c\nmysql:\n" + indent(yaml)); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("lint: %v, want %q", err, want)
	}
	if err := service.NewStreamBuilder().AddCacheYAML("label: c\nmysql:\n  dsn: root@tcp(127.0.0.1:3306)/test\n"); err != nil {
		t.Fatalf("good config: %v", err)
	}
}
