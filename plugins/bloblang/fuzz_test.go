package bloblang

import (
	"strings"
	"testing"
)

// FuzzParseCNTime: any input gives a time or an error naming cn_time, never
// a panic; a parsed wall-clock time formats back to its own digits.
func FuzzParseCNTime(f *testing.F) {
	for _, s := range []string{"2024-06-01 10:00:00", "2021-09-18 11:02:19.807", "1717207200", "1717207200000", "2024-06-01", "", "  ", "2024-13-45 99:99:99", "\xff\xfe", "1e400", "-1", "2024-06-01T02:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseCNTime(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cn_time: ") {
				t.Fatalf("error does not name cn_time: %v", err)
			}
			return
		}
		if ts.Location() != shanghai {
			t.Fatalf("%q parsed into zone %v", s, ts.Location())
		}
		if len(s) == len("2006-01-02 15:04:05") && s[4] == '-' && s[10] == ' ' {
			if got := ts.Format("2006-01-02 15:04:05"); got != s {
				t.Fatalf("%q round-trips as %q", s, got)
			}
		}
	})
}
