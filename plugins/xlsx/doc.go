// Package xlsx is the `xlsx` scanner: Excel import through Benthos's `file`
// input (or any input taking a `scanner`), on github.com/xuri/excelize/v2.
//
// Each data row of one sheet becomes one message, a JSON object keyed by the
// header row, with metadata xlsx_sheet, xlsx_row (the 1-based row number as
// Excel shows it) and xlsx_file. Rows whose cells cannot be read are emitted
// with the error flag and metadata erpsync_error = "row N: reason", so the
// stream can dead-letter them; nothing is dropped silently. The scanner spec
// (scanner_xlsx.go) is the user documentation: keys, value types and hints,
// bad rows, memory.
//
// A stream config uses it like this (the full version, with a Kingdee output
// and its dead letter, is the spec's example):
//
//	input:
//	  file:
//	    paths: [ ./import/materials/*.xlsx ]
//	    scanner:
//	      xlsx:
//	        sheet: 物料          # or sheet_index: 2; default the first sheet
//	        header_row: 2       # column names on row 2, a title above
//	        types: { 物料编码: string, 单价: number, 启用日期: date }
//	pipeline:
//	  processors:
//	    - switch:
//	        - check: '!errored()'
//	          processors:
//	            - dedupe: { cache: seen, key: '${! @xlsx_file }#${! this."物料编码" }' }
//	            - mapping: |
//	                root.FNumber = this."物料编码"
//	                root.FName = this."物料名称"
//	output:
//	  switch:
//	    cases:
//	      - check: errored()
//	        output:
//	          file: { path: ./dead_letters/rows.jsonl, codec: lines }
//	          processors:
//	            - mapping: |
//	                root = this
//	                root.row = @xlsx_row
//	                root.reason = @erpsync_error.or(error())
//	      - output: { ... the target ... }
//
// Duplicates (skip | overwrite | update_only by a key) are the stream's
// business, not the scanner's: a cache keyed by the business key decides.
//
// How it reads: reader.go holds the workbook logic and knows nothing of
// Benthos. excelize opens the workbook (shared strings, styles, number
// formats, big parts unzipped to temporary files) and its Rows iterator
// streams the sheet's text, formatted or raw. excelize's iterator gives text
// only, so the same worksheet XML is also scanned token by token, in step
// with it, for each cell's type attribute, style and stored value: that is
// what tells the number 123 from the text "00123", a date from a number, and
// an error cell or an uncalculated formula from a blank. Memory is bounded by
// the compressed workbook (held while opening) plus parts under 1 MiB; the
// row count does not matter. Both excelize and the type scan decode a cell
// whole, so before either reads the sheet, bounds.go measures it (and the
// shared-string table) byte by byte, keeping no text, and refuses a workbook
// with a cell over max_cell_chars or a row over max_row_chars.
package xlsx
