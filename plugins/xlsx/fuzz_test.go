package xlsx

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// Fuzz inputs are bounded: a workbook is read from a temporary file and
// excelize indexes it in memory, so megabytes per input only slow the search.
const (
	maxFuzzBook    = 1 << 20
	maxFuzzPart    = 256 << 10
	maxFuzzBatches = 5000
)

// fuzzParts are the parts FuzzWorkbookPart can replace, by its part byte.
var fuzzParts = []string{
	"xl/worksheets/sheet1.xml",
	"xl/sharedStrings.xml",
	"xl/styles.xml",
	"xl/workbook.xml",
	"xl/_rels/workbook.xml.rels",
	"[Content_Types].xml",
	"_rels/.rels",
}

// fuzzBook is a small workbook with every kind of cell the reader types.
func fuzzBook(tb testing.TB) []byte {
	tb.Helper()
	return buildWorkbook(tb, testSheet{name: "物料", rows: [][]any{
		{"编码", "名称", "数量", "日期", "启用", "编码"},
		{"00123", "螺丝 M3", 100, time.Date(2024, 3, 15, 10, 30, 0, 0, time.UTC), true, "dup"},
		{"A-002", "垫片", 2.25, numFmt{45000.5, "yyyy/mm/dd hh:mm"}, false, nil},
		nil,
		{"B-003", nil, formula("C2*2"), numFmt{0.75, "h:mm"}, "是", 1},
	}})
}

// scanAll reads data as a workbook through the xlsx scanner, as the file
// input would, with options chosen by flags: never a panic; the workbook,
// every row error and every batch error name xlsx; nothing is left in dir.
func scanAll(t *testing.T, data []byte, flags uint8, dir string) {
	t.Helper()
	opts := Options{
		RawValues:     flags&1 != 0,
		SkipEmptyRows: flags&2 == 0,
		HeaderRow:     int(flags>>2&3) + 1,
		MaxRows:       int(flags >> 6), // 0: no limit
		TempDir:       dir,
	}
	if flags&16 != 0 {
		opts.Types = map[string]ColumnType{"编码": TypeString, "数量": TypeNumber, "日期": TypeDate, "启用": TypeBool}
	}
	if flags&32 != 0 {
		opts.SheetIndex = 2
	}
	details := service.NewScannerSourceDetails()
	details.SetName("fuzz.xlsx")
	sc, err := (&xlsxScannerCreator{opts: opts}).Create(io.NopCloser(bytes.NewReader(data)),
		func(context.Context, error) error { return nil }, details)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < maxFuzzBatches; i++ {
		batch, ack, err := sc.NextBatch(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			checkXLSXErr(t, err)
			break
		}
		for _, m := range batch {
			if merr := m.GetError(); merr != nil {
				checkXLSXErr(t, merr)
			}
			if _, err := m.AsStructured(); err != nil {
				t.Fatalf("row message is not structured: %v", err)
			}
		}
		_ = ack(ctx, nil)
	}
	if err := sc.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Fatalf("temporary files left after Close: %v", left)
	}
}

func checkXLSXErr(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "xlsx: ") {
		t.Fatalf("error does not name xlsx: %v", err)
	}
	if !utf8.ValidString(msg) {
		t.Fatalf("error is not valid UTF-8: %q", msg)
	}
}

// FuzzScanner reads arbitrary bytes as a workbook: zips that are not
// workbooks, truncated and damaged workbooks, HTML pages, empty files.
func FuzzScanner(f *testing.F) {
	book := fuzzBook(f)
	for _, seed := range [][]byte{
		book,
		materialsBook(f),
		book[:len(book)/2],
		append(append([]byte(nil), book[:len(book)-30]...), bytes.Repeat([]byte{0xff}, 30)...),
		zipOf(f, [2]string{"hello.txt", "not a workbook"}),
		zipOf(f, [2]string{"xl/workbook.xml", `<workbook><sheets><sheet name="a" sheetId="1" r:id="rId1"/></sheets></workbook>`}),
		[]byte(`<html><body>404 Not Found</body></html>`),
		[]byte("PK\x03\x04"),
		{},
	} {
		for _, flags := range []uint8{0, 2, 1 | 16, 4 | 32, 1 << 6} {
			f.Add(seed, flags)
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		if len(data) > maxFuzzBook {
			return
		}
		scanAll(t, data, flags, dir)
	})
}

// FuzzWorkbookPart replaces one part of a valid workbook (the sheet, shared
// strings, styles, workbook, relationships) with arbitrary bytes, which
// reaches the XML readers that whole-file mutation rarely gets past the
// zip checksum to.
func FuzzWorkbookPart(f *testing.F) {
	book := fuzzBook(f)
	zr, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		f.Fatal(err)
	}
	orig := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			f.Fatal(err)
		}
		orig[zf.Name], _ = io.ReadAll(rc)
		_ = rc.Close()
	}
	for i, p := range fuzzParts {
		if orig[p] == nil {
			f.Fatalf("the fuzz workbook has no part %s", p)
		}
		f.Add(uint8(i), orig[p], uint8(0))
		f.Add(uint8(i), orig[p][:len(orig[p])*2/3], uint8(16))
		f.Add(uint8(i), []byte{}, uint8(2))
		f.Add(uint8(i), []byte("\xff\xfe<\x00x\x00"), uint8(1))
	}
	sheet := string(orig[fuzzParts[0]])
	for _, s := range []string{
		strings.Replace(sheet, `<row r="2"`, `<row r="1048576"`, 1),
		strings.Replace(sheet, `r="A2"`, `r="XFD2"`, 1),
		strings.Replace(sheet, `r="A2"`, `r="!!"`, 1),
		strings.Replace(sheet, `<row r="2"`, `<row r="0"`, 1),
		strings.Replace(sheet, `<row r="3"`, `<row r="2"`, 1),
		strings.Replace(sheet, `<v>100</v>`, `<v>1e400</v>`, 1),
		strings.Replace(sheet, `<v>100</v>`, `<v>-1</v>`, 1),
		strings.Replace(sheet, `s="`, `s="99999`, 1),
		strings.Replace(sheet, `t="b"`, `t="x"`, 1),
		strings.Replace(sheet, `<dimension ref="`, `<dimension ref="A1:Z99999999`, 1),
		strings.Replace(sheet, `</sheetData>`, ``, 1),
	} {
		f.Add(uint8(0), []byte(s), uint8(0))
		f.Add(uint8(0), []byte(s), uint8(1|16))
	}
	styles := string(orig["xl/styles.xml"])
	f.Add(uint8(2), []byte(strings.Replace(styles, `numFmtId="`, `numFmtId="-7`, 1)), uint8(0))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, part uint8, content []byte, flags uint8) {
		if len(content) > maxFuzzPart {
			return
		}
		name := fuzzParts[int(part)%len(fuzzParts)]
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, zf := range zr.File {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: zf.Name, Method: zip.Store}) // stored: cheaper per input
			if err != nil {
				t.Fatal(err)
			}
			data := orig[zf.Name]
			if zf.Name == name {
				data = content
			}
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		scanAll(t, buf.Bytes(), flags, dir)
	})
}

// zipOf builds a zip of the given parts (name, data).
func zipOf(tb testing.TB, parts ...[2]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		name, data := p[0], p[1]
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(data)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
