package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// newFileOutput parses conf (YAML of dead_letter_file's fields).
func newFileOutput(t *testing.T, conf string) *deadLetterFileOutput {
	t.Helper()
	pc, err := deadLetterFileOutputSpec().ParseYAML(conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := newDeadLetterFileOutputFromParsed(pc, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close(context.Background()) })
	return o
}

// failed is a message as a fallback tier hands it over.
func failed(stream, id, errText, content string, meta ...string) *service.Message {
	m := service.NewMessage([]byte(content))
	m.MetaSetMut("erpsync_stream", stream)
	m.MetaSetMut("fallback_error", errText)
	if id != "" {
		m.MetaSetMut("source_id", id)
	}
	for i := 0; i+1 < len(meta); i += 2 {
		m.MetaSetMut(meta[i], meta[i+1])
	}
	return m
}

func readRecords(t *testing.T, path string) []fileRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []fileRecord
	for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		var r fileRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("line %q of %s is not a record: %v", line, path, err)
		}
		out = append(out, r)
	}
	return out
}

// TestDeadLetterFileKeepsOneLinePerFailure: an identical repeat of a
// document's last failure is not written, also by an output started again
// on the same file; a changed error or payload appends; each stream has its
// own file.
func TestDeadLetterFileKeepsOneLinePerFailure(t *testing.T) {
	dir := t.TempDir()
	conf := "directory: " + dir + "\nstream: ${! @erpsync_stream }\ntarget: kis\n"
	ctx := context.Background()
	refused := "bill 1: kis: /koas/app007104/api/miscellaneousreceipt/create: code 20005 单据[1]保存校验失败 (permanent)"
	write := func(o *deadLetterFileOutput, msgs ...*service.Message) {
		t.Helper()
		for _, m := range msgs {
			if err := o.Write(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	o := newFileOutput(t, conf)
	write(o,
		failed("a", "1", refused, `{"FBillNo": "1", "note": "<b>&"}`, "source_api", "/open/other/inout/query", "erpsync_source", `{"io_id":1}`),
		failed("a", "2", "no items", `{"FBillNo":"2"}`),
		failed("a", "1", refused, `{"FBillNo":"1","note":"<b>&"}`), // the same, compacted
		failed("b", "1", refused, `{"FBillNo":"1"}`),
	)
	recs := readRecords(t, filepath.Join(dir, "a.jsonl"))
	if len(recs) != 2 {
		t.Fatalf("a.jsonl holds %d records, want 2 (the repeat of 1 is not written): %+v", len(recs), recs)
	}
	r := recs[0]
	if r.Stream != "a" || r.SourceID != "1" || r.Target != "kis" || r.ErrorCode != "20005" || r.Error != refused ||
		string(r.Payload) != `{"FBillNo":"1","note":"<b>&"}` || r.Meta["source_api"] != "/open/other/inout/query" ||
		r.Meta["erpsync_source"] != "" || r.Meta["fallback_error"] != "" || r.At == "" {
		t.Errorf("record of 1: %+v", r)
	}
	if n := len(readRecords(t, filepath.Join(dir, "b.jsonl"))); n != 1 {
		t.Errorf("b.jsonl holds %d records, want 1: the same id in another stream is another document", n)
	}
	_ = o.Close(ctx)

	// A new output (a restart) reads the index from the file.
	o = newFileOutput(t, conf)
	write(o,
		failed("a", "1", refused, `{"FBillNo":"1","note":"<b>&"}`),
		failed("a", "2", "no items", `{"FBillNo":"2"}`),
		failed("a", "2", "unknown warehouse", `{"FBillNo":"2"}`),       // another error: appended
		failed("a", "2", "unknown warehouse", `{"FBillNo":"2","x":1}`), // another payload: appended
		failed("a", "2", "unknown warehouse", `{"FBillNo":"2","x":1}`),
		failed("a", "", "no id", `not json`),
		failed("a", "", "no id", `not json`),
	)
	recs = readRecords(t, filepath.Join(dir, "a.jsonl"))
	var got []string
	for _, r := range recs {
		got = append(got, r.SourceID+" "+r.Error)
	}
	want := []string{"1 " + refused, "2 no items", "2 unknown warehouse", "2 unknown warehouse"}
	if len(got) != len(want)+1 || strings.Join(got[:4], "|") != strings.Join(want, "|") {
		t.Fatalf("a.jsonl after the restart: %q, want %q and the document without id once", got, want)
	}
	if last := recs[4]; !strings.HasPrefix(last.SourceID, "sha256:") || string(last.Payload) != `"not json"` {
		t.Errorf("a document without id: %+v, want keyed sha256:... with its content as a string", last)
	}
}

// TestDeadLetterFileAfterCutLine: a last line a kill cut short is skipped
// by the index and the next record starts on a line of its own.
func TestDeadLetterFileAfterCutLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.jsonl")
	if err := os.WriteFile(path, []byte(`{"stream":"s","source_id":"1","error":"e","payload":{}}`+"\n"+`{"stream":"s","source_id":"2","err`), 0o600); err != nil {
		t.Fatal(err)
	}
	o := newFileOutput(t, "directory: "+dir+"\nstream: s\n")
	for _, m := range []*service.Message{failed("s", "1", "e", `{}`), failed("s", "2", "e", `{}`)} {
		if err := o.Write(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 || lines[1] != `{"stream":"s","source_id":"2","err` || !strings.HasPrefix(lines[2], `{"stream":"s","source_id":"2",`) {
		t.Errorf("file after the cut line:\n%s\nwant the old record (1 not repeated), the cut line, then 2 on its own line", b)
	}
}

// TestDeadLetterFileRefusesUnsafeStream: a stream that is not a plain file
// name fails the write instead of writing outside the directory.
func TestDeadLetterFileRefusesUnsafeStream(t *testing.T) {
	dir := t.TempDir()
	o := newFileOutput(t, "directory: "+filepath.Join(dir, "dl")+"\nstream: ${! @erpsync_stream }\n")
	for _, s := range []string{"../escape", "", "a/b", ".."} {
		if err := o.Write(context.Background(), failed(s, "1", "e", "{}")); err == nil {
			t.Errorf("stream %q: written, want an error", s)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files were created: %v", entries)
	}
}

// TestDeadLetterFileFields: the object in metadata erpsync_dead_letter_fields
// adds its fields to the record, without replacing the standard ones.
func TestDeadLetterFileFields(t *testing.T) {
	dir := t.TempDir()
	o := newFileOutput(t, "directory: "+dir+"\nstream: s\n")
	m := failed("s", "book.xlsx#3", "row 3: 单位 is empty (permanent)", `{"物料编码":"A<1>"}`)
	m.MetaSetMut(MetaFileFields, map[string]any{"file": "book.xlsx", "xlsx_row": 3, "reason": "单位 is empty", "stream": "other"})
	if err := o.Write(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "s.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if rec["stream"] != "s" || rec["file"] != "book.xlsx" || rec["xlsx_row"] != float64(3) || rec["reason"] != "单位 is empty" ||
		rec["source_id"] != "book.xlsx#3" || rec["meta"].(map[string]any)[MetaFileFields] != nil {
		t.Errorf("record %s", b)
	}
	if !bytes.Contains(b, []byte(`"A<1>"`)) {
		t.Errorf("record %s: the payload must be written unescaped", b)
	}
}
