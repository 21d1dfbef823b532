// Package mysqlsinks runs the shipped stream configs that write vendor data
// into MySQL (config/streams/xbb_products_to_mysql.yaml and
// jushuitan_skusn_to_mysql.yaml) unchanged, with the real erpsync binary,
// against the sandbox and a real MariaDB/MySQL at $MYSQL_DSN.
//
// A proxy between the binary and the sandbox adds a few documents the
// sandbox never generates (no serialNo, a time that does not parse, a value
// too long for its column, optional fields left empty), so the rejection
// and dead-letter paths run end to end too.
package mysqlsinks

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	sbxbb "github.com/erpsync/erpsync/sandbox/xbb"
)

// repoRoot is where config/ lives, seen from this package's directory.
const repoRoot = "../../.."

// erpsyncBin is the binary under test: $ERPSYNC_BIN when tests/run.sh built
// it already, otherwise built once in TestMain.
var erpsyncBin string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	if bin := os.Getenv("ERPSYNC_BIN"); bin != "" {
		erpsyncBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "erpsync-mysqlsinks")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	erpsyncBin = filepath.Join(dir, "erpsync")
	if out, err := exec.Command("go", "build", "-o", erpsyncBin, repoRoot+"/cmd/erpsync").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building erpsync: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// uniqueTable returns a table name no other run uses and drops it at the end.
func uniqueTable(t *testing.T, db *sql.DB, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()%1e10)
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS `" + name + "`") })
	return name
}

// startSandbox starts a sandbox whose clock runs two minutes behind, so every
// generated document is older than the window lag (1m) of the configs and a
// run that stops when caught up has read them all.
func startSandbox(t *testing.T, records int) *sandbox.Server {
	t.Helper()
	return streamtest.StartSandbox(t, records, func(o *sandbox.Options) {
		o.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	})
}

// runStream runs the shipped config name with the shared resources and env
// (on top of PATH and HOME only), until it stops by itself.
func runStream(t *testing.T, name string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, erpsyncBin,
		"-r", repoRoot+"/config/resources/erpsync.yaml",
		// The HTTP server (metrics, ping) is off so that runs of several
		// test packages do not compete for its port; the file is unchanged.
		"run", "--set", "http.enabled=false", repoRoot+"/config/streams/"+name+".yaml")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("erpsync run %s: %v\n%s", name, err, out)
	}
	if testing.Verbose() {
		t.Logf("erpsync run %s:\n%s", name, out)
	}
}

// proxy forwards to the sandbox; edit may change an answer of the vendor
// (decoded JSON) and returns whether it did.
type proxy struct {
	*httptest.Server
	mu   sync.Mutex
	edit func(path string, answer map[string]any) bool
}

func newProxy(t *testing.T, target string, edit func(path string, answer map[string]any) bool) *proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{edit: edit}
	rp := httputil.NewSingleHostReverseProxy(u)
	director := rp.Director
	rp.Director = func(r *http.Request) {
		director(r)
		r.Header.Del("Accept-Encoding") // answers stay plain JSON, so they can be edited
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var answer map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&answer) == nil {
			p.mu.Lock()
			changed := p.edit(resp.Request.URL.Path, answer)
			p.mu.Unlock()
			if changed {
				if body, err = json.Marshal(answer); err != nil {
					return err
				}
			}
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	p.Server = httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p
}

// locked runs f holding the lock edit runs under, to read what edit wrote.
func (p *proxy) locked(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
}

// deadLetter is one line of a dead-letter file.
type deadLetter struct {
	Stream   string         `json:"stream"`
	SourceID string         `json:"source_id"`
	Error    string         `json:"error"`
	Payload  map[string]any `json:"payload"`
	At       string         `json:"at"`
}

func readDeadLetters(t *testing.T, path string) map[string]deadLetter {
	t.Helper()
	out := map[string]deadLetter{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var d deadLetter
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("dead letter line %q is not JSON: %v", sc.Text(), err)
		}
		if _, dup := out[d.SourceID]; dup {
			t.Errorf("source %s is dead-lettered twice", d.SourceID)
		}
		out[d.SourceID] = d
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkDeadLetters asserts the file holds exactly want (source id -> text
// the reason must contain), each with a payload.
func checkDeadLetters(t *testing.T, path, stream string, want map[string]string) {
	t.Helper()
	got := readDeadLetters(t, path)
	for id, reason := range want {
		d, ok := got[id]
		switch {
		case !ok:
			t.Errorf("%s: source %s is not in the dead letter (want reason %q)", stream, id, reason)
		case !strings.Contains(d.Error, reason):
			t.Errorf("%s: dead letter of %s: error %q, want it to mention %q", stream, id, d.Error, reason)
		case d.Stream != stream || d.Payload == nil || d.At == "":
			t.Errorf("%s: dead letter of %s is incomplete: %+v", stream, id, d)
		}
	}
	for id, d := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: unexpected dead letter %s: %s", stream, id, d.Error)
		}
	}
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

const dbTime = "2006-01-02 15:04:05"

func nullStr(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	return s.String
}

// sameDecimal compares a DECIMAL column with the source value (a number or
// numeric string; nil or "" for NULL).
func sameDecimal(col sql.NullString, src any) bool {
	var s string
	switch v := src.(type) {
	case nil:
		return !col.Valid
	case string:
		if strings.TrimSpace(v) == "" {
			return !col.Valid
		}
		s = v
	default:
		s = fmt.Sprint(v)
	}
	want, err1 := strconv.ParseFloat(s, 64)
	got, err2 := strconv.ParseFloat(col.String, 64)
	return col.Valid && err1 == nil && err2 == nil && math.Abs(got-want) < 0.00005
}

// ---------------------------------------------------------------------------
// XBB products

type productRow struct {
	serial, name, spec, unit, price, cost, addTime, updateTime sql.NullString
	dataID                                                     sql.NullInt64
	raw                                                        sql.NullString
}

func readProducts(t *testing.T, db *sql.DB, table string) map[string]productRow {
	t.Helper()
	rows, err := db.Query("SELECT serial_no, data_id, name, spec, unit, price, cost, add_time, update_time, raw FROM `" + table + "`")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]productRow{}
	for rows.Next() {
		var r productRow
		if err := rows.Scan(&r.serial, &r.dataID, &r.name, &r.spec, &r.unit, &r.price, &r.cost, &r.addTime, &r.updateTime, &r.raw); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[r.serial.String]; dup {
			t.Fatalf("serial_no %s twice in the table", r.serial.String)
		}
		out[r.serial.String] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The products the proxy adds to the first non-empty page.
const (
	xbbNoSerial = 9900001 // no serialNo anywhere: rejected by the mapping
	xbbTopLevel = 9900002 // serialNo at the top level only: lands
	xbbTooLong  = 9900003 // name longer than VARCHAR(255): refused by MySQL
)

func injectProducts(injected *bool) func(string, map[string]any) bool {
	return func(path string, answer map[string]any) bool {
		if *injected || !strings.HasSuffix(path, "/product/list") {
			return false
		}
		result, _ := answer["result"].(map[string]any)
		list, _ := result["list"].([]any)
		if len(list) == 0 {
			return false
		}
		first, _ := list[0].(map[string]any)
		item := func(id int, top map[string]any, data map[string]any) map[string]any {
			m := map[string]any{"dataId": id, "formId": first["formId"], "addTime": first["addTime"], "updateTime": first["updateTime"], "data": data}
			maps.Copy(m, top)
			return m
		}
		result["list"] = append(list,
			item(xbbNoSerial, nil, map[string]any{"text_1": "无编号产品（测试）", "num_1": 9.9}),
			item(xbbTopLevel, map[string]any{"serialNo": "TOP-9900002"}, map[string]any{"text_1": "顶层编号产品", "text_3": "件", "num_1": 19.9}),
			item(xbbTooLong, nil, map[string]any{"serialNo": "LONG-9900003", "text_1": strings.Repeat("长", 300)}),
		)
		*injected = true
		return true
	}
}

// TestIntegrationXBBProductsToMySQL runs xbb_products_to_mysql.yaml twice on
// one state directory. The first run backfills 31 days: every product lands
// once with its mapped content, the rejected ones are dead-lettered with the
// reason. Between the runs some products are edited with an updateTime 30
// minutes before the first run's checkpoint: only the one-hour overlap
// makes the second run see them, and the upsert updates their rows in place.
func TestIntegrationXBBProductsToMySQL(t *testing.T) {
	const records = 2500 // about 80 a day: windows of one and two pages
	db := erpsynctest.OpenDB(t)
	sb := startSandbox(t, records)
	injected := false
	px := newProxy(t, sb.URL(), injectProducts(&injected))
	table := uniqueTable(t, db, "it_xbb_products")
	state := erpsynctest.StateDir(t)
	creds := sbxbb.DefaultConfig()
	env := map[string]string{
		"XBB_BASE_URL":        px.URL,
		"XBB_CORPID":          creds.Corpid,
		"XBB_TOKEN":           creds.Token,
		"XBB_USER_ID":         creds.UserID,
		"MYSQL_DSN":           erpsynctest.MySQLDSN(),
		"XBB_PRODUCTS_TABLE":  table,
		"SYNC_START":          time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP": "true",
		"ERPSYNC_STATE_DIR":   state,
	}
	deadLetters := filepath.Join(state, "dead_letters", "xbb_products_to_mysql.jsonl")
	ds := sb.Env().Dataset("xbb_products")

	runStream(t, "xbb_products_to_mysql", env)
	firstEnd := time.Now()
	px.locked(func() {
		if !injected {
			t.Error("the proxy never saw a product page to add the test products to")
		}
	})
	checkProducts(t, db, table, ds)
	checkDeadLetters(t, deadLetters, "xbb_products_to_mysql", map[string]string{
		strconv.Itoa(xbbNoSerial): "has no serialNo",
		strconv.Itoa(xbbTooLong):  "Data too long",
	})

	// Edit the five oldest products, dating the change 30 minutes before
	// now: behind the first run's checkpoint, inside the lookback.
	at := sb.Env().Now().Add(-30 * time.Minute).Truncate(time.Second)
	var edited []string
	for _, d := range ds.Select(nil, func(a, b *core.Doc) bool { return a.Modified.Before(b.Modified) })[:5] {
		if !ds.Touch(d.ID, at) {
			t.Fatalf("could not edit product %s", d.ID)
		}
		edited = append(edited, d.ID)
	}
	refreshProductIndex(t, sb.URL(), creds)
	// A run plans a new window only once now - lag has moved a second past
	// the checkpoint; the first run ended just now, so let the clock pass.
	<-time.After(time.Until(firstEnd.Add(2 * time.Second)))
	runStream(t, "xbb_products_to_mysql", env)
	rows := checkProducts(t, db, table, ds)
	for _, id := range edited {
		d, _ := ds.Get(id)
		r := rows[d.Body["serialNo"].(string)]
		if !strings.HasSuffix(r.name.String, " v2") || r.updateTime.String != at.In(shanghai).Format(dbTime) {
			t.Errorf("edited product %s: row has name %q, update_time %s; want the edit (v2 at %s)",
				id, r.name.String, r.updateTime.String, at.In(shanghai).Format(dbTime))
		}
	}
	// The second run re-read an hour of already written products: no new
	// dead letters, no duplicates (checked by checkProducts).
	checkDeadLetters(t, deadLetters, "xbb_products_to_mysql", map[string]string{
		strconv.Itoa(xbbNoSerial): "has no serialNo",
		strconv.Itoa(xbbTooLong):  "Data too long",
	})
}

// refreshProductIndex asks the sandbox for the first page of products (the
// oldest, where the edited ones were). The sandbox's product/list keeps an
// index by updateTime that notices an edit made behind its back
// (Dataset.Touch) only when it serves an edited product; without this call
// the edited products would stay at their old place in the index.
func refreshProductIndex(t *testing.T, base string, creds sbxbb.Config) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"corpid": creds.Corpid, "userId": creds.UserID, "page": 1, "pageSize": 100})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(body, creds.Token...)) // XBB sign: hex(sha256(body || token))
	// The run just spent the company's 20 calls a second: back off on the
	// sandbox's rate-limit answer, as a client would.
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(http.MethodPost, base+"/pro/v2/api/product/list", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("sign", hex.EncodeToString(sum[:]))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var answer struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		}
		err = json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		switch {
		case err == nil && answer.Code == 1:
			return
		case err == nil && strings.Contains(answer.Msg, "请求频率") && attempt < 20:
			<-time.After(250 * time.Millisecond)
		default:
			t.Fatalf("sandbox product/list: code %d %s (%v)", answer.Code, answer.Msg, err)
		}
	}
}

// checkProducts asserts the table holds every source product once, with
// its current content, plus the injected top-level-serialNo product.
func checkProducts(t *testing.T, db *sql.DB, table string, ds *core.Dataset) map[string]productRow {
	t.Helper()
	rows := readProducts(t, db, table)
	truth := ds.Truth()
	if want := len(truth) + 1; len(rows) != want {
		t.Errorf("table holds %d products, want %d (the source's %d and TOP-9900002)", len(rows), want, len(truth))
	}
	for _, td := range truth {
		d, _ := ds.Get(td.ID)
		body, mod := d.Body, d.Modified
		serial, _ := body["serialNo"].(string)
		r, ok := rows[serial]
		if !ok {
			t.Errorf("product %s (%s) is not in the table", td.ID, serial)
			continue
		}
		add, _ := body["addTime"].(int64)
		checks := []struct {
			col       string
			got, want any
		}{
			{"data_id", strconv.FormatInt(r.dataID.Int64, 10), td.ID},
			{"name", nullStr(r.name), body["text_1"]},
			{"spec", nullStr(r.spec), body["text_2"]},
			{"unit", nullStr(r.unit), body["text_3"]},
			{"add_time", r.addTime.String, time.Unix(add, 0).In(shanghai).Format(dbTime)},
			{"update_time", r.updateTime.String, mod.In(shanghai).Format(dbTime)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("product %s: %s = %v, want %v", serial, c.col, c.got, c.want)
			}
		}
		if !sameDecimal(r.price, body["num_1"]) || !sameDecimal(r.cost, body["num_2"]) {
			t.Errorf("product %s: price %v cost %v, want %v and %v", serial, nullStr(r.price), nullStr(r.cost), body["num_1"], body["num_2"])
		}
		var raw struct {
			DataID json.Number `json:"dataId"`
		}
		if err := json.Unmarshal([]byte(r.raw.String), &raw); err != nil || raw.DataID.String() != td.ID {
			t.Errorf("product %s: raw %q does not hold the list item (dataId %s)", serial, r.raw.String, td.ID)
		}
	}
	top, ok := rows["TOP-9900002"]
	if !ok || top.name.String != "顶层编号产品" || top.unit.String != "件" || top.dataID.Int64 != xbbTopLevel || top.spec.Valid {
		t.Errorf("product with a top-level serialNo: row %+v (present %v)", top, ok)
	}
	return rows
}

// ---------------------------------------------------------------------------
// Jushuitan unique-code flows

// inoutNames is the test's own reading of the inout_type codes (vendor doc
// 5.3), to check the mapping against.
var inoutNames = map[int64]string{
	1: "采购进仓", 2: "采购退货", 3: "销售出仓", 4: "销售退货", 5: "调拨出仓", 6: "调拨进仓",
	7: "盘点", 8: "差异调整", 9: "结算", 10: "领料出库", 11: "领料退回", 12: "期初",
	13: "其它出库", 14: "其它进仓", 15: "发票", 16: "加工出仓", 17: "加工进仓", 18: "其它退货",
}

const (
	jstBadTime = "99000001:SNBAD0000001" // create_time does not parse: rejected by the mapping
	jstSparse  = "99000002:SNOPT0000002" // optional fields empty: lands with NULLs
)

// served records the flows the vendor answered, by source id (last answer wins).
type served map[string]map[string]any

func injectFlows(injected *bool, seen served) func(string, map[string]any) bool {
	return func(path string, answer map[string]any) bool {
		if !strings.HasSuffix(path, "/skusn/queryinoutitemskusns") {
			return false
		}
		list, _ := answer["data"].([]any)
		for _, it := range list {
			if f, ok := it.(map[string]any); ok {
				seen[fmt.Sprintf("%v:%v", f["io_id"], f["sku_sn"])] = f
			}
		}
		if *injected || len(list) == 0 {
			return false
		}
		first, _ := list[0].(map[string]any)
		bad := maps.Clone(first)
		bad["io_id"], bad["sku_sn"], bad["create_time"] = 99000001, "SNBAD0000001", "2024-13-45 99:00:00"
		sparse := map[string]any{
			"io_id": 99000002, "sku_sn": "SNOPT0000002", "inout_type": 14, "sku_id": "SKU-可选",
			"o_id": "", "cost_price": "", "remark": "无供应商流水", "create_time": first["create_time"],
		}
		answer["data"] = append(list, bad, sparse)
		*injected = true
		return true
	}
}

type flowRow struct {
	ioID                                                       int64
	sn, sourceID, oID, typeName, skuID, costPrice, costAmount  sql.NullString
	remark, supplierID, supplierName, createTime, modifiedTime sql.NullString
	inoutType                                                  sql.NullInt64
}

func readFlows(t *testing.T, db *sql.DB, table string) map[string]flowRow {
	t.Helper()
	rows, err := db.Query("SELECT io_id, sku_sn, source_id, o_id, inout_type, inout_type_name, sku_id, cost_price, cost_amount, remark, supplier_id, supplier_name, create_time, modified_time FROM `" + table + "`")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]flowRow{}
	for rows.Next() {
		var r flowRow
		if err := rows.Scan(&r.ioID, &r.sn, &r.sourceID, &r.oID, &r.inoutType, &r.typeName, &r.skuID, &r.costPrice, &r.costAmount,
			&r.remark, &r.supplierID, &r.supplierName, &r.createTime, &r.modifiedTime); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%d:%s", r.ioID, r.sn.String)
		if r.sourceID.String != id {
			t.Errorf("row %s has source_id %q", id, r.sourceID.String)
		}
		out[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIntegrationJushuitanSkusnToMySQL runs jushuitan_skusn_to_mysql.yaml
// over 31 days of flows: every flow lands once, keyed by (io_id, sku_sn),
// with its type decoded and its content as the vendor answered it; the flow
// whose create_time does not parse is dead-lettered with the reason. A
// second run from scratch (fresh state: no checkpoint) re-reads everything
// and leaves the table as it was.
func TestIntegrationJushuitanSkusnToMySQL(t *testing.T) {
	const records = 2000
	db := erpsynctest.OpenDB(t)
	sb := startSandbox(t, records)
	injected := false
	seen := served{}
	px := newProxy(t, sb.URL(), injectFlows(&injected, seen))
	table := uniqueTable(t, db, "it_jst_skusn")
	creds := sbjst.DefaultConfig()
	env := func(state string) map[string]string {
		return map[string]string{
			"JST_BASE_URL":        px.URL,
			"JST_APP_KEY":         creds.AppKey,
			"JST_APP_SECRET":      creds.AppSecret,
			"JST_ACCESS_TOKEN":    creds.AccessToken,
			"JST_REFRESH_TOKEN":   creds.RefreshToken,
			"MYSQL_DSN":           erpsynctest.MySQLDSN(),
			"JST_SKUSN_TABLE":     table,
			"SYNC_START":          time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339),
			"STOP_WHEN_CAUGHT_UP": "true",
			"ERPSYNC_STATE_DIR":   state,
		}
	}
	state := erpsynctest.StateDir(t)
	runStream(t, "jushuitan_skusn_to_mysql", env(state))
	px.locked(func() {
		if !injected {
			t.Error("the proxy never saw a flow page to add the test flows to")
		}
	})
	truth := sb.Env().Dataset(sbjst.DatasetSkusn).Truth()
	px.locked(func() { checkFlows(t, readFlows(t, db, table), truth, seen) })
	checkDeadLetters(t, filepath.Join(state, "dead_letters", "jushuitan_skusn_to_mysql.jsonl"), "jushuitan_skusn_to_mysql",
		map[string]string{jstBadTime: "2024-13-45"})

	runStream(t, "jushuitan_skusn_to_mysql", env(erpsynctest.StateDir(t)))
	px.locked(func() { checkFlows(t, readFlows(t, db, table), truth, seen) })
}

func checkFlows(t *testing.T, rows map[string]flowRow, truth []core.TruthDoc, seen served) {
	t.Helper()
	if want := len(truth) + 1; len(rows) != want {
		t.Errorf("table holds %d flows, want %d (the source's %d and %s)", len(rows), want, len(truth), jstSparse)
	}
	for _, td := range truth {
		r, ok := rows[td.ID]
		if !ok {
			t.Errorf("flow %s is not in the table", td.ID)
			continue
		}
		src := seen[td.ID]
		if src == nil {
			t.Errorf("flow %s is in the table but the vendor never answered it", td.ID)
			continue
		}
		code, _ := src["inout_type"].(json.Number).Int64()
		checks := []struct {
			col       string
			got, want any
		}{
			{"inout_type", r.inoutType.Int64, code},
			{"inout_type_name", r.typeName.String, inoutNames[code]},
			{"sku_id", r.skuID.String, src["sku_id"]},
			{"create_time", r.createTime.String, td.Created},
			{"modified_time", r.modifiedTime.String, src["modified_time"]},
			{"remark", nullStr(r.remark), emptyNil(src["remark"])},
			{"supplier_name", nullStr(r.supplierName), emptyNil(src["supplier_name"])},
			{"o_id", r.oID.String, src["o_id"]},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("flow %s: %s = %v, want %v", td.ID, c.col, c.got, c.want)
			}
		}
		if !sameDecimal(r.costPrice, src["cost_price"]) || !sameDecimal(r.costAmount, src["cost_amount"]) {
			t.Errorf("flow %s: cost_price %v cost_amount %v, want %v and %v", td.ID, nullStr(r.costPrice), nullStr(r.costAmount), src["cost_price"], src["cost_amount"])
		}
	}
	sp, ok := rows[jstSparse]
	if !ok || sp.oID.Valid || sp.costPrice.Valid || sp.costAmount.Valid || sp.supplierName.Valid || sp.modifiedTime.Valid ||
		sp.typeName.String != "其它进仓" || sp.remark.String != "无供应商流水" || sp.skuID.String != "SKU-可选" || !sp.createTime.Valid {
		t.Errorf("flow with empty optional fields: row %+v (present %v)", sp, ok)
	}
}

func emptyNil(v any) any {
	if s, ok := v.(string); ok && s == "" {
		return nil
	}
	return v
}
