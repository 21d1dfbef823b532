package kingdee

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
	"github.com/erpsync/erpsync/sandbox/wdt"
)

// shop is what the test needs of one sandbox shop.
type shop struct {
	id, no, name, remark string
	disabled             bool
}

func sandboxShops(t *testing.T, ds *core.Dataset) []shop {
	t.Helper()
	var out []shop
	for _, d := range ds.Select(nil, nil) {
		b := d.Body
		s := shop{id: d.ID, no: fmt.Sprint(b["shop_no"]), name: fmt.Sprint(b["shop_name"]), remark: fmt.Sprint(b["remark"])}
		s.disabled = fmt.Sprint(b["is_disabled"]) == "1"
		out = append(out, s)
	}
	return out
}

func validOrg(remark string) bool {
	for _, o := range core.Orgs {
		if o.Number == remark {
			return true
		}
	}
	return false
}

// TestIntegrationWDTShopsToKingdeeCustomers runs
// config/streams/wdt_shops_to_kingdee_customers.yaml against the sandbox:
// every enabled shop whose remark is a Kingdee organisation becomes one
// audited BD_Customer of that organisation; enabled shops with an empty or
// invalid remark are in the dead letter with the reason; disabled shops are
// nowhere. A second run (on_conflict skip) writes nothing again, even for a
// shop renamed in between, and dead-letters the invalid shops once more.
func TestIntegrationWDTShopsToKingdeeCustomers(t *testing.T) {
	const name = "wdt_shops_to_kingdee_customers"
	sb := streamtest.StartSandbox(t, 250)
	state := erpsynctest.StateDir(t)
	env := merge(k3Env(sb), wdtEnv(sb), map[string]string{
		"ERPSYNC_STATE_DIR":   state,
		"STOP_WHEN_CAUGHT_UP": "true",
		"SYNC_START":          time.Now().AddDate(0, 0, -31).Format(time.RFC3339),
	})
	dlPath := filepath.Join(state, "dead_letters", name+".jsonl")
	ds := sb.Env().Dataset(wdt.DatasetShops)

	shops := sandboxShops(t, ds)
	want := map[string]shop{}   // FNumber (upper) -> shop
	wantDL := map[string]shop{} // shop_id -> shop
	disabled := 0
	for _, s := range shops {
		switch {
		case s.disabled:
			disabled++
		case validOrg(s.remark):
			want[strings.ToUpper(s.no)] = s
		default:
			wantDL[s.id] = s
		}
	}
	// The sandbox guarantees each kind; without them the test proves little.
	if len(want) == 0 || len(wantDL) == 0 || disabled == 0 {
		t.Fatalf("sandbox data lacks a kind: %d valid, %d invalid, %d disabled", len(want), len(wantDL), disabled)
	}

	checkCustomers := func(t *testing.T, run int, names map[string]string) {
		t.Helper()
		docs := k3Docs(t, sb, "BD_Customer")
		if len(docs) != len(want) {
			t.Errorf("run %d: BD_Customer holds %d customers, want %d (one per enabled shop with a valid organisation)", run, len(docs), len(want))
		}
		for _, no := range sortedKeys(want) {
			s := want[no]
			d, ok := docs[no]
			if !ok {
				t.Errorf("run %d: shop %s (%s, remark %s) is not a customer", run, s.id, s.no, s.remark)
				continue
			}
			if d.Writes != 1 {
				t.Errorf("run %d: customer %s written %d times, want 1", run, s.no, d.Writes)
			}
			checks := []struct{ field, got, want string }{
				{"FNumber", fmt.Sprint(d.Data["FNumber"]), s.no},
				{"FName", fmt.Sprint(d.Data["FName"]), names[s.id]},
				{"FCreateOrgId", streamtest.RefNumber(d.Data["FCreateOrgId"]), s.remark},
				{"FUseOrgId", streamtest.RefNumber(d.Data["FUseOrgId"]), s.remark},
				{"FDocumentStatus", fmt.Sprint(d.Data["FDocumentStatus"]), "C"},
				{"FTRADINGCURRID", streamtest.RefNumber(d.Data["FTRADINGCURRID"]), "PRE001"},
				{"FCustTypeId", streamtest.RefNumber(d.Data["FCustTypeId"]), "KHLB001_SYS"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("run %d: customer %s: %s = %q, want %q", run, s.no, c.field, c.got, c.want)
				}
			}
			if desc := fmt.Sprint(d.Data["FDescription"]); !strings.HasPrefix(desc, "旺店通店铺 "+s.id+"，平台：") {
				t.Errorf("run %d: customer %s: FDescription %q", run, s.no, desc)
			}
		}
	}
	checkDeadLetters := func(t *testing.T, run int, dlPath string) {
		t.Helper()
		seen := map[string]int{}
		for _, dl := range deadLetters(t, dlPath) {
			id := fmt.Sprint(dl["source_id"])
			seen[id]++
			s, ok := wantDL[id]
			if !ok {
				t.Errorf("run %d: unexpected dead letter for shop %s: %v", run, id, dl["error"])
				continue
			}
			errText := fmt.Sprint(dl["error"])
			if !strings.Contains(errText, "shop "+s.no+": remark") || !strings.HasSuffix(errText, "(permanent)") {
				t.Errorf("run %d: dead letter of shop %s (remark %q) has reason %q", run, s.no, s.remark, errText)
			}
			payload, _ := dl["payload"].(map[string]any)
			if fmt.Sprint(payload["shop_no"]) != s.no || dl["stream"] != name {
				t.Errorf("run %d: dead letter of shop %s: stream %v, payload %v", run, s.no, dl["stream"], payload)
			}
		}
		for _, id := range sortedKeys(wantDL) {
			if seen[id] != 1 {
				t.Errorf("run %d: shop %s (remark %q) is in the dead letter %d times, want 1", run, id, wantDL[id].remark, seen[id])
			}
		}
	}

	names := map[string]string{}
	for _, s := range shops {
		names[s.id] = s.name
	}
	runStream(t, name, env, false)
	checkCustomers(t, 1, names)
	checkDeadLetters(t, 1, dlPath)

	// Rename one shop in WDT, then run again: on_conflict skip leaves every
	// audited customer as it is, the renamed one included.
	var renamed shop
	for _, no := range sortedKeys(want) {
		renamed = want[no]
		break
	}
	if !ds.Touch(renamed.id, time.Now()) {
		t.Fatalf("touching shop %s", renamed.id)
	}
	if got, _ := ds.Get(renamed.id); fmt.Sprint(got.Body["shop_name"]) == renamed.name {
		t.Fatalf("the sandbox did not rename shop %s", renamed.id)
	}
	// A fresh state folder: the wdt input, although it has no window in the
	// config, keeps a time checkpoint (plugins/poll materialises the optional
	// window with its defaults), so a rerun within a minute would read nothing.
	state2 := erpsynctest.StateDir(t)
	env["ERPSYNC_STATE_DIR"] = state2
	runStream(t, name, env, false)
	checkCustomers(t, 2, names)
	checkDeadLetters(t, 2, filepath.Join(state2, "dead_letters", name+".jsonl"))
}

// TestIntegrationWDTShopsKingdeeRejections: with a fifth of the customers
// failing Kingdee's validation (the sandbox's row_fail_rate), every enabled
// shop with a valid organisation is either a customer or, with Kingdee's
// message and the customer model, in the dead letter; never both, never
// lost. The rows Kingdee refuses share pages (batches) with rows it accepts
// and with shops the mapping rejected.
func TestIntegrationWDTShopsKingdeeRejections(t *testing.T) {
	const name = "wdt_shops_to_kingdee_customers"
	sb := streamtest.StartSandbox(t, 250, func(o *sandbox.Options) { o.Faults.RowFailRate = 0.2 })
	state := erpsynctest.StateDir(t)
	env := merge(k3Env(sb), wdtEnv(sb), map[string]string{"ERPSYNC_STATE_DIR": state, "STOP_WHEN_CAUGHT_UP": "true"})
	runStream(t, name, env, false)

	docs := k3Docs(t, sb, "BD_Customer")
	dead := map[string]map[string]any{} // source_id -> dead letter
	for _, dl := range deadLetters(t, filepath.Join(state, "dead_letters", name+".jsonl")) {
		id := fmt.Sprint(dl["source_id"])
		if _, dup := dead[id]; dup {
			t.Errorf("shop %s is dead-lettered twice", id)
		}
		dead[id] = dl
	}
	refused := 0
	for _, s := range sandboxShops(t, sb.Env().Dataset(wdt.DatasetShops)) {
		d, written := docs[strings.ToUpper(s.no)]
		dl, isDead := dead[s.id]
		switch {
		case s.disabled:
			if written || isDead {
				t.Errorf("disabled shop %s: written %v, dead-lettered %v", s.no, written, isDead)
			}
		case !validOrg(s.remark):
			if written || !isDead {
				t.Errorf("shop %s with remark %q: written %v, dead-lettered %v", s.no, s.remark, written, isDead)
			}
		case written == isDead:
			t.Errorf("shop %s: written %v and dead-lettered %v, want exactly one", s.no, written, isDead)
		case written:
			if d.Writes != 1 {
				t.Errorf("customer %s written %d times", s.no, d.Writes)
			}
		default:
			refused++
			errText := fmt.Sprint(dl["error"])
			payload, _ := dl["payload"].(map[string]any)
			if !strings.HasPrefix(errText, "k3cloud: BatchSave: code 11 BD_Customer "+s.no+": ") || !strings.HasSuffix(errText, "(permanent)") ||
				fmt.Sprint(payload["FNumber"]) != s.no || streamtest.RefNumber(payload["FUseOrgId"]) != s.remark {
				t.Errorf("dead letter of shop %s refused by Kingdee: error %q, payload %v", s.no, errText, payload)
			}
		}
	}
	if refused == 0 {
		t.Fatal("Kingdee refused no customer: the row_fail_rate fault did not apply, the test proves nothing")
	}
}
