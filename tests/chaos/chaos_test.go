package chaos

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	sbkis "github.com/erpsync/erpsync/sandbox/kis"
)

const (
	// skusnRecords flows over 30 days: one page per daily window, ~32
	// windows, so a pass takes several seconds at the vendor's 5 calls/s.
	skusnRecords = 1500
	// inoutRecords bills, about a sixth of them confirmed 其它退货 to write: ~90 KIS
	// creates at KIS's 10 calls/s.
	inoutRecords = 600

	errorRate   = 0.1
	timeoutRate = 0.05
	mutateRate  = 0.6
	rowFailRate = 0.1
	// Jushuitan tokens and KIS tokens and sessions expire every few seconds,
	// so every run renews them, some more than once.
	jstTokenTTL   = 4 * time.Second
	kisTokenTTL   = 3 * time.Second
	kisSessionTTL = 5 * time.Second

	// vendorSkew: the Jushuitan sandbox's clock runs this far behind
	// erpsync's. A document changed while it is paged gets the vendor's
	// "now" as its modified time; the shipped configs close windows a
	// minute before now (window.lag), so without the skew the final run
	// would have to wait a minute of wall time to see the last changes. Two
	// minutes is inside the configs' 10 min lookback, so it also exercises
	// documents that change behind the checkpoint.
	vendorSkew = 2 * time.Minute

	// Answer faults of the Jushuitan sandbox (the ways a real server
	// surprises a client): each seed answers in another order (answerOrder),
	// and these shares of answers carry no list, a total off by a few, rows
	// of the previous page again, or a page cut short; some unique-code
	// flows have a modified_time hours after their create_time.
	answerFaultRate     = 0.05
	modifiedAfterCreate = 0.05
	// Page sizes below the shipped ones (the configs read them from the
	// environment), so windows span several pages and the page-level
	// faults (duplicates, short pages, totals moving between pages) have
	// pages to strike.
	skusnPageSize = "20"
	inoutPageSize = "15"

	// finalTimeout: a final run may have to read every window (no kill left
	// a checkpoint) under Jushuitan's 100 calls a minute, at small pages.
	finalTimeout = 5 * time.Minute

	createPath = "/koas/app007104/api/miscellaneousreceipt/create"
	// kisRefusal is how the kis output reports a bill the sandbox's KIS
	// refuses under row_fail_rate (code 20005).
	kisRefusal = "kis: " + createPath + ": code 20005"
)

// TestIntegrationChaos runs, for every seed, the two shipped pipelines side
// by side, each against sandboxes of its own, with every fault on and
// erpsync killed with SIGKILL 3 to 5 times before a final run.
func TestIntegrationChaos(t *testing.T) {
	db := erpsynctest.OpenDB(t)
	// Each kind of answer fault must have struck somewhere in the run: a
	// page fault (duplicates, short pages, drifting totals) needs a page
	// to strike, and one scenario's dice may give it none.
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		dealt.mu.Lock()
		defer dealt.mu.Unlock()
		if missing := answerFaultsMissing(dealt.kinds, "null", "total_drift", "duplicate", "short_page"); len(missing) > 0 {
			t.Errorf("answer faults never dealt in the whole run: %v (dealt %v)", missing, dealt.kinds)
		}
	})
	for _, seed := range seeds(t) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			t.Run("jushuitan_skusn_to_mysql", func(t *testing.T) {
				t.Parallel()
				chaosSkusnToMySQL(t, seed, db)
			})
			t.Run("jushuitan_other_inout_to_kis", func(t *testing.T) {
				t.Parallel()
				chaosOtherInoutToKIS(t, seed)
			})
		})
	}
}

// jushuitanSource starts a Jushuitan sandbox with its clock vendorSkew
// behind, errors, token expiry and mutation on, and timeouts injected by
// the front that never lose the answer of a token refresh: Jushuitan's
// refresh token is single-use, so a refresh served whose answer is lost
// strands the merchant until someone authorizes the app again, whatever the
// client does (see the report of this suite). Everything else may lose its
// answer.
func jushuitanSource(t *testing.T, seed uint64, records int) *front {
	t.Helper()
	o := sandbox.DefaultOptions()
	o.Seed, o.Records = seed, records
	o.Faults = core.Faults{ErrorRate: errorRate, TokenTTL: core.Duration(jstTokenTTL), MutateRate: mutateRate,
		Answers: core.AnswerFaults{
			Order: answerOrder(seed), ModifiedAfterCreate: modifiedAfterCreate, NullRate: answerFaultRate,
			TotalDriftRate: answerFaultRate, DuplicateRate: answerFaultRate, ShortPageRate: answerFaultRate,
		}}
	o.Now = func() time.Time { return time.Now().Add(-vendorSkew) }
	f := startFront(t, o)
	f.timeouts(timeoutRate, sbjst.PathRefreshToken)
	return f
}

func jushuitanEnv(f *front) []string {
	j := sbjst.DefaultConfig()
	return []string{
		"JST_BASE_URL=" + f.url, "JST_APP_KEY=" + j.AppKey, "JST_APP_SECRET=" + j.AppSecret,
		"JST_ACCESS_TOKEN=" + j.AccessToken, "JST_REFRESH_TOKEN=" + j.RefreshToken,
	}
}

// answerOrder is the order a seed's Jushuitan sandbox answers in: seeds
// 1, 2, 3 (the default run) descending by the window's field, in a random
// order fixed per query, and by id descending; later seeds cycle through
// every order the sandbox has.
func answerOrder(seed uint64) string {
	orders := []string{"desc", "random", "id_desc", "asc", "id_asc"}
	return orders[(seed+uint64(len(orders))-1)%uint64(len(orders))]
}

// beforeFinal turns the mutation off for the final run when a change
// moves documents across windows (other in/out bills: the final run must
// converge), keeps it on where it cannot (unique-code flows keep their
// create_time), and keeps every other fault. It also expires the
// credentials in force at every sandbox given, so the final run renews
// them whatever the kills left: whether a seed's kills happened to outlast
// a token lifetime does not decide whether renewal is exercised.
func beforeFinal(s *scenario, stopMutating bool, src *front, others ...*front) {
	s.t.Helper()
	faults := src.sb.Env().Faults()
	if stopMutating {
		faults.MutateRate = 0
	}
	if err := src.sb.SetFaults(faults); err != nil {
		s.fatalf("%v", err)
	}
	for _, f := range append([]*front{src}, others...) {
		f.sb.ExpireTokens()
	}
}

// dealt sums the answer faults of every scenario of the run, by kind.
var dealt = struct {
	mu    sync.Mutex
	kinds map[string]int
}{kinds: map[string]int{}}

// answerFaults sums the answer faults a sandbox dealt, by kind, and adds
// them to the run's total.
func answerFaults(f *front, vendor string) map[string]int {
	out := map[string]int{}
	for _, kinds := range f.sb.Stats().Faults[vendor] {
		for k, n := range kinds {
			out[k] += n
		}
	}
	dealt.mu.Lock()
	defer dealt.mu.Unlock()
	for k, n := range out {
		dealt.kinds[k] += n
	}
	return out
}

// answerFaultsTotal is how many answer faults were dealt in all.
func answerFaultsTotal(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// answerFaultsMissing names the kinds of answer fault expected on an
// interface that the sandbox never dealt.
func answerFaultsMissing(got map[string]int, kinds ...string) []string {
	var out []string
	for _, k := range kinds {
		if got[k] == 0 {
			out = append(out, k)
		}
	}
	return out
}

// faultsStruck sums the faults a sandbox and its front dealt.
func faultsStruck(f *front, vendor string) (errors, timeouts int) {
	st := f.sb.Env().Stats
	return st.Count(vendor, "", "http_500") + st.Count(vendor, "", "http_502"),
		st.Count(vendor, "", "timeout") + f.injectedTimeouts()
}

// mutated counts the documents of a dataset changed at least once.
func mutated(f *front, dataset string) int {
	n := 0
	for _, d := range f.sb.Env().Dataset(dataset).Truth() {
		if d.Version > 1 {
			n++
		}
	}
	return n
}

// chaosSkusnToMySQL: config/streams/jushuitan_skusn_to_mysql.yaml. Latest
// content: every flow's row holds, in `raw`, exactly the flow as the vendor
// serves it now (mutation changes its remark and create time).
func chaosSkusnToMySQL(t *testing.T, seed uint64, db *sql.DB) {
	src := jushuitanSource(t, seed, skusnRecords)
	table := fmt.Sprintf("chaos_skusn_%d_%d", seed, time.Now().UnixNano()%1e9)
	if _, err := db.Exec("DROP TABLE IF EXISTS `" + table + "`"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS `" + table + "`") })
	const stream = "jushuitan_skusn_to_mysql"
	s := newScenario(t, seed, stream,
		append(jushuitanEnv(src), "MYSQL_DSN="+erpsynctest.MySQLDSN(), "JST_SKUSN_TABLE="+table, "JST_SKUSN_PAGE_SIZE="+skusnPageSize),
		point{what: "source page", f: src, path: sbjst.PathSkusn, most: 4})

	s.crash()
	beforeFinal(s, false, src)
	s.finish(finalTimeout)

	truth := src.sb.Env().Dataset(sbjst.DatasetSkusn).FullTruth()
	got := map[string][]byte{}
	rows, err := db.Query("SELECT source_id, raw FROM `" + table + "`")
	if err != nil {
		s.fatalf("reading the target table %s: %v", table, err)
	}
	for rows.Next() {
		var id string
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			s.fatalf("%v", err)
		}
		if _, dup := got[id]; dup {
			s.errorf("flow %s is in the table twice", id)
		}
		got[id] = raw
	}
	if err := rows.Close(); err != nil {
		s.fatalf("%v", err)
	}

	var missing, stale, extra []string
	known := make(map[string]bool, len(truth))
	for _, d := range truth {
		known[d.ID] = true
		raw, ok := got[d.ID]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (version %d, modified %s)", d.ID, d.Version, d.Modified))
			continue
		}
		var have, want map[string]any
		wantRaw, _ := json.Marshal(d.Document)
		if json.Unmarshal(raw, &have) != nil || json.Unmarshal(wantRaw, &want) != nil {
			stale = append(stale, fmt.Sprintf("%s: target %s is not JSON", d.ID, raw))
			continue
		}
		if d.ServedVersion < d.Version {
			// Changed after the sandbox last served it: a create-time
			// window never shows that change (the create time does not
			// move), so the row holds the version last served, which only
			// differs in its remark and modified_time.
			v, ok := flowVersion(have["remark"])
			delete(have, "remark")
			delete(want, "remark")
			delete(have, "modified_time")
			delete(want, "modified_time")
			if !ok || v > d.ServedVersion {
				stale = append(stale, fmt.Sprintf("%s: remark %v of a version the sandbox never served (served %d, truth %d)", d.ID, raw, d.ServedVersion, d.Version))
				continue
			}
		}
		if !reflect.DeepEqual(have, want) {
			stale = append(stale, fmt.Sprintf("%s: target %s, source (version %d, served %d) %s", d.ID, raw, d.Version, d.ServedVersion, wantRaw))
		}
	}
	for id := range got {
		if !known[id] {
			extra = append(extra, id)
		}
	}
	report(s, "flows missing from the target", missing)
	report(s, "rows not holding the flow's latest content", stale)
	report(s, "rows of no source flow", extra)

	// The generated flows all have their keys, and MySQL refuses none:
	// nothing may be dead-lettered.
	dead := readDeadLetters(s, filepath.Join(s.state, "dead_letters", stream+".jsonl"))
	for _, d := range dead {
		s.errorf("dead letter for %s, a flow the pipeline must write: %s", d.SourceID, d.Error)
	}

	changed := mutated(src, sbjst.DatasetSkusn)
	errs, timeouts := faultsStruck(src, sbjst.Vendor)
	renewals := src.sb.Env().Stats.Count(sbjst.Vendor, sbjst.PathRefreshToken, "0")
	answers := answerFaults(src, sbjst.Vendor)
	if changed == 0 || renewals == 0 || errs+timeouts == 0 || answerFaultsTotal(answers) == 0 {
		s.errorf("the chaos did not happen: %d flows changed, %d token renewals, %d errors, %d timeouts, %d answer faults",
			changed, renewals, errs, timeouts, answerFaultsTotal(answers))
	}
	s.summary("%d flows, %d rows, %d changed while paged, %d token renewals, %d 5xx, %d unanswered calls, answers in %s order with faults %v",
		len(truth), len(got), changed, renewals, errs, timeouts, answerOrder(s.seed), answers)
}

// flowVersion reads the version out of a remark the sandbox's mutation
// wrote ("流水备注已更新（第3版）"); a generated remark is version 1.
func flowVersion(remark any) (int, bool) {
	r, _ := remark.(string)
	if m := flowRemarkVersion.FindStringSubmatch(r); m != nil {
		v, err := strconv.Atoi(m[1])
		return v, err == nil
	}
	return 1, true
}

var flowRemarkVersion = regexp.MustCompile(`^流水备注已更新（第(\d+)版）$`)

// bill is the part of a Jushuitan other in/out bill the KIS mapping reads.
type bill struct {
	IoID      int64  `json:"io_id"`
	IoDate    string `json:"io_date"`
	Status    string `json:"status"`
	Type      string `json:"type"`
	SoID      string `json:"so_id"`
	Remark    string `json:"remark"`
	Warehouse string `json:"warehouse"`
	Items     []struct {
		SkuID      string  `json:"sku_id"`
		Qty        float64 `json:"qty"`
		Unit       string  `json:"unit"`
		CostPrice  float64 `json:"cost_price"`
		CostAmount float64 `json:"cost_amount"`
	} `json:"items"`
	version int
}

// stocks is the warehouse table of config/resources/jushuitan_kis_mapping.yaml.
var stocks = map[string]string{"主仓": "CK001", "销退仓": "CK002", "进货仓": "CK003", "次品仓": "CK004"}

// rejection is why the mapping must reject b, or "".
func (b bill) rejection() string {
	switch {
	case len(b.Items) == 0:
		return "no items (明细为空)"
	case stocks[b.Warehouse] == "":
		return "has no KIS warehouse number"
	}
	for i, it := range b.Items {
		if it.Qty <= 0 {
			return fmt.Sprintf("line %d: qty", i+1)
		}
	}
	return ""
}

// remarkVersion matches the remark the sandbox's mutation writes.
var remarkVersion = regexp.MustCompile(`^备注已更新（第(\d+)版）$`)

// chaosOtherInoutToKIS: config/streams/jushuitan_other_inout_to_kis.yaml,
// Jushuitan and KIS in two sandboxes (KIS on the real clock: its
// credentials carry absolute expiry times, which a skewed clock would make
// look expired to the client from the start).
//
// Latest content: KIS bills are created once and never updated (the
// ledger skips a bill already written), so a bill holds the content of the
// version first written. The sandbox's mutation changes a bill's remark
// and row version (ts) only, so the head (number, date, warehouse, type)
// and the lines (material, unit, quantities, price, amount) of every bill
// must equal the source's latest; the note (Fnote) carries the remark of a
// version the bill really had, never a later one.
func chaosOtherInoutToKIS(t *testing.T, seed uint64) {
	src := jushuitanSource(t, seed, inoutRecords)
	o := sandbox.DefaultOptions()
	o.Seed, o.Records = seed, inoutRecords
	o.Faults = core.Faults{
		ErrorRate: errorRate, TimeoutRate: timeoutRate, RowFailRate: rowFailRate,
		TokenTTL: core.Duration(kisTokenTTL), SessionTTL: core.Duration(kisSessionTTL),
	}
	kis := startFront(t, o)
	k := sbkis.DefaultConfig()
	// Lifetimes are read when a credential is checked: shortening them
	// while erpsync runs expires credentials it still takes for fresh, so
	// KIS answers "expired" and the output must renew and send again.
	flip := func(r *rand.Rand) func() {
		token := time.Duration(1+r.IntN(4)) * time.Second
		session := token + time.Duration(r.IntN(4))*time.Second
		return func() {
			f := kis.sb.Env().Faults()
			f.TokenTTL, f.SessionTTL = core.Duration(token), core.Duration(session)
			_ = kis.sb.SetFaults(f)
		}
	}
	const stream = "jushuitan_other_inout_to_kis"
	s := newScenario(t, seed, stream, append(jushuitanEnv(src),
		"KIS_BASE_URL="+kis.url, "KIS_CLIENT_ID="+k.ClientID, "KIS_CLIENT_SECRET="+k.ClientSecret,
		"KIS_AUTH_CODE="+k.AuthCode, "KIS_ACCT_NUMBER="+k.AcctNumber, "KIS_PID="+k.PID, "KIS_ICRMID="+k.ICRMID,
		// The sandbox's KIS knows the catalog SKUs as material numbers.
		"KIS_MATERIAL_FALLBACK_TO_SKU=true", "JST_INOUT_PAGE_SIZE="+inoutPageSize),
		point{what: "source page", f: src, path: sbjst.PathOtherInout, most: 3},
		point{what: "KIS create", f: kis, path: createPath, most: 15})
	s.flip = flip

	s.crash()
	beforeFinal(s, true, src, kis)
	s.finish(finalTimeout)

	// What the pipeline must do with each source bill.
	written := map[string]bill{}
	rejected := map[string]string{} // io_id -> text its dead letter must hold
	for _, d := range src.sb.Env().Dataset(sbjst.DatasetOtherInout).FullTruth() {
		raw, _ := json.Marshal(d.Document)
		var b bill
		if err := json.Unmarshal(raw, &b); err != nil {
			s.fatalf("source bill %s: %v", d.ID, err)
		}
		b.version = d.Version
		switch {
		case b.Type != "其它退货" || b.Status != "Confirmed":
		case b.rejection() != "":
			rejected[d.ID] = b.rejection()
		case kis.sb.Env().RowFails("kis:" + d.ID):
			rejected[d.ID] = kisRefusal
		default:
			written[d.ID] = b
		}
	}
	if len(written) == 0 || len(rejected) == 0 {
		s.fatalf("degenerate sample: %d bills to write, %d to reject", len(written), len(rejected))
	}

	// KIS holds every bill to write, once, with its content.
	docs := kisBills(s, kis)
	seen := map[string]bool{}
	var missing, unexpected, twice, wrong []string
	for _, d := range docs {
		b, ok := written[d.Number]
		if !ok {
			unexpected = append(unexpected, fmt.Sprintf("%s (%s)", d.Number, orText(rejected[d.Number], "not a confirmed 其它退货 bill")))
			continue
		}
		if seen[d.Number] || d.Writes != 1 {
			twice = append(twice, fmt.Sprintf("%s (%d writes)", d.Number, d.Writes))
		}
		seen[d.Number] = true
		if why := billMismatch(b, d); why != "" {
			wrong = append(wrong, d.Number+": "+why)
		}
	}
	for id, b := range written {
		if !seen[id] {
			missing = append(missing, fmt.Sprintf("%s (version %d)", id, b.version))
		}
	}
	report(s, "bills missing from KIS", missing)
	report(s, "bills in KIS that must not be", unexpected)
	report(s, "bills written more than once", twice)
	report(s, "bills whose content is not the source's", wrong)

	// Every dead letter names a bill the mapping or KIS really rejected,
	// and every such bill is there (at least once: a bill refused before a
	// kill is refused again on the replay).
	dead := readDeadLetters(s, filepath.Join(s.state, "dead_letters", stream+".jsonl"))
	count := map[string]int{}
	for _, d := range dead {
		want, ok := rejected[d.SourceID]
		switch {
		case !ok:
			s.errorf("dead letter for %s, which the sandbox did not reject: %s", d.SourceID, d.Error)
		case d.Stream != stream || !strings.Contains(d.Error, want) || !strings.Contains(d.Error, d.SourceID):
			s.errorf("dead letter for %s: stream %q, error %q; want the bill number and %q", d.SourceID, d.Stream, d.Error, want)
		case !bytes.Contains(d.Payload, []byte(d.SourceID)):
			s.errorf("dead letter for %s: payload %s does not name the bill", d.SourceID, d.Payload)
		}
		count[d.SourceID]++
	}
	var undead []string
	repeated := 0
	for id, why := range rejected {
		switch {
		case count[id] == 0:
			undead = append(undead, id+" ("+why+")")
		case count[id] > 1:
			repeated++
		}
	}
	sort.Strings(undead)
	report(s, "rejected bills missing from the dead letter", undead)

	changed := mutated(src, sbjst.DatasetOtherInout)
	jErrs, jTimeouts := faultsStruck(src, sbjst.Vendor)
	kErrs, kTimeouts := faultsStruck(kis, sbkis.Vendor)
	st := kis.sb.Env().Stats
	renewals := src.sb.Env().Stats.Count(sbjst.Vendor, sbjst.PathRefreshToken, "0")
	kisRenewals := st.Count(sbkis.Vendor, "/koas/user/refresh_login_access_token", "0") +
		st.Count(sbkis.Vendor, "/koas/user/refresh_auth_data", "0") + st.Count(sbkis.Vendor, "/koas/oauth2/access_token", "0")
	answers := answerFaults(src, sbjst.Vendor)
	if changed == 0 || renewals == 0 || kisRenewals == 0 || jErrs+jTimeouts+kErrs+kTimeouts == 0 || answerFaultsTotal(answers) == 0 {
		s.errorf("the chaos did not happen: %d bills changed, %d Jushuitan and %d KIS credential renewals, %d+%d errors, %d+%d timeouts, %d answer faults",
			changed, renewals, kisRenewals, jErrs, kErrs, jTimeouts, kTimeouts, answerFaultsTotal(answers))
	}
	s.summary("%d bills written, %d rejected (%d dead letters, %d bills more than once), %d changed while paged, answers in %s order with faults %v, "+
		"%d Jushuitan and %d KIS credential renewals, %d KIS creates (%d expired-credential answers), 5xx %d+%d, unanswered %d+%d",
		len(seen), len(rejected), len(dead), repeated, changed, answerOrder(s.seed), answers, renewals, kisRenewals,
		st.Count(sbkis.Vendor, createPath, ""), st.Count(sbkis.Vendor, createPath, "40101")+st.Count(sbkis.Vendor, createPath, "40102")+
			st.Count(sbkis.Vendor, createPath, "40103")+st.Count(sbkis.Vendor, createPath, "40104"),
		jErrs, kErrs, jTimeouts, kTimeouts)
}

type kisDoc struct {
	Number string `json:"number"`
	Writes int    `json:"writes"`
	Data   struct {
		Head  map[string]any   `json:"Head"`
		Entry []map[string]any `json:"Entry"`
	} `json:"data"`
}

func kisBills(s *scenario, f *front) []kisDoc {
	s.t.Helper()
	rec := f.get("/_sandbox/kis/bills")
	var body struct {
		Documents []kisDoc `json:"documents"`
	}
	if err := json.Unmarshal(rec, &body); err != nil {
		s.fatalf("GET /_sandbox/kis/bills: %v", err)
	}
	return body.Documents
}

// billMismatch compares a KIS bill with its source bill; "" when it matches.
func billMismatch(b bill, d kisDoc) string {
	h := d.Data.Head
	stock := stocks[b.Warehouse]
	date := strings.Replace(b.IoDate, " ", "T", 1)
	if h["FBillNo"] != strconv.FormatInt(b.IoID, 10) || h["Fdate"] != date || h["FTranType"] != 10.0 ||
		h["FROB"] != 1.0 || h["FDCStockID"] != stock {
		return fmt.Sprintf("head %v, want FBillNo %d Fdate %s FTranType 10 FROB 1 FDCStockID %s", h, b.IoID, date, stock)
	}
	if why := noteMismatch(b, fmt.Sprint(h["Fnote"])); why != "" {
		return why
	}
	if len(d.Data.Entry) != len(b.Items) {
		return fmt.Sprintf("%d lines, the source has %d items", len(d.Data.Entry), len(b.Items))
	}
	for i, l := range d.Data.Entry {
		it := b.Items[i]
		if l["FItemID"] != it.SkuID || l["FUnitID"] != it.Unit || l["FQty"] != it.Qty || l["Fauxqty"] != it.Qty ||
			l["FAuxQtyMust"] != it.Qty || l["FPlanMode"] != 14036.0 || l["FDCStockID"] != stock ||
			l["FAuxPrice"] != it.CostPrice || l["Famount"] != it.CostAmount {
			return fmt.Sprintf("line %d: %v, from item %+v", i+1, l, it)
		}
	}
	return ""
}

// noteMismatch checks Fnote, "聚水潭其它退货[；线上单号<so_id>][；<remark>]":
// the remark must be one the bill had: the current one, or a changed one
// of a version not later than the current.
func noteMismatch(b bill, note string) string {
	parts := strings.Split(note, "；")
	if parts[0] != "聚水潭"+b.Type {
		return fmt.Sprintf("Fnote %q does not start with 聚水潭%s", note, b.Type)
	}
	parts = parts[1:]
	if b.SoID != "" {
		if len(parts) == 0 || parts[0] != "线上单号"+b.SoID {
			return fmt.Sprintf("Fnote %q lacks 线上单号%s", note, b.SoID)
		}
		parts = parts[1:]
	}
	remark := strings.Join(parts, "；")
	if remark == b.Remark {
		return ""
	}
	if m := remarkVersion.FindStringSubmatch(remark); m != nil {
		if v, _ := strconv.Atoi(m[1]); v <= b.version {
			return ""
		}
		return fmt.Sprintf("Fnote %q: remark of version %s, the bill is at version %d", note, m[1], b.version)
	}
	if b.version > 1 {
		return "" // the remark of version 1, which the truth no longer shows
	}
	return fmt.Sprintf("Fnote %q: remark %q, the bill's is %q", note, remark, b.Remark)
}

type deadLetter struct {
	Stream   string          `json:"stream"`
	SourceID string          `json:"source_id"`
	Error    string          `json:"error"`
	Payload  json.RawMessage `json:"payload"`
}

// readDeadLetters reads a dead-letter file; a line that is not JSON (a
// write cut short by a kill) fails the check.
func readDeadLetters(s *scenario, path string) []deadLetter {
	s.t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		s.fatalf("%v", err)
	}
	defer f.Close()
	var out []deadLetter
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		var d deadLetter
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			s.errorf("dead letter %s line %d is not JSON (%v): %.200s", path, n, err, sc.Text())
			continue
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		s.fatalf("%v", err)
	}
	return out
}

// report fails the check with the count and the first examples of bad.
func report(s *scenario, what string, bad []string) {
	s.t.Helper()
	if len(bad) == 0 {
		return
	}
	sort.Strings(bad)
	shown := bad
	if len(shown) > 5 {
		shown = shown[:5]
	}
	s.errorf("%d %s, e.g.:\n  %s", len(bad), what, strings.Join(shown, "\n  "))
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
