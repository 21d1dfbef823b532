package xlsx

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	// The spec example uses the Bloblang methods and the Kingdee output.
	_ "github.com/erpsync/erpsync/plugins/bloblang"
	_ "github.com/erpsync/erpsync/plugins/kingdee"
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
)

// newScanner builds the scanner from YAML as Benthos would, over the file p.
func newScanner(t *testing.T, conf, p string) (service.BatchScanner, *bool) {
	t.Helper()
	parsed, err := xlsxScannerSpec().ParseYAML(conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	creator, err := newXLSXScannerFromParsed(parsed)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	details := service.NewScannerSourceDetails()
	details.SetName(p)
	acked := new(bool)
	s, err := creator.Create(f, func(context.Context, error) error { *acked = true; return nil }, details)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, acked
}

func TestScannerMessages(t *testing.T) {
	p := writeFile(t, t.TempDir(), "物料.xlsx", materialsBook(t))
	s, acked := newScanner(t, "sheet: 物料\nheader_row: 2\ntypes:\n  旧编码: string\n", p)
	ctx := context.Background()
	type got struct {
		row            string
		code           any
		errMeta, error string
	}
	var msgs []got
	for {
		batch, ack, err := s.NextBatch(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) != 1 {
			t.Fatalf("batch of %d", len(batch))
		}
		m := batch[0]
		v, err := m.AsStructured()
		if err != nil {
			t.Fatal(err)
		}
		sheet, _ := m.MetaGet(MetaSheet)
		file, _ := m.MetaGet(MetaFile)
		if sheet != "物料" || file != p {
			t.Errorf("metadata sheet %q file %q", sheet, file)
		}
		g := got{code: v.(map[string]any)["旧编码"]}
		g.row, _ = m.MetaGet(MetaRow)
		g.errMeta, _ = m.MetaGet(MetaError)
		if e := m.GetError(); e != nil {
			g.error = e.Error()
		}
		msgs = append(msgs, g)
		if err := ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(msgs) != 4 {
		t.Fatalf("%d messages: %+v", len(msgs), msgs)
	}
	for i, row := range []string{"3", "4", "7", "8"} {
		if msgs[i].row != row {
			t.Errorf("message %d: xlsx_row %s, want %s", i, msgs[i].row, row)
		}
	}
	if msgs[0].code != "00123" {
		t.Errorf("旧编码 with a string hint = %#v, want the displayed \"00123\"", msgs[0].code)
	}
	bad := msgs[2]
	if !strings.HasPrefix(bad.errMeta, "row 7: column 数量 (C): the cell holds the Excel error #DIV/0!") {
		t.Errorf("erpsync_error = %q", bad.errMeta)
	}
	if !strings.Contains(bad.error, `sheet "物料": row 7:`) || !strings.Contains(bad.error, "物料.xlsx") {
		t.Errorf("error flag = %q, want file, sheet and row", bad.error)
	}
	for _, i := range []int{0, 1, 3} {
		if msgs[i].error != "" || msgs[i].errMeta != "" {
			t.Errorf("row %s flagged: %+v", msgs[i].row, msgs[i])
		}
	}
	if *acked {
		t.Error("the source was acknowledged before the scanner was done")
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !*acked {
		t.Error("the source was not acknowledged after every row was")
	}
}

func TestScannerMissingSheet(t *testing.T) {
	p := writeFile(t, t.TempDir(), "物料.xlsx", materialsBook(t))
	s, acked := newScanner(t, "sheet: 产品\n", p)
	_, _, err := s.NextBatch(context.Background())
	if err == nil || !strings.Contains(err.Error(), `no sheet named "产品"; the workbook has sheets "说明", "物料"`) || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := s.NextBatch(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("after the error: %v, want io.EOF", err)
	}
	if !*acked {
		t.Error("the failed source was not acknowledged (with its error)")
	}
}

func TestScannerConfigLint(t *testing.T) {
	tests := []struct {
		name, conf string
		wantErr    string
	}{
		{"defaults", "{}", ""},
		{"all fields", "sheet: 物料\nheader_row: 2\nskip_empty_rows: false\nmax_rows: 10\nraw_values: true\ntypes: {编码: string, 数量: number, 启用: bool, 日期: date}\ntemp_dir: /tmp", ""},
		{"sheet and index", "sheet: 物料\nsheet_index: 2", "set only one of sheet and sheet_index"},
		{"header row 0", "header_row: 0", "header_row counts rows from 1"},
		{"negative max rows", "max_rows: -1", "max_rows cannot be negative"},
		{"unknown type", "types: {数量: integer}", "types: column 数量 has unknown type integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "file:\n  paths: [ ./x.xlsx ]\n  scanner:\n    xlsx:\n" + indent(tt.conf, "      ")
			err := service.NewStreamBuilder().AddInputYAML(y)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestSpecExampleIsValidConfig(t *testing.T) {
	for _, v := range []string{"K3CLOUD_URL", "K3CLOUD_ACCT_ID", "K3CLOUD_USERNAME", "K3CLOUD_APP_SECRET"} {
		t.Setenv(v, "x")
	}
	t.Setenv("K3CLOUD_APP_ID", "123456_"+strings.Repeat("a", 32))
	var examples []service.TemplatDataPluginExample
	service.GlobalEnvironment().WalkScanners(func(name string, view *service.ConfigView) {
		if name != "xlsx" {
			return
		}
		data, err := view.TemplateData()
		if err != nil {
			t.Fatal(err)
		}
		examples = data.Examples
	})
	if len(examples) == 0 {
		t.Fatal("the xlsx spec has no example")
	}
	for _, ex := range examples {
		if err := service.NewStreamBuilder().SetYAML(ex.Config); err != nil {
			t.Errorf("example %q: %v", ex.Title, err)
		}
	}
}

// TestStreamFileInput runs a real stream: the file input with the xlsx
// scanner over two workbooks (one without the sheet), a mapping, dedupe by
// material number, and a dead letter for bad rows.
func TestStreamFileInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, in, "a_物料.xlsx", materialsBook(t))
	writeFile(t, in, "b_other.xlsx", buildWorkbook(t, testSheet{name: "Sheet1", rows: [][]any{{"x"}, {1}}}))
	writeFile(t, in, "c_物料.xlsx", buildWorkbook(t, testSheet{name: "物料", rows: [][]any{
		{"标题"},
		{"物料编码", "物料名称", "数量"},
		{"00123", "螺丝 M3 重复", 5}, // duplicate of a_物料.xlsx row 3: skipped
		{"D-005", "新物料", "十"},    // text in a number column: dead letter
		{"E-006", "", 1},         // the mapping rejects it: dead letter
	}}))
	// Over max_cell_chars: refused whole (logged, none of its rows read),
	// and the file input goes on.
	writeFile(t, in, "d_物料.xlsx", buildWorkbook(t, testSheet{name: "物料", rows: [][]any{
		{"标题"},
		{"物料编码", "物料名称", "数量"},
		{"F-007", "正常", 1},
		{"F-008", strings.Repeat("长", 1001), 1},
	}}))
	writeFile(t, in, "e_物料.xlsx", buildWorkbook(t, testSheet{name: "物料", rows: [][]any{
		{"标题"},
		{"物料编码", "物料名称", "数量"},
		{"G-009", "后一个文件", 2},
	}}))
	out, dead := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "dead.jsonl")
	conf := `
input:
  file:
    paths: [ ` + filepath.Join(in, "*.xlsx") + ` ]
    scanner:
      xlsx:
        sheet: 物料
        header_row: 2
        max_cell_chars: 1000
        types:
          数量: number
pipeline:
  threads: 1 # the first row of a number wins
  processors:
    - switch:
        - check: '!errored()'
          processors:
            - dedupe:
                cache: seen
                key: '${! this."物料编码" }'
            - mapping: |
                root.FNumber = this."物料编码"
                root.FName = if this."物料名称".or("") == "" { throw("物料名称 is empty") } else { this."物料名称" }
                root.FQty = this."数量"
                root.FDate = this."生效日期"
                root.row = @xlsx_row
cache_resources:
  - label: seen
    memory: {}
output:
  switch:
    cases:
      - check: errored()
        output:
          file: { path: ` + dead + `, codec: lines }
          processors:
            - mapping: |
                root.file = @xlsx_file.filepath_split().index(-1)
                root.row = @xlsx_row
                root.reason = @erpsync_error.or(error())
      - output:
          file: { path: ` + out + `, codec: lines }
logger:
  level: none
`
	b := service.NewStreamBuilder()
	if err := b.SetYAML(conf); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}

	wantOut := []string{
		`{"FDate":"2024-03-15 10:30:00","FName":"螺丝 M3","FNumber":"00123","FQty":100,"row":3}`,
		`{"FDate":"2023-03-15 12:00:00","FName":"垫片","FNumber":"A-002","FQty":2.25,"row":4}`,
		`{"FDate":"18:00:00","FName":"中文名称（全角）","FNumber":"C-004","FQty":-3,"row":8}`,
		`{"FDate":null,"FName":"后一个文件","FNumber":"G-009","FQty":2,"row":3}`,
	}
	// Messages may be written out of order; compare as sorted sets.
	got := readLines(t, out)
	sort.Strings(got)
	sort.Strings(wantOut)
	if !reflect.DeepEqual(got, wantOut) {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantOut, "\n"))
	}
	dl := readLines(t, dead)
	sort.Strings(dl)
	if len(dl) != 3 {
		t.Fatalf("dead letters:\n%s", strings.Join(dl, "\n"))
	}
	wantDead := []struct {
		file, row, reason string
	}{
		{"a_物料.xlsx", "7", "row 7: column 数量 (C): the cell holds the Excel error #DIV/0!; column 单价 (D): the formula has no calculated value"},
		{"c_物料.xlsx", "5", "物料名称 is empty"},
		{"c_物料.xlsx", "4", `row 4: column 数量 (C): "十" is not a number`},
	}
	for i, w := range wantDead {
		var d struct {
			File   string `json:"file"`
			Row    any    `json:"row"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(dl[i]), &d); err != nil {
			t.Fatal(err)
		}
		if d.File != w.file || toString(d.Row) != w.row || !strings.Contains(d.Reason, w.reason) {
			t.Errorf("dead letter %d = %s, want file %s row %s reason containing %q", i, dl[i], w.file, w.row, w.reason)
		}
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

func readLines(t *testing.T, p string) []string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
