package kingdee

import (
	"bytes"
	"encoding/json"
)

// viewDocument returns the document of a View answer whose ResponseStatus
// is null: a real server answers a found document that way
// ({"Result":{"ResponseStatus":null,"Result":{...}}}, a captured answer;
// see sandbox/k3cloud/view.go), while KDOC's template shows IsSuccess true.
// ok is false when the answer holds no document object.
func viewDocument(b []byte) (doc json.RawMessage, ok bool) {
	var e struct {
		Result *struct {
			ResponseStatus json.RawMessage `json:"ResponseStatus"`
			Result         json.RawMessage `json:"Result"`
		} `json:"Result"`
	}
	if json.Unmarshal(bytes.TrimSpace(b), &e) != nil || e.Result == nil {
		return nil, false
	}
	rs := bytes.TrimSpace(e.Result.ResponseStatus)
	d := bytes.TrimSpace(e.Result.Result)
	if (len(rs) != 0 && !bytes.Equal(rs, []byte("null"))) || len(d) == 0 || d[0] != '{' {
		return nil, false
	}
	return d, true
}
