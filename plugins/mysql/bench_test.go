package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	benchRows = 500
	benchCols = "id BIGINT PRIMARY KEY, sku VARCHAR(64), name VARCHAR(128), qty INT, price DECIMAL(18,2), " +
		"status VARCHAR(16), shop VARCHAR(64), created DATETIME, modified DATETIME, note VARCHAR(255)"
)

var benchColumns = []string{"id", "sku", "name", "qty", "price", "status", "shop", "created", "modified", "note"}

// benchDoc is document id of the benchmark, as JSON and as row values.
func benchDoc(id int64) (string, []any) {
	sku := fmt.Sprintf("SKU-%08d", id%100000)
	name := "商品 " + sku + " 蓝色 XL"
	qty := id % 97
	price := fmt.Sprintf("%d.%02d", id%1000, id%100)
	status := "Confirmed"
	shop := "天猫旗舰店"
	ts := "2024-06-01 08:00:00"
	note := "批次 " + strings.Repeat("x", int(id%40))
	doc := fmt.Sprintf(`{"id":%d,"sku":%q,"name":%q,"qty":%d,"price":%s,"status":%q,"shop":%q,"created":%q,"modified":%q,"note":%q}`,
		id, sku, name, qty, price, status, shop, ts, ts, note)
	return doc, []any{id, sku, name, qty, price, status, shop, ts, ts, note}
}

// BenchmarkMySQLOutput writes batches of 500 rows of 10 columns (upsert on
// id, every row new) with the mysql output (from JSON messages, through
// args_mapping) and, as the baseline, with a hand-written go-sql-driver
// multi-row INSERT ... ON DUPLICATE KEY UPDATE of the same rows. One op is
// one batch; preparing the batch (row values for the baseline, JSON messages
// for the output) is outside the timer. Ratio = baseline ns/op / output ns/op.
//
//	go test -run '^$' -bench BenchmarkMySQLOutput -count 5 ./plugins/mysql/
func BenchmarkMySQLOutput(b *testing.B) {
	db, err := sql.Open("mysql", testDSN())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		b.Fatalf("MariaDB/MySQL does not answer at MYSQL_DSN=%s: %v", RedactDSN(testDSN()), err)
	}
	table := func(b *testing.B, prefix string) string {
		name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
		if _, err := db.Exec("CREATE TABLE `" + name + "` (" + benchCols + ") ENGINE=InnoDB"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS `" + name + "`") })
		return name
	}
	ctx := context.Background()

	b.Run("baseline", func(b *testing.B) {
		t := table(b, "bench_base")
		var sb strings.Builder
		sb.WriteString("INSERT INTO `" + t + "` (" + strings.Join(benchColumns, ",") + ") VALUES ")
		for i := range benchRows {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(?,?,?,?,?,?,?,?,?,?)")
		}
		sb.WriteString(" ON DUPLICATE KEY UPDATE ")
		for i, c := range benchColumns[1:] {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(c + "=VALUES(" + c + ")")
		}
		q := sb.String()
		b.ResetTimer()
		for n := 0; n < b.N; n++ {
			b.StopTimer()
			args := make([]any, 0, benchRows*len(benchColumns))
			for i := range benchRows {
				_, row := benchDoc(int64(n*benchRows + i))
				args = append(args, row...)
			}
			b.StartTimer()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
	})

	// The hand-written program a user would write for JSON messages: decode
	// each with encoding/json, then the same multi-row statement. Both it
	// and the "output" variant start from the same JSON bytes.
	b.Run("baseline_json", func(b *testing.B) {
		t := table(b, "bench_basej")
		q := "INSERT INTO `" + t + "` (" + strings.Join(benchColumns, ",") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?),", benchRows), ",") + " ON DUPLICATE KEY UPDATE "
		for i, c := range benchColumns[1:] {
			if i > 0 {
				q += ","
			}
			q += c + "=VALUES(" + c + ")"
		}
		type row struct {
			ID       int64       `json:"id"`
			SKU      string      `json:"sku"`
			Name     string      `json:"name"`
			Qty      int64       `json:"qty"`
			Price    json.Number `json:"price"`
			Status   string      `json:"status"`
			Shop     string      `json:"shop"`
			Created  string      `json:"created"`
			Modified string      `json:"modified"`
			Note     string      `json:"note"`
		}
		b.ResetTimer()
		for n := 0; n < b.N; n++ {
			b.StopTimer()
			docs := make([][]byte, benchRows)
			for i := range benchRows {
				doc, _ := benchDoc(int64(n*benchRows + i))
				docs[i] = []byte(doc)
			}
			b.StartTimer()
			args := make([]any, 0, benchRows*len(benchColumns))
			for _, d := range docs {
				var r row
				if err := json.Unmarshal(d, &r); err != nil {
					b.Fatal(err)
				}
				args = append(args, r.ID, r.SKU, r.Name, r.Qty, r.Price.String(), r.Status, r.Shop, r.Created, r.Modified, r.Note)
			}
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
	})
	// The physical limit: the server loading the same rows from a
	// tab-separated stream (LOAD DATA LOCAL INFILE ... REPLACE), no SQL
	// parsing of values at all.
	b.Run("load_data", func(b *testing.B) {
		t := table(b, "bench_load")
		b.ResetTimer()
		for n := 0; n < b.N; n++ {
			b.StopTimer()
			var buf bytes.Buffer
			for i := range benchRows {
				_, row := benchDoc(int64(n*benchRows + i))
				for j, v := range row {
					if j > 0 {
						buf.WriteByte('\t')
					}
					fmt.Fprint(&buf, v)
				}
				buf.WriteByte('\n')
			}
			name := fmt.Sprintf("bench%d", n)
			data := buf.Bytes()
			mysql.RegisterReaderHandler(name, func() io.Reader { return bytes.NewReader(data) })
			b.StartTimer()
			if _, err := db.ExecContext(ctx, "LOAD DATA LOCAL INFILE 'Reader::"+name+"' REPLACE INTO TABLE `"+t+"` ("+strings.Join(benchColumns, ",")+")"); err != nil {
				b.Fatalf("LOAD DATA LOCAL INFILE (the server needs local_infile=ON): %v", err)
			}
			b.StopTimer()
			mysql.DeregisterReaderHandler(name)
			b.StartTimer()
		}
		b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
	})
	for _, variant := range []struct {
		name       string
		structured bool
	}{
		{"output", false},           // messages as JSON bytes, e.g. from kafka
		{"output_structured", true}, // as after a mapping processor
	} {
		b.Run(variant.name, func(b *testing.B) {
			t := table(b, "bench_out")
			conf, err := mysqlOutputSpec().ParseYAML(fmt.Sprintf(`
dsn: %s
table: %s
columns: [%s]
key_columns: [id]
args_mapping: root = [this.id, this.sku, this.name, this.qty, this.price, this.status, this.shop, this.created, this.modified, this.note]
`, testDSN(), t, strings.Join(benchColumns, ", ")), nil)
			if err != nil {
				b.Fatal(err)
			}
			o, err := newMySQLOutputFromParsed(conf, service.MockResources())
			if err != nil {
				b.Fatal(err)
			}
			if err := o.Connect(ctx); err != nil {
				b.Fatal(err)
			}
			defer o.Close(ctx)
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				batch := make(service.MessageBatch, benchRows)
				for i := range benchRows {
					doc, _ := benchDoc(int64(n*benchRows + i))
					batch[i] = service.NewMessage([]byte(doc))
					if variant.structured {
						if _, err := batch[i].AsStructured(); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StartTimer()
				if err := o.WriteBatch(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
