package kingdee

import "testing"

// TestViewDocument: both View success shapes are read, and nothing else
// passes for a document.
func TestViewDocument(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"Result":{"ResponseStatus":null,"Result":{"Id":1,"Number":"C1"}}}`, true}, // captured from a server
		{`{"Result":{"Result":{"Id":1}}}`, true},
		{`{"Result":{"ResponseStatus":null,"Result":null}}`, false},
		{`{"Result":{"ResponseStatus":{"IsSuccess":false,"MsgCode":10},"Result":{"Id":1}}}`, false},
		{`[[{"Result":{"ResponseStatus":null}}]]`, false},
		{`not json`, false},
	} {
		if doc, ok := viewDocument([]byte(tc.body)); ok != tc.ok || (ok && string(doc) == "") {
			t.Errorf("%s: ok %v doc %s, want ok %v", tc.body, ok, doc, tc.ok)
		}
	}
}
