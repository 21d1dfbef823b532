package jushuitankingdee

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
)

// The customers the test keeps in Kingdee: the shipped table maps the
// sandbox's shops 10010001-10010005 to JST001-JST005, and JST005 is left
// out, so the documents of shop 10010005 cannot be written.
var customers = []string{"JST001", "JST002", "JST003", "JST004"}

const missingShop = 10010005

// removedSKUs are taken out of Kingdee before the run: their lines make
// their documents unmappable.
var removedSKUs = []string{"SKU00007", "SKU00042"}

type line struct {
	SkuID      string  `json:"sku_id"`
	Qty        float64 `json:"qty"`
	SalePrice  float64 `json:"sale_price"`
	SaleAmount float64 `json:"sale_amount"`
}

type source struct {
	IoID      int64  `json:"io_id"`
	ShopID    int64  `json:"shop_id"`
	Status    string `json:"status"`
	IoDate    string `json:"io_date"`
	WmsCoID   int64  `json:"wms_co_id"`
	Warehouse string `json:"warehouse"`
	Items     []line `json:"items"`
}

func (s source) id() string { return strconv.FormatInt(s.IoID, 10) }

// expectation sorts the source documents by what the pipeline must do.
type expectation struct {
	written  map[string]source
	rejected map[string]string // io_id -> text the reason must contain
	ignored  int
}

func expect(t *testing.T, sb *sandbox.Server, docs []source, form string) expectation {
	t.Helper()
	removed := map[string]bool{}
	for _, s := range removedSKUs {
		removed[s] = true
	}
	e := expectation{written: map[string]source{}, rejected: map[string]string{}}
	kinds := map[string]int{}
	for _, d := range docs {
		unknown := ""
		for _, it := range d.Items {
			if removed[it.SkuID] && unknown == "" {
				unknown = it.SkuID
			}
		}
		switch {
		case d.Status != "Confirmed":
			e.ignored++
		case d.ShopID == missingShop:
			e.rejected[d.id()] = "customer JST005 is missing in Kingdee BD_Customer"
			kinds["customer"]++
		case unknown != "":
			e.rejected[d.id()] = fmt.Sprintf("sku_id %q is not a Kingdee material", unknown)
			kinds["material"]++
		case sb.Env().RowFails(form + ":" + d.id()):
			e.rejected[d.id()] = "k3cloud: BatchSave: code 11 " + form + " " + d.id() + ": "
			kinds["kingdee"]++
		default:
			e.written[d.id()] = d
		}
	}
	if len(e.written) == 0 || e.ignored == 0 || kinds["customer"] == 0 || kinds["material"] == 0 || kinds["kingdee"] == 0 {
		t.Fatalf("degenerate sample: %d to write, %d ignored, rejections %v", len(e.written), e.ignored, kinds)
	}
	t.Logf("%d to write, %d ignored, rejections %v", len(e.written), e.ignored, kinds)
	return e
}

// lineKeys are the entry keys of a form.
type lineKeys struct{ customer, material, stock string }

// checkKingdee: K3Cloud holds exactly the documents to write, each written
// once, audited, with the customer, stock, lines and amounts of its source.
func checkKingdee(t *testing.T, sb *sandbox.Server, form string, keys lineKeys, e expectation, stock func(source) string) {
	t.Helper()
	bills := streamtest.K3Bills(t, sb, form)
	for no, b := range bills {
		s, ok := e.written[no]
		if !ok {
			t.Errorf("%s holds %s, which should not have been written (%s)", form, no, e.rejected[no])
			continue
		}
		shop := int(s.ShopID - 10010000)
		wantCust := fmt.Sprintf("JST%03d", shop)
		if b.Writes != 1 || fmt.Sprint(b.Data["FDocumentStatus"]) != "C" || streamtest.RefNumber(b.Data[keys.customer]) != wantCust ||
			streamtest.RefNumber(b.Data["FSaleOrgId"]) != "100" || streamtest.RefNumber(b.Data["FStockOrgId"]) != "100" {
			t.Errorf("%s %s: writes %d, status %v, customer %v (want %s), orgs %v %v", form, no, b.Writes,
				b.Data["FDocumentStatus"], b.Data[keys.customer], wantCust, b.Data["FSaleOrgId"], b.Data["FStockOrgId"])
		}
		rows, _ := b.Data["FEntity"].([]any)
		if len(rows) != len(s.Items) {
			t.Errorf("%s %s: %d rows, the source has %d items", form, no, len(rows), len(s.Items))
			continue
		}
		for i, r := range rows {
			row, _ := r.(map[string]any)
			it := s.Items[i]
			all := streamtest.Fen(it.SaleAmount)
			if streamtest.RefNumber(row[keys.material]) != it.SkuID || streamtest.Num(row["FRealQty"]) != it.Qty || streamtest.RefNumber(row[keys.stock]) != stock(s) ||
				streamtest.Fen(streamtest.Num(row["FTaxPrice"])) != streamtest.Fen(it.SalePrice) || streamtest.Fen(streamtest.Num(row["FAllAmount"])) != all ||
				streamtest.Fen(streamtest.Num(row["FAmount"])) != (all*100*2+113)/(113*2) || streamtest.Num(row["FEntryTaxRate"]) != 13 {
				t.Errorf("%s %s row %d: %v, from item %+v (stock %s)", form, no, i+1, row, it, stock(s))
			}
		}
	}
	if len(bills) != len(e.written) {
		t.Errorf("%s holds %d bills, want %d", form, len(bills), len(e.written))
	}
}

func wmsStock(s source) string {
	return map[int64]string{0: "CK001", 10086001: "CK003", 10086002: "CK004"}[s.WmsCoID]
}

func nameStock(s source) string {
	return map[string]string{"主仓": "CK001", "销退仓": "CK002", "进货仓": "CK003", "次品仓": "CK004"}[s.Warehouse]
}

// runTwice runs a stream, checks it, forgets its checkpoint, runs it again
// over the same windows and checks that nothing new was written and the
// unmappable documents, failing the same way, are still once each in the
// dead-letter file.
func runTwice(t *testing.T, stream, dataset, form string, keys lineKeys, stock func(source) string) {
	sb := startSandbox(t)
	c := streamtest.K3{T: t, SB: sb}
	c.AddCustomers(customers...)
	c.RemoveMaterials(removedSKUs...)
	e := expect(t, sb, streamtest.SourceDocs[source](t, sb, dataset, records), form)
	state := erpsynctest.StateDir(t)
	db := erpsynctest.OpenDB(t)
	table := fmt.Sprintf("e2e_dl_%s_%d", form, time.Now().UnixNano()%1e9)
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + table) })
	env := append(baseEnv(sb, state), "MYSQL_DSN="+erpsynctest.MySQLDSN(), "DEAD_LETTER_TABLE="+table)
	dead := filepath.Join(state, "dead_letters", stream+".jsonl")
	before := map[string]int{}
	for _, d := range sb.Env().Dataset(dataset).Truth() {
		before[d.ID] = d.Version
	}

	// modified counts each document's modifications since the start.
	modified := func() map[string]int {
		out := map[string]int{}
		for _, d := range sb.Env().Dataset(dataset).Truth() {
			if d.Version > before[d.ID] {
				out[d.ID] = d.Version - before[d.ID]
			}
		}
		return out
	}

	runToEnd(t, env, stream)
	checkKingdee(t, sb, form, keys, e, stock)
	streamtest.CheckDeadLetters(t, dead, stream, e.rejected, 1, modified(), nil)
	checkDeadLetterTable(t, db, table, stream, "k3cloud:"+form, e.rejected, 1, modified())
	if len(modified()) == 0 {
		t.Error("no document was modified while read: the mutation fault did not apply")
	}
	if t.Failed() {
		return
	}

	streamtest.ForgetCheckpoint(t, state, stream)
	runToEnd(t, env, stream)
	checkKingdee(t, sb, form, keys, e, stock) // still written once each
	// Failed again the same way: the dead-letter file keeps one line per
	// failure, so still once each (more for a document modified since).
	streamtest.CheckDeadLetters(t, dead, stream, e.rejected, 1, modified(), nil)
	// The table counts every failure: one more attempt each.
	checkDeadLetterTable(t, db, table, stream, "k3cloud:"+form, e.rejected, 2, modified())
}

// TestIntegrationJushuitanSalesOutToKingdee: every shipped (Confirmed)
// sales-out document is one audited SAL_OUTSTOCK with its customer, stock,
// lines, tax-inclusive prices and amounts in fen; documents of a shop whose
// customer is not in Kingdee, with an SKU Kingdee does not know, or that
// Kingdee refuses are in the dead letter with the reason; the rest of the
// documents go nowhere. A second run over the same windows writes nothing
// new.
func TestIntegrationJushuitanSalesOutToKingdee(t *testing.T) {
	runTwice(t, "jushuitan_sales_out_to_kingdee", sbjst.DatasetSaleout, "SAL_OUTSTOCK",
		lineKeys{customer: "FCustomerID", material: "FMaterialID", stock: "FStockID"}, wmsStock)
}

// TestIntegrationJushuitanReturnsToKingdee: the same for confirmed receipts
// of returns and SAL_RETURNSTOCK, the stock named by the receiving warehouse.
func TestIntegrationJushuitanReturnsToKingdee(t *testing.T) {
	runTwice(t, "jushuitan_returns_to_kingdee", sbjst.DatasetReceived, "SAL_RETURNSTOCK",
		lineKeys{customer: "FRetcustId", material: "FMaterialId", stock: "FStockId"}, nameStock)
}
