package k3cloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/sandbox/core"
)

// bigBatch is a BatchSave of n STK_MISCELLANEOUS bills of rows lines each.
func bigBatch(n, rows int) map[string]any {
	models := make([]any, n)
	for i := range models {
		lines := make([]map[string]any, rows)
		for j := range lines {
			lines[j] = line(fmt.Sprintf("SKU%05d", j%20+1), "CK001", 1)
		}
		models[i] = bill(fmt.Sprintf("BIG%03d", i), "100", "", lines...)
	}
	return map[string]any{"Model": models}
}

// bodySize is the size of the body f.call sends for data.
func bodySize(t *testing.T, form string, data any) int {
	t.Helper()
	b, err := json.Marshal(map[string]any{"formid": form, "data": data})
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestRequestSizeLimit: a request one byte over MaxRequestBytes is refused
// by the web server in the configured way (no envelope, nothing written,
// counted under the HTTP code), one at the limit is served.
func TestRequestSizeLimit(t *testing.T) {
	data := bigBatch(3, 40)
	limit := bodySize(t, "STK_MISCELLANEOUS", data)
	cases := []struct {
		refusal string
		status  int
		words   string
	}{
		{RefusalASPNET, http.StatusInternalServerError, "超过了最大请求长度"},
		{RefusalIIS, http.StatusNotFound, "404.13"},
		{RefusalProxy, http.StatusRequestEntityTooLarge, "413 Request Entity Too Large"},
		{"", http.StatusInternalServerError, "超过了最大请求长度"},
	}
	for _, c := range cases {
		t.Run("refusal="+c.refusal, func(t *testing.T) {
			f := newFixture(t, func(_ *core.Options, cfg *Config) { cfg.MaxRequestBytes, cfg.RequestRefusal = limit-1, c.refusal })
			r := f.call(t, "BatchSave", "STK_MISCELLANEOUS", data)
			if r.status != c.status || !strings.Contains(string(r.body), c.words) || strings.Contains(string(r.body), "ResponseStatus") {
				t.Fatalf("over the limit: HTTP %d %s", r.status, r.body)
			}
			if n := len(f.targetDocs(t, "STK_MISCELLANEOUS")); n != 0 {
				t.Fatalf("%d documents written by a refused request", n)
			}
			if got := f.env.Stats.Count(Vendor, "BatchSave", fmt.Sprintf("http_%d", c.status)); got != 1 {
				t.Fatalf("stats: %d refusals recorded", got)
			}
		})
	}
	f := newFixture(t, func(_ *core.Options, cfg *Config) { cfg.MaxRequestBytes = limit })
	if st := decodeStatus(t, f.call(t, "BatchSave", "STK_MISCELLANEOUS", data)); !st.IsSuccess || len(st.SuccessEntitys) != 3 {
		t.Fatalf("at the limit: %+v", st)
	}
}

// TestRequestSizeDefault: the default limit is 4 MiB and a negative one
// disables it; an unknown refusal style is a configuration error.
func TestRequestSizeDefault(t *testing.T) {
	if DefaultConfig().MaxRequestBytes != 4<<20 {
		t.Fatalf("default %d", DefaultConfig().MaxRequestBytes)
	}
	data := bigBatch(1, 5)
	f := newFixture(t, func(_ *core.Options, cfg *Config) { cfg.MaxRequestBytes = -1 })
	if st := decodeStatus(t, f.call(t, "BatchSave", "STK_MISCELLANEOUS", data)); !st.IsSuccess {
		t.Fatalf("no limit: %+v", st)
	}
	cfg := DefaultConfig()
	cfg.RequestRefusal = "teapot"
	if _, err := New(f.env, cfg); err == nil || !strings.Contains(err.Error(), "request_refusal") {
		t.Fatalf("unknown refusal: %v", err)
	}
}

// TestEntryErrorNamesLine: one unknown material on line 137 of the second
// bill of a BatchSave fails that bill alone; its errors carry the bill's
// DIndex (its position in Model), the entry field as FieldName and the line
// in the message, and the other bills land.
func TestEntryErrorNamesLine(t *testing.T) {
	f := newFixture(t, nil)
	data := bigBatch(3, 200)
	bad := data["Model"].([]any)[1].(map[string]any)["FEntity"].([]any)[136].(map[string]any)
	bad["FMATERIALID"] = map[string]any{"FNumber": "NOPE-137"}
	data["IsVerifyBaseDataField"] = true
	st := decodeStatus(t, f.call(t, "BatchSave", "STK_MISCELLANEOUS", data))
	if st.IsSuccess || st.MsgCode != 9 || len(st.SuccessEntitys) != 2 || dindexes(st.SuccessEntitys, func(s struct {
		Id     int64
		Number string
		DIndex int
	}) int {
		return s.DIndex
	})[1] != 2 {
		t.Fatalf("status %+v", st)
	}
	e := st.Errors[0]
	if e.DIndex != 1 || e.FieldName == nil || *e.FieldName != "FMATERIALID" || !strings.Contains(e.Message, "第137行") || !strings.Contains(e.Message, "NOPE-137") {
		t.Fatalf("first error %+v (%s)", e, e.Message)
	}
	for _, e := range st.Errors {
		if e.DIndex != 1 || !strings.Contains(e.Message, "第137行") {
			t.Fatalf("error of another bill or line: %+v", e)
		}
	}
	if n := len(f.targetDocs(t, "STK_MISCELLANEOUS")); n != 2 {
		t.Fatalf("%d bills written", n)
	}
}
