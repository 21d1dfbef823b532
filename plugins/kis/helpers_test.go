package kis

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	kissim "github.com/erpsync/erpsync/sandbox/kis"
)

// fakeClock is shared by the sandbox and the client so that credential
// expiry is driven by the test, not by waiting.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startSandbox starts the sandbox without rate limits; clock nil means the
// real clock.
func startSandbox(t testing.TB, clock *fakeClock) *sandbox.Server {
	t.Helper()
	o := sandbox.DefaultOptions()
	o.Records = 10
	o.Limits = false
	if clock != nil {
		o.Now = clock.Now
	}
	sb, err := sandbox.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// sandboxConfig is the client configuration of the sandbox's credentials.
func sandboxConfig(sb *sandbox.Server, clock *fakeClock) Config {
	k := kissim.DefaultConfig()
	cfg := Config{
		BaseURL: sb.URL(), ClientID: k.ClientID, ClientSecret: k.ClientSecret, AuthCode: k.AuthCode,
		AcctNumber: k.AcctNumber, PID: k.PID, ICRMID: k.ICRMID, Timeout: 5 * time.Second,
	}
	if clock != nil {
		cfg.Now = clock.Now
	}
	return cfg
}

func setFaults(t *testing.T, sb *sandbox.Server, f core.Faults) {
	t.Helper()
	if err := sb.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

// count is how often the KIS simulator answered path with code ("" any).
func count(sb *sandbox.Server, path, code string) int {
	return sb.Env().Stats.Count("kis", path, code)
}

// makeBill is a valid 其他入库单 numbered no; item picks the material.
func makeBill(no string, item int) []byte {
	cat := core.Catalog(1)
	sku := cat[item%len(cat)]
	b, _ := json.Marshal(map[string]any{
		"Head": map[string]any{
			"Fdate": "2025-06-01T10:00:00", "FTranType": 10, "FBillNo": no, "FROB": 1,
			"FDCStockID": core.Stocks[0].Number, "Fnote": "聚水潭其它进仓",
		},
		"Entry": []any{map[string]any{
			"FItemID": sku.ID, "FUnitID": sku.Unit, "FQty": 2, "Fauxqty": 2, "FAuxQtyMust": 2,
			"FPlanMode": 14036, "FDCStockID": core.Stocks[0].Number, "Famount": 3.0,
		}},
	})
	return b
}

func billNo(i int) string { return fmt.Sprintf("JST%05d", i) }

func makeBills(from, to int) [][]byte {
	out := make([][]byte, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, makeBill(billNo(i), i))
	}
	return out
}

type storedBill struct {
	Number string `json:"number"`
	Writes int    `json:"writes"`
}

// storedBills reads the sandbox's introspection endpoint.
func storedBills(t *testing.T, sb *sandbox.Server) []storedBill {
	t.Helper()
	resp, err := http.Get(sb.URL() + "/_sandbox/kis/bills")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Documents []storedBill `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Documents
}

// exactlyOnce fails unless the target holds exactly the numbers want, each
// written once.
func exactlyOnce(t *testing.T, sb *sandbox.Server, want []string) {
	t.Helper()
	docs := storedBills(t, sb)
	seen := map[string]int{}
	for _, d := range docs {
		seen[d.Number]++
		if d.Writes != 1 {
			t.Errorf("bill %s: writes = %d, want 1", d.Number, d.Writes)
		}
	}
	for _, no := range want {
		if seen[no] != 1 {
			t.Errorf("bill %s stored %d times, want 1", no, seen[no])
		}
	}
	if len(docs) != len(want) {
		t.Errorf("target holds %d bills, want %d", len(docs), len(want))
	}
}
