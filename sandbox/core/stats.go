package core

import (
	"sort"
	"sync"
)

// Stats counts the answers the sandbox gave, by vendor, interface and code.
// Codes are the vendor's own (e.g. "0", "199", "MsgCode 11") or, for faults
// and transport answers, "http_500", "http_502", "timeout".
type Stats struct {
	mu sync.Mutex
	m  map[string]map[string]map[string]int
}

// NewStats returns empty statistics.
func NewStats() *Stats { return &Stats{m: map[string]map[string]map[string]int{}} }

// Record counts one answer.
func (s *Stats) Record(vendor, iface, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m[vendor]
	if v == nil {
		v = map[string]map[string]int{}
		s.m[vendor] = v
	}
	i := v[iface]
	if i == nil {
		i = map[string]int{}
		v[iface] = i
	}
	i[code]++
}

// Count returns how often vendor/iface answered code; an empty iface or code
// matches any.
func (s *Stats) Count(vendor, iface, code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for in, codes := range s.m[vendor] {
		if iface != "" && in != iface {
			continue
		}
		for c, k := range codes {
			if code == "" || c == code {
				n += k
			}
		}
	}
	return n
}

// Snapshot returns a copy: vendor -> interface -> code -> count.
func (s *Stats) Snapshot() map[string]map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]map[string]int, len(s.m))
	for v, ifs := range s.m {
		out[v] = make(map[string]map[string]int, len(ifs))
		for i, codes := range ifs {
			c := make(map[string]int, len(codes))
			for k, n := range codes {
				c[k] = n
			}
			out[v][i] = c
		}
	}
	return out
}

// Reset forgets every count.
func (s *Stats) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[string]map[string]map[string]int{}
}

// Vendors lists vendors with at least one answer, sorted.
func (s *Stats) Vendors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.m))
	for v := range s.m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
