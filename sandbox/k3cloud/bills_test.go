package k3cloud

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// billSpec describes one bill form for the table-driven tests: how a
// client writes it (the public samples in bills.go) and its key fields.
type billSpec struct {
	form, entity     string
	partner          string // the customer or supplier header field
	partnerNo        string // a number that exists
	material, stock  string // entry keys
	qty              string
	required         string // a required header field without default
	requiredLabel    string
	optionalRef      string // an optional header reference
	optionalRefValue string
	prefix           string // auto-numbering prefix
	header           map[string]any
	extraEntry       map[string]any
}

func billSpecs() []billSpec {
	return []billSpec{
		{form: "SAL_OUTSTOCK", entity: "FEntity", partner: "FCustomerID", partnerNo: "CUST001",
			material: "FMaterialID", stock: "FStockID", qty: "FRealQty", required: "FSaleOrgId", requiredLabel: "销售组织",
			optionalRef: "FDeliveryDeptID", optionalRefValue: "BM000002", prefix: "XSCKD",
			header: map[string]any{"FBillTypeID": map[string]any{"FNUMBER": "XSCKD01_SYS"}, "FSaleOrgId": map[string]any{"FNumber": "100"},
				"FStockOrgId": map[string]any{"FNumber": "100"}, "FOwnerTypeIdHead": "BD_OwnerOrg",
				"SubHeadEntity": map[string]any{"FSettleCurrID": map[string]any{"FNumber": "PRE001"}, "FExchangeRate": 1.0}},
			extraEntry: map[string]any{"FRowType": "Standard", "FTaxPrice": 11.3, "FPrice": 10, "FEntryTaxRate": 13.0, "FIsFree": false}},
		{form: "SAL_RETURNSTOCK", entity: "FEntity", partner: "FRetcustId", partnerNo: "CUST001",
			material: "FMaterialId", stock: "FStockId", qty: "FRealQty", required: "FStockOrgId", requiredLabel: "库存组织",
			optionalRef: "FStockDeptId", optionalRefValue: "BM000001", prefix: "XSTHD",
			header: map[string]any{"FBillTypeID": map[string]any{"FNUMBER": "XSTHD01_SYS"}, "FSaleOrgId": map[string]any{"FNumber": "100"},
				"FStockOrgId": map[string]any{"FNumber": "100"}, "FOwnerTypeIdHead": "BD_OwnerOrg"},
			extraEntry: map[string]any{"FReturnType": map[string]any{"FNumber": "THLX01_SYS"}, "FTaxPrice": 5.65, "FIsFree": false}},
		{form: "STK_InStock", entity: "FInStockEntry", partner: "FSupplierId", partnerNo: "VEN00001",
			material: "FMaterialId", stock: "FStockId", qty: "FRealQty", required: "FStockOrgId", requiredLabel: "收料组织",
			optionalRef: "FStockDeptId", optionalRefValue: "BM000001", prefix: "CGRK",
			header: map[string]any{"FBillTypeID": map[string]any{"FNUMBER": "RKD01_SYS"}, "FStockOrgId": map[string]any{"FNumber": "100"},
				"FPurchaseOrgId": map[string]any{"FNumber": "100"}, "FOwnerTypeIdHead": "BD_OwnerOrg",
				"FInStockFin": map[string]any{"FSettleCurrId": map[string]any{"FNumber": "PRE001"}}},
			extraEntry: map[string]any{"FPrice": 8, "FTaxPrice": 9.04, "FPriceUnitID": map[string]any{"FNumber": "Pcs"}}},
		{form: "STK_MisDelivery", entity: "FEntity", partner: "FCustId", partnerNo: "CUST001",
			material: "FMaterialId", stock: "FStockId", qty: "FQty", required: "FStockOrgId", requiredLabel: "库存组织",
			optionalRef: "FCustId", optionalRefValue: "CUST001", prefix: "QTCK",
			header: map[string]any{"FBillTypeID": map[string]any{"FNUMBER": "QTCKD01_SYS"}, "FStockOrgId": map[string]any{"FNumber": "100"},
				"FStockDirect": "GENERAL", "FDeptId": map[string]any{"FNumber": "BM000001"}, "FOwnerTypeIdHead": "BD_OwnerOrg"},
			extraEntry: map[string]any{"FEntryNote": "样品", "FKeeperTypeId": "BD_KeeperOrg"}},
	}
}

// model builds a Save Model with one entry row per SKU (material number,
// stock number, quantity).
func (b billSpec) model(no string, rows ...[3]any) map[string]any {
	m := map[string]any{"FID": 0, "FBillNo": no, "FDate": "2025-02-20 00:00:00",
		b.partner: map[string]any{"FNumber": b.partnerNo}}
	if no == "" {
		delete(m, "FBillNo")
	}
	for k, v := range b.header {
		m[k] = deepCopy(v)
	}
	entries := make([]any, 0, len(rows))
	for _, r := range rows {
		e := map[string]any{b.material: map[string]any{"FNumber": r[0]}, b.stock: map[string]any{"FNumber": r[1]}, b.qty: r[2]}
		for k, v := range b.extraEntry {
			e[k] = deepCopy(v)
		}
		entries = append(entries, e)
	}
	m[b.entity] = entries
	return m
}

func threeRows() [][3]any {
	return [][3]any{{"SKU00001", "CK001", 2}, {"SKU00002", "CK002", 3.5}, {"SKU00003", "CK001", 1}}
}

// billFixture is a fixture with the customer CUST001 written (audited).
func billFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	st := decodeStatus(t, f.call(t, "Save", "BD_Customer", map[string]any{"IsAutoSubmitAndAudit": true, "Model": customer("CUST001", "天猫旗舰店", "100")}))
	if !st.IsSuccess {
		t.Fatalf("customer: %+v", st)
	}
	return f
}

func (f *fixture) save(t *testing.T, form string, model map[string]any, opts map[string]any) statusT {
	t.Helper()
	data := map[string]any{"Model": model}
	for k, v := range opts {
		data[k] = v
	}
	return decodeStatus(t, f.call(t, "Save", form, data))
}

// firstError is "FieldName|Message" of the first error.
func firstError(t *testing.T, st statusT) string {
	t.Helper()
	if st.IsSuccess || len(st.Errors) == 0 {
		t.Fatalf("want a failure, got %+v", st)
	}
	fn := "<nil>"
	if st.Errors[0].FieldName != nil {
		fn = *st.Errors[0].FieldName
	}
	return fn + "|" + st.Errors[0].Message
}

func TestBillValidSave(t *testing.T) {
	for _, b := range billSpecs() {
		t.Run(b.form, func(t *testing.T) {
			f := billFixture(t)
			st := f.save(t, b.form, b.model("B001", threeRows()...), map[string]any{"NeedReturnFields": []string{"FBillNo", b.entity + ".FSeq"}})
			if !st.IsSuccess || len(st.SuccessEntitys) != 1 || st.SuccessEntitys[0].Number != "B001" {
				t.Fatalf("save: %+v", st)
			}
			// Auto-numbering with the form's prefix.
			st = f.save(t, b.form, b.model("", threeRows()[:1]...), nil)
			if !st.IsSuccess || !strings.HasPrefix(st.SuccessEntitys[0].Number, b.prefix) {
				t.Fatalf("auto number: %+v", st)
			}
			docs := f.targetDocs(t, b.form)
			if len(docs) != 2 || docs[0].Number != "B001" || docs[0].Writes != 1 || docs[0].Data["FDocumentStatus"] != "A" {
				t.Fatalf("docs %+v", docs)
			}
			d := docs[0].Data
			if d["FDate"] != "2025-02-20T00:00:00" || fmt.Sprint(d["FOwnerIdHead"]) != "map[FNumber:100]" {
				t.Fatalf("header defaults: %v", d)
			}
			entries, _ := d[b.entity].([]any)
			if len(entries) != 3 {
				t.Fatalf("entries %v", d[b.entity])
			}
			for i, e := range entries {
				em := e.(map[string]any)
				if fmt.Sprint(em["FSeq"]) != fmt.Sprint(i+1) || em["FEntryID"] == nil || em["FUnitID"] == nil {
					t.Fatalf("row %d: %v", i+1, em)
				}
			}
			// Base data: the unit defaults to the material's base unit.
			if u := fmt.Sprint(entries[0].(map[string]any)["FUnitID"]); !strings.HasPrefix(u, "map[FNumber:") {
				t.Fatalf("unit %s", u)
			}
		})
	}
}

func TestBillRequiredFields(t *testing.T) {
	for _, b := range billSpecs() {
		t.Run(b.form, func(t *testing.T) {
			f := billFixture(t)
			// A required header field without default.
			m := b.model("R001", threeRows()...)
			delete(m, b.required)
			if b.form == "STK_InStock" {
				delete(m, "FPurchaseOrgId") // it defaults to the stock organisation
			}
			st := f.save(t, b.form, m, nil)
			if got, want := firstError(t, st), b.required+"|“"+b.requiredLabel+"”是必填项。"; got != want || st.MsgCode != 11 || st.ErrorCode != 500 {
				t.Fatalf("got %s (MsgCode %d), want %s", got, st.MsgCode, want)
			}
			// The partner (customer or supplier) is required except on 其他出库单.
			m = b.model("R002", threeRows()...)
			delete(m, b.partner)
			st = f.save(t, b.form, m, nil)
			if b.form == "STK_MisDelivery" {
				if !st.IsSuccess {
					t.Fatalf("其他出库单 without customer: %+v", st)
				}
			} else if got := firstError(t, st); !strings.HasPrefix(got, b.partner+"|") {
				t.Fatalf("missing partner: %s", got)
			}
			// An entry field missing on row 2 only: the error names the field and the row.
			m = b.model("R003", threeRows()...)
			delete(m[b.entity].([]any)[1].(map[string]any), b.stock)
			st = f.save(t, b.form, m, nil)
			if got := firstError(t, st); !strings.HasPrefix(got, b.stock+"|明细第2行：") || len(st.Errors) != 1 {
				t.Fatalf("missing entry stock: %+v", st)
			}
			// Quantity zero, and no entry at all.
			m = b.model("R004", [3]any{"SKU00001", "CK001", 0})
			if got := firstError(t, f.save(t, b.form, m, nil)); !strings.HasPrefix(got, b.qty+"|明细第1行：") || !strings.HasSuffix(got, "必须大于0。") {
				t.Fatalf("zero qty: %s", got)
			}
			m = b.model("R005")
			if got := firstError(t, f.save(t, b.form, m, nil)); got != b.entity+"|"+msgNoEntry {
				t.Fatalf("no entry: %s", got)
			}
			// A bad date.
			m = b.model("R006", threeRows()...)
			m["FDate"] = "2025-13-45"
			if got := firstError(t, f.save(t, b.form, m, nil)); !strings.HasPrefix(got, "FDate|") {
				t.Fatalf("bad date: %s", got)
			}
			if docs := f.targetDocs(t, b.form); b.form == "STK_MisDelivery" && len(docs) != 1 || b.form != "STK_MisDelivery" && len(docs) != 0 {
				t.Fatalf("failed saves stored: %+v", docs)
			}
		})
	}
}

func TestBillNegativePrice(t *testing.T) {
	f := billFixture(t)
	b := billSpecs()[0]
	m := b.model("P001", threeRows()...)
	m["FEntity"].([]any)[2].(map[string]any)["FTaxPrice"] = -1
	if got := firstError(t, f.save(t, b.form, m, nil)); got != "FTaxPrice|明细第3行：“含税单价”不能为负数。" {
		t.Fatalf("got %s", got)
	}
	// Amounts are derived from the prices when not sent.
	if st := f.save(t, b.form, b.model("P002", [3]any{"SKU00001", "CK001", 2}), nil); !st.IsSuccess {
		t.Fatalf("%+v", st)
	}
	e := f.targetDocs(t, b.form)[0].Data["FEntity"].([]any)[0].(map[string]any)
	if fmt.Sprint(e["FAmount"]) != "20" || fmt.Sprint(e["FAllAmount"]) != "22.6" {
		t.Fatalf("amounts %v %v", e["FAmount"], e["FAllAmount"])
	}
}

func TestBillBaseDataVerification(t *testing.T) {
	for _, b := range billSpecs() {
		t.Run(b.form, func(t *testing.T) {
			f := billFixture(t)
			verify := map[string]any{"IsVerifyBaseDataField": true}
			cases := []struct {
				name  string
				edit  func(m map[string]any)
				field string
				row   int // 0: header
			}{
				{"material", func(m map[string]any) {
					m[b.entity].([]any)[1].(map[string]any)[b.material] = map[string]any{"FNumber": "NOPE"}
				}, b.material, 2},
				{"stock", func(m map[string]any) {
					m[b.entity].([]any)[2].(map[string]any)[b.stock] = map[string]any{"FNUMBER": "CK999"}
				}, b.stock, 3},
				{"partner", func(m map[string]any) { m[b.partner] = map[string]any{"FNumber": "NOPE"} }, b.partner, 0},
				{"organisation", func(m map[string]any) { m[b.required] = map[string]any{"FNumber": "999"} }, b.required, 0},
				{"unit", func(m map[string]any) {
					m[b.entity].([]any)[0].(map[string]any)["FUnitID"] = map[string]any{"FNumber": "Ton"}
				}, "FUnitID", 1},
			}
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					m := b.model(fmt.Sprintf("V%03d", i), threeRows()...)
					tc.edit(m)
					st := f.save(t, b.form, m, verify)
					got := firstError(t, st)
					if st.MsgCode != 9 || !strings.HasPrefix(got, tc.field+"|") || !strings.Contains(got, "在系统中不存在或未审核") {
						t.Fatalf("verified: MsgCode %d %s", st.MsgCode, got)
					}
					if tc.row > 0 && !strings.Contains(got, fmt.Sprintf("明细第%d行：", tc.row)) {
						t.Fatalf("row not named: %s", got)
					}
					// Without verification an unknown reference is dropped: a
					// required one then reads as missing (MsgCode 11, the
					// field named), except the unit, which falls back to the
					// material's base unit.
					m = b.model(fmt.Sprintf("W%03d", i), threeRows()...)
					tc.edit(m)
					st = f.save(t, b.form, m, nil)
					if tc.name == "unit" || tc.name == "partner" && b.form == "STK_MisDelivery" {
						if !st.IsSuccess {
							t.Fatalf("unverified %s: %+v", tc.name, st)
						}
						return
					}
					if got := firstError(t, st); st.MsgCode != 11 || !strings.HasPrefix(got, tc.field+"|") || !strings.Contains(got, "是必填项") {
						t.Fatalf("unverified: MsgCode %d %s", st.MsgCode, got)
					}
				})
			}
			// An unknown optional reference: refused when verified, dropped and
			// accepted when not.
			m := b.model("O001", threeRows()...)
			m[b.optionalRef] = map[string]any{"FNumber": "NOPE"}
			if st := f.save(t, b.form, m, verify); st.MsgCode != 9 {
				t.Fatalf("verified optional: %+v", st)
			}
			if st := f.save(t, b.form, m, nil); !st.IsSuccess {
				t.Fatalf("unverified optional: %+v", st)
			}
			doc := f.targetDocs(t, b.form)
			if len(doc) == 0 || doc[len(doc)-1].Data[b.optionalRef] != nil {
				t.Fatalf("unknown optional reference kept: %+v", doc)
			}
			// Known references pass verification, by number or internal id.
			m = b.model("O002", threeRows()...)
			m[b.optionalRef] = map[string]any{"FNumber": b.optionalRefValue}
			if st := f.save(t, b.form, m, verify); !st.IsSuccess {
				t.Fatalf("verified known: %+v", st)
			}
		})
	}
}

func TestBillDuplicateNumber(t *testing.T) {
	for _, b := range billSpecs() {
		t.Run(b.form, func(t *testing.T) {
			f := billFixture(t)
			if st := f.save(t, b.form, b.model("D001", threeRows()...), nil); !st.IsSuccess {
				t.Fatalf("%+v", st)
			}
			// Case-insensitive collation; the form id is case-insensitive too.
			st := f.save(t, strings.ToLower(b.form), b.model("d001", threeRows()...), nil)
			if got := firstError(t, st); st.MsgCode != 11 || got != "FBillNo|"+DuplicateMessage("d001") {
				t.Fatalf("duplicate: %s", got)
			}
			// BatchSave: per-row results, the duplicate inside the batch too.
			models := []any{b.model("D002", threeRows()...), b.model("D001", threeRows()...), b.model("D003"), b.model("D002", threeRows()...)}
			st = decodeStatus(t, f.call(t, "BatchSave", b.form, map[string]any{"Model": models}))
			ok := dindexes(st.SuccessEntitys, func(e struct {
				Id     int64
				Number string
				DIndex int
			}) int {
				return e.DIndex
			})
			failed := map[int]string{}
			for _, e := range st.Errors {
				failed[e.DIndex] = *e.FieldName
			}
			if st.IsSuccess || !reflect.DeepEqual(ok, []int{0}) || !reflect.DeepEqual(failed, map[int]string{1: "FBillNo", 2: b.entity, 3: "FBillNo"}) {
				t.Fatalf("batch: ok %v failed %v", ok, failed)
			}
			// Other bill forms have their own numbers.
			other := billSpecs()[(indexOf(b.form)+1)%4]
			if st := f.save(t, other.form, other.model("D001", threeRows()...), nil); !st.IsSuccess {
				t.Fatalf("same number on %s: %+v", other.form, st)
			}
		})
	}
}

func indexOf(form string) int {
	for i, b := range billSpecs() {
		if b.form == form {
			return i
		}
	}
	return -1
}

func TestBillStatusFlow(t *testing.T) {
	for _, b := range billSpecs() {
		t.Run(b.form, func(t *testing.T) {
			f := billFixture(t)
			op := func(method, no string) statusT {
				t.Helper()
				return decodeStatus(t, f.call(t, method, b.form, numbersData(no)))
			}
			status := func(no string) string {
				t.Helper()
				for _, d := range f.targetDocs(t, b.form) {
					if d.Number == no {
						return fmt.Sprint(d.Data["FDocumentStatus"])
					}
				}
				return "gone"
			}
			// Draft (暂存): no validation, status Z, refused by Submit.
			draft := b.model("S001")
			delete(draft, b.partner)
			if st := decodeStatus(t, f.call(t, "Draft", b.form, map[string]any{"Model": draft})); !st.IsSuccess || status("S001") != "Z" {
				t.Fatalf("draft: %+v %s", st, status("S001"))
			}
			if st := op("Submit", "S001"); st.MsgCode != 12 {
				t.Fatalf("submit draft: %+v", st)
			}
			// Saving the draft by its FID validates it and makes it created (A).
			full := b.model("S001", threeRows()...)
			full["FID"] = f.targetDocs(t, b.form)[0].Data["FID"]
			if st := f.save(t, b.form, full, nil); !st.IsSuccess || status("S001") != "A" {
				t.Fatalf("save draft: %+v %s", st, status("S001"))
			}
			steps := []struct {
				op, want string
				code     int
			}{
				{"Audit", "A", 12},   // created -> audited skips submit
				{"UnAudit", "A", 12}, // not audited
				{"Submit", "B", 0},
				{"Submit", "B", 12},
				{"Delete", "B", 12}, // submitted
				{"Audit", "C", 0},
				{"Submit", "C", 12},
				{"Delete", "C", 12}, // audited
				{"UnAudit", "D", 0},
				{"Submit", "B", 0}, // re-audit pending can be submitted again
				{"Audit", "C", 0},
				{"UnAudit", "D", 0},
				{"Delete", "gone", 0},
				{"Submit", "gone", 10},
			}
			for i, s := range steps {
				st := op(s.op, "S001")
				if s.code == 0 != st.IsSuccess || st.MsgCode != s.code || status("S001") != s.want {
					t.Fatalf("step %d %s: want %d/%s, got %+v/%s", i, s.op, s.code, s.want, st, status("S001"))
				}
			}
			// An audited bill cannot be saved over; the audit date is stamped.
			if st := f.save(t, b.form, b.model("S002", threeRows()...), map[string]any{"IsAutoSubmitAndAudit": true}); !st.IsSuccess || status("S002") != "C" {
				t.Fatalf("auto audit: %+v", st)
			}
			doc := f.targetDocs(t, b.form)[0]
			if doc.Data["FApproveDate"] == nil {
				t.Fatalf("no audit date: %v", doc.Data)
			}
			upd := map[string]any{"FID": doc.Data["FID"], "FNote": "x"}
			if st := f.save(t, b.form, upd, nil); st.MsgCode != 12 {
				t.Fatalf("update audited: %+v", st)
			}
		})
	}
}

func TestBillQueryBack(t *testing.T) {
	for _, b := range billSpecs() {
		t.Run(b.form, func(t *testing.T) {
			f := billFixture(t)
			if st := f.save(t, b.form, b.model("Q001", threeRows()...), nil); !st.IsSuccess {
				t.Fatalf("%+v", st)
			}
			if st := f.save(t, b.form, b.model("Q002", [3]any{"SKU00004", "CK003", 9}), nil); !st.IsSuccess {
				t.Fatalf("%+v", st)
			}
			s := f.signer()
			query := func(keys, filter string) string {
				t.Helper()
				r := f.do(t, formPath("ExecuteBillQuery"), map[string]any{"data": map[string]any{"FormId": b.form, "FieldKeys": keys, "FilterString": filter, "OrderString": "FBillNo"}}, auth{sign: &s})
				got, _ := json.Marshal(queryRows(t, r))
				return string(got)
			}
			keys := fmt.Sprintf("FBillNo,FDocumentStatus,%s.FNumber,%s_FSeq,%s.FNumber,%s,%s.FNumber", b.partner, b.entity, b.material, b.qty, b.stock)
			want := `[["Q001","A","` + b.partnerNo + `",1,"SKU00001",2,"CK001"],["Q001","A","` + b.partnerNo + `",2,"SKU00002",3.5,"CK002"],["Q001","A","` + b.partnerNo + `",3,"SKU00003",1,"CK001"]]`
			if got := query(keys, "FBillNo='Q001'"); got != want {
				t.Fatalf("got %s\nwant %s", got, want)
			}
			if got := query("FBillNo", fmt.Sprintf("%s.FNumber='CK003' AND %s >= 5", b.stock, b.qty)); got != `[["Q002"]]` {
				t.Fatalf("entry filter: %s", got)
			}
			if got := query("FBillNo,FBillTypeID.FNumber,FBillTypeID.FName", "FBillNo='Q002'"); !strings.HasPrefix(got, `[["Q002","`+b.header["FBillTypeID"].(map[string]any)["FNUMBER"].(string)+`","标准`) {
				t.Fatalf("bill type: %s", got)
			}
			if b.form == "SAL_OUTSTOCK" {
				// The prefix of the public field list of SAL_OUTSTOCK.
				if got := query("FBillNo,FSAL_OUTSTOCKENTRY_FMaterialID.FNumber,FSAL_OUTSTOCKENTRY_FRealQty", "FBillNo='Q002'"); got != `[["Q002","SKU00004",9]]` {
					t.Fatalf("alias: %s", got)
				}
			}
			// View renders the entry rows under the entity name without F.
			r := f.call(t, "View", b.form, map[string]any{"Number": "Q001"})
			var v struct {
				Result struct{ Result map[string]any }
			}
			if err := json.Unmarshal(r.body, &v); err != nil {
				t.Fatal(err)
			}
			rows, _ := v.Result.Result[b.entity[1:]].([]any)
			if len(rows) != 3 || v.Result.Result["DocumentStatus"] != "A" || v.Result.Result["BillNo"] != "Q001" {
				t.Fatalf("view: %s", r.body)
			}
			mat := rows[0].(map[string]any)[b.material[1:]].(map[string]any)
			if mat["Number"] != "SKU00001" {
				t.Fatalf("view material: %v", mat)
			}
		})
	}
}

func TestBillTypeOfAnotherForm(t *testing.T) {
	f := billFixture(t)
	specs := billSpecs()
	for i, b := range specs {
		other := specs[(i+1)%len(specs)].header["FBillTypeID"].(map[string]any)["FNUMBER"].(string)
		m := b.model("T001", threeRows()...)
		m["FBillTypeID"] = map[string]any{"FNumber": other}
		want := "FBillTypeID|单据类型“" + other + "”不属于业务对象“" + b.form + "”。"
		if got := firstError(t, f.save(t, b.form, m, nil)); got != want {
			t.Fatalf("%s: got %s want %s", b.form, got, want)
		}
	}
	// STK_MISCELLANEOUS keeps its own type.
	m := bill("T002", "100", "", line("SKU00001", "CK001", 1))
	m["FBillTypeID"] = map[string]any{"FNumber": "RKD01_SYS"}
	if got := firstError(t, f.save(t, "STK_MISCELLANEOUS", m, nil)); !strings.HasPrefix(got, "FBillTypeID|") {
		t.Fatalf("misc: %s", got)
	}
}

// TestBillUpdateEntries: an update by FID matches entry rows by FEntryID in
// the form's own entity (FInStockEntry here), NeedUpDateFields limiting the
// change, and IsDeleteEntry false keeping the rows not sent.
func TestBillUpdateEntries(t *testing.T) {
	f := billFixture(t)
	b := billSpecs()[2] // STK_InStock
	if st := f.save(t, b.form, b.model("U001", threeRows()...), nil); !st.IsSuccess {
		t.Fatalf("%+v", st)
	}
	doc := f.targetDocs(t, b.form)[0]
	rows := doc.Data["FInStockEntry"].([]any)
	second := rows[1].(map[string]any)["FEntryID"]
	upd := map[string]any{"FID": doc.Data["FID"], "FNote": "改", "FInStockEntry": []any{
		map[string]any{"FEntryID": second, "FRealQty": 8, "FStockId": map[string]any{"FNumber": "CK004"}}}}
	st := f.save(t, b.form, upd, map[string]any{"NeedUpDateFields": []string{"FRealQty"}, "IsDeleteEntry": false})
	if !st.IsSuccess {
		t.Fatalf("update: %+v", st)
	}
	doc = f.targetDocs(t, b.form)[0]
	rows = doc.Data["FInStockEntry"].([]any)
	var qty, stock []string
	for _, r := range rows {
		qty = append(qty, fmt.Sprint(r.(map[string]any)["FRealQty"]))
		stock = append(stock, fmt.Sprint(r.(map[string]any)["FStockId"]))
	}
	if doc.Writes != 2 || doc.Data["FNote"] != nil || len(rows) != 3 || fmt.Sprint(qty) != "[8 2 1]" || stock[0] != "map[FNumber:CK002]" {
		t.Fatalf("after update: writes %d note %v qty %v stock %v", doc.Writes, doc.Data["FNote"], qty, stock)
	}
}
