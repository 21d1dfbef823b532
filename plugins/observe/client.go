package observe

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/erpsync/erpsync/internal/vendor"
)

// Robot message types.
const (
	MsgText     = "text"
	MsgMarkdown = "markdown"
)

const (
	vendorDingTalk = "dingtalk"
	vendorWeCom    = "wecom"

	// Interfaces named in errors: the path of the webhook, never its query
	// (it holds the access token or key).
	ifaceDingTalk = "robot/send"
	ifaceWeCom    = "webhook/send"

	// maxResponse caps how much of an answer is read.
	maxResponse = 64 << 10
)

// Message is one robot message, in terms common to both vendors.
type Message struct {
	// Type is MsgText or MsgMarkdown.
	Type string
	// Title is the markdown title (DingTalk only: the notification preview).
	Title string
	// Content is the text, or the markdown source.
	Content string
	// Mobiles to mention: DingTalk at.atMobiles, WeCom mentioned_mobile_list.
	Mobiles []string
	// UserIDs to mention: WeCom mentioned_list ("@all" for everyone).
	UserIDs []string
	// AtAll mentions everyone (DingTalk at.isAtAll).
	AtAll bool
}

// RobotConfig configures a robot client.
type RobotConfig struct {
	// WebhookURL is the robot's full webhook address, with its access_token
	// (DingTalk) or key (WeCom). Secret: never printed.
	WebhookURL string
	// Secret is DingTalk's optional signing secret ("SEC..."); empty sends unsigned.
	Secret string
	// Timeout of one HTTP request (default 10s).
	Timeout time.Duration
	// HTTPClient overrides the client (its Timeout is left alone).
	HTTPClient *http.Client
	// Now is the clock of DingTalk's signature timestamp (default time.Now).
	Now func() time.Time
}

// Robot sends messages to a group robot.
type Robot interface {
	// Send posts one message. Errors are *vendor.Error, classified:
	// RateLimited and Transient may be retried, Permanent may not.
	Send(ctx context.Context, m Message) error
	// Vendor is "dingtalk" or "wecom".
	Vendor() string
}

type robotBase struct {
	vendor   string
	iface    string
	webhook  string
	endpoint string // webhook without its query, for messages
	http     *http.Client
	now      func() time.Time
	classify func(code int, msg string) (vendor.Kind, string)
}

func newRobotBase(cfg RobotConfig, vendorName, iface string, classify func(int, string) (vendor.Kind, string)) (robotBase, error) {
	u, err := url.Parse(cfg.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL is not echoed: it carries the token.
		return robotBase{}, fmt.Errorf("%s: webhook_url is not an http(s) URL; copy the robot's webhook address from the group settings", vendorName)
	}
	endpoint := u.Scheme + "://" + u.Host + u.Path
	hc := cfg.HTTPClient
	if hc == nil {
		to := cfg.Timeout
		if to <= 0 {
			to = 10 * time.Second
		}
		hc = &http.Client{Timeout: to}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return robotBase{vendor: vendorName, iface: iface, webhook: cfg.WebhookURL, endpoint: endpoint, http: hc, now: now, classify: classify}, nil
}

func (b *robotBase) Vendor() string { return b.vendor }

// robotAnswer is the envelope both robots answer with.
type robotAnswer struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// post sends body to target and classifies the answer.
func (b *robotBase) post(ctx context.Context, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return &vendor.Error{Vendor: b.vendor, Interface: b.iface, Kind: vendor.Permanent, Msg: "cannot build the request to " + b.endpoint}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := b.http.Do(req)
	if err != nil {
		// *url.Error repeats the full URL, token and sign included: keep
		// only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &vendor.Error{Vendor: b.vendor, Interface: b.iface, Kind: vendor.Transient, Msg: "POST " + b.endpoint + ": " + err.Error(), Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &vendor.Error{Vendor: b.vendor, Interface: b.iface, Kind: vendor.Transient, Status: resp.StatusCode, Msg: "reading the answer: " + err.Error(), Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		kind := vendor.Permanent
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			kind = vendor.RateLimited
		case resp.StatusCode >= 500:
			kind = vendor.Transient
		}
		return &vendor.Error{Vendor: b.vendor, Interface: b.iface, Kind: kind, Status: resp.StatusCode, Msg: vendor.Snippet(raw)}
	}
	var ans robotAnswer
	if err := json.Unmarshal(raw, &ans); err != nil || ans.ErrCode == nil {
		return &vendor.Error{Vendor: b.vendor, Interface: b.iface, Kind: vendor.Transient, Msg: "answer is not {errcode, errmsg}: " + vendor.Snippet(raw)}
	}
	if *ans.ErrCode == 0 {
		return nil
	}
	kind, hint := b.classify(*ans.ErrCode, ans.ErrMsg)
	msg := ans.ErrMsg
	if hint != "" {
		msg += " (" + hint + ")"
	}
	return &vendor.Error{Vendor: b.vendor, Interface: b.iface, Code: strconv.Itoa(*ans.ErrCode), Msg: msg, Kind: kind}
}

// ---------------------------------------------------------------- DingTalk

// DingTalk is a DingTalk (钉钉) custom group robot.
type DingTalk struct {
	robotBase
	secret string
}

// NewDingTalk builds a DingTalk robot client.
func NewDingTalk(cfg RobotConfig) (*DingTalk, error) {
	b, err := newRobotBase(cfg, vendorDingTalk, ifaceDingTalk, classifyDingTalk)
	if err != nil {
		return nil, err
	}
	return &DingTalk{robotBase: b, secret: cfg.Secret}, nil
}

// DingTalkSign is DingTalk's robot signature of timestamp (Unix ms):
// base64(HMAC-SHA256(key: secret, data: timestamp + "\n" + secret)), before
// URL encoding.
func DingTalkSign(timestampMs int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMs, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signedURL appends &timestamp=...&sign=... to the webhook when a secret
// is set. DingTalk refuses a timestamp more than an hour off its clock.
func (d *DingTalk) signedURL() string {
	if d.secret == "" {
		return d.webhook
	}
	ts := d.now().UnixMilli()
	sep := "&"
	if !strings.Contains(d.webhook, "?") {
		sep = "?"
	}
	return d.webhook + sep + "timestamp=" + strconv.FormatInt(ts, 10) + "&sign=" + url.QueryEscape(DingTalkSign(ts, d.secret))
}

type dingTalkAt struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	IsAtAll   bool     `json:"isAtAll,omitempty"`
}

type dingTalkBody struct {
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text,omitempty"`
	Markdown *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown,omitempty"`
	At *dingTalkAt `json:"at,omitempty"`
}

// DingTalkBody is the JSON body of m.
func DingTalkBody(m Message) ([]byte, error) {
	body := dingTalkBody{MsgType: m.Type}
	content := m.Content
	// [I] DingTalk only highlights (and, in markdown, only notifies) a
	// mobile in at.atMobiles when "@<mobile>" also appears in the text.
	var missing []string
	for _, mob := range m.Mobiles {
		if !strings.Contains(content, "@"+mob) {
			missing = append(missing, "@"+mob)
		}
	}
	if len(missing) > 0 {
		content += "\n\n" + strings.Join(missing, " ")
	}
	switch m.Type {
	case MsgText:
		body.Text = &struct {
			Content string `json:"content"`
		}{content}
	case MsgMarkdown:
		title := m.Title
		if title == "" {
			title = "erpsync"
		}
		body.Markdown = &struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		}{title, content}
	default:
		return nil, fmt.Errorf("dingtalk: msg_type %q is not text or markdown", m.Type)
	}
	if len(m.Mobiles) > 0 || m.AtAll {
		body.At = &dingTalkAt{AtMobiles: m.Mobiles, IsAtAll: m.AtAll}
	}
	return json.Marshal(body)
}

// Send posts m, signed when a secret is configured.
func (d *DingTalk) Send(ctx context.Context, m Message) error {
	body, err := DingTalkBody(m)
	if err != nil {
		return &vendor.Error{Vendor: d.vendor, Interface: d.iface, Kind: vendor.Permanent, Msg: err.Error()}
	}
	return d.post(ctx, d.signedURL(), body)
}

// classifyDingTalk is the one place DingTalk's robot errcodes live.
// [I] codes as remembered from open.dingtalk.com (自定义机器人 错误码); an
// unknown code is permanent, so a new code fails loudly instead of looping.
func classifyDingTalk(code int, _ string) (vendor.Kind, string) {
	switch code {
	case 130101, 410100: // send too fast (over 20 a minute); the robot is throttled for a while
		return vendor.RateLimited, "over the robot's 20 messages a minute; backing off"
	case -1: // system busy
		return vendor.Transient, "DingTalk busy; retrying"
	case 310000: // sign not match / keywords not in content / ip not in whitelist
		return vendor.Permanent, "check the signing secret, that the content contains the robot's keyword, and the robot's IP whitelist"
	case 300001, 300005: // token missing / token is not exist
		return vendor.Permanent, "check webhook_url: the access_token is missing or unknown, or the robot was removed"
	}
	return vendor.Permanent, "see DingTalk's robot error codes"
}

// ------------------------------------------------------------------- WeCom

// WeCom is a WeCom (企业微信) group robot.
type WeCom struct{ robotBase }

// NewWeCom builds a WeCom robot client.
func NewWeCom(cfg RobotConfig) (*WeCom, error) {
	b, err := newRobotBase(cfg, vendorWeCom, ifaceWeCom, classifyWeCom)
	if err != nil {
		return nil, err
	}
	return &WeCom{robotBase: b}, nil
}

// WeCom's content limits in bytes of UTF-8 [I]: longer content is refused,
// so it is cut here instead (an alert that arrives shortened beats none).
const (
	weComTextMax     = 2048
	weComMarkdownMax = 4096
)

type weComBody struct {
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content             string   `json:"content"`
		MentionedList       []string `json:"mentioned_list,omitempty"`
		MentionedMobileList []string `json:"mentioned_mobile_list,omitempty"`
	} `json:"text,omitempty"`
	Markdown *struct {
		Content string `json:"content"`
	} `json:"markdown,omitempty"`
}

// WeComBody is the JSON body of m. Markdown messages cannot mention by
// mobile or user id (WeCom ignores the lists there), so none are sent.
func WeComBody(m Message) ([]byte, error) {
	body := weComBody{MsgType: m.Type}
	switch m.Type {
	case MsgText:
		body.Text = &struct {
			Content             string   `json:"content"`
			MentionedList       []string `json:"mentioned_list,omitempty"`
			MentionedMobileList []string `json:"mentioned_mobile_list,omitempty"`
		}{truncateUTF8(m.Content, weComTextMax), m.UserIDs, m.Mobiles}
	case MsgMarkdown:
		body.Markdown = &struct {
			Content string `json:"content"`
		}{truncateUTF8(m.Content, weComMarkdownMax)}
	default:
		return nil, fmt.Errorf("wecom: msg_type %q is not text or markdown", m.Type)
	}
	return json.Marshal(body)
}

// Send posts m.
func (w *WeCom) Send(ctx context.Context, m Message) error {
	body, err := WeComBody(m)
	if err != nil {
		return &vendor.Error{Vendor: w.vendor, Interface: w.iface, Kind: vendor.Permanent, Msg: err.Error()}
	}
	return w.post(ctx, w.webhook, body)
}

// classifyWeCom is the one place WeCom's robot errcodes live ([I] as
// remembered from developer.work.weixin.qq.com 全局错误码).
func classifyWeCom(code int, _ string) (vendor.Kind, string) {
	switch code {
	case 45009: // api freq out of limit
		return vendor.RateLimited, "over the robot's 20 messages a minute; backing off"
	case -1: // system busy
		return vendor.Transient, "WeCom busy; retrying"
	case 93000: // invalid webhook url
		return vendor.Permanent, "check webhook_url: the key is wrong or the robot was removed"
	}
	return vendor.Permanent, "see WeCom's global error codes"
}

// truncateUTF8 cuts s to at most max bytes on a rune boundary, marking the cut.
func truncateUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "\n…(truncated)"
	cut := max - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
