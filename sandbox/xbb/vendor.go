package xbb

import (
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// This file is the one place that holds what the contract
// (/work/shared/docs/vendors/xbb.md) marks [I]: values no source confirms.
// Correct them here when a real answer is seen; nothing else in the package
// repeats these numbers or texts.

// Answer codes. Only codeOK is confirmed ([C] clients test code == 1); no
// source shows a numeric error code, so the failure codes below are [I]
// placeholders. Clients are told to classify failures by message text, which
// is why every message carries the documented keywords (签名, 请求频率, ...).
const (
	codeOK          = 1      // [C] success
	codeParamError  = 100002 // [I] malformed body, bad page / pageSize / conditions
	codeSignError   = 100010 // [I] missing or wrong sign header
	codeCorpError   = 100020 // [I] corpid missing or unknown
	codeUserError   = 100021 // [I] userId given but unknown in the company
	codeFormError   = 100030 // [I] formId missing where required, or unknown
	codeRateLimited = 100050 // [I] more than rateLimitN calls per second for a corpid
	codeNoSuchAPI   = 100404 // [I] path under /pro/v2/api/ that the sandbox does not know
	codeBadMethod   = 100405 // [I] anything but POST
)

// Messages, in the vendor's language. Only msgOK is [C]; msgRateLimited is
// the wording the contract gives as [I] (section 5.3) and that XBBEXE matches
// on ("20次/秒", "请求频率").
const (
	msgOK          = "操作成功"
	msgSignMissing = "签名(sign)不能为空"
	msgSignError   = "签名(sign)校验失败，请检查token及请求体"
	msgRateLimited = "请求频率超过20次/秒"
	msgBadJSON     = "参数格式错误，请求体必须是JSON对象"
	msgCorpMissing = "corpid不能为空"
	msgCorpUnknown = "公司不存在或corpid错误"
	msgUserUnknown = "用户不存在"
	msgFormMissing = "formId不能为空"
	msgFormUnknown = "表单不存在"
	msgNoSuchAPI   = "接口不存在"
	msgBadMethod   = "请求方式错误，仅支持POST"
)

// Paging and rate limits: all [I] (section 6: "maximum not documented",
// rate "inferred from the rate-limit message text").
const (
	defaultPageSize = 20  // [I] when pageSize is absent or 0
	maxPageSize     = 100 // [I] every client uses 100; larger sizes are refused
)

// rateRule is the per-corpid limit enforced when Env.Limits is on: the
// message says 20 calls per second, modelled as core.Limiter's token bucket.
// Calls are counted once the sign and corpid checks passed (the limit is per
// company, so the server must know the company first), over all interfaces. [I]
var rateRule = core.Rule{N: 20, Per: time.Second} // [I]

// Form ids of the sandbox tenant. productFormID is the one in the request
// example of the API notes (xbb.md section 5.1), ContractFormID the id of
// the form XBBEXE's tenant reads with contract/list ("performance":
// 5614255); CustomerFormID is a sandbox choice. [I] that a tenant has
// exactly one form of each kind; real ids are tenant specific (form/list).
const (
	productFormID  = 5614247
	CustomerFormID = 5614249 // exported: clients must send it (customer/list needs formId [C])
	ContractFormID = 5614255
)

// Generic field keys of the product form. text_1 (name), serialNo (code),
// num_1 (sale price), num_3 (parent product id) and creatorId are [C]
// (XBBCLI makeSuccessRows, XBBEXE buildSchema); the others are [I] choices of
// this sandbox tenant, discoverable through /form/get as on a real tenant.
const (
	keySerialNo  = "serialNo"  // [C] product code, always under data
	keyName      = "text_1"    // [C] product name
	keySpec      = "text_2"    // [I] specification (规格), optional
	keyUnit      = "text_3"    // [I] unit, an option field; data holds the option text
	keyPrice     = "num_1"     // [C] sale price
	keyCost      = "num_2"     // [I] cost price, optional
	keyParent    = "num_3"     // [C] parent product id; 0 for every sandbox product
	keyCreatorID = "creatorId" // [C]
	keyAddTime   = "addTime"   // [C] top level of a list item, Unix seconds
	keyUpdate    = "updateTime"
)

// Generic field keys of the customer form. text_1 (name), text_2 (mobile)
// and text_16 (owner) are [C] XBBCLI customerlist (name: data.text_1,
// mobile: data.text_2, ownerId: data.text_16); serialNo as the customer
// code and the other keys are [I] choices of this sandbox tenant.
const (
	keyCustName    = "text_1"  // [C] 客户名称
	keyCustMobile  = "text_2"  // [C] 联系电话 (XBBCLI calls it mobile)
	keyCustContact = "text_3"  // [I] 联系人
	keyCustLevel   = "text_4"  // [I] 客户等级, an option field
	keyCustAddress = "text_5"  // [I] 地址
	keyCustRemark  = "text_6"  // [I] 备注, optional; the mutate fault writes it
	keyOwnerID     = "text_16" // [C] 负责人 (an owner's userId)
)

// Generic field keys of the contract form. date_1 (the date contract/list
// windows filter on), num_1 and the subform array_4 with text_1 (linked
// product), num_3 and num_5 are [C] XBBEXE (conditions on date_1 with
// contract/list; allow lists performance: date_1, num_1, array_4 and
// array_4: text_1, num_3, num_5); their meanings here (sign date, amount,
// product, quantity, unit price) and every other key are [I]. text_2 is the
// linked customer [I] (XBBEXE's tenant links contracts through text_28).
const (
	keyContName     = "text_1"  // [I] 合同名称
	keyContCustomer = "text_2"  // [I] 关联客户: [{"id": customer dataId, "name": ...}]
	keyContStatus   = "text_3"  // [I] 合同状态, an option field
	keyContSigned   = "date_1"  // [C key] 签订日期, Unix seconds (midnight, China time)
	keyContAmount   = "num_1"   // [C key] 合同金额 = the lines' subtotals, yuan with fen precision
	keyContLines    = "array_4" // [C key] 产品 subform
	keyLineProduct  = "text_1"  // [C key] 产品: the product's dataId
	keyLineName     = "text_2"  // [I] 产品名称
	keyLineSerial   = "text_3"  // [I] 产品编号 (the product's serialNo)
	keyLineUnit     = "text_4"  // [I] 单位
	keyLineQty      = "num_3"   // [C key] 数量
	keyLinePrice    = "num_5"   // [C key] 单价
	keyLineSubtotal = "num_6"   // [I] 小计 = 数量 × 单价, rounded to the fen
)

// Condition operators the sandbox understands. Only these three are
// confirmed; like / in / noequal / range are plausible but unseen, so the
// sandbox refuses them rather than guess their semantics. [I]
const (
	symEqual        = "equal"
	symGreaterEqual = "greaterequal"
	symLessEqual    = "lessequal"
)

// Ordering of product/list: ascending updateTime, then ascending dataId
// (section 5.3). [I] that the real API sorts ascending. The answer faults
// (doc.go) can reorder it, and can make answers null, totals drift, pages
// overlap or come short: all [I] simulations of server surprises.

// otherListPaths are the list interfaces the contract names for recognition
// only (section 1). The sandbox tenant holds no such records: they answer an
// empty list after the usual checks. [I] that they do not require formId.
var otherListPaths = map[string]bool{
	"opportunity/list": true,
	"communicate/list": true,
	"user/list":        true,
	"department/list":  true,
	"paas/list":        true,
	"workOrder/list":   true,
}

// approvalValues are the viewApproval values the help text documents; every
// sandbox record is approved, so both answer the same rows.
var approvalValues = map[string]bool{"": true, "0": true, "1": true}
