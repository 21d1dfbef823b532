package k3cloud

// The stock bills: 其他入库单 STK_MISCELLANEOUS (the first target, section
// 5.6 of the contract), and 销售出库单 SAL_OUTSTOCK, 销售退货单
// SAL_RETURNSTOCK, 采购入库单 STK_InStock and 其他出库单 STK_MisDelivery.
// All share one set of rules (billRules, applied by prepare in save.go):
// server defaults, header references, required header fields, at least one
// entry row, per-row defaults, references and required fields, a positive
// quantity and non-negative prices. What differs per form is data.
//
// Sources of the field keys (the Save Models and query keys are copied from
// public code; none of it is Kingdee's own documentation page):
//
//   - PHPTEST: a public PHP K3Cloud client's test class (TestJd:
//     testSalOutStockSave, testSalReturnStockSave, testStkMisDeliverySave),
//     whole Save Models written against a Kingdee demo account [C usage].
//   - INSTPL: a Python script's STK_InStock Save body with every field of
//     Kingdee's generated sample (all values empty: the shape of KDOC's
//     template), FInStockEntry rows and the FInStockFin sub-entity [C usage].
//   - INJAVA: a Java PurchaseInStockOrder DTO and an Android client's
//     STK_InStock BatchSave Model (FBillTypeID RKD01_SYS, FInStockEntry with
//     FMaterialId, FUnitID, FPriceUnitID, FRealQty, FStockId, FLot, FOWNERID;
//     header FStockOrgId, FPurchaseOrgId, FSupplierId, FStockDeptId) [C usage].
//   - RETCS: a C# SAL_RETURNSTOCK BatchSave/Save integration
//     (XSTHD01_SYS, FSaleOrgId, FRetcustId, FStockOrgId; entry FMaterialId,
//     FUnitID, FRealQty, FTaxPrice, FReturnType THLX01_SYS, FStockId) and a
//     Python one (the same keys plus FStockstatusId, FOwnerTypeId,
//     FOwnerId, FEntryTaxRate, FIsFree); a C# DTO marks FREALQTY and
//     FReturnType [Required] [C usage].
//   - OUTDUMP: a public field list of SAL_OUTSTOCK generated from a live
//     account (header FBillNo XSCKD000001, FSaleOrgId, FStockOrgId,
//     FCustomerID, FBillTypeID XSCKD01_SYS, FOwnerTypeIdHead BD_OwnerOrg,
//     FApproveDate; entry FMaterialID, FUnitID, FMustQty, FRealQty, FStockID,
//     FStockStatusID KCZT01_SYS, FOwnerTypeID, FOwnerID, FPrice, FTaxPrice,
//     FTaxRate, FAmount, FAllAmount; FDocumentStatus values A 创建, B 审核中,
//     C 已审核, Z 暂存), with query keys under the prefix
//     FSAL_OUTSTOCKENTRY_ [C usage]; other public queries use FEntity_FENTRYID
//     on SAL_OUTSTOCK [C usage], so both prefixes are accepted.
//   - Query keys FInStockEntry_FEntryID / FInStockEntry_FRealQty on
//     STK_InStock and FEntity_FENTRYID on SAL_OUTSTOCK and SAL_RETURNNOTICE
//     appear in several public scripts [C usage].
//   - Number prefixes: XSCKD (OUTDUMP), XSTHD (XSTHD12791749 in a Java
//     integration, XSTHD22485413 in a captured answer), CGRK (STK_InStock)
//     and QTCK (STK_MisDelivery) from a public logistics script mapping
//     number prefixes to forms [C usage]; the widths are [I].
//
// Which fields are required, the defaults (owner = stock organisation, unit
// = the material's base unit, the FPickOrgId of STK_MisDelivery = its stock
// organisation), the quantity and price checks and every message are [I]:
// the samples show what clients send, not what the server refuses.

// billRules are the validation rules of one bill form. Field names are the
// form's canonical spellings.
type billRules struct {
	billType string      // FBillTypeID default (the standard bill type)
	defaults []kv        // header defaults applied when the field is empty
	copies   [][2]string // header {dst, src}: dst defaults to src's value
	required []string    // header fields that must be set
	oneOf    []string    // at least one of these must be set (oneOfMsg otherwise)
	oneOfMsg string
	// headOwnerType / headOwner: the header owner defaults to ownerFrom when
	// the owner type is BD_OwnerOrg [I].
	headOwnerType, headOwner, ownerFrom string

	entryDefaults []kv
	entryRequired []string
	material      string // entry material key (the unit defaults to its base unit)
	unit          string // entry unit key
	qty           string // entry quantity key (FQty or FRealQty)
	ownerType     string // entry owner type key; the owner defaults to the header owner
	owner         string
	prices        []string    // entry price keys: never negative
	amounts       [][2]string // {amount, price}: amount = qty * price when not sent
}

// kv is one default value.
type kv struct {
	k string
	v any
}

// billDefs are the bill forms. Each starts empty; entries get internal ids
// from one counter (FEntryID).
func billDefs() []*formDef {
	stockStatus := func(k string) kv { return kv{k, ref("KCZT01_SYS")} }
	ownerOrg := func(k string) kv { return kv{k, "BD_OwnerOrg"} }

	misc := &formDef{id: formMisc, idKey: "FID", numberKey: "FBillNo", entity: "FEntity", entryIDKey: "FEntryID",
		writable: true, autoPrefix: "QTRK", autoWidth: 6, approveKey: "FAPPROVEDATE",
		header: []string{"FID", "FBillNo", "FBillTypeID", "FStockOrgId", "FStockDirect", "FDate", "FSUPPLIERID", "FDEPTID",
			"FOwnerTypeIdHead", "FOwnerIdHead", "FBaseCurrId", "FNOTE", "FSTOCKERID", "FSTOCKERGROUPID", "FDocumentStatus",
			"FCreateDate", "FModifyDate", "FAPPROVEDATE", "FEntity"},
		entry: []string{"FEntryID", "FSeq", "FMATERIALID", "FSTOCKID", "FUnitID", "FQty", "FPrice", "FAmount", "FOWNERTYPEID",
			"FOWNERID", "FStockStatusId", "FLOT", "FEntryNote", "FInStockType", "FStockLocId", "FSRCBILLNO", "FSRCBILLTYPEID"},
		refs: map[string]string{"FBILLTYPEID": formBillType, "FSTOCKORGID": formOrg, "FSUPPLIERID": formSupplier,
			"FDEPTID": formDept, "FOWNERIDHEAD": formOrg, "FBASECURRID": formCurrency,
			"FMATERIALID": formMaterial, "FSTOCKID": formStock, "FUNITID": formUnit, "FOWNERID": formOrg,
			"FSTOCKSTATUSID": formStkStatus},
		labels: map[string]string{"FBillNo": "单据编号", "FBillTypeID": "单据类型", "FStockOrgId": "库存组织", "FDate": "日期",
			"FSUPPLIERID": "供应商", "FDEPTID": "部门", "FOwnerIdHead": "货主", "FBaseCurrId": "本位币",
			"FMATERIALID": "物料编码", "FSTOCKID": "收货仓库", "FUnitID": "单位", "FQty": "实收数量", "FOWNERID": "货主",
			"FStockStatusId": "库存状态"},
		bill: &billRules{billType: "QTRKD01_SYS",
			defaults: []kv{{"FStockDirect", "GENERAL"}, ownerOrg("FOwnerTypeIdHead"), {"FBaseCurrId", ref("PRE001")}},
			required: []string{"FStockOrgId", "FBillTypeID"},
			oneOf:    []string{"FSUPPLIERID", "FDEPTID"}, oneOfMsg: msgSupplierDept,
			headOwnerType: "FOwnerTypeIdHead", headOwner: "FOwnerIdHead", ownerFrom: "FStockOrgId",
			entryDefaults: []kv{ownerOrg("FOWNERTYPEID"), stockStatus("FStockStatusId")},
			entryRequired: []string{"FMATERIALID", "FSTOCKID", "FUnitID", "FQty"},
			material:      "FMATERIALID", unit: "FUnitID", qty: "FQty", ownerType: "FOWNERTYPEID", owner: "FOWNERID",
			amounts: [][2]string{{"FAmount", "FPrice"}}},
	}

	// 销售出库单: OUTDUMP, PHPTEST.
	out := &formDef{id: formSalOut, idKey: "FID", numberKey: "FBillNo", entity: "FEntity", entryIDKey: "FEntryID",
		entityAlias: "FSAL_OUTSTOCKENTRY", writable: true, autoPrefix: "XSCKD", autoWidth: 6, approveKey: "FApproveDate",
		header: []string{"FID", "FBillNo", "FBillTypeID", "FDate", "FSaleOrgId", "FStockOrgId", "FCustomerID",
			"FDeliveryDeptID", "FSaleDeptID", "FStockerGroupID", "FStockerID", "FSalesGroupID", "FSalesManID",
			"FCarrierID", "FCarriageNO", "FReceiverID", "FSettleID", "FPayerID", "FOwnerTypeIdHead", "FOwnerIdHead",
			"FBussinessType", "FReceiveAddress", "FLinkMan", "FLinkPhone", "FIsTotalServiceOrCost", "FNote",
			"SubHeadEntity", "FDocumentStatus", "FCreateDate", "FModifyDate", "FApproveDate", "FEntity"},
		entry: []string{"FEntryID", "FSeq", "FRowType", "FMaterialID", "FUnitID", "FMustQty", "FRealQty", "FStockID",
			"FStockStatusID", "FOwnerTypeID", "FOwnerID", "FKeeperTypeID", "FKeeperID", "FLot", "FIsFree",
			"FPrice", "FTaxPrice", "FEntryTaxRate", "FAmount", "FAllAmount", "FSalUnitID", "FSALUNITQTY",
			"FSALBASEQTY", "FPRICEBASEQTY", "FNote", "FSrcBillNo", "FSrcType"},
		refs: map[string]string{"FBILLTYPEID": formBillType, "FSALEORGID": formOrg, "FSTOCKORGID": formOrg,
			"FCUSTOMERID": formCustomer, "FRECEIVERID": formCustomer, "FSETTLEID": formCustomer, "FPAYERID": formCustomer,
			"FDELIVERYDEPTID": formDept, "FSALEDEPTID": formDept, "FOWNERIDHEAD": formOrg,
			"FMATERIALID": formMaterial, "FUNITID": formUnit, "FSALUNITID": formUnit, "FSTOCKID": formStock,
			"FSTOCKSTATUSID": formStkStatus, "FOWNERID": formOrg, "FKEEPERID": formOrg},
		labels: map[string]string{"FBillNo": "单据编号", "FBillTypeID": "单据类型", "FDate": "日期", "FSaleOrgId": "销售组织",
			"FStockOrgId": "发货组织", "FCustomerID": "客户", "FReceiverID": "收货方", "FSettleID": "结算方", "FPayerID": "付款方",
			"FDeliveryDeptID": "发货部门", "FSaleDeptID": "销售部门", "FOwnerIdHead": "货主",
			"FMaterialID": "物料编码", "FUnitID": "库存单位", "FRealQty": "实发数量", "FStockID": "仓库",
			"FStockStatusID": "库存状态", "FOwnerID": "货主", "FPrice": "单价", "FTaxPrice": "含税单价", "FSalUnitID": "销售单位"},
		bill: &billRules{billType: "XSCKD01_SYS",
			defaults:      []kv{ownerOrg("FOwnerTypeIdHead")},
			required:      []string{"FBillTypeID", "FSaleOrgId", "FStockOrgId", "FCustomerID"},
			headOwnerType: "FOwnerTypeIdHead", headOwner: "FOwnerIdHead", ownerFrom: "FStockOrgId",
			entryDefaults: []kv{ownerOrg("FOwnerTypeID"), stockStatus("FStockStatusID")},
			entryRequired: []string{"FMaterialID", "FUnitID", "FRealQty", "FStockID"},
			material:      "FMaterialID", unit: "FUnitID", qty: "FRealQty", ownerType: "FOwnerTypeID", owner: "FOwnerID",
			prices:  []string{"FPrice", "FTaxPrice"},
			amounts: [][2]string{{"FAmount", "FPrice"}, {"FAllAmount", "FTaxPrice"}}},
	}

	// 销售退货单: RETCS, PHPTEST.
	ret := &formDef{id: formSalReturn, idKey: "FID", numberKey: "FBillNo", entity: "FEntity", entryIDKey: "FEntryID",
		writable: true, autoPrefix: "XSTHD", autoWidth: 6, approveKey: "FApproveDate",
		header: []string{"FID", "FBillNo", "FBillTypeID", "FDate", "FSaleOrgId", "FRetcustId", "FReturnReason",
			"FHeadLocId", "FTransferBizType", "FStockOrgId", "FStockDeptId", "FStockerGroupId", "FStockerId",
			"FSalesGroupID", "FSalesManId", "FReceiveCustId", "FReceiveAddress", "FSettleCustId", "FPayCustId",
			"FOwnerTypeIdHead", "FOwnerIdHead", "FIsTotalServiceOrCost", "FNote", "SubHeadEntity", "FDocumentStatus",
			"FCreateDate", "FModifyDate", "FApproveDate", "FEntity"},
		entry: []string{"FEntryID", "FSeq", "FRowType", "FMaterialId", "FUnitID", "FStockStatusId", "FStockId",
			"FMustQty", "FRealQty", "FIsFree", "FEntryTaxRate", "FReturnType", "FOwnerTypeId", "FOwnerId",
			"FKeeperTypeId", "FKeeperId", "FDeliveryDate", "FSalUnitID", "FSalUnitQty", "FSalBaseQty",
			"FPriceBaseQty", "FPrice", "FTaxPrice", "FAmount", "FAllAmount", "FLot", "FNote", "FSrcBillNo"},
		refs: map[string]string{"FBILLTYPEID": formBillType, "FSALEORGID": formOrg, "FSTOCKORGID": formOrg,
			"FRETCUSTID": formCustomer, "FRECEIVECUSTID": formCustomer, "FSETTLECUSTID": formCustomer,
			"FPAYCUSTID": formCustomer, "FSTOCKDEPTID": formDept, "FOWNERIDHEAD": formOrg,
			"FMATERIALID": formMaterial, "FUNITID": formUnit, "FSALUNITID": formUnit, "FSTOCKID": formStock,
			"FSTOCKSTATUSID": formStkStatus, "FRETURNTYPE": formAssist, "FOWNERID": formOrg, "FKEEPERID": formOrg},
		labels: map[string]string{"FBillNo": "单据编号", "FBillTypeID": "单据类型", "FDate": "日期", "FSaleOrgId": "销售组织",
			"FRetcustId": "退货客户", "FStockOrgId": "库存组织", "FStockDeptId": "库存部门", "FReceiveCustId": "收货方",
			"FSettleCustId": "结算方", "FPayCustId": "付款方", "FOwnerIdHead": "货主",
			"FMaterialId": "物料编码", "FUnitID": "库存单位", "FRealQty": "实退数量", "FStockId": "仓库",
			"FStockStatusId": "库存状态", "FReturnType": "退货类型", "FOwnerId": "货主", "FPrice": "单价", "FTaxPrice": "含税单价"},
		bill: &billRules{billType: "XSTHD01_SYS",
			defaults:      []kv{ownerOrg("FOwnerTypeIdHead")},
			required:      []string{"FBillTypeID", "FSaleOrgId", "FStockOrgId", "FRetcustId"},
			headOwnerType: "FOwnerTypeIdHead", headOwner: "FOwnerIdHead", ownerFrom: "FStockOrgId",
			entryDefaults: []kv{ownerOrg("FOwnerTypeId"), stockStatus("FStockStatusId")},
			entryRequired: []string{"FMaterialId", "FUnitID", "FRealQty", "FStockId", "FReturnType"},
			material:      "FMaterialId", unit: "FUnitID", qty: "FRealQty", ownerType: "FOwnerTypeId", owner: "FOwnerId",
			prices:  []string{"FPrice", "FTaxPrice"},
			amounts: [][2]string{{"FAmount", "FPrice"}, {"FAllAmount", "FTaxPrice"}}},
	}

	// 采购入库单: INSTPL, INJAVA.
	in := &formDef{id: formPurIn, idKey: "FID", numberKey: "FBillNo", entity: "FInStockEntry", entryIDKey: "FEntryID",
		writable: true, autoPrefix: "CGRK", autoWidth: 6, approveKey: "FApproveDate",
		header: []string{"FID", "FBillNo", "FBillTypeID", "FBusinessType", "FDate", "FStockOrgId", "FStockDeptId",
			"FStockerGroupId", "FStockerId", "FDemandOrgId", "FCorrespondOrgId", "FPurchaseOrgId", "FPurchaseDeptId",
			"FPurchaserGroupId", "FPurchaserId", "FSupplierId", "FSupplyId", "FSupplyAddress", "FSettleId", "FChargeId",
			"FOwnerTypeIdHead", "FOwnerIdHead", "FNote", "FInStockFin", "FDocumentStatus", "FCreateDate", "FModifyDate",
			"FApproveDate", "FInStockEntry"},
		entry: []string{"FEntryID", "FSeq", "FRowType", "FMaterialId", "FUnitID", "FMaterialDesc", "FMustQty", "FRealQty",
			"FPriceUnitID", "FPrice", "FTaxPrice", "FEntryTaxRate", "FAmount", "FAllAmount", "FLot", "FStockId",
			"FStockLocId", "FStockStatusId", "FMtoNo", "FGiveAway", "FNote", "FOWNERTYPEID", "FOWNERID",
			"FRemainInStockUnitId", "FRemainInStockQty", "FSRCBILLTYPEID", "FSRCBillNo", "FPOOrderNo"},
		refs: map[string]string{"FBILLTYPEID": formBillType, "FSTOCKORGID": formOrg, "FDEMANDORGID": formOrg,
			"FPURCHASEORGID": formOrg, "FSTOCKDEPTID": formDept, "FPURCHASEDEPTID": formDept,
			"FSUPPLIERID": formSupplier, "FSUPPLYID": formSupplier, "FSETTLEID": formSupplier, "FCHARGEID": formSupplier,
			"FOWNERIDHEAD": formOrg, "FMATERIALID": formMaterial, "FUNITID": formUnit, "FPRICEUNITID": formUnit,
			"FREMAININSTOCKUNITID": formUnit, "FSTOCKID": formStock, "FSTOCKSTATUSID": formStkStatus, "FOWNERID": formOrg},
		labels: map[string]string{"FBillNo": "单据编号", "FBillTypeID": "单据类型", "FDate": "入库日期", "FStockOrgId": "收料组织",
			"FPurchaseOrgId": "采购组织", "FSupplierId": "供应商", "FStockDeptId": "收料部门", "FOwnerIdHead": "货主",
			"FMaterialId": "物料编码", "FUnitID": "库存单位", "FRealQty": "实收数量", "FStockId": "仓库",
			"FStockStatusId": "库存状态", "FOWNERID": "货主", "FPriceUnitID": "计价单位", "FPrice": "单价", "FTaxPrice": "含税单价"},
		bill: &billRules{billType: "RKD01_SYS",
			defaults:      []kv{ownerOrg("FOwnerTypeIdHead")},
			copies:        [][2]string{{"FPurchaseOrgId", "FStockOrgId"}},
			required:      []string{"FBillTypeID", "FStockOrgId", "FPurchaseOrgId", "FSupplierId"},
			headOwnerType: "FOwnerTypeIdHead", headOwner: "FOwnerIdHead", ownerFrom: "FStockOrgId",
			entryDefaults: []kv{ownerOrg("FOWNERTYPEID"), stockStatus("FStockStatusId")},
			entryRequired: []string{"FMaterialId", "FUnitID", "FRealQty", "FStockId"},
			material:      "FMaterialId", unit: "FUnitID", qty: "FRealQty", ownerType: "FOWNERTYPEID", owner: "FOWNERID",
			prices:  []string{"FPrice", "FTaxPrice"},
			amounts: [][2]string{{"FAmount", "FPrice"}, {"FAllAmount", "FTaxPrice"}}},
	}

	// 其他出库单: PHPTEST.
	mis := &formDef{id: formMisDel, idKey: "FID", numberKey: "FBillNo", entity: "FEntity", entryIDKey: "FEntryID",
		writable: true, autoPrefix: "QTCK", autoWidth: 6, approveKey: "FApproveDate",
		header: []string{"FID", "FBillNo", "FBillTypeID", "FStockOrgId", "FPickOrgId", "FStockDirect", "FDate",
			"FCustId", "FDeptId", "FStockerId", "FStockerGroupId", "FOwnerTypeIdHead", "FOwnerIdHead", "FNote",
			"FBaseCurrId", "FBizType", "FDocumentStatus", "FCreateDate", "FModifyDate", "FApproveDate", "FEntity"},
		entry: []string{"FEntryID", "FSeq", "FMaterialId", "FUnitID", "FQty", "FBaseUnitId", "FBaseQty", "FStockId",
			"FStockLocId", "FOwnerTypeId", "FOwnerId", "FEntryNote", "FStockStatusId", "FKeeperTypeId", "FKeeperId",
			"FDistribution", "FLot", "FPrice", "FAmount", "FSrcBillNo"},
		refs: map[string]string{"FBILLTYPEID": formBillType, "FSTOCKORGID": formOrg, "FPICKORGID": formOrg,
			"FCUSTID": formCustomer, "FDEPTID": formDept, "FOWNERIDHEAD": formOrg, "FBASECURRID": formCurrency,
			"FMATERIALID": formMaterial, "FUNITID": formUnit, "FBASEUNITID": formUnit, "FSTOCKID": formStock,
			"FSTOCKSTATUSID": formStkStatus, "FOWNERID": formOrg, "FKEEPERID": formOrg},
		labels: map[string]string{"FBillNo": "单据编号", "FBillTypeID": "单据类型", "FDate": "日期", "FStockOrgId": "库存组织",
			"FPickOrgId": "领用组织", "FCustId": "客户", "FDeptId": "领料部门", "FOwnerIdHead": "货主", "FBaseCurrId": "本位币",
			"FMaterialId": "物料编码", "FUnitID": "单位", "FQty": "实发数量", "FStockId": "发货仓库", "FBaseUnitId": "基本单位",
			"FStockStatusId": "库存状态", "FOwnerId": "货主", "FPrice": "单价"},
		bill: &billRules{billType: "QTCKD01_SYS",
			defaults:      []kv{{"FStockDirect", "GENERAL"}, ownerOrg("FOwnerTypeIdHead"), {"FBaseCurrId", ref("PRE001")}},
			copies:        [][2]string{{"FPickOrgId", "FStockOrgId"}},
			required:      []string{"FBillTypeID", "FStockOrgId", "FPickOrgId"},
			headOwnerType: "FOwnerTypeIdHead", headOwner: "FOwnerIdHead", ownerFrom: "FStockOrgId",
			entryDefaults: []kv{ownerOrg("FOwnerTypeId"), stockStatus("FStockStatusId")},
			entryRequired: []string{"FMaterialId", "FUnitID", "FQty", "FStockId"},
			material:      "FMaterialId", unit: "FUnitID", qty: "FQty", ownerType: "FOwnerTypeId", owner: "FOwnerId",
			prices:  []string{"FPrice"},
			amounts: [][2]string{{"FAmount", "FPrice"}}},
	}
	return []*formDef{misc, out, ret, in, mis}
}

// billTypes are the standard bill types seeded into BOS_BillType, with the
// form each belongs to: QTRKD01_SYS (contract 5.6), XSCKD01_SYS (OUTDUMP,
// PHPTEST), XSTHD01_SYS (RETCS, PHPTEST), RKD01_SYS (INJAVA; a public query
// filters STK_InStock on FBillTypeID.FNumber='RKD01_SYS'), QTCKD01_SYS
// (PHPTEST) [C usage]; the names are [I].
var billTypes = [][3]string{
	{"QTRKD01_SYS", "标准其他入库单", formMisc},
	{"XSCKD01_SYS", "标准销售出库单", formSalOut},
	{"XSTHD01_SYS", "标准销售退货单", formSalReturn},
	{"RKD01_SYS", "标准采购入库单", formPurIn},
	{"QTCKD01_SYS", "标准其他出库单", formMisDel},
}
