package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/plugins/kingdee"
	"github.com/erpsync/erpsync/sandbox"
	sbjst "github.com/erpsync/erpsync/sandbox/jushuitan"
	"github.com/erpsync/erpsync/sandbox/k3cloud"
)

// salesOutStream is the shipped stream the benchmark runs unchanged.
const salesOutStream = "jushuitan_sales_out_to_kingdee"

// k3Sessions and k3Batch: the shipped output's max_in_flight (its default)
// and batching count, which the baseline uses too.
const k3Sessions, k3Batch = 4, 50

// BenchmarkSalesOutToKingdee backfills 30 days of Jushuitan sales-out
// documents into the sandbox's K3Cloud (1 ms per written row, one session
// served at a time) with the shipped config/streams/
// jushuitan_sales_out_to_kingdee.yaml and config/resources, unchanged, in a
// real erpsync process, and reports the SAL_OUTSTOCK rows it wrote per
// second of its run. Baseline, in the same run: the same bills sent by four
// hand-written goroutines, one session each, BatchSave of 50 back to back
// with the output's save options and no existence check — what the four
// sessions of the shipped output allow. The stream's source is paced by
// Jushuitan's limits (the shipped jushuitan_account token bucket), so the
// rate those limits allow for the stream's calls is reported too.
func BenchmarkSalesOutToKingdee(b *testing.B) {
	records := envInt("BENCH_K3_RECORDS", 1000)
	bin := erpsynctest.Binary(b)
	for range b.N {
		sb := streamtest.StartSandbox(b, records, func(o *sandbox.Options) {
			o.Limits = false
			o.RowLatency = time.Millisecond
			// Every document is older than the stream's default lag.
			o.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
		})
		ctx := context.Background()
		setup := k3Client(b, sb)
		// The shipped mapping table names the sandbox's five shops JST001-JST005.
		var customers []json.RawMessage
		for i := 1; i <= 5; i++ {
			customers = append(customers, json.RawMessage(fmt.Sprintf(
				`{"FNumber":"JST%03d","FName":"客户JST%03d","FCreateOrgId":{"FNumber":"100"},"FUseOrgId":{"FNumber":"100"}}`, i, i)))
		}
		if res, err := setup.BatchSave(ctx, "BD_Customer", customers, kingdee.SaveOptions{IsAutoSubmitAndAudit: true}); err != nil || !res.Status.IsSuccess {
			b.Fatalf("K3Cloud BatchSave BD_Customer: %v %+v", err, res)
		}
		want := 0
		for _, d := range sb.Env().Dataset(sbjst.DatasetSaleout).FullTruth() {
			raw, _ := json.Marshal(d.Document)
			var doc struct{ Status string }
			if err := json.Unmarshal(raw, &doc); err != nil {
				b.Fatal(err)
			}
			if doc.Status == "Confirmed" {
				want++
			}
		}

		// The shipped stream.
		state := b.TempDir()
		for _, dir := range []string{"checkpoints", "dead_letters"} {
			if err := os.MkdirAll(filepath.Join(state, dir), 0o700); err != nil {
				b.Fatal(err)
			}
		}
		t0 := time.Now()
		runStream(b, bin, salesOutStream, salesOutEnv(sb, state))
		elapsed := time.Since(t0)
		bills := k3cloudBills(b, sb, "SAL_OUTSTOCK")
		if len(bills) != want {
			dead, _ := os.ReadFile(filepath.Join(state, "dead_letters", salesOutStream+".jsonl"))
			b.Fatalf("SAL_OUTSTOCK holds %d bills, the sandbox has %d Confirmed sales-out documents; dead letters:\n%s", len(bills), want, dead)
		}
		jstCalls := sb.Env().Stats.Count("jushuitan", "", "")

		// Baseline: the same bills, numbered apart, four sessions back to back.
		models := make([]json.RawMessage, 0, len(bills))
		for _, bill := range bills {
			models = append(models, saveModel(b, bill, "B"))
		}
		t0 = time.Now()
		var wg sync.WaitGroup
		for s := range k3Sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := k3Client(b, sb)
				for k := s * k3Batch; k < len(models); k += k3Sessions * k3Batch {
					batch := models[k:min(k+k3Batch, len(models))]
					res, err := c.BatchSave(ctx, "SAL_OUTSTOCK", batch, kingdee.SaveOptions{
						IsAutoSubmitAndAudit: true, IsVerifyBaseDataField: true, NeedReturnFields: []string{"FBillNo"}})
					if err != nil || !res.Status.IsSuccess {
						b.Errorf("baseline BatchSave SAL_OUTSTOCK: %v %+v", err, res)
						return
					}
				}
			}()
		}
		wg.Wait()
		base := time.Since(t0)
		if n := len(k3cloudBills(b, sb, "SAL_OUTSTOCK")); n != 2*want {
			b.Fatalf("after the baseline SAL_OUTSTOCK holds %d bills, want %d", n, 2*want)
		}

		rows := float64(len(bills))
		b.ReportMetric(rows, "bills")
		b.ReportMetric(rows/elapsed.Seconds(), "stream_rows/s")
		b.ReportMetric(rows/base.Seconds(), "baseline_rows/s")
		b.ReportMetric(base.Seconds()/elapsed.Seconds(), "ratio_vs_baseline")
		b.ReportMetric(float64(jstCalls), "jst_calls")
		if allowed := allowedDuration(jstLimits, jstCalls); allowed > 0 {
			b.ReportMetric(rows/allowed.Seconds(), "source_ceiling_rows/s")
		}
	}
}

// k3Client is one K3Cloud session of the sandbox's integration user.
func k3Client(tb testing.TB, sb *sandbox.Server) *kingdee.Client {
	tb.Helper()
	k := k3cloud.DefaultConfig()
	c, err := kingdee.NewClient(kingdee.Config{URL: sb.URL() + "/k3cloud/", Mode: kingdee.AuthSignature, AcctID: k.AcctID,
		Username: k.Username, AppID: k.AppID, AppSecret: k.AppSecret, LCID: 2052, Timeout: 30 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// salesOutEnv is the shipped stream's environment against the sandbox: a
// 31-day backfill that exits when caught up.
func salesOutEnv(sb *sandbox.Server, state string) []string {
	j, k := sbjst.DefaultConfig(), k3cloud.DefaultConfig()
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		"JST_BASE_URL=" + sb.URL(), "JST_APP_KEY=" + j.AppKey, "JST_APP_SECRET=" + j.AppSecret,
		"JST_ACCESS_TOKEN=" + j.AccessToken, "JST_REFRESH_TOKEN=" + j.RefreshToken,
		"K3CLOUD_URL=" + sb.URL() + "/k3cloud/", "K3CLOUD_ACCT_ID=" + k.AcctID, "K3CLOUD_USERNAME=" + k.Username,
		"K3CLOUD_APP_ID=" + k.AppID, "K3CLOUD_APP_SECRET=" + k.AppSecret,
		"ERPSYNC_STATE_DIR=" + state,
		"SYNC_START=" + time.Now().Add(-31*24*time.Hour).Format(time.RFC3339),
		"STOP_WHEN_CAUGHT_UP=true",
	}
}

// runStream runs a shipped stream with the shipped resources until it exits.
func runStream(tb testing.TB, bin, stream string, env []string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--log.level", "warn", "--set", "http.enabled=false",
		"-r", erpsynctest.Path("config/resources")+"/*.yaml", "run", erpsynctest.Path("config/streams/"+stream+".yaml"))
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s: %v\n%s", stream, err, out.String())
	}
}

// k3bill is a bill the sandbox's K3Cloud stores.
type k3bill struct {
	Number string         `json:"number"`
	Data   map[string]any `json:"data"`
}

func k3cloudBills(tb testing.TB, sb *sandbox.Server, form string) []k3bill {
	tb.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/k3cloud/" + form)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Documents []k3bill `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		tb.Fatal(err)
	}
	return body.Documents
}

// The fields the shipped stream's mapping sends, header and lines.
var (
	salesOutHead = []string{"FBillNo", "FBillTypeID", "FDate", "FSaleOrgId", "FStockOrgId", "FCustomerID", "FNote", "SubHeadEntity", "FEntity"}
	salesOutLine = []string{"FMaterialID", "FUnitID", "FRealQty", "FMustQty", "FStockID", "FTaxPrice", "FEntryTaxRate", "FPrice", "FAllAmount", "FAmount", "FIsFree", "FNote"}
)

// saveModel rebuilds the model the stream sent for a stored bill (the
// fields its mapping writes, none the server added), numbered prefix+number.
func saveModel(tb testing.TB, bill k3bill, prefix string) json.RawMessage {
	tb.Helper()
	m := pick(bill.Data, salesOutHead)
	m["FBillNo"] = prefix + bill.Number
	rows, _ := m["FEntity"].([]any)
	lines := make([]any, len(rows))
	for i, r := range rows {
		row, _ := r.(map[string]any)
		lines[i] = pick(row, salesOutLine)
	}
	m["FEntity"] = lines
	raw, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// pick copies the keys of m named in keys (matched without case, as
// K3Cloud does), spelt as in keys.
func pick(m map[string]any, keys []string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		for _, want := range keys {
			if strings.EqualFold(k, want) {
				out[want] = v
			}
		}
	}
	return out
}
