package xbb

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

const listPath = apiPrefix + "product/list"

func (ts *testServer) setAnswers(t *testing.T, af core.AnswerFaults, mutate float64) {
	t.Helper()
	if err := ts.env.SetFaults(core.Faults{MutateRate: mutate, Interfaces: core.InterfaceFaults{DatasetProducts: af}}); err != nil {
		t.Fatal(err)
	}
}

func (ts *testServer) listPage(t *testing.T, conds []map[string]any, page, size int) listAnswer {
	t.Helper()
	return decodeList(t, ts.call(t, "product/list", ts.payload(map[string]any{"page": page, "pageSize": size, "conditions": conds})))
}

func dataIDs(items []listItem) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = it.DataID
	}
	return out
}

func TestProductOrders(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 450})
	for name, conds := range map[string][]map[string]any{
		"none":    nil,
		"window":  window(fixedNow.Add(-20*24*time.Hour).Unix(), fixedNow.Unix()),
		"addTime": {{"attr": "addTime", "symbol": "greaterequal", "value": []any{fixedNow.Add(-40 * 24 * time.Hour).Unix()}}},
	} {
		t.Run(name, func(t *testing.T) {
			ts.setAnswers(t, core.AnswerFaults{}, 0)
			asc := dataIDs(collect(t, ts, conds))
			if len(asc) < 150 {
				t.Fatalf("only %d products", len(asc))
			}
			sorted := slices.Sorted(slices.Values(asc))
			read := func(order string) []int64 {
				ts.setAnswers(t, core.AnswerFaults{Order: order}, 0)
				got := dataIDs(collect(t, ts, conds))
				if !slices.Equal(slices.Sorted(slices.Values(got)), sorted) {
					t.Fatalf("%s: pages hold %d products, not each of %d once", order, len(got), len(asc))
				}
				return got
			}
			if got := read(core.OrderAsc); !slices.Equal(got, asc) {
				t.Fatal("asc differs from (updateTime, dataId)")
			}
			rev := slices.Clone(asc)
			slices.Reverse(rev)
			if got := read(core.OrderDesc); !slices.Equal(got, rev) {
				t.Fatal("desc is not (updateTime, dataId) descending")
			}
			if got := read(core.OrderIDAsc); !slices.Equal(got, sorted) {
				t.Fatal("id_asc is not by dataId")
			}
			back := slices.Clone(sorted)
			slices.Reverse(back)
			if got := read(core.OrderIDDesc); !slices.Equal(got, back) {
				t.Fatal("id_desc is not by dataId descending")
			}
			r := read(core.OrderRandom)
			if slices.Equal(r, asc) || slices.Equal(r, sorted) || !slices.Equal(read(core.OrderRandom), r) {
				t.Fatal("random is not a stable permutation")
			}
		})
	}
}

func TestProductNullAnswers(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 300})
	ts.setAnswers(t, core.AnswerFaults{NullRate: 0.3}, 0)
	var whole, list, full int
	for range 200 {
		a := ts.call(t, "product/list", ts.payload(map[string]any{"page": 2, "pageSize": 100}))
		mustOK(t, a)
		if string(a.Result) == "null" {
			whole++
			continue
		}
		var r struct {
			List       json.RawMessage `json:"list"`
			TotalCount int64           `json:"totalCount"`
			TotalPage  int64           `json:"totalPage"`
		}
		if err := json.Unmarshal(a.Result, &r); err != nil {
			t.Fatal(err)
		}
		if r.TotalCount != 300 || r.TotalPage != 3 {
			t.Fatalf("totals %d/%d", r.TotalCount, r.TotalPage)
		}
		if string(r.List) == "null" {
			list++
		} else {
			full++
		}
	}
	if whole == 0 || list == 0 || whole+list < 35 || whole+list > 90 {
		t.Fatalf("null answers: %d result null, %d list null, %d full of 200 at 0.3", whole, list, full)
	}
	if n := ts.env.Stats.FaultCount(vendorName, listPath, core.FaultNull); n != whole+list {
		t.Fatalf("stats counted %d null answers, saw %d", n, whole+list)
	}
	if ts.env.Stats.Count(vendorName, listPath, "1") != 200 {
		t.Fatal("null answers are not code 1")
	}
}

func TestProductDriftDuplicateShort(t *testing.T) {
	ts := newTestServer(t, core.Options{Records: 300})
	all := dataIDs(collect(t, ts, nil))

	ts.setAnswers(t, core.AnswerFaults{TotalDriftRate: 1}, 0)
	for page := 1; page <= 3; page++ {
		l := ts.listPage(t, nil, page, 100)
		if d := l.TotalCount - 300; d == 0 || d < -3 || d > 3 || l.TotalPage != (l.TotalCount+99)/100 {
			t.Fatalf("page %d totals %d/%d", page, l.TotalCount, l.TotalPage)
		}
		if !slices.Equal(dataIDs(l.List), all[(page-1)*100:page*100]) {
			t.Fatalf("page %d rows changed under total drift", page)
		}
	}

	ts.setAnswers(t, core.AnswerFaults{DuplicateRate: 1}, 0)
	if l := ts.listPage(t, nil, 1, 100); !slices.Equal(dataIDs(l.List), all[:100]) {
		t.Fatal("the first page was moved")
	}
	for page := 2; page <= 3; page++ {
		l := ts.listPage(t, nil, page, 100)
		got := dataIDs(l.List)
		d := (page-1)*100 - slices.Index(all, got[0])
		if d < 1 || d > 3 || l.TotalCount != 300 || l.TotalPage != 3 || !slices.Equal(got, all[(page-1)*100-d:page*100-d]) {
			t.Fatalf("page %d starts %d rows early, totals %d/%d", page, d, l.TotalCount, l.TotalPage)
		}
	}
	if ts.env.Stats.FaultCount(vendorName, listPath, core.FaultDuplicate) != 2 {
		t.Fatal("duplicates not counted")
	}

	ts.setAnswers(t, core.AnswerFaults{ShortPageRate: 1}, 0)
	for page := 1; page <= 3; page++ {
		l := ts.listPage(t, nil, page, 100)
		got := dataIDs(l.List)
		want := all[(page-1)*100 : page*100]
		if page == 3 && !slices.Equal(got, want) {
			t.Fatal("the last page was cut")
		}
		if page < 3 && (len(got) < 97 || len(got) > 99 || !slices.Equal(got, want[:len(got)]) || l.TotalPage != 3) {
			t.Fatalf("page %d: %d rows, totalPage %d", page, len(got), l.TotalPage)
		}
	}
}

var versionRe = regexp.MustCompile(` v(\d+)$`)

func productVersion(it listItem) int {
	name, _ := it.Data[keyName].(string)
	if m := versionRe.FindStringSubmatch(name); m != nil {
		v, _ := strconv.Atoi(m[1])
		return v
	}
	return 1
}

// TestProductMutationUnderEveryOrder: with a mutation per page, every page
// keeps its order, served_version is what the client saw last, and a clean
// read afterwards finds every product with its truth.
func TestProductMutationUnderEveryOrder(t *testing.T) {
	for _, order := range core.Orders {
		t.Run(order, func(t *testing.T) {
			ts := newTestServer(t, core.Options{Records: 300})
			ts.setAnswers(t, core.AnswerFaults{Order: order}, 1)
			seen := map[string]int{}
			for page := 1; page <= 6; page++ {
				l := ts.listPage(t, nil, page, 50)
				for k, it := range l.List {
					id := strconv.FormatInt(it.DataID, 10)
					seen[id] = max(seen[id], productVersion(it))
					if k == 0 {
						continue
					}
					p := l.List[k-1]
					bad := false
					switch order {
					case core.OrderAsc:
						bad = p.UpdateTime > it.UpdateTime
					case core.OrderDesc:
						bad = p.UpdateTime < it.UpdateTime
					case core.OrderIDAsc:
						bad = p.DataID >= it.DataID
					case core.OrderIDDesc:
						bad = p.DataID <= it.DataID
					}
					if bad {
						t.Fatalf("page %d out of %s order at %d", page, order, it.DataID)
					}
				}
			}
			truth := map[string]core.TruthDoc{}
			for _, d := range ts.env.Dataset(DatasetProducts).Truth() {
				truth[d.ID] = d
				if d.ServedVersion != seen[d.ID] || d.ServedVersion > d.Version {
					t.Fatalf("product %s: served_version %d, version %d, client saw %d", d.ID, d.ServedVersion, d.Version, seen[d.ID])
				}
			}
			ts.setAnswers(t, core.AnswerFaults{}, 0)
			items := collect(t, ts, nil)
			if len(items) != 300 {
				t.Fatalf("clean read %d products", len(items))
			}
			for _, it := range items {
				td := truth[strconv.FormatInt(it.DataID, 10)]
				if productVersion(it) != td.Version || core.FormatVendorTime(time.Unix(it.UpdateTime, 0)) != td.Modified {
					t.Fatalf("product %d v%d, truth %+v", it.DataID, productVersion(it), td)
				}
			}
		})
	}
}
