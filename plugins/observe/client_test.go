package observe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
)

const (
	testToken  = "tok3n0f7h3r0b07d0n07l0g"
	testSecret = "SECs3cr37n3v3rpr1n73d0123456789abcdef0123456789abcdef0123456789ab"
)

// TestDingTalkSignVector checks the signature against a vector computed
// outside Go (Python hmac/base64, as in DingTalk's documentation).
func TestDingTalkSignVector(t *testing.T) {
	const secret = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if got, want := DingTalkSign(1577262236757, secret), "1FvsaxjE09b7bxVKSJb6LCsb3v2tUTADgOn5aQImxro="; got != want {
		t.Errorf("DingTalkSign = %s, want %s", got, want)
	}
}

func TestRobotBodies(t *testing.T) {
	tests := []struct {
		name string
		body func(Message) ([]byte, error)
		msg  Message
		want string
	}{
		{"dingtalk text with mentions", DingTalkBody,
			Message{Type: MsgText, Content: "sync failed", Mobiles: []string{"13800000000"}, AtAll: true},
			`{"msgtype":"text","text":{"content":"sync failed\n\n@13800000000"},"at":{"atMobiles":["13800000000"],"isAtAll":true}}`},
		{"dingtalk text mention already written", DingTalkBody,
			Message{Type: MsgText, Content: "@13800000000 look", Mobiles: []string{"13800000000"}},
			`{"msgtype":"text","text":{"content":"@13800000000 look"},"at":{"atMobiles":["13800000000"]}}`},
		{"dingtalk markdown", DingTalkBody,
			Message{Type: MsgMarkdown, Title: "订单同步失败", Content: "### 失败\n- code 199"},
			`{"msgtype":"markdown","markdown":{"title":"订单同步失败","text":"### 失败\n- code 199"}}`},
		{"wecom text", WeComBody,
			Message{Type: MsgText, Content: "同步失败", Mobiles: []string{"13800000000", "@all"}, UserIDs: []string{"wangqing"}},
			`{"msgtype":"text","text":{"content":"同步失败","mentioned_list":["wangqing"],"mentioned_mobile_list":["13800000000","@all"]}}`},
		{"wecom markdown drops mentions", WeComBody,
			Message{Type: MsgMarkdown, Content: "**失败**", Mobiles: []string{"13800000000"}},
			`{"msgtype":"markdown","markdown":{"content":"**失败**"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.body(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, got, tt.want)
		})
	}
	if _, err := DingTalkBody(Message{Type: "link", Content: "x"}); err == nil {
		t.Error("DingTalk accepted msg_type link")
	}
}

func TestWeComTruncatesOnRuneBoundary(t *testing.T) {
	long := strings.Repeat("失败", 1000) // 6000 bytes
	for _, tt := range []struct {
		typ string
		max int
	}{{MsgText, weComTextMax}, {MsgMarkdown, weComMarkdownMax}} {
		raw, err := WeComBody(Message{Type: tt.typ, Content: long})
		if err != nil {
			t.Fatal(err)
		}
		var b map[string]any
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		c := b[tt.typ].(map[string]any)["content"].(string)
		if len(c) > tt.max || !strings.HasSuffix(c, "(truncated)") || strings.ContainsRune(c, '\uFFFD') {
			t.Errorf("%s: %d bytes, suffix %q; want <= %d bytes, valid UTF-8, marked", tt.typ, len(c), c[len(c)-20:], tt.max)
		}
	}
}

func TestRobotErrorClassification(t *testing.T) {
	tests := []struct {
		vendor string
		answer string
		status int
		kind   vendor.Kind
		code   string
	}{
		{"dingtalk", `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`, 200, vendor.RateLimited, "130101"},
		{"dingtalk", `{"errcode":410100,"errmsg":"发送速度太快而限流"}`, 200, vendor.RateLimited, "410100"},
		{"dingtalk", `{"errcode":310000,"errmsg":"sign not match"}`, 200, vendor.Permanent, "310000"},
		{"dingtalk", `{"errcode":310000,"errmsg":"keywords not in content"}`, 200, vendor.Permanent, "310000"},
		{"dingtalk", `{"errcode":300001,"errmsg":"token is not exist"}`, 200, vendor.Permanent, "300001"},
		{"dingtalk", `{"errcode":-1,"errmsg":"系统繁忙"}`, 200, vendor.Transient, "-1"},
		{"dingtalk", `{"errcode":999999,"errmsg":"new code"}`, 200, vendor.Permanent, "999999"},
		{"wecom", `{"errcode":45009,"errmsg":"api freq out of limit"}`, 200, vendor.RateLimited, "45009"},
		{"wecom", `{"errcode":93000,"errmsg":"invalid webhook url"}`, 200, vendor.Permanent, "93000"},
		{"wecom", `<html>bad gateway</html>`, 502, vendor.Transient, ""},
		{"wecom", `slow down`, 429, vendor.RateLimited, ""},
		{"dingtalk", `<html>oops</html>`, 200, vendor.Transient, ""},
		{"dingtalk", `not found`, 404, vendor.Permanent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.vendor+" "+tt.answer, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.answer)
			}))
			t.Cleanup(srv.Close)
			robot := newTestRobot(t, tt.vendor, srv.URL, testSecret, nil)
			err := robot.Send(context.Background(), Message{Type: MsgText, Content: "x"})
			var ve *vendor.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a vendor.Error", err)
			}
			if ve.Kind != tt.kind || ve.Code != tt.code || ve.Vendor != tt.vendor {
				t.Errorf("got vendor %s code %q kind %v, want %s %q %v (%v)", ve.Vendor, ve.Code, ve.Kind, tt.vendor, tt.code, tt.kind, err)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func TestRobotTransportErrorHidesToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens any more
	for _, v := range []string{vendorDingTalk, vendorWeCom} {
		err := newTestRobot(t, v, addr, testSecret, nil).Send(context.Background(), Message{Type: MsgText, Content: "x"})
		if vendor.KindOf(err) != vendor.Transient {
			t.Errorf("%s: refused connection is %v, want transient: %v", v, vendor.KindOf(err), err)
		}
		assertNoSecret(t, err.Error())
		for e := error(err); e != nil; e = errors.Unwrap(e) {
			assertNoSecret(t, e.Error())
		}
	}
}

func TestRobotRejectsBadWebhookWithoutEchoingIt(t *testing.T) {
	_, err := NewDingTalk(RobotConfig{WebhookURL: "oapi.dingtalk.com/robot/send?access_token=" + testToken})
	if err == nil {
		t.Fatal("a webhook without scheme was accepted")
	}
	assertNoSecret(t, err.Error())
}

// ------------------------------------------------------------------ helpers

// newTestRobot is a client of vendorName for the receiver at base.
func newTestRobot(t *testing.T, vendorName, base, secret string, now func() time.Time) Robot {
	t.Helper()
	var r Robot
	var err error
	switch vendorName {
	case vendorDingTalk:
		r, err = NewDingTalk(RobotConfig{WebhookURL: base + "/robot/send?access_token=" + testToken, Secret: secret, Now: now})
	case vendorWeCom:
		r, err = NewWeCom(RobotConfig{WebhookURL: base + "/cgi-bin/webhook/send?key=" + testToken})
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testToken, testSecret, "sign=", "timestamp="} {
		if strings.Contains(s, secret) {
			t.Errorf("text shows a credential (%.8s...): %s", secret, s)
		}
	}
}

func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

// receiver is a robot webhook: it checks the token (and, for DingTalk with
// a secret, the signature, computed here independently of the client) and
// answers from a script, "ok" once the script is used up.
type receiver struct {
	t      *testing.T
	vendor string
	secret string
	now    func() time.Time // the receiver's clock, for the timestamp check
	srv    *httptest.Server

	mu      sync.Mutex
	script  []string // answers in order: a JSON body, or "HTTP <status>"
	bodies  [][]byte
	times   []time.Time
	badSign int
}

func newReceiver(t *testing.T, vendorName, secret string, now func() time.Time, script ...string) *receiver {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	r := &receiver{t: t, vendor: vendorName, secret: secret, now: now, script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// webhook is the robot's webhook URL on this receiver.
func (r *receiver) webhook() string {
	if r.vendor == vendorDingTalk {
		return r.srv.URL + "/robot/send?access_token=" + testToken
	}
	return r.srv.URL + "/cgi-bin/webhook/send?key=" + testToken
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	q := req.URL.Query()
	r.mu.Lock()
	defer r.mu.Unlock()
	answer := `{"errcode":0,"errmsg":"ok"}`
	switch {
	case r.vendor == vendorDingTalk && (req.URL.Path != "/robot/send" || q.Get("access_token") != testToken):
		answer = `{"errcode":300001,"errmsg":"token is not exist"}`
	case r.vendor == vendorWeCom && (req.URL.Path != "/cgi-bin/webhook/send" || q.Get("key") != testToken):
		answer = `{"errcode":93000,"errmsg":"invalid webhook url"}`
	case r.vendor == vendorDingTalk && r.secret != "" && !r.signOK(q.Get("timestamp"), q.Get("sign")):
		r.badSign++
		answer = `{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}`
	case req.Header.Get("Content-Type") != "application/json; charset=utf-8":
		answer = `{"errcode":40035,"errmsg":"bad content type"}`
	case len(r.script) > 0:
		answer, r.script = r.script[0], r.script[1:]
	}
	r.bodies = append(r.bodies, body)
	r.times = append(r.times, r.now())
	if code, ok := strings.CutPrefix(answer, "HTTP "); ok {
		n, _ := strconv.Atoi(code)
		w.WriteHeader(n)
		return
	}
	_, _ = io.WriteString(w, answer)
}

// signOK checks DingTalk's signature: base64(HMAC-SHA256(secret,
// timestamp+"\n"+secret)) with a timestamp within an hour of now.
func (r *receiver) signOK(ts, sign string) bool {
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := r.now().Sub(time.UnixMilli(ms)); d > time.Hour || d < -time.Hour {
		return false
	}
	mac := hmac.New(sha256.New, []byte(r.secret))
	_, _ = fmt.Fprintf(mac, "%s\n%s", ts, r.secret)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(sign), []byte(want))
}

func (r *receiver) received() ([][]byte, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), append([]time.Time(nil), r.times...)
}
