package core

import (
	"sort"
	"sync"
)

// Stats counts the answers the sandbox gave, by vendor, interface and code.
// Codes are the vendor's own (e.g. "0", "199", "MsgCode 11") or, for faults
// and transport answers, "http_500", "http_502", "timeout".
//
// Answer faults (AnswerFaults) do not change the code an answer records (a
// null answer is still a "0" or "1" success); they are counted apart, by
// vendor, interface and fault kind (FaultNull, FaultTotalDrift,
// FaultDuplicate, FaultShortPage).
type Stats struct {
	mu     sync.Mutex
	m      counts
	faults counts
}

// counts is vendor -> interface -> key -> count.
type counts map[string]map[string]map[string]int

func (c counts) add(vendor, iface, key string) {
	v := c[vendor]
	if v == nil {
		v = map[string]map[string]int{}
		c[vendor] = v
	}
	i := v[iface]
	if i == nil {
		i = map[string]int{}
		v[iface] = i
	}
	i[key]++
}

func (c counts) count(vendor, iface, key string) int {
	n := 0
	for in, keys := range c[vendor] {
		if iface != "" && in != iface {
			continue
		}
		for k, x := range keys {
			if key == "" || k == key {
				n += x
			}
		}
	}
	return n
}

func (c counts) clone() map[string]map[string]map[string]int {
	out := make(map[string]map[string]map[string]int, len(c))
	for v, ifs := range c {
		out[v] = make(map[string]map[string]int, len(ifs))
		for i, keys := range ifs {
			m := make(map[string]int, len(keys))
			for k, n := range keys {
				m[k] = n
			}
			out[v][i] = m
		}
	}
	return out
}

// NewStats returns empty statistics.
func NewStats() *Stats { return &Stats{m: counts{}, faults: counts{}} }

// Record counts one answer.
func (s *Stats) Record(vendor, iface, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.add(vendor, iface, code)
}

// Count returns how often vendor/iface answered code; an empty iface or code
// matches any.
func (s *Stats) Count(vendor, iface, code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.count(vendor, iface, code)
}

// RecordFault counts one answer fault of kind (FaultNull, ...) applied to
// an answer of vendor/iface.
func (s *Stats) RecordFault(vendor, iface, kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.add(vendor, iface, kind)
}

// FaultCount returns how often vendor/iface answered with fault kind; an
// empty iface or kind matches any.
func (s *Stats) FaultCount(vendor, iface, kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.count(vendor, iface, kind)
}

// Snapshot returns a copy: vendor -> interface -> code -> count.
func (s *Stats) Snapshot() map[string]map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.clone()
}

// FaultSnapshot returns a copy: vendor -> interface -> fault kind -> count.
func (s *Stats) FaultSnapshot() map[string]map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.clone()
}

// Reset forgets every count.
func (s *Stats) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m, s.faults = counts{}, counts{}
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
