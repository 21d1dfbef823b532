package xbb

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/erpsync/erpsync/sandbox/core"
)

// firstDataID is the dataId of the first generated product; ids then
// increase by one, so a position in the store and a dataId convert freely.
const firstDataID = 1_000_001

// Words for products beyond the shared catalog (those exist in XBB only and
// have no Kingdee material).
var (
	extraWords  = []string{"办公椅", "显示器支架", "收纳箱", "台灯", "加湿器", "电动牙刷", "瑜伽垫", "咖啡豆", "坚果礼盒", "笔记本"}
	extraColour = []string{"白色", "黑色", "原木色", "浅灰", "墨绿"}
	specs       = []string{"标准装", "礼盒装", "500ml", "1kg", "12只/箱", "均码", "加厚款"}
	unitOptions = []string{"件", "个", "双", "盒", "箱", "套"}
	creators    = []string{"manager-0001", "sales-0002", "sales-0003"}
)

// store is one list interface's dataset (products, customers, contracts)
// plus an index that lets its list page a million documents without
// scanning or sorting them per call: order holds store positions sorted by
// (updateTime, dataId) once at generation and is patched when a mutation
// moves one document.
type store struct {
	ds   *core.Dataset
	form *form
	// first is the dataId of position 0; ids then increase by one, so a
	// position and a dataId convert freely.
	first int64

	// By position. addTime, serialNo and the recycle-bin and public-sea
	// flags never change, so conditions on them are evaluated without
	// touching the dataset.
	addTime []int64
	serial  []string
	mod     []int64 // updateTime as the index last saw it
	del     []bool  // in the recycle bin (customers; nil elsewhere)
	public  []bool  // in the public sea (customers; nil elsewhere)

	order []int32 // positions ordered by (mod, position)
}

// newStore allocates the columns of n documents of form f.
func newStore(f *form, n int) *store {
	st := &store{form: f, first: f.first, addTime: make([]int64, n), serial: make([]string, n), mod: make([]int64, n), order: make([]int32, n)}
	for i := range st.order {
		st.order[i] = int32(i)
	}
	return st
}

// seal builds the dataset from docs (generated in (updateTime, dataId)
// order, which order already holds) and registers the renderer.
func (st *store) seal(docs []core.Doc, mutate core.Mutator) {
	for i, d := range docs {
		st.mod[i] = d.Modified.Unix()
	}
	st.ds = core.NewDataset(st.form.dataset, docs, mutate)
	st.ds.SetRender(func(doc core.Doc) any { return st.render(st.posOf(doc.ID), doc) })
}

func newProductStore(env *core.Env, cfg Config) *store {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetProducts)
	times := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	catalog := core.Catalog(env.Seed)
	who := append([]string{cfg.UserID}, creators...)

	ps := newStore(&productForm, n)
	docs := make([]core.Doc, n)
	for i := range n {
		var serial, name, unit string
		var cost float64
		if i < len(catalog) {
			// The first products are the shared catalog, so their serialNo
			// is a Kingdee material number.
			sku := catalog[i]
			serial, name, unit, cost = sku.ID, sku.Name, sku.Unit, sku.Price
		} else {
			serial = fmt.Sprintf("CP%07d", i+1)
			name = fmt.Sprintf("%s %s %d号", core.Pick(r, extraWords), core.Pick(r, extraColour), i+1)
			unit = core.Pick(r, unitOptions)
			cost = float64(100+r.IntN(99900)) / 100
		}
		mod := times[i]
		// Created up to 60 days before the last update.
		added := mod.Unix() - r.Int64N(60*24*3600)
		body := map[string]any{
			keyAddTime:   added,
			keySerialNo:  serial,
			keyName:      name,
			keyUnit:      unit,
			keyPrice:     round2(cost * (1.2 + r.Float64())),
			keyCreatorID: core.Pick(r, who),
		}
		// Optional fields are absent on some products, as on a real form
		// where nobody filled them in.
		if r.IntN(5) > 0 {
			body[keySpec] = core.Pick(r, specs)
		}
		if r.IntN(3) > 0 {
			body[keyCost] = cost
		}
		docs[i] = core.Doc{ID: strconv.Itoa(firstDataID + i), Modified: mod, Body: body}
		// SpreadTimes is ascending and positions ascend with dataId, so
		// generation order is already (updateTime, dataId) order.
		ps.addTime[i], ps.serial[i] = added, serial
	}
	ps.seal(docs, mutateProduct)
	return ps
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

var versionSuffix = regexp.MustCompile(` v\d+$`)

// mutateProduct marks the product name with the version, so a reader can
// tell which content it saw. The name is what a CRM user edits most; the
// code (serialNo) stays, as it is the business key.
func mutateProduct(body map[string]any, version int) {
	name, _ := body[keyName].(string)
	body[keyName] = versionSuffix.ReplaceAllString(name, "") + fmt.Sprintf(" v%d", version)
}

func (ps *store) dataID(pos int32) int64 { return int64(pos) + ps.first }

// posOf converts a Doc.ID to a store position, or -1.
func (ps *store) posOf(id string) int32 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < ps.first || n-ps.first >= int64(len(ps.mod)) {
		return -1
	}
	return int32(n - ps.first)
}

// less orders positions by (updateTime, dataId).
func (ps *store) less(a, b int32) bool {
	if ps.mod[a] != ps.mod[b] {
		return ps.mod[a] < ps.mod[b]
	}
	return a < b
}

// lowerBound is the first index in order whose updateTime is >= t.
func (ps *store) lowerBound(t int64) int {
	i, _ := slices.BinarySearchFunc(ps.order, t, func(p int32, t int64) int {
		if ps.mod[p] < t {
			return -1
		}
		return 1
	})
	return i
}

// upperBound is the first index in order whose updateTime is > t.
func (ps *store) upperBound(t int64) int {
	i, _ := slices.BinarySearchFunc(ps.order, t, func(p int32, t int64) int {
		if ps.mod[p] <= t {
			return -1
		}
		return 1
	})
	return i
}

// find is the index of pos in order, using its indexed updateTime.
func (ps *store) find(pos int32) int {
	i, _ := slices.BinarySearchFunc(ps.order, pos, func(p, pos int32) int {
		switch {
		case ps.less(p, pos):
			return -1
		case ps.less(pos, p):
			return 1
		}
		return 0
	})
	return i
}

// move re-indexes pos after its updateTime became mod: O(n) memmove, paid
// only per mutation.
func (ps *store) move(pos int32, mod int64) {
	if i := ps.find(pos); i < len(ps.order) && ps.order[i] == pos {
		ps.order = slices.Delete(ps.order, i, i+1)
	}
	ps.mod[pos] = mod
	i := ps.find(pos)
	ps.order = slices.Insert(ps.order, i, pos)
}

// resync rebuilds the index from the dataset. It runs only if something
// other than the store's list touched a document (the index is patched for
// every mutation the list makes itself).
func (ps *store) resync() {
	for _, d := range ps.ds.Select(nil, nil) {
		if p := ps.posOf(d.ID); p >= 0 {
			ps.mod[p] = d.Modified.Unix()
		}
	}
	slices.SortFunc(ps.order, func(a, b int32) int {
		switch {
		case ps.less(a, b):
			return -1
		case ps.less(b, a):
			return 1
		}
		return 0
	})
}
