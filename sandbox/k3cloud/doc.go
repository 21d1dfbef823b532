// Package k3cloud simulates the 金蝶云星空 (Kingdee K3Cloud) WebAPI, the
// target the erpsync outputs write to. It follows the contract in
// docs/vendors/k3cloud.md; facts marked [I] there are implemented in one
// place (config.go) so they can be corrected.
//
// # Paths
//
// Everything under /k3cloud/ and /K3Cloud/ (wrapped with Env.Wrap, so the
// error and timeout faults apply, including "the write lands, the answer is
// lost"). The last path segment names the call, case-insensitively:
//
//	Kingdee.BOS.WebApi.ServicesStub.AuthService.{ValidateUser,LoginBySign,LoginByAppSecret,Logout}.common.kdsvc
//	Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.{Save,BatchSave,Draft,Submit,Audit,UnAudit,Delete,View,ExecuteBillQuery,BillQuery,QueryAsyncResult}.common.kdsvc
//	Kingdee.BOS.ServiceFacade.ServicesStub.Account.AccountService.GetDataCenterList.common.kdsvc (no login)
//
// Push, ExcuteOperation and Allocate exist but answer MsgCode 4 (not
// simulated). Bodies may be named ({"formid","data"}), positional
// ({"parameters":[formid, data]}) or the legacy ApiClient shape; data may be
// an object or JSON text. Introspection (not wrapped):
// GET /_sandbox/k3cloud/{FormId} answers {"documents":[core.TargetDoc...]}.
//
// # Authentication and sessions
//
// A known live session id (cookie kdservice-sessionid or ASP.NET_SessionId,
// header kdservice-sessionid or SID) is accepted without checking any
// signature, as observed. Otherwise the mode-A HMAC headers are verified
// (Config.StrictSignature: X-Api-Signature over the string to sign with the
// key derived from the AppID, X-Kd-Signature with the plain AppSecret); if
// they pass, a session is opened silently and its cookies returned. With no
// valid session and no valid signature the answer is the session-lost
// envelope (MsgCode 1), wrapped in [[...]] for ExecuteBillQuery; an AppData
// naming another data centre gets HTTP 500 "Fail to verify thirty passport."
// LoginBySign, LoginByAppSecret and ValidateUser answer a LoginResult
// (LoginResultType 1 with KDSVCSessionId and cookies, 0 wrong password, -1
// other failures). Sessions expire after the session_ttl fault, or
// Config.SessionTTL when it is 0, of idleness. Requests of one session are
// served one at a time for the whole request (row latency included);
// different sessions run concurrently.
//
// Cookies: every DynamicFormService and login answer sets kdservice-sessionid
// and ASP.NET_SessionId (Path=/), the session-lost answer and failed logins
// included. A failed authentication hands out a "shell" id: it names no
// session, so a request carrying it is authenticated again, and when that
// passes the shell id becomes the live session. Source: the session-auth
// experiments of github.com/adamzhang1987/kingdee-k3cloud-mcp,
// docs/session-auth-experiments.md (about 230 probes of one production
// server, SDK 8.2.0): cookie names §5 [C-obs]; "认证失败时服务端也会下发 SID，
// 但那是空壳" and the shell id kept once credentials are fixed §6-7 [C-obs];
// the cookies on answers of a live session, on AuthService logins and the
// Path value are [I] (not reported; PYSDK's cookie parser drops the path).
// The non-200 passport answer sets no cookie [I].
//
// Timestamp window: the same source saw x-api-timestamp skews up to ±24 h and
// repeated nonces accepted (§5, "服务端不校验 x-api-timestamp 窗口") [C-obs],
// so by default no window is checked and nonces are never remembered;
// Config.SignatureWindow (CLI --k3-signature-window) sets a strict window for
// x-api-timestamp and the LoginBySign timestamp, for tests of clock handling.
// Beyond ±24 h, and for LoginBySign, the default is [I].
//
// # Forms
//
// Writable: BD_Customer (FCUSTID; FNumber unique per use-organisation),
// BD_MATERIAL (FMATERIALID; seeded from core.Catalog, FNumber = SKU id) and
// the bills (FID; FBillNo unique per form; entry rows FEntryID and FSeq):
// STK_MISCELLANEOUS 其他入库单 (entry FEntity), SAL_OUTSTOCK 销售出库单
// (FEntity), SAL_RETURNSTOCK 销售退货单 (FEntity), STK_InStock 采购入库单
// (FInStockEntry) and STK_MisDelivery 其他出库单 (FEntity). Read-only seeded
// base data: BD_STOCK, BD_Supplier, BD_Department, ORG_Organizations,
// BD_UNIT, BD_Currency (PRE001...), BOS_BillType (QTRKD01_SYS, XSCKD01_SYS,
// XSTHD01_SYS, RKD01_SYS, QTCKD01_SYS), BD_StockStatus (KCZT01_SYS),
// BOS_ASSISTANTDATA_DETAIL (customer types KHLB001_SYS..., return types
// THLX01_SYS, THLX02_SYS).
//
// Bills (bills.go, where every field key is given with its public source):
// one set of rules, data per form. Server defaults (the standard bill type,
// FDate today, owner type BD_OwnerOrg, the header owner = the stock
// organisation, the entry owner = the header owner, stock status
// KCZT01_SYS, the unit = the material's base unit, amounts = quantity x
// price), then required header fields (SAL_OUTSTOCK FSaleOrgId,
// FStockOrgId, FCustomerID; SAL_RETURNSTOCK FSaleOrgId, FStockOrgId,
// FRetcustId; STK_InStock FStockOrgId, FPurchaseOrgId (defaults to
// FStockOrgId), FSupplierId; STK_MisDelivery FStockOrgId, FPickOrgId
// (defaults to FStockOrgId), the customer FCustId and dept FDeptId
// optional; STK_MISCELLANEOUS FStockOrgId and FSUPPLIERID or FDEPTID), at
// least one entry row, and per row the material, unit, stock and quantity
// (FRealQty; FQty on the two "other" bills; SAL_RETURNSTOCK also
// FReturnType), quantity > 0 and prices (FPrice, FTaxPrice) >= 0; a bill
// type of another form (BOS_BillType FBillFormID) is refused. Each
// failure is one Errors item with the field key as FieldName and, for an
// entry row, "明细第<n>行：" in the Message (n = FSeq, 1-based), DIndex the
// document: DIndex is the position of the bill in Model [C: KDOC template,
// captured answers], never the entry row; that the line is named only in
// the message is [I]. Base-data
// references (material, customer, supplier, stock, organisation, unit,
// department, bill type, stock status, return type) are checked as below.
// The field keys and bill types are [C usage] (public client code); the
// required fields, defaults, checks and messages are [I].
// Form ids and field keys are case-insensitive. Seeded documents are audited
// (status C) with writes 0; the introspection endpoint lists every document
// of a form, so target forms show only what clients wrote and base-data forms
// also show their seed.
//
// Save/BatchSave give every document its own result (SuccessEntitys /
// Errors by DIndex); top-level IsSuccess is false (ErrorCode 500, MsgCode of
// the first failure) when any failed. Duplicates answer MsgCode 11 with
// "违反字段唯一性要求：编码唯一。[<no>]在当前系统中已经被使用。". A row whose
// number env.RowFails(FormId+":"+number) selects fails with MsgCode 11 (rows
// without a number, auto-numbered, never do). A non-zero FID/FCUSTID updates
// (NeedUpDateFields, IsDeleteEntry honoured; writes counts it); created (A)
// and re-audit (D) documents only. IsAutoSubmitAndAudit audits at once.
// References resolve by FNumber (or an internal id); unknown ones are dropped
// (so a required one reads as missing, MsgCode 11) or, with
// IsVerifyBaseDataField, rejected with MsgCode 9. A document written by
// another request in flight answers MsgCode 13 (network control). Submit
// (A/D -> B), Audit (B -> C, stamping a bill's FApproveDate, FAPPROVEDATE on
// STK_MISCELLANEOUS; OUTDUMP in bills.go) and UnAudit (C -> D) answer
// MsgCode 12 otherwise; the status values A/B/C/Z and their names are [C
// usage] (OUTDUMP), D is [I].
// Delete (Numbers or Ids, as Submit) removes created (A), draft (Z) and
// re-audit (D) documents, MsgCode 12 for submitted or audited ones, 10 for
// unknown ones. Draft (暂存) saves one Model without validation as status Z,
// the number still unique; a later Save with its internal id makes it a
// created document (A); Submit refuses a draft. The methods and their body
// shapes are [C] (PYSDK main.py, KDOC); the status rules and messages are
// [I] (config.go).
//
// Asynchronous mode (async.go): a call with beginmethod "BeginQueryImpl"
// (and querymethod "QueryAsyncResult") in its body or headers, as the SDKs'
// BatchSaveQuery and Query invocations send it [C PYSDK, JSDK], runs at once
// and answers a task {"TaskId","Status":0,"Result":null,...} (the fields of
// JSDK QueryResultInfo); QueryAsyncResult with {"queryInfo": "<JSON text of
// {TaskId, Cancelled}>"} (PYSDK) or {"parameters":[{"TaskId","Cancelled"}]}
// (JSDK) answers Status 2 with the call's answer as Result. The begin answer
// being pending and the first poll complete are [I]; an unknown TaskId
// answers Status 2, IsFaulted, a MsgCode 4 failure as Result [I].
//
// View (by Number or Id, any form) answers in the server's naming, as a
// captured production answer shows (view.go): {"Result":{"ResponseStatus":
// null,"Result":{"Id","msterID","DocumentStatus","Number","Name":[{"Key":
// 2052,"Value"}],"CreateOrgId_Id","CreateOrgId":{...},...}}}, properties
// without the field key's F, references as X_Id plus an object, entry rows
// with Id and Seq; not found is the failure envelope with MsgCode 10 [I].
//
// ExecuteBillQuery projects FieldKeys (header and entry keys, FEntity_FEntryID
// or FInStockEntry_FEntryID, on SAL_OUTSTOCK also FSAL_OUTSTOCKENTRY_FKey,
// FRef.FNumber / FRef.FName; one row per entry row when an entry key is used),
// filters with the SQL-like FilterString (or its array form), orders by
// OrderString and pages with StartRow / Limit (at most Config.MaxQueryLimit
// rows per call, silently capped). Errors, each wrapped in [[...]], with the
// codes and texts observed in production (MCP session-auth experiments R3
// [C-obs]): MsgCode 4 "标识为“X”的业务对象不存在，或者被删除" (unknown form, for
// every method [I]), 9 "元数据中标识为 F 的字段不存在" (unknown field key), 8
// "data 数据包中的参数 FieldKeys 的值不能为空", 4 "GetRealExpress error: ..."
// (bad filter or order; only the prefix is observed). Messages stay Chinese
// whatever the lcid [C-obs].
//
// # Stats
//
// Vendor "k3cloud"; iface is the method name ("BatchSave",
// "ExecuteBillQuery", "LoginBySign", "GetDataCenterList", "QueryAsyncResult"),
// or the request path for unknown paths. A call begun in the asynchronous
// mode counts under its method with the code of the result it produced. Codes: "0" when IsSuccess is true (or a query
// answered rows), "MsgCode <n>" otherwise; logins record
// "LoginResultType <n>"; transport answers "http_404", "http_405",
// "http_500" (unknown data centre, or a request over the size limit),
// "http_413" and "http_404" (a request over the size limit, see below),
// plus the Env.Wrap fault codes.
//
// # Request size
//
// A request body larger than Config.MaxRequestBytes (default 4 MiB, the
// ASP.NET maxRequestLength default; negative: no limit) is refused before
// authentication or parsing, nothing is written and no K3Cloud envelope
// comes back: Config.RequestRefusal "aspnet" (default) answers HTTP 500
// with ASP.NET's "超过了最大请求长度。" error page, "iis" HTTP 404.13
// (request filtering's Content Length Too Large page), "proxy" HTTP 413
// (an nginx page). Kingdee publishes no limit; the facts and marks are in
// reqsize.go and config.go.
//
// # Rate limit
//
// No figure is published. When the sandbox enforces limits, each identity
// (user) may make Config.CallLimit calls (default 20 per second, token
// bucket) to DynamicFormService; beyond it the answer is MsgCode 14.
package k3cloud
