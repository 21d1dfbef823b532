package k3cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// rowCtx is one query row: a document and, when entry fields are asked
// for, one of its entry rows.
type rowCtx struct {
	rec   *record
	entry map[string]any
}

// getter reads one field key of a row.
type getter struct {
	key   string
	entry bool // reads the entry row (rows are then per entry)
	get   func(rowCtx) any
}

// errUnknownField marks a field key the form does not have.
type errUnknownField string

func (e errUnknownField) Error() string { return string(e) }

// accessor compiles a FieldKeys / filter / order key: header fields,
// entry fields (plain or as FEntity_FKey), the internal and entry ids, the
// status, and referenced values as FRef.FNumber / FRef.FName / FRef.FKey
// (FRef alone is the referenced internal id).
func (s *Sim) accessor(st *store, key string) (getter, error) {
	def := st.def
	key = strings.TrimSpace(key)
	head, sub, dotted := strings.Cut(key, ".")
	hu := strings.ToUpper(head)
	g := getter{key: key}
	field := ""
	prefix := ""
	for _, e := range []string{def.entity, def.entityAlias} {
		if e != "" && strings.HasPrefix(hu, strings.ToUpper(e)+"_") {
			prefix = e
		}
	}
	switch {
	case prefix != "":
		rest := head[len(prefix)+1:]
		c, ok := st.known(rest, true)
		if !ok {
			return g, errUnknownField(key)
		}
		g.entry, field = true, c
	case hu == strings.ToUpper(def.idKey) && !dotted:
		g.get = func(rc rowCtx) any { return rc.rec.id }
		return g, nil
	case hu == strings.ToUpper(def.numberKey) && !dotted:
		g.get = func(rc rowCtx) any { return rc.rec.number }
		return g, nil
	case hu == "FDOCUMENTSTATUS" && !dotted:
		g.get = func(rc rowCtx) any { return rc.rec.status }
		return g, nil
	default:
		if c, ok := st.known(head, false); ok {
			field = c
		} else if c, ok := st.known(head, true); ok && def.entity != "" {
			g.entry, field = true, c
		} else {
			return g, errUnknownField(key)
		}
	}
	isRef := def.refs[strings.ToUpper(field)] != ""
	if dotted && !isRef {
		return g, errUnknownField(key)
	}
	entry := g.entry
	raw := func(rc rowCtx) (any, map[string]any) {
		if entry {
			return rc.entry[field], rc.entry
		}
		return rc.rec.data[field], rc.rec.data
	}
	if !isRef {
		g.get = func(rc rowCtx) any {
			if entry && rc.entry == nil {
				return nil
			}
			v, _ := raw(rc)
			return v
		}
		return g, nil
	}
	su := strings.ToUpper(sub)
	g.get = func(rc rowCtx) any {
		if entry && rc.entry == nil {
			return nil
		}
		v, m := raw(rc)
		no := refNumber(v)
		if no == "" {
			return nil
		}
		if su == "FNUMBER" {
			return no
		}
		tst := s.forms[strings.ToLower(refForm(st, field, m))]
		if tst == nil {
			return nil
		}
		target := tst.find(no, "")
		if target == nil {
			return nil
		}
		switch su {
		case "":
			return target.id
		case strings.ToUpper(tst.def.idKey):
			return target.id
		}
		if c, ok := tst.known(sub, false); ok {
			return docValue(tst, target, c)
		}
		return nil
	}
	return g, nil
}

// query serves ExecuteBillQuery (rows as arrays) and BillQuery (rows as
// objects keyed by field key).
func (s *Sim) query(req request, objects bool) (any, int) {
	d := req.data
	formID := strings.TrimSpace(scalarString(getCI(d, "FormId")))
	if formID == "" {
		formID = req.formID
	}
	if formID == "" {
		return failure(8, nil, msgEmptyForm), 8
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, bad, code := s.form(formID, false)
	if st == nil {
		return bad, code
	}
	var keys []string
	switch fk := getCI(d, "FieldKeys").(type) {
	case string:
		keys = stringList(fk)
	case []any:
		keys = stringList(fk)
	}
	if len(keys) == 0 {
		return failure(8, nil, msgEmptyKeys), 8
	}
	var cols []getter
	perEntry := false
	for _, k := range keys {
		g, err := s.accessor(st, k)
		if err != nil {
			f := k
			return failure(9, &f, fmt.Sprintf(msgUnknownField, k)), 9
		}
		perEntry = perEntry || g.entry
		cols = append(cols, g)
	}
	filterText, err := filterString(getCI(d, "FilterString"))
	if err != nil {
		return failure(4, nil, fmt.Sprintf(msgBadFilter, err)), 4
	}
	var root *cond
	if strings.TrimSpace(filterText) != "" {
		root, err = parseFilter(filterText)
		if err == nil {
			err = s.compile(st, root, &perEntry)
		}
		if err != nil {
			return failure(4, nil, fmt.Sprintf(msgBadFilter, err)), 4
		}
	}
	type orderKey struct {
		g    getter
		desc bool
	}
	var order []orderKey
	for _, part := range strings.Split(scalarString(getCI(d, "OrderString")), ",") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		g, err := s.accessor(st, f[0])
		if err != nil || len(f) > 2 || (len(f) == 2 && !strings.EqualFold(f[1], "ASC") && !strings.EqualFold(f[1], "DESC")) {
			return failure(4, nil, fmt.Sprintf(msgBadFilter, "排序字段“"+strings.TrimSpace(part)+"”无效")), 4
		}
		perEntry = perEntry || g.entry
		order = append(order, orderKey{g, len(f) == 2 && strings.EqualFold(f[1], "DESC")})
	}
	start, _ := intOf(getCI(d, "StartRow"))
	limit, _ := intOf(getCI(d, "Limit"))
	top, _ := intOf(getCI(d, "TopRowCount"))
	if start < 0 {
		start = 0
	}
	if limit <= 0 || limit > int64(s.cfg.MaxQueryLimit) {
		limit = int64(s.cfg.MaxQueryLimit)
	}
	// Without an order, rows come in internal-id order and the scan can stop
	// once the page is full.
	need := int64(-1)
	if len(order) == 0 {
		need = start + limit
		if top > 0 && top < need {
			need = top
		}
	}
	var rows []rowCtx
	scan := func(rec *record) bool {
		var ctxs []rowCtx
		if perEntry && st.def.entity != "" {
			entries, _ := rec.data[st.def.entity].([]any)
			for _, e := range entries {
				ctxs = append(ctxs, rowCtx{rec, e.(map[string]any)})
			}
			if len(entries) == 0 {
				ctxs = append(ctxs, rowCtx{rec: rec})
			}
		} else {
			ctxs = []rowCtx{{rec: rec}}
		}
		for _, rc := range ctxs {
			if root == nil || root.eval(rc) {
				rows = append(rows, rc)
				if need >= 0 && int64(len(rows)) >= need {
					return false
				}
			}
		}
		return true
	}
	for _, rec := range s.candidates(st, root) {
		if !scan(rec) {
			break
		}
	}
	if len(order) > 0 {
		sort.SliceStable(rows, func(i, j int) bool {
			for _, o := range order {
				c := compareValues(o.g.get(rows[i]), o.g.get(rows[j]))
				if c != 0 {
					return (c < 0) != o.desc
				}
			}
			return false
		})
	}
	if top > 0 && int64(len(rows)) > top {
		rows = rows[:top]
	}
	if start >= int64(len(rows)) {
		rows = nil
	} else {
		rows = rows[start:]
	}
	if int64(len(rows)) > limit {
		rows = rows[:limit]
	}
	out := make([]any, 0, len(rows))
	for _, rc := range rows {
		if objects {
			m := make(map[string]any, len(cols))
			for _, g := range cols {
				m[g.key] = g.get(rc)
			}
			out = append(out, m)
			continue
		}
		vals := make([]any, len(cols))
		for i, g := range cols {
			vals[i] = g.get(rc)
		}
		out = append(out, vals)
	}
	return out, 0
}

// candidates narrows the scan with the number and id indexes when the
// filter pins them (FBillNo = 'x', FNumber IN (...), FID = n, under AND),
// so existence checks stay cheap on large targets.
func (s *Sim) candidates(st *store, root *cond) []*record {
	nos, ids, ok := pinned(st, root)
	if !ok {
		return st.order
	}
	seen := map[*record]bool{}
	var out []*record
	for _, n := range nos {
		for _, r := range st.byNo[fold(n)] {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	for _, id := range ids {
		if r := st.byID[id]; r != nil && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func pinned(st *store, c *cond) (nos []string, ids []int64, ok bool) {
	if c == nil {
		return nil, nil, false
	}
	switch c.kind {
	case condAnd:
		for _, k := range c.kids {
			if n, i, ok := pinned(st, k); ok {
				return n, i, true
			}
		}
	case condOr:
		for _, k := range c.kids {
			n, i, ok := pinned(st, k)
			if !ok {
				return nil, nil, false
			}
			nos, ids = append(nos, n...), append(ids, i...)
		}
		return nos, ids, true
	case condCmp, condIn:
		if c.not || (c.kind == condCmp && c.op != "=") {
			return nil, nil, false
		}
		f := strings.ToUpper(c.field)
		switch f {
		case strings.ToUpper(st.def.numberKey):
			for _, v := range c.vals {
				nos = append(nos, scalarString(v))
			}
			return nos, nil, true
		case strings.ToUpper(st.def.idKey):
			for _, v := range c.vals {
				id, ok := intOf(v)
				if !ok {
					return nil, nil, false
				}
				ids = append(ids, id)
			}
			return nil, ids, true
		}
	}
	return nil, nil, false
}

// filterString turns FilterString into SQL-like text: the string form as
// is, the array form [{"Left","FieldName","Compare","Value","Right","Logic"}]
// joined with AND (Logic 0) / OR (Logic 1).
func filterString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case []any:
		var b strings.Builder
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return "", errors.New("FilterString数组元素必须是对象")
			}
			if i > 0 {
				logic := strings.ToUpper(scalarString(getCI(x[i-1].(map[string]any), "Logic")))
				if logic == "1" || logic == "OR" {
					b.WriteString(" OR ")
				} else {
					b.WriteString(" AND ")
				}
			}
			op, err := compareOp(scalarString(getCI(m, "Compare")))
			if err != nil {
				return "", err
			}
			b.WriteString(scalarString(getCI(m, "Left")))
			b.WriteString(scalarString(getCI(m, "FieldName")))
			b.WriteString(" " + op + " ")
			val := getCI(m, "Value")
			if op == "IN" || op == "NOT IN" {
				parts := stringList(val)
				for j, p := range parts {
					parts[j] = quote(p)
				}
				b.WriteString("(" + strings.Join(parts, ",") + ")")
			} else {
				b.WriteString(quote(scalarString(val)))
			}
			b.WriteString(scalarString(getCI(m, "Right")))
		}
		return b.String(), nil
	}
	return "", errors.New("FilterString必须是字符串或数组")
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// compareOp maps the array form's Compare to an operator. Symbols and words
// are accepted; of Kingdee's numeric codes only "67" (equal) is known [I].
func compareOp(c string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(c)) {
	case "=", "67", "EQ", "":
		return "=", nil
	case "<>", "!=", "NE":
		return "<>", nil
	case ">=", "GE":
		return ">=", nil
	case "<=", "LE":
		return "<=", nil
	case ">", "GT":
		return ">", nil
	case "<", "LT":
		return "<", nil
	case "IN":
		return "IN", nil
	case "NOT IN", "NOTIN":
		return "NOT IN", nil
	case "LIKE", "CONTAINS":
		return "LIKE", nil
	}
	return "", fmt.Errorf("不支持的比较符“%s”", c)
}

// compareValues orders two field values: numbers numerically, dates as
// times, text by the case-insensitive collation; NULL first.
func compareValues(a, b any) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		}
		return 1
	}
	_, sa := a.(string)
	_, sb := b.(string)
	// Numbers compare numerically, also against numeric text (SQL Server
	// converts); two texts compare as text ('001' <> '1').
	if fa, ok := numeric(a); ok && !(sa && sb) {
		if fb, ok := numeric(b); ok {
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		}
	}
	ta, tb := scalarString(a), scalarString(b)
	if da, ok := dateValue(ta); ok {
		if db, ok := dateValue(tb); ok {
			return da.Compare(db)
		}
	}
	return strings.Compare(fold(ta), fold(tb))
}

// numeric reads a number, including numeric text (SQL Server converts).
func numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number, float64, int64, int:
		return floatOf(x)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return 0, false
}

func dateValue(s string) (time.Time, bool) {
	if len(s) < 8 || !strings.ContainsAny(s, "-/") {
		return time.Time{}, false
	}
	return parseTime(s)
}
