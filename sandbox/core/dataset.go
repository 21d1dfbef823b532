package core

import (
	"maps"
	"sort"
	"sync"
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

	mu   sync.RWMutex
	docs []*Doc
	byID map[string]*Doc
}

// NewDataset builds a dataset from docs; mutate may be nil.
func NewDataset(name string, docs []Doc, mutate Mutator) *Dataset {
	d := &Dataset{Name: name, mutate: mutate, byID: make(map[string]*Doc, len(docs))}
	for i := range docs {
		doc := docs[i]
		if doc.Version == 0 {
			doc.Version = 1
		}
		d.docs = append(d.docs, &doc)
		d.byID[doc.ID] = &doc
	}
	return d
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
	doc, ok := d.byID[id]
	if !ok {
		return Doc{}, false
	}
	return *doc, true
}

// Touch modifies document id: its modified time becomes at, its version
// increases and the mutator changes its body.
func (d *Dataset) Touch(id string, at time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc, ok := d.byID[id]
	if !ok {
		return false
	}
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
	ID       string `json:"id"`
	Modified string `json:"modified"`
	Version  int    `json:"version"`
	// Document is the document as the vendor serves it; only with ?full=1.
	Document any `json:"document,omitempty"`
}

// Truth lists every document with its current modified time (vendor layout,
// China time) and version, ordered by id.
func (d *Dataset) Truth() []TruthDoc {
	docs := d.Select(nil, func(a, b *Doc) bool { return a.ID < b.ID })
	out := make([]TruthDoc, len(docs))
	for i, doc := range docs {
		out[i] = TruthDoc{ID: doc.ID, Modified: doc.Modified.In(Shanghai).Format(VendorTimeLayout), Version: doc.Version}
	}
	return out
}

// FullTruth is Truth with every document rendered as the vendor serves it.
func (d *Dataset) FullTruth() []TruthDoc {
	docs := d.Select(nil, func(a, b *Doc) bool { return a.ID < b.ID })
	out := make([]TruthDoc, len(docs))
	for i, doc := range docs {
		out[i] = TruthDoc{ID: doc.ID, Modified: doc.Modified.In(Shanghai).Format(VendorTimeLayout), Version: doc.Version, Document: d.Render(doc)}
	}
	return out
}
