package wdt

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/erpsync/erpsync/sandbox/core"
)

func (f *fixture) setAnswers(t *testing.T, af core.AnswerFaults, mutate float64) {
	t.Helper()
	if err := f.env.SetFaults(core.Faults{MutateRate: mutate, Interfaces: core.InterfaceFaults{DatasetShops: af}}); err != nil {
		t.Fatal(err)
	}
}

// shopReply is one page of either route, raw enough to tell a missing
// shoplist from a null one.
type shopReply struct {
	total   int
	list    json.RawMessage // nil when the key is missing
	missing bool
	ids     []int
}

// routes call one page of the shop list on each route.
func routes(t *testing.T, f *fixture) map[string]func(page, size int) shopReply {
	decode := func(body map[string]json.RawMessage) shopReply {
		var r shopReply
		_ = json.Unmarshal(body["total_count"], &r.total)
		list, ok := body["shoplist"]
		r.list, r.missing = list, !ok
		if ok && string(list) != "null" {
			var rows []struct {
				ShopID int `json:"shop_id"`
			}
			if err := json.Unmarshal(list, &rows); err != nil {
				t.Fatal(err)
			}
			r.ids = []int{}
			for _, x := range rows {
				r.ids = append(r.ids, x.ShopID)
			}
		}
		return r
	}
	return map[string]func(page, size int) shopReply{
		"openapi2": func(page, size int) shopReply {
			var body map[string]json.RawMessage
			postForm(t, f.srv.URL+"/openapi2/shop.php", o2Params(f.cfg, map[string]string{"page_no": strconv.Itoa(page), "page_size": strconv.Itoa(size)}, false), &body)
			if string(body["code"]) != "0" {
				t.Fatalf("code %s", body["code"])
			}
			return decode(body)
		},
		"qimen": func(page, size int) shopReply {
			var env struct {
				Response map[string]json.RawMessage `json:"response"`
			}
			postForm(t, f.srv.URL+QimenPath, qmParams(f.cfg, map[string]string{"page_no": strconv.Itoa(page), "page_size": strconv.Itoa(size)}), &env)
			if string(env.Response["errorcode"]) != "0" {
				t.Fatalf("errorcode %s", env.Response["errorcode"])
			}
			return decode(env.Response)
		},
	}
}

func readShops(t *testing.T, fetch func(page, size int) shopReply, size int) []int {
	t.Helper()
	var out []int
	for page := 0; ; page++ {
		r := fetch(page, size)
		out = append(out, r.ids...)
		if (page+1)*size >= r.total {
			return out
		}
	}
}

func TestShopOrders(t *testing.T) {
	f := newFixture(t, 230, false, DefaultConfig())
	var asc []int
	for _, id := range enabledIDs(t, f.env) {
		n, _ := strconv.Atoi(id)
		asc = append(asc, n)
	}
	for route, fetch := range routes(t, f) {
		t.Run(route, func(t *testing.T) {
			read := func(order string, size int) []int {
				f.setAnswers(t, core.AnswerFaults{Order: order}, 0)
				got := readShops(t, fetch, size)
				if !slices.Equal(slices.Sorted(slices.Values(got)), asc) {
					t.Fatalf("%s: read %d shops, not each of %d once", order, len(got), len(asc))
				}
				return got
			}
			desc := slices.Clone(asc)
			slices.Reverse(desc)
			if !slices.Equal(read(core.OrderAsc, 30), asc) || !slices.Equal(read(core.OrderIDAsc, 30), asc) {
				t.Fatal("asc and id_asc are not by shop_id")
			}
			if !slices.Equal(read(core.OrderDesc, 30), desc) || !slices.Equal(read(core.OrderIDDesc, 30), desc) {
				t.Fatal("desc and id_desc are not by shop_id descending")
			}
			r := read(core.OrderRandom, 30)
			if slices.Equal(r, asc) || !slices.Equal(read(core.OrderRandom, 30), r) || slices.Equal(read(core.OrderRandom, 25), r) {
				t.Fatal("random is not a stable per-query permutation")
			}
		})
	}
	// Both routes see the same permutation of the same query.
	f.setAnswers(t, core.AnswerFaults{Order: core.OrderRandom}, 0)
	rs := routes(t, f)
	if !slices.Equal(readShops(t, rs["openapi2"], 30), readShops(t, rs["qimen"], 30)) {
		t.Fatal("the routes disagree on the random order of one query")
	}
}

func TestShopNullAnswers(t *testing.T) {
	f := newFixture(t, 120, false, DefaultConfig())
	f.setAnswers(t, core.AnswerFaults{NullRate: 0.3}, 0)
	for route, fetch := range routes(t, f) {
		t.Run(route, func(t *testing.T) {
			want := len(enabledIDs(t, f.env))
			var missing, null, full int
			for range 150 {
				r := fetch(1, 30)
				if r.total != want {
					t.Fatalf("total_count %d, want %d", r.total, want)
				}
				switch {
				case r.missing:
					missing++
				case string(r.list) == "null":
					null++
				default:
					full++
					if len(r.ids) != 30 {
						t.Fatalf("full page with %d shops", len(r.ids))
					}
				}
			}
			if missing == 0 || null == 0 || missing+null < 25 || missing+null > 70 {
				t.Fatalf("%d missing, %d null, %d full of 150 at 0.3", missing, null, full)
			}
			iface := map[string]string{"openapi2": "/openapi2/shop.php", "qimen": qimenShopMethod}[route]
			if n := f.env.Stats.FaultCount(Vendor, iface, core.FaultNull); n != missing+null {
				t.Fatalf("%s: %d null answers counted, %d seen", iface, n, missing+null)
			}
		})
	}
	if f.env.Stats.Count(Vendor, qimenShopMethod, "0") != 150 || f.env.Stats.Count(Vendor, "/openapi2/shop.php", "0") != 150 {
		t.Fatal("null answers are not code 0")
	}
}

func TestShopDriftDuplicateShort(t *testing.T) {
	f := newFixture(t, 230, false, DefaultConfig())
	for route, fetch := range routes(t, f) {
		t.Run(route, func(t *testing.T) {
			f.setAnswers(t, core.AnswerFaults{}, 0)
			all := readShops(t, fetch, 100)
			truth := len(all)
			page := func(p int) []int { return all[p*30 : min(p*30+30, truth)] }

			f.setAnswers(t, core.AnswerFaults{TotalDriftRate: 1}, 0)
			for p := range 3 {
				r := fetch(p, 30)
				if d := r.total - truth; d == 0 || d < -3 || d > 3 || !slices.Equal(r.ids, page(p)) {
					t.Fatalf("page %d: total_count %d (truth %d), rows changed %v", p, r.total, truth, !slices.Equal(r.ids, page(p)))
				}
			}

			f.setAnswers(t, core.AnswerFaults{DuplicateRate: 1}, 0)
			if r := fetch(0, 30); !slices.Equal(r.ids, page(0)) {
				t.Fatal("the first page was moved")
			}
			for p := 1; p < 4; p++ {
				r := fetch(p, 30)
				d := p*30 - slices.Index(all, r.ids[0])
				if d < 1 || d > 3 || r.total != truth || !slices.Equal(r.ids, all[p*30-d:min(p*30-d+30, truth)]) {
					t.Fatalf("page %d moved by %d, total %d", p, d, r.total)
				}
			}

			f.setAnswers(t, core.AnswerFaults{ShortPageRate: 1}, 0)
			last := (truth - 1) / 30
			for p := 0; p <= last; p++ {
				r := fetch(p, 30)
				if p == last {
					if !slices.Equal(r.ids, page(p)) {
						t.Fatal("the last page was cut")
					}
					continue
				}
				if n := len(r.ids); n < 27 || n > 29 || !slices.Equal(r.ids, page(p)[:n]) || r.total != truth {
					t.Fatalf("page %d: %d shops, total %d", p, n, r.total)
				}
			}
		})
	}
	for _, kind := range []string{core.FaultTotalDrift, core.FaultDuplicate, core.FaultShortPage} {
		if f.env.Stats.FaultCount(Vendor, "/openapi2/shop.php", kind) == 0 || f.env.Stats.FaultCount(Vendor, qimenShopMethod, kind) == 0 {
			t.Fatalf("%s not counted on both routes: %v", kind, f.env.Stats.FaultSnapshot())
		}
	}
}

func TestShopMutationAndServedVersion(t *testing.T) {
	for _, order := range core.Orders {
		t.Run(order, func(t *testing.T) {
			f := newFixture(t, 120, false, DefaultConfig())
			f.setAnswers(t, core.AnswerFaults{Order: order}, 1)
			// Shops are ordered by shop_id, which a mutation does not
			// change: every page of every order still holds each shop once.
			seen := map[string]int{}
			fetch := routes(t, f)["openapi2"]
			for _, id := range readShops(t, fetch, 20) {
				seen[strconv.Itoa(id)]++
			}
			mutated := 0
			for _, d := range f.env.Dataset(DatasetShops).Truth() {
				want := seen[d.ID]
				if d.ServedVersion > d.Version || (want == 1) != (d.ServedVersion > 0) {
					t.Fatalf("shop %s: seen %d times, served_version %d, version %d", d.ID, want, d.ServedVersion, d.Version)
				}
				if d.Version > 1 {
					mutated++
				}
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("shop %s seen %d times", id, n)
				}
			}
			if len(seen) != len(enabledIDs(t, f.env)) || mutated == 0 {
				t.Fatalf("read %d shops, %d mutated", len(seen), mutated)
			}
		})
	}
}

// TestShopAnswersWithoutFaultsUnchanged pins the fault-free shape: the
// shoplist key is present (an empty array past the end).
func TestShopAnswersWithoutFaultsUnchanged(t *testing.T) {
	f := newFixture(t, 10, false, DefaultConfig())
	resp, err := http.PostForm(f.srv.URL+"/openapi2/shop.php", form(o2Params(f.cfg, map[string]string{"page_no": "5"}, false)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if string(body["shoplist"]) != "[]" || fmt.Sprint(len(body)) != "4" {
		t.Fatalf("page past the end: %v", body)
	}
}
