package k3cloud

import (
	"fmt"
	"sort"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// formDef describes one business object (form) of the simulated account.
type formDef struct {
	id         string // canonical FormId
	idKey      string // internal id field: FID, FCUSTID, ...
	numberKey  string // FBillNo or FNumber
	nameKey    string // FName ("" for bills)
	useOrgKey  string // per-use-org uniqueness (base data); "" means globally unique
	entity     string // entry entity key ("FEntity") or ""
	entryIDKey string // entry internal id key
	writable   bool   // Save/BatchSave/Submit/Audit allowed
	autoPrefix string // auto-numbering prefix when the number is omitted
	autoWidth  int
	header     []string          // known header fields, canonical spelling
	entry      []string          // known entry fields
	refs       map[string]string // upper(field) -> referenced FormId (header and entry)
	labels     map[string]string // field -> Chinese label for messages
	// bills only (bills.go)
	bill        *billRules
	approveKey  string // audit date field, set by Audit: FAPPROVEDATE, FApproveDate
	entityAlias string // another query prefix of the entry entity ("FSAL_OUTSTOCKENTRY")
}

// Forms of the simulated account. Writable ones are the targets; the others
// hold seeded base data that references resolve against.
const (
	formCustomer  = "BD_Customer"
	formMaterial  = "BD_MATERIAL"
	formMisc      = "STK_MISCELLANEOUS"
	formSalOut    = "SAL_OUTSTOCK"
	formSalReturn = "SAL_RETURNSTOCK"
	formPurIn     = "STK_InStock"
	formMisDel    = "STK_MisDelivery"
	formStock     = "BD_STOCK"
	formSupplier  = "BD_Supplier"
	formDept      = "BD_Department"
	formOrg       = "ORG_Organizations"
	formUnit      = "BD_UNIT"
	formCurrency  = "BD_Currency"
	formBillType  = "BOS_BillType"
	formStkStatus = "BD_StockStatus"
	formAssist    = "BOS_ASSISTANTDATA_DETAIL"
)

// baseHeader are the fields every base-data form has.
var baseHeader = []string{"FNumber", "FName", "FCreateOrgId", "FUseOrgId", "FDocumentStatus", "FForbidStatus", "FCreateDate", "FModifyDate", "FDescription"}

func formDefs() []*formDef {
	orgRefs := map[string]string{"FCREATEORGID": formOrg, "FUSEORGID": formOrg}
	master := func(id, idKey string, extra ...string) *formDef {
		return &formDef{id: id, idKey: idKey, numberKey: "FNumber", nameKey: "FName",
			header: append(append([]string{idKey}, baseHeader...), extra...), refs: orgRefs,
			labels: map[string]string{"FNumber": "编码", "FName": "名称", "FCreateOrgId": "创建组织", "FUseOrgId": "使用组织"}}
	}
	cust := master(formCustomer, "FCUSTID", "FShortName", "FCOUNTRY", "FCustTypeId", "FTRADINGCURRID", "FSETTLETYPEID", "FGroup", "FSALDEPTID", "FSELLER", "FTEL", "FADDRESS", "FINVOICETITLE", "FTAXREGISTERCODE")
	cust.useOrgKey, cust.writable, cust.autoPrefix, cust.autoWidth = "FUseOrgId", true, "CUST", 4
	cust.refs = map[string]string{"FCREATEORGID": formOrg, "FUSEORGID": formOrg, "FCUSTTYPEID": formAssist, "FTRADINGCURRID": formCurrency, "FSALDEPTID": formDept}
	cust.labels["FCustTypeId"], cust.labels["FTRADINGCURRID"], cust.labels["FSALDEPTID"] = "客户类别", "结算币别", "销售部门"

	mat := master(formMaterial, "FMATERIALID", "FSpecification", "FBaseUnitId", "FMaterialGroup", "FErpClsID")
	mat.useOrgKey, mat.writable, mat.autoPrefix, mat.autoWidth = "FUseOrgId", true, "WL", 6
	mat.refs = map[string]string{"FCREATEORGID": formOrg, "FUSEORGID": formOrg, "FBASEUNITID": formUnit}
	mat.labels["FBaseUnitId"] = "基本单位"

	return append(billDefs(), cust, mat,
		master(formStock, "FStockId", "FStockProperty"),
		master(formSupplier, "FSupplierId", "FShortName"),
		master(formDept, "FDEPTID"),
		master(formOrg, "FOrgID"),
		master(formUnit, "FUNITID"),
		master(formCurrency, "FCURRENCYID"),
		master(formBillType, "FBILLTYPEID", "FBillFormID"),
		master(formStkStatus, "FStockStatusId"),
		master(formAssist, "FEntryID", "FId"),
	)
}

// record is one stored document.
type record struct {
	id     int64
	number string
	org    string // use-org number for per-org unique forms
	status string // FDocumentStatus A/B/C/D
	data   map[string]any
	writes int // successful saves (inserts and updates)
}

// store is the content of one form. The Sim's mutex guards it.
type store struct {
	def    *formDef
	fields map[string]string // upper(name) -> canonical header field (schema + seen)
	efield map[string]string // same for entry fields
	byID   map[int64]*record
	byNo   map[string][]*record // fold(number) -> records (several orgs)
	order  []*record            // ascending internal id
	seq    int                  // auto-numbering counter
}

func newStore(def *formDef) *store {
	st := &store{def: def, fields: map[string]string{}, efield: map[string]string{},
		byID: map[int64]*record{}, byNo: map[string][]*record{}}
	for _, f := range def.header {
		st.fields[strings.ToUpper(f)] = f
	}
	for _, f := range def.entry {
		st.efield[strings.ToUpper(f)] = f
	}
	return st
}

// fold is the collation of numbers in uniqueness checks and filters.
func fold(s string) string {
	if caseInsensitiveNumbers {
		return strings.ToUpper(s)
	}
	return s
}

// find returns the record with number no in use-org org ("" = any org).
func (st *store) find(no, org string) *record {
	for _, r := range st.byNo[fold(no)] {
		if org == "" || st.def.useOrgKey == "" || fold(r.org) == fold(org) {
			return r
		}
	}
	return nil
}

func (st *store) add(r *record) {
	st.byID[r.id] = r
	st.byNo[fold(r.number)] = append(st.byNo[fold(r.number)], r)
	st.order = append(st.order, r) // ids only grow, so order stays sorted
}

// remove deletes r from the form.
func (st *store) remove(r *record) {
	delete(st.byID, r.id)
	list := st.byNo[fold(r.number)]
	for i, x := range list {
		if x == r {
			st.byNo[fold(r.number)] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(st.byNo[fold(r.number)]) == 0 {
		delete(st.byNo, fold(r.number))
	}
	for i, x := range st.order {
		if x == r {
			st.order = append(st.order[:i:i], st.order[i+1:]...)
			break
		}
	}
}

// renumber moves r to a new number in the number index.
func (st *store) renumber(r *record, no string) {
	old := st.byNo[fold(r.number)]
	for i, x := range old {
		if x == r {
			st.byNo[fold(r.number)] = append(old[:i:i], old[i+1:]...)
			break
		}
	}
	r.number = no
	st.byNo[fold(no)] = append(st.byNo[fold(no)], r)
}

// canon returns the canonical spelling of a header field, registering an
// unknown one as seen (custom fields such as F_PAEZ_Text are kept).
func (st *store) canon(key string, entry bool) string {
	m := st.fields
	if entry {
		m = st.efield
	}
	u := strings.ToUpper(key)
	if c, ok := m[u]; ok {
		return c
	}
	m[u] = key
	return key
}

// key is the canonical spelling of a field the form declares (header or
// entry), or name itself.
func (st *store) key(name string, entry bool) string {
	if c, ok := st.known(name, entry); ok {
		return c
	}
	return name
}

// known reports whether a field (header or entry) exists on the form.
func (st *store) known(key string, entry bool) (string, bool) {
	m := st.fields
	if entry {
		m = st.efield
	}
	c, ok := m[strings.ToUpper(key)]
	return c, ok
}

// nextNumber hands out an unused automatic number.
func (st *store) nextNumber(org string) string {
	for {
		st.seq++
		no := fmt.Sprintf("%s%0*d", st.def.autoPrefix, st.def.autoWidth, st.seq)
		if st.find(no, org) == nil {
			return no
		}
	}
}

// seed fills the base-data forms from the shared master data, all audited,
// with zero writes.
func (s *Sim) seed() {
	put := func(form, no, name string, extra map[string]any) {
		st := s.forms[strings.ToLower(form)]
		data := map[string]any{"FNumber": no, "FName": name}
		if form != formOrg {
			data["FCreateOrgId"] = map[string]any{"FNumber": core.Orgs[0].Number}
			data["FUseOrgId"] = map[string]any{"FNumber": core.Orgs[0].Number}
		}
		for k, v := range extra {
			data[k] = v
		}
		s.nextID++
		r := &record{id: s.nextID, number: no, org: core.Orgs[0].Number, status: "C", data: data}
		data[st.def.idKey] = r.id
		st.add(r)
	}
	for _, o := range core.Orgs {
		put(formOrg, o.Number, o.Name, nil)
	}
	for _, x := range core.Stocks {
		put(formStock, x.Number, x.Name, nil)
	}
	for _, x := range core.Suppliers {
		put(formSupplier, x.Number, x.Name, nil)
	}
	for _, x := range core.Depts {
		put(formDept, x.Number, x.Name, nil)
	}
	units := map[string]string{}
	cat := core.Catalog(s.env.Seed)
	for _, k := range cat {
		if _, ok := units[k.UnitN]; !ok {
			units[k.UnitN] = k.Unit
		}
	}
	unitNos := make([]string, 0, len(units))
	for n := range units {
		unitNos = append(unitNos, n)
	}
	sort.Strings(unitNos)
	for _, n := range unitNos {
		put(formUnit, n, units[n], nil)
	}
	for _, c := range [][2]string{{"PRE001", "人民币"}, {"PRE002", "香港元"}, {"PRE003", "欧元"}, {"PRE007", "美元"}} {
		put(formCurrency, c[0], c[1], nil)
	}
	for _, b := range billTypes {
		put(formBillType, b[0], b[1], map[string]any{"FBillFormID": b[2]})
	}
	put(formStkStatus, "KCZT01_SYS", "可用", nil)
	for _, c := range [][2]string{{"KHLB001_SYS", "普通销售客户"}, {"KHLB002_SYS", "寄售客户"}, {"KHLB003_SYS", "内部结算客户"}} {
		put(formAssist, c[0], c[1], map[string]any{"FId": "CustomerType"})
	}
	// 退货类型 of SAL_RETURNSTOCK entries: THLX01_SYS is what every public
	// sample sends (RETCS, PHPTEST) [C usage]; its name and the second type
	// are [I].
	for _, c := range [][2]string{{"THLX01_SYS", "退货"}, {"THLX02_SYS", "补货"}} {
		put(formAssist, c[0], c[1], map[string]any{"FId": "ReturnType"})
	}
	for _, k := range cat {
		put(formMaterial, k.ID, k.Name, map[string]any{"FBaseUnitId": map[string]any{"FNumber": k.UnitN}, "FSpecification": k.Style})
	}
}
