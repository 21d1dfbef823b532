package kingdee

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// outstock is a 销售出库单 (SAL_OUTSTOCK) Model in the shape public clients
// send (sandbox/k3cloud/bills.go), one entry row per {sku, stock, qty}.
func outstock(no, cust string, rows ...[3]any) json.RawMessage {
	entries := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		entries = append(entries, map[string]any{"FRowType": "Standard", "FMaterialID": map[string]any{"FNumber": r[0]},
			"FStockID": map[string]any{"FNumber": r[1]}, "FRealQty": r[2], "FTaxPrice": 11.3, "FOwnerTypeID": "BD_OwnerOrg"})
	}
	m := map[string]any{"FID": 0, "FBillNo": no, "FBillTypeID": map[string]any{"FNUMBER": "XSCKD01_SYS"}, "FDate": "2025-02-20",
		"FSaleOrgId": map[string]any{"FNumber": "100"}, "FStockOrgId": map[string]any{"FNumber": "100"},
		"FCustomerID": map[string]any{"FNumber": cust}, "FOwnerTypeIdHead": "BD_OwnerOrg", "FEntity": entries}
	b, _ := json.Marshal(m)
	return b
}

// TestIntegrationBatchSaveOutStock: the client's BatchSave of SAL_OUTSTOCK
// against the sandbox gives one outcome per document by DIndex, with the
// field and row of each refusal, then submits, audits and queries back.
func TestIntegrationBatchSaveOutStock(t *testing.T) {
	sb := startSandbox(t, nil)
	ctx := context.Background()
	c := newTestClient(t, sb, AuthSignature)
	res, err := c.Save(ctx, "BD_Customer", json.RawMessage(customer("OUTCUST", "出库客户")), SaveOptions{IsAutoSubmitAndAudit: true})
	if err != nil || !res.Status.IsSuccess {
		t.Fatalf("customer: %+v %v", res, err)
	}
	models := []json.RawMessage{
		outstock("XSCK-1", "OUTCUST", [3]any{"SKU00001", "CK001", 2}, [3]any{"SKU00002", "CK002", 1}),
		outstock("XSCK-2", "NOPE", [3]any{"SKU00001", "CK001", 1}),                                // unknown customer
		outstock("XSCK-3", "OUTCUST", [3]any{"SKU00001", "CK001", 1}, [3]any{"NOPE", "CK001", 1}), // unknown material, row 2
		outstock("XSCK-1", "OUTCUST", [3]any{"SKU00003", "CK001", 1}),                             // duplicate number
		outstock("XSCK-4", "OUTCUST", [3]any{"SKU00004", "CK003", 4}),
	}
	res, err = c.BatchSave(ctx, "SAL_OUTSTOCK", models, SaveOptions{IsVerifyBaseDataField: true, NeedReturnFields: []string{"FBillNo"}})
	if err != nil {
		t.Fatal(err)
	}
	succ, errs := res.SuccessByIndex(), res.ErrorsByIndex()
	if len(succ) != 2 || succ[0].Number != "XSCK-1" || succ[4].Number != "XSCK-4" || res.Status.IsSuccess {
		t.Fatalf("successes %+v", res.Status)
	}
	got := map[int]string{}
	for i, es := range errs {
		got[i] = es[0].FieldName
	}
	if fmt.Sprint(got) != "map[1:FCustomerID 2:FMaterialID 3:FBillNo]" || res.Status.MsgCode != 9 {
		t.Fatalf("errors %v (MsgCode %d)", got, res.Status.MsgCode)
	}
	if !strings.HasPrefix(errs[2][0].Message, "明细第2行：") || !IsDuplicate(errs[3][0].Message) {
		t.Fatalf("messages %q %q", errs[2][0].Message, errs[3][0].Message)
	}
	for _, op := range []func(context.Context, string, []string) (*ResponseStatus, error){c.Submit, c.Audit} {
		if st, err := op(ctx, "SAL_OUTSTOCK", []string{"XSCK-1"}); err != nil || !st.IsSuccess {
			t.Fatalf("submit/audit: %+v %v", st, err)
		}
	}
	rows, err := c.QueryAll(ctx, Query{FormID: "SAL_OUTSTOCK", FieldKeys: "FBillNo,FDocumentStatus,FMaterialID.FNumber,FRealQty",
		FilterString: InFilter("FBillNo", []string{"XSCK-1", "XSCK-2"}), OrderString: "FBillNo"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(rows); string(b) != `[["XSCK-1","C","SKU00001",2],["XSCK-1","C","SKU00002",1]]` {
		t.Fatalf("rows %s", b)
	}
}
