package kingdee

import (
	"errors"
	"fmt"
	"testing"

	"github.com/erpsync/erpsync/internal/vendor"
)

// TestIsConfigAnswer: answers that only configuration can cure are told
// apart from a document's own refusal, which stays a dead letter.
func TestIsConfigAnswer(t *testing.T) {
	perm := func(code, msg string) error {
		return &vendor.Error{Vendor: vendorName, Interface: "ExecuteBillQuery", Code: code, Msg: msg, Kind: vendor.Permanent}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"unknown form (sandbox text)", perm("4", "业务对象“BD_Nope”不存在。"), true},
		{"unknown form (newer text)", perm("4", "标识为“BD_Nope”的业务对象不存在，或者被删除"), true},
		{"unknown data centre", &vendor.Error{Vendor: vendorName, Interface: "ExecuteBillQuery", Status: 500, Msg: "Fail to verify thirty passport (the data centre auth.acct_id is not known to the server)", Kind: vendor.Permanent}, true},
		{"login refused", perm("LoginResultType -1", "数据中心不存在或已被禁用！"), true},
		{"wrapped", fmt.Errorf("kingdee_query: x: %w", perm("4", "业务对象“X”不存在。")), true},
		{"a row's base data", perm("9", "字段“FGroup”的值“X”在系统中不存在或未审核。"), false},
		{"duplicate number", perm("11", "违反字段唯一性要求：编码唯一。[C1]已经被使用。"), false},
		{"transient", &vendor.Error{Code: "4", Msg: "业务对象“X”不存在。", Kind: vendor.Transient}, false},
		{"not a vendor error", errors.New("业务对象不存在"), false},
	}
	for _, tt := range tests {
		if got := IsConfigAnswer(tt.err); got != tt.want {
			t.Errorf("%s: IsConfigAnswer = %v, want %v", tt.name, got, tt.want)
		}
	}
}
