package kingdee

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/erpsync/erpsync/internal/fuzzhttp"
	"github.com/erpsync/erpsync/internal/vendor"
)

// k3Seeds are answers the client meets: real shapes, their failures and
// everything a gateway or a broken server sends instead.
var k3Seeds = []string{
	`{"Result":{"ResponseStatus":{"ErrorCode":0,"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":100001,"Number":"CUS00001","DIndex":0}],"SuccessMessages":[],"MsgCode":0},"Id":100001,"Number":"CUS00001","NeedReturnData":[{"FNumber":"CUS00001"}]}}`,
	`{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"FNumber","Message":"违反字段唯一性要求：编码唯一。[CUS00001]已经被使用。","DIndex":1}],"SuccessEntitys":[{"Id":"100002","Number":"CUS00002","DIndex":0}],"MsgCode":11}}}`,
	`{"Result":{"ResponseStatus":{"IsSuccess":false,"MsgCode":1,"Errors":[{"Message":"会话信息已丢失，请重新登录"}]}}}`,
	`{"Result":{"ResponseStatus":{"IsSuccess":true},"Result":{"Id":100001,"Number":"CUS00001","FName":[{"Key":2052,"Value":"客户"}]}}}`,
	`{"Result":{"ResponseStatus":{"IsSuccess":false,"Errors":{},"SuccessEntitys":"x","MsgCode":"1"},"Id":[1],"NeedReturnData":{}}}`,
	`{"Result":{"ResponseStatus":null}}`,
	`{"Result":null}`,
	`[[100001,"CUS00001"],[100002,"CUS00002",null,1.5e300,{"a":[]}]]`,
	`[[{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"元数据中标识为 FNumberx 的字段不存在","DIndex":0}],"MsgCode":9}}}]]`,
	`[[{"Result":{"ResponseStatus":{"IsSuccess":false,"MsgCode":14}}}]]`,
	`[[[[[[[[`,
	`[]`,
	`[null,1,"x"]`,
	`{"Message":null,"MessageCode":"CheckPasswordPolicy","LoginResultType":1,"KDSVCSessionId":"abc","IsSuccessByAPI":true}`,
	`{"Message":"用户名或密码错误","LoginResultType":0}`,
	`{"LoginResultType":"1"}`,
	`[{"Id":"sandbox-k3-acct","Number":"001","Name":"测试"},{"Id":12}]`,
	`response_error:{"Message":"Timeout expired. The timeout period elapsed","StackTrace":"at ..."}`,
	`  response_error:not json at all`,
	`response_error:`,
	`<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>`,
	"\xff\xfe\x00{\"Result\":1}",
	``,
	`null`,
	`{"Result":{"ResponseStatus":{"IsSuccess":true,"SuccessEntitys":[{"Id":1e400,"DIndex":-1}]}}}`,
	"[" + strings.Repeat(`[100001,"CUS00001"],`, 1999) + `[1,"x"]]`,
}

// FuzzAnswers feeds arbitrary answers to every call of the client in each
// auth mode: never a panic, every failure a vendor error naming k3cloud and
// the call (or the login it needed).
func FuzzAnswers(f *testing.F) {
	for _, s := range k3Seeds {
		f.Add(200, []byte(s))
	}
	f.Add(500, []byte(`Fail to verify thirty passport`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Add(206, []byte(`[[1,"x"]]`))
	f.Add(429, []byte(``))
	srv := fuzzhttp.Start(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		srv.Answer(status, body)
		client := func(mode string) *Client {
			t.Helper()
			c, err := NewClient(Config{URL: srv.URL + "/k3cloud/", Mode: mode, AcctID: sbAcct, Username: sbUser,
				AppID: sbAppID, AppSecret: sbAppSecret, Password: sbPass, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		c := client(AuthSignature)
		models := []json.RawMessage{json.RawMessage(customer("CUS00001", "客户")), json.RawMessage(customer("CUS00002", "客户"))}
		for _, method := range []string{"Save", "BatchSave"} {
			var res *SaveResult
			var err error
			if method == "Save" {
				res, err = c.Save(ctx, "BD_Customer", models[0], SaveOptions{})
			} else {
				res, err = c.BatchSave(ctx, "BD_Customer", models, SaveOptions{})
			}
			checkK3Err(t, err, method)
			if err == nil {
				if res == nil {
					t.Fatalf("%s: nil result and nil error from %q", method, body)
				}
				_, _ = res.SuccessByIndex(), res.ErrorsByIndex()
				_ = res.ID.Int()
			}
		}
		_, err := c.ExecuteBillQuery(ctx, Query{FormID: "BD_Customer", FieldKeys: "FMaterialId,FNumber", Limit: PageLimit})
		checkK3Err(t, err, "ExecuteBillQuery")
		_, err = c.View(ctx, "BD_Customer", ViewRequest{Number: "CUS00001"})
		checkK3Err(t, err, "View")
		st, err := c.Submit(ctx, "BD_Customer", []string{"CUS00001"})
		checkK3Err(t, err, "Submit")
		if err == nil && st == nil {
			t.Fatalf("Submit: nil status and nil error from %q", body)
		}
		checkK3Err(t, c.Probe(ctx, "BD_Customer", "FNumber"), "GetDataCenterList", "ExecuteBillQuery")

		_, err = client(AuthPassword).View(ctx, "BD_Customer", ViewRequest{Number: "CUS00001"})
		checkK3Err(t, err, "ValidateUser", "View")
		_, err = client(AuthLoginBySign).ExecuteBillQuery(ctx, Query{FormID: "BD_Customer", FieldKeys: "FNumber"})
		checkK3Err(t, err, "LoginBySign", "ExecuteBillQuery")
	})
}

// checkK3Err fails unless err is nil or a *vendor.Error naming k3cloud and
// one of ifaces, in valid UTF-8 (it goes to logs and dead-letter metadata).
func checkK3Err(t *testing.T, err error, ifaces ...string) {
	t.Helper()
	if err == nil {
		return
	}
	var ve *vendor.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error is not a *vendor.Error: %T %v", err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, vendorName+": ") {
		t.Fatalf("error does not name k3cloud: %s", msg)
	}
	named := false
	for _, i := range ifaces {
		named = named || strings.HasPrefix(msg, vendorName+": "+i+": ")
	}
	if !named {
		t.Fatalf("error names none of %v: %s", ifaces, msg)
	}
	if !utf8.ValidString(msg) {
		t.Fatalf("error is not valid UTF-8: %q", msg)
	}
}

// FuzzParseAnswer runs the envelope parsers directly, fast: statusOf (write
// envelopes and [[...]] query errors), response_error bodies, FlexID, the
// cached rows of kingdee_query and withID over ids taken from answers.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range k3Seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, env, ok := statusOf(b); ok {
			if st == nil || env == nil || env.Result == nil {
				t.Fatalf("statusOf ok with nil parts for %q", b)
			}
			_ = statusError("View", st)
			r := &SaveResult{Status: *st}
			_, _ = r.SuccessByIndex(), r.ErrorsByIndex()
		}
		err := responseError("Save", b)
		checkK3Err(t, err, "Save")
		var ve *vendor.Error
		if errors.As(err, &ve); ve.Code != "response_error" {
			t.Fatalf("response_error without its code: %v", err)
		}
		var id FlexID
		if id.UnmarshalJSON(b) == nil {
			_ = id.Int()
		}
		_, _ = decodeRows(b)
		for _, doc := range [][]byte{b, []byte(`{"FNumber":"A","FID":0}`)} {
			out, err := withID(doc, "FID", string(b))
			if err == nil && !json.Valid(out) {
				t.Fatalf("withID(%q, id %q) = %q: not JSON", doc, b, out)
			}
		}
	})
}

// FuzzSigning checks the signing inputs on any AppID, secret and request:
// a malformed AppID is refused with an error naming app_id that does not
// echo its secret part; an accepted one yields header values that HTTP can
// carry (else every request would fail as "transient" forever), signatures
// of the right length, the same on every run.
func FuzzSigning(f *testing.F) {
	f.Add(sbAppID, sbAppSecret, sbAcct, sbUser, "/k3cloud/"+stubForm+"Save"+stubSuffix, int64(1717207200))
	f.Add("200001_"+strings.Repeat("=", 32), "", "", "", "", int64(0))
	f.Add("客户端_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", "密钥\xff", "账套", "用户", "/路径 ?#", int64(-1))
	f.Add("200001_AAECAwQFBgcICQoLDA0ODxAREhMU\nFRY", "s", "a", "u", "/", int64(1<<62))
	f.Add("_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", "s", "a", "u", "/", int64(1))
	f.Add("a_b_c", "s", "a", "u", "/", int64(1))
	f.Fuzz(func(t *testing.T, appID, appSecret, acct, user, path string, ts int64) {
		id, sec, err := gatewayKey(appID)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "auth.app_id") {
				t.Fatalf("error does not name auth.app_id: %v", err)
			}
			if _, secret, ok := strings.Cut(appID, "_"); ok && len(secret) >= 8 && strings.Contains(err.Error(), secret) {
				t.Fatalf("error echoes the AppID secret: %v", err)
			}
			cfg := Config{URL: "http://127.0.0.1/k3cloud/", AcctID: "a", Username: "u", AppID: appID, AppSecret: "s"}
			if cerr := cfg.Check(); cerr == nil || !strings.HasPrefix(cerr.Error(), "k3cloud: ") || !strings.Contains(cerr.Error(), "app_id") {
				t.Fatalf("Config.Check accepts or misnames a bad AppID %q: %v", appID, cerr)
			}
			return
		}
		id2, sec2, _ := gatewayKey(appID)
		if id != id2 || sec != sec2 {
			t.Fatalf("gatewayKey(%q) is not deterministic", appID)
		}
		if id == "" || strings.Contains(id, "_") {
			t.Fatalf("gatewayKey(%q) client id %q", appID, id)
		}
		raw, derr := base64.StdEncoding.DecodeString(sec)
		if derr != nil || len(raw) > 24 {
			t.Fatalf("gatewayKey(%q) clientSec %q is not base64 of at most 24 bytes: %v", appID, sec, derr)
		}
		appData := acct + "," + user + ",2052,0"
		h := signHeaders(path, ts, id, sec, appID, appSecret, appData)
		if len(h) != 9 {
			t.Fatalf("signHeaders gives %d headers", len(h))
		}
		for k, v := range h {
			if !validHeaderValue(v) {
				t.Fatalf("AppID %q accepted but header %s = %q cannot be sent", appID, k, v)
			}
		}
		for _, k := range []string{"X-Api-Signature", "X-Kd-Signature"} {
			hx, err := base64.StdEncoding.DecodeString(h[k])
			if err != nil || len(hx) != 64 || strings.ToLower(string(hx)) != string(hx) {
				t.Fatalf("%s %q is not base64 of 64 lowercase hex digits", k, h[k])
			}
			if _, err := hex.DecodeString(string(hx)); err != nil {
				t.Fatalf("%s %q: %v", k, h[k], err)
			}
		}
		h2 := signHeaders(path, ts, id, sec, appID, appSecret, appData)
		for k, v := range h {
			if h2[k] != v {
				t.Fatalf("header %s differs between two runs: %q, %q", k, v, h2[k])
			}
		}
		ls := loginSign(acct, user, appID, appSecret, path)
		if len(ls) != 64 || strings.ToLower(ls) != ls {
			t.Fatalf("loginSign = %q, want 64 lowercase hex digits", ls)
		}
		// The five values are sorted before hashing: their order is irrelevant.
		if ls2 := loginSign(path, appSecret, appID, user, acct); ls2 != ls {
			t.Fatalf("loginSign depends on the order of its values: %q, %q", ls, ls2)
		}
	})
}

// validHeaderValue is what net/http will send: no control characters
// other than tab, no DEL.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
