package poll

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/catalogue"
)

// TestInterfaceWindowParamsAndDocumentID: without a params mapping the
// engine sends the interface's window fields, and interface.document_id
// replaces every document's id; every document arrives once.
func TestInterfaceWindowParamsAndDocumentID(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(300, clock)
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	docID, err := bloblang.Parse(`root = "DOC-" + this.id`)
	if err != nil {
		t.Fatal(err)
	}
	iface := Interface{Entry: catalogue.Entry{Window: &catalogue.Window{Start: "begin", End: "end", Filter: "modified", MaxSpan: catalogue.Duration(7 * 24 * time.Hour)}}, DocumentID: docID}
	o := Options{
		Vendor: "fake", API: "/list",
		Window:   &WindowConfig{Start: clock.Now().Add(-31 * 24 * time.Hour), MaxSpan: 7 * 24 * time.Hour},
		PageSize: 20, StopWhenCaughtUp: true, CheckpointCache: "cp", CheckpointKey: "fake",
		MaxRetries: 3, BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond, Now: clock.Now,
	}
	o.ApplyInterface(iface)
	if o.WindowParams == nil || o.DocumentID == nil {
		t.Fatal("ApplyInterface set neither window params nor document_id")
	}
	e := New(f, o, res)
	if err := e.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := drain(t, e)
	if len(got) != 300 {
		t.Fatalf("%d documents, want 300", len(got))
	}
	for id := range got {
		if !strings.HasPrefix(id, "DOC-D") {
			t.Fatalf("source_id %q was not computed by document_id", id)
		}
	}
}

// TestInterfaceDocumentIDEmptyRefused: a mapping that gives no id stops
// the read with an error naming interface.document_id.
func TestInterfaceDocumentIDEmptyRefused(t *testing.T) {
	docID, err := bloblang.Parse(`root = this.missing.or("")`)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, shanghai)}
	f := newFakeVendor(5, clock)
	p, err := f.FetchPage(context.Background(), "/list", map[string]any{"begin": "2026-09-01 00:00:00", "end": "2026-11-02 00:00:00"}, 0, 20)
	if err != nil || len(p.Docs) == 0 {
		t.Fatalf("fake vendor: %v, %d docs", err, len(p.Docs))
	}
	err = applyDocumentID(docID, "fake", "/list", &p)
	if err == nil || !strings.Contains(err.Error(), "interface.document_id") || !strings.Contains(err.Error(), "empty id") {
		t.Fatalf("error %v, want one naming interface.document_id and the empty id", err)
	}
}

// TestParseInterface: the `interface` field resolves against the
// catalogue, refuses an undescribed interface with what to set, and
// applies overrides.
func TestParseInterface(t *testing.T) {
	spec := service.NewConfigSpec().Fields(InterfaceFields("jushuitan", "api", "params", VendorLimits{})...)
	parse := func(yaml string) (Interface, error) {
		conf, err := spec.ParseYAML(yaml, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ParseInterface(conf, "jushuitan", "")
	}
	i, err := parse("api: open/other/inout/query\n")
	if err != nil || !i.Catalogued || i.ID[0] != "io_id" {
		t.Fatalf("catalogued: %+v %v", i, err)
	}
	if _, err := parse("api: /open/some/list\n"); err == nil || !strings.Contains(err.Error(), "interface.id_fields") {
		t.Fatalf("undescribed interface: %v", err)
	}
	i, err = parse("api: /open/some/list\ninterface:\n  id_fields: [a, b]\n  list: \"\"\n  max_span: 2h\n  first_page: 0\n  page_field: page\n")
	if err != nil {
		t.Fatal(err)
	}
	if i.Catalogued || strings.Join(i.ID, ",") != "a,b" || i.List != "" || i.MaxSpan() != 2*time.Hour || i.Paging.FirstPage != 0 || i.Paging.Page != "page" || i.Paging.Size != "page_size" {
		t.Fatalf("overrides not applied: %+v", i.Entry)
	}
	if _, err := parse("api: /open/some/list\ninterface:\n  id_fields: [a]\n  first_page: 2\n"); err == nil || !strings.Contains(err.Error(), "first_page") {
		t.Fatalf("first_page 2: %v", err)
	}
	wp := i.WindowParams(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 6, 1, 1, 0, 0, 0, time.UTC))
	if wp["modified_begin"] != "2024-06-01 08:00:00" || wp["modified_end"] != "2024-06-01 09:00:00" {
		t.Fatalf("window params %v", wp)
	}
}
