package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"gopkg.in/yaml.v3"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/sandbox"
)

// shippedMapping returns the mapping of the pipeline processor labelled
// label in a shipped stream config, exactly as users run it.
func shippedMapping(tb testing.TB, stream, label string) string {
	tb.Helper()
	raw, err := os.ReadFile(erpsynctest.Path("config/streams/" + stream + ".yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var conf struct {
		Pipeline struct {
			Processors []map[string]any `yaml:"processors"`
		} `yaml:"pipeline"`
	}
	if err := yaml.Unmarshal(raw, &conf); err != nil {
		tb.Fatal(err)
	}
	for _, p := range conf.Pipeline.Processors {
		if p["label"] == label {
			if m, ok := p["mapping"].(string); ok {
				return m
			}
		}
	}
	tb.Fatalf("%s has no mapping processor labelled %s", stream, label)
	return ""
}

// xbbItems are XBB product list items as the sandbox serves them.
func xbbItems(tb testing.TB, n int) []any {
	tb.Helper()
	o := sandbox.DefaultOptions()
	o.Records = n
	sb, err := sandbox.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	var out []any
	for _, d := range sb.Env().Dataset("xbb_products").FullTruth() {
		raw, _ := json.Marshal(d.Document)
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			tb.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

var cst = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// xbbProductGo is xbb_products_to_mysql's map_product written by hand in Go.
func xbbProductGo(doc any) (map[string]any, error) {
	m, _ := doc.(map[string]any)
	d, _ := m["data"].(map[string]any)
	text := func(v any) string {
		if v == nil {
			return ""
		}
		return strings.TrimSpace(fmt.Sprint(v))
	}
	serial := text(d["serialNo"])
	if serial == "" {
		serial = text(m["serialNo"])
	}
	if serial == "" {
		return nil, fmt.Errorf("xbb product/list: product dataId %v has no serialNo", m["dataId"])
	}
	optText := func(v any) any {
		switch t := v.(type) {
		case nil:
			return nil
		case map[string]any:
			if x, ok := t["text"]; ok {
				return x
			}
			return t["value"]
		}
		return text(v)
	}
	optNum := func(v any) any {
		if v == nil || v == "" {
			return nil
		}
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			return nil
		}
		return f
	}
	optTime := func(v any) any {
		n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		if v == nil || err != nil || n == 0 {
			return nil
		}
		if n > 1e11 {
			return time.UnixMilli(n).In(cst).Format("2006-01-02 15:04:05")
		}
		return time.Unix(n, 0).In(cst).Format("2006-01-02 15:04:05")
	}
	var dataID any
	if id, err := strconv.ParseInt(fmt.Sprint(m["dataId"]), 10, 64); err == nil {
		dataID = id
	}
	return map[string]any{
		"serial_no": serial, "data_id": dataID,
		"name": optText(d["text_1"]), "spec": optText(d["text_2"]), "unit": optText(d["text_3"]),
		"price": optNum(d["num_1"]), "cost": optNum(d["num_2"]),
		"add_time": optTime(m["addTime"]), "update_time": optTime(m["updateTime"]),
		"raw": m,
	}, nil
}

// BenchmarkXBBProductMapping runs the shipped map_product mapping of
// xbb_products_to_mysql.yaml over 1000 sandbox products per op, and the same
// mapping hand-written in Go as the baseline.
func BenchmarkXBBProductMapping(b *testing.B) {
	items := xbbItems(b, 1000)
	exe, err := bloblang.Parse(shippedMapping(b, "xbb_products_to_mysql", "map_product"))
	if err != nil {
		b.Fatal(err)
	}
	// Both must agree, on every column, before either is timed.
	for _, it := range items {
		got, err := exe.Query(it)
		if err != nil {
			b.Fatal(err)
		}
		want, err := xbbProductGo(it)
		if err != nil {
			b.Fatal(err)
		}
		g := got.(map[string]any)
		for _, k := range []string{"serial_no", "data_id", "name", "spec", "unit", "price", "cost", "add_time", "update_time", "raw"} {
			if fmt.Sprint(g[k]) != fmt.Sprint(want[k]) {
				b.Fatalf("%s: bloblang %v, go %v", k, g[k], want[k])
			}
		}
	}
	b.Run("bloblang", func(b *testing.B) {
		for range b.N {
			for _, it := range items {
				if _, err := exe.Query(it); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "docs/s")
	})
	b.Run("go", func(b *testing.B) {
		for range b.N {
			for _, it := range items {
				if _, err := xbbProductGo(it); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "docs/s")
	})
}
