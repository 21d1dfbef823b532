package jushuitan

import (
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Answer codes and messages. The published ones come from the official code
// table (contract section 4); messages are the vendor's own texts.
const (
	codeOK           = 0
	codeBadSign      = 10
	codeBadToken     = 100
	codeBadTimestamp = 140
	codeNoRefresh    = 150
	codeNoPermission = 190
	codeRatePerSec   = 199
	codeRatePerMin   = 200

	msgOK           = "执行成功"
	msgBadSign      = "验证失败！无效签名"
	msgBadToken     = "验证失败！无效的access_token或access_token已过期"
	msgBadTimestamp = "验证失败！无效的timestamp，请求最大时间误差15分钟"
	msgNoRefresh    = "服务商应用禁止刷新access_token,需商户重新授权"
	msgNoPermission = "验证失败！无API权限，请申请API权限"
	msgRatePerSec   = "调用频次超过限制!请稍后再试"
	msgRatePerMin   = "调用频次超过限制"
)

// ---------------------------------------------------------------------------
// [I] Inferred behaviour. The contract does not state these; every guess the
// simulator makes lives in this block so it can be corrected in one place.
// ---------------------------------------------------------------------------
const (
	// codeBadAppKey answers an app_key the platform does not know.
	codeBadAppKey = 20
	msgBadAppKey  = "验证失败！无效的app_key"
	// codeBadParam answers every parameter error: a missing or malformed
	// system field (charset, version, biz), a bad grant_type/code on the
	// token endpoints, and every business validation of biz (window too
	// long, page_size too big, too many ids, unknown enum literal). The
	// message always starts with msgBadParam and names the problem.
	codeBadParam = 30
	msgBadParam  = "参数错误："
	// msgBadRefresh goes with codeBadToken when refresh_token is unknown or
	// already used: the token code, with a refresh-specific text.
	msgBadRefresh = "验证失败！无效的refresh_token或refresh_token已过期"

	// maxSkew is the tolerated |now - timestamp|: the stricter published
	// value (field doc 10 min; the code-140 text says 15 min).
	maxSkew = 10 * time.Minute

	// initCodeLen is the length of the random code getInitToken accepts;
	// any 6 characters do. accessToken accepts any non-empty code.
	initCodeLen = 6

	// tsBase is the row version (ts) of the oldest generated other/inout
	// row; row i has tsBase+i and every mutation takes the next number.
	tsBase = 600000000

	// ioIDBase+1 is the first other/inout io_id; soIDBase+i the so_id of
	// row i (outbound and return types only).
	ioIDBase = 10000000
	soIDBase = 700000000000
	// skusn in/out document numbers start after snIoBase, internal order
	// numbers (o_id) are snOBase+io_id for sales out/return flows.
	snIoBase = 30000000
	snOBase  = 5000000000
)

// Token lifetime rule [I]: a token issued at T is valid while
// now < T + ttl, where ttl is read at CHECK time (token_ttl fault when
// non-zero, else Config.TokenTTL). So turning the fault on at run time
// expires tokens that are already out; expires_in reports the ttl in force
// when the token was issued. Refresh tokens never expire by time; they are
// valid until used or superseded (getInitToken, accessToken, refreshToken
// all replace the one pair of the one simulated merchant).
//
// Signature rule [I]: the server signs every received form field except
// sign, empty values included (contract 3.2: "exactly the fields that will
// be posted"), so a client that sends an empty field it did not sign gets 10.
//
// Unique-code flows [I]: create_time never changes and is what the window
// filters on; a change (mutate_rate) moves modified_time and the remark
// only. The contract shows both fields but not how they move.
//
// Answer faults (order, null answers, total drift, duplicate and short
// pages, modified_after_create) are simulated server surprises, all [I];
// doc.go, "Answer faults", says how each looks on these interfaces.
//
// Rate-limit scope [I]: per app_key, shared by every interface including
// the token endpoints. Only calls that pass the signature and timestamp
// checks (and, for business calls, the token check) are counted.

// newLimiter models both published rules as token buckets (core.Limiter);
// rule 0 breaks with 199, rule 1 with 200.
func newLimiter() *core.Limiter {
	return core.NewLimiter(core.Rule{N: 5, Per: time.Second}, core.Rule{N: 100, Per: time.Minute})
}

// Wire literals of other/inout.
var (
	// inoutTypes are the Chinese type literals; rows are generated with
	// weights 2:4:4.
	inoutTypes = []string{"其它退货", "其它出库", "其它进仓"}
	// inoutStatuses are the documented status literals; rows are generated
	// with the first, second and fourth only.
	inoutStatuses = []string{"Confirmed", "WaitConfirm", "OuterConfirming", "Cancelled", "Delete"}
	// wmsCoIDs are the warehouse parties (分仓编号) rows belong to [I].
	wmsCoIDs = []int64{0, 10086001, 10086002}
)

// Limits of the interfaces [C] (contract sections 5.2, 5.3, 6; sales-out:
// JSTJ stockout/JstQueryOrderOutSimpleRequest.java, see saleout.go;
// received returns: JSTJ aftersale/JstQueryAfterSaleReceivedRequest.java,
// see received.go).
const (
	inoutMaxSpan     = 7 * 24 * time.Hour
	inoutDefaultSize = 30
	inoutMaxSize     = 50
	inoutMaxIDs      = 50
	skusnMaxSpan     = 30 * 24 * time.Hour
	skusnDefaultSize = 1000
	skusnMaxSize     = 1000

	saleoutMaxSpan     = 7 * 24 * time.Hour
	saleoutDefaultSize = 30
	saleoutMaxSize     = 50
	saleoutMaxIDs      = 50

	receivedMaxSpan     = 7 * 24 * time.Hour
	receivedDefaultSize = 30
	receivedMaxSize     = 50
	receivedMaxIDs      = 50

	// Purchase-in: JSTJ stockin/JstQueryPurchaseInRequest.java, see
	// purchasein.go.
	purchaseinMaxSpan     = 7 * 24 * time.Hour
	purchaseinDefaultSize = 30
	purchaseinMaxSize     = 50
	purchaseinMaxIDs      = 30

	// Purchase returns: JSTJ stockout/JstQueryPurchaseOutRequest.java, see
	// purchaseout.go.
	purchaseoutMaxSpan     = 7 * 24 * time.Hour
	purchaseoutDefaultSize = 30
	purchaseoutMaxSize     = 50
	purchaseoutMaxIDs      = 30

	// Orders: JSTJ order/JstQuerySingleOrderRequest.java (max 100; no
	// default published, 30 as on the other interfaces [I]), see orders.go.
	ordersMaxSpan     = 7 * 24 * time.Hour
	ordersDefaultSize = 30
	ordersMaxSize     = 100
	ordersMaxSoIDs    = 20

	// After-sales: JSTJ aftersale/JstQuerySingleRefundRequest.java, see
	// refund.go.
	refundMaxSpan     = 7 * 24 * time.Hour
	refundDefaultSize = 30
	refundMaxSize     = 50
	refundMaxIDs      = 50

	// SKUs and stock: JSTJ item/JstQuerySkuRequest.java and
	// inventory/JstQueryInventoryRequest.java, see items.go.
	itemsMaxSpan         = 7 * 24 * time.Hour
	skuDefaultSize       = 30
	skuMaxSize           = 50
	skuMaxIDs            = 20
	inventoryDefaultSize = 30
	inventoryMaxSize     = 100
	inventoryMaxIDs      = 100
)
