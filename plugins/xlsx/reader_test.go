package xlsx

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestReadMaterials(t *testing.T) {
	book := materialsBook(t)
	row3 := map[string]any{"物料编码": "00123", "物料名称": "螺丝 M3", "数量": int64(100), "单价": 12.5, "启用": true,
		"生效日期": "2024-03-15 10:30:00", "旧编码": int64(123), "备注": "首批"}
	row4 := map[string]any{"物料编码": "A-002", "物料名称": "垫片", "数量": 2.25, "单价": 0.1, "启用": false,
		"生效日期": "2023-03-15 12:00:00", "旧编码": int64(7), "备注": nil}
	row7 := map[string]any{"物料编码": "B-003", "物料名称": "坏行", "数量": "#DIV/0!", "单价": nil, "启用": nil,
		"生效日期": nil, "旧编码": nil, "备注": "除零"}
	row8 := map[string]any{"物料编码": "C-004", "物料名称": "中文名称（全角）", "数量": int64(-3), "单价": 1234567.891, "启用": nil,
		"生效日期": "18:00:00", "旧编码": nil, "备注": "末行"}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	nulls := map[string]any{"物料编码": nil, "物料名称": nil, "数量": nil, "单价": nil, "启用": nil, "生效日期": nil, "旧编码": nil, "备注": nil}
	row7Err := "row 7: column 数量 (C): the cell holds the Excel error #DIV/0!; column 单价 (D): the formula has no calculated value"

	tests := []struct {
		name    string
		opts    Options
		numbers []int
		values  []map[string]any
		errs    map[int]string // row number -> error prefix
	}{
		{
			name:    "by name, header on row 2, empty rows skipped",
			opts:    Options{Sheet: "物料", HeaderRow: 2, SkipEmptyRows: true},
			numbers: []int{3, 4, 7, 8},
			values:  []map[string]any{row3, row4, row7, row8},
			errs:    map[int]string{7: row7Err},
		},
		{
			name:    "by index, empty rows kept",
			opts:    Options{SheetIndex: 2, HeaderRow: 2},
			numbers: []int{3, 4, 5, 6, 7, 8},
			values:  []map[string]any{row3, row4, nulls, with(nulls, "物料编码", "   "), row7, row8},
			errs:    map[int]string{7: row7Err},
		},
		{
			name:    "name matched ignoring case and spaces",
			opts:    Options{Sheet: " 物料 ", HeaderRow: 2, SkipEmptyRows: true},
			numbers: []int{3, 4, 7, 8},
			values:  []map[string]any{row3, row4, row7, row8},
			errs:    map[int]string{7: row7Err},
		},
		{
			name:    "type hints",
			opts:    Options{Sheet: "物料", HeaderRow: 2, SkipEmptyRows: true, Types: map[string]ColumnType{"旧编码": TypeString, "数量": TypeString, "启用": TypeNumber, "生效日期": TypeDate}},
			numbers: []int{3, 4, 7, 8},
			values: []map[string]any{
				with(row3, "旧编码", "00123", "数量", "100", "启用", "TRUE"),
				with(row4, "旧编码", "7", "数量", "2.25", "启用", "FALSE"),
				with(row7, "数量", "#DIV/0!"),
				with(row8, "数量", "-3"),
			},
			errs: map[int]string{
				3: `row 3: column 启用 (E): "TRUE" is not a number`,
				4: `row 4: column 启用 (E): "FALSE" is not a number`,
				7: row7Err,
			},
		},
		{
			name:    "raw values",
			opts:    Options{Sheet: "物料", HeaderRow: 2, SkipEmptyRows: true, RawValues: true, Types: map[string]ColumnType{"旧编码": TypeString}},
			numbers: []int{3, 4, 7, 8},
			values: []map[string]any{
				with(row3, "生效日期", 45366.4375, "旧编码", "123"),
				with(row4, "生效日期", 45000.5, "旧编码", "7"),
				row7,
				with(row8, "生效日期", 0.75),
			},
			errs: map[int]string{7: row7Err},
		},
		{
			name:    "header on row 1 of the first sheet",
			opts:    Options{},
			numbers: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := readAll(t, book, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(tt.numbers) {
				t.Fatalf("%d rows, want %d: %+v", len(rows), len(tt.numbers), rows)
			}
			for i, row := range rows {
				if row.Number != tt.numbers[i] {
					t.Errorf("row %d: number %d, want %d", i, row.Number, tt.numbers[i])
				}
				if !reflect.DeepEqual(row.Values, tt.values[i]) {
					t.Errorf("row %d:\n got %#v\nwant %#v", row.Number, row.Values, tt.values[i])
				}
				want, bad := tt.errs[row.Number]
				switch {
				case !bad && row.Err != nil:
					t.Errorf("row %d: unexpected error %v", row.Number, row.Err)
				case bad && (row.Err == nil || !strings.HasPrefix(row.Err.Error(), want)):
					t.Errorf("row %d: error %v, want it to start with %q", row.Number, row.Err, want)
				}
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	book := buildWorkbook(t, testSheet{name: "Sheet", rows: [][]any{
		{"编码", "", " 编码 ", "名称", "编码_2", nil, "D"},
		{"a", "b", "c", "d", "e", "f", "g", "beyond the header"},
	}})
	rows, err := readAll(t, book, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"编码": "a", "B": "b", "编码_2": "c", "名称": "d", "编码_2_2": "e", "F": "f", "D": "g"}
	if len(rows) != 1 || !reflect.DeepEqual(rows[0].Values, want) {
		t.Fatalf("got %+v\nwant %v", rows, want)
	}
}

func TestTypeHintConversions(t *testing.T) {
	book := buildWorkbook(t, testSheet{name: "S", rows: [][]any{
		{"n", "b", "d"},
		{" 1,234.5 ", "是", "2024/1/2"},
		{"12", "否", "2024年1月2日 08:05"},
		{1, 1, 45292},
		{"abc", "maybe", "next week"},
	}})
	rows, err := readAll(t, book, Options{Types: map[string]ColumnType{"n": TypeNumber, "b": TypeBool, "d": TypeDate}})
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"n": 1234.5, "b": true, "d": "2024-01-02 00:00:00"},
		{"n": int64(12), "b": false, "d": "2024-01-02 08:05:00"},
		{"n": int64(1), "b": true, "d": "2024-01-01 00:00:00"},
		{"n": "abc", "b": "maybe", "d": "next week"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows", len(rows))
	}
	for i := range want {
		if !reflect.DeepEqual(rows[i].Values, want[i]) {
			t.Errorf("row %d: got %#v want %#v", rows[i].Number, rows[i].Values, want[i])
		}
	}
	for i := 0; i < 3; i++ {
		if rows[i].Err != nil {
			t.Errorf("row %d: %v", rows[i].Number, rows[i].Err)
		}
	}
	var re *RowError
	if !errors.As(rows[3].Err, &re) || len(re.Problems) != 3 || re.Row != 5 {
		t.Fatalf("row 5: error %v, want three problems", rows[3].Err)
	}
	for _, frag := range []string{`column n (A): "abc" is not a number`, `column b (B): "maybe" is not a boolean`, `column d (C): "next week" is not a date`} {
		if !strings.Contains(re.Error(), frag) {
			t.Errorf("row 5 error %q lacks %q", re.Error(), frag)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	book := materialsBook(t)
	// Excel records the used range; excelize leaves it at A1.
	withDimension := patchPart(t, book, "xl/worksheets/sheet2.xml", func(b []byte) []byte {
		return dimensionRe.ReplaceAll(b, []byte(`<dimension ref="A1:H8"/>`))
	})
	tests := []struct {
		name string
		data []byte
		opts Options
		want []string
	}{
		{"missing sheet", book, Options{Name: "物料.xlsx", Sheet: "产品"}, []string{`xlsx: 物料.xlsx: no sheet named "产品"`, `"说明", "物料"`}},
		{"sheet index past the end", book, Options{SheetIndex: 3}, []string{"sheet_index 3 is past the last sheet", `"说明", "物料"`}},
		{"both sheet and index", book, Options{Sheet: "物料", SheetIndex: 1}, []string{"set only one"}},
		{"header row past the end", book, Options{Sheet: "物料", HeaderRow: 20}, []string{`sheet "物料": header_row 20 is past the last row (8)`}},
		{"empty header row", book, Options{Sheet: "物料", HeaderRow: 5}, []string{"header row 5 is empty"}},
		{"hint for an unknown column", book, Options{Sheet: "物料", HeaderRow: 2, Types: map[string]ColumnType{"物料编号": TypeString}}, []string{`types names column "物料编号", which is not in header row 2`, "物料编码, 物料名称"}},
		{"unknown hint type", book, Options{Types: map[string]ColumnType{"a": "integer"}}, []string{`unknown type "integer"`}},
		{"not a workbook", []byte("物料编码,物料名称\n"), Options{Name: "物料.csv"}, []string{"xlsx: 物料.csv: cannot open the workbook", "save an .xls file as .xlsx"}},
		{"max rows from the dimension", withDimension, Options{Sheet: "物料", HeaderRow: 2, MaxRows: 5}, []string{"more data rows than max_rows", "rows up to 8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(t, tt.data, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

var dimensionRe = regexp.MustCompile(`<dimension [^>]*(/>|></dimension>)`)

func TestMaxRowsWithoutDimension(t *testing.T) {
	book := patchPart(t, materialsBook(t), "xl/worksheets/sheet2.xml", func(b []byte) []byte {
		return dimensionRe.ReplaceAll(b, nil)
	})
	rows, err := readAll(t, book, Options{Sheet: "物料", HeaderRow: 2, SkipEmptyRows: true, MaxRows: 3})
	if !errors.Is(err, ErrTooManyRows) || !strings.Contains(err.Error(), "row 8 is data row 4, max_rows is 3") {
		t.Fatalf("err = %v", err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows before the guard, want 3", len(rows))
	}
}

func TestDamagedSheet(t *testing.T) {
	// Cut the sheet XML inside row 4: rows before it are read, then a
	// clear error instead of a silent end.
	book := patchPart(t, materialsBook(t), "xl/worksheets/sheet2.xml", func(b []byte) []byte {
		i := strings.Index(string(b), `<row r="4"`)
		return b[:i+30]
	})
	rows, err := readAll(t, book, Options{Sheet: "物料", HeaderRow: 2})
	if err == nil || !strings.Contains(err.Error(), "worksheet XML is broken after row") {
		t.Fatalf("err = %v", err)
	}
	if len(rows) != 1 || rows[0].Number != 3 {
		t.Fatalf("rows before the damage: %+v", rows)
	}
}

func TestMismatchedTags(t *testing.T) {
	// excelize's iterator stops silently at an XML error; the reader must not.
	book := patchPart(t, materialsBook(t), "xl/worksheets/sheet2.xml", func(b []byte) []byte {
		return []byte(strings.Replace(string(b), `</row><row r="7"`, `</rowx><row r="7"`, 1))
	})
	rows, err := readAll(t, book, Options{Sheet: "物料", HeaderRow: 2, SkipEmptyRows: true})
	if err == nil || !strings.Contains(err.Error(), "worksheet XML is broken after row 6") {
		t.Fatalf("err = %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows before the damage, want 2", len(rows))
	}
}

func TestChartSheetRefused(t *testing.T) {
	book := buildWorkbook(t, testSheet{name: "数据", rows: [][]any{{"a"}, {1}}})
	book = patchPart(t, book, "xl/_rels/workbook.xml.rels", func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "relationships/worksheet", "relationships/chartsheet", 1))
	})
	_, err := readAll(t, book, Options{})
	if err == nil || !strings.Contains(err.Error(), "not a worksheet") {
		t.Fatalf("err = %v", err)
	}
}

func TestFileSourceIsNotSpooled(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "book.xlsx", materialsBook(t))
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	tmp := t.TempDir()
	r, err := Open(f, Options{Sheet: "物料", HeaderRow: 2, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if r.spool != "" {
		t.Errorf("a regular file was spooled to %s", r.spool)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	// A non-file source is spooled into temp_dir and removed on Close.
	r, err = Open(strings.NewReader(string(materialsBook(t))), Options{Sheet: "物料", HeaderRow: 2, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 1 {
		t.Errorf("temp_dir holds %d files while reading, want the spool file", len(entries))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("temp_dir holds %v after Close", entries)
	}
}

func TestIsDateFormatCode(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"yyyy/mm/dd", true}, {"h:mm", true}, {`yyyy"年"m"月"d"日"`, true}, {"[$-804]yyyy-mm-dd", true},
		{"0.00", false}, {"00000", false}, {"#,##0", false}, {`"day "0`, false}, {"[h]:mm:ss", false},
		{"General", false}, {`0.00\m`, false}, {"[Red]0.00;0.00", false},
	}
	for _, tt := range tests {
		if got := isDateFormatCode(tt.code); got != tt.want {
			t.Errorf("isDateFormatCode(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestBadCellReferenceFlagsTheRow(t *testing.T) {
	book := setCellXML(t, materialsBook(t), "xl/worksheets/sheet2.xml", "B4", `<c r="B!4" t="inlineStr"><is><t>垫片</t></is></c>`)
	rows, err := readAll(t, book, Options{Sheet: "物料", HeaderRow: 2, SkipEmptyRows: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (the bad one flagged, not dropped)", len(rows))
	}
	if rows[1].Number != 4 || rows[1].Err == nil || !strings.Contains(rows[1].Err.Error(), `row 4: a cell has the invalid reference "B!4"`) {
		t.Fatalf("row %d: error %v", rows[1].Number, rows[1].Err)
	}
	if rows[0].Err != nil || rows[3].Err != nil {
		t.Fatalf("good rows flagged: %v, %v", rows[0].Err, rows[3].Err)
	}
}

func TestStreamWrittenWorkbook(t *testing.T) {
	// excelize's stream writer stores text as inline strings, not in the
	// shared-string table.
	f := excelize.NewFile()
	t.Cleanup(func() { _ = f.Close() })
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range [][]any{{"编码", "名称", "数量"}, {"007", "内联字符串", 3}, nil, {"008", "第二行", 4.5}} {
		if row == nil {
			continue
		}
		ref, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(ref, row); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readAll(t, buf.Bytes(), Options{SkipEmptyRows: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"编码": "007", "名称": "内联字符串", "数量": int64(3)}, {"编码": "008", "名称": "第二行", "数量": 4.5}}
	if len(rows) != 2 || rows[1].Number != 4 {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if !reflect.DeepEqual(rows[i].Values, want[i]) {
			t.Errorf("row %d: %#v, want %#v", rows[i].Number, rows[i].Values, want[i])
		}
	}
}
