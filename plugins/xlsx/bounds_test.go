package xlsx

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// hostileBook writes, straight to a file in dir, a workbook whose parts come
// from a small excelize workbook except those in override, which are
// written by their functions: so a part of hundreds of megabytes is deflated
// as it is generated and never held.
func hostileBook(t *testing.T, dir string, override map[string]func(io.Writer) error) string {
	t.Helper()
	base := buildWorkbook(t, testSheet{name: "物料", rows: [][]any{{"编码", "备注"}, {"M1", "ok"}}})
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "hostile.xlsx")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	for _, zf := range zr.File {
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		if gen := override[zf.Name]; gen != nil {
			err = gen(w)
		} else {
			var rc io.ReadCloser
			if rc, err = zf.Open(); err == nil {
				_, err = io.Copy(w, rc)
				_ = rc.Close()
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", zf.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// repeat writes n bytes of c in 1 MiB pieces.
func repeat(w io.Writer, c byte, n int) error {
	chunk := bytes.Repeat([]byte{c}, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

const sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:B3"/><sheetData>` +
	`<row r="1"><c r="A1" t="inlineStr"><is><t>编码</t></is></c><c r="B1" t="inlineStr"><is><t>备注</t></is></c></row>` +
	`<row r="2"><c r="A2" t="inlineStr"><is><t>M1</t></is></c><c r="B2" t="inlineStr"><is><t>ok</t></is></c></row>`

const sheetTail = `</sheetData></worksheet>`

// openMeasured opens p with opts, reads every row, and returns the error
// and the bytes allocated meanwhile: an upper bound of the heap growth, whatever was freed
// or when the collector ran, so the assertion does not depend on sampling.
func openMeasured(t *testing.T, p string, opts Options) (error, uint64) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := Open(f, opts)
	if err == nil {
		// Without the bound the cell would be read here.
		for err == nil {
			_, err = r.Next()
		}
		_ = r.Close()
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	runtime.ReadMemStats(&after)
	return err, after.TotalAlloc - before.TotalAlloc
}

func checkTooLarge(t *testing.T, err error, wants ...string) {
	t.Helper()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// TestHostileCellBoundedMemory is the reported case: a workbook of a few
// hundred KB holding one 400 MB cell, inline in the sheet, and a shared
// string of 100 MB. Open refuses each, naming the sheet, row, column, limit
// and field, having allocated a small fraction of the cell.
func TestHostileCellBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and unzips hundreds of MB")
	}
	const inlineSize, sharedSize = 400 << 20, 100 << 20
	cases := []struct {
		name     string
		size     int
		override map[string]func(io.Writer) error
		wants    []string
	}{
		{"inline string", inlineSize, map[string]func(io.Writer) error{
			"xl/worksheets/sheet1.xml": func(w io.Writer) error {
				if _, err := io.WriteString(w, sheetHead+`<row r="3"><c r="A3" t="inlineStr"><is><t>M2</t></is></c><c r="B3" t="inlineStr"><is><t>`); err != nil {
					return err
				}
				if err := repeat(w, 'A', inlineSize); err != nil {
					return err
				}
				_, err := io.WriteString(w, `</t></is></c></row>`+sheetTail)
				return err
			},
		}, []string{`sheet "物料"`, "row 3, column B", "more than 32767 characters", "max_cell_chars is 32767", "raise max_cell_chars"}},
		{"shared string", sharedSize, map[string]func(io.Writer) error{
			"xl/worksheets/sheet1.xml": func(w io.Writer) error {
				_, err := io.WriteString(w, sheetHead+`<row r="3"><c r="A3" t="s"><v>0</v></c><c r="B3" t="s"><v>1</v></c></row>`+sheetTail)
				return err
			},
			"xl/sharedStrings.xml": func(w io.Writer) error {
				if _, err := io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>M2</t></si><si><t>`); err != nil {
					return err
				}
				if err := repeat(w, 'A', sharedSize); err != nil {
					return err
				}
				_, err := io.WriteString(w, `</t></si></sst>`)
				return err
			},
		}, []string{`sheet "物料"`, "row 3, column B", "shared string #1", "max_cell_chars is 32767", "raise max_cell_chars"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := hostileBook(t, dir, tc.override)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			err, alloc := openMeasured(t, p, Options{Name: "hostile.xlsx", TempDir: tmp})
			t.Logf("workbook %.1f KiB holding a %d MiB cell: %v; allocated %.1f MiB while reading", float64(fi.Size())/1024, tc.size>>20, err, mib(int64(alloc)))
			checkTooLarge(t, err, tc.wants...)
			// excelize holds the compressed workbook while opening and
			// allocates per part; the cell must not be among it.
			if alloc > uint64(tc.size)/16 {
				t.Errorf("reading allocated %.1f MiB for a %d MiB cell: the cell is being held", mib(int64(alloc)), tc.size>>20)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestCellAndRowBounds: the limits are exact (a cell of exactly
// max_cell_chars characters passes, whatever its bytes), counted the same
// inline and through shared strings, and a row over max_row_chars is
// refused with its number and the column where it went over.
func TestCellAndRowBounds(t *testing.T) {
	han := func(n int) string { return strings.Repeat("汉", n) } // 3 bytes a character
	t.Run("Excel's limit passes, one more fails", func(t *testing.T) {
		book := buildWorkbook(t, testSheet{name: "物料", rows: [][]any{
			{"编码", "备注"},
			{"M1", han(DefaultMaxCellChars)},
		}})
		rows, err := readAll(t, book, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Values["备注"] != han(DefaultMaxCellChars) {
			t.Fatalf("the 32767-character cell was not read whole: %d rows", len(rows))
		}
		// excelize cuts strings to Excel's limit when writing: lengthen the
		// shared string in the XML.
		book = buildWorkbook(t, testSheet{name: "物料", rows: [][]any{
			{"编码", "备注"},
			{"M1", "short"},
			{"M2", han(DefaultMaxCellChars)},
		}})
		book = lengthenShared(t, book, han(DefaultMaxCellChars), han(DefaultMaxCellChars+1))
		_, err = readAll(t, book, Options{Name: "book.xlsx"})
		checkTooLarge(t, err, `xlsx: book.xlsx sheet "物料": row 3, column B:`, "more than 32767 characters", "shared string #", "raise max_cell_chars")
	})
	inline := func(ref, text string) string {
		return `<c r="` + ref + `" t="inlineStr"><is><t>` + text + `</t></is></c>`
	}
	t.Run("inline, entities count one character", func(t *testing.T) {
		book := buildWorkbook(t, testSheet{name: "物料", rows: [][]any{{"编码", "备注"}, {"M1", "x"}}})
		book = setCellXML(t, book, "xl/worksheets/sheet1.xml", "B2", inline("B2", strings.Repeat("&amp;", 10)))
		rows, err := readAll(t, book, Options{MaxCellChars: 10})
		if err != nil {
			t.Fatal(err)
		}
		if rows[0].Values["备注"] != strings.Repeat("&", 10) {
			t.Fatalf("got %v", rows[0].Values)
		}
		book = setCellXML(t, book, "xl/worksheets/sheet1.xml", "B2", inline("B2", "<![CDATA["+strings.Repeat("]", 11)+"]]>"))
		_, err = readAll(t, book, Options{MaxCellChars: 10})
		checkTooLarge(t, err, "row 2, column B", "max_cell_chars is 10")
	})
	t.Run("row", func(t *testing.T) {
		row := []any{"M1"}
		for i := 0; i < 40; i++ {
			row = append(row, fmt.Sprintf("%05d%s", i, strings.Repeat("x", 29995)))
		}
		header := []any{"编码"}
		for i := 1; i <= 40; i++ {
			header = append(header, fmt.Sprintf("c%d", i))
		}
		book := buildWorkbook(t, testSheet{name: "物料", rows: [][]any{header, {"M0", "small"}, row}})
		_, err := readAll(t, book, Options{Name: "wide.xlsx"})
		// 2 + 34 x 30000 characters are under 1 MiB characters, the 35th
		// cell (column AJ) goes over.
		checkTooLarge(t, err, `sheet "物料": row 3, column AJ:`, "the row holds more than 1048576 characters", "max_row_chars is 1048576", "raise max_row_chars")
		rows, err := readAll(t, book, Options{MaxRowChars: 2 << 20})
		if err != nil || len(rows) != 2 {
			t.Fatalf("with max_row_chars raised: %d rows, %v", len(rows), err)
		}
	})
	t.Run("markup outside cells", func(t *testing.T) {
		book := buildWorkbook(t, testSheet{name: "物料", rows: [][]any{{"编码"}, {"M1"}}})
		book = patchPart(t, book, "xl/worksheets/sheet1.xml", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`</row>`), []byte(`</row>`+strings.Repeat(" ", maxMarkupBytes+1)), 1)
		})
		_, err := readAll(t, book, Options{})
		checkTooLarge(t, err, "outside any cell", "damaged")
	})
	t.Run("unused big shared string in a streamed table", func(t *testing.T) {
		// Another sheet's long text, in a shared-string table over 1 MiB
		// (read whole by excelize on the first shared-string cell).
		notes := make([][]any, 0, 40)
		for i := 0; i < 40; i++ {
			notes = append(notes, []any{fmt.Sprintf("%02d%s", i, strings.Repeat("说", 30000))})
		}
		notes = append(notes, []any{han(DefaultMaxCellChars)})
		book := buildWorkbook(t, testSheet{name: "物料", rows: [][]any{{"编码"}, {"M1"}}}, testSheet{name: "说明", rows: notes})
		book = lengthenShared(t, book, han(DefaultMaxCellChars), han(DefaultMaxCellChars+1))
		if uncompressedSize(t, book, "xl/sharedStrings.xml") <= partMemoryLimit {
			t.Fatal("fixture: the shared-string table is not streamed")
		}
		_, err := readAll(t, book, Options{})
		checkTooLarge(t, err, "shared string #", "no cell of this sheet shows it", "raise max_cell_chars")
		rows, err := readAll(t, book, Options{MaxCellChars: DefaultMaxCellChars + 1})
		if err != nil || len(rows) != 1 {
			t.Fatalf("with max_cell_chars raised: %d rows, %v", len(rows), err)
		}
	})
}

// lengthenShared replaces the shared string from with to.
func lengthenShared(t *testing.T, book []byte, from, to string) []byte {
	t.Helper()
	return patchPart(t, book, "xl/sharedStrings.xml", func(b []byte) []byte {
		old := []byte("<t>" + from + "</t>")
		if !bytes.Contains(b, old) {
			t.Fatal("fixture: shared string not found")
		}
		return bytes.Replace(b, old, []byte("<t>"+to+"</t>"), 1)
	})
}

func TestBoundsOptionsAndConfig(t *testing.T) {
	book := buildWorkbook(t, testSheet{name: "物料", rows: [][]any{{"编码"}, {"M1"}}})
	if _, err := readAll(t, book, Options{MaxCellChars: -1}); err == nil || !strings.Contains(err.Error(), "max_cell_chars") {
		t.Errorf("negative max_cell_chars: %v", err)
	}
	for conf, want := range map[string]string{
		"max_cell_chars: 0":  "max_cell_chars 0 must be at least 1",
		"max_row_chars: -3":  "max_row_chars -3 must be at least 1",
		"max_cell_chars: 10": "",
	} {
		parsed, err := xlsxScannerSpec().ParseYAML(conf, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = newXLSXScannerFromParsed(parsed)
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", conf, err, want)
		}
	}
}
