package console

import (
	"context"
	"sort"
	"sync"

	"github.com/erpsync/erpsync/internal/streamstate"
	"github.com/erpsync/erpsync/plugins/deadletter"
)

// stores opens the tables the streams registered, once each.
type stores struct {
	mu      sync.Mutex
	dl      map[[2]string]*deadletter.Store
	records map[[2]string]*deadletter.RecordStore
}

func newStores() *stores {
	return &stores{dl: map[[2]string]*deadletter.Store{}, records: map[[2]string]*deadletter.RecordStore{}}
}

// tableRef is a table and the streams that write it.
type tableRef struct {
	t       streamstate.Table
	streams []string
}

// distinct groups the tables of every stream by (dsn, table).
func distinct(m map[string][]streamstate.Table, stream string) []tableRef {
	idx := map[[2]string]int{}
	var out []tableRef
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if stream != "" && name != stream {
			continue
		}
		for _, t := range m[name] {
			k := [2]string{t.DSN, t.Table}
			if i, ok := idx[k]; ok {
				out[i].streams = append(out[i].streams, name)
				continue
			}
			idx[k] = len(out)
			out = append(out, tableRef{t: t, streams: []string{name}})
		}
	}
	return out
}

// deadLetters returns the dead-letter stores of stream ("" every stream).
func (s *stores) deadLetters(ctx context.Context, stream string) ([]*deadletter.Store, []tableRef, error) {
	refs := distinct(streamstate.DeadLetterTables(), stream)
	out := make([]*deadletter.Store, 0, len(refs))
	for _, r := range refs {
		st, err := s.deadLetter(ctx, r.t)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, st)
	}
	return out, refs, nil
}

func (s *stores) deadLetter(ctx context.Context, t streamstate.Table) (*deadletter.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{t.DSN, t.Table}
	if st, ok := s.dl[k]; ok {
		return st, nil
	}
	st, err := deadletter.OpenStore(ctx, t.DSN, t.Table)
	if err != nil {
		return nil, err
	}
	s.dl[k] = st
	return st, nil
}

// recordStores returns the record logs of stream ("" every stream).
func (s *stores) recordStores(ctx context.Context, stream string) ([]*deadletter.RecordStore, error) {
	refs := distinct(streamstate.RecordTables(), stream)
	out := make([]*deadletter.RecordStore, 0, len(refs))
	for _, r := range refs {
		s.mu.Lock()
		k := [2]string{r.t.DSN, r.t.Table}
		st, ok := s.records[k]
		s.mu.Unlock()
		if !ok {
			var err error
			if st, err = deadletter.OpenRecords(ctx, r.t.DSN, r.t.Table, consoleRetry); err != nil {
				return nil, err
			}
			s.mu.Lock()
			s.records[k] = st
			s.mu.Unlock()
		}
		out = append(out, st)
	}
	return out, nil
}

// Close closes every pool.
func (s *stores) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.dl {
		_ = st.Close()
		delete(s.dl, k)
	}
	for k, st := range s.records {
		_ = st.Close()
		delete(s.records, k)
	}
}
