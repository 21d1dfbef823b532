// Command report turns the raw `go test -bench` outputs that bench/run.sh
// collects into bench/RESULTS.md: medians per metric and ratios against the
// baselines measured in the same run.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// line: BenchmarkName/sub-2   3   123 ns/op   4.5 unit ...
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

type results map[string]map[string][]float64 // bench -> unit -> values

func parse(path string) (results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := results{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			if out[m[1]] == nil {
				out[m[1]] = map[string][]float64{}
			}
			out[m[1]][fields[i+1]] = append(out[m[1]][fields[i+1]], v)
		}
	}
	return out, sc.Err()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r results) med(bench, unit string) float64 { return median(r[bench][unit]) }
func (r results) n(bench, unit string) int       { return len(r[bench][unit]) }

type section struct {
	file, title, command, about string
	render                      func(r results) (string, error)
}

func need(r results, bench, unit string) error {
	if r.n(bench, unit) == 0 {
		return fmt.Errorf("no %s result for %s", unit, bench)
	}
	return nil
}

func row(cells ...string) string { return "| " + strings.Join(cells, " | ") + " |\n" }

func f(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }

var sections = []section{
	{
		file: "source", title: "Source read rate vs the vendor limit",
		command: "BENCH_RECORDS=$BENCH_RECORDS go test -run '^$' -bench JushuitanBackfill -benchtime 1x -count 3 ./bench/",
		about:   "A 30-day backfill of `jushuitan_other_inout` through the `jushuitan` input with a `token_bucket` at Jushuitan's published limits (5 calls/s and 100/min), against the sandbox with real limits. Baseline: the shortest time the same number of calls can take under those limits, computed in the same run. The benchmark fails if the sandbox answers any rate-limit code.",
		render: func(r results) (string, error) {
			b := "BenchmarkJushuitanBackfill"
			if err := need(r, b, "of-allowed"); err != nil {
				return "", err
			}
			return row("calls", "achieved calls/s", "allowed calls/s", "achieved / allowed") + row("---", "---", "---", "---") +
				row(f(r.med(b, "calls"), 0), f(r.med(b, "calls/s"), 3), f(r.med(b, "allowed-calls/s"), 3), "**"+f(r.med(b, "of-allowed"), 3)+"**"), nil
		},
	},
	{
		file: "wdt", title: "WDT backfill at 60-minute windows vs the assumed limit",
		command: "BENCH_RECORDS=$BENCH_RECORDS BENCH_WDT_DAYS=$BENCH_WDT_DAYS go test -run '^$' -bench WDTBackfill -benchtime 1x ./bench/",
		about:   "A backfill of `trade_query.php` (window at most 60 minutes, its catalogued maximum: 720 windows for 30 days) through the `wdt` input with a `token_bucket` of 60 calls a minute, against the sandbox with its real limits (the same 60 a minute per sid). WDT publishes no rate; 60 a minute is the project's reading of community clients that space calls about 1.1 s [I]. Baselines, in the same run: the shortest time the same number of calls can take under that limit, and the fewest calls the read allows (one per window, an empty window included, plus one per further page). The benchmark fails if the sandbox answers its rate-limit code (2020).",
		render: func(r results) (string, error) {
			b := "BenchmarkWDTBackfill"
			if err := need(r, b, "of-allowed"); err != nil {
				return "", err
			}
			return row("documents", "calls", "minimum calls", "minimum / calls", "achieved calls/s", "allowed calls/s", "achieved / allowed") + row("---", "---", "---", "---", "---", "---", "---") +
				row(f(r.med(b, "docs"), 0), f(r.med(b, "calls"), 0), f(r.med(b, "min-calls"), 0), f(r.med(b, "of-min"), 3), f(r.med(b, "calls/s"), 3), f(r.med(b, "allowed-calls/s"), 3), "**"+f(r.med(b, "of-allowed"), 3)+"**"), nil
		},
	},
	{
		file: "k3cloud", title: "`kingdee_batchsave` vs four serial K3Cloud sessions",
		command: "go test -run '^$' -bench BatchSave -count 3 -benchtime 3x ./plugins/kingdee/",
		about:   "3200 documents per op in batches of 100 to the sandbox's K3Cloud with 1 ms per written row; one session is served serially, so four allow at most 4000 rows/s. Baseline: four hand-written goroutines, one session each, sending BatchSave back to back without the output's existence check.",
		render: func(r results) (string, error) {
			b := "BenchmarkBatchSave"
			if err := need(r, b, "ratio_vs_baseline"); err != nil {
				return "", err
			}
			return row("baseline rows/s", "output rows/s (max_in_flight 4)", "output / baseline", "output / 4000 rows/s") + row("---", "---", "---", "---") +
				row(f(r.med(b, "baseline_rows/s"), 0), f(r.med(b, "output_rows/s"), 0), "**"+f(r.med(b, "ratio_vs_baseline"), 3)+"**", f(r.med(b, "ratio_vs_ceiling"), 3)), nil
		},
	},
	{
		file: "salesout", title: "Sales-out backfill into K3Cloud vs four serial sessions",
		command: "ERPSYNC_BIN=.bin/erpsync BENCH_K3_RECORDS=$BENCH_K3_RECORDS go test -run '^$' -bench SalesOutToKingdee -benchtime 1x -count 3 ./bench/",
		about:   "The shipped `config/streams/jushuitan_sales_out_to_kingdee.yaml` with `config/resources`, unchanged, in an erpsync process: 30 days of Jushuitan sales-out documents (the Confirmed ones) into `SAL_OUTSTOCK` on the sandbox's K3Cloud with 1 ms per written row, the customer, stock and material lookups included. Rows/s are bills written per second of the whole run. Baseline, in the same run: the same bills (renumbered) sent by four hand-written goroutines, one session each, BatchSave of 50 back to back with the output's save options and no existence check — what the shipped output's four sessions allow. The source is paced by the shipped `jushuitan_account` token bucket (5 calls/s, 100/min); its column is the rate those limits allow for the stream's calls.",
		render: func(r results) (string, error) {
			b := "BenchmarkSalesOutToKingdee"
			if err := need(r, b, "ratio_vs_baseline"); err != nil {
				return "", err
			}
			return row("bills", "stream rows/s", "baseline rows/s", "stream / baseline", "Jushuitan calls", "rows/s the source limits allow") + row("---", "---", "---", "---", "---", "---") +
				row(f(r.med(b, "bills"), 0), f(r.med(b, "stream_rows/s"), 0), f(r.med(b, "baseline_rows/s"), 0), "**"+f(r.med(b, "ratio_vs_baseline"), 3)+"**", f(r.med(b, "jst_calls"), 0), f(r.med(b, "source_ceiling_rows/s"), 0)), nil
		},
	},
	{
		file: "mysql", title: "`mysql` output vs hand-written inserts and LOAD DATA",
		command: "go test -run '^$' -bench BenchmarkMySQLOutput -count 3 ./plugins/mysql/",
		about:   "Batches of 500 rows × 10 columns upserted into the local MariaDB. `baseline`: one hand-written multi-row `INSERT ... ON DUPLICATE KEY UPDATE` with the values already built; `baseline_json`: the hand-written program for JSON messages (decode, then the same statement); `load_data`: `LOAD DATA LOCAL INFILE ... REPLACE` of the same rows, the physical limit; `output`: the `mysql` output from JSON messages through `args_mapping`; `output_structured`: from messages parsed by an earlier mapping.",
		render: func(r results) (string, error) {
			names := []string{"baseline", "baseline_json", "load_data", "output", "output_structured"}
			for _, n := range names {
				if err := need(r, "BenchmarkMySQLOutput/"+n, "ns/op"); err != nil {
					return "", err
				}
			}
			ns := func(n string) float64 { return r.med("BenchmarkMySQLOutput/"+n, "ns/op") }
			s := row("variant", "ms per batch", "rows/s", "vs baseline", "vs baseline_json", "vs load_data") + row("---", "---", "---", "---", "---", "---")
			for _, n := range names {
				s += row(n, f(ns(n)/1e6, 2), f(500/(ns(n)/1e9), 0), f(ns("baseline")/ns(n), 2), f(ns("baseline_json")/ns(n), 2), f(ns("load_data")/ns(n), 2))
			}
			return s, nil
		},
	},
	{
		file: "kafka", title: "`kafka` output vs a bare sarama producer",
		command: "go test -run '^$' -bench BenchmarkKafkaOutput -count 3 ./plugins/kafka/",
		about:   "Batches of 100 keyed 256-byte messages into one in-process kfake broker; baseline: a bare sarama SyncProducer sending the same batches to the same broker.",
		render: func(r results) (string, error) {
			o, s := "BenchmarkKafkaOutput/output", "BenchmarkKafkaOutput/sarama"
			if err := need(r, o, "ns/op"); err != nil {
				return "", err
			}
			if err := need(r, s, "ns/op"); err != nil {
				return "", err
			}
			return row("output msgs/s", "sarama msgs/s", "output / sarama") + row("---", "---", "---") +
				row(f(r.med(o, "msgs/s"), 0), f(r.med(s, "msgs/s"), 0), "**"+f(r.med(s, "ns/op")/r.med(o, "ns/op"), 2)+"**"), nil
		},
	},
	{
		file: "catalogue", title: "Vendor calls per document, every catalogued interface",
		command: "BENCH_CATALOGUE_RECORDS=2000 go test -run '^$' -bench CatalogueCalls -benchtime 1x ./bench/",
		about:   "Every interface of the catalogue (`erpsync catalogue`), on every protocol, read from the sandbox (2000 documents per dataset over its 30 days, no rate limits) by its input with nothing but `api` and a window start: the catalogue's window fields, default span and page size. Baseline, computed in the same run from the sandbox's truth (the documents the read delivered, at their value of the window's filter field): the fewest calls the limits allow, one per page and at least one per window of the default span, an empty window included. `of-min` = minimum / calls (1: no call wasted). Calls above the minimum are the engine's confirmations: a numbered pass of several pages asks its first page twice (its total is what later pages are checked against), a keyset jump to a second the page shares with the next rows serves those rows again, a full last page in an answer that is not sorted is followed by a request for the empty next one (sorted, the next window starts at its newest value: plugins/poll rule 7), an interface without a total count or has_next confirms an empty or unsorted short page by asking again, and a window of several pages whose documents may move while read without a count is read twice.",
		render: func(r results) (string, error) {
			var names []string
			for b := range r {
				if strings.HasPrefix(b, "BenchmarkCatalogueCalls/") {
					names = append(names, b)
				}
			}
			if len(names) == 0 {
				return "", fmt.Errorf("no BenchmarkCatalogueCalls results")
			}
			sort.Strings(names)
			s := row("interface", "documents", "calls", "minimum", "calls/doc", "minimum / calls") + row("---", "---", "---", "---", "---", "---")
			for _, b := range names {
				s += row("`"+strings.TrimPrefix(b, "BenchmarkCatalogueCalls/")+"`", f(r.med(b, "docs"), 0), f(r.med(b, "calls"), 0), f(r.med(b, "min-calls"), 0), f(r.med(b, "calls/doc"), 4), "**"+f(r.med(b, "of-min"), 3)+"**")
			}
			return s, nil
		},
	},
	{
		file: "mapping", title: "Shipped Bloblang mapping vs the same mapping in Go",
		command: "go test -run '^$' -bench XBBProductMapping -count 3 ./bench/",
		about:   "The `map_product` mapping of `config/streams/xbb_products_to_mysql.yaml`, read from the shipped file, over 1000 sandbox products per op; baseline: the same transformation hand-written in Go (the benchmark first checks both agree).",
		render: func(r results) (string, error) {
			bl, g := "BenchmarkXBBProductMapping/bloblang", "BenchmarkXBBProductMapping/go"
			if err := need(r, bl, "docs/s"); err != nil {
				return "", err
			}
			return row("Bloblang docs/s", "Go docs/s", "Bloblang / Go") + row("---", "---", "---") +
				row(f(r.med(bl, "docs/s"), 0), f(r.med(g, "docs/s"), 0), "**"+f(r.med(bl, "docs/s")/r.med(g, "docs/s"), 2)+"**"), nil
		},
	},
	{
		file: "memory", title: "Peak memory while streaming 1,000,000 documents",
		command: "BENCH_STREAM_RECORDS=$BENCH_STREAM_RECORDS go test -run '^$' -bench StreamMemory -benchtime 1x ./bench/",
		about:   "Unique-code flows from the sandbox through the `jushuitan` input of a real erpsync process into a `drop` output; the process's resident high-water mark (VmHWM) read when 20%, 50% and 100% of the documents were read. Bounded memory means the last is close to the first; the benchmark fails if it doubled.",
		render: func(r results) (string, error) {
			b := "BenchmarkStreamMemory"
			if err := need(r, b, "growth"); err != nil {
				return "", err
			}
			return row("VmHWM at 20%", "at 50%", "at 100%", "growth 20%→100%", "docs/s") + row("---", "---", "---", "---", "---") +
				row(f(r.med(b, "MiB@20%"), 1)+" MiB", f(r.med(b, "MiB@50%"), 1)+" MiB", f(r.med(b, "MiB@100%"), 1)+" MiB", "**"+f(r.med(b, "growth"), 2)+"**", f(r.med(b, "docs/s"), 0)), nil
		},
	},
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		fs := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		if len(fs) >= 2 {
			kb, _ := strconv.ParseFloat(fs[1], 64)
			mem = fmt.Sprintf(", %.0f GiB", kb/1024/1024)
		}
	}
	return fmt.Sprintf("%s, %d cores%s, %s/%s, %s", cpu, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func main() {
	dir := flag.String("dir", "", "folder holding <section>.txt outputs")
	out := flag.String("out", "bench/RESULTS.md", "file to write")
	env := flag.String("env", "", "space-separated NAME=value pairs used in the commands")
	flag.Parse()
	var b strings.Builder
	b.WriteString("# Benchmark results\n\n")
	b.WriteString("Written by `bench/run.sh` (do not edit by hand); run it again to refresh. Figures are medians of the\n")
	b.WriteString("runs shown, and every ratio is against a baseline measured in the same run: these machines are\n")
	b.WriteString("shared and noisy.\n\n")
	fmt.Fprintf(&b, "- Machine: %s\n- Date: %s\n- Command: `bash bench/run.sh`", machine(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	if *env != "" {
		fmt.Fprintf(&b, " (%s)", *env)
	}
	b.WriteString("\n")
	failed := 0
	for _, s := range sections {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n```\n%s\n```\n\n", s.title, s.about, s.command)
		r, err := parse(filepath.Join(*dir, s.file+".txt"))
		var table string
		if err == nil {
			table, err = s.render(r)
		}
		if err != nil {
			failed++
			fmt.Fprintf(&b, "**Not measured in this run:** %v\n", err)
			continue
		}
		b.WriteString(table)
	}
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "report: %d section(s) without results\n", failed)
		os.Exit(1)
	}
}
