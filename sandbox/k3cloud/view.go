package k3cloud

import (
	"strings"
)

// The View answer in the server's naming. A View answer captured from a
// production server (BD_Empinfo, published as a comment in a public
// Android client, class com.bt.andy.fengyuanbuild.messegeInfo.
// AccountMemberInfo) shows [C]:
//
//	{"Result":{"ResponseStatus":null,"Result":{"Id":100024,"msterID":100024,
//	 "DocumentStatus":"C","ForbidStatus":"A",
//	 "MultiLanguageText":[{"PkId":100001,"LocaleId":2052,"Name":"..."}],
//	 "Name":[{"Key":2052,"Value":"..."}],"Number":"001",
//	 "CreateOrgId_Id":1,"CreateOrgId":{"Id":1,"MultiLanguageText":[...],"Name":[...],"Number":"100"},
//	 "ForbidderId_Id":0,"ForbidderId":null,"CreateDate":"2019-01-06T15:22:26.763",
//	 "FModifyDate":"2019-02-13T15:46:44.72",
//	 "PostEntity":[{"Id":100001,"Seq":1,"Post_Id":101874,"Post":{...}}]}}}
//
// so: ResponseStatus null on success; properties named without the field
// key's leading F (Number, CreateOrgId, DocumentStatus) though some keep it
// (FModifyDate); a reference as <Name>_Id (its internal id, 0 when empty)
// beside <Name> (an object with Id, msterID, Number, Name and
// MultiLanguageText, or null); localised texts as [{"Key":lcid,"Value"}]
// with a MultiLanguageText row per locale; entry rows with Id and Seq. The
// simulator applies those rules to every form: stripping the F from every
// key except FModifyDate, the entity's property name (the entity key
// without F, e.g. "Entity"), which texts are localised (FName,
// FDescription, FShortName) and the PkId values are [I].

// localised are the header fields served as localised texts [I].
var localised = map[string]bool{"FNAME": true, "FDESCRIPTION": true, "FSHORTNAME": true}

// viewName is the property name of a field key.
func viewName(key string) string {
	if strings.EqualFold(key, "FModifyDate") {
		return "FModifyDate" // kept with its F in the captured answer
	}
	if len(key) > 1 && (key[0] == 'F' || key[0] == 'f') {
		return key[1:]
	}
	return key
}

func locText(lcid int, v any) []any {
	return []any{map[string]any{"Key": lcid, "Value": scalarString(v)}}
}

// viewRef renders a reference to a document of form (s.mu held).
func (s *Sim) viewRef(form string, v any, lcid int) (int64, any) {
	rec, _, present := s.resolve(form, v)
	if !present || rec == nil {
		return 0, nil
	}
	st := s.forms[strings.ToLower(form)]
	out := map[string]any{"Id": rec.id, "msterID": rec.id, "Number": rec.number}
	if st != nil && st.def.nameKey != "" {
		name := rec.data[st.def.nameKey]
		out["Name"] = locText(lcid, name)
		out["MultiLanguageText"] = []any{map[string]any{"PkId": rec.id, "LocaleId": lcid, "Name": scalarString(name)}}
	}
	return rec.id, out
}

// viewFields renders the fields of one document or entry row into out.
func (s *Sim) viewFields(st *store, m map[string]any, out map[string]any, lcid int, skip map[string]bool) {
	var texts map[string]any
	for k, v := range m {
		if skip[strings.ToUpper(k)] {
			continue
		}
		name := viewName(k)
		if form := refForm(st, k, m); form != "" {
			id, r := s.viewRef(form, v, lcid)
			out[name+"_Id"], out[name] = id, r
			continue
		}
		if localised[strings.ToUpper(k)] {
			out[name] = locText(lcid, v)
			if texts == nil {
				texts = map[string]any{"LocaleId": lcid}
			}
			texts[name] = scalarString(v)
			continue
		}
		out[name] = deepCopy(v)
	}
	if texts != nil {
		out["MultiLanguageText"] = []any{texts}
	}
}

// renderView is a document as View answers it (s.mu held).
func (s *Sim) renderView(st *store, rec *record, lcid int) map[string]any {
	def := st.def
	out := map[string]any{"Id": rec.id, "DocumentStatus": rec.status}
	if def.nameKey != "" { // base data
		out["msterID"] = rec.id
		out["ForbidStatus"] = "A"
	}
	skip := map[string]bool{strings.ToUpper(def.idKey): true, "FDOCUMENTSTATUS": true, strings.ToUpper(def.entity): def.entity != ""}
	data := deepCopy(rec.data).(map[string]any)
	data[def.numberKey] = rec.number
	s.viewFields(st, data, out, lcid, skip)
	if t, ok := out["MultiLanguageText"].([]any); ok && len(t) == 1 {
		t[0].(map[string]any)["PkId"] = rec.id
	}
	if fs, ok := data["FForbidStatus"]; ok && !isEmpty(fs) {
		out["ForbidStatus"] = fs
	}
	if def.entity != "" {
		var rows []any
		entries, _ := data[def.entity].([]any)
		for i, e := range entries {
			em, ok := e.(map[string]any)
			if !ok {
				continue
			}
			row := map[string]any{"Seq": i + 1}
			if id, ok := intOf(em[def.entryIDKey]); ok {
				row["Id"] = id
			}
			s.viewFields(st, em, row, lcid, map[string]bool{strings.ToUpper(def.entryIDKey): true, "FSEQ": true})
			rows = append(rows, row)
		}
		if rows == nil {
			rows = []any{}
		}
		out[viewName(def.entity)] = rows
	}
	return out
}
