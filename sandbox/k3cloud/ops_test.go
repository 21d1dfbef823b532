package k3cloud

import (
	"encoding/json"
	"fmt"
	"testing"
)

// numbersData is the Submit / Audit / UnAudit / Delete body (KDOC).
func numbersData(nos ...string) map[string]any {
	return map[string]any{"CreateOrgId": 0, "Numbers": nos, "Ids": "", "NetworkCtrl": ""}
}

func TestDeleteDraftUnAudit(t *testing.T) {
	f := newFixture(t, nil)
	save := func(method string, model map[string]any) statusT {
		t.Helper()
		return decodeStatus(t, f.call(t, method, "BD_Customer", map[string]any{"Model": model}))
	}
	op := func(method string, nos ...string) statusT {
		t.Helper()
		return decodeStatus(t, f.call(t, method, "BD_Customer", numbersData(nos...)))
	}
	status := func(no string) string {
		t.Helper()
		for _, d := range f.targetDocs(t, "BD_Customer") {
			if d.Number == no {
				return fmt.Sprint(d.Data["FDocumentStatus"])
			}
		}
		return "gone"
	}

	// Draft: no validation (FName missing), status Z, number unique.
	if st := save("Draft", customer("DR001", "", "100")); !st.IsSuccess || status("DR001") != "Z" {
		t.Fatalf("draft: %+v, status %s", st, status("DR001"))
	}
	if st := save("Save", customer("DR001", "x", "100")); st.IsSuccess || st.MsgCode != 11 {
		t.Fatalf("a second document with the draft's number: %+v", st)
	}
	if st := op("Submit", "DR001"); st.IsSuccess || st.MsgCode != 12 {
		t.Fatalf("submitting a draft: %+v", st)
	}
	// Saving the draft by its internal id makes it a created document.
	id := f.targetDocs(t, "BD_Customer")[0].Data["FCUSTID"]
	m := customer("DR001", "草稿客户", "100")
	m["FCUSTID"] = id
	if st := save("Save", m); !st.IsSuccess || status("DR001") != "A" {
		t.Fatalf("save of the draft: %+v, status %s", st, status("DR001"))
	}
	// A created document can be deleted.
	if st := op("Delete", "DR001"); !st.IsSuccess || len(st.SuccessEntitys) != 1 || status("DR001") != "gone" {
		t.Fatalf("delete: %+v, status %s", st, status("DR001"))
	}
	// Delete of an unknown number: MsgCode 10, as Submit / Audit answer.
	if st := op("Delete", "NOPE"); st.IsSuccess || st.MsgCode != 10 {
		t.Fatalf("delete unknown: %+v", st)
	}
	// Audited documents: Delete refused (12) until UnAudit (C -> D).
	if st := save("Save", customer("AU001", "审核客户", "100")); !st.IsSuccess {
		t.Fatalf("save: %+v", st)
	}
	for _, m := range []string{"Submit", "Audit"} {
		if st := op(m, "AU001"); !st.IsSuccess {
			t.Fatalf("%s: %+v", m, st)
		}
	}
	if st := op("Delete", "AU001"); st.IsSuccess || st.MsgCode != 12 || st.Errors[0].Message != "单据[AU001]的状态为“已审核”，不能删除。" {
		t.Fatalf("delete audited: %+v", st)
	}
	if st := op("UnAudit", "AU001"); !st.IsSuccess || status("AU001") != "D" {
		t.Fatalf("unaudit: %+v %s", st, status("AU001"))
	}
	if st := op("Delete", "AU001"); !st.IsSuccess || status("AU001") != "gone" {
		t.Fatalf("delete after unaudit: %+v %s", st, status("AU001"))
	}
	// Base data is read-only.
	if st := decodeStatus(t, f.call(t, "Delete", "BD_STOCK", numbersData("CK001"))); st.IsSuccess || st.MsgCode != 4 {
		t.Fatalf("delete base data: %+v", st)
	}
	// The number is free again once deleted.
	if st := save("Save", customer("AU001", "又一个", "100")); !st.IsSuccess {
		t.Fatalf("reuse of a deleted number: %+v", st)
	}
}

// taskInfo is the QueryResultInfo of the asynchronous mode.
type taskInfo struct {
	TaskId    string
	Status    int
	Result    json.RawMessage
	Cancelled bool
	IsFaulted bool
}

// TestAsyncMode: the SDKs' BeginQueryImpl / QueryAsyncResult mode, as
// PYSDK (BatchSaveQuery: keys in the body, poll {"queryInfo": "<text>"})
// and JSDK (keys in the body and headers, poll {"parameters": [{...}]})
// send it.
func TestAsyncMode(t *testing.T) {
	f := newFixture(t, nil)
	s := f.signer()
	decode := func(r reply) taskInfo {
		t.Helper()
		var ti taskInfo
		if err := json.Unmarshal(r.body, &ti); err != nil || ti.TaskId == "" {
			t.Fatalf("not a task: %s", r.body)
		}
		return ti
	}
	// PYSDK: BatchSave with the keys in the body.
	body := map[string]any{"formid": "BD_Customer", "data": map[string]any{"Model": []any{customer("AS001", "异步", "100"), customer("AS002", "", "100")}},
		"beginmethod": "BeginQueryImpl", "querymethod": "QueryAsyncResult"}
	ti := decode(f.do(t, formPath("BatchSave"), body, auth{sign: &s}))
	if ti.Status != 0 {
		t.Fatalf("begin status %d, want 0 (pending)", ti.Status)
	}
	// PYSDK polls with json.dumps of {TaskId, Cancelled}: ", " and ": " separators.
	poll := decode(f.do(t, formPath("QueryAsyncResult"), map[string]any{"queryInfo": fmt.Sprintf(`{"TaskId": %q, "Cancelled": false}`, ti.TaskId)}, auth{sign: &s}))
	if poll.Status != 2 || poll.IsFaulted {
		t.Fatalf("poll: %+v", poll)
	}
	st := decodeStatus(t, reply{body: poll.Result})
	if st.IsSuccess || len(st.SuccessEntitys) != 1 || st.SuccessEntitys[0].Number != "AS001" || len(st.Errors) != 1 || st.Errors[0].DIndex != 1 {
		t.Fatalf("task result: %s", poll.Result)
	}
	if n := len(f.targetDocs(t, "BD_Customer")); n != 1 {
		t.Fatalf("%d customers written, want 1", n)
	}

	// JSDK: positional body, keys in body and headers; query errors stay wrapped.
	hdr := map[string]string{"beginmethod": "BeginQueryImpl", "querymethod": "QueryAsyncResult"}
	for k, v := range s.headers(t, formPath("ExecuteBillQuery")) {
		hdr[k] = v[0]
	}
	q := map[string]any{"parameters": []any{`{"FormId":"BD_Customer","FieldKeys":"FNumber,FName"}`}, "beginmethod": "BeginQueryImpl", "querymethod": "QueryAsyncResult"}
	ti = decode(f.do(t, formPath("ExecuteBillQuery"), q, auth{header: hdr}))
	poll = decode(f.do(t, formPath("QueryAsyncResult"), map[string]any{"parameters": []any{map[string]any{"TaskId": ti.TaskId, "Cancelled": false}}}, auth{sign: &s}))
	if poll.Status != 2 || string(poll.Result) != `[["AS001","异步"]]` {
		t.Fatalf("query task: %+v %s", poll, poll.Result)
	}
	q["parameters"] = []any{`{"FormId":"NO_SUCH_FORM","FieldKeys":"FID"}`}
	ti = decode(f.do(t, formPath("ExecuteBillQuery"), q, auth{header: hdr}))
	poll = decode(f.do(t, formPath("QueryAsyncResult"), map[string]any{"queryInfo": map[string]any{"TaskId": ti.TaskId}}, auth{sign: &s}))
	if code := queryError(t, reply{body: poll.Result}); code != 4 {
		t.Fatalf("wrapped error MsgCode %d", code)
	}

	// An unknown task: complete and faulted, with a failure as Result.
	poll = decode(f.do(t, formPath("QueryAsyncResult"), map[string]any{"queryInfo": `{"TaskId": "nope", "Cancelled": false}`}, auth{sign: &s}))
	if poll.Status != 2 || !poll.IsFaulted || decodeStatus(t, reply{body: poll.Result}).IsSuccess {
		t.Fatalf("unknown task: %+v %s", poll, poll.Result)
	}
	// Polls need a session like every DynamicFormService call.
	if r := f.do(t, formPath("QueryAsyncResult"), map[string]any{"queryInfo": `{"TaskId": "x"}`}, auth{}); string(r.body) != lostEnvelope {
		t.Fatalf("unauthenticated poll: %s", r.body)
	}
}

// TestViewShape: View answers in the server's naming (view.go): a null
// ResponseStatus on success, properties without the F, references as
// X_Id plus an object, localised names, entry rows with Id and Seq.
func TestViewShape(t *testing.T) {
	f := newFixture(t, nil)
	if st := decodeStatus(t, f.call(t, "Save", "STK_MISCELLANEOUS", map[string]any{"Model": bill("QTV001", "100", "备注", line("SKU00001", "CK001", 2))})); !st.IsSuccess {
		t.Fatalf("save: %+v", st)
	}
	r := f.call(t, "View", "STK_MISCELLANEOUS", map[string]any{"CreateOrgId": 0, "Number": "QTV001", "Id": "", "IsSortBySeq": "false"})
	var v struct {
		Result struct {
			ResponseStatus json.RawMessage
			Result         map[string]any
		}
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	d := v.Result.Result
	if string(v.Result.ResponseStatus) != "null" || d["BillNo"] != "QTV001" || d["DocumentStatus"] != "A" || d["NOTE"] != "备注" || d["Id"] == nil {
		t.Fatalf("header: %s", r.body)
	}
	if _, ok := d["FBillNo"]; ok {
		t.Fatalf("field keys leaked into the View answer: %s", r.body)
	}
	org, _ := d["StockOrgId"].(map[string]any)
	if org == nil || org["Number"] != "100" || d["StockOrgId_Id"] != org["Id"] || fmt.Sprint(org["Name"]) != "[map[Key:2052 Value:总公司]]" {
		t.Fatalf("reference: %v / %v", d["StockOrgId_Id"], d["StockOrgId"])
	}
	rows, _ := d["Entity"].([]any)
	if len(rows) != 1 {
		t.Fatalf("entries: %v", d["Entity"])
	}
	row := rows[0].(map[string]any)
	mat, _ := row["MATERIALID"].(map[string]any)
	if row["Seq"] != float64(1) || row["Id"] == nil || row["Qty"] != float64(2) || mat == nil || mat["Number"] != "SKU00001" || row["MATERIALID_Id"] != mat["Id"] {
		t.Fatalf("entry row: %v", row)
	}
	// Base data: msterID, ForbidStatus, localised Name and MultiLanguageText.
	r = f.call(t, "View", "BD_STOCK", map[string]any{"Number": "CK001"})
	var b struct {
		Result struct{ Result map[string]any }
	}
	_ = json.Unmarshal(r.body, &b)
	bd := b.Result.Result
	if bd["Number"] != "CK001" || bd["msterID"] != bd["Id"] || bd["ForbidStatus"] != "A" || bd["MultiLanguageText"] == nil {
		t.Fatalf("base data: %s", r.body)
	}
	// Not found keeps the failure envelope.
	if st := decodeStatus(t, f.call(t, "View", "BD_STOCK", map[string]any{"Number": "NOPE"})); st.IsSuccess || st.MsgCode != 10 {
		t.Fatalf("not found: %+v", st)
	}
}
