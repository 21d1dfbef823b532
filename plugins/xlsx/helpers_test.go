package xlsx

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// Cell values a test sheet can hold besides plain Go values.
type (
	// numFmt is a value with a custom number format.
	numFmt struct {
		v   any
		fmt string
	}
	// formula is a formula without a cached value (excelize does not
	// calculate on write).
	formula string
)

type testSheet struct {
	name string
	rows [][]any // rows[i] is spreadsheet row i+1; nil is a blank cell
}

// buildWorkbook generates a workbook in memory; nothing is committed.
func buildWorkbook(t testing.TB, sheets ...testSheet) []byte {
	t.Helper()
	f := excelize.NewFile()
	t.Cleanup(func() { _ = f.Close() })
	for i, sh := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", sh.name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(sh.name); err != nil {
			t.Fatal(err)
		}
		for r, row := range sh.rows {
			for c, v := range row {
				if v == nil {
					continue
				}
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				var err error
				switch v := v.(type) {
				case numFmt:
					code := v.fmt
					var style int
					if style, err = f.NewStyle(&excelize.Style{CustomNumFmt: &code}); err == nil {
						if err = f.SetCellValue(sh.name, ref, v.v); err == nil {
							err = f.SetCellStyle(sh.name, ref, ref, style)
						}
					}
				case formula:
					err = f.SetCellFormula(sh.name, ref, string(v))
				default:
					err = f.SetCellValue(sh.name, ref, v)
				}
				if err != nil {
					t.Fatalf("%s!%s: %v", sh.name, ref, err)
				}
			}
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// patchPart rewrites one part of a workbook zip.
func patchPart(t testing.TB, book []byte, part string, fn func([]byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == part {
			data, found = fn(data), true
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no part %s in the workbook", part)
	}
	return out.Bytes()
}

// setCellXML replaces the XML of cell ref in the sheet part.
func setCellXML(t testing.TB, book []byte, part, ref, cellXML string) []byte {
	t.Helper()
	re := regexp.MustCompile(`<c r="` + ref + `"[^>]*?(/>|>.*?</c>)`)
	return patchPart(t, book, part, func(b []byte) []byte {
		if !re.Match(b) {
			t.Fatalf("cell %s not found in %s", ref, part)
		}
		return re.ReplaceAll(b, []byte(cellXML))
	})
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// materialsBook is the main fixture: a title row, the header on row 2,
// Chinese names and values, typed cells, blank and space-only rows, an
// Excel error cell and an uncalculated formula.
func materialsBook(t testing.TB) []byte {
	t.Helper()
	eff := time.Date(2024, 3, 15, 10, 30, 0, 0, time.UTC)
	book := buildWorkbook(t,
		testSheet{name: "说明", rows: [][]any{{"本文件用于导入物料"}}},
		testSheet{name: "物料", rows: [][]any{
			{"物料导入模板 2024"},
			{"物料编码", " 物料名称 ", "数量", "单价", "启用", "生效日期", "旧编码", "备注"},
			{"00123", "螺丝 M3", 100, 12.5, true, eff, numFmt{123, "00000"}, "首批"},
			{"A-002", "垫片", 2.25, 0.1, false, numFmt{45000.5, "yyyy/mm/dd hh:mm"}, 7, nil},
			nil,
			{"   "},
			{"B-003", "坏行", 0, formula("C3*2"), nil, nil, nil, "除零"},
			{"C-004", "中文名称（全角）", -3, 1234567.891, nil, numFmt{0.75, "h:mm"}, nil, "末行"},
		}},
	)
	return setCellXML(t, book, "xl/worksheets/sheet2.xml", "C7", `<c r="C7" t="e"><v>#DIV/0!</v></c>`)
}

func readAll(t testing.TB, data []byte, opts Options) ([]Row, error) {
	t.Helper()
	r, err := Open(bytes.NewReader(data), opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = r.Close() })
	var rows []Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}
