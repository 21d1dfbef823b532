package kingdee

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
)

// bigBillMapping builds SAL_OUTSTOCK XSCK<n> with lines(n) entry rows
// (a Bloblang expression of $n); entry row badLine (1-based) of bill
// badBill names an unknown material. The whole mapping follows "let n".
func bigBillMapping(lines string, badBill, badLine int) string {
	return fmt.Sprintf(`let lines = range(0, %s).map_each(i -> {"FRowType": "Standard", "FMaterialID": {"FNumber": if $n == %d && i == %d { "NOPE-MAT" } else { "SKU%%05d".format(i %% 20 + 1) }}, "FStockID": {"FNumber": "CK00" + (i %% 3 + 1).string()}, "FRealQty": i + 1, "FTaxPrice": 11.3, "FOwnerTypeID": "BD_OwnerOrg"})
root = {"FID": 0, "FBillNo": "XSCK%%05d".format($n), "FBillTypeID": {"FNUMBER": "XSCKD01_SYS"}, "FDate": "2025-02-20", "FSaleOrgId": {"FNumber": "100"}, "FStockOrgId": {"FNumber": "100"}, "FCustomerID": {"FNumber": "BIGCUST"}, "FOwnerTypeIdHead": "BD_OwnerOrg", "FNote": "<整单> & 备注", "FEntity": $lines}`,
		lines, badBill, badLine-1)
}

func billNo(n int) string { return fmt.Sprintf("XSCK%05d", n) }

// bigBillOutput is a kingdee_batchsave of SAL_OUTSTOCK taking up to count
// bills per batch, verifying base data.
func bigBillOutput(sb *sandbox.Server, count int, extra string) string {
	return fmt.Sprintf(`kingdee_batchsave:
  url: %s
  %s
  form_id: SAL_OUTSTOCK
  is_verify_base_data_field: true
  timeout: 5s
  batching:
    count: %d
    period: 100ms
  max_in_flight: 1
  %s`, k3URL(sb), indent(authYAML(AuthSignature), "  "), count, indent(extra, "  "))
}

// bigBillSandbox is a sandbox with the customer the bills name, audited;
// limit sets its request size limit (0: the default).
func bigBillSandbox(t *testing.T, limit int, refusal string) *sandbox.Server {
	t.Helper()
	sb := startSandbox(t, func(o *sandbox.Options) {
		if limit != 0 {
			o.K3Cloud.MaxRequestBytes = limit
		}
		o.K3Cloud.RequestRefusal = refusal
	})
	c := newTestClient(t, sb, AuthSignature)
	res, err := c.Save(context.Background(), "BD_Customer", json.RawMessage(customer("BIGCUST", "大单客户")), SaveOptions{IsAutoSubmitAndAudit: true})
	if err != nil || !res.Status.IsSuccess {
		t.Fatalf("customer: %+v %v", res, err)
	}
	return sb
}

// batchSaves counts the BatchSave answers the sandbox gave, by code ("" any).
func batchSaves(sb *sandbox.Server, code string) int {
	return sb.Env().Stats.Count(k3cloud.Vendor, "BatchSave", code)
}

// assertBills fails unless exactly the bills 1..n except skip exist, each
// written once with all its lines(n) entry rows.
func assertBills(t *testing.T, sb *sandbox.Server, n int, lines func(int) int, skip map[int]bool) {
	t.Helper()
	docs := targetDocs(t, sb, "SAL_OUTSTOCK")
	want := 0
	for i := 1; i <= n; i++ {
		d, ok := docs[billNo(i)]
		if skip[i] {
			if ok {
				t.Errorf("%s should have failed but exists", billNo(i))
			}
			continue
		}
		want++
		if !ok {
			t.Errorf("%s missing", billNo(i))
			continue
		}
		entries, _ := d.Data["FEntity"].([]any)
		if d.Writes != 1 || len(entries) != lines(i) {
			t.Errorf("%s written %d times with %d entry rows, want once with %d", billNo(i), d.Writes, len(entries), lines(i))
			continue
		}
		last := entries[len(entries)-1].(map[string]any)
		if fmt.Sprint(last["FSeq"], last["FRealQty"]) != fmt.Sprint(lines(i), lines(i)) {
			t.Errorf("%s last row: FSeq %v FRealQty %v", billNo(i), last["FSeq"], last["FRealQty"])
		}
	}
	if len(docs) != want {
		t.Errorf("SAL_OUTSTOCK holds %d bills, want %d", len(docs), want)
	}
}

// A 500-line bill lands whole, in one BatchSave, once.
func TestIntegrationBigBillLandsWhole(t *testing.T) {
	sb := bigBillSandbox(t, 0, "")
	dl := runPipeline(t, run{output: bigBillOutput(sb, 1, ""), count: 1, mapping: bigBillMapping("500", 0, 0)})
	if len(dl) != 0 {
		t.Fatalf("dead-lettered: %v", dl[0].meta[MetaError])
	}
	assertBills(t, sb, 1, func(int) int { return 500 }, nil)
	if got := batchSaves(sb, ""); got != 1 {
		t.Fatalf("%d BatchSave calls, want 1", got)
	}
}

// A batch of 30 bills of 120 lines, far above max_request_bytes, is sent
// as several BatchSave calls, each within the server's limit (no refusal),
// and every bill lands exactly once.
func TestIntegrationBatchSplitBySize(t *testing.T) {
	const limit, n = 64 << 10, 30
	sb := bigBillSandbox(t, limit, "")
	lines := func(int) int { return 120 }
	dl := runPipeline(t, run{output: bigBillOutput(sb, n, fmt.Sprintf("max_request_bytes: %d", limit)), count: n, mapping: bigBillMapping("120", 0, 0)})
	if len(dl) != 0 {
		t.Fatalf("%d dead-lettered, e.g. %v", len(dl), dl[0].meta[MetaError])
	}
	assertBills(t, sb, n, lines, nil)
	// One bill of 120 lines is about 20 KB: 30 of them cannot share fewer
	// than ceil(30*20K/64K) requests, nor need one request each.
	one := len(outstockBill(t, 1, 120))
	calls, ok := batchSaves(sb, ""), batchSaves(sb, "0")
	if min := (n*one + limit - 1) / limit; calls < min || calls >= n || calls != ok {
		t.Fatalf("%d BatchSave calls (%d successful) for %d bills of %d bytes under %d bytes a request; want %d..%d, all successful",
			calls, ok, n, one, limit, min, n-1)
	}
}

// outstockBill is the JSON of bill n as the mapping builds it (for sizes).
func outstockBill(t *testing.T, n, lines int) []byte {
	t.Helper()
	rows := make([]map[string]any, lines)
	for i := range rows {
		rows[i] = map[string]any{"FRowType": "Standard", "FMaterialID": map[string]any{"FNumber": fmt.Sprintf("SKU%05d", i%20+1)},
			"FStockID": map[string]any{"FNumber": fmt.Sprintf("CK00%d", i%3+1)}, "FRealQty": i + 1, "FTaxPrice": 11.3, "FOwnerTypeID": "BD_OwnerOrg"}
	}
	b, err := json.Marshal(map[string]any{"FID": 0, "FBillNo": billNo(n), "FBillTypeID": map[string]any{"FNUMBER": "XSCKD01_SYS"},
		"FDate": "2025-02-20", "FSaleOrgId": map[string]any{"FNumber": "100"}, "FStockOrgId": map[string]any{"FNumber": "100"},
		"FCustomerID": map[string]any{"FNumber": "BIGCUST"}, "FOwnerTypeIdHead": "BD_OwnerOrg", "FNote": "<整单> & 备注", "FEntity": rows})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// With max_request_bytes above what the server accepts, the server's
// refusals (an HTTP 500 page) are not retried as they are: the requests
// are halved until they pass, and every bill lands once.
func TestIntegrationSplitAfterRefusal(t *testing.T) {
	const limit, n = 64 << 10, 20
	sb := bigBillSandbox(t, limit, k3cloud.RefusalASPNET)
	dl := runPipeline(t, run{output: bigBillOutput(sb, n, ""), count: n, mapping: bigBillMapping("120", 0, 0)})
	if len(dl) != 0 {
		t.Fatalf("%d dead-lettered, e.g. %v", len(dl), dl[0].meta[MetaError])
	}
	assertBills(t, sb, n, func(int) int { return 120 }, nil)
	if refused := batchSaves(sb, "http_500"); refused == 0 {
		t.Fatal("the server never refused a request: the test proves nothing")
	}
}

// A bill larger than the server accepts is sent alone; refused for its
// size it is dead-lettered whole with its number and size named, while the
// other bills of its batch land. The process does not stop (the stream
// ends normally), whatever the web server's way of refusing.
func TestIntegrationOversizedBillDeadLettered(t *testing.T) {
	for _, refusal := range []string{k3cloud.RefusalASPNET, k3cloud.RefusalIIS, k3cloud.RefusalProxy} {
		t.Run(refusal, func(t *testing.T) {
			t.Parallel()
			const limit, n, big = 64 << 10, 8, 5
			sb := bigBillSandbox(t, limit, refusal)
			lines := func(i int) int {
				if i == big {
					return 1500
				}
				return 20
			}
			dl := runPipeline(t, run{output: bigBillOutput(sb, n, fmt.Sprintf("max_request_bytes: %d", limit)), count: n,
				mapping: bigBillMapping(fmt.Sprintf("if $n == %d { 1500 } else { 20 }", big), 0, 0)})
			if len(dl) != 1 || !strings.Contains(dl[0].body, billNo(big)) {
				t.Fatalf("dead letters %d, want bill %s alone", len(dl), billNo(big))
			}
			reason := dl[0].meta[MetaError]
			size := len(outstockBill(t, big, 1500))
			for _, want := range []string{"k3cloud", "BatchSave", CodeTooLarge, "SAL_OUTSTOCK " + billNo(big), "too large", "max_request_bytes 65536", "(permanent)"} {
				if !strings.Contains(reason, want) {
					t.Fatalf("reason %q lacks %q", reason, want)
				}
			}
			var reqBytes int
			if _, err := fmt.Sscanf(reason[strings.Index(reason, "alone is ")+len("alone is "):], "%d bytes", &reqBytes); err != nil || reqBytes < size || reqBytes > size+1024 {
				t.Fatalf("reason %q: request size %d, the bill alone is %d bytes", reason, reqBytes, size)
			}
			assertBills(t, sb, n, lines, map[int]bool{big: true})
			if refused := batchSaves(sb, "") - batchSaves(sb, "0"); refused != 1 {
				t.Fatalf("%d refused BatchSave calls, want 1 (the big bill alone, not retried)", refused)
			}
		})
	}
}

// A bill failing on one line (an unknown material on entry row 137) is
// dead-lettered whole, its reason naming the line, the field and the
// material; the other bills of its batch land, each once.
func TestIntegrationBillFailsOnOneLine(t *testing.T) {
	const n, bad = 10, 7
	sb := bigBillSandbox(t, 0, "")
	dl := runPipeline(t, run{output: bigBillOutput(sb, n, ""), count: n, mapping: bigBillMapping("200", bad, 137)})
	if len(dl) != 1 || !strings.Contains(dl[0].body, billNo(bad)) {
		t.Fatalf("dead letters %d, want bill %s alone", len(dl), billNo(bad))
	}
	reason := dl[0].meta[MetaError]
	for _, want := range []string{"code 9", "SAL_OUTSTOCK " + billNo(bad), "FMaterialID", "第137行", "NOPE-MAT", "(permanent)"} {
		if !strings.Contains(reason, want) {
			t.Fatalf("reason %q lacks %q", reason, want)
		}
	}
	if strings.Contains(reason, "第136行") || strings.Contains(reason, "第138行") {
		t.Fatalf("reason %q names other lines", reason)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(dl[0].body), &doc); err != nil || len(doc["FEntity"].([]any)) != 200 {
		t.Fatalf("the dead letter is not the whole bill: %v", err)
	}
	assertBills(t, sb, n, func(int) int { return 200 }, map[int]bool{bad: true})
	if got := batchSaves(sb, ""); got != 1 {
		t.Fatalf("%d BatchSave calls, want 1", got)
	}
}

// The request size the output plans with is the size the client sends.
func TestBatchSaveSize(t *testing.T) {
	models := []json.RawMessage{
		json.RawMessage(`{ "FBillNo" : "A<1>", "FNote": "a & b",
		  "FEntity": [ {"FQty": 1} ] }`),
		json.RawMessage(`{"FBillNo":"B2","FNote":"\u4e2d\u6587 中文"}`),
	}
	opts := SaveOptions{IsVerifyBaseDataField: true, NeedReturnFields: []string{"FBillNo"}, BatchCount: 2}
	want, err := json.Marshal(saveBody("SAL_OUTSTOCK", models, opts))
	if err != nil {
		t.Fatal(err)
	}
	got := BatchSaveOverhead("SAL_OUTSTOCK", opts) + len(models) - 1
	for _, m := range models {
		got += ModelSize(m)
	}
	if got != len(want) {
		t.Fatalf("planned %d bytes, the body is %d", got, len(want))
	}
}
