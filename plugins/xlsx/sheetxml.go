package xlsx

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// sheetXMLPath resolves a sheet name to its part in the zip through the
// workbook relationships, as excelize does.
func sheetXMLPath(zr *zip.Reader, f *excelize.File, sheet string) (string, error) {
	if f.WorkBook == nil {
		return "", errors.New("the workbook part is missing")
	}
	rid := ""
	for _, s := range f.WorkBook.Sheets.Sheet {
		if s.Name == sheet {
			rid = s.ID
		}
	}
	wbPath := "xl/workbook.xml"
	if rels, err := readRels(zr, "_rels/.rels"); err == nil {
		for _, rel := range rels {
			if strings.HasSuffix(rel.Type, "/officeDocument") {
				wbPath = strings.TrimPrefix(rel.Target, "/")
			}
		}
	}
	dir := path.Dir(wbPath)
	rels, err := readRels(zr, path.Join(dir, "_rels", path.Base(wbPath)+".rels"))
	if err != nil {
		return "", fmt.Errorf("the workbook relationships cannot be read: %w", err)
	}
	for _, rel := range rels {
		if rel.ID != rid {
			continue
		}
		if !strings.HasSuffix(rel.Type, "/worksheet") {
			return "", fmt.Errorf("sheet %q is not a worksheet (a chart or dialog sheet has no rows); choose another sheet", sheet)
		}
		t := strings.ReplaceAll(rel.Target, "\\", "/")
		if strings.HasPrefix(t, "/") {
			return strings.TrimPrefix(path.Clean(t), "/"), nil
		}
		return path.Clean(path.Join(dir, t)), nil
	}
	return "", fmt.Errorf("sheet %q has no worksheet part in the workbook relationships; the file is damaged", sheet)
}

type relationship struct {
	ID     string `xml:"Id,attr"`
	Type   string `xml:"Type,attr"`
	Target string `xml:"Target,attr"`
}

func readRels(zr *zip.Reader, name string) ([]relationship, error) {
	zf := findZipFile(zr, name)
	if zf == nil {
		return nil, fmt.Errorf("no part %s", name)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var rels struct {
		Relationships []relationship `xml:"Relationship"`
	}
	if err := xml.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(&rels); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rels.Relationships, nil
}

func findZipFile(zr *zip.Reader, name string) *zip.File {
	for _, f := range zr.File {
		if f.Name == name {
			return f
		}
	}
	for _, f := range zr.File {
		if strings.EqualFold(strings.ReplaceAll(f.Name, "\\", "/"), name) {
			return f
		}
	}
	return nil
}

//------------------------------------------------------------------------------

// sheetScanner reads a worksheet's XML token by token and reports, per row,
// each cell's column, type attribute, style and stored value: what excelize's
// row iterator (text only) does not say.
type sheetScanner struct {
	rc      io.ReadCloser
	d       *xml.Decoder
	lastRow int // from <dimension>, 0 when absent
	prevRow int
	row     scanRow
}

type scanRow struct {
	r        int
	cells    []scanCell
	problems []string // cells whose position cannot be read
}

type scanCell struct {
	col        int
	t          string
	s          int
	v          string
	hasV, hasF bool
}

func newSheetScanner(rc io.ReadCloser) *sheetScanner {
	return &sheetScanner{rc: rc, d: xml.NewDecoder(rc)}
}

func (s *sheetScanner) close() error { return s.rc.Close() }

// start reads up to <sheetData>, noting <dimension>.
func (s *sheetScanner) start() error {
	for {
		tok, err := s.d.RawToken()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("no sheetData element")
			}
			return err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "dimension":
			ref := attr(se, "ref")
			if i := strings.LastIndexByte(ref, ':'); i >= 0 {
				ref = ref[i+1:]
			}
			if _, row, err := excelize.SplitCellName(ref); err == nil {
				s.lastRow = row
			}
		case "sheetData":
			return nil
		}
	}
}

// next returns the next <row>, io.EOF after </sheetData>. The returned row is
// reused by the following call.
func (s *sheetScanner) next() (*scanRow, error) {
	for {
		tok, err := s.d.RawToken()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if el.Name.Local == "row" {
				return s.readRow(el)
			}
		case xml.EndElement:
			if el.Name.Local == "sheetData" {
				return nil, io.EOF
			}
		}
	}
}

func (s *sheetScanner) readRow(se xml.StartElement) (*scanRow, error) {
	r := s.prevRow + 1
	if v := attr(se, "r"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("row element with invalid number r=%q", v)
		}
		r = n
	}
	if r <= s.prevRow {
		return nil, fmt.Errorf("row %d follows row %d", r, s.prevRow)
	}
	s.prevRow = r
	s.row.r = r
	s.row.cells = s.row.cells[:0]
	s.row.problems = s.row.problems[:0]
	var cur *scanCell
	inV := false
	var vbuf bytes.Buffer
	for {
		tok, err := s.d.RawToken()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "row", "sheetData":
				return nil, fmt.Errorf("<%s> inside row %d (unclosed row)", el.Name.Local, r)
			case "c":
				col := 1
				if n := len(s.row.cells); n > 0 {
					col = s.row.cells[n-1].col + 1
				}
				if ref := attr(el, "r"); ref != "" {
					if c, _, err := excelize.CellNameToCoordinates(ref); err == nil {
						col = c
					} else {
						s.row.problems = append(s.row.problems, fmt.Sprintf("a cell has the invalid reference %q; its value cannot be placed", ref))
						col = -1
					}
				}
				style := 0
				if v := attr(el, "s"); v != "" {
					style, _ = strconv.Atoi(v)
				}
				s.row.cells = append(s.row.cells, scanCell{col: col, t: attr(el, "t"), s: style})
				cur = &s.row.cells[len(s.row.cells)-1]
			case "v":
				if cur != nil {
					inV, cur.hasV = true, true
					vbuf.Reset()
				}
			case "f":
				if cur != nil {
					cur.hasF = true
				}
			}
		case xml.CharData:
			if inV {
				vbuf.Write(el)
			}
		case xml.EndElement:
			switch el.Name.Local {
			case "v":
				if inV && cur != nil {
					cur.v = vbuf.String()
				}
				inV = false
			case "c":
				cur = nil
			case "row":
				return &s.row, nil
			}
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}
