package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

func start(t *testing.T) *Server {
	t.Helper()
	o := DefaultOptions()
	o.Records = 120
	sb, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, body)
		}
	}
	return resp.StatusCode
}

func TestSourceTruthOfEveryDataset(t *testing.T) {
	sb := start(t)
	for _, ds := range []string{"jushuitan_other_inout", "jushuitan_skusn", "wdt_shops", "xbb_products"} {
		var src SourceReply
		if code := getJSON(t, sb.URL()+"/_sandbox/source/"+ds, &src); code != 200 {
			t.Fatalf("%s: HTTP %d", ds, code)
		}
		if src.Dataset != ds || len(src.Documents) != 120 {
			t.Fatalf("%s: dataset %q with %d documents, want 120", ds, src.Dataset, len(src.Documents))
		}
		ids := map[string]bool{}
		for _, d := range src.Documents {
			if d.ID == "" || d.Modified == "" || ids[d.ID] {
				t.Fatalf("%s: bad or repeated document %+v", ds, d)
			}
			ids[d.ID] = true
		}
	}
	if code := getJSON(t, sb.URL()+"/_sandbox/source/nope", nil); code != 404 {
		t.Fatalf("unknown dataset answered %d", code)
	}
}

func TestFaultsEndpointPatchesAndValidates(t *testing.T) {
	sb := start(t)
	post := func(body string) int {
		resp, err := http.Post(sb.URL()+"/_sandbox/faults", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"mutate_rate":0.5,"session_ttl":"2m"}`); code != 200 {
		t.Fatalf("valid faults answered %d", code)
	}
	if code := post(`{"row_fail_rate":0.1}`); code != 200 {
		t.Fatalf("valid faults answered %d", code)
	}
	var f core.Faults
	getJSON(t, sb.URL()+"/_sandbox/faults", &f)
	if f.MutateRate != 0.5 || f.RowFailRate != 0.1 || time.Duration(f.SessionTTL) != 2*time.Minute {
		t.Fatalf("faults after two patches: %+v", f)
	}
	for _, bad := range []string{`{"error_rate":3}`, `{"nope":1}`, `{`} {
		if code := post(bad); code != 400 {
			t.Fatalf("%s answered %d, want 400", bad, code)
		}
	}
	if sb.Env().Faults().ErrorRate != 0 {
		t.Fatal("a rejected patch changed the faults")
	}
}

func TestTargetsStatsAndReset(t *testing.T) {
	sb := start(t)
	var k3 struct {
		Documents []core.TargetDoc `json:"documents"`
	}
	if code := getJSON(t, sb.URL()+"/_sandbox/k3cloud/BD_MATERIAL", &k3); code != 200 || len(k3.Documents) != core.CatalogSize {
		t.Fatalf("BD_MATERIAL: HTTP %d, %d documents, want the %d seeded", code, len(k3.Documents), core.CatalogSize)
	}
	var kis struct {
		Documents []core.TargetDoc `json:"documents"`
	}
	if code := getJSON(t, sb.URL()+"/_sandbox/kis/bills", &kis); code != 200 || len(kis.Documents) != 0 {
		t.Fatalf("kis bills: HTTP %d, %d documents, want 0", code, len(kis.Documents))
	}
	// An unsigned Jushuitan call is answered and counted.
	resp, err := http.Post(sb.URL()+"/open/other/inout/query", "application/x-www-form-urlencoded", bytes.NewBufferString("app_key=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var st StatsReply
	getJSON(t, sb.URL()+"/_sandbox/stats", &st)
	if st.Requests["jushuitan"]["/open/other/inout/query"] != 1 {
		t.Fatalf("stats requests: %+v", st.Requests)
	}
	if st.Targets["k3cloud/BD_MATERIAL"] != core.CatalogSize || st.Datasets["xbb_products"] != 120 {
		t.Fatalf("stats targets %+v datasets %+v", st.Targets, st.Datasets)
	}
	resp, err = http.Post(sb.URL()+"/_sandbox/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var after StatsReply
	getJSON(t, sb.URL()+"/_sandbox/stats", &after)
	if len(after.Requests) != 0 || after.Datasets["xbb_products"] != 120 {
		t.Fatalf("stats after reset: %+v", after)
	}
}

func TestFullTruthRendersDocuments(t *testing.T) {
	sb := start(t)
	for ds, idField := range map[string]string{
		"jushuitan_other_inout": "io_id", "jushuitan_skusn": "sku_sn", "wdt_shops": "shop_id", "xbb_products": "dataId",
	} {
		var src struct {
			Documents []struct {
				ID       string         `json:"id"`
				Document map[string]any `json:"document"`
			} `json:"documents"`
		}
		getJSON(t, sb.URL()+"/_sandbox/source/"+ds+"?full=1", &src)
		if len(src.Documents) != 120 {
			t.Fatalf("%s: %d documents", ds, len(src.Documents))
		}
		for _, d := range src.Documents {
			if d.Document[idField] == nil {
				t.Fatalf("%s: document %s rendered without %s: %v", ds, d.ID, idField, d.Document)
			}
		}
	}
}
