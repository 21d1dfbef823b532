package xlsx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// Defaults of Options.MaxCellChars and Options.MaxRowChars.
const (
	// DefaultMaxCellChars is Excel's own limit on the text of one cell, so a
	// workbook Excel saved always passes.
	DefaultMaxCellChars = 32767
	// DefaultMaxRowChars bounds the text of one row, all its cells together.
	DefaultMaxRowChars = 1 << 20
)

// maxMarkupBytes bounds anything in the worksheet or shared-string XML that
// is not the text of a cell: one tag with its attributes, a comment, a text
// run between elements. encoding/xml (under excelize and the type scan)
// returns each of these as one token, so each must be bounded too.
const maxMarkupBytes = 1 << 20

// ErrTooLarge is wrapped by the error Open returns when a cell or a row holds
// more text than Options.MaxCellChars or Options.MaxRowChars.
var ErrTooLarge = errors.New("too large")

// The bound check is a pass over the sheet's XML (and the shared-string
// table) before excelize or the type scan read it: both decode a cell whole
// (encoding/xml returns a text run as one token), so a 400 MB cell cannot be
// stepped over by them without holding it. This pass reads the XML byte by
// byte through a bufio buffer, counts characters and keeps no text, so it
// holds at most that buffer whatever the workbook holds. It is not a
// validator: XML it cannot make sense of is left to the readers after it,
// which report damage as before; it only ever fails on a size.

// sizeProblem is what the bound check found; Reader.checkBounds puts the
// workbook and sheet names in front.
type sizeProblem struct {
	row, col int // 0 when not known
	msg      string
}

var errLimit = errors.New("limit reached")

// xmlCounter reads XML as a stream of text runs and markup, counting the
// characters of text without keeping it.
type xmlCounter struct {
	br  *bufio.Reader
	tag []byte // the current tag, between '<' and '>'
	ent int    // >0: inside an entity reference (&amp;), counted once
}

func newXMLCounter(r io.Reader) *xmlCounter {
	return &xmlCounter{br: bufio.NewReaderSize(r, 64<<10)}
}

// count returns the characters in b: UTF-8 sequences and entity
// references count one each.
func (x *xmlCounter) count(b []byte) int {
	n := 0
	for _, c := range b {
		switch {
		case x.ent > 0:
			if c == ';' || x.ent > 32 {
				x.ent = 0
			} else {
				x.ent++
			}
		case c == '&':
			n++
			x.ent = 1
		case c&0xC0 != 0x80:
			n++
		}
	}
	return n
}

// text reads character data up to and including the next '<', adding its
// character count to *n, and stops with errLimit as soon as *n passes limit
// (the rest of the run is read by the next call). With capture set, the
// first bytes go to *capture (up to 32) instead of being counted. It returns
// io.EOF at the end of the part.
func (x *xmlCounter) text(n *int, limit int, capture *[]byte) error {
	for {
		chunk, err := x.br.ReadSlice('<')
		b := chunk
		if err == nil {
			b = chunk[:len(chunk)-1]
		}
		if capture != nil && len(*capture)+len(b) <= 32 {
			*capture = append(*capture, b...)
		} else {
			*n += x.count(b)
		}
		switch {
		case *n > limit:
			if err == nil {
				// The '<' was consumed with the run; give it back so the
				// next call ends the run there.
				_ = x.br.UnreadByte()
			}
			return errLimit
		case err == nil:
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return err
		}
	}
}

type markupKind int

const (
	markupOther markupKind = iota // comment, processing instruction, declaration
	markupStart
	markupEnd
	markupEmpty // <x/>
)

// markup reads one construct after its '<'. A start or end tag is left in
// x.tag; CDATA content is text and is counted into *n against limit.
func (x *xmlCounter) markup(n *int, limit int) (markupKind, error) {
	x.tag = x.tag[:0]
	first, err := x.br.ReadByte()
	if err != nil {
		return markupOther, err
	}
	switch first {
	case '?':
		return markupOther, x.skipUntil("?>")
	case '!':
		if x.hasPrefix("--") {
			return markupOther, x.skipUntil("-->")
		}
		if x.hasPrefix("[CDATA[") {
			return markupOther, x.cdata(n, limit)
		}
		return markupOther, x.directive()
	}
	kind := markupStart
	if first == '/' {
		kind = markupEnd
	} else {
		x.tag = append(x.tag, first)
	}
	var quote byte
	for {
		c, err := x.br.ReadByte()
		if err != nil {
			return kind, err
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			if kind == markupStart && len(x.tag) > 0 && x.tag[len(x.tag)-1] == '/' {
				x.tag = x.tag[:len(x.tag)-1]
				kind = markupEmpty
			}
			return kind, nil
		}
		if len(x.tag) >= maxMarkupBytes {
			return kind, errMarkup
		}
		x.tag = append(x.tag, c)
	}
}

var errMarkup = errors.New("markup too long")

// hasPrefix consumes p when the input continues with it.
func (x *xmlCounter) hasPrefix(p string) bool {
	b, _ := x.br.Peek(len(p))
	if string(b) != p {
		return false
	}
	_, _ = x.br.Discard(len(p))
	return true
}

func (x *xmlCounter) skipUntil(end string) error {
	matched, total := 0, 0
	for {
		c, err := x.br.ReadByte()
		if err != nil {
			return err
		}
		if total++; total > maxMarkupBytes {
			return errMarkup
		}
		switch {
		case c == end[matched]:
			if matched++; matched == len(end) {
				return nil
			}
		case c == end[0]:
			matched = 1
		default:
			matched = 0
		}
	}
}

func (x *xmlCounter) cdata(n *int, limit int) error {
	// "]]>": a ']' run of any length followed by '>'.
	brackets := 0
	for {
		c, err := x.br.ReadByte()
		if err != nil {
			return err
		}
		switch {
		case c == ']':
			brackets++
			continue
		case c == '>' && brackets >= 2:
			*n += brackets - 2
			return nil
		}
		*n += brackets
		brackets = 0
		if c&0xC0 != 0x80 {
			*n++
		}
		if *n > limit {
			return errLimit
		}
	}
}

// directive skips <!DOCTYPE ...> and the like, with nested <...> and quotes.
func (x *xmlCounter) directive() error {
	depth, total := 1, 0
	var quote byte
	for {
		c, err := x.br.ReadByte()
		if err != nil {
			return err
		}
		if total++; total > maxMarkupBytes {
			return errMarkup
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '<':
			depth++
		case c == '>':
			if depth--; depth == 0 {
				return nil
			}
		}
	}
}

// name is the local name of the tag in x.tag (prefix dropped).
func (x *xmlCounter) name() string {
	end := bytes.IndexAny(x.tag, " \t\r\n")
	if end < 0 {
		end = len(x.tag)
	}
	n := x.tag[:end]
	if i := bytes.LastIndexByte(n, ':'); i >= 0 {
		n = n[i+1:]
	}
	return string(n)
}

// attr is the raw value of the unprefixed attribute name in x.tag.
func (x *xmlCounter) attr(name string) string {
	t := x.tag
	i := bytes.IndexAny(t, " \t\r\n")
	if i < 0 {
		return ""
	}
	t = t[i:]
	for {
		t = bytes.TrimLeft(t, " \t\r\n")
		eq := bytes.IndexByte(t, '=')
		if eq < 0 {
			return ""
		}
		key := bytes.TrimRight(t[:eq], " \t\r\n")
		t = bytes.TrimLeft(t[eq+1:], " \t\r\n")
		if len(t) == 0 || (t[0] != '"' && t[0] != '\'') {
			return ""
		}
		end := bytes.IndexByte(t[1:], t[0])
		if end < 0 {
			return ""
		}
		if string(key) == name {
			return string(t[1 : 1+end])
		}
		t = t[end+2:]
	}
}

// sharedStringSizes reads the shared-string table and returns the length of
// each string in characters, capped at maxCell+1 (anything longer is
// refused anyway), and the index of the first string over maxCell (-1: none).
func sharedStringSizes(r io.Reader, maxCell int) (sizes []uint32, over int, err error) {
	x := newXMLCounter(r)
	over = -1
	// skip: the current string is already over maxCell; its rest is read
	// through without counting.
	inSI, skip, counted := false, false, 0
	siN, scratch := 0, 0
	markOver := func() {
		if over < 0 {
			over = len(sizes)
		}
		skip = true
	}
	for {
		target, limit := &scratch, maxMarkupBytes
		switch {
		case inSI && skip:
			limit = math.MaxInt
		case inSI && counted > 0:
			target, limit = &siN, maxCell
		}
		scratch = 0
		err := x.text(target, limit, nil)
		switch {
		case errors.Is(err, errLimit) && target == &siN:
			markOver()
			continue
		case errors.Is(err, errLimit):
			return sizes, over, fmt.Errorf("xl/sharedStrings.xml holds a text run of more than %d bytes outside any string, after string #%d; the file is damaged or not a workbook Excel wrote", maxMarkupBytes, len(sizes)-1)
		case err != nil:
			return sizes, over, nil // the end, or damage that excelize reports
		}
		kind, err := x.markup(target, limit)
		switch {
		case errors.Is(err, errLimit) && target == &siN:
			markOver()
			continue
		case errors.Is(err, errLimit), errors.Is(err, errMarkup):
			return sizes, over, fmt.Errorf("xl/sharedStrings.xml holds a tag, comment or CDATA section of more than %d bytes after string #%d; the file is damaged or not a workbook Excel wrote", maxMarkupBytes, len(sizes)-1)
		case err != nil:
			return sizes, over, nil
		}
		switch name := x.name(); {
		case kind == markupEmpty && name == "si":
			sizes = append(sizes, 0)
		case kind == markupStart && name == "si":
			inSI, skip, counted, siN = true, false, 0, 0
		case kind == markupEnd && name == "si" && inSI:
			if skip {
				siN = maxCell + 1
			}
			sizes = append(sizes, uint32(siN))
			inSI = false
		case kind == markupStart && name == "t" && inSI:
			counted++
		case kind == markupEnd && name == "t" && counted > 0:
			counted--
		}
	}
}

// sheetBounds is what checkSheetSizes needs besides the sheet.
type sheetBounds struct {
	maxCell, maxRow int
	shared          []uint32 // sizes of the shared strings; nil: no table
}

// checkSheetSizes reads a worksheet's XML up to </sheetData> and returns the
// first cell or row over the bounds. usesShared says whether any cell refers
// to the shared-string table.
func checkSheetSizes(r io.Reader, b sheetBounds) (usesShared bool, p *sizeProblem) {
	x := newXMLCounter(r)
	var (
		inData, inRow, inCell bool
		row, col, prevCol     int
		shared, inV           bool
		counted               int
		cellN, rowN, scratch  int
		idx                   []byte
	)
	tooLarge := func() *sizeProblem {
		if cellN > b.maxCell {
			return &sizeProblem{row: row, col: col, msg: fmt.Sprintf("the cell holds more than %d characters (max_cell_chars is %d)", b.maxCell, b.maxCell)}
		}
		return &sizeProblem{row: row, col: col, msg: fmt.Sprintf("the row holds more than %d characters up to this column (max_row_chars is %d)", b.maxRow, b.maxRow)}
	}
	markupProblem := func(what string) *sizeProblem {
		return &sizeProblem{row: row, msg: fmt.Sprintf("the worksheet XML holds %s of more than %d bytes outside any cell; the file is damaged or not a workbook Excel wrote", what, maxMarkupBytes)}
	}
	for {
		target, limit, capture := &scratch, maxMarkupBytes, (*[]byte)(nil)
		if inCell && counted > 0 {
			target, limit = &cellN, min(b.maxCell, b.maxRow-rowN)
			if shared && inV {
				capture = &idx
			}
		}
		if target == &scratch {
			scratch = 0
		}
		err := x.text(target, limit, capture)
		switch {
		case errors.Is(err, errLimit) && target == &cellN:
			return usesShared, tooLarge()
		case errors.Is(err, errLimit):
			return usesShared, markupProblem("a text run")
		case err != nil:
			return usesShared, nil // end or damage: the readers after this report it
		}
		kind, err := x.markup(target, limit)
		switch {
		case errors.Is(err, errLimit) && target == &cellN:
			return usesShared, tooLarge()
		case errors.Is(err, errLimit):
			return usesShared, markupProblem("a CDATA section")
		case errors.Is(err, errMarkup):
			return usesShared, markupProblem("a tag or comment")
		case err != nil:
			return usesShared, nil
		}
		name := x.name()
		if !inData {
			if kind == markupStart && name == "sheetData" {
				inData = true
			}
			continue
		}
		switch {
		case kind == markupEnd && name == "sheetData":
			return usesShared, nil
		case (kind == markupStart || kind == markupEmpty) && name == "row":
			next := row + 1
			if n, err := strconv.Atoi(x.attr("r")); err == nil && n > 0 {
				next = n
			}
			row, inRow, prevCol, rowN = next, kind == markupStart, 0, 0
		case kind == markupEnd && name == "row":
			inRow, inCell = false, false
		case inRow && (kind == markupStart || kind == markupEmpty) && name == "c":
			col = prevCol + 1
			if c, _, err := excelize.CellNameToCoordinates(x.attr("r")); err == nil {
				col = c
			}
			prevCol = col
			shared, inCell, counted, cellN, idx = x.attr("t") == "s", kind == markupStart, 0, 0, idx[:0]
		case inCell && kind == markupEnd && name == "c":
			inCell = false
			if shared {
				usesShared = true
				if i, ok := sharedIndex(idx); ok && i < len(b.shared) {
					size := int(b.shared[i])
					if size > b.maxCell {
						return usesShared, &sizeProblem{row: row, col: col, msg: fmt.Sprintf("the cell's text (shared string #%d in xl/sharedStrings.xml) holds more than %d characters (max_cell_chars is %d)", i, b.maxCell, b.maxCell)}
					}
					if cellN += size; cellN > b.maxCell || rowN+cellN > b.maxRow {
						return usesShared, tooLarge()
					}
				}
			}
			rowN += cellN
		case inCell && kind == markupStart && (name == "v" || name == "f" || name == "t"):
			counted++
			inV = name == "v"
		case inCell && kind == markupEnd && (name == "v" || name == "f" || name == "t") && counted > 0:
			counted--
			inV = false
		}
	}
}

// sharedIndex reads a shared-string cell's value as excelize does: text that
// is not a number means string 0.
func sharedIndex(v []byte) (int, bool) {
	s := string(bytes.TrimSpace(v))
	if s == "" {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return 0, true
	}
	return i, i >= 0
}
