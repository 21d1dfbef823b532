package kis

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// bill is one stored 其他入库单.
type bill struct {
	fid      int64
	number   string
	tranType int
	head     map[string]any
	entry    []any
	writes   int
}

// Field types of the WarehousePayload (kis.md 5.1). String fields also
// accept JSON numbers and number fields numeric strings [I]: KISTS types
// ids as strings while KIS stores numbers, and clients written from either
// view should both land. Fields typed "string / number" are not checked.
var (
	headStrings = []string{"Fdate", "FBillNo", "FDCStockID", "FSCStockID", "FDCSPID", "FDeptID", "FSupplyID",
		"FBillerID", "FManagerID", "FEmpID", "FFManagerID", "FSManagerID", "Fnote", "FSettleDate", "Fuse",
		"FPOStyle", "FMarketingStyle", "FSaleStyle", "FWLCompany"}
	headNumbers   = []string{"FTranType", "FPurposeID", "FROB"}
	entryStrings  = []string{"FItemID", "FUnitID", "FDCStockID", "FDCSPID", "FSCStockID", "FBatchNo", "FKFDate", "FMTONo", "FSourceBillNo", "FOrderBillNo", "FICMOBillNo", "Fnote"}
	entryNumbers  = []string{"FQty", "Fauxqty", "FAuxQtyMust", "FQtyMust", "FPlanMode", "FAuxPrice", "Famount", "FAuxPropID", "FSecQty", "FSecCoefficient", "FReProduceType"}
	entryRequired = []string{"FQty", "Fauxqty", "FAuxQtyMust", "FPlanMode"}
)

func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

func asNumber(v any) (float64, bool) {
	var f float64
	var err error
	switch x := v.(type) {
	case json.Number:
		f, err = x.Float64()
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
	default:
		return 0, false
	}
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// checkTypes validates the documented field types of one object; where
// names the object in the message ("单据头", "第2行分录").
func checkTypes(m map[string]any, where string, strs, nums []string) *apiError {
	for _, k := range strs {
		if v, ok := m[k]; ok && v != nil {
			if _, ok := asString(v); !ok {
				return fail(codeFieldType, fmt.Sprintf("%s字段%s类型错误，应为字符串", where, k))
			}
		}
	}
	for _, k := range nums {
		if v, ok := m[k]; ok && v != nil {
			if _, ok := asNumber(v); !ok {
				return fail(codeFieldType, fmt.Sprintf("%s字段%s类型错误，应为数字", where, k))
			}
		}
	}
	return nil
}

// present returns a non-empty field value as a string.
func present(m map[string]any, k string) (string, bool) {
	s, ok := asString(m[k])
	return s, ok && s != ""
}

// masterIndex finds a master-data value by number, name or 1-based internal
// id [I] (which of them KIS accepts is unknown, kis.md 7.4).
func masterIndex[T any](xs []T, key string, number, name func(T) string) bool {
	for i, x := range xs {
		if key == number(x) || key == name(x) || key == strconv.Itoa(i+1) {
			return true
		}
	}
	return false
}

func stockExists(k string) bool {
	return masterIndex(core.Stocks, k, func(s core.Stock) string { return s.Number }, func(s core.Stock) string { return s.Name })
}

func deptExists(k string) bool {
	return masterIndex(core.Depts, k, func(d core.Dept) string { return d.Number }, func(d core.Dept) string { return d.Name })
}

func supplierExists(k string) bool {
	return masterIndex(core.Suppliers, k, func(s core.Supplier) string { return s.Number }, func(s core.Supplier) string { return s.Name })
}

// parsedBill is a validated create request.
type parsedBill struct {
	number   string // "" when the client sent none
	tranType int
	head     map[string]any
	entry    []any
}

// validate checks the body of miscellaneousreceipt/create (kis.md 5.1):
// required fields, types, and references to the master data.
func (s *Sim) validate(body map[string]any) (parsedBill, *apiError) {
	var p parsedBill
	obj, ok := body["Object"].(map[string]any)
	if !ok {
		return p, fail(codeRequired, "缺少参数Object")
	}
	head, ok := obj["Head"].(map[string]any)
	if !ok {
		return p, fail(codeRequired, "缺少单据头Head")
	}
	entry, ok := obj["Entry"].([]any)
	if !ok || len(entry) == 0 {
		return p, fail(codeRequired, "单据体Entry不能为空")
	}
	if e := checkTypes(head, "单据头", headStrings, headNumbers); e != nil {
		return p, e
	}

	fdate, ok := present(head, "Fdate")
	if !ok {
		return p, fail(codeRequired, "单据头字段Fdate(日期)不能为空")
	}
	if !parsesAsDate(fdate) {
		return p, fail(codeFieldType, "单据头字段Fdate(日期)格式错误："+fdate+"，应为yyyy-MM-ddTHH:mm:ss")
	}
	if v, ok := head["FTranType"]; !ok || v == nil {
		return p, fail(codeRequired, "单据头字段FTranType(单据类型)不能为空")
	}
	tt, _ := asNumber(head["FTranType"])
	if tt != miscReceiptTranType {
		return p, fail(codeFieldType, fmt.Sprintf("单据类型FTranType[%v]与其他入库单(%d)不符", head["FTranType"], miscReceiptTranType))
	}
	p.tranType = int(tt)
	if v, ok := head["FROB"]; ok && v != nil {
		if rob, _ := asNumber(v); rob != 1 && rob != -1 {
			return p, fail(codeFieldType, fmt.Sprintf("红蓝字标志FROB[%v]无效，应为1(蓝字)或-1(红字)", v))
		}
	}
	p.number, _ = present(head, "FBillNo")
	headStock, _ := present(head, "FDCStockID")
	for _, k := range []string{"FDCStockID", "FSCStockID"} {
		if v, ok := present(head, k); ok && !stockExists(v) {
			return p, fail(codeStock, fmt.Sprintf("单据头仓库%s[%s]不存在", k, v))
		}
	}
	if v, ok := present(head, "FDeptID"); ok && !deptExists(v) {
		return p, fail(codeMaster, fmt.Sprintf("单据头部门FDeptID[%s]不存在", v))
	}
	if v, ok := present(head, "FSupplyID"); ok && !supplierExists(v) {
		return p, fail(codeMaster, fmt.Sprintf("单据头供应商FSupplyID[%s]不存在", v))
	}

	for i, raw := range entry {
		line := i + 1
		where := fmt.Sprintf("第%d行分录", line)
		m, ok := raw.(map[string]any)
		if !ok {
			return p, fail(codeFieldType, where+"格式错误，应为对象")
		}
		if e := checkTypes(m, where, entryStrings, entryNumbers); e != nil {
			return p, e
		}
		for _, k := range entryRequired {
			if v, ok := m[k]; !ok || v == nil {
				return p, fail(codeRequired, fmt.Sprintf("%s字段%s不能为空", where, k))
			}
		}
		if q, _ := asNumber(m["FQty"]); q == 0 {
			return p, fail(codeFieldType, where+"数量FQty不能为0")
		}
		item, ok := present(m, "FItemID")
		if !ok {
			return p, fail(codeRequired, where+"物料FItemID不能为空")
		}
		sku, ok := s.catalog[item]
		if !ok {
			return p, fail(codeMaterial, fmt.Sprintf("%s物料FItemID[%s]不存在", where, item))
		}
		if u, ok := present(m, "FUnitID"); ok && !strings.EqualFold(u, sku.Unit) && !strings.EqualFold(u, sku.UnitN) {
			return p, fail(codeMaterial, fmt.Sprintf("%s计量单位FUnitID[%s]与物料[%s]的单位[%s]不符", where, u, sku.ID, sku.UnitN))
		}
		// A receipt has to land in a warehouse: the line's own or the head's [I].
		stock, ok := present(m, "FDCStockID")
		if !ok {
			stock = headStock
		}
		if stock == "" {
			return p, fail(codeRequired, where+"收货仓库FDCStockID不能为空")
		}
		if !stockExists(stock) {
			return p, fail(codeStock, fmt.Sprintf("%s收货仓库FDCStockID[%s]不存在", where, stock))
		}
		if v, ok := present(m, "FSCStockID"); ok && !stockExists(v) {
			return p, fail(codeStock, fmt.Sprintf("%s发货仓库FSCStockID[%s]不存在", where, v))
		}
	}
	p.head, p.entry = head, entry
	return p, nil
}

func parsesAsDate(v string) bool {
	for _, l := range fdateLayouts {
		if _, err := time.ParseInLocation(l, v, core.Shanghai); err == nil {
			return true
		}
	}
	return false
}

func billKey(tranType int, number string) string { return strconv.Itoa(tranType) + "|" + number }

// createMiscReceipt is POST /koas/app007104/api/miscellaneousreceipt/create.
func (s *Sim) createMiscReceipt(r *http.Request) (any, *apiError) {
	l, e := s.businessAuth(r)
	if e != nil {
		return nil, e
	}
	if s.env.Limits && s.limiter.Allow(l.clientID, s.env.Now()) >= 0 {
		return nil, fail(codeRateLimited, descRateLimited)
	}
	body, e := readBody(r)
	if e != nil {
		return nil, e
	}
	p, e := s.validate(body)
	if e != nil {
		return nil, e
	}
	s.env.RowDelay(r.Context(), 1)

	s.billMu.Lock()
	defer s.billMu.Unlock()
	if p.number != "" {
		if _, dup := s.bills[billKey(p.tranType, p.number)]; dup {
			return nil, fail(codeDuplicate, fmt.Sprintf("单据编号FBillNo[%s]已存在，单据编号重复", p.number))
		}
	}
	fid := s.nextFID
	number := p.number
	if number == "" {
		for n := fid; ; n++ {
			number = fmt.Sprintf(autoBillNoFormat, n)
			if _, taken := s.bills[billKey(p.tranType, number)]; !taken {
				break
			}
		}
	}
	if s.env.RowFails("kis:" + number) {
		item, _ := present(p.entry[0].(map[string]any), "FItemID")
		return nil, fail(codeRowFail, fmt.Sprintf("单据[%s]保存校验失败：第1行物料[%s]已禁用或库存状态异常，不允许入库", number, item))
	}
	s.nextFID++
	p.head["FBillNo"] = number
	b := &bill{fid: fid, number: number, tranType: p.tranType, head: p.head, entry: p.entry, writes: 1}
	s.bills[billKey(p.tranType, number)] = b
	s.order = append(s.order, b)
	return map[string]any{"FID": fid, "FBillNo": number}, nil
}

func (s *Sim) billCount() int {
	s.billMu.Lock()
	defer s.billMu.Unlock()
	return len(s.order)
}

// serveBills is GET /_sandbox/kis/bills: every stored bill in creation order.
func (s *Sim) serveBills(w http.ResponseWriter, _ *http.Request) {
	s.billMu.Lock()
	docs := make([]core.TargetDoc, 0, len(s.order))
	for _, b := range s.order {
		docs = append(docs, core.TargetDoc{
			Number: b.number,
			Writes: b.writes,
			Data: map[string]any{
				"FID":       b.fid,
				"FBillNo":   b.number,
				"FTranType": b.tranType,
				"Head":      b.head,
				"Entry":     b.entry,
			},
		})
	}
	s.billMu.Unlock()
	core.WriteJSON(w, http.StatusOK, map[string]any{"documents": docs})
}
