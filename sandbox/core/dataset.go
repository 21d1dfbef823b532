package core

import (
	"maps"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Doc is one source document. Body is never modified in place: a mutation
// replaces it, so a Doc copy handed to a handler stays consistent.
type Doc struct {
	// ID is the document id exactly as inputs report it in source_id.
	ID string
	// Modified is the time the vendor pages by (modified, updateTime, create_time).
	Modified time.Time
	// Version counts mutations, starting at 1.
	Version int
	// Body is the vendor-specific document without the time field; the
	// vendor renders Modified into it when serving.
	Body map[string]any
}

// Mutator changes a document's body in place (it receives a private copy)
// when the mutate fault touches it.
type Mutator func(body map[string]any, version int)

// Dataset is a source dataset with its truth.
type Dataset struct {
	Name   string
	mutate Mutator
	render func(Doc) any
	times  func(Doc) DocTimes

	mu   sync.RWMutex
	docs []*Doc
	byID map[string]int // index into docs and served

	// served is, per document, the highest version any answer carried.
	served []atomic.Int32
}

// DocTimes are the times the truth reports for a document.
type DocTimes struct {
	// Created is the document's immutable create time, when the vendor
	// serves one apart from the modified time (zero otherwise).
	Created time.Time
	// Modified is the modified time as the vendor serves it now.
	Modified time.Time
}

// NewDataset builds a dataset from docs; mutate may be nil.
func NewDataset(name string, docs []Doc, mutate Mutator) *Dataset {
	d := &Dataset{Name: name, mutate: mutate, byID: make(map[string]int, len(docs)), served: make([]atomic.Int32, len(docs))}
	d.docs = make([]*Doc, len(docs))
	for i := range docs {
		doc := docs[i]
		if doc.Version == 0 {
			doc.Version = 1
		}
		d.docs[i] = &doc
		d.byID[doc.ID] = i
	}
	return d
}

// SetTimes registers how the truth reports a document's times when they are
// not simply Doc.Modified (a separate create time; a modified time the
// vendor serves differently, as under modified_after_create).
func (d *Dataset) SetTimes(f func(Doc) DocTimes) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.times = f
}

// Times returns the times of a document as the truth reports them.
func (d *Dataset) Times(doc Doc) DocTimes {
	d.mu.RLock()
	f := d.times
	d.mu.RUnlock()
	if f == nil {
		return DocTimes{Modified: doc.Modified}
	}
	return f(doc)
}

// MarkServed records that an answer carried version of document id. Call
// it where documents are rendered into a vendor answer (not for the truth).
func (d *Dataset) MarkServed(id string, version int) {
	d.mu.RLock()
	i, ok := d.byID[id]
	d.mu.RUnlock()
	if !ok {
		return
	}
	s := &d.served[i]
	for {
		old := s.Load()
		if int32(version) <= old || s.CompareAndSwap(old, int32(version)) {
			return
		}
	}
}

// ServedVersion is the highest version of document id any answer carried,
// 0 when it was never served.
func (d *Dataset) ServedVersion(id string) int {
	d.mu.RLock()
	i, ok := d.byID[id]
	d.mu.RUnlock()
	if !ok {
		return 0
	}
	return int(d.served[i].Load())
}

// SetRender registers how the vendor renders a document in its answers, so
// the truth can be read in full (demo verification, tests).
func (d *Dataset) SetRender(f func(Doc) any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.render = f
}

// Render returns a document as the vendor serves it now, or nil when the
// vendor registered no renderer.
func (d *Dataset) Render(doc Doc) any {
	d.mu.RLock()
	f := d.render
	d.mu.RUnlock()
	if f == nil {
		return nil
	}
	return f(doc)
}

// Len is the number of documents.
func (d *Dataset) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.docs)
}

// Select returns copies of the documents for which keep returns true (nil
// keeps all), ordered by less (nil keeps insertion order).
func (d *Dataset) Select(keep func(*Doc) bool, less func(a, b *Doc) bool) []Doc {
	d.mu.RLock()
	out := make([]Doc, 0, len(d.docs))
	for _, doc := range d.docs {
		if keep == nil || keep(doc) {
			out = append(out, *doc)
		}
	}
	d.mu.RUnlock()
	if less != nil {
		sort.SliceStable(out, func(i, j int) bool { return less(&out[i], &out[j]) })
	}
	return out
}

// Get returns a copy of one document.
func (d *Dataset) Get(id string) (Doc, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	i, ok := d.byID[id]
	if !ok {
		return Doc{}, false
	}
	return *d.docs[i], true
}

// Touch modifies document id: its modified time becomes at, its version
// increases and the mutator changes its body.
func (d *Dataset) Touch(id string, at time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	i, ok := d.byID[id]
	if !ok {
		return false
	}
	doc := d.docs[i]
	body := maps.Clone(doc.Body)
	doc.Version++
	if d.mutate != nil {
		d.mutate(body, doc.Version)
	}
	doc.Body = body
	// Two changes within one second share a modified time, as at the
	// vendors (whole seconds); a time never goes backwards.
	if at.Before(doc.Modified) {
		at = doc.Modified
	}
	doc.Modified = at
	return true
}

// MaybeMutate applies the mutate fault once for a page being served: with
// probability mutate_rate, one document among those the query matches is
// modified now. It returns the id it touched, or "".
func (e *Env) MaybeMutate(d *Dataset, inQuery func(*Doc) bool) string {
	if !e.Chance(e.Faults().MutateRate) {
		return ""
	}
	d.mu.RLock()
	var ids []string
	for _, doc := range d.docs {
		if inQuery == nil || inQuery(doc) {
			ids = append(ids, doc.ID)
		}
	}
	d.mu.RUnlock()
	if len(ids) == 0 {
		return ""
	}
	id := ids[e.IntN(len(ids))]
	// Modified times are whole seconds, as the vendors render them.
	d.Touch(id, e.Now().Truncate(time.Second))
	return id
}

// TruthDoc is one entry of GET /_sandbox/source/{dataset}.
type TruthDoc struct {
	ID string `json:"id"`
	// Modified is the modified time as the vendor serves it now.
	Modified string `json:"modified"`
	// Created is the immutable create time, on datasets whose documents
	// carry one apart from the modified time (jushuitan_skusn).
	Created string `json:"created,omitempty"`
	Version int    `json:"version"`
	// ServedVersion is the highest version any answer carried, 0 when the
	// document was never served. A reader of a create-time window cannot
	// expect a version later than the one served to it.
	ServedVersion int `json:"served_version"`
	// Document is the document as the vendor serves it; only with ?full=1.
	Document any `json:"document,omitempty"`
}

// Truth lists every document with its current modified time (vendor layout,
// China time), create time where it has one, version and served version,
// ordered by id.
func (d *Dataset) Truth() []TruthDoc { return d.truth(false) }

// FullTruth is Truth with every document rendered as the vendor serves it.
func (d *Dataset) FullTruth() []TruthDoc { return d.truth(true) }

func (d *Dataset) truth(full bool) []TruthDoc {
	docs := d.Select(nil, func(a, b *Doc) bool { return a.ID < b.ID })
	out := make([]TruthDoc, len(docs))
	for i, doc := range docs {
		t := d.Times(doc)
		out[i] = TruthDoc{ID: doc.ID, Modified: FormatVendorTime(t.Modified), Version: doc.Version, ServedVersion: d.ServedVersion(doc.ID)}
		if !t.Created.IsZero() {
			out[i].Created = FormatVendorTime(t.Created)
		}
		if full {
			out[i].Document = d.Render(doc)
		}
	}
	return out
}

// FormatVendorTime renders t in China time, vendor layout.
func FormatVendorTime(t time.Time) string { return t.In(Shanghai).Format(VendorTimeLayout) }
