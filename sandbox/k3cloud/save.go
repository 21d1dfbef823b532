package k3cloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// saveOpts are the data keys of Save / BatchSave the simulator honours.
type saveOpts struct {
	needUpdate  map[string]bool // upper-case field keys; empty = update what was sent
	needReturn  []string
	deleteEntry bool // IsDeleteEntry, default true
	verify      bool // IsVerifyBaseDataField, default false
	autoAudit   bool // IsAutoSubmitAndAudit
	draft       bool // Draft (暂存): no validation, status Z
}

func parseSaveOpts(d map[string]any) saveOpts {
	o := saveOpts{needUpdate: map[string]bool{}, deleteEntry: true}
	for _, f := range stringList(getCI(d, "NeedUpDateFields")) {
		o.needUpdate[strings.ToUpper(f)] = true
	}
	o.needReturn = stringList(getCI(d, "NeedReturnFields"))
	o.deleteEntry = boolOf(getCI(d, "IsDeleteEntry"), true)
	o.verify = boolOf(getCI(d, "IsVerifyBaseDataField"), false)
	o.autoAudit = boolOf(getCI(d, "IsAutoSubmitAndAudit"), false)
	return o
}

// stringList reads a string array or a comma-separated string.
func stringList(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if s := strings.TrimSpace(scalarString(e)); s != "" {
				out = append(out, s)
			}
		}
	case string:
		for _, e := range strings.Split(x, ",") {
			if s := strings.TrimSpace(e); s != "" {
				out = append(out, s)
			}
		}
	case json.Number:
		out = append(out, x.String())
	}
	return out
}

func boolOf(v any, def bool) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b
		}
	case json.Number:
		return x.String() != "0"
	}
	return def
}

// intOf reads an integer from a JSON number or a numeric string.
func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
		if f, err := x.Float64(); err == nil && f == float64(int64(f)) {
			return int64(f), true
		}
	case float64:
		return int64(x), x == float64(int64(x))
	case int64:
		return x, true
	case int:
		return int64(x), true
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

func floatOf(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// lockedForm is form with s.mu taken for the lookup.
func (s *Sim) lockedForm(id string, write bool) (*store, any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.form(id, write)
}

// form returns the store of a form id (case-insensitive) or a failure
// (s.mu held).
func (s *Sim) form(id string, write bool) (*store, any, int) {
	if strings.TrimSpace(id) == "" {
		return nil, failure(8, nil, msgNoFormID), 8
	}
	st := s.forms[strings.ToLower(strings.TrimSpace(id))]
	if st == nil {
		return nil, failure(4, nil, fmt.Sprintf(msgUnknownForm, id)), 4
	}
	if write && !st.def.writable {
		return nil, failure(4, nil, fmt.Sprintf(msgNotWritable, st.def.id)), 4
	}
	return st, nil, 0
}

// save serves Save (Model object), BatchSave (Model array) and Draft
// (Model object, saved without validation as status Z (暂存) [I]; the
// number stays unique, and a draft is turned into a created document by a
// later Save with its internal id [I]). Each document gets its own result,
// keyed by DIndex; the write of one document never depends on another's.
func (s *Sim) save(r *http.Request, req request, batch, draft bool) (any, int) {
	st, bad, code := s.lockedForm(req.formID, true)
	if st == nil {
		return bad, code
	}
	model := getCI(req.data, "Model")
	var rows []any
	switch m := model.(type) {
	case nil:
		return failure(8, nil, msgNoModel), 8
	case map[string]any:
		rows = []any{m}
	case []any:
		if !batch {
			return failure(8, nil, fmt.Sprintf(msgBadModel, "Save的Model必须是对象，批量保存请使用BatchSave")), 8
		}
		rows = m
	default:
		return failure(8, nil, fmt.Sprintf(msgBadModel, "Model必须是对象或数组")), 8
	}
	if len(rows) == 0 {
		return failure(8, nil, msgNoModel), 8
	}
	o := parseSaveOpts(req.data)
	if draft {
		o.draft, o.autoAudit = true, false
	}

	// Network control: a document being written by another request in flight
	// cannot be written now (MsgCode 13). Keys are reserved for the whole
	// request, row latency included.
	keys := make([]string, len(rows))
	conflict := make([]bool, len(rows))
	mine := map[string]bool{}
	s.mu.Lock()
	for i, row := range rows {
		m, _ := row.(map[string]any)
		keys[i] = netKey(st, m)
		if keys[i] == "" || mine[keys[i]] {
			continue
		}
		if s.netCtrl[keys[i]] {
			conflict[i] = true
			continue
		}
		s.netCtrl[keys[i]] = true
		mine[keys[i]] = true
	}
	s.mu.Unlock()

	s.env.RowDelay(r.Context(), len(rows))

	rs := newStatus()
	var ret []any
	var first *record
	s.mu.Lock()
	for k := range mine {
		delete(s.netCtrl, k)
	}
	now := s.env.Now()
	for i, row := range rows {
		m, ok := row.(map[string]any)
		if !ok {
			rs.fail(i, rowError{code: 8, msg: fmt.Sprintf(msgBadModel, "第"+strconv.Itoa(i+1)+"个Model不是对象")})
			continue
		}
		if conflict[i] {
			rs.fail(i, rowError{code: 13, field: st.def.numberKey, msg: fmt.Sprintf(msgNetCtrl, keyNumber(st, m))})
			continue
		}
		rec, errs := s.saveRow(st, m, o, now)
		if len(errs) > 0 {
			for _, e := range errs {
				rs.fail(i, e)
			}
			continue
		}
		if first == nil {
			first = rec
		}
		rs.SuccessEntitys = append(rs.SuccessEntitys, successEntity{ID: rec.id, Number: rec.number, DIndex: i})
		ret = append(ret, returnData(st, rec, o.needReturn))
	}
	s.mu.Unlock()
	if len(ret) == 0 {
		ret = []any{map[string]any{}}
	}
	if batch {
		var out batchSaveResult
		out.Result.ResponseStatus, out.Result.NeedReturnData = rs, ret
		return out, rs.MsgCode
	}
	var out saveResult
	out.Result.ResponseStatus, out.Result.NeedReturnData = rs, ret
	out.Result.ID = ""
	if first != nil {
		out.Result.ID, out.Result.Number = first.id, first.number
	}
	return out, rs.MsgCode
}

// netKey identifies the document a row writes, for network control.
func netKey(st *store, m map[string]any) string {
	if m == nil {
		return ""
	}
	if id, ok := intOf(getCI(m, st.def.idKey)); ok && id != 0 {
		return st.def.id + "#" + strconv.FormatInt(id, 10)
	}
	if no := keyNumber(st, m); no != "" {
		return st.def.id + "|" + fold(no)
	}
	return ""
}

func keyNumber(st *store, m map[string]any) string {
	return strings.TrimSpace(scalarString(getCI(m, st.def.numberKey)))
}

// saveRow validates and commits one document (s.mu held).
func (s *Sim) saveRow(st *store, raw map[string]any, o saveOpts, now time.Time) (*record, []rowError) {
	def := st.def
	in := s.normalize(st, raw)
	var existing *record
	if id, ok := intOf(in[def.idKey]); ok && id != 0 {
		existing = st.byID[id]
		if existing == nil {
			return nil, []rowError{{code: 10, field: def.idKey, msg: fmt.Sprintf(msgNotFoundID, id)}}
		}
		if !strings.Contains(updatableStatuses, existing.status) || (o.draft && existing.status != "Z") {
			return nil, []rowError{{code: 12, field: def.idKey, msg: fmt.Sprintf(msgNotUpdatable, existing.number, statusNames[existing.status])}}
		}
	}
	givenNo := strings.TrimSpace(scalarString(in[def.numberKey]))
	data := in
	if existing != nil {
		data = mergeUpdate(st, existing.data, in, o)
		if givenNo == "" || (len(o.needUpdate) > 0 && !o.needUpdate[strings.ToUpper(def.numberKey)]) {
			givenNo = existing.number
		}
	}
	delete(data, "FDocumentStatus") // the status is the server's, not the client's
	if errs := s.prepare(st, data, o, now); len(errs) > 0 && !o.draft {
		return nil, errs
	}
	org := ""
	if def.useOrgKey != "" {
		org = refNumber(data[def.useOrgKey])
	}
	no := givenNo
	if no != "" {
		if other := st.find(no, org); other != nil && other != existing {
			return nil, []rowError{{code: 11, field: def.numberKey, msg: DuplicateMessage(no)}}
		}
		if s.env.RowFails(def.id + ":" + no) {
			return nil, []rowError{{code: 11, field: def.numberKey, msg: fmt.Sprintf(msgRowFail, no)}}
		}
	} else {
		no = st.nextNumber(org)
	}
	data[def.numberKey] = no
	stamp := now.In(core.Shanghai).Format("2006-01-02T15:04:05")
	data["FModifyDate"] = stamp
	rec := existing
	if rec == nil {
		s.nextID++
		rec = &record{id: s.nextID, number: no, org: org, status: "A"}
		if o.draft {
			rec.status = "Z"
		}
		data["FCreateDate"] = stamp
		data[def.idKey] = rec.id
		rec.data = data
		st.add(rec)
	} else {
		if fold(no) != fold(rec.number) || no != rec.number {
			st.renumber(rec, no)
		}
		rec.org = org
		rec.data = data
		if rec.status == "Z" && !o.draft {
			rec.status = "A" // a saved draft is a created document [I]
		}
	}
	if def.entity != "" {
		entries, _ := data[def.entity].([]any)
		for i, e := range entries {
			em := e.(map[string]any)
			if id, ok := intOf(em[def.entryIDKey]); !ok || id == 0 {
				s.nextEntry++
				em[def.entryIDKey] = s.nextEntry
			}
			em["FSeq"] = i + 1
		}
	}
	rec.writes++
	if o.autoAudit {
		rec.status = "C"
		if def.approveKey != "" {
			data[def.approveKey] = stamp
		}
	}
	return rec, nil
}

// DuplicateMessage is the captured duplicate-number message (MsgCode 11).
func DuplicateMessage(no string) string {
	return "违反字段唯一性要求：编码唯一。[" + no + "]在当前系统中已经被使用。"
}

// normalize copies a Model with field keys in the form's canonical spelling
// (keys are case-insensitive) and reference objects as {"FNumber": ..}.
func (s *Sim) normalize(st *store, raw map[string]any) map[string]any {
	out := make(map[string]any, len(raw))
	for k, v := range raw {
		c := st.canon(k, false)
		if st.def.entity != "" && c == st.def.entity {
			var entries []any
			if arr, ok := v.([]any); ok {
				for _, e := range arr {
					em, ok := e.(map[string]any)
					if !ok {
						continue
					}
					n := make(map[string]any, len(em))
					for ek, ev := range em {
						n[st.canon(ek, true)] = normRef(ev)
					}
					entries = append(entries, n)
				}
			}
			out[c] = entries
			continue
		}
		out[c] = normRef(v)
	}
	return out
}

// normRef rewrites {"FNUMBER": x} as {"FNumber": x}; other values unchanged.
func normRef(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		if strings.EqualFold(k, "FNumber") {
			k = "FNumber"
		}
		out[k] = x
	}
	return out
}

// mergeUpdate applies an update to a copy of the stored document:
// NeedUpDateFields limits the fields written; entry rows are matched by
// their entry id, and rows not sent are deleted when IsDeleteEntry.
func mergeUpdate(st *store, old, in map[string]any, o saveOpts) map[string]any {
	def := st.def
	out := deepCopy(old).(map[string]any)
	want := func(k string) bool { return len(o.needUpdate) == 0 || o.needUpdate[strings.ToUpper(k)] }
	for k, v := range in {
		if k == def.idKey {
			continue
		}
		if def.entity != "" && k == def.entity {
			continue
		}
		if want(k) {
			out[k] = v
		}
	}
	if def.entity == "" {
		return out
	}
	sent, ok := in[def.entity].([]any)
	if !ok {
		return out
	}
	entryWanted := len(o.needUpdate) == 0 || o.needUpdate[strings.ToUpper(def.entity)]
	for k := range o.needUpdate {
		if _, ok := st.known(k, true); ok {
			entryWanted = true
		}
	}
	if !entryWanted {
		return out
	}
	oldEntries, _ := out[def.entity].([]any)
	byID := map[int64]map[string]any{}
	for _, e := range oldEntries {
		em := e.(map[string]any)
		if id, ok := intOf(em[def.entryIDKey]); ok {
			byID[id] = em
		}
	}
	used := map[int64]bool{}
	var entries []any
	for _, e := range sent {
		em := e.(map[string]any)
		if id, ok := intOf(em[def.entryIDKey]); ok && id != 0 && byID[id] != nil {
			cur := byID[id]
			for k, v := range em {
				if len(o.needUpdate) == 0 || o.needUpdate[strings.ToUpper(k)] || k == def.entryIDKey {
					cur[k] = v
				}
			}
			used[id] = true
			entries = append(entries, cur)
			continue
		}
		delete(em, def.entryIDKey)
		entries = append(entries, em)
	}
	if !o.deleteEntry {
		for _, e := range oldEntries {
			em := e.(map[string]any)
			if id, _ := intOf(em[def.entryIDKey]); !used[id] {
				entries = append(entries, em)
			}
		}
	}
	out[def.entity] = entries
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}

// refForm is the form a reference field points to; the owner fields depend
// on the owner type.
func refForm(st *store, field string, data map[string]any) string {
	u := strings.ToUpper(field)
	f := st.def.refs[u]
	if u == "FOWNERIDHEAD" || u == "FOWNERID" {
		typeKey := "FOwnerTypeIdHead"
		if u == "FOWNERID" {
			typeKey = "FOWNERTYPEID"
		}
		switch strings.ToUpper(scalarString(getCI(data, typeKey))) {
		case "BD_SUPPLIER":
			return formSupplier
		case "BD_CUSTOMER":
			return formCustomer
		}
	}
	return f
}

// resolve finds the record a reference value names: {"FNumber":..}, a
// {"FID"/"F...Id": n} object, a plain number text, or a numeric internal id.
// present is false when no value was given.
func (s *Sim) resolve(form string, v any) (rec *record, given string, present bool) {
	st := s.forms[strings.ToLower(form)]
	switch x := v.(type) {
	case nil:
		return nil, "", false
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, "", false
		}
		return st.find(strings.TrimSpace(x), ""), x, true
	case json.Number:
		id, _ := intOf(x)
		if id == 0 {
			return nil, "", false
		}
		return st.byID[id], x.String(), true
	case map[string]any:
		if n, ok := x["FNumber"]; ok {
			no := strings.TrimSpace(scalarString(n))
			if no == "" {
				return nil, "", false
			}
			return st.find(no, ""), no, true
		}
		for k, e := range x {
			if strings.HasSuffix(strings.ToUpper(k), "ID") {
				id, ok := intOf(e)
				if !ok || id == 0 {
					return nil, "", false
				}
				return st.byID[id], scalarString(e), true
			}
		}
		return nil, "", false
	}
	return nil, scalarString(v), true
}

// refNumber is the number of a normalized reference value.
func refNumber(v any) string {
	if m, ok := v.(map[string]any); ok {
		return scalarString(m["FNumber"])
	}
	return ""
}

func ref(no string) map[string]any { return map[string]any{"FNumber": no} }

func (st *store) label(f string) string {
	if l, ok := st.def.labels[f]; ok {
		return l
	}
	return f
}

// prepare applies server defaults, resolves references and checks the
// required fields of a document (s.mu held). Unresolvable references are
// dropped, as the server does without IsVerifyBaseDataField (so a required
// one then reads as missing); with it they fail with MsgCode 9 [I].
func (s *Sim) prepare(st *store, data map[string]any, o saveOpts, now time.Time) []rowError {
	def := st.def
	var errs []rowError
	bad := map[string]bool{}
	b := def.bill
	setDefault := func(m map[string]any, k string, v any) {
		if isEmpty(m[k]) {
			m[k] = deepCopy(v)
		}
	}
	if b != nil {
		setDefault(data, "FBillTypeID", ref(b.billType))
		for _, d := range b.defaults {
			setDefault(data, d.k, d.v)
		}
		dateKey := st.key("FDate", false)
		if isEmpty(data[dateKey]) {
			data[dateKey] = now.In(core.Shanghai).Format("2006-01-02") + "T00:00:00"
		} else if t, ok := parseTime(scalarString(data[dateKey])); ok {
			data[dateKey] = t.Format("2006-01-02T15:04:05")
		} else {
			errs = append(errs, rowError{code: 11, field: dateKey, msg: fmt.Sprintf(msgBadDate, st.label(dateKey), scalarString(data[dateKey]))})
		}
	}
	resolveAll := func(m map[string]any, entry int) {
		for k, v := range m {
			form := refForm(st, k, m)
			if form == "" {
				continue
			}
			rec, given, present := s.resolve(form, v)
			if !present {
				m[k] = nil
				continue
			}
			if rec != nil {
				m[k] = ref(rec.number)
				continue
			}
			m[k] = nil
			if o.verify {
				bad[fmt.Sprintf("%d.%s", entry, k)] = true
				msg := fmt.Sprintf(msgBaseData, st.label(k), given)
				if entry > 0 {
					msg = fmt.Sprintf(msgEntryBaseData, entry, st.label(k), given)
				}
				errs = append(errs, rowError{code: 9, field: k, msg: msg})
			}
		}
	}
	resolveAll(data, 0)
	required := func(m map[string]any, entry int, fields ...string) {
		for _, f := range fields {
			if !isEmpty(m[f]) || bad[fmt.Sprintf("%d.%s", entry, f)] {
				continue
			}
			msg := fmt.Sprintf(msgRequired, st.label(f))
			if entry > 0 {
				msg = fmt.Sprintf(msgEntryRequired, entry, st.label(f))
			}
			errs = append(errs, rowError{code: 11, field: f, msg: msg})
		}
	}
	if b == nil {
		setDefault(data, "FForbidStatus", "A")
		if isEmpty(data["FUseOrgId"]) {
			data["FUseOrgId"] = data["FCreateOrgId"]
		}
		required(data, 0, "FName", "FCreateOrgId")
		return errs
	}
	// A bill type of another form is refused, verified or not [I].
	if bt := refNumber(data["FBillTypeID"]); bt != "" {
		if rec := s.forms[strings.ToLower(formBillType)].find(bt, ""); rec != nil && !strings.EqualFold(scalarString(rec.data["FBillFormID"]), def.id) {
			errs = append(errs, rowError{code: 11, field: "FBillTypeID", msg: fmt.Sprintf(msgBillTypeForm, bt, def.id)})
		}
	}
	for _, c := range b.copies {
		if isEmpty(data[c[0]]) && !bad["0."+c[0]] {
			data[c[0]] = deepCopy(data[c[1]])
		}
	}
	if isEmpty(data[b.headOwner]) && strings.EqualFold(scalarString(data[b.headOwnerType]), "BD_OwnerOrg") {
		data[b.headOwner] = deepCopy(data[b.ownerFrom])
	}
	required(data, 0, b.required...)
	if len(b.oneOf) > 0 {
		set := false
		for _, f := range b.oneOf {
			set = set || !isEmpty(data[f]) || bad["0."+f]
		}
		if !set {
			errs = append(errs, rowError{code: 11, field: b.oneOf[0], msg: b.oneOfMsg})
		}
	}
	entries, _ := data[def.entity].([]any)
	if len(entries) == 0 {
		errs = append(errs, rowError{code: 11, field: def.entity, msg: msgNoEntry})
	}
	for i, e := range entries {
		em := e.(map[string]any)
		n := i + 1
		for _, d := range b.entryDefaults {
			setDefault(em, d.k, d.v)
		}
		resolveAll(em, n)
		if isEmpty(em[b.unit]) && !bad[fmt.Sprintf("%d.%s", n, b.unit)] {
			if mat, _, _ := s.resolve(formMaterial, em[b.material]); mat != nil {
				em[b.unit] = deepCopy(mat.data["FBaseUnitId"])
			}
		}
		if isEmpty(em[b.owner]) && strings.EqualFold(scalarString(em[b.ownerType]), "BD_OwnerOrg") {
			em[b.owner] = deepCopy(data[b.headOwner])
		}
		required(em, n, b.entryRequired...)
		q, okq := floatOf(em[b.qty])
		if !isEmpty(em[b.qty]) && (!okq || q <= 0) {
			errs = append(errs, rowError{code: 11, field: b.qty, msg: fmt.Sprintf(msgBadQty, n, st.label(b.qty))})
			continue
		}
		priceOK := true
		for _, p := range b.prices {
			if isEmpty(em[p]) {
				continue
			}
			if v, ok := floatOf(em[p]); !ok || v < 0 {
				errs = append(errs, rowError{code: 11, field: p, msg: fmt.Sprintf(msgBadPrice, n, st.label(p))})
				priceOK = false
			}
		}
		if !okq || !priceOK {
			continue
		}
		for _, a := range b.amounts {
			if p, ok := floatOf(em[a[1]]); ok && isEmpty(em[a[0]]) {
				em[a[0]] = q * p
			}
		}
	}
	return errs
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// parseTime reads the date layouts clients send.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", "2006-01-02T15:04:05.999999999", "2006/01/02", "2006/01/02 15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(l, s, core.Shanghai); err == nil {
			if l == time.RFC3339 {
				t = t.In(core.Shanghai)
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// returnData builds the NeedReturnData of a saved document: header fields
// by key, entry fields as "FEntity.FSeq".
func returnData(st *store, rec *record, fields []string) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		head, sub, dotted := strings.Cut(f, ".")
		if dotted && st.def.entity != "" && strings.EqualFold(head, st.def.entity) {
			entries, _ := rec.data[st.def.entity].([]any)
			list, _ := out[st.def.entity].([]any)
			for i, e := range entries {
				if i >= len(list) {
					list = append(list, map[string]any{})
				}
				c, _ := st.known(sub, true)
				if c == "" {
					c = sub
				}
				list[i].(map[string]any)[c] = e.(map[string]any)[c]
			}
			out[st.def.entity] = list
			continue
		}
		if c, ok := st.known(f, false); ok {
			out[c] = docValue(st, rec, c)
		} else {
			out[f] = nil
		}
	}
	return out
}

// docValue reads a header field, including the server-held ones.
func docValue(st *store, rec *record, field string) any {
	switch field {
	case st.def.idKey:
		return rec.id
	case st.def.numberKey:
		return rec.number
	case "FDocumentStatus":
		return rec.status
	}
	return rec.data[field]
}
