// Package demo runs the shipped pipelines against an embedded sandbox and
// checks, against the sandbox's truth, that every source document reached
// its target or the dead letter: `erpsync demo`.
package demo

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	// The shipped configs use core components and every erpsync plugin.
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/config"
	_ "github.com/erpsync/erpsync/plugins/all"
	"github.com/erpsync/erpsync/plugins/kingdee"
	"github.com/erpsync/erpsync/sandbox"
)

// Options configure a demo run.
type Options struct {
	Records  int
	Seed     uint64
	MySQLDSN string
	// StateDir holds checkpoints, ledgers, dead letters and logs; "" uses a
	// fresh temporary folder.
	StateDir string
	// Live redraws the progress lines in place (a terminal).
	Live bool
	// Console, when set, keeps serving the console at ConsoleAddr after the
	// summary, until ctx ends; the streams then also write their dead
	// letters and records to MySQL.
	Console     bool
	ConsoleAddr string
}

// Result is one pipeline's outcome.
type Result struct {
	Title, Stream string
	Skipped       string // reason, when skipped
	Expected      int    // source documents the pipeline selects
	Read          int64  // documents the input emitted
	Written       int    // expected documents present in the target
	DeadLettered  int    // expected documents in the dead letter instead
	Missing       []string
	Unexpected    []string // target documents that are not expected
	Err           error
}

// OK is true when every expected document reached the target or the dead
// letter and nothing else reached the target.
func (r Result) OK() bool {
	return r.Skipped != "" || (r.Err == nil && len(r.Missing) == 0 && len(r.Unexpected) == 0)
}

type pipeline struct {
	title, stream string
	needsMySQL    bool
	// jushuitan pipelines share the app's rate limit: they run one at a time.
	jushuitan bool
	// expect returns source_id -> target key for the documents the pipeline
	// selects from the sandbox's truth.
	expect func(r *run) (map[string]string, error)
	// present returns the target keys written.
	present func(r *run) (map[string]bool, error)
	// setup, when set, prepares the target before the stream runs.
	setup func(ctx context.Context, r *run) error
}

var pipelines = []pipeline{
	{
		title: "Jushuitan returns -> KIS", stream: "jushuitan_other_inout_to_kis", jushuitan: true,
		expect: func(r *run) (map[string]string, error) {
			return r.truth("jushuitan_other_inout", func(d map[string]any) (string, bool) {
				if d["status"] != "Confirmed" || d["type"] != "其它退货" {
					return "", false
				}
				return idText(d["io_id"]), true
			})
		},
		present: func(r *run) (map[string]bool, error) { return r.targetNumbers("/_sandbox/kis/bills") },
	},
	{
		title: "Jushuitan sales-out -> K3Cloud", stream: "jushuitan_sales_out_to_kingdee", jushuitan: true,
		setup: addJushuitanCustomers,
		expect: func(r *run) (map[string]string, error) {
			return r.truth("jushuitan_saleout", func(d map[string]any) (string, bool) {
				if d["status"] != "Confirmed" {
					return "", false
				}
				return idText(d["io_id"]), true
			})
		},
		present: func(r *run) (map[string]bool, error) { return r.targetNumbers("/_sandbox/k3cloud/SAL_OUTSTOCK") },
	},
	{
		title: "Jushuitan purchase-in -> K3Cloud", stream: "jushuitan_purchase_in_to_kingdee", jushuitan: true,
		expect: func(r *run) (map[string]string, error) {
			return r.truth("jushuitan_purchasein", func(d map[string]any) (string, bool) {
				if d["status"] != "Confirmed" {
					return "", false
				}
				return idText(d["io_id"]), true
			})
		},
		present: func(r *run) (map[string]bool, error) { return r.targetNumbers("/_sandbox/k3cloud/STK_InStock") },
	},
	{
		title: "WDT shops -> K3Cloud customers", stream: "wdt_shops_to_kingdee_customers",
		expect: func(r *run) (map[string]string, error) {
			return r.truth("wdt_shops", func(d map[string]any) (string, bool) {
				if idText(d["is_disabled"]) != "0" {
					return "", false
				}
				return idText(d["shop_no"]), true
			})
		},
		present: func(r *run) (map[string]bool, error) {
			got, err := r.targetNumbers("/_sandbox/k3cloud/BD_Customer")
			// The Jushuitan shops' customers are the demo's own setup.
			for no := range jushuitanCustomers {
				delete(got, no)
			}
			return got, err
		},
	},
	{
		title: "XBB products -> MySQL", stream: "xbb_products_to_mysql", needsMySQL: true,
		expect: func(r *run) (map[string]string, error) {
			return r.truth("xbb_products", func(d map[string]any) (string, bool) {
				data, _ := d["data"].(map[string]any)
				sn := idText(d["serialNo"])
				if sn == "" && data != nil {
					sn = idText(data["serialNo"])
				}
				return sn, true
			})
		},
		present: func(r *run) (map[string]bool, error) {
			return r.tableKeys(r.env["XBB_PRODUCTS_TABLE"], "serial_no")
		},
	},
	{
		title: "Jushuitan SN flows -> MySQL", stream: "jushuitan_skusn_to_mysql", needsMySQL: true, jushuitan: true,
		expect: func(r *run) (map[string]string, error) {
			return r.truth("jushuitan_skusn", func(d map[string]any) (string, bool) {
				id := idText(d["io_id"]) + ":" + idText(d["sku_sn"])
				return id, true
			})
		},
		present: func(r *run) (map[string]bool, error) {
			return r.tableKeys(r.env["JST_SKUSN_TABLE"], "source_id")
		},
	},
}

// run is the state of one demo run.
type run struct {
	o   Options
	sb  *sandbox.Server
	env map[string]string
	db  *sql.DB
	// unlock releases the demo's lock on the database (idempotent).
	unlock func()
}

// demoLock names the MySQL lock a demo holds while it resets, fills and
// verifies its tables.
const demoLock = "erpsync_demo"

// lockDemo takes the demo's lock on db (waiting up to 15 minutes for
// another demo to finish) and returns its release.
func lockDemo(ctx context.Context, db *sql.DB, w io.Writer) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: MySQL: %w", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", demoLock).Scan(&got); err == nil && got.Int64 != 1 {
		fmt.Fprintln(w, "erpsync demo: another demo is using the demo tables at MYSQL_DSN; waiting for it to finish")
		err = conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 900)", demoLock).Scan(&got)
		if err == nil && got.Int64 != 1 {
			err = errors.New("another demo held the lock for 15 minutes")
		}
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("demo: waiting for the demo tables at MYSQL_DSN: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_, _ = conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", demoLock)
			_ = conn.Close()
		})
	}, nil
}

// Run starts the sandbox, runs the pipelines and verifies them. It writes
// progress and the summary to w and returns the results; the demo passed
// when every result is OK.
func Run(ctx context.Context, o Options, w io.Writer) ([]Result, error) {
	if o.Records <= 0 {
		o.Records = 1000
	}
	if o.StateDir == "" {
		dir, err := os.MkdirTemp("", "erpsync-demo-")
		if err != nil {
			return nil, err
		}
		o.StateDir = dir
	}
	for _, sub := range []string{"checkpoints", "ledgers", "dead_letters", "logs"} {
		if err := os.MkdirAll(filepath.Join(o.StateDir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	so := sandbox.DefaultOptions()
	so.Records, so.Seed = o.Records, o.Seed
	sb, err := sandbox.Start(so)
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	r := &run{o: o, sb: sb, env: demoEnv(sb, so, o)}
	fmt.Fprintf(w, "erpsync demo: sandbox at %s, %d documents per dataset, state in %s\n\n", sb.URL(), o.Records, o.StateDir)

	mysqlReason := ""
	if r.db, mysqlReason = openMySQL(ctx, o.MySQLDSN); r.db != nil {
		defer r.db.Close()
		// The demo's tables have fixed names: two demos on one database
		// (two terminals, tests running side by side) take turns.
		unlock, err := lockDemo(ctx, r.db, w)
		if err != nil {
			return nil, err
		}
		defer unlock()
		r.unlock = unlock
		if o.Console {
			r.env["DEAD_LETTER_TABLE"], r.env["RECORDS_TABLE"] = demoDeadLetterTable, demoRecordsTable
		}
		for _, t := range []string{r.env["XBB_PRODUCTS_TABLE"], r.env["JST_SKUSN_TABLE"], demoDeadLetterTable, demoRecordsTable} {
			if _, err := r.db.ExecContext(ctx, "DROP TABLE IF EXISTS `"+t+"`"); err != nil {
				return nil, fmt.Errorf("demo: resetting table %s: %w", t, err)
			}
		}
	}

	results := make([]Result, len(pipelines))
	progress := make([]*counters, len(pipelines))
	var jst sync.Mutex
	var wg sync.WaitGroup
	for i, p := range pipelines {
		results[i] = Result{Title: p.title, Stream: p.stream}
		progress[i] = newCounters()
		if p.needsMySQL && r.db == nil {
			results[i].Skipped = mysqlReason
			continue
		}
		wg.Add(1)
		go func(i int, p pipeline) {
			defer wg.Done()
			if p.jushuitan {
				jst.Lock()
				defer jst.Unlock()
			}
			if p.setup != nil {
				if err := p.setup(ctx, r); err != nil {
					results[i].Err = fmt.Errorf("%s: preparing the target: %w", p.stream, err)
					return
				}
			}
			results[i].Err = r.runStream(ctx, p, progress[i])
		}(i, p)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	r.showProgress(w, results, progress, done)

	for i, p := range pipelines {
		res := &results[i]
		res.Read = progress[i].get("erpsync_documents_read_total")
		if res.Skipped != "" || res.Err != nil {
			continue
		}
		if err := r.verify(p, res); err != nil {
			res.Err = err
		}
	}
	if r.unlock != nil {
		// Verified: another demo may reset the tables now.
		r.unlock()
	}
	printSummary(w, results, o.StateDir)
	if o.Console {
		if err := r.serveConsole(ctx, w); err != nil {
			return results, err
		}
	}
	return results, nil
}

// demoEnv is what the shipped configs read from the environment, pointed at
// the embedded sandbox.
func demoEnv(sb *sandbox.Server, so sandbox.Options, o Options) map[string]string {
	env := SandboxEnv(sb.URL(), so)
	env["ERPSYNC_STATE_DIR"] = o.StateDir
	env["MYSQL_DSN"] = o.MySQLDSN
	env["XBB_PRODUCTS_TABLE"] = "erpsync_demo_xbb_products"
	env["JST_SKUSN_TABLE"] = "erpsync_demo_jst_skusn"
	return env
}

// SandboxEnv is the environment that points every shipped config at a
// sandbox serving at url with the credentials of so: base URLs,
// credentials, a start 31 days back (the sandbox's data) and
// STOP_WHEN_CAUGHT_UP, so a run ends once it has read everything.
func SandboxEnv(url string, so sandbox.Options) map[string]string {
	return map[string]string{
		"SYNC_START":          time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP": "true",
		"JST_BASE_URL":        url, "JST_APP_KEY": so.Jushuitan.AppKey, "JST_APP_SECRET": so.Jushuitan.AppSecret,
		"JST_ACCESS_TOKEN": so.Jushuitan.AccessToken, "JST_REFRESH_TOKEN": so.Jushuitan.RefreshToken,
		"WDT_BASE_URL": url, "WDT_SID": so.WDT.SID,
		"QIMEN_APP_KEY": so.WDT.QimenAppKey, "QIMEN_APP_SECRET": so.WDT.QimenAppSecret, "QIMEN_TARGET_APP_KEY": so.WDT.QimenTargetAppKey,
		"XBB_BASE_URL": url, "XBB_CORPID": so.XBB.Corpid, "XBB_TOKEN": so.XBB.Token,
		"K3CLOUD_URL": url + "/k3cloud/", "K3CLOUD_ACCT_ID": so.K3Cloud.AcctID, "K3CLOUD_USERNAME": so.K3Cloud.Username,
		"K3CLOUD_APP_ID": so.K3Cloud.AppID, "K3CLOUD_APP_SECRET": so.K3Cloud.AppSecret, "K3CLOUD_ORG": "100",
		"K3CLOUD_ORGS": "100,101,102",
		"KIS_BASE_URL": url, "KIS_CLIENT_ID": so.KIS.ClientID, "KIS_CLIENT_SECRET": so.KIS.ClientSecret,
		"KIS_AUTH_CODE": so.KIS.AuthCode, "KIS_ACCT_NUMBER": so.KIS.AcctNumber, "KIS_PID": so.KIS.PID, "KIS_ICRMID": so.KIS.ICRMID,
		// The sandbox's KIS knows the catalog SKUs as material numbers.
		"KIS_MATERIAL_FALLBACK_TO_SKU": "true",
		// The push endpoint of webhook_fanout, on a free local port.
		"WEBHOOK_SECRET": "sandbox-webhook-secret", "WEBHOOK_ADDR": "127.0.0.1:0",
	}
}

func openMySQL(ctx context.Context, dsn string) (*sql.DB, string) {
	if dsn == "" {
		return nil, "MYSQL_DSN is empty"
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, "MYSQL_DSN does not parse: " + err.Error()
	}
	cfg.Timeout = 3 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err.Error()
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Sprintf("no MySQL/MariaDB answers at MYSQL_DSN (%s)", cfg.Addr)
	}
	return db, ""
}

// runStream runs one shipped config until its input is caught up.
func (r *run) runStream(ctx context.Context, p pipeline, c *counters) error {
	streamYAML, err := config.FS.ReadFile("streams/" + p.stream + ".yaml")
	if err != nil {
		return fmt.Errorf("%s: %w (is the config shipped?)", p.stream, err)
	}
	resources, err := fs.Glob(config.FS, "resources/*.yaml")
	if err != nil {
		return err
	}
	env := service.NewEnvironment()
	if err := env.RegisterMetricsExporter("demo_counters", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Logger) (service.MetricsExporter, error) { return c, nil }); err != nil {
		return err
	}
	b := env.NewStreamBuilder()
	b.SetEnvVarLookupFunc(func(k string) (string, bool) {
		if v, ok := r.env[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	})
	if err := b.SetYAML(string(streamYAML)); err != nil {
		return fmt.Errorf("%s: %w", p.stream, err)
	}
	for _, path := range resources {
		res, err := config.FS.ReadFile(path)
		if err != nil {
			return err
		}
		if err := b.AddResourcesYAML(string(res)); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := b.SetMetricsYAML("demo_counters: {}"); err != nil {
		return err
	}
	logPath := filepath.Join(r.o.StateDir, "logs", p.stream+".log")
	if err := b.SetLoggerYAML(fmt.Sprintf("level: warn\nformat: logfmt\nfile:\n  path: %q\n  rotate: false", logPath)); err != nil {
		return err
	}
	s, err := b.Build()
	if err != nil {
		return fmt.Errorf("%s: %w", p.stream, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if err := s.Run(rctx); err != nil {
		return fmt.Errorf("%s: %w", p.stream, err)
	}
	return nil
}

func (r *run) deadLetters(stream string) (map[string]bool, int, error) {
	f, err := os.Open(filepath.Join(r.o.StateDir, "dead_letters", stream+".jsonl"))
	if os.IsNotExist(err) {
		return map[string]bool{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	out := map[string]bool{}
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		n++
		if id := idText(line["source_id"]); id != "" {
			out[id] = true
		}
	}
	return out, n, sc.Err()
}

func (r *run) verify(p pipeline, res *Result) error {
	want, err := p.expect(r)
	if err != nil {
		return err
	}
	present, err := p.present(r)
	if err != nil {
		return err
	}
	dead, _, err := r.deadLetters(p.stream)
	if err != nil {
		return err
	}
	res.Expected = len(want)
	wanted := make(map[string]bool, len(want))
	for sid, key := range want {
		wanted[key] = true
		switch {
		case key != "" && present[key]:
			res.Written++
		case dead[sid]:
			res.DeadLettered++
		default:
			res.Missing = append(res.Missing, sid)
		}
	}
	for key := range present {
		if !wanted[key] {
			res.Unexpected = append(res.Unexpected, key)
		}
	}
	sort.Strings(res.Missing)
	sort.Strings(res.Unexpected)
	return nil
}

// truth returns source_id -> target key of the documents sel selects.
func (r *run) truth(dataset string, sel func(map[string]any) (string, bool)) (map[string]string, error) {
	ds := r.sb.Env().Dataset(dataset)
	if ds == nil {
		return nil, fmt.Errorf("sandbox has no dataset %s", dataset)
	}
	out := map[string]string{}
	for _, d := range ds.FullTruth() {
		raw, err := json.Marshal(d.Document)
		if err != nil {
			return nil, err
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, err
		}
		if key, ok := sel(doc); ok {
			out[d.ID] = key
		}
	}
	return out, nil
}

func (r *run) targetNumbers(path string) (map[string]bool, error) {
	resp, err := http.Get(r.sb.URL() + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Documents []struct {
			Number string `json:"number"`
		} `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	out := map[string]bool{}
	for _, d := range body.Documents {
		out[d.Number] = true
	}
	return out, nil
}

func (r *run) tableKeys(table, column string) (map[string]bool, error) {
	rows, err := r.db.Query("SELECT `" + column + "` FROM `" + table + "`")
	if err != nil {
		return nil, fmt.Errorf("reading %s.%s: %w", table, column, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

func idText(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return fmt.Sprintf("%.0f", t)
	case json.Number:
		return t.String()
	}
	return fmt.Sprint(v)
}

func (r *run) showProgress(w io.Writer, results []Result, progress []*counters, done <-chan struct{}) {
	lines := func() []string {
		out := make([]string, len(results))
		for i, res := range results {
			c := progress[i]
			_, dl, _ := r.deadLetters(res.Stream)
			state := "running"
			if res.Skipped != "" {
				state = "skipped: " + res.Skipped
			}
			out[i] = fmt.Sprintf("  %-30s read %6d  written %6d  failed %5d  %s", res.Title,
				c.get("erpsync_documents_read_total"),
				c.get("erpsync_rows_written_total", "erpsync_rows_skipped_total"),
				int64(dl), state)
		}
		return out
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := time.Time{}
	drawn := 0
	for {
		finished := false
		select {
		case <-done:
			finished = true
		case <-tick.C:
		}
		if r.o.Live {
			if drawn > 0 {
				fmt.Fprintf(w, "\033[%dA", drawn)
			}
			ls := lines()
			for _, l := range ls {
				fmt.Fprintf(w, "\033[2K%s\n", l)
			}
			drawn = len(ls)
		} else if finished || time.Since(last) > 5*time.Second {
			for _, l := range lines() {
				fmt.Fprintln(w, l)
			}
			fmt.Fprintln(w)
			last = time.Now()
		}
		if finished {
			return
		}
	}
}

func printSummary(w io.Writer, results []Result, stateDir string) {
	fmt.Fprintf(w, "\n%-30s %9s %9s %9s %14s %8s  %s\n", "pipeline", "expected", "read", "written", "dead letters", "missing", "result")
	for _, r := range results {
		result := "ok"
		switch {
		case r.Skipped != "":
			result = "skipped (" + r.Skipped + ")"
		case r.Err != nil:
			result = "FAILED: " + r.Err.Error()
		case !r.OK():
			result = fmt.Sprintf("FAILED: %d missing, %d unexpected in the target", len(r.Missing), len(r.Unexpected))
		}
		fmt.Fprintf(w, "%-30s %9d %9d %9d %14d %8d  %s\n", r.Title, r.Expected, r.Read, r.Written, r.DeadLettered, len(r.Missing), result)
		if len(r.Missing) > 0 {
			fmt.Fprintf(w, "    missing source ids: %s\n", strings.Join(head(r.Missing, 10), ", "))
		}
		if len(r.Unexpected) > 0 {
			fmt.Fprintf(w, "    unexpected target keys: %s\n", strings.Join(head(r.Unexpected, 10), ", "))
		}
	}
	fmt.Fprintf(w, "\nDead letters (rows the mappings or the targets rejected, with the reason) are in %s;\nlogs in %s.\n",
		filepath.Join(stateDir, "dead_letters"), filepath.Join(stateDir, "logs"))
}

func head(xs []string, n int) []string {
	if len(xs) > n {
		return append(xs[:n:n], fmt.Sprintf("... (%d more)", len(xs)-n))
	}
	return xs
}

// jushuitanCustomers are the Kingdee customers of the sandbox's Jushuitan
// shops, as the table of config/resources/jushuitan_kingdee_mapping.yaml
// names them. A real account keeps them in Kingdee; the demo creates them
// (audited) before the sales-out stream runs.
var jushuitanCustomers = map[string]string{
	"JST001": "聚水潭天猫旗舰店", "JST002": "京东自营专卖店", "JST003": "抖音官方小店",
	"JST004": "拼多多品牌店", "JST005": "微信小程序商城",
}

func addJushuitanCustomers(ctx context.Context, r *run) error {
	c, err := kingdee.NewClient(kingdee.Config{
		URL: r.env["K3CLOUD_URL"], AcctID: r.env["K3CLOUD_ACCT_ID"], Username: r.env["K3CLOUD_USERNAME"],
		AppID: r.env["K3CLOUD_APP_ID"], AppSecret: r.env["K3CLOUD_APP_SECRET"],
	})
	if err != nil {
		return err
	}
	numbers := make([]string, 0, len(jushuitanCustomers))
	for no := range jushuitanCustomers {
		numbers = append(numbers, no)
	}
	sort.Strings(numbers)
	models := make([]json.RawMessage, 0, len(numbers))
	for _, no := range numbers {
		m, err := json.Marshal(map[string]any{
			"FNumber": no, "FName": jushuitanCustomers[no],
			"FCreateOrgId": map[string]string{"FNumber": "100"}, "FUseOrgId": map[string]string{"FNumber": "100"},
			"FCustTypeId": map[string]string{"FNumber": "KHLB001_SYS"}, "FTRADINGCURRID": map[string]string{"FNumber": "PRE001"},
		})
		if err != nil {
			return err
		}
		models = append(models, m)
	}
	res, err := c.BatchSave(ctx, "BD_Customer", models, kingdee.SaveOptions{IsAutoSubmitAndAudit: true})
	if err != nil {
		return err
	}
	if !res.Status.IsSuccess {
		return fmt.Errorf("k3cloud: BatchSave BD_Customer: MsgCode %d: %s", res.Status.MsgCode, res.Status.FirstMessage())
	}
	return nil
}
