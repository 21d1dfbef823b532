// Package kis runs the shipped Jushuitan → KIS stream configs end to end
// against the sandbox: config/streams/jushuitan_other_inout_to_kis.yaml, its
// Kafka split (jushuitan_other_inout_to_kafka.yaml + kafka_to_kis.yaml)
// through an in-process Kafka broker, and the MySQL material map.
package kis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/go-sql-driver/mysql"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	sbkis "github.com/erpsync/erpsync/sandbox/kis"
)

const (
	records     = 400
	rowFailRate = 0.15
	createPath  = "/koas/app007104/api/miscellaneousreceipt/create"
	stockTable  = "主仓=CK001 销退仓=CK002 进货仓=CK003 次品仓=CK004"
	// kisRefusal is how the kis output reports a bill the sandbox's KIS
	// refuses under row_fail_rate.
	kisRefusal = "kis: " + createPath + ": code 20005"
)

// item and bill are the parts of a Jushuitan other in/out bill the mapping reads.
type item struct {
	SkuID      string  `json:"sku_id"`
	Qty        float64 `json:"qty"`
	Unit       string  `json:"unit"`
	CostPrice  float64 `json:"cost_price"`
	CostAmount float64 `json:"cost_amount"`
}

type bill struct {
	IoID      int64  `json:"io_id"`
	IoDate    string `json:"io_date"`
	Status    string `json:"status"`
	Type      string `json:"type"`
	Warehouse string `json:"warehouse"`
	Items     []item `json:"items"`
}

func (b bill) id() string { return strconv.FormatInt(b.IoID, 10) }

// startSandbox starts a sandbox whose clock runs two minutes behind: the
// shipped configs close windows a minute before now (window.lag), and every
// generated bill must be old enough to be read in one run.
func startSandbox(t *testing.T, faults core.Faults) *sandbox.Server {
	t.Helper()
	return streamtest.StartSandbox(t, records, func(o *sandbox.Options) {
		o.Limits = false
		o.Faults = faults
		o.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	})
}

// sourceBills reads every other in/out bill from the sandbox's Jushuitan API
// with requests signed here (no filter, by row version), independently of
// the input under test.
func sourceBills(t *testing.T, sb *sandbox.Server) []bill {
	t.Helper()
	cfg := sbjst.DefaultConfig()
	var out []bill
	for page := 1; ; page++ {
		biz, _ := json.Marshal(map[string]any{"start_ts": 0, "page_index": page, "page_size": 50})
		form := map[string]string{
			"app_key": cfg.AppKey, "access_token": cfg.AccessToken, "timestamp": strconv.FormatInt(time.Now().Unix(), 10),
			"charset": "utf-8", "version": "2", "biz": string(biz),
		}
		form["sign"] = sbjst.Sign(form, cfg.AppSecret)
		vals := url.Values{}
		for k, v := range form {
			vals.Set(k, v)
		}
		resp, err := http.PostForm(sb.URL()+sbjst.PathOtherInout, vals)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
			Data struct {
				HasNext bool   `json:"has_next"`
				Datas   []bill `json:"datas"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || env.Code != 0 {
			t.Fatalf("reading the source bills, page %d: code %d %s %v", page, env.Code, env.Msg, err)
		}
		out = append(out, env.Data.Datas...)
		if !env.Data.HasNext {
			break
		}
	}
	if len(out) != records {
		t.Fatalf("read %d source bills, the sandbox has %d", len(out), records)
	}
	return out
}

// expectation sorts the source bills by what the pipeline must do with them.
type expectation struct {
	written  map[string]bill   // land in KIS once
	rejected map[string]string // io_id -> text the dead-letter reason must contain
	ignored  int               // not read at all (other types, unconfirmed)
}

func expect(t *testing.T, sb *sandbox.Server, bills []bill, reject func(b bill) string) expectation {
	t.Helper()
	e := expectation{written: map[string]bill{}, rejected: map[string]string{}}
	for _, b := range bills {
		switch {
		case b.Type != "其它退货" || b.Status != "Confirmed":
			e.ignored++
		case len(b.Items) == 0:
			e.rejected[b.id()] = "no items (明细为空)"
		case reject != nil && reject(b) != "":
			e.rejected[b.id()] = reject(b)
		case sb.Env().RowFails("kis:" + b.id()):
			e.rejected[b.id()] = kisRefusal // KIS's own validation answer
		default:
			e.written[b.id()] = b
		}
	}
	// The sample must exercise every path, or the test proves little.
	if len(e.written) == 0 || len(e.rejected) == 0 || e.ignored == 0 {
		t.Fatalf("degenerate sample: %d to write, %d to reject, %d to ignore", len(e.written), len(e.rejected), e.ignored)
	}
	t.Logf("%d bills to write, %d to reject, %d to ignore", len(e.written), len(e.rejected), e.ignored)
	return e
}

func stockNumber(name string) string {
	for _, kv := range strings.Fields(stockTable) {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

type kisDoc struct {
	Number string `json:"number"`
	Writes int    `json:"writes"`
	Data   struct {
		Head  map[string]any   `json:"Head"`
		Entry []map[string]any `json:"Entry"`
	} `json:"data"`
}

func kisBills(t *testing.T, sb *sandbox.Server) []kisDoc {
	t.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/kis/bills")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Documents []kisDoc `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Documents
}

func createCalls(sb *sandbox.Server) int { return sb.Stats().Requests[sbkis.Vendor][createPath] }

// material is what the KIS bill line must carry for a source item.
type material func(it item) (itemID, unit string)

// fallbackMaterial: KIS_MATERIAL_FALLBACK_TO_SKU, material number = sku_id.
func fallbackMaterial(it item) (string, string) { return it.SkuID, it.Unit }

// checkKIS asserts that KIS holds exactly the bills to write, each written
// once, with the mapped content.
func checkKIS(t *testing.T, sb *sandbox.Server, e expectation, mat material) {
	t.Helper()
	docs := kisBills(t, sb)
	seen := map[string]bool{}
	for _, d := range docs {
		b, ok := e.written[d.Number]
		if !ok {
			t.Errorf("KIS holds bill %s, which should not have been written (%s)", d.Number, e.rejected[d.Number])
			continue
		}
		if seen[d.Number] || d.Writes != 1 {
			t.Errorf("bill %s: written %d times, listed twice: %v", d.Number, d.Writes, seen[d.Number])
		}
		seen[d.Number] = true
		h := d.Data.Head
		stock := stockNumber(b.Warehouse)
		wantDate := strings.Replace(b.IoDate, " ", "T", 1)
		if h["FBillNo"] != b.id() || h["Fdate"] != wantDate || h["FTranType"] != 10.0 || h["FROB"] != 1.0 || h["FDCStockID"] != stock {
			t.Errorf("bill %s: head %v, want FBillNo %s Fdate %s FTranType 10 FROB 1 FDCStockID %s", d.Number, h, b.id(), wantDate, stock)
		}
		if len(d.Data.Entry) != len(b.Items) {
			t.Errorf("bill %s: %d lines, the source has %d items", d.Number, len(d.Data.Entry), len(b.Items))
			continue
		}
		for i, l := range d.Data.Entry {
			it := b.Items[i]
			id, unit := mat(it)
			if l["FItemID"] != id || l["FUnitID"] != unit || l["FQty"] != it.Qty || l["Fauxqty"] != it.Qty ||
				l["FAuxQtyMust"] != it.Qty || l["FPlanMode"] != 14036.0 || l["FDCStockID"] != stock ||
				l["FAuxPrice"] != it.CostPrice || l["Famount"] != it.CostAmount {
				t.Errorf("bill %s line %d: %v, from item %+v (want FItemID %s FUnitID %s)", d.Number, i+1, l, it, id, unit)
			}
		}
	}
	if len(seen) != len(e.written) {
		t.Errorf("KIS holds %d of the %d bills to write", len(seen), len(e.written))
	}
}

// checkDeadLetters asserts that the dead letter holds every rejected bill
// times times, with its reason, and nothing else.
func checkDeadLetters(t *testing.T, path, stream string, e expectation, times int) {
	t.Helper()
	count := map[string]int{}
	for i, d := range streamtest.ReadDeadLetters(t, path) {
		if i < 3 && testing.Verbose() {
			t.Logf("dead letter, e.g.: %s: %s", d.SourceID, d.Error)
		}
		want, ok := e.rejected[d.SourceID]
		switch {
		case !ok:
			t.Errorf("dead letter holds %s, which should have been written or ignored: %s", d.SourceID, d.Error)
		case d.Stream != stream || !strings.Contains(d.Error, want) || d.At == "":
			t.Errorf("dead letter of %s: stream %q, error %q (want it to contain %q), at %q", d.SourceID, d.Stream, d.Error, want, d.At)
		case !bytes.Contains(d.Payload, []byte(d.SourceID)):
			t.Errorf("dead letter of %s: payload %s does not name the bill", d.SourceID, d.Payload)
		}
		count[d.SourceID]++
	}
	for id := range e.rejected {
		if count[id] != times {
			t.Errorf("bill %s is %d times in the dead letter, want %d (%s)", id, count[id], times, e.rejected[id])
		}
	}
}

// baseEnv is the environment of a run against the sandbox: credentials,
// state, a start 31 days back and an end once caught up.
func baseEnv(sb *sandbox.Server, state string, extra ...string) []string {
	j, k := sbjst.DefaultConfig(), sbkis.DefaultConfig()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"JST_BASE_URL=" + sb.URL(), "JST_APP_KEY=" + j.AppKey, "JST_APP_SECRET=" + j.AppSecret,
		"JST_ACCESS_TOKEN=" + j.AccessToken, "JST_REFRESH_TOKEN=" + j.RefreshToken,
		"KIS_BASE_URL=" + sb.URL(), "KIS_CLIENT_ID=" + k.ClientID, "KIS_CLIENT_SECRET=" + k.ClientSecret,
		"KIS_AUTH_CODE=" + k.AuthCode, "KIS_ACCT_NUMBER=" + k.AcctNumber, "KIS_PID=" + k.PID, "KIS_ICRMID=" + k.ICRMID,
		"ERPSYNC_STATE_DIR=" + state,
		"SYNC_START=" + time.Now().Add(-31*24*time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP=true",
	}
	return append(env, extra...)
}

func streamCmd(ctx context.Context, t *testing.T, env []string, stream string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	resources := erpsynctest.Path("config/resources/erpsync.yaml") + "," + erpsynctest.Path("config/resources/jushuitan_kis_mapping.yaml")
	cmd := exec.CommandContext(ctx, erpsynctest.Binary(t), "--log.level", "warn", "--set", "http.enabled=false", "-r", resources, "run", erpsynctest.Path("config/streams/"+stream+".yaml"))
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// runToEnd runs a stream that ends by itself (STOP_WHEN_CAUGHT_UP).
func runToEnd(t *testing.T, env []string, stream string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, out := streamCmd(ctx, t, env, stream)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", stream, err, out)
	}
}

// TestIntegrationJushuitanOtherInoutToKIS: every confirmed 其它退货 bill with
// items lands in KIS once with the mapped content; bills without items and
// bills KIS refuses are in the dead letter with their reason; other bills go
// nowhere. A second run over the same windows writes nothing: the ledger
// skips every written bill without calling KIS, and the dead-letter file
// still holds each refused bill once.
func TestIntegrationJushuitanOtherInoutToKIS(t *testing.T) {
	sb := startSandbox(t, core.Faults{RowFailRate: rowFailRate})
	e := expect(t, sb, sourceBills(t, sb), nil)
	state := erpsynctest.StateDir(t)
	env := baseEnv(sb, state, "KIS_MATERIAL_FALLBACK_TO_SKU=true")
	dead := filepath.Join(state, "dead_letters", "jushuitan_other_inout_to_kis.jsonl")

	runToEnd(t, env, "jushuitan_other_inout_to_kis")
	checkKIS(t, sb, e, fallbackMaterial)
	checkDeadLetters(t, dead, "jushuitan_other_inout_to_kis", e, 1)
	calls := createCalls(sb)
	if t.Failed() {
		return
	}

	streamtest.ForgetCheckpoint(t, state, "jushuitan_other_inout_to_kis")
	runToEnd(t, env, "jushuitan_other_inout_to_kis")
	checkKIS(t, sb, e, fallbackMaterial)
	// The same bills failed the same way: the file keeps one line per failure.
	checkDeadLetters(t, dead, "jushuitan_other_inout_to_kis", e, 1)
	// Only the bills KIS refused are sent again; the written ones are in the ledger.
	kisRefused := 0
	for _, why := range e.rejected {
		if why == kisRefusal {
			kisRefused++
		}
	}
	if got := createCalls(sb) - calls; got != kisRefused {
		t.Errorf("second run: %d create calls, want %d (only the bills KIS refused)", got, kisRefused)
	}
}

// TestIntegrationJushuitanKISMaterialMapMySQL: the material map in a MySQL
// table (KIS_MATERIAL_MAP=kis_material_map_mysql) with KIS's internal ids as
// materials and no fallback: bills whose every sku_id is mapped are written
// with the mapped material and unit; a sku_id missing from the table or a
// broken entry rejects the bill with that reason.
func TestIntegrationJushuitanKISMaterialMapMySQL(t *testing.T) {
	sb := startSandbox(t, core.Faults{})
	db := erpsynctest.OpenDB(t)
	table := fmt.Sprintf("e2e_kis_material_map_%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + table) })
	if _, err := db.Exec("CREATE TABLE " + table + " (`key` VARBINARY(1024) NOT NULL PRIMARY KEY, `value` LONGBLOB NOT NULL, `expires_at` DATETIME(6) NULL, KEY `expires_at` (`expires_at`))"); err != nil {
		t.Fatal(err)
	}
	source := sourceBills(t, sb)
	// The sandbox's KIS knows a material by its number (the sku_id) and by
	// its internal id (catalog position + 1): map to the ids, so a line that
	// bypassed the table would not match. Every 13th SKU is missing, the
	// first SKU of the first bill to write has an entry without a material,
	// every 3rd is a bare id (the item's unit is sent), the others carry the
	// unit number.
	var broken string
	for _, b := range source {
		if b.Type == "其它退货" && b.Status == "Confirmed" && len(b.Items) > 0 {
			broken = b.Items[0].SkuID
			break
		}
	}
	catalog := core.Catalog(sb.Env().Seed)
	want := map[string][2]string{}
	missing := map[string]bool{}
	for i, sku := range catalog {
		var v string
		switch {
		case i%13 == 6 && sku.ID != broken:
			missing[sku.ID] = true
			continue
		case sku.ID == broken:
			v = `{"FUnitID":"Pcs"}`
		case i%3 == 0:
			v = strconv.Itoa(i + 1)
			want[sku.ID] = [2]string{v, sku.Unit}
		default:
			v = fmt.Sprintf(`{"FItemID":"%d","FUnitID":"%s"}`, i+1, sku.UnitN)
			want[sku.ID] = [2]string{strconv.Itoa(i + 1), sku.UnitN}
		}
		if _, err := db.Exec("INSERT INTO "+table+" (`key`, `value`) VALUES (?, ?)", sku.ID, v); err != nil {
			t.Fatal(err)
		}
	}
	brokenBills := 0
	e := expect(t, sb, source, func(b bill) string {
		for i, it := range b.Items {
			if it.SkuID == broken {
				brokenBills++
				return fmt.Sprintf("line %d: the material map entry of sku_id %q is neither a material number nor", i+1, it.SkuID)
			}
			if missing[it.SkuID] {
				return fmt.Sprintf("line %d: sku_id %q has no KIS material in the material map kis_material_map_mysql (物料未对照)", i+1, it.SkuID)
			}
		}
		return ""
	})
	if brokenBills == 0 || len(missing) == 0 {
		t.Fatalf("the sample has no bill with the broken entry %s", broken)
	}
	// The database is unreachable at first (a proxy refusing connections):
	// the lookups are retried, nothing is written or dead-lettered, and once
	// it answers the run completes as if nothing had happened.
	proxy := startProxy(t, mysqlAddr(t))
	state := erpsynctest.StateDir(t)
	dead := filepath.Join(state, "dead_letters", "jushuitan_other_inout_to_kis.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, out := streamCmd(ctx, t, baseEnv(sb, state, "KIS_MATERIAL_MAP=kis_material_map_mysql", "KIS_MATERIAL_MAP_TABLE="+table,
		"MYSQL_DSN="+proxy.dsn(t), "KIS_MATERIAL_FALLBACK_TO_SKU=false"), "jushuitan_other_inout_to_kis")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for proxy.refused.Load() < 3 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the lookup tried the database %d times in 60s\n%s", proxy.refused.Load(), out)
		}
		time.Sleep(20 * time.Millisecond) // polling another process, not synchronising goroutines
	}
	if n := len(kisBills(t, sb)); n != 0 {
		t.Errorf("%d bills written while the material map was unreachable", n)
	}
	if d := streamtest.ReadDeadLetters(t, dead); len(d) != 0 {
		t.Errorf("an unreachable material map dead-lettered bills: %s", d[0].Error)
	}
	proxy.open.Store(true)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("jushuitan_other_inout_to_kis: %v\n%s", err, out)
	}
	checkKIS(t, sb, e, func(it item) (string, string) { m := want[it.SkuID]; return m[0], m[1] })
	checkDeadLetters(t, dead, "jushuitan_other_inout_to_kis", e, 1)
}

func mysqlAddr(t *testing.T) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(erpsynctest.MySQLDSN())
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Addr
}

// proxy forwards TCP connections to the database once open is set, and
// closes them at once before, counting the refusals.
type proxy struct {
	ln      net.Listener
	target  string
	open    atomic.Bool
	refused atomic.Int64
	mu      sync.Mutex
	conns   []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.open.Load() {
				p.refused.Add(1)
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

// dsn is MYSQL_DSN pointed at the proxy.
func (p *proxy) dsn(t *testing.T) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(erpsynctest.MySQLDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = p.ln.Addr().String()
	return cfg.FormatDSN()
}

// TestIntegrationJushuitanKISThroughKafka: the Kafka split gives the same
// outcome as the direct pipeline. The producer publishes the bills, the
// consumer group writes them to KIS; then every bill is published again
// (checkpoint forgotten) and the consumer writes nothing new.
func TestIntegrationJushuitanKISThroughKafka(t *testing.T) {
	const topic, group = "e2e.jushuitan.other_inout", "e2e-kis"
	sb := startSandbox(t, core.Faults{RowFailRate: rowFailRate})
	e := expect(t, sb, sourceBills(t, sb), nil)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addrs := cluster.ListenAddrs()
	state := erpsynctest.StateDir(t)
	env := baseEnv(sb, state, "KIS_MATERIAL_FALLBACK_TO_SKU=true",
		"KAFKA_ADDRESSES="+strings.Join(addrs, ","), "KAFKA_TOPIC="+topic, "KAFKA_GROUP="+group)
	dead := filepath.Join(state, "dead_letters", "kafka_to_kis.jsonl")
	target := len(e.written) + len(e.rejected)

	runToEnd(t, env, "jushuitan_other_inout_to_kafka")
	if n := highWater(t, addrs, topic); n != int64(target) {
		t.Fatalf("the producer published %d records, want %d (confirmed 其它退货 bills)", n, target)
	}
	consume(t, env, addrs, topic, group)
	checkKIS(t, sb, e, fallbackMaterial)
	checkDeadLetters(t, dead, "kafka_to_kis", e, 1)
	calls := createCalls(sb)
	if t.Failed() {
		return
	}

	streamtest.ForgetCheckpoint(t, state, "jushuitan_other_inout_to_kafka")
	runToEnd(t, env, "jushuitan_other_inout_to_kafka")
	if n := highWater(t, addrs, topic); n != 2*int64(target) {
		t.Fatalf("after republishing the topic holds %d records, want %d", n, 2*target)
	}
	consume(t, env, addrs, topic, group)
	checkKIS(t, sb, e, fallbackMaterial)
	// The same bills failed the same way: the file keeps one line per failure.
	checkDeadLetters(t, dead, "kafka_to_kis", e, 1)
	kisRefused := 0
	for _, why := range e.rejected {
		if why == kisRefusal {
			kisRefused++
		}
	}
	if got := createCalls(sb) - calls; got != kisRefused {
		t.Errorf("second consumer run: %d create calls, want %d (only the bills KIS refused)", got, kisRefused)
	}
}

// consume runs kafka_to_kis until its group has committed every record of
// the topic, then stops it as an operator would (SIGINT).
func consume(t *testing.T, env []string, addrs []string, topic, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, out := streamCmd(ctx, t, env, "kafka_to_kis")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	hw := highWater(t, addrs, topic)
	deadline := time.Now().Add(90 * time.Second)
	for committed(t, addrs, topic, group) < hw {
		select {
		case err := <-done:
			t.Fatalf("kafka_to_kis ended before consuming everything: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("kafka_to_kis committed %d of %d records in 90s\n%s", committed(t, addrs, topic, group), hw, out)
		}
		time.Sleep(100 * time.Millisecond) // polling another process, not synchronising goroutines
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("kafka_to_kis did not stop cleanly: %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("kafka_to_kis did not stop within 30s of SIGINT\n%s", out)
	}
}

func saramaClient(t *testing.T, addrs []string) sarama.Client {
	t.Helper()
	c, err := sarama.NewClient(addrs, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// highWater is the number of records in the topic (sum of the partitions'
// newest offsets; nothing is ever deleted).
func highWater(t *testing.T, addrs []string, topic string) int64 {
	t.Helper()
	c := saramaClient(t, addrs)
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range parts {
		off, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		n += off
	}
	return n
}

// committed is the sum of the group's committed offsets over the topic.
func committed(t *testing.T, addrs []string, topic, group string) int64 {
	t.Helper()
	c := saramaClient(t, addrs)
	defer c.Close()
	admin, err := sarama.NewClusterAdminFromClient(c)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: parts})
	if err != nil {
		return 0 // group not there yet
	}
	var n int64
	for _, p := range parts {
		if b := resp.GetBlock(topic, p); b != nil && b.Offset > 0 {
			n += b.Offset
		}
	}
	return n
}
