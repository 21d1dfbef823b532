package xlsx

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// ColumnType is a per-column type hint (Options.Types).
type ColumnType string

// The column type hints; see the package documentation for the conversions.
const (
	TypeString ColumnType = "string"
	TypeNumber ColumnType = "number"
	TypeBool   ColumnType = "bool"
	TypeDate   ColumnType = "date"
)

// DateLayout is how date and date-time cells are written (no time zone: a
// workbook holds wall-clock times). TimeLayout is for time-of-day cells
// (serial below 1).
const (
	DateLayout = "2006-01-02 15:04:05"
	TimeLayout = "15:04:05"
)

// partMemoryLimit: worksheet and shared-string parts larger than this
// (uncompressed) are unzipped by excelize into a temporary file and streamed
// from there instead of being held in memory.
const partMemoryLimit = 1 << 20

// Options select what Open reads. The zero value reads the first sheet with
// its header on row 1 and keeps empty rows; the scanner's defaults skip them.
type Options struct {
	// Name names the source in errors (a file path); may be empty.
	Name string
	// Sheet is the sheet name; empty means SheetIndex, or the first sheet.
	Sheet string
	// SheetIndex is the 1-based position of the sheet tab; 0 means unset.
	SheetIndex int
	// HeaderRow is the 1-based row holding the column names; 0 means 1.
	HeaderRow int
	// SkipEmptyRows drops rows whose cells are all blank.
	SkipEmptyRows bool
	// MaxRows fails the read when the sheet has more data rows; 0: no limit.
	MaxRows int
	// RawValues reads stored values instead of displayed ones.
	RawValues bool
	// Types are type hints by header name.
	Types map[string]ColumnType
	// TempDir is where a non-file source is spooled and big parts unzipped;
	// empty means os.TempDir().
	TempDir string
	// MaxCellChars refuses the workbook when a cell of the sheet holds more
	// characters than this; 0 means DefaultMaxCellChars.
	MaxCellChars int
	// MaxRowChars refuses the workbook when a row of the sheet holds more
	// characters, all cells together; 0 means DefaultMaxRowChars.
	MaxRowChars int
}

// Row is one data row.
type Row struct {
	// Number is the 1-based spreadsheet row number.
	Number int
	// Values holds one entry per header column: nil for a blank cell.
	Values map[string]any
	// Err is a *RowError when a cell could not be read; Values then holds
	// what could be read (the raw text of the failing cells).
	Err error
}

// RowError says which cells of a row could not be read and why.
type RowError struct {
	Row      int
	Problems []string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d: %s", e.Row, strings.Join(e.Problems, "; "))
}

// ErrTooManyRows is wrapped by the error Open or Next return when the sheet
// has more data rows than Options.MaxRows.
var ErrTooManyRows = errors.New("more data rows than max_rows")

// Reader streams the data rows of one sheet. It is not safe for concurrent
// use.
type Reader struct {
	opts      Options
	name      string // for errors: `xlsx: book.xlsx sheet "物料"`
	sheet     string
	f         *excelize.File
	rows      *excelize.Rows
	scan      *sheetScanner
	spool     string // temporary copy of a non-file source, removed on Close
	spoolFile *os.File
	columns   []column
	colOpts   excelize.Options

	date1904 bool
	dateFmt  map[int]bool // style id -> number format is a date
	n        int          // current row number of the excelize iterator
	pending  *scanRow     // next row of the type scan, not yet reached
	scanDone bool
	data     int // data rows returned
	byCol    []*scanCell
}

type column struct {
	index  int // 0-based
	letter string
	key    string
	typ    ColumnType
}

// Open reads the workbook from src and positions the Reader after the header
// row of the selected sheet. src is used in place when it is a regular file
// (io.ReaderAt with Stat); anything else is first copied to a temporary file.
// excelize then reads the compressed workbook into memory once to index it
// (the bytes are released when Open returns); the sheet itself is streamed.
// The caller closes src; Close releases what Open created.
func Open(src io.Reader, opts Options) (rd *Reader, err error) {
	if opts.HeaderRow == 0 {
		opts.HeaderRow = 1
	}
	if opts.MaxCellChars == 0 {
		opts.MaxCellChars = DefaultMaxCellChars
	}
	if opts.MaxRowChars == 0 {
		opts.MaxRowChars = DefaultMaxRowChars
	}
	if opts.HeaderRow < 0 || opts.SheetIndex < 0 || opts.MaxRows < 0 || opts.MaxCellChars < 0 || opts.MaxRowChars < 0 {
		return nil, fmt.Errorf("xlsx: header_row, sheet_index, max_rows, max_cell_chars and max_row_chars cannot be negative")
	}
	if opts.Sheet != "" && opts.SheetIndex > 0 {
		return nil, fmt.Errorf("xlsx: both sheet %q and sheet_index %d are set; set only one", opts.Sheet, opts.SheetIndex)
	}
	for col, t := range opts.Types {
		switch t {
		case TypeString, TypeNumber, TypeBool, TypeDate:
		default:
			return nil, fmt.Errorf("xlsx: types: column %q has unknown type %q; use string, number, bool or date", col, t)
		}
	}
	r := &Reader{opts: opts, name: "xlsx: workbook", dateFmt: map[int]bool{}}
	if opts.Name != "" {
		r.name = "xlsx: " + opts.Name
	}
	defer func() {
		if err != nil {
			err = validUTF8(err)
			_ = r.Close()
		}
	}()

	ra, size, err := r.readerAt(src)
	if err != nil {
		return nil, err
	}
	r.f, err = excelize.OpenReader(io.NewSectionReader(ra, 0, size), excelize.Options{
		UnzipXMLSizeLimit: partMemoryLimit,
		TmpDir:            opts.TempDir,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: cannot open the workbook: %w (only .xlsx/.xlsm workbooks without a password can be read; save an .xls file as .xlsx)", r.name, err)
	}
	if err := r.selectSheet(); err != nil {
		return nil, err
	}
	r.name += fmt.Sprintf(" sheet %q", r.sheet)
	if wb := r.f.WorkBook; wb != nil && wb.WorkbookPr != nil {
		r.date1904 = wb.WorkbookPr.Date1904
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the workbook's zip directory: %w", r.name, err)
	}
	p, err := sheetXMLPath(zr, r.f, r.sheet)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	if err := r.checkBounds(zr, p); err != nil {
		return nil, err
	}
	if err := r.openScan(zr, p); err != nil {
		return nil, err
	}
	if r.rows, err = r.f.Rows(r.sheet); err != nil {
		return nil, fmt.Errorf("%s: cannot read the sheet: %w", r.name, err)
	}
	// excelize's formatting of date cells costs ~0.1 ms each and values are
	// typed from the stored value anyway: displayed text is asked for only
	// when a string hint needs it.
	needDisplay := false
	for _, t := range opts.Types {
		needDisplay = needDisplay || t == TypeString
	}
	r.colOpts = excelize.Options{RawCellValue: opts.RawValues || !needDisplay}
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

// readerAt returns src as a random-access reader, spooling it to a temporary
// file when it is not a regular file.
func (r *Reader) readerAt(src io.Reader) (io.ReaderAt, int64, error) {
	type statReaderAt interface {
		io.ReaderAt
		Stat() (fs.FileInfo, error)
	}
	if f, ok := src.(statReaderAt); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return f, fi.Size(), nil
		}
	}
	tmp, err := os.CreateTemp(r.opts.TempDir, "erpsync-xlsx-*.xlsx")
	if err != nil {
		return nil, 0, fmt.Errorf("%s: cannot spool the workbook to a temporary file: %w (set temp_dir to a writable directory)", r.name, err)
	}
	r.spool, r.spoolFile = tmp.Name(), tmp
	size, err := io.Copy(tmp, src)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: cannot spool the workbook to %s: %w", r.name, r.spool, err)
	}
	return tmp, size, nil
}

func (r *Reader) selectSheet() error {
	list := r.f.GetSheetList()
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = strconv.Quote(s)
	}
	have := "the workbook has sheets " + strings.Join(quoted, ", ")
	if len(list) == 0 {
		return fmt.Errorf("%s: the workbook has no sheets", r.name)
	}
	switch {
	case r.opts.Sheet != "":
		want := strings.TrimSpace(r.opts.Sheet)
		for _, s := range list {
			if s == want {
				r.sheet = s
				return nil
			}
		}
		for _, s := range list {
			if strings.EqualFold(strings.TrimSpace(s), want) {
				r.sheet = s
				return nil
			}
		}
		return fmt.Errorf("%s: no sheet named %q; %s (set sheet to one of them, or sheet_index)", r.name, r.opts.Sheet, have)
	case r.opts.SheetIndex > 0:
		if r.opts.SheetIndex > len(list) {
			return fmt.Errorf("%s: sheet_index %d is past the last sheet; %s (sheet_index counts tabs from 1)", r.name, r.opts.SheetIndex, have)
		}
		r.sheet = list[r.opts.SheetIndex-1]
	default:
		r.sheet = list[0]
	}
	return nil
}

// openScan opens the sheet's XML a second time, straight from the zip, for
// the cell types and stored values the excelize row iterator does not expose.
func (r *Reader) openScan(zr *zip.Reader, p string) error {
	zf := findZipFile(zr, p)
	if zf == nil {
		return fmt.Errorf("%s: the workbook lists the sheet at %s but the file has no such part", r.name, p)
	}
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("%s: cannot open %s: %w", r.name, p, err)
	}
	r.scan = newSheetScanner(rc)
	if err := r.scan.start(); err != nil {
		return fmt.Errorf("%s: worksheet XML cannot be read: %w", r.name, err)
	}
	return nil
}

// checkBounds refuses the workbook when a cell or row of the sheet (part p)
// holds more text than MaxCellChars or MaxRowChars, before excelize or the
// type scan read the sheet: both hold a cell whole while decoding it, so the
// check cannot be made as they go. The shared-string table is measured first
// (its strings count where the sheet refers to them). The error names the
// sheet, the row, the column, the limit and the field that sets it.
func (r *Reader) checkBounds(zr *zip.Reader, p string) error {
	b := sheetBounds{maxCell: r.opts.MaxCellChars, maxRow: r.opts.MaxRowChars}
	over := -1
	var sstSize uint64
	if zf := findZipFile(zr, "xl/sharedStrings.xml"); zf != nil {
		rc, err := zf.Open()
		if err == nil {
			var serr error
			b.shared, over, serr = sharedStringSizes(rc, b.maxCell)
			_ = rc.Close()
			if serr != nil {
				return fmt.Errorf("%s: %w: %w", r.name, ErrTooLarge, serr)
			}
			sstSize = zf.UncompressedSize64
		}
	}
	zf := findZipFile(zr, p)
	if zf == nil {
		return nil // openScan reports it
	}
	rc, err := zf.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	usesShared, prob := checkSheetSizes(rc, b)
	fix := "shorten the cell"
	field := "max_cell_chars"
	if prob != nil && strings.HasPrefix(prob.msg, "the row") {
		fix, field = "shorten the row's cells", "max_row_chars"
	}
	switch {
	case prob != nil && prob.col > 0:
		letter, _ := excelize.ColumnNumberToName(prob.col)
		return fmt.Errorf("%s: row %d, column %s: %w: %s; the file is not imported (no row of it was read): %s or raise %s", r.name, prob.row, letter, ErrTooLarge, prob.msg, fix, field)
	case prob != nil:
		return fmt.Errorf("%s: after row %d: %w: %s", r.name, prob.row, ErrTooLarge, prob.msg)
	case over >= 0 && usesShared && sstSize > partMemoryLimit:
		// excelize reads a big shared-string table whole, string by string,
		// on the first shared-string cell: this one would be held too.
		return fmt.Errorf("%s: %w: shared string #%d in xl/sharedStrings.xml holds more than %d characters (max_cell_chars is %d); no cell of this sheet shows it, but the table is read whole; the file is not imported (no row of it was read): shorten that string (it is on another sheet) or raise max_cell_chars", r.name, ErrTooLarge, over, b.maxCell, b.maxCell)
	}
	return nil
}

func (r *Reader) readHeader() error {
	var cells []string
	for r.n < r.opts.HeaderRow {
		if !r.rows.Next() {
			return fmt.Errorf("%s: header_row %d is past the last row (%d); set header_row to the row holding the column names", r.name, r.opts.HeaderRow, r.n)
		}
		r.n++
		if r.n < r.opts.HeaderRow {
			continue
		}
		var err error
		if cells, err = r.rows.Columns(); err != nil {
			return fmt.Errorf("%s: header row %d cannot be read: %w", r.name, r.n, err)
		}
	}
	if _, err := r.scanRowFor(r.n); err != nil {
		return err
	}
	last := -1
	for i, c := range cells {
		if strings.TrimSpace(c) != "" {
			last = i
		}
	}
	if last < 0 {
		return fmt.Errorf("%s: header row %d is empty; set header_row to the row holding the column names", r.name, r.opts.HeaderRow)
	}
	seen := map[string]int{}
	for i := 0; i <= last; i++ {
		letter, _ := excelize.ColumnNumberToName(i + 1)
		key := strings.TrimSpace(cells[i])
		if key == "" {
			key = letter
		}
		if n := seen[key]; n > 0 {
			base := key
			for {
				n++
				key = base + "_" + strconv.Itoa(n)
				if seen[key] == 0 {
					break
				}
			}
			seen[base] = n
		}
		seen[key]++
		r.columns = append(r.columns, column{index: i, letter: letter, key: key})
	}
	for name, t := range r.opts.Types {
		found := false
		for i := range r.columns {
			if r.columns[i].key == name {
				r.columns[i].typ, found = t, true
			}
		}
		if !found {
			return fmt.Errorf("%s: types names column %q, which is not in header row %d (columns: %s)", r.name, name, r.opts.HeaderRow, strings.Join(r.Columns(), ", "))
		}
	}
	r.byCol = make([]*scanCell, len(r.columns))
	if r.opts.MaxRows > 0 && r.scan.lastRow > 0 && r.scan.lastRow-r.opts.HeaderRow > r.opts.MaxRows {
		return fmt.Errorf("%s: %w: the sheet spans rows up to %d, more than max_rows %d data rows after header row %d; raise max_rows or split the workbook", r.name, ErrTooManyRows, r.scan.lastRow, r.opts.MaxRows, r.opts.HeaderRow)
	}
	return nil
}

// Sheet is the name of the sheet being read.
func (r *Reader) Sheet() string { return r.sheet }

// Columns are the object keys, in column order.
func (r *Reader) Columns() []string {
	keys := make([]string, len(r.columns))
	for i, c := range r.columns {
		keys[i] = c.key
	}
	return keys
}

// scanRowFor returns the type scan's row number n, or nil when the sheet XML
// has no element for that row (an empty row). Rows before n are passed over.
func (r *Reader) scanRowFor(n int) (*scanRow, error) {
	for {
		if r.pending == nil {
			if r.scanDone {
				return nil, nil
			}
			row, err := r.scan.next()
			if errors.Is(err, io.EOF) {
				r.scanDone = true
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("%s: worksheet XML is broken after row %d: %w; the rows after it cannot be read", r.name, r.scan.prevRow, err)
			}
			r.pending = row
		}
		switch {
		case r.pending.r < n:
			r.pending = nil
		case r.pending.r > n:
			return nil, nil
		default:
			row := r.pending
			r.pending = nil
			return row, nil
		}
	}
}

// Next returns the next data row, io.EOF after the last. Any other error
// means the rest of the sheet cannot be read; a row whose cells cannot be
// read is returned with Row.Err set instead.
func (r *Reader) Next() (Row, error) {
	row, err := r.next()
	return row, validUTF8(err)
}

func (r *Reader) next() (Row, error) {
	for {
		if !r.rows.Next() {
			if err := r.rows.Error(); err != nil {
				return Row{}, fmt.Errorf("%s: reading stopped after row %d: %w", r.name, r.n, err)
			}
			if _, err := r.scanRowFor(r.n + 1); err != nil {
				return Row{}, err
			}
			if !r.scanDone {
				return Row{}, fmt.Errorf("%s: reading stopped after row %d but the worksheet holds more rows; the file is damaged", r.name, r.n)
			}
			return Row{}, io.EOF
		}
		r.n++
		texts, colErr := r.rows.Columns(r.colOpts)
		sr, err := r.scanRowFor(r.n)
		if err != nil {
			return Row{}, err
		}
		row, empty := r.buildRow(texts, sr)
		if colErr != nil {
			re := rowErr(&row)
			re.Problems = append(re.Problems, "the row cannot be read: "+strings.ToValidUTF8(colErr.Error(), "?"))
			empty = false
		}
		if empty && r.opts.SkipEmptyRows {
			continue
		}
		r.data++
		if r.opts.MaxRows > 0 && r.data > r.opts.MaxRows {
			return Row{}, fmt.Errorf("%s: %w: row %d is data row %d, max_rows is %d; raise max_rows or split the workbook", r.name, ErrTooManyRows, r.n, r.data, r.opts.MaxRows)
		}
		return row, nil
	}
}

func rowErr(row *Row) *RowError {
	if row.Err == nil {
		row.Err = &RowError{Row: row.Number}
	}
	return row.Err.(*RowError)
}

func (r *Reader) buildRow(texts []string, sr *scanRow) (Row, bool) {
	clear(r.byCol)
	if sr != nil {
		// Cells are in column order; walk them against the columns.
		j := 0
		for i := range sr.cells {
			c := &sr.cells[i]
			for j < len(r.columns) && r.columns[j].index+1 < c.col {
				j++
			}
			if j < len(r.columns) && r.columns[j].index+1 == c.col {
				r.byCol[j] = c
			}
		}
	}
	row := Row{Number: r.n, Values: make(map[string]any, len(r.columns))}
	empty := true
	if sr != nil && len(sr.problems) > 0 {
		rowErr(&row).Problems = append(rowErr(&row).Problems, sr.problems...)
		empty = false
	}
	for j, col := range r.columns {
		text := ""
		if col.index < len(texts) {
			text = texts[col.index]
		}
		v, problem := r.cellValue(col, text, r.byCol[j])
		row.Values[col.key] = v
		if problem != "" {
			re := rowErr(&row)
			re.Problems = append(re.Problems, fmt.Sprintf("column %s (%s): %s", col.key, col.letter, problem))
			empty = false
		}
		if s, ok := v.(string); (ok && strings.TrimSpace(s) != "") || (!ok && v != nil) {
			empty = false
		}
	}
	return row, empty
}

// cellKind is what a cell holds, from its type attribute and number format.
type cellKind int

const (
	kindBlank cellKind = iota
	kindString
	kindNumber
	kindSerialDate // a number formatted as a date or time
	kindISODate    // t="d"
	kindBool
)

func (r *Reader) cellValue(col column, text string, c *scanCell) (any, string) {
	kind := kindBlank
	var num float64
	switch {
	case c == nil:
		if text != "" {
			kind = kindString
		}
	case c.hasF && !c.hasV:
		return nil, "the formula has no calculated value (the file was written without calculating it; open and save it in Excel)"
	case c.t == "e":
		return c.v, "the cell holds the Excel error " + c.v
	case c.t == "s" || c.t == "inlineStr" || c.t == "str":
		if text != "" || c.hasV {
			kind = kindString
		}
	case c.t == "b":
		kind = kindBool
	case c.t == "d":
		kind = kindISODate
	case c.t == "" || c.t == "n":
		if strings.TrimSpace(c.v) == "" {
			break
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(c.v), 64)
		if err != nil {
			return c.v, fmt.Sprintf("the stored value %q is not a number", c.v)
		}
		num = f
		kind = kindNumber
		if r.isDateStyle(c.s) {
			kind = kindSerialDate
		}
	default:
		return c.v, fmt.Sprintf("unknown cell type %q", c.t)
	}
	if kind == kindBlank || (kind == kindString && text == "") {
		return nil, ""
	}

	switch col.typ {
	case TypeString:
		return text, ""
	case TypeNumber:
		switch kind {
		case kindNumber, kindSerialDate:
			return number(num), ""
		case kindString:
			s := strings.ReplaceAll(strings.TrimSpace(text), ",", "")
			if s == "" {
				return nil, ""
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return text, fmt.Sprintf("%q is not a number", text)
			}
			return number(f), ""
		default:
			return text, fmt.Sprintf("%q is not a number", text)
		}
	case TypeBool:
		switch kind {
		case kindBool:
			return c.v == "1" || strings.EqualFold(c.v, "true"), ""
		case kindNumber:
			if num == 0 || num == 1 {
				return num == 1, ""
			}
		case kindString:
			switch strings.ToLower(strings.TrimSpace(text)) {
			case "":
				return nil, ""
			case "true", "yes", "y", "1", "是", "√", "t":
				return true, ""
			case "false", "no", "n", "0", "否", "×", "f":
				return false, ""
			}
		}
		return text, fmt.Sprintf("%q is not a boolean (expected TRUE/FALSE, yes/no, 1/0 or 是/否)", text)
	case TypeDate:
		switch kind {
		case kindNumber, kindSerialDate:
			return r.serialDate(num, text)
		case kindISODate:
			return isoDate(c.v, text)
		case kindString:
			if strings.TrimSpace(text) == "" {
				return nil, ""
			}
			if t, ok := parseDateText(text); ok {
				return t.Format(DateLayout), ""
			}
		}
		return text, fmt.Sprintf("%q is not a date (expected a date cell or text such as 2024-01-02, 2024/1/2 15:04 or 2024年1月2日)", text)
	}

	// No hint: the cell's own type decides.
	switch kind {
	case kindString:
		return text, ""
	case kindNumber:
		return number(num), ""
	case kindSerialDate:
		if r.opts.RawValues {
			return number(num), ""
		}
		return r.serialDate(num, text)
	case kindISODate:
		if r.opts.RawValues {
			return c.v, ""
		}
		return isoDate(c.v, text)
	case kindBool:
		return c.v == "1" || strings.EqualFold(c.v, "true"), ""
	}
	return nil, ""
}

// number keeps Excel's 15 significant digits (a stored 12.339999999999999 is
// the 12.34 Excel shows) and returns whole numbers as int64.
func number(f float64) any {
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

func (r *Reader) serialDate(serial float64, text string) (any, string) {
	if serial < 0 {
		return text, fmt.Sprintf("%v is not a valid Excel date", serial)
	}
	t, err := excelize.ExcelDateToTime(serial, r.date1904)
	if err != nil {
		return text, fmt.Sprintf("%v is not a valid Excel date: %v", serial, err)
	}
	if serial < 1 {
		return t.Format(TimeLayout), ""
	}
	return t.Format(DateLayout), ""
}

func isoDate(v, text string) (any, string) {
	if t, ok := parseDateText(v); ok {
		return t.Format(DateLayout), ""
	}
	return v, fmt.Sprintf("the stored date %q cannot be parsed", v)
}

var dateLayouts = []string{
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
	"2006/1/2 15:04:05", "2006/1/2 15:04", "2006/1/2",
	"2006.1.2", "2006-1-2", "2006-1-2 15:04:05",
	"2006年1月2日 15:04:05", "2006年1月2日 15:04", "2006年1月2日", "2006年1月2日15:04:05",
	"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", time.RFC3339Nano,
	"20060102",
}

// parseDateText parses the date texts people type into cells. Offsets, when
// present, are dropped: the result is the wall-clock time as written.
func parseDateText(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// isDateStyle reports whether the number format of style id s shows a date
// or time: a built-in date format (including the CJK ones), or a custom code
// with date or time letters outside quotes, escapes and brackets.
func (r *Reader) isDateStyle(s int) bool {
	if s <= 0 {
		return false
	}
	if d, ok := r.dateFmt[s]; ok {
		return d
	}
	d := false
	st := r.f.Styles
	if st != nil && st.CellXfs != nil && s < len(st.CellXfs.Xf) && st.CellXfs.Xf[s].NumFmtID != nil {
		id := *st.CellXfs.Xf[s].NumFmtID
		code, custom := "", false
		if st.NumFmts != nil {
			for _, nf := range st.NumFmts.NumFmt {
				if nf != nil && nf.NumFmtID == id {
					code, custom = nf.FormatCode, true
					break
				}
			}
		}
		if custom {
			d = isDateFormatCode(code)
		} else {
			d = (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) || (id >= 50 && id <= 58)
		}
	}
	r.dateFmt[s] = d
	return d
}

func isDateFormatCode(code string) bool {
	// Only the first section (positive numbers) matters.
	inQuote, inBracket := false, false
	for i := 0; i < len(code); i++ {
		ch := code[i]
		switch {
		case inQuote:
			inQuote = ch != '"'
		case inBracket:
			if ch == ']' {
				inBracket = false
			}
		case ch == '"':
			inQuote = true
		case ch == '[':
			// [h], [mm], [ss] are elapsed durations, not dates.
			if end := strings.IndexByte(code[i:], ']'); end > 0 {
				inner := strings.ToLower(code[i+1 : i+end])
				if inner != "" && strings.Trim(inner, "hms") == "" {
					return false
				}
			}
			inBracket = true
		case ch == '\\' || ch == '_' || ch == '*':
			i++
		case ch == ';':
			return false
		default:
			switch ch | 0x20 {
			case 'y', 'm', 'd', 'h', 's':
				return true
			}
		}
	}
	return false
}

// validUTF8 makes an error's text valid UTF-8, keeping its chain: the XML
// decoder quotes the bytes it chokes on, and a damaged workbook's bytes
// need not be UTF-8, but the text goes to logs and message metadata.
func validUTF8(err error) error {
	if err == nil || utf8.ValidString(err.Error()) {
		return err
	}
	return &cleanError{msg: strings.ToValidUTF8(err.Error(), "?"), err: err}
}

type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

// Close releases the sheet readers, excelize's temporary files and the
// spooled copy of the source.
func (r *Reader) Close() error {
	var errs []error
	if r.rows != nil {
		errs = append(errs, r.rows.Close())
	}
	if r.scan != nil {
		errs = append(errs, r.scan.close())
	}
	if r.f != nil {
		errs = append(errs, r.f.Close())
	}
	if r.spoolFile != nil {
		_ = r.spoolFile.Close()
		r.spoolFile = nil
	}
	if r.spool != "" {
		errs = append(errs, os.Remove(r.spool))
		r.spool = ""
	}
	return errors.Join(errs...)
}
