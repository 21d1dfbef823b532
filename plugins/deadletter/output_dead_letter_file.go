package deadletter

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	dfFieldDirectory = "directory"
	dfFieldStream    = "stream"
	dfFieldTarget    = "target"
	dfFieldSourceID  = "source_id"
	dfFieldError     = "error"
	dfFieldFields    = "fields"

	// MetaFileFields is the metadata key whose object adds fields to a
	// dead-letter file's record (the default of dead_letter_file's fields).
	MetaFileFields = "erpsync_dead_letter_fields"

	// maxFileLine bounds a line the index reads back: longer lines (a huge
	// document) are skipped by the index, so their repeat appends again.
	maxFileLine = 64 << 20
)

func deadLetterFileOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Appends dead letters to a JSON-lines file per stream, `<directory>/<stream>.jsonl`, one line per document and failure: a document that fails again with the same error is not written twice.").
		Description(`
Put it in the last tier of a `+"`fallback`"+` output, behind the target output, like `+"`dead_letter`"+` (the two are
usually fanned out together, the file needing no database). Each message becomes one line:

`+"```json"+`
{"stream":"jushuitan_other_inout_to_kis","source_id":"10000128","target":"kis","error_code":"20005",
 "error":"bill 10000128: kis: ...: code 20005 ... (permanent)","payload":{...},"meta":{...},"at":"2024-06-01T02:00:00.123Z"}
`+"```"+`

`+"`payload`"+` is the message as the target refused it (JSON when it parses, else a string), `+"`meta`"+` its metadata
without the `+"`erpsync_*`"+`, `+"`fallback_*`"+` and `+"`dead_letter_*`"+` keys (`+"`source_id`"+`, `+"`source_api`"+`, the workbook's
`+"`xlsx_file`"+` and `+"`xlsx_row`"+`, ...), `+"`error_code`"+` the vendor code found in the error as `+"`dead_letter`"+` extracts
it, `+"`at`"+` the time of the failure (UTC, RFC 3339).

One line per document and failure: the output keeps, for every source_id of the file, a digest of the
error and payload of its last line (read from the file when the output first writes to it, so it
holds across restarts). A message whose source_id, error and payload are those of the last line of
that source_id is acknowledged without being written: a stream that reads the same window again, or
a replay that fails the same way, does not grow the file. A document that fails with a different
error (or whose payload changed) is appended, so the file keeps the history of its distinct
failures; the last line of a source_id is its latest. A document without a source_id is keyed by the
digest of its payload, as in the table.

Each line is written with its line break in one write to a file opened for appending (0600, the
directory created 0700 when missing), so a kill never leaves two records on one line; a line cut
short by a kill is skipped by the index and followed by a line break before the next record. A file
belongs to one process: two processes appending to the same file each keep their own index.
`).
		Fields(
			service.NewStringField(dfFieldDirectory).
				Description("Folder of the files, one `<stream>.jsonl` per stream.").
				Example("${ERPSYNC_STATE_DIR:./state}/dead_letters"),
			service.NewInterpolatedStringField(dfFieldStream).
				Description("Stream of the message: names its file and is the record's `stream`. Interpolated, so that one output (a resource several streams share) writes each stream's file; letters, digits, `_`, `-` and `.` only.").
				Example("jushuitan_other_inout_to_kis").
				Example("${! @erpsync_stream }"),
			service.NewInterpolatedStringField(dfFieldTarget).
				Description("Target that refused the document, e.g. `kis`, `k3cloud:SAL_OUTSTOCK`, `mysql:erpsync_xbb_products`.").
				Default(""),
			service.NewInterpolatedStringField(dfFieldSourceID).
				Description("Id of the source document: the key of the repeat check.").
				Default(`${! @source_id.or("") }`),
			service.NewInterpolatedStringField(dfFieldError).
				Description("Why the document failed. Behind a `fallback` the reason is metadata `fallback_error`.").
				Default(`${! @fallback_error.or("") }`),
			service.NewBloblangField(dfFieldFields).
				Description("Mapping returning an object whose fields are added to the record (after the standard ones, which they cannot replace), e.g. the workbook and row of a spreadsheet row. The default reads the object a stream put in metadata `"+MetaFileFields+"`, so that streams sharing one output each add their own.").
				Default(`root = @`+MetaFileFields+`.or({})`),
			service.NewOutputMaxInFlightField().Default(1),
		).
		LintRule(`root = if this.directory.or("").trim() == "" { ["directory is empty: name the folder of the dead-letter files"] }`).
		Example("Documents the mapping rejects", "Sales-out documents without lines are rejected by the mapping and go to `./state/dead_letters/sales_out_to_kingdee.jsonl`, each distinct failure once: reading them again adds no line. Replace `drop` by the target (`kingdee_batchsave`, ...), whose refusals go to the file too.", `
pipeline:
  processors:
    - mapping: |
        root = if this.items.or([]).length() == 0 {
          throw("sales-out %v rejected: no items (permanent)".format(this.io_id))
        } else { this }
output:
  fallback:
    - reject_errored:
        drop: {}
    - processors:
        - mapping: meta source_id = this.io_id.string()
      dead_letter_file:
        directory: ./state/dead_letters
        stream: sales_out_to_kingdee
        target: k3cloud:SAL_OUTSTOCK
`)
}

// fileRecord is one line of a dead-letter file.
type fileRecord struct {
	Stream    string            `json:"stream"`
	SourceID  string            `json:"source_id"`
	Target    string            `json:"target"`
	ErrorCode string            `json:"error_code"`
	Error     string            `json:"error"`
	Payload   json.RawMessage   `json:"payload"`
	Meta      map[string]string `json:"meta,omitempty"`
	At        string            `json:"at"`
}

// deadLetterFile is one stream's open file and the index of its lines.
type deadLetterFile struct {
	f *os.File
	// last maps a source_id to the digest of its last line.
	last map[string][sha256.Size]byte
	// cut: the file does not end with a line break (a write a kill cut short).
	cut bool
}

type deadLetterFileOutput struct {
	dir      string
	stream   *service.InterpolatedString
	target   *service.InterpolatedString
	sourceID *service.InterpolatedString
	errText  *service.InterpolatedString
	fields   *bloblang.Executor
	log      *service.Logger
	now      func() time.Time

	mu    sync.Mutex
	files map[string]*deadLetterFile // by stream
}

func newDeadLetterFileOutputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*deadLetterFileOutput, int, error) {
	o := &deadLetterFileOutput{log: mgr.Logger(), now: time.Now, files: map[string]*deadLetterFile{}}
	var err error
	if o.dir, err = conf.FieldString(dfFieldDirectory); err != nil {
		return nil, 0, err
	}
	if strings.TrimSpace(o.dir) == "" {
		return nil, 0, errors.New("dead_letter_file: directory is empty")
	}
	if o.stream, err = conf.FieldInterpolatedString(dfFieldStream); err != nil {
		return nil, 0, err
	}
	if s, static := o.stream.Static(); static {
		if err := validateFileStream(s); err != nil {
			return nil, 0, fmt.Errorf("dead_letter_file: %w", err)
		}
	}
	if o.target, err = conf.FieldInterpolatedString(dfFieldTarget); err != nil {
		return nil, 0, err
	}
	if o.sourceID, err = conf.FieldInterpolatedString(dfFieldSourceID); err != nil {
		return nil, 0, err
	}
	if o.errText, err = conf.FieldInterpolatedString(dfFieldError); err != nil {
		return nil, 0, err
	}
	if o.fields, err = conf.FieldBloblang(dfFieldFields); err != nil {
		return nil, 0, err
	}
	n, err := conf.FieldMaxInFlight()
	if err != nil {
		return nil, 0, err
	}
	if n < 1 {
		return nil, 0, fmt.Errorf("dead_letter_file: max_in_flight must be at least 1, got %d", n)
	}
	return o, n, nil
}

// validateFileStream accepts a stream name that is a safe file name.
func validateFileStream(s string) error {
	if err := ValidateStream(s); err != nil {
		return err
	}
	if s == "." || s == ".." {
		return fmt.Errorf("stream %q is not a file name", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("stream %q: only letters, digits, _, - and . make its file name", s)
		}
	}
	return nil
}

// Connect does nothing: a stream's file is opened on its first dead letter.
func (o *deadLetterFileOutput) Connect(context.Context) error { return nil }

// Write appends the message's record unless it repeats the last line of
// its source_id.
func (o *deadLetterFileOutput) Write(_ context.Context, msg *service.Message) error {
	stream, err := o.stream.TryString(msg)
	if err == nil {
		err = validateFileStream(stream)
	}
	if err != nil {
		return fmt.Errorf("dead_letter_file: field stream: %w", err)
	}
	str := func(field string, is *service.InterpolatedString) string {
		s, err := is.TryString(msg)
		if err != nil {
			o.log.Warnf("dead_letter_file: stream %s: field %s: %v", stream, field, err)
		}
		return s
	}
	raw, err := msg.AsBytes()
	if err != nil {
		return fmt.Errorf("dead_letter_file: stream %s: message has no content: %w", stream, err)
	}
	rec := fileRecord{
		Stream: stream,
		Target: str(dfFieldTarget, o.target),
		Error:  str(dfFieldError, o.errText),
		At:     o.now().UTC().Format(time.RFC3339Nano),
	}
	rec.ErrorCode = ErrorCode(rec.Error)
	rec.Payload = payloadJSON(raw)
	rec.SourceID = NormalizeSourceID(str(dfFieldSourceID, o.sourceID), rec.Payload)
	rec.Meta = map[string]string{}
	_ = msg.MetaWalk(func(k, v string) error {
		for _, p := range internalMeta {
			if strings.HasPrefix(k, p) {
				return nil
			}
		}
		rec.Meta[k] = v
		return nil
	})
	line, err := o.encode(msg, rec)
	if err != nil {
		return fmt.Errorf("dead_letter_file: stream %s: %w", stream, err)
	}
	sum := recordDigest(rec.Error, rec.Payload)

	o.mu.Lock()
	defer o.mu.Unlock()
	df, err := o.open(stream)
	if err != nil {
		return err
	}
	if d, ok := df.last[rec.SourceID]; ok && d == sum {
		o.log.Debugf("dead_letter_file: stream %s: %s failed as before; not written again", stream, rec.SourceID)
		return nil
	}
	buf := make([]byte, 0, line.Len()+1)
	if df.cut {
		buf = append(buf, '\n')
	}
	buf = append(buf, line.Bytes()...) // Encode ended it with its line break
	if _, err := df.f.Write(buf); err != nil {
		// The write may have been cut short: the next one starts a new line.
		df.cut = true
		return fmt.Errorf("dead_letter_file: stream %s: writing %s: %w", stream, df.f.Name(), err)
	}
	df.cut = false
	df.last[rec.SourceID] = sum
	o.log.Warnf("dead_letter_file: stream %s: dead letter %s recorded in %s.jsonl: %s", stream, rec.SourceID, stream, rec.Error)
	return nil
}

// standardFields are the record's own keys, which fields cannot replace.
var standardFields = map[string]bool{"stream": true, "source_id": true, "target": true, "error_code": true,
	"error": true, "payload": true, "meta": true, "at": true}

// encode returns the line of rec, the fields mapping's keys appended, with
// its line break. A fields mapping that fails is logged and left out: a
// dead letter must not be lost to its own configuration.
func (o *deadLetterFileOutput) encode(msg *service.Message, rec fileRecord) (*bytes.Buffer, error) {
	// Without HTML escaping, so that the payload is written as it is
	// digested (and reads back the same).
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return nil, err
	}
	extra := map[string]any{}
	if res, err := msg.BloblangQuery(o.fields); err != nil {
		o.log.Warnf("dead_letter_file: stream %s: fields mapping: %v; left out", rec.Stream, err)
	} else if res != nil {
		v, err := res.AsStructured()
		m, ok := v.(map[string]any)
		if err != nil || !ok && v != nil {
			o.log.Warnf("dead_letter_file: stream %s: fields mapping gave %T, not an object; left out", rec.Stream, v)
		}
		extra = m
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !standardFields[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return &line, nil
	}
	sort.Strings(keys)
	b := bytes.TrimSuffix(line.Bytes(), []byte("}\n"))
	out := bytes.NewBuffer(append([]byte(nil), b...))
	for _, k := range keys {
		out.WriteByte(',')
		if err := writeJSON(out, k); err != nil {
			return nil, err
		}
		out.WriteByte(':')
		if err := writeJSON(out, extra[k]); err != nil {
			return nil, fmt.Errorf("field %s: %w", k, err)
		}
	}
	out.WriteString("}\n")
	return out, nil
}

// writeJSON writes v as compact JSON without HTML escaping and without a line
// break.
func writeJSON(w *bytes.Buffer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return nil
}

// open returns the open file of stream, opening it and reading its index
// on first use. o.mu is held.
func (o *deadLetterFileOutput) open(stream string) (*deadLetterFile, error) {
	if df := o.files[stream]; df != nil {
		return df, nil
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return nil, fmt.Errorf("dead_letter_file: stream %s: %w", stream, err)
	}
	path := filepath.Join(o.dir, stream+".jsonl")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dead_letter_file: stream %s: %w", stream, err)
	}
	df := &deadLetterFile{f: f, last: map[string][sha256.Size]byte{}}
	if df.cut, err = readIndex(f, df.last); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("dead_letter_file: stream %s: reading %s: %w", stream, path, err)
	}
	o.files[stream] = df
	return df, nil
}

// readIndex fills last from the lines of f and reports whether f ends
// without a line break. Lines that are not records are skipped.
func readIndex(f *os.File, last map[string][sha256.Size]byte) (bool, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	cut := false
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			cut = line[len(line)-1] != '\n'
			if len(line) <= maxFileLine {
				var rec fileRecord
				if json.Unmarshal(line, &rec) == nil && rec.SourceID != "" {
					last[rec.SourceID] = recordDigest(rec.Error, rec.Payload)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return cut, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// payloadJSON is the message as a JSON value: itself, compacted, when it
// parses, else a JSON string.
func payloadJSON(raw []byte) json.RawMessage {
	var buf bytes.Buffer
	if json.Valid(raw) && json.Compact(&buf, raw) == nil {
		return buf.Bytes()
	}
	b, _ := json.Marshal(text(raw))
	return b
}

// recordDigest identifies a failure of a document: its error and payload
// (compacted, so a line read back gives the digest it was written with).
func recordDigest(errText string, payload json.RawMessage) [sha256.Size]byte {
	var buf bytes.Buffer
	if json.Compact(&buf, payload) != nil {
		buf.Reset()
		buf.Write(payload)
	}
	h := sha256.New()
	h.Write([]byte(errText))
	h.Write([]byte{0})
	h.Write(buf.Bytes())
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func (o *deadLetterFileOutput) Close(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	for s, df := range o.files {
		errs = append(errs, df.f.Close())
		delete(o.files, s)
	}
	return errors.Join(errs...)
}

func init() {
	service.MustRegisterOutput("dead_letter_file", deadLetterFileOutputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.Output, int, error) {
			return newDeadLetterFileOutputFromParsed(conf, mgr)
		})
}
