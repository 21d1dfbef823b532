package xbb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// condition is one element of conditions[]: {"attr", "symbol", "value": [...]}.
type condition struct {
	Attr   string          `json:"attr"`
	Symbol string          `json:"symbol"`
	Value  json.RawMessage `json:"value"`
}

// fieldKind tells how a form field compares.
type fieldKind int

const (
	kindTime fieldKind = iota // top-level Unix seconds: addTime, updateTime
	kindText                  // string comparison
	kindNum                   // numeric comparison (amounts, date_ fields in Unix seconds)
	kindLink                  // a linked record: [{"id": dataId, "name": ...}], compared by dataId
	kindSub                   // a subform (array_): rows of fields, not a condition field
)

// formField is one field of a form, as /form/get explains it.
type formField struct {
	Attr     string
	AttrName string
	Kind     fieldKind
	Options  []string // option field texts (items)
}

// form is one form of the sandbox tenant and the list interface serving
// its records (keys and ids: see vendor.go).
type form struct {
	id      int
	name    string // the form's name, as form/list and form/get answer it
	iface   string // the list interface under /pro/v2/api/
	dataset string
	fields  []formField
	// first is the dataId of the form's first record.
	first int64
	// needsID: the list refuses a call without formId (customer/list [C]);
	// otherwise a missing formId means this form.
	needsID bool
	// sifted: the list takes del (recycle bin) and isPublic (public sea),
	// and the store keeps both flags (customers).
	sifted bool
	// fixed are data fields every item carries with a constant value.
	fixed map[string]any
}

func (f *form) field(attr string) (formField, bool) {
	for _, x := range f.fields {
		if x.Attr == attr {
			return x, true
		}
	}
	return formField{}, false
}

// bounds is an inclusive range, narrowed by every condition on one field.
type bounds struct {
	lo, hi int64
}

func fullBounds() bounds { return bounds{math.MinInt64, math.MaxInt64} }

func (b *bounds) apply(sym string, v int64) {
	switch sym {
	case symEqual:
		b.lo, b.hi = max(b.lo, v), min(b.hi, v)
	case symGreaterEqual:
		b.lo = max(b.lo, v)
	case symLessEqual:
		b.hi = min(b.hi, v)
	}
}

func (b bounds) has(v int64) bool { return v >= b.lo && v <= b.hi }

// fieldCond is a condition on a field under data (serialNo, text_*, num_*).
type fieldCond struct {
	field formField
	sym   string
	text  string
	num   float64
}

// match tests the value found under data (nil when the field is absent:
// an absent field never satisfies a condition).
func (c fieldCond) match(v any) bool {
	var d int
	switch c.field.Kind {
	case kindNum, kindLink:
		f, ok := toFloat(v)
		if c.field.Kind == kindLink {
			f, ok = linkID(v)
		}
		if !ok {
			return false
		}
		switch {
		case f < c.num:
			d = -1
		case f > c.num:
			d = 1
		}
	default:
		s, ok := v.(string)
		if !ok {
			return false
		}
		d = strings.Compare(s, c.text)
	}
	switch c.sym {
	case symEqual:
		return d == 0
	case symGreaterEqual:
		return d >= 0
	default:
		return d <= 0
	}
}

// linkID is the dataId of a linked record as stored: the first element of
// []link.
func linkID(v any) (float64, bool) {
	ls, ok := v.([]link)
	if !ok || len(ls) == 0 {
		return 0, false
	}
	return float64(ls[0].ID), true
}

// link is one linked record in a data field. [I] XBBEXE reads such values
// as an array whose elements carry dataId, id or value and name or text.
type link struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// query is a compiled list request: conditions, and for customers the
// recycle bin (del) and public sea (isPublic) selection.
type query struct {
	update, add bounds
	serial      []fieldCond // evaluated on the store's serialNo column
	fields      []fieldCond // evaluated on the document body
	del         bool        // the recycle bin instead of the list (stores with del)
	public      int64       // -1 all, 0 outside, 1 inside the public sea (stores with public)
}

// parseConditions validates conditions[] against form f (always, as the
// vendor would) and compiles them. Values are Unix seconds for times; a
// millisecond value is not refused, it simply matches nothing or
// everything, as on the real API.
func parseConditions(fm *form, conds []condition) (query, error) {
	q := query{update: fullBounds(), add: fullBounds(), public: -1}
	for i, c := range conds {
		v, err := conditionShape(i, c)
		if err != nil {
			return q, err
		}
		f, ok := fm.field(c.Attr)
		if !ok {
			return q, failf(codeParamError, "conditions[%d]: 条件字段不存在: %q", i, c.Attr)
		}
		switch f.Kind {
		case kindSub:
			return q, failf(codeParamError, "conditions[%d]: 子表单字段不能作为条件: %q", i, c.Attr)
		case kindLink:
			n, ok := toSeconds(v)
			if !ok {
				return q, failf(codeParamError, "conditions[%d]: %s 的值必须是关联数据的dataId: %s", i, c.Attr, v)
			}
			q.fields = append(q.fields, fieldCond{field: f, sym: c.Symbol, num: float64(n)})
		case kindTime:
			n, ok := toSeconds(v)
			if !ok {
				return q, failf(codeParamError, "conditions[%d]: %s 的值必须是时间戳(秒): %s", i, c.Attr, v)
			}
			if c.Attr == keyUpdate {
				q.update.apply(c.Symbol, n)
			} else {
				q.add.apply(c.Symbol, n)
			}
		case kindNum:
			n, err := strconv.ParseFloat(strings.Trim(string(v), `"`), 64)
			if err != nil {
				return q, failf(codeParamError, "conditions[%d]: %s 的值必须是数字: %s", i, c.Attr, v)
			}
			q.fields = append(q.fields, fieldCond{field: f, sym: c.Symbol, num: n})
		default:
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				// A number given for a text field compares as its text.
				s = string(v)
			}
			fc := fieldCond{field: f, sym: c.Symbol, text: s}
			if c.Attr == keySerialNo {
				q.serial = append(q.serial, fc)
			} else {
				q.fields = append(q.fields, fc)
			}
		}
	}
	return q, nil
}

// conditionShape checks what every list interface checks of a condition:
// attr present, a known symbol, value a non-empty array. It returns the value
// compared: equal takes the first value and ignores the others. [I]
func conditionShape(i int, c condition) (json.RawMessage, error) {
	if c.Attr == "" {
		return nil, failf(codeParamError, "conditions[%d]: attr不能为空", i)
	}
	switch c.Symbol {
	case symEqual, symGreaterEqual, symLessEqual:
	default:
		return nil, failf(codeParamError, "conditions[%d]: 不支持的条件符号: %q（支持 equal、greaterequal、lessequal）", i, c.Symbol)
	}
	vals, err := conditionValues(c.Value)
	if err != nil {
		return nil, failf(codeParamError, "conditions[%d]: %s", i, err.Error())
	}
	return vals[0], nil
}

// conditionValues checks that value is a non-empty array: the contract says
// it is always one, even for a single value.
func conditionValues(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, errString("value必须是数组")
	}
	var vals []json.RawMessage
	if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, errString("value必须是数组")
	}
	if len(vals) == 0 || string(bytes.TrimSpace(vals[0])) == "null" {
		return nil, errString("value不能为空")
	}
	return vals, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// toSeconds reads a time value: a JSON number or numeric string.
func toSeconds(v json.RawMessage) (int64, bool) {
	s := strings.Trim(string(bytes.TrimSpace(v)), `"`)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return int64(math.Floor(f)), true
}

// matchStored tests the conditions on the columns the store keeps; body is
// only fetched when a condition needs it.
func (q query) matchStored(ps *store, pos int32, body func() map[string]any) bool {
	if !q.update.has(ps.mod[pos]) || !q.add.has(ps.addTime[pos]) || !q.flags(ps, pos) {
		return false
	}
	for _, c := range q.serial {
		if !c.match(ps.serial[pos]) {
			return false
		}
	}
	if len(q.fields) == 0 {
		return true
	}
	b := body()
	for _, c := range q.fields {
		if !c.match(b[c.field.Attr]) {
			return false
		}
	}
	return true
}

// flags tests the recycle-bin and public-sea columns.
func (q query) flags(ps *store, pos int32) bool {
	if ps.del != nil && ps.del[pos] != q.del {
		return false
	}
	return ps.public == nil || q.public < 0 || ps.public[pos] == (q.public == 1)
}

// plain: the query selects by updateTime alone, so its matches are a slice
// of the index.
func (q query) plain(ps *store) bool {
	return len(q.serial) == 0 && len(q.fields) == 0 && q.add == fullBounds() && ps.del == nil && (ps.public == nil || q.public < 0)
}

// matchDoc tests a document of ps directly; used by the mutate fault, which
// walks the dataset itself.
func (q query) matchDoc(ps *store, d *core.Doc) bool {
	if pos := ps.posOf(d.ID); pos < 0 || !q.flags(ps, pos) || !q.update.has(d.Modified.Unix()) {
		return false
	}
	add, _ := d.Body[keyAddTime].(int64)
	if !q.add.has(add) {
		return false
	}
	for _, c := range q.serial {
		if !c.match(d.Body[keySerialNo]) {
			return false
		}
	}
	for _, c := range q.fields {
		if !c.match(d.Body[c.field.Attr]) {
			return false
		}
	}
	return true
}

// paging validates page and pageSize (always enforced).
func paging(req request) (page, size int64, err error) {
	page, size = 1, defaultPageSize
	if req.Page.set {
		page = req.Page.v
	}
	if req.PageSize.set && req.PageSize.v != 0 {
		size = req.PageSize.v
	}
	switch {
	case page < 1:
		return 0, 0, failf(codeParamError, "page必须大于等于1，当前为%d", page)
	case size < 1:
		return 0, 0, failf(codeParamError, "pageSize必须大于0，当前为%d", size)
	case size > maxPageSize:
		return 0, 0, failf(codeParamError, "pageSize不能超过%d，当前为%d", maxPageSize, size)
	}
	return page, size, nil
}

// listResult is result of every list interface. List is null for a null
// answer (json.RawMessage("null")).
type listResult struct {
	List       any   `json:"list"`
	TotalCount int64 `json:"totalCount"`
	TotalPage  int64 `json:"totalPage"`
	PageSize   int64 `json:"pageSize"`
	Page       int64 `json:"page"`
}

func newListResult(list any, total, page, size int64) listResult {
	return listResult{List: list, TotalCount: total, TotalPage: (total + size - 1) / size, PageSize: size, Page: page}
}

// listItem is one element of result.list.
type listItem struct {
	DataID     int64 `json:"dataId"`
	FormID     int   `json:"formId"`
	AddTime    int64 `json:"addTime"`
	UpdateTime int64 `json:"updateTime"`
	// Del is 1 for a customer in the recycle bin, 0 for one in the list;
	// absent on the other forms. [I] XBBCLI sends del as a request field;
	// that a record carries it is this sandbox's choice.
	Del  *int           `json:"del,omitempty"`
	Data map[string]any `json:"data"`

	version int // the document version rendered, for Dataset.MarkServed
}

// flagParam reads an optional 0 / 1 parameter (del, isPublic); unset is -1.
func flagParam(name string, v flexInt) (int64, error) {
	if !v.set {
		return -1, nil
	}
	if v.v != 0 && v.v != 1 {
		return 0, failf(codeParamError, "%s只能是0或1，当前为%d", name, v.v)
	}
	return v.v, nil
}

// list answers the list interface of st's form: formId, viewApproval,
// paging, conditions and, on stores keeping them, the recycle bin (del: 0
// the list, 1 the recycle bin [C XBBCLI]) and the public sea (isPublic: 0
// outside, 1 inside, absent both [C XBBCLI]).
func (s *Sim) list(fm *form, req request) (any, error) {
	switch {
	case req.FormID.set && req.FormID.v != int64(fm.id):
		return nil, failf(codeFormError, "%s: formId=%d", msgFormUnknown, req.FormID.v)
	case !req.FormID.set && fm.needsID:
		return nil, fail(codeFormError, msgFormMissing)
	}
	if !approvalValues[string(req.ViewApproval)] {
		return nil, failf(codeParamError, "viewApproval只能是\"0\"或\"1\"，当前为%q", string(req.ViewApproval))
	}
	page, size, err := paging(req)
	if err != nil {
		return nil, err
	}
	q, err := parseConditions(fm, req.Conditions)
	if err != nil {
		return nil, err
	}
	if fm.sifted {
		del, err := flagParam("del", req.Del)
		if err != nil {
			return nil, err
		}
		q.del = del == 1
		if q.public, err = flagParam("isPublic", req.IsPublic); err != nil {
			return nil, err
		}
	}

	af := s.env.Faults().AnswerFor(fm.dataset)
	// [I] a null answer is "result":null or a result whose list is null
	// with the totals.
	pg := s.env.NewPage(af, core.PageSpec{
		Vendor: vendorName, Iface: apiPrefix + fm.iface,
		Offset: int(min((page-1)*size, math.MaxInt32)), Size: int(size),
		Nulls: []core.NullKind{core.NullData, core.NullList},
	})
	var arrange func([]int32)
	if af.Reorders() {
		key := core.QueryKey(fmt.Sprintf("%s %+v size=%d", fm.iface, q, size))
		arrange = func(pos []int32) {
			// Positions order as dataIds do (dataId = first + position).
			core.Arrange(pos, af.Order, s.env.Seed, key, func(p int32) int64 { return int64(p) + fm.first })
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.storeOf(fm)
	items, total, ok := st.page(q, int64(pg.Offset), int64(pg.Size), arrange)
	if !ok {
		// A document changed behind the index: rebuild it and serve again.
		st.resync()
		items, total, _ = st.page(q, int64(pg.Offset), int64(pg.Size), arrange)
	}
	keep, reported := pg.Cut(int(total), len(items))
	items = items[:keep]
	if pg.Null == core.NotNull {
		for _, it := range items {
			st.ds.MarkServed(strconv.FormatInt(it.DataID, 10), it.version)
		}
	}
	// The mutate fault strikes after the page is cut, so the next page of
	// the same query sees the list shifted (pagination drift).
	if id := s.env.MaybeMutate(st.ds, func(d *core.Doc) bool { return q.matchDoc(st, d) }); id != "" {
		if d, found := st.ds.Get(id); found {
			st.move(st.posOf(id), d.Modified.Unix())
		}
	}
	switch pg.Null {
	case core.NullData:
		return json.RawMessage("null"), nil
	case core.NullList:
		return newListResult(json.RawMessage("null"), int64(reported), page, size), nil
	}
	return newListResult(items, int64(reported), page, size), nil
}

// page cuts the rows [off, off+size) of q's matches. The matches are in
// (updateTime, dataId) order, or, when arrange is given, collected in full
// and put in its order first. ok is false when a served document's
// updateTime disagrees with the index (the caller resyncs).
func (ps *store) page(q query, off, size int64, arrange func([]int32)) (items []listItem, total int64, ok bool) {
	a, b := 0, len(ps.order)
	if q.update.lo > math.MinInt64 {
		a = ps.lowerBound(q.update.lo)
	}
	if q.update.hi < math.MaxInt64 {
		b = ps.upperBound(q.update.hi)
	}
	if b < a {
		b = a
	}
	var hits []int32
	switch {
	case arrange != nil:
		var all []int32
		for _, pos := range ps.order[a:b] {
			if q.matchStored(ps, pos, func() map[string]any { return ps.body(pos) }) {
				all = append(all, pos)
			}
		}
		arrange(all)
		total = int64(len(all))
		hits = core.Window(all, int(min(off, total)), int(size))
	case q.plain(ps):
		// Only updateTime conditions: the window is a slice of the index.
		total = int64(b - a)
		if off < total {
			hits = ps.order[a+int(off) : a+int(min(off+size, total))]
		}
	default:
		for _, pos := range ps.order[a:b] {
			if !q.matchStored(ps, pos, func() map[string]any { return ps.body(pos) }) {
				continue
			}
			if total >= off && total < off+size {
				hits = append(hits, pos)
			}
			total++
		}
	}
	items = make([]listItem, 0, len(hits))
	for _, pos := range hits {
		d, found := ps.ds.Get(strconv.FormatInt(ps.dataID(pos), 10))
		if !found || d.Modified.Unix() != ps.mod[pos] {
			return nil, 0, false
		}
		it := ps.render(pos, d)
		it.version = d.Version
		items = append(items, it)
	}
	return items, total, true
}

func (ps *store) body(pos int32) map[string]any {
	d, _ := ps.ds.Get(strconv.FormatInt(ps.dataID(pos), 10))
	return d.Body
}

// render turns a stored document into a list item: times at the top
// level, form fields under data (serialNo included, as XBBCLI reads it).
func (ps *store) render(pos int32, d core.Doc) listItem {
	data := make(map[string]any, len(d.Body)+len(ps.form.fixed))
	for k, v := range d.Body {
		if k != keyAddTime {
			data[k] = v
		}
	}
	for k, v := range ps.form.fixed {
		data[k] = v
	}
	add, _ := d.Body[keyAddTime].(int64)
	it := listItem{DataID: ps.dataID(pos), FormID: ps.form.id, AddTime: add, UpdateTime: d.Modified.Unix(), Data: data}
	if ps.del != nil && pos >= 0 {
		del := 0
		if ps.del[pos] {
			del = 1
		}
		it.Del = &del
	}
	return it
}

// explainItem is one option of an option field.
type explainItem struct {
	Value string `json:"value"`
	Text  string `json:"text"`
}

// explain is one element of explainList.
type explain struct {
	Attr     string        `json:"attr"`
	AttrName string        `json:"attrName"`
	Items    []explainItem `json:"items,omitempty"`
}

// formByID is the tenant's form with id, or nil.
func formByID(id int64) *form {
	for _, f := range forms {
		if int64(f.id) == id {
			return f
		}
	}
	return nil
}

// formGet answers a form's explainList; formId is required [I].
func (s *Sim) formGet(req request) (any, error) {
	if !req.FormID.set {
		return nil, fail(codeFormError, msgFormMissing)
	}
	fm := formByID(req.FormID.v)
	if fm == nil {
		return nil, failf(codeFormError, "%s: formId=%d", msgFormUnknown, req.FormID.v)
	}
	list := make([]explain, 0, len(fm.fields))
	for _, f := range fm.fields {
		e := explain{Attr: f.Attr, AttrName: f.AttrName}
		for _, o := range f.Options {
			// [I] the option's value is its text, which is what data holds.
			e.Items = append(e.Items, explainItem{Value: o, Text: o})
		}
		list = append(list, e)
	}
	return map[string]any{"formId": fm.id, "name": fm.name, "explainList": list}, nil
}

// formList lists the tenant's forms. [I] item shape.
func (s *Sim) formList(req request) (any, error) {
	page, size, err := paging(req)
	if err != nil {
		return nil, err
	}
	var all []map[string]any
	for _, f := range forms {
		all = append(all, map[string]any{"formId": f.id, "name": f.name})
	}
	list := core.Window(all, int(min((page-1)*size, int64(len(all)))), int(size))
	if list == nil {
		list = []map[string]any{}
	}
	return newListResult(list, int64(len(all)), page, size), nil
}

// emptyList answers the list interfaces of record types the sandbox tenant
// does not hold: an empty page after the same validation as the others.
func (s *Sim) emptyList(req request) (any, error) {
	page, size, err := paging(req)
	if err != nil {
		return nil, err
	}
	// Field keys of other forms are unknown to the sandbox; only the
	// shape of each condition is checked there.
	for i, c := range req.Conditions {
		if _, err := conditionShape(i, c); err != nil {
			return nil, err
		}
	}
	return newListResult([]any{}, 0, page, size), nil
}
