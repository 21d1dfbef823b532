package bloblang

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
)

func TestMethods(t *testing.T) {
	tests := []struct {
		name, mapping string
		in            any
		want          any
		wantErr       bool
	}{
		{"kd_ref", `root = this.kd_ref()`, "SKU1", map[string]any{"FNumber": "SKU1"}, false},
		{"kd_ref key", `root = this.kd_ref(key: "FNUMBER")`, "100", map[string]any{"FNUMBER": "100"}, false},
		{"kd_ref number", `root = this.kd_ref()`, int64(7), map[string]any{"FNumber": int64(7)}, false},
		{"kd_ref empty", `root = this.kd_ref()`, "  ", nil, false},
		{"kd_ref null", `root = this.kd_ref()`, nil, nil, false},
		{"kd_ref object", `root = this.kd_ref()`, map[string]any{"a": 1}, nil, true},
		{"kd_ref chinese", `root = this.kd_ref()`, "店铺01", map[string]any{"FNumber": "店铺01"}, false},
		{"kd_datetime wall clock", `root = this.kd_datetime()`, "2024-06-01 10:00:00", "2024-06-01T10:00:00", false},
		{"kd_datetime millis text", `root = this.kd_datetime()`, "2021-09-18 11:02:19.807", "2021-09-18T11:02:19", false},
		{"kd_datetime unix", `root = this.kd_datetime()`, int64(1717207200), "2024-06-01T10:00:00", false},
		{"kd_datetime unix ms", `root = this.kd_datetime()`, "1717207200000", "2024-06-01T10:00:00", false},
		{"kd_datetime rfc3339 utc", `root = this.kd_datetime()`, "2024-06-01T02:00:00Z", "2024-06-01T10:00:00", false},
		{"kd_datetime timestamp", `root = this.ts_parse("2006-01-02T15:04:05Z07:00").kd_datetime()`, "2024-06-01T02:00:00Z", "2024-06-01T10:00:00", false},
		{"kd_datetime garbage", `root = this.kd_datetime()`, "next tuesday", nil, true},
		{"kd_datetime null", `root = this.kd_datetime()`, nil, nil, true},
		{"cn_datetime unix", `root = this.cn_datetime()`, int64(1717207200), "2024-06-01 10:00:00", false},
		{"cn_datetime unix ms text", `root = this.cn_datetime()`, "1717207200000", "2024-06-01 10:00:00", false},
		{"cn_datetime wall clock", `root = this.cn_datetime()`, "2021-09-18 11:02:19.807", "2021-09-18 11:02:19", false},
		{"cn_datetime empty", `root = this.cn_datetime()`, "", nil, true},
		{"cn_time", `root = this.cn_time().ts_unix()`, "2024-06-01 10:00:00", int64(1717207200), false},
		{"cn_time date", `root = this.cn_time().ts_unix()`, "2024-06-01", int64(1717171200), false},
		{"cn_time negative", `root = this.cn_time()`, int64(-5), nil, true},
		{"kd_quote", `root = this.kd_quote()`, "O'Brien", "'O''Brien'", false},
		{"kd_quote object", `root = this.kd_quote()`, []any{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exe, err := bloblang.Parse(tt.mapping)
			if err != nil {
				t.Fatal(err)
			}
			got, err := exe.Query(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %#v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func equal(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok || bok {
		if !aok || !bok || len(am) != len(bm) {
			return false
		}
		for k, v := range am {
			if !equal(v, bm[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestParseCNTimeZone(t *testing.T) {
	ts, err := ParseCNTime("2024-06-01 00:30:00")
	if err != nil {
		t.Fatal(err)
	}
	// Half past midnight in China is the previous day in UTC.
	if got := ts.UTC().Format(time.RFC3339); got != "2024-05-31T16:30:00Z" {
		t.Fatalf("got %s", got)
	}
}

// TestSpecExamples runs the examples the method docs show users.
func TestSpecExamples(t *testing.T) {
	ours := map[string]bool{"kd_ref": true, "kd_datetime": true, "cn_time": true, "kd_quote": true, "cn_datetime": true}
	seen := 0
	bloblang.GlobalEnvironment().WalkMethods(func(name string, view *bloblang.MethodView) {
		if !ours[name] {
			return
		}
		seen++
		raw, err := view.FormatJSON()
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Examples []struct {
				Mapping string      `json:"mapping"`
				Results [][2]string `json:"results"`
			} `json:"examples"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Examples) == 0 {
			t.Errorf("%s has no example", name)
		}
		for _, ex := range doc.Examples {
			exe, err := bloblang.Parse(ex.Mapping)
			if err != nil {
				t.Fatalf("%s example %q: %v", name, ex.Mapping, err)
			}
			for _, io := range ex.Results {
				var in any
				if err := json.Unmarshal([]byte(io[0]), &in); err != nil {
					t.Fatal(err)
				}
				out, err := exe.Query(in)
				if err != nil {
					t.Fatalf("%s example %q on %s: %v", name, ex.Mapping, io[0], err)
				}
				got, _ := json.Marshal(out)
				if string(got) != io[1] {
					t.Errorf("%s example %q on %s: got %s, want %s", name, ex.Mapping, io[0], got, io[1])
				}
			}
		}
	})
	if seen != len(ours) {
		t.Fatalf("found %d of our %d methods", seen, len(ours))
	}
}
