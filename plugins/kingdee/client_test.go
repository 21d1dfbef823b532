package kingdee

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
	"github.com/erpsync/erpsync/sandbox"
)

func TestGatewayKeyAndSignature(t *testing.T) {
	id, sec, err := gatewayKey(sbAppID)
	if err != nil {
		t.Fatal(err)
	}
	if id != "200001" || sec == "" || sec == strings.Split(sbAppID, "_")[1] {
		t.Fatalf("gatewayKey = %q, %q", id, sec)
	}
	for _, bad := range []string{"", "200001", "200001_short", "a_b_c", "200001_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"} {
		if _, _, err := gatewayKey(bad); err == nil {
			t.Errorf("gatewayKey(%q) accepted a malformed AppID", bad)
		}
	}
	// KdHmac is base64 of the hex text, so it decodes to 64 lowercase hex digits.
	h := kdHmac("content", "key")
	if len(h) != 88 {
		t.Fatalf("kdHmac length %d, want 88 (base64 of 64 hex characters)", len(h))
	}
	if got := encodePath("/k3cloud/Kingdee.BOS.X.Save.common.kdsvc"); got != "%2Fk3cloud%2FKingdee.BOS.X.Save.common.kdsvc" {
		t.Fatalf("encodePath = %s", got)
	}
	hs := signHeaders("/k3cloud/x", 1700000000, id, sec, sbAppID, sbAppSecret, "a,u,2052,0")
	if hs["x-api-nonce"] != "1700000000" || hs["x-api-timestamp"] != "1700000000" || hs["X-Kd-Signature"] != kdHmac(sbAppID+"a,u,2052,0", sbAppSecret) {
		t.Fatalf("signHeaders = %v", hs)
	}
	// The LoginBySign sign sorts ordinally: order of the arguments must not matter.
	if loginSign("b", "a", "c", "e", "d") != loginSign("a", "b", "c", "d", "e") {
		t.Fatal("loginSign does not sort its inputs")
	}
}

func TestFilterEscaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SKU1", "SKU1"},
		{"O'Brien", "O''Brien"},
		{"''", "''''"},
	}
	for _, tt := range tests {
		if got := EscapeFilterValue(tt.in); got != tt.want {
			t.Errorf("EscapeFilterValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := InFilter("FNumber", []string{"A", "B'C"}); got != "FNumber IN ('A','B''C')" {
		t.Fatalf("InFilter = %s", got)
	}
}

func TestEnvelopeDecoding(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		ok      bool
		msgCode int
		lost    bool
	}{
		{"session lost", `{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"会话信息已丢失，请重新登录","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":1}}}`, true, 1, true},
		{"wrapped", `[[{"Result":{"ResponseStatus":{"IsSuccess":false,"Errors":[],"MsgCode":1}}}]]`, true, 1, true},
		{"rows", `[[100231,"QT0001"]]`, false, 0, false},
		{"empty", `[]`, false, 0, false},
		{"success", `{"Result":{"ResponseStatus":{"IsSuccess":true,"SuccessEntitys":[{"Id":"100231","Number":"C1","DIndex":0}],"MsgCode":0}}}`, true, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, ok := statusOf([]byte(tt.body))
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if ok && st.MsgCode != tt.msgCode {
				t.Fatalf("MsgCode = %d", st.MsgCode)
			}
			if isSessionLost([]byte(tt.body)) != tt.lost {
				t.Fatalf("session lost = %v", !tt.lost)
			}
		})
	}
	var ids []FlexID
	if err := json.Unmarshal([]byte(`[100231,"100232",null]`), &ids); err != nil {
		t.Fatal(err)
	}
	if ids[0].Int() != 100231 || ids[1].Int() != 100232 || ids[2] != "" {
		t.Fatalf("FlexID = %v", ids)
	}
	if !IsDuplicate("违反字段唯一性要求：编码唯一。[C1]在当前系统中已经被使用。") || IsDuplicate("“名称”是必填项。") {
		t.Fatal("IsDuplicate misreads the duplicate-number message")
	}
}

// TestIntegrationClientModes runs every interface under each auth mode.
func TestIntegrationClientModes(t *testing.T) {
	sb := startSandbox(t, nil)
	for _, mode := range []string{AuthSignature, AuthLoginBySign, AuthPassword} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			c := newTestClient(t, sb, mode)
			if err := c.Probe(ctx, "BD_Customer", "FNumber"); err != nil {
				t.Fatalf("probe: %v", err)
			}
			p := strings.ToUpper(strings.ReplaceAll(mode, "_", ""))[:4]
			models := []json.RawMessage{
				json.RawMessage(customer(p+"1", "甲")),
				json.RawMessage(`{"FNumber":"` + p + `2"}`), // no FName: validation fails
				json.RawMessage(customer(p+"3", "丙")),
			}
			res, err := c.BatchSave(ctx, "BD_Customer", models, SaveOptions{NeedReturnFields: []string{"FNumber"}})
			if err != nil {
				t.Fatal(err)
			}
			succ, errs := res.SuccessByIndex(), res.ErrorsByIndex()
			if len(succ) != 2 || succ[0].ID.Int() == 0 || succ[2].Number != p+"3" || len(errs[1]) == 0 || res.Status.MsgCode != 11 {
				t.Fatalf("BatchSave result %+v", res.Status)
			}
			rows, err := c.QueryAll(ctx, Query{FormID: "BD_Customer", FieldKeys: "FCUSTID,FNumber", FilterString: InFilter("FNumber", []string{p + "1", p + "2", p + "3"})})
			if err != nil || len(rows) != 2 {
				t.Fatalf("query: %v %v", rows, err)
			}
			doc, err := c.View(ctx, "BD_Customer", ViewRequest{Number: p + "1"})
			if err != nil || !strings.Contains(string(doc), "甲") {
				t.Fatalf("view: %s %v", doc, err)
			}
			if _, err := c.View(ctx, "BD_Customer", ViewRequest{Number: "NOPE"}); vendor.KindOf(err) != vendor.Permanent {
				t.Fatalf("view of a missing document: %v", err)
			}
			st, err := c.Submit(ctx, "BD_Customer", []string{p + "1"})
			if err != nil || !st.IsSuccess {
				t.Fatalf("submit: %+v %v", st, err)
			}
			if st, err = c.Audit(ctx, "BD_Customer", []string{p + "1"}); err != nil || !st.IsSuccess {
				t.Fatalf("audit: %+v %v", st, err)
			}
			if st, err = c.Audit(ctx, "BD_Customer", []string{p + "1"}); err != nil || st.IsSuccess || st.MsgCode != 12 {
				t.Fatalf("second audit should answer MsgCode 12: %+v %v", st, err)
			}
			one, err := c.Save(ctx, "BD_Customer", json.RawMessage(customer(p+"4", "丁")), SaveOptions{})
			if err != nil || !one.Status.IsSuccess || one.ID.Int() == 0 || one.Number != p+"4" {
				t.Fatalf("save: %+v %v", one, err)
			}
		})
	}
}

// TestIntegrationClientBadCredentials: wrong secrets stop with a
// configuration error naming vendor and interface, and never echo a secret.
func TestIntegrationClientBadCredentials(t *testing.T) {
	sb := startSandbox(t, nil)
	tests := []struct {
		mode   string
		mutate func(*Config)
		secret string
	}{
		{AuthSignature, func(c *Config) { c.AppSecret = "wrong-secret-xyz" }, "wrong-secret-xyz"},
		{AuthLoginBySign, func(c *Config) { c.AppSecret = "wrong-secret-abc" }, "wrong-secret-abc"},
		{AuthPassword, func(c *Config) { c.Password = "wrong-pass-123" }, "wrong-pass-123"},
		{AuthSignature, func(c *Config) { c.AcctID = "no-such-dc" }, sbAppSecret},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cfg := clientConfig(sb, tt.mode)
			tt.mutate(&cfg)
			c, err := NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ExecuteBillQuery(context.Background(), Query{FormID: "BD_Customer", FieldKeys: "FNumber"})
			var ve *vendor.Error
			if !errors.As(err, &ve) || ve.Kind != vendor.Permanent || ve.Vendor != "k3cloud" {
				t.Fatalf("want a permanent k3cloud error, got %v", err)
			}
			if strings.Contains(err.Error(), tt.secret) || strings.Contains(err.Error(), sbAppSecret) || strings.Contains(err.Error(), sbPass) {
				t.Fatalf("error echoes a secret: %v", err)
			}
		})
	}
}

// TestIntegrationSessionLost: an expired session is re-authenticated and a
// read retried once; a write is not re-sent but reported as Expired.
func TestIntegrationSessionLost(t *testing.T) {
	var skew atomic.Int64 // how far the shared clock runs ahead
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	sb := startSandbox(t, func(o *sandbox.Options) { o.Now = clock })
	for _, mode := range []string{AuthLoginBySign, AuthPassword} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			cfg := clientConfig(sb, mode)
			cfg.Now = clock // signatures follow the server's clock
			c, err := NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ExecuteBillQuery(ctx, Query{FormID: "BD_Customer", FieldKeys: "FNumber"}); err != nil {
				t.Fatal(err)
			}
			skew.Add(int64(2 * time.Hour)) // past the 30 min idle lifetime
			if _, err := c.ExecuteBillQuery(ctx, Query{FormID: "BD_Customer", FieldKeys: "FNumber"}); err != nil {
				t.Fatalf("read after expiry: %v", err)
			}
			skew.Add(int64(2 * time.Hour))
			before := sb.Env().Stats.Count("k3cloud", "BatchSave", "0")
			_, err = c.BatchSave(ctx, "BD_Customer", []json.RawMessage{json.RawMessage(customer("LOST"+mode, "x"))}, SaveOptions{})
			if vendor.KindOf(err) != vendor.Expired {
				t.Fatalf("write after expiry: want Expired, got %v", err)
			}
			if sb.Env().Stats.Count("k3cloud", "BatchSave", "0") != before {
				t.Fatal("the write was re-sent after the session was lost")
			}
		})
	}
	if n := sb.Env().Stats.Count("k3cloud", "ExecuteBillQuery", "MsgCode 1"); n != 2 {
		t.Fatalf("sandbox answered MsgCode 1 to %d queries, want 2", n)
	}
}
