package k3cloud

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// transitions: operation -> required current statuses, new status, verb.
var transitions = map[string]struct {
	from, to, verb string
}{
	"Submit":  {"AD", "B", "提交"},
	"Audit":   {"B", "C", "审核"},
	"UnAudit": {"C", "D", "反审核"},
	// Delete removes the document. Deletable: created (A), draft (Z) and
	// re-audit pending (D); submitted and audited documents must be
	// un-audited first [I].
	"Delete": {"ADZ", "", "删除"},
}

// transition serves Submit, Audit, UnAudit and Delete: Numbers (string array) or
// Ids (comma-separated), each target its own DIndex. The status flow is
// A (创建) -> B (审核中) -> C (已审核) -> D (重新审核, after UnAudit); any other
// move fails with MsgCode 12.
func (s *Sim) transition(r *http.Request, req request, op string) (any, int) {
	st, bad, code := s.lockedForm(req.formID, true)
	if st == nil {
		return bad, code
	}
	numbers := stringList(getCI(req.data, "Numbers"))
	ids := stringList(getCI(req.data, "Ids"))
	if len(numbers) == 0 && len(ids) == 0 {
		return failure(5, nil, msgNoTarget), 5
	}
	s.env.RowDelay(r.Context(), len(numbers)+len(ids))
	t := transitions[op]
	var out statusResult
	rs := newStatus()
	s.mu.Lock()
	defer s.mu.Unlock()
	org := s.orgFilter(getCI(req.data, "UseOrgId"))
	type target struct {
		recs []*record
		miss string
	}
	var targets []target
	for _, no := range numbers {
		var recs []*record
		for _, rec := range st.byNo[fold(no)] {
			if org == "" || st.def.useOrgKey == "" || fold(rec.org) == fold(org) {
				recs = append(recs, rec)
			}
		}
		targets = append(targets, target{recs, fmt.Sprintf(msgNotFoundNo, no)})
	}
	for _, x := range ids {
		id, _ := strconv.ParseInt(x, 10, 64)
		var recs []*record
		if rec := st.byID[id]; rec != nil {
			recs = append(recs, rec)
		}
		targets = append(targets, target{recs, fmt.Sprintf(msgNotFoundID, id)})
	}
	for i, tg := range targets {
		if len(tg.recs) == 0 {
			rs.fail(i, rowError{code: 10, msg: tg.miss})
			continue
		}
		for _, rec := range tg.recs {
			if !strings.Contains(t.from, rec.status) {
				rs.fail(i, rowError{code: 12, msg: fmt.Sprintf(msgStatus, rec.number, statusNames[rec.status], t.verb)})
				continue
			}
			if op == "Delete" {
				st.remove(rec)
				rs.SuccessEntitys = append(rs.SuccessEntitys, successEntity{ID: rec.id, Number: rec.number, DIndex: i})
				continue
			}
			rec.status = t.to
			if op == "Audit" && st.def.approveKey != "" {
				rec.data[st.def.approveKey] = s.env.Now().In(core.Shanghai).Format("2006-01-02T15:04:05")
			}
			rs.SuccessEntitys = append(rs.SuccessEntitys, successEntity{ID: rec.id, Number: rec.number, DIndex: i})
		}
	}
	out.Result.ResponseStatus = rs
	return out, rs.MsgCode
}

// orgFilter reads UseOrgId (an org number, an org internal id or a
// reference object); "" means any organisation.
func (s *Sim) orgFilter(v any) string {
	if isEmpty(v) {
		return ""
	}
	if id, ok := intOf(v); ok {
		if id == 0 {
			return ""
		}
		if rec := s.forms[strings.ToLower(formOrg)].byID[id]; rec != nil {
			return rec.number
		}
	}
	if rec, given, present := s.resolve(formOrg, v); present {
		if rec != nil {
			return rec.number
		}
		return given
	}
	return ""
}

// view serves View by Number or Id (any form, base data included).
func (s *Sim) view(req request) (any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, bad, code := s.form(req.formID, false)
	if st == nil {
		return bad, code
	}
	var rec *record
	no := strings.TrimSpace(scalarString(getCI(req.data, "Number")))
	id, _ := intOf(getCI(req.data, "Id"))
	switch {
	case id != 0:
		rec = st.byID[id]
	case no != "":
		rec = st.find(no, s.orgFilter(getCI(req.data, "UseOrgId")))
	default:
		return failure(5, nil, msgNoTarget), 5
	}
	if rec == nil {
		msg := fmt.Sprintf(msgNotFoundNo, no)
		if id != 0 {
			msg = fmt.Sprintf(msgNotFoundID, id)
		}
		return failure(10, nil, msg), 10
	}
	var out viewResult
	out.Result.Result = s.renderView(st, rec, s.cfg.LCID)
	return out, 0
}

// render is a copy of a stored document with the server-held fields.
func render(st *store, rec *record) map[string]any {
	doc := deepCopy(rec.data).(map[string]any)
	doc[st.def.idKey] = rec.id
	doc[st.def.numberKey] = rec.number
	doc["FDocumentStatus"] = rec.status
	return doc
}

// serveTarget answers GET /_sandbox/k3cloud/{FormId}: every document of the
// form in internal-id order. Base-data forms include their seeded documents
// (writes 0); the target forms (BD_Customer and the bills) start empty, so
// they list only what clients wrote.
func (s *Sim) serveTarget(w http.ResponseWriter, r *http.Request) {
	form := r.PathValue("FormId")
	s.mu.Lock()
	st := s.forms[strings.ToLower(form)]
	if st == nil {
		s.mu.Unlock()
		names := make([]string, 0, len(s.forms))
		for _, x := range s.forms {
			names = append(names, x.def.id)
		}
		sort.Strings(names)
		core.WriteJSON(w, http.StatusNotFound, map[string]any{"error": "unknown form " + form, "forms": names})
		return
	}
	docs := make([]core.TargetDoc, 0, len(st.order))
	for _, rec := range st.order {
		docs = append(docs, core.TargetDoc{Number: rec.number, Writes: rec.writes, Data: render(st, rec)})
	}
	s.mu.Unlock()
	core.WriteJSON(w, http.StatusOK, map[string]any{"documents": docs})
}
