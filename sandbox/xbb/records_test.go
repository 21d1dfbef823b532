package xbb

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// readAll reads every page of iface with the body p (page and pageSize
// added) and checks the rows against totalCount.
func readAll(t *testing.T, ts *testServer, iface string, p map[string]any) []listItem {
	t.Helper()
	var out []listItem
	for page := 1; page <= 1000; page++ {
		body := map[string]any{"corpid": ts.cfg.Corpid, "page": page, "pageSize": 100}
		for k, v := range p {
			body[k] = v
		}
		l := decodeList(t, ts.call(t, iface, body))
		out = append(out, l.List...)
		if int64(page) >= l.TotalPage {
			if int64(len(out)) != l.TotalCount {
				t.Fatalf("%s: read %d rows, totalCount %d", iface, len(out), l.TotalCount)
			}
			return out
		}
	}
	t.Fatalf("%s: too many pages", iface)
	return nil
}

func fen(t *testing.T, v any) int64 {
	t.Helper()
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("amount %v (%T) is not a number", v, v)
	}
	n := math.Round(f * 100)
	if math.Abs(f*100-n) > 1e-6 {
		t.Fatalf("amount %v is finer than a fen", f)
	}
	return int64(n)
}

var mobile = regexp.MustCompile(`^1[3-9]\d{9}$`)

func TestCustomerListAndRecycleBin(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 400})
	mustFail(t, ts.call(t, "customer/list", map[string]any{"corpid": ts.cfg.Corpid}), codeFormError, "formId")
	mustFail(t, ts.call(t, "customer/list", map[string]any{"corpid": ts.cfg.Corpid, "formId": productFormID}), codeFormError, "表单不存在")
	mustFail(t, ts.call(t, "customer/list", map[string]any{"corpid": ts.cfg.Corpid, "formId": CustomerFormID, "del": 2}), codeParamError, "del")
	mustFail(t, ts.call(t, "customer/list", map[string]any{"corpid": "x", "formId": CustomerFormID}), codeCorpError, "corpid")

	live := readAll(t, ts, "customer/list", map[string]any{"formId": CustomerFormID})
	bin := readAll(t, ts, "customer/list", map[string]any{"formId": CustomerFormID, "del": 1})
	if len(bin) == 0 || len(live) <= len(bin) {
		t.Fatalf("%d customers listed, %d in the recycle bin", len(live), len(bin))
	}
	seen := map[string]bool{}
	for _, it := range append(append([]listItem{}, live...), bin...) {
		id := strconv.FormatInt(it.DataID, 10)
		if seen[id] {
			t.Fatalf("customer %s both listed and in the recycle bin", id)
		}
		seen[id] = true
		if want := len(seen) > len(live); it.Del == nil || (*it.Del == 1) != want {
			t.Fatalf("customer %s: del %v, in the recycle bin %v", id, it.Del, want)
		}
		name, _ := it.Data[keyCustName].(string)
		tel, _ := it.Data[keyCustMobile].(string)
		if it.FormID != CustomerFormID || !strings.HasSuffix(name, "公司") && !strings.HasSuffix(name, "商贸行") || !mobile.MatchString(tel) || it.AddTime > it.UpdateTime {
			t.Fatalf("customer item: %+v", it)
		}
	}
	truth := ts.env.Dataset(DatasetCustomers).Truth()
	if len(truth) != len(seen) {
		t.Fatalf("list and recycle bin hold %d customers, the truth %d", len(seen), len(truth))
	}
	for _, d := range truth {
		if !seen[d.ID] {
			t.Fatalf("customer %s neither listed nor in the recycle bin", d.ID)
		}
	}

	// isPublic splits the list; a public-sea customer has no owner.
	pub := readAll(t, ts, "customer/list", map[string]any{"formId": CustomerFormID, "isPublic": 1})
	priv := readAll(t, ts, "customer/list", map[string]any{"formId": CustomerFormID, "isPublic": 0})
	if len(pub) == 0 || len(pub)+len(priv) != len(live) {
		t.Fatalf("public sea %d + others %d != %d listed", len(pub), len(priv), len(live))
	}
	for _, it := range pub {
		if _, ok := it.Data[keyOwnerID]; ok {
			t.Fatalf("public-sea customer with an owner: %+v", it)
		}
	}
	for _, it := range priv {
		if _, ok := it.Data[keyOwnerID]; !ok {
			t.Fatalf("customer outside the public sea without an owner: %+v", it)
		}
	}
}

func TestContractsLinkCustomersAndProducts(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 300})
	// formId is optional on contract/list; another form's id is refused.
	mustFail(t, ts.call(t, "contract/list", map[string]any{"corpid": ts.cfg.Corpid, "formId": CustomerFormID}), codeFormError, "表单不存在")
	contracts := readAll(t, ts, "contract/list", nil)
	if len(contracts) != 300 {
		t.Fatalf("%d contracts, want 300", len(contracts))
	}
	if n := len(readAll(t, ts, "contract/list", map[string]any{"formId": ContractFormID})); n != len(contracts) {
		t.Fatalf("with formId %d contracts, without %d", n, len(contracts))
	}
	customers := map[int64]listItem{}
	for _, del := range []int{0, 1} {
		for _, it := range readAll(t, ts, "customer/list", map[string]any{"formId": CustomerFormID, "del": del}) {
			customers[it.DataID] = it
		}
	}
	products := map[int64]listItem{}
	for _, it := range readAll(t, ts, "product/list", nil) {
		products[it.DataID] = it
	}
	byCustomer := map[int64]int{}
	statuses := map[string]int{}
	for _, c := range contracts {
		links, _ := c.Data[keyContCustomer].([]any)
		if len(links) != 1 {
			t.Fatalf("contract %d: customer link %v", c.DataID, c.Data[keyContCustomer])
		}
		l, _ := links[0].(map[string]any)
		cid := int64(l["id"].(float64))
		cust, ok := customers[cid]
		if !ok || cust.Data[keyCustName] != l["name"] {
			t.Fatalf("contract %d links customer %v, not one of the customers", c.DataID, l)
		}
		if c.AddTime < cust.AddTime || c.AddTime > c.UpdateTime {
			t.Fatalf("contract %d created %d, its customer %d, updated %d", c.DataID, c.AddTime, cust.AddTime, c.UpdateTime)
		}
		byCustomer[cid]++
		statuses[c.Data[keyContStatus].(string)]++
		lines, _ := c.Data[keyContLines].([]any)
		if len(lines) == 0 {
			t.Fatalf("contract %d has no product lines", c.DataID)
		}
		var sum int64
		for _, x := range lines {
			line := x.(map[string]any)
			p, ok := products[int64(line[keyLineProduct].(float64))]
			if !ok || p.Data[keySerialNo] != line[keyLineSerial] || p.Data[keyName] != line[keyLineName] {
				t.Fatalf("contract %d line %v: no such product", c.DataID, line)
			}
			qty := int64(line[keyLineQty].(float64))
			sub := fen(t, line[keyLineSubtotal])
			if qty < 1 || sub != qty*fen(t, line[keyLinePrice]) {
				t.Fatalf("contract %d line %v: subtotal is not quantity × price", c.DataID, line)
			}
			sum += sub
		}
		if fen(t, c.Data[keyContAmount]) != sum {
			t.Fatalf("contract %d: amount %v, lines sum to %d fen", c.DataID, c.Data[keyContAmount], sum)
		}
	}
	for _, s := range contractStatuses {
		if statuses[s] == 0 {
			t.Fatalf("no contract %s among %v", s, statuses)
		}
	}

	// A condition on the linked customer selects its contracts.
	var cid int64
	for id, n := range byCustomer {
		if n > byCustomer[cid] {
			cid = id
		}
	}
	got := readAll(t, ts, "contract/list", map[string]any{"conditions": []map[string]any{{"attr": keyContCustomer, "symbol": "equal", "value": []any{cid}}}})
	if len(got) != byCustomer[cid] {
		t.Fatalf("contracts of customer %d: %d, want %d", cid, len(got), byCustomer[cid])
	}
	mustFail(t, ts.call(t, "contract/list", map[string]any{"corpid": ts.cfg.Corpid,
		"conditions": []map[string]any{{"attr": keyContLines, "symbol": "equal", "value": []any{1}}}}), codeParamError, keyContLines)
}

// TestCustomerChangedWhileRead: the mutate fault changes a customer the
// query covers after a page is cut: its remark carries the new version and
// its updateTime moves, as with products.
func TestCustomerChangedWhileRead(t *testing.T) {
	now := fixedNow
	ts := newTestServer(t, core.Options{Records: 100, Now: func() time.Time { return now }})
	if err := ts.env.SetFaults(core.Faults{MutateRate: 1}); err != nil {
		t.Fatal(err)
	}
	now = fixedNow.Add(time.Hour)
	decodeList(t, ts.call(t, "customer/list", map[string]any{"corpid": ts.cfg.Corpid, "formId": CustomerFormID, "page": 1, "pageSize": 10}))
	ds := ts.env.Dataset(DatasetCustomers)
	var changed []core.Doc
	for _, d := range ds.Select(func(d *core.Doc) bool { return d.Version > 1 }, nil) {
		changed = append(changed, d)
	}
	if len(changed) != 1 {
		t.Fatalf("%d customers changed, want 1", len(changed))
	}
	d := changed[0]
	if d.Body[keyCustRemark] != "跟进更新 v2" || !d.Modified.Equal(now) {
		t.Fatalf("changed customer: %+v", d)
	}
	// The next read sees it at its new updateTime, with the new remark.
	if err := ts.env.SetFaults(core.Faults{}); err != nil {
		t.Fatal(err)
	}
	del := 0
	if cs := ts.sim.customers; cs.del[cs.posOf(d.ID)] {
		del = 1
	}
	all := readAll(t, ts, "customer/list", map[string]any{"formId": CustomerFormID, "del": del})
	for _, it := range all {
		if strconv.FormatInt(it.DataID, 10) == d.ID {
			if it.UpdateTime != now.Unix() || it.Data[keyCustRemark] != "跟进更新 v2" {
				t.Fatalf("served %+v", it)
			}
			return
		}
	}
	t.Fatalf("customer %s not served again", d.ID)
}

// TestAnswerFaultsPerDataset: Faults.Interfaces["xbb_contracts"] reorders
// contract/list only; customer/list and product/list keep their order.
func TestAnswerFaultsPerDataset(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 120})
	cust := map[string]any{"formId": CustomerFormID}
	before := map[string][]int64{
		"contract/list": dataIDs(readAll(t, ts, "contract/list", nil)),
		"customer/list": dataIDs(readAll(t, ts, "customer/list", cust)),
		"product/list":  dataIDs(readAll(t, ts, "product/list", nil)),
	}
	if err := ts.env.SetFaults(core.Faults{Interfaces: core.InterfaceFaults{DatasetContracts: {Order: core.OrderDesc}}}); err != nil {
		t.Fatal(err)
	}
	got := dataIDs(readAll(t, ts, "contract/list", nil))
	if want := slices.Clone(before["contract/list"]); !slices.Equal(got, slicesReversed(want)) {
		t.Fatalf("contract/list under order desc: %v, want the reverse of %v", got, want)
	}
	if !slices.Equal(dataIDs(readAll(t, ts, "customer/list", cust)), before["customer/list"]) ||
		!slices.Equal(dataIDs(readAll(t, ts, "product/list", nil)), before["product/list"]) {
		t.Fatal("a fault of xbb_contracts changed another list")
	}
}

func slicesReversed(s []int64) []int64 {
	slices.Reverse(s)
	return s
}
