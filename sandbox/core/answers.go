package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Orders a list interface may answer in (AnswerFaults.Order).
const (
	OrderAsc    = "asc"     // as the vendor documents it ("" means the same)
	OrderDesc   = "desc"    // the documented order reversed: field descending, then id descending
	OrderIDAsc  = "id_asc"  // by document id only, ignoring times
	OrderIDDesc = "id_desc" // by document id only, descending
	OrderRandom = "random"  // a permutation fixed per query (seed and parameters except the page)
)

// Orders lists the values AnswerFaults.Order accepts besides "".
var Orders = []string{OrderAsc, OrderDesc, OrderIDAsc, OrderIDDesc, OrderRandom}

// AnswerFaults are the ways a list interface's answers surprise a client:
// the order of the documents, answers without a list, totals that do not
// add up, pages that overlap or come short. Rates are shares of answers
// (pages), drawn with Env.Chance. The zero value answers as the vendor
// documents.
type AnswerFaults struct {
	// Order of a query's documents: "" or "asc" (documented), "desc",
	// "id_asc", "id_desc", "random".
	Order string `json:"order"`
	// ModifiedAfterCreate is the share of documents whose modified time is
	// 1-6 hours after their create time (never after the sandbox start), on
	// interfaces whose documents carry both and whose window filters on the
	// create time (jushuitan_skusn). Chosen per document (HashUnit), so
	// stable across calls.
	ModifiedAfterCreate float64 `json:"modified_after_create"`
	// NullRate is the share of list answers that are a success without a
	// list (data null, the list null or missing) while counts, where the
	// answer has them, still say there are documents.
	NullRate float64 `json:"null_rate"`
	// TotalDriftRate is the share of pages whose reported total is off by
	// 1-3 documents (never below zero); page counts and has_next follow the
	// reported total.
	TotalDriftRate float64 `json:"total_drift_rate"`
	// DuplicateRate is the share of pages other than the first that start
	// 1-3 rows early, repeating the tail of the previous page. Totals stay
	// truthful.
	DuplicateRate float64 `json:"duplicate_rate"`
	// ShortPageRate is the share of pages that are not the last of their
	// query whose list lacks its last 1-3 rows (at least one row stays);
	// totals and has_next still promise the rest.
	ShortPageRate float64 `json:"short_page_rate"`
}

// Reorders tells whether the order differs from the documented one, so the
// simulator must collect and arrange the query's rows.
func (a AnswerFaults) Reorders() bool { return a.Order != "" && a.Order != OrderAsc }

// IsZero tells whether a answers exactly as the vendor documents.
func (a AnswerFaults) IsZero() bool {
	return !a.Reorders() && a.ModifiedAfterCreate == 0 && a.NullRate == 0 &&
		a.TotalDriftRate == 0 && a.DuplicateRate == 0 && a.ShortPageRate == 0
}

// Validate reports impossible settings.
func (a AnswerFaults) Validate() error {
	if a.Order != "" && !slices.Contains(Orders, a.Order) {
		return fmt.Errorf("order must be one of %s (or empty), got %q", strings.Join(Orders, ", "), a.Order)
	}
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"modified_after_create", a.ModifiedAfterCreate}, {"null_rate", a.NullRate},
		{"total_drift_rate", a.TotalDriftRate}, {"duplicate_rate", a.DuplicateRate},
		{"short_page_rate", a.ShortPageRate},
	} {
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("%s must be between 0 and 1, got %v", r.name, r.v)
		}
	}
	return nil
}

// InterfaceFaults maps a dataset name (the list interface serving it) to
// the AnswerFaults that replace Faults.Answers for that interface.
//
// Decoding JSON into an InterfaceFaults merges: an entry already present
// keeps the fields the JSON leaves out, a new entry starts from zero (not
// from Faults.Answers), an entry given as null is removed, and a whole
// null removes every entry. Unknown fields are an error. The map is
// replaced, never changed in place, so Faults copies may share it.
type InterfaceFaults map[string]AnswerFaults

// MarshalJSON writes an absent map as {}.
func (m InterfaceFaults) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]AnswerFaults(m))
}

// UnmarshalJSON merges an object into the map (see InterfaceFaults).
func (m *InterfaceFaults) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*m = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("interfaces must be an object of dataset name to answer faults: %w", err)
	}
	out := maps.Clone(*m)
	if out == nil {
		out = InterfaceFaults{}
	}
	for name, v := range raw {
		if string(bytes.TrimSpace(v)) == "null" {
			delete(out, name)
			continue
		}
		a := out[name]
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			return fmt.Errorf("interfaces.%s: %w", name, err)
		}
		out[name] = a
	}
	if len(out) == 0 {
		out = nil
	}
	*m = out
	return nil
}

// AnswerFor returns the answer faults of the interface serving dataset:
// its own entry in Interfaces, else the default Answers.
func (f Faults) AnswerFor(dataset string) AnswerFaults {
	if a, ok := f.Interfaces[dataset]; ok {
		return a
	}
	return f.Answers
}

// CheckInterfaces reports an Interfaces entry naming none of the known
// datasets.
func (f Faults) CheckInterfaces(known []string) error {
	for _, name := range slices.Sorted(maps.Keys(f.Interfaces)) {
		if !slices.Contains(known, name) {
			k := slices.Clone(known)
			sort.Strings(k)
			return fmt.Errorf("interfaces: unknown dataset %q; known: %s", name, strings.Join(k, ", "))
		}
	}
	return nil
}

// NullKind is what a null answer (null_rate) leaves out.
type NullKind int

const (
	// NotNull: the answer carries its list.
	NotNull NullKind = iota
	// NullData: the whole data (result) is null.
	NullData
	// NullList: the page object is there, its list is null.
	NullList
	// MissingList: the page object is there without its list key.
	MissingList
)

// Fault kinds counted by Stats.RecordFault (GET /_sandbox/stats "faults").
const (
	FaultNull       = "null"
	FaultTotalDrift = "total_drift"
	FaultDuplicate  = "duplicate"
	FaultShortPage  = "short_page"
)

// PageSpec describes one list page about to be served.
type PageSpec struct {
	// Vendor and Iface name the answer in Stats.
	Vendor, Iface string
	// Offset is where the requested page starts among the query's matches
	// (in the order served); Size is the page size.
	Offset, Size int
	// Nulls are the shapes a null answer may take on this interface; none
	// means the null fault does not apply.
	Nulls []NullKind
	// NoTotal marks answers that report no total (a bare array): total
	// drift does not apply.
	NoTotal bool
}

// Page is the plan of one list page under the answer faults in force:
// which rows to read, whether the answer is null, and (Cut) how many rows
// to serve and which total to report. With every AnswerFaults field zero it
// reads exactly the requested page and draws no randomness.
type Page struct {
	env  *Env
	spec PageSpec
	af   AnswerFaults
	// Offset and Size are the rows to read among the query's matches: the
	// requested page, moved back by a duplicate.
	Offset, Size int
	// Null is the shape of a null answer, or NotNull.
	Null NullKind
	dup  int
}

// NewPage rolls the faults decided before the rows are read: a null answer
// (then nothing else applies) or a page started 1-3 rows early.
func (e *Env) NewPage(af AnswerFaults, s PageSpec) *Page {
	p := &Page{env: e, spec: s, af: af, Offset: s.Offset, Size: s.Size}
	if len(s.Nulls) > 0 && e.Chance(af.NullRate) {
		p.Null = s.Nulls[0]
		if len(s.Nulls) > 1 {
			p.Null = s.Nulls[e.IntN(len(s.Nulls))]
		}
		return p
	}
	if s.Offset > 0 && e.Chance(af.DuplicateRate) {
		p.dup = min(1+e.IntN(3), s.Offset)
		p.Offset -= p.dup
	}
	return p
}

// Cut rolls the faults that need the query's size. total is the number of
// documents the query matches now, n the rows read at [Offset, Offset+Size).
// It returns how many of them to serve (a prefix) and the total to report,
// and counts every fault applied in Stats.
func (p *Page) Cut(total, n int) (keep, reported int) {
	e, s := p.env, p.spec
	if p.Null != NotNull {
		e.Stats.RecordFault(s.Vendor, s.Iface, FaultNull)
		return 0, total
	}
	keep, reported = n, total
	if p.dup > 0 {
		e.Stats.RecordFault(s.Vendor, s.Iface, FaultDuplicate)
	}
	if s.Offset+s.Size < total && n > 1 && e.Chance(p.af.ShortPageRate) {
		keep = n - min(1+e.IntN(3), n-1)
		e.Stats.RecordFault(s.Vendor, s.Iface, FaultShortPage)
	}
	if !s.NoTotal && e.Chance(p.af.TotalDriftRate) {
		d := 1 + e.IntN(3)
		if e.Chance(0.5) && total-d >= 0 {
			d = -d
		}
		reported = total + d
		e.Stats.RecordFault(s.Vendor, s.Iface, FaultTotalDrift)
	}
	return keep, reported
}

// QueryKey hashes a description of a query (its parameters except the
// page number) for the random order.
func QueryKey(desc string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(desc))
	return h.Sum64()
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Arrange puts the rows of one query, given in the interface's documented
// (ascending) order, in the order asked: desc reverses them, id_asc and
// id_desc sort by id, random sorts by a hash of (seed, query, id), so every
// page of one query sees the same permutation and a document keeps its
// place while others come and go. "" and asc leave rows as they are.
func Arrange[T any](rows []T, order string, seed, query uint64, id func(T) int64) {
	switch order {
	case OrderDesc:
		slices.Reverse(rows)
	case OrderIDAsc:
		slices.SortStableFunc(rows, func(a, b T) int { return cmpInt(id(a), id(b)) })
	case OrderIDDesc:
		slices.SortStableFunc(rows, func(a, b T) int { return cmpInt(id(b), id(a)) })
	case OrderRandom:
		salt := mix(seed^0x5ca1ab1e) ^ query
		type keyed struct {
			k   uint64
			id  int64
			row T
		}
		ks := make([]keyed, len(rows))
		for i, r := range rows {
			n := id(r)
			ks[i] = keyed{mix(salt ^ mix(uint64(n))), n, r}
		}
		slices.SortFunc(ks, func(a, b keyed) int {
			if a.k != b.k {
				if a.k < b.k {
					return -1
				}
				return 1
			}
			return cmpInt(a.id, b.id)
		})
		for i := range ks {
			rows[i] = ks[i].row
		}
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Window returns rows[from : from+size] clipped to rows.
func Window[T any](rows []T, from, size int) []T {
	if from >= len(rows) || size <= 0 {
		return nil
	}
	return rows[from:min(from+size, len(rows))]
}
