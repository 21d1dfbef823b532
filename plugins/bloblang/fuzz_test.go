package bloblang

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
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

// FuzzKdMethods runs kd_ref, kd_datetime and kd_quote over any JSON value
// (numbers as float64 and as json.Number): never a panic, every error names
// its method, and what succeeds is what Kingdee takes: a reference object
// of a string or number, a 2006-01-02T15:04:05 time that reads back as the
// same instant, a quoted literal that unquotes to the input.
func FuzzKdMethods(f *testing.F) {
	for _, s := range []string{`"SKU00001"`, `""`, `"  "`, `null`, `7`, `1.5e300`, `-0`, `true`, `false`, `{}`, `[]`, `{"a":1}`, `[1,"x"]`,
		`"2024-06-01 10:00:00"`, `"2021-09-18 11:02:19.807"`, `1717207200`, `"1717207200000"`, `999999999999999`, `1e15`, `1e11`,
		`"9999-12-31 23:59:59"`, `"0001-01-01"`, `"2024-06-01T02:00:00Z"`, `"2024-06-01T02:00:00-23:59"`, `"O'Brien'"`, `"'"`, `"\u0000\ud800"`,
		"\"\xff\xfe\"", `12345678901234567890`, `0.1`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	exes := map[string]*bloblang.Executor{}
	for _, m := range []string{"kd_ref", "kd_datetime", "kd_quote"} {
		exe, err := bloblang.Parse("root = this." + m + "()")
		if err != nil {
			f.Fatal(err)
		}
		exes[m] = exe
	}
	f.Fuzz(func(t *testing.T, data []byte, useNumber bool) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(data))
		if useNumber {
			dec.UseNumber()
		}
		if dec.Decode(&v) != nil {
			return
		}
		results := map[string]any{}
		for name, exe := range exes {
			got, err := exe.Query(v)
			if err != nil {
				if !strings.Contains(err.Error(), name+": ") {
					t.Fatalf("%s(%s): error does not name the method: %v", name, data, err)
				}
				continue
			}
			results[name] = got
		}
		if got, ok := results["kd_ref"]; ok && got != nil {
			m, isMap := got.(map[string]any)
			if !isMap || len(m) != 1 {
				t.Fatalf("kd_ref(%s) = %#v", data, got)
			}
			switch m["FNumber"].(type) {
			case string, json.Number, float64, int64:
			default:
				t.Fatalf("kd_ref(%s) = %#v: a reference number must be a string or number", data, got)
			}
		}
		if got, ok := results["kd_datetime"]; ok {
			s, _ := got.(string)
			ts, err := time.ParseInLocation(KingdeeDateTimeLayout, s, shanghai)
			if err != nil || ts.Format(KingdeeDateTimeLayout) != s {
				t.Fatalf("kd_datetime(%s) = %#v: not a Kingdee datetime (%v)", data, got, err)
			}
			if want, err := ParseCNTime(v); err != nil || !ts.Equal(want.Truncate(time.Second)) {
				t.Fatalf("kd_datetime(%s) = %s, but cn_time reads %v (%v)", data, s, want, err)
			}
		}
		if got, ok := results["kd_quote"]; ok {
			s, _ := got.(string)
			if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' || strings.Contains(strings.ReplaceAll(s[1:len(s)-1], "''", ""), "'") {
				t.Fatalf("kd_quote(%s) = %q: not one quoted literal", data, got)
			}
			if str, isStr := v.(string); isStr && strings.ReplaceAll(s[1:len(s)-1], "''", "'") != str {
				t.Fatalf("kd_quote(%q) = %q does not unquote to the input", str, s)
			}
		}
	})
}
