package xbb

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// The forms of the sandbox tenant (field keys: vendor.go). Products,
// customers and contracts have dataIds in separate ranges, so a dataId
// names its record type.
var (
	productForm = form{
		id: productFormID, name: "产品", iface: "product/list", dataset: DatasetProducts, first: firstDataID,
		fields: []formField{
			{keySerialNo, "产品编号", kindText, nil},
			{keyName, "产品名称", kindText, nil},
			{keySpec, "规格", kindText, nil},
			{keyUnit, "单位", kindText, unitOptions},
			{keyPrice, "单价", kindNum, nil},
			{keyCost, "成本", kindNum, nil},
			{keyParent, "父产品", kindNum, nil},
			{keyCreatorID, "创建人", kindText, nil},
			{keyAddTime, "创建时间", kindTime, nil},
			{keyUpdate, "更新时间", kindTime, nil},
		},
		fixed: map[string]any{keyParent: 0},
	}
	customerForm = form{
		id: CustomerFormID, name: "客户", iface: "customer/list", dataset: DatasetCustomers, first: firstCustomerID,
		needsID: true, sifted: true,
		fields: []formField{
			{keySerialNo, "客户编号", kindText, nil},
			{keyCustName, "客户名称", kindText, nil},
			{keyCustMobile, "联系电话", kindText, nil},
			{keyCustContact, "联系人", kindText, nil},
			{keyCustLevel, "客户等级", kindText, customerLevels},
			{keyCustAddress, "地址", kindText, nil},
			{keyCustRemark, "备注", kindText, nil},
			{keyOwnerID, "负责人", kindText, nil},
			{keyCreatorID, "创建人", kindText, nil},
			{keyAddTime, "创建时间", kindTime, nil},
			{keyUpdate, "更新时间", kindTime, nil},
		},
	}
	contractForm = form{
		id: ContractFormID, name: "合同订单", iface: "contract/list", dataset: DatasetContracts, first: firstContractID,
		fields: []formField{
			{keySerialNo, "合同编号", kindText, nil},
			{keyContName, "合同名称", kindText, nil},
			{keyContCustomer, "关联客户", kindLink, nil},
			{keyContStatus, "合同状态", kindText, contractStatuses},
			{keyContSigned, "签订日期", kindNum, nil},
			{keyContAmount, "合同金额", kindNum, nil},
			{keyContLines, "产品", kindSub, nil},
			{keyOwnerID, "负责人", kindText, nil},
			{keyCreatorID, "创建人", kindText, nil},
			{keyAddTime, "创建时间", kindTime, nil},
			{keyUpdate, "更新时间", kindTime, nil},
		},
	}
	forms = []*form{&productForm, &customerForm, &contractForm}
)

// First dataIds of customers and contracts (products: firstDataID).
const (
	firstCustomerID = 2_000_001
	firstContractID = 3_000_001
)

// Words of generated customers and contracts.
var (
	cities           = []string{"杭州", "上海", "苏州", "宁波", "广州", "深圳", "成都", "武汉", "南京", "厦门", "青岛", "合肥"}
	districts        = []string{"西湖区", "滨江区", "浦东新区", "工业园区", "鄞州区", "天河区", "南山区", "高新区", "江宁区", "思明区"}
	roads            = []string{"文三路", "科技大道", "人民路", "中山路", "解放路", "建设路", "创业路", "长江路"}
	brandWords       = []string{"恒信", "华瑞", "启明", "德润", "嘉禾", "博远", "中鼎", "万联", "盛泰", "鑫源", "云帆", "锦程", "同创", "宏图", "新业", "泰和"}
	industries       = []string{"贸易", "电子商务", "科技", "服饰", "食品", "家居用品", "供应链管理", "文化传媒"}
	companyKinds     = []string{"有限公司", "有限公司", "有限公司", "股份有限公司", "商贸行"}
	surnames         = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "朱", "马", "胡", "郭"}
	givenNames       = []string{"伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "建华", "晓东"}
	customerLevels   = []string{"重点客户", "普通客户", "潜在客户"}
	contractStatuses = []string{"执行中", "已完成", "已作废"}
	contractKinds    = []string{"年度采购合同", "产品采购合同", "框架合作协议", "补货订单合同", "渠道经销合同"}
)

// Shares of generated state ([I]: a plausible tenant).
const (
	customerDeletedShare = 0.06 // in the recycle bin (del=1)
	customerPublicShare  = 0.15 // in the public sea
)

// Sizes of the CRM records: a sandbox of env.Records products holds half
// as many customers and as many contracts, up to a tenant's plausible
// size, so a sandbox of a million documents (the memory benchmarks) does
// not spend its start and memory on them. [I]
const (
	maxCustomers = 20_000
	maxContracts = 50_000
)

func customerCount(records int) int { return min(max(1, records/2), maxCustomers) }

func contractCount(records int) int { return min(records, maxContracts) }

// newCustomerStore generates the customers: companies with a contact, a
// mobile number, an address, a level and an owner; some are in the recycle
// bin (deleted: their updateTime is the deletion), some in the public sea
// (no owner).
func newCustomerStore(env *core.Env, cfg Config) *store {
	n := customerCount(env.Records)
	r := core.NewRand(env.Seed, DatasetCustomers)
	times := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	who := append([]string{cfg.UserID}, creators...)

	cs := newStore(&customerForm, n)
	cs.del, cs.public = make([]bool, n), make([]bool, n)
	docs := make([]core.Doc, n)
	for i := range n {
		city := core.Pick(r, cities)
		name := city + core.Pick(r, brandWords) + core.Pick(r, industries) + core.Pick(r, companyKinds)
		mod := times[i]
		// Created up to 180 days before the last update.
		added := mod.Unix() - r.Int64N(180*24*3600)
		serial := fmt.Sprintf("KH%07d", i+1)
		body := map[string]any{
			keyAddTime:     added,
			keySerialNo:    serial,
			keyCustName:    name,
			keyCustMobile:  fmt.Sprintf("1%d%d%08d", 3+r.IntN(6), r.IntN(10), r.IntN(100_000_000)),
			keyCustContact: core.Pick(r, surnames) + core.Pick(r, givenNames),
			keyCustLevel:   core.Pick(r, customerLevels),
			keyCustAddress: fmt.Sprintf("%s市%s%s%d号", city, core.Pick(r, districts), core.Pick(r, roads), 1+r.IntN(999)),
			keyCreatorID:   core.Pick(r, who),
		}
		cs.public[i] = r.Float64() < customerPublicShare
		if !cs.public[i] {
			// [I] a public-sea customer has no owner.
			body[keyOwnerID] = core.Pick(r, who)
		}
		cs.del[i] = r.Float64() < customerDeletedShare
		docs[i] = core.Doc{ID: strconv.Itoa(firstCustomerID + i), Modified: mod, Body: body}
		cs.addTime[i], cs.serial[i] = added, serial
	}
	cs.seal(docs, mutateCustomer)
	return cs
}

// mutateCustomer records a follow-up in the remark, with the version, so a
// reader can tell which content it saw; the name and code stay.
func mutateCustomer(body map[string]any, version int) {
	body[keyCustRemark] = fmt.Sprintf("跟进更新 v%d", version)
}

// newContractStore generates the contracts: each links a customer of cs
// (created before the contract) and one to four products of ps, with
// quantities, unit prices and subtotals in fen precision; the amount is
// the sum of the subtotals. Some are cancelled (已作废), as a CRM keeps
// them.
func newContractStore(env *core.Env, cfg Config, cs, ps *store) *store {
	n := contractCount(env.Records)
	r := core.NewRand(env.Seed, DatasetContracts)
	times := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	who := append([]string{cfg.UserID}, creators...)
	// Contracts sell the shared catalog's products (those a Kingdee
	// material matches), as far as the product dataset holds them.
	sold := min(len(ps.mod), core.CatalogSize)

	ks := newStore(&contractForm, n)
	docs := make([]core.Doc, n)
	for i := range n {
		mod := times[i]
		ci := pickCustomer(r, cs, mod.Unix())
		cust, _ := cs.ds.Get(strconv.FormatInt(cs.dataID(ci), 10))
		custName, _ := cust.Body[keyCustName].(string)
		// Created up to 30 days before the last update, never before
		// the customer (created by mod).
		added := min(max(mod.Unix()-r.Int64N(30*24*3600), cs.addTime[ci]), mod.Unix())
		day := time.Unix(added, 0).In(core.Shanghai)
		signed := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, core.Shanghai).Unix()
		lines, fen := contractLines(r, ps, sold)
		serial := fmt.Sprintf("HT%s%05d", day.Format("20060102"), i+1)
		body := map[string]any{
			keyAddTime:      added,
			keySerialNo:     serial,
			keyContName:     custName + core.Pick(r, contractKinds),
			keyContCustomer: []link{{ID: cs.dataID(ci), Name: custName}},
			keyContStatus:   pickStatus(r),
			keyContSigned:   signed,
			keyContAmount:   yuan(fen),
			keyContLines:    lines,
			keyOwnerID:      core.Pick(r, who),
			keyCreatorID:    core.Pick(r, who),
		}
		docs[i] = core.Doc{ID: strconv.Itoa(firstContractID + i), Modified: mod, Body: body}
		ks.addTime[i], ks.serial[i] = added, serial
	}
	ks.seal(docs, mutateContract)
	return ks
}

// pickCustomer picks a customer created by at, so a contract never
// precedes its customer: a random one, else the oldest.
func pickCustomer(r *rand.Rand, cs *store, at int64) int32 {
	for range 64 {
		if ci := int32(r.IntN(len(cs.mod))); cs.addTime[ci] <= at {
			return ci
		}
	}
	oldest := int32(0)
	for i, t := range cs.addTime {
		if t < cs.addTime[oldest] {
			oldest = int32(i)
		}
	}
	return oldest
}

// contractLines are one to four product lines of distinct products among
// the first sold of ps, and their total in fen.
func contractLines(r *rand.Rand, ps *store, sold int) ([]map[string]any, int64) {
	k := min(1+r.IntN(4), sold)
	picked := map[int32]bool{}
	var lines []map[string]any
	var total int64
	for len(lines) < k {
		pos := int32(r.IntN(sold))
		if picked[pos] {
			continue
		}
		picked[pos] = true
		p, _ := ps.ds.Get(strconv.FormatInt(ps.dataID(pos), 10))
		price, _ := p.Body[keyPrice].(float64)
		// A negotiated price: 85 % to 100 % of the list price, in fen.
		unitFen := max(1, int64(price*100*(0.85+0.15*r.Float64())))
		qty := int64(1 + r.IntN(200))
		sub := unitFen * qty
		total += sub
		lines = append(lines, map[string]any{
			keyLineProduct:  ps.dataID(pos),
			keyLineName:     p.Body[keyName],
			keyLineSerial:   p.Body[keySerialNo],
			keyLineUnit:     p.Body[keyUnit],
			keyLineQty:      qty,
			keyLinePrice:    yuan(unitFen),
			keyLineSubtotal: yuan(sub),
		})
	}
	return lines, total
}

// yuan is an amount in fen as the form's number (yuan, two decimals).
func yuan(fen int64) float64 { return float64(fen) / 100 }

// pickStatus: about 70 % in progress, 22 % completed, 8 % cancelled.
func pickStatus(r *rand.Rand) string {
	switch x := r.Float64(); {
	case x < 0.70:
		return contractStatuses[0]
	case x < 0.92:
		return contractStatuses[1]
	}
	return contractStatuses[2]
}

// mutateContract marks the contract name with the version (an edited
// contract), like products; the code and the lines stay.
func mutateContract(body map[string]any, version int) {
	name, _ := body[keyContName].(string)
	body[keyContName] = versionSuffix.ReplaceAllString(name, "") + fmt.Sprintf(" v%d", version)
}
