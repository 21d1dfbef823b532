package kingdee

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
)

// vendorName names the vendor in every vendor.Error.
const vendorName = "k3cloud"

// Authentication modes (k3cloud.md section 3).
const (
	// AuthSignature signs every request with the mode-A HMAC headers; the
	// server opens a session silently and the client replays its cookie.
	AuthSignature = "signature"
	// AuthLoginBySign logs in once with LoginBySign (SHA-256 sign).
	AuthLoginBySign = "login_by_sign"
	// AuthPassword logs in once with ValidateUser (plain password; discouraged).
	AuthPassword = "password"
)

const (
	// PageLimit is the Limit of one ExecuteBillQuery page. Documentation
	// gives 10000 (newer) or 2000 (older); 2000 is honoured by both, so a
	// page shorter than it is the last one.
	PageLimit = 2000
	// maxAnswer bounds what is read of one answer.
	maxAnswer = 256 << 20
	// defaultTimeout is the per-request timeout when Config.Timeout is 0.
	defaultTimeout = 30 * time.Second
)

const (
	stubForm    = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."
	stubAuth    = "Kingdee.BOS.WebApi.ServicesStub.AuthService."
	stubSuffix  = ".common.kdsvc"
	stubDCList  = "Kingdee.BOS.ServiceFacade.ServicesStub.Account.AccountService.GetDataCenterList.common.kdsvc"
	headerSID   = "kdservice-sessionid"
	msgLostHint = "check acct_id, username, app_id, app_secret (or password) and lcid"
)

// Config configures a Client: one identity on one K3Cloud server.
type Config struct {
	// URL is the server root, e.g. https://erp.example.com/k3cloud/.
	URL string
	// Mode is AuthSignature (default), AuthLoginBySign or AuthPassword.
	Mode string
	// AcctID is the data-centre id (DCID).
	AcctID string
	// Username is the integration user.
	Username string
	// AppID ("<clientId>_<32-char secret>") and AppSecret: signature and login_by_sign modes.
	AppID, AppSecret string
	// Password: password mode only.
	Password string
	// LCID is the language (2052 when 0).
	LCID int
	// OrgNum is the organisation number signed into X-Kd-Appdata ("0" when empty).
	OrgNum string
	// Timeout bounds one HTTP request (defaultTimeout when 0).
	Timeout time.Duration
	// Transport carries the requests; sessions may share one. nil means
	// http.DefaultTransport (certificates verified).
	Transport http.RoundTripper
	// Now is the clock of signatures; nil means time.Now.
	Now func() time.Time
	// Observe, when set, is told of every call: the method and the answer
	// code ("0" success, "MsgCode N", "LoginResultType N", or a transport
	// code such as "http_502" and "timeout").
	Observe vendor.Observer
	// OnLogin, when set, is called after every successful session login.
	OnLogin func()
}

// Check reports a configuration that cannot work, naming the field.
func (c Config) Check() error {
	if _, err := parseRoot(c.URL); err != nil {
		return err
	}
	if c.AcctID == "" || c.Username == "" {
		return errors.New("k3cloud: auth.acct_id and auth.username are required")
	}
	switch c.Mode {
	case "", AuthSignature, AuthLoginBySign:
		if c.AppID == "" || c.AppSecret == "" {
			return fmt.Errorf("k3cloud: auth.mode %s needs auth.app_id and auth.app_secret", c.mode())
		}
		if _, _, err := gatewayKey(c.AppID); err != nil {
			return fmt.Errorf("k3cloud: %w", err)
		}
	case AuthPassword:
		if c.Password == "" {
			return errors.New("k3cloud: auth.mode password needs auth.password")
		}
	default:
		return fmt.Errorf("k3cloud: unknown auth.mode %q (signature, login_by_sign or password)", c.Mode)
	}
	return nil
}

func (c Config) mode() string {
	if c.Mode == "" {
		return AuthSignature
	}
	return c.Mode
}

func parseRoot(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("k3cloud: url %q must be the server root, e.g. https://erp.example.com/k3cloud/", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// Client is one K3Cloud session. The server serves the requests of one
// session one at a time, so callers wanting parallel writes use one Client
// per concurrent call (they may share Config.Transport). A Client is safe
// for concurrent use.
type Client struct {
	cfg       Config
	root      *url.URL
	clientID  string
	clientSec string
	lcid      string
	hc        *http.Client

	loginMu sync.Mutex // one login at a time

	mu       sync.Mutex // guards the session state below
	jar      *cookiejar.Jar
	sid      string
	loggedIn bool
}

// NewClient checks cfg and returns a client without a session yet.
func NewClient(cfg Config) (*Client, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg.Mode = cfg.mode()
	if cfg.LCID == 0 {
		cfg.LCID = 2052
	}
	if cfg.OrgNum == "" {
		cfg.OrgNum = "0"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	root, _ := parseRoot(cfg.URL)
	c := &Client{cfg: cfg, root: root, lcid: strconv.Itoa(cfg.LCID), hc: &http.Client{Transport: rt}}
	if cfg.Mode != AuthPassword {
		c.clientID, c.clientSec, _ = gatewayKey(cfg.AppID)
	}
	c.resetSession()
	return c, nil
}

// resetSession forgets the session: a new cookie jar replaces the old one
// wholesale, so no cookie of the lost session is replayed.
func (c *Client) resetSession() {
	jar, _ := cookiejar.New(nil)
	c.mu.Lock()
	c.jar, c.sid, c.loggedIn = jar, "", false
	c.mu.Unlock()
}

// ---------------------------------------------------------------------------
// Transport

// post sends one call and reports it to the observer.
func (c *Client) post(ctx context.Context, iface, stub string, body any) ([]byte, error) {
	b, err := c.postOnce(ctx, iface, stub, body)
	if c.cfg.Observe != nil && ctx.Err() == nil {
		code := answerCode(b)
		if err != nil {
			code = vendor.TransportCode(err)
		}
		c.cfg.Observe(iface, code)
	}
	return b, err
}

var (
	reMsgCode    = regexp.MustCompile(`"MsgCode"\s*:\s*(-?\d+)`)
	reLoginType  = regexp.MustCompile(`"LoginResultType"\s*:\s*(-?\d+)`)
	reNotSuccess = regexp.MustCompile(`"IsSuccess"\s*:\s*false`)
)

// answerCode names an answer for metrics the way the K3Cloud sandbox counts
// it: "LoginResultType N" for logins, "MsgCode N" for a failed call, "0"
// otherwise (including a row array from ExecuteBillQuery).
func answerCode(b []byte) string {
	if m := reLoginType.FindSubmatch(b); m != nil {
		return "LoginResultType " + string(m[1])
	}
	if reNotSuccess.Match(b) {
		if m := reMsgCode.FindSubmatch(b); m != nil {
			return "MsgCode " + string(m[1])
		}
		return "MsgCode 0"
	}
	return "0"
}

// postOnce sends one JSON POST to stub (relative to the root) and returns the
// answer body. It classifies transport failures, non-2xx statuses and
// response_error bodies; it does not look inside JSON envelopes.
func (c *Client) postOnce(ctx context.Context, iface, stub string, body any) ([]byte, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, &vendor.Error{Vendor: vendorName, Interface: iface, Msg: "cannot encode the request: " + err.Error(), Kind: vendor.Permanent, Err: err}
	}
	u := c.root.ResolveReference(&url.URL{Path: stub})
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, &vendor.Error{Vendor: vendorName, Interface: iface, Msg: "bad request URL", Kind: vendor.Permanent, Err: err}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")

	c.mu.Lock()
	jar, sid := c.jar, c.sid
	c.mu.Unlock()
	if c.cfg.Mode == AuthSignature {
		appData := c.cfg.AcctID + "," + c.cfg.Username + "," + c.lcid + "," + c.cfg.OrgNum
		for k, v := range signHeaders(u.EscapedPath(), c.cfg.Now().Unix(), c.clientID, c.clientSec, c.cfg.AppID, c.cfg.AppSecret, appData) {
			req.Header.Set(k, v)
		}
	}
	if sid != "" {
		req.Header.Set(headerSID, sid)
	}
	for _, ck := range jar.Cookies(u) {
		req.AddCookie(ck)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, iface, c.cfg.Timeout, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, transportError(ctx, iface, c.cfg.Timeout, err)
	}
	c.mu.Lock()
	if c.jar == jar { // a re-authentication in between wins
		jar.SetCookies(u, resp.Cookies())
		if h := resp.Header.Get(headerSID); h != "" {
			c.sid = h
		}
	}
	c.mu.Unlock()

	if tooLargeAnswer(resp.StatusCode, b) {
		return nil, &vendor.Error{Vendor: vendorName, Interface: iface, Status: resp.StatusCode, Code: CodeTooLarge,
			Msg: fmt.Sprintf("HTTP %d: the server refused a request of %d bytes as too large (%s)", resp.StatusCode, len(payload), vendor.Snippet(b)), Kind: vendor.Permanent}
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		kind := vendor.Permanent
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			kind = vendor.Transient
		}
		msg := vendor.Snippet(b)
		if bytes.Contains(b, []byte("thirty passport")) {
			// A wrong acctID answers non-200 "Fail to verify thirty passport".
			kind, msg = vendor.Permanent, msg+" (the data centre auth.acct_id is not known to the server)"
		}
		return nil, &vendor.Error{Vendor: vendorName, Interface: iface, Status: resp.StatusCode, Msg: msg, Kind: kind}
	}
	if t := bytes.TrimSpace(b); bytes.HasPrefix(t, []byte("response_error:")) {
		return nil, responseError(iface, t)
	}
	return b, nil
}

// CodeTooLarge is the vendor.Error code of a request the web server in
// front of the WebAPI refused for its size (see tooLargeAnswer).
const CodeTooLarge = "request_too_large"

// tooLargeAnswer recognises a request refused for its size. Kingdee
// documents no size limit and no answer for it [C: not found]; the .kdsvc
// stubs run on ASP.NET and IIS, whose refusals are pages, not K3Cloud
// envelopes: ASP.NET's maxRequestLength (default 4096 KB) gives HTTP 500
// "Maximum request length exceeded." (超过了最大请求长度。 on a Chinese
// server), IIS request filtering (maxAllowedContentLength, default
// 30,000,000 bytes) HTTP 404.13 "Content Length Too Large", and a proxy in
// front (nginx client_max_body_size) HTTP 413 [C: the platforms' behaviour;
// I: which one a K3Cloud deployment meets]. The 500 must not be taken for
// a transient failure: sending the same body again never helps.
func tooLargeAnswer(status int, b []byte) bool {
	switch {
	case status == http.StatusRequestEntityTooLarge:
		return true
	case status == http.StatusOK || status == http.StatusPartialContent:
		return false
	}
	return bytes.Contains(b, []byte("超过了最大请求长度")) || bytes.Contains(b, []byte("Maximum request length exceeded")) ||
		status == http.StatusNotFound && (bytes.Contains(b, []byte("404.13")) || bytes.Contains(b, []byte("Content Length Too Large")))
}

// IsTooLarge reports whether err is a request refused for its size.
func IsTooLarge(err error) bool {
	var ve *vendor.Error
	return errors.As(err, &ve) && ve.Code == CodeTooLarge
}

func transportError(ctx context.Context, iface string, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return &vendor.Error{Vendor: vendorName, Interface: iface, Msg: "cancelled: " + ctx.Err().Error(), Kind: vendor.Transient, Err: ctx.Err()}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &vendor.Error{Vendor: vendorName, Interface: iface, Msg: fmt.Sprintf("no answer within %s (timeout)", timeout), Kind: vendor.Transient, Err: err}
	}
	return &vendor.Error{Vendor: vendorName, Interface: iface, Msg: "request failed: " + err.Error(), Kind: vendor.Transient, Err: err}
}

// responseError reads an exception payload "response_error:{Message,...}";
// it is permanent unless it names a timeout.
func responseError(iface string, b []byte) error {
	var e struct {
		Message string `json:"Message"`
	}
	rest := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("response_error:")))
	msg := vendor.Snippet(rest)
	if json.Unmarshal(rest, &e) == nil && e.Message != "" {
		msg = e.Message
	}
	kind := vendor.Permanent
	if l := strings.ToLower(msg); strings.Contains(l, "timeout") || strings.Contains(l, "timed out") || strings.Contains(msg, "超时") {
		kind = vendor.Transient
	}
	return &vendor.Error{Vendor: vendorName, Interface: iface, Code: "response_error", Msg: msg, Kind: kind}
}

// ---------------------------------------------------------------------------
// Envelopes

// FlexID is an internal id that real answers give as a number and the
// documentation template as a string.
type FlexID string

// UnmarshalJSON accepts a number, a string or null.
func (f *FlexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexID(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id %s is neither a number nor a string", b)
		}
		*f = FlexID(n.String())
	}
	return nil
}

// Int returns the id as an integer (0 when empty or not numeric).
func (f FlexID) Int() int64 {
	n, _ := strconv.ParseInt(string(f), 10, 64)
	return n
}

// SuccessEntity is one document a write accepted.
type SuccessEntity struct {
	ID     FlexID `json:"Id"`
	Number string `json:"Number"`
	DIndex int    `json:"DIndex"`
}

// RowError is one error of one document (DIndex: position in the request).
type RowError struct {
	FieldName string `json:"FieldName"`
	Message   string `json:"Message"`
	DIndex    int    `json:"DIndex"`
}

// ResponseStatus is Result.ResponseStatus of every write answer and of
// failures.
type ResponseStatus struct {
	ErrorCode      int             `json:"ErrorCode"`
	IsSuccess      bool            `json:"IsSuccess"`
	Errors         []RowError      `json:"Errors"`
	SuccessEntitys []SuccessEntity `json:"SuccessEntitys"`
	MsgCode        int             `json:"MsgCode"`
}

// FirstMessage is the first error message, or "".
func (s *ResponseStatus) FirstMessage() string {
	if len(s.Errors) == 0 {
		return ""
	}
	return s.Errors[0].Message
}

// SaveResult is the answer of Save and BatchSave: per-document outcomes by
// DIndex in Status, plus Save's top-level Id and Number.
type SaveResult struct {
	Status         ResponseStatus
	ID             FlexID
	Number         string
	NeedReturnData []json.RawMessage
}

// ErrorsByIndex groups the errors by DIndex.
func (r *SaveResult) ErrorsByIndex() map[int][]RowError {
	m := map[int][]RowError{}
	for _, e := range r.Status.Errors {
		m[e.DIndex] = append(m[e.DIndex], e)
	}
	return m
}

// SuccessByIndex maps DIndex to the accepted document.
func (r *SaveResult) SuccessByIndex() map[int]SuccessEntity {
	m := make(map[int]SuccessEntity, len(r.Status.SuccessEntitys))
	for _, s := range r.Status.SuccessEntitys {
		m[s.DIndex] = s
	}
	return m
}

// envelope is {"Result":{"ResponseStatus":...,"Id","Number","NeedReturnData","Result"}}.
type envelope struct {
	Result *struct {
		ResponseStatus *ResponseStatus `json:"ResponseStatus"`
		ID             FlexID          `json:"Id"`
		Number         string          `json:"Number"`
		NeedReturnData json.RawMessage `json:"NeedReturnData"`
		Result         json.RawMessage `json:"Result"`
	} `json:"Result"`
}

// statusOf finds a ResponseStatus in an answer: the write envelope, or the
// same wrapped as [[{...}]] (query errors). ok is false for anything else.
func statusOf(b []byte) (st *ResponseStatus, env *envelope, ok bool) {
	t := bytes.TrimSpace(b)
	for len(t) > 0 && t[0] == '[' {
		var arr []json.RawMessage
		if json.Unmarshal(t, &arr) != nil || len(arr) == 0 {
			return nil, nil, false
		}
		t = bytes.TrimSpace(arr[0])
	}
	if len(t) == 0 || t[0] != '{' {
		return nil, nil, false
	}
	var e envelope
	if json.Unmarshal(t, &e) != nil || e.Result == nil || e.Result.ResponseStatus == nil {
		return nil, nil, false
	}
	return e.Result.ResponseStatus, &e, true
}

// MsgCodeKind classifies a MsgCode (k3cloud.md section 4): 1 session lost,
// 6 database failure and 13 network-control conflict are transient, 14 is
// the call limit, everything else cannot succeed by retrying.
func MsgCodeKind(code int) vendor.Kind {
	switch code {
	case 1:
		return vendor.Expired
	case 6, 13:
		return vendor.Transient
	case 14:
		return vendor.RateLimited
	}
	return vendor.Permanent
}

// IsConfigAnswer reports whether err is a K3Cloud answer that only a
// change of configuration can cure, whatever the document: an unknown
// form (业务对象“X”不存在。, or the newer 标识为“X”的业务对象不存在，或者被删除),
// an unknown data centre (the gateway's "thirty passport" refusal, or
// acct_id missing from GetDataCenterList) or a refused login
// (LoginResultType other than 1).
func IsConfigAnswer(err error) bool {
	var ve *vendor.Error
	if !errors.As(err, &ve) || ve.Kind != vendor.Permanent {
		return false
	}
	switch {
	case strings.Contains(ve.Msg, "业务对象") && strings.Contains(ve.Msg, "不存在"):
		return true
	case strings.Contains(ve.Msg, "thirty passport") || strings.Contains(ve.Msg, "is not a data centre"):
		return true
	case strings.HasPrefix(ve.Code, "LoginResultType"):
		return true
	}
	return false
}

// IsDuplicate tells whether an error message is the "number already used"
// answer (MsgCode 11): 违反字段唯一性要求：...已经被使用。
func IsDuplicate(msg string) bool {
	m := strings.TrimSpace(msg)
	return strings.HasPrefix(m, "违反字段唯一性要求") && (strings.HasSuffix(m, "已经被使用。") || strings.HasSuffix(m, "已经被使用"))
}

// statusError turns a failed ResponseStatus into a vendor.Error.
func statusError(iface string, st *ResponseStatus) *vendor.Error {
	msg := st.FirstMessage()
	if len(st.Errors) > 1 {
		msg += fmt.Sprintf(" (and %d more errors)", len(st.Errors)-1)
	}
	if msg == "" {
		msg = "IsSuccess false without a message"
	}
	return &vendor.Error{Vendor: vendorName, Interface: iface, Code: strconv.Itoa(st.MsgCode), Msg: msg, Kind: MsgCodeKind(st.MsgCode)}
}

func isSessionLost(b []byte) bool {
	st, _, ok := statusOf(b)
	return ok && !st.IsSuccess && st.MsgCode == 1
}

// ---------------------------------------------------------------------------
// Sessions

// call sends one DynamicFormService request on the session, logging in
// first when the mode needs it. On "session lost" (MsgCode 1) it replaces the
// session and re-authenticates once; a read is then retried once, and a
// write is not: the caller gets an Expired error and must find out whether
// the write landed before sending it again. Lost again right after
// re-authenticating is a configuration error (Permanent).
func (c *Client) call(ctx context.Context, method string, body any, read bool) ([]byte, error) {
	if err := c.ensureLogin(ctx); err != nil {
		return nil, err
	}
	b, err := c.post(ctx, method, stubForm+method+stubSuffix, body)
	if err != nil || !isSessionLost(b) {
		return b, err
	}
	c.resetSession()
	if err := c.ensureLogin(ctx); err != nil {
		return nil, err
	}
	if !read {
		return nil, &vendor.Error{Vendor: vendorName, Interface: method, Code: "1",
			Msg: "会话信息已丢失 (session lost; re-authenticated, the write's outcome is unknown: check before re-sending)", Kind: vendor.Expired}
	}
	b, err = c.post(ctx, method, stubForm+method+stubSuffix, body)
	if err != nil {
		return nil, err
	}
	if isSessionLost(b) {
		c.resetSession()
		return nil, &vendor.Error{Vendor: vendorName, Interface: method, Code: "1",
			Msg: "会话信息已丢失 again right after re-authenticating: " + msgLostHint, Kind: vendor.Permanent}
	}
	return b, nil
}

func (c *Client) ensureLogin(ctx context.Context) error {
	if c.cfg.Mode == AuthSignature {
		return nil // every request carries the signature
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.mu.Lock()
	done := c.loggedIn
	c.mu.Unlock()
	if done {
		return nil
	}
	return c.login(ctx)
}

// LoginResult is the answer of the AuthService logins.
type LoginResult struct {
	Message         string `json:"Message"`
	MessageCode     string `json:"MessageCode"`
	LoginResultType int    `json:"LoginResultType"`
	KDSVCSessionID  string `json:"KDSVCSessionId"`
	IsSuccessByAPI  bool   `json:"IsSuccessByAPI"`
}

// login opens a session in a fresh cookie jar (loginMu held).
func (c *Client) login(ctx context.Context) error {
	c.resetSession()
	var method string
	var params []any
	lcid := c.cfg.LCID
	switch c.cfg.Mode {
	case AuthLoginBySign:
		method = "LoginBySign"
		ts := strconv.FormatInt(c.cfg.Now().Unix(), 10)
		params = []any{c.cfg.AcctID, c.cfg.Username, c.cfg.AppID, ts,
			loginSign(c.cfg.AcctID, c.cfg.Username, c.cfg.AppID, c.cfg.AppSecret, ts), lcid}
	case AuthPassword:
		method = "ValidateUser"
		params = []any{c.cfg.AcctID, c.cfg.Username, c.cfg.Password, lcid}
	default:
		return nil
	}
	b, err := c.post(ctx, method, stubAuth+method+stubSuffix, map[string]any{"parameters": params})
	if err != nil {
		return err
	}
	var lr LoginResult
	if err := json.Unmarshal(b, &lr); err != nil {
		return &vendor.Error{Vendor: vendorName, Interface: method, Msg: "answer is not a LoginResult: " + vendor.Snippet(b), Kind: vendor.Transient}
	}
	if lr.LoginResultType != 1 && !lr.IsSuccessByAPI {
		return &vendor.Error{Vendor: vendorName, Interface: method, Code: "LoginResultType " + strconv.Itoa(lr.LoginResultType),
			Msg: lr.Message + " (" + msgLostHint + ")", Kind: vendor.Permanent}
	}
	c.mu.Lock()
	if lr.KDSVCSessionID != "" {
		c.sid = lr.KDSVCSessionID
	}
	c.loggedIn = true
	c.mu.Unlock()
	if c.cfg.OnLogin != nil {
		c.cfg.OnLogin()
	}
	return nil
}

// Probe checks the configuration with fresh authentication: the login-free
// data-centre list must name AcctID (when the server lists any), and one
// authenticated ExecuteBillQuery on formID must answer. A still-valid
// session could otherwise hide broken credentials until a restart.
func (c *Client) Probe(ctx context.Context, formID, fieldKey string) error {
	b, err := c.post(ctx, "GetDataCenterList", stubDCList, map[string]any{})
	if err != nil {
		return err
	}
	var dcs []struct {
		ID json.RawMessage `json:"Id"`
	}
	if json.Unmarshal(b, &dcs) == nil && len(dcs) > 0 {
		found := false
		for _, d := range dcs {
			var id FlexID
			if id.UnmarshalJSON(d.ID) == nil && string(id) == c.cfg.AcctID {
				found = true
			}
		}
		if !found {
			return &vendor.Error{Vendor: vendorName, Interface: "GetDataCenterList", Msg: "acct_id " + c.cfg.AcctID + " is not a data centre of this server; check auth.acct_id", Kind: vendor.Permanent}
		}
	}
	c.resetSession()
	_, err = c.ExecuteBillQuery(ctx, Query{FormID: formID, FieldKeys: fieldKey, Limit: 1})
	return err
}

// ---------------------------------------------------------------------------
// DynamicFormService

// SaveOptions are the data keys of Save / BatchSave besides Model.
type SaveOptions struct {
	NeedUpdateFields      []string
	NeedReturnFields      []string
	IsDeleteEntry         *bool // nil: server default (true)
	IsVerifyBaseDataField bool
	IsAutoSubmitAndAudit  bool
	BatchCount            int // 0: not sent
}

type saveData struct {
	NeedUpDateFields      []string `json:"NeedUpDateFields,omitempty"`
	NeedReturnFields      []string `json:"NeedReturnFields,omitempty"`
	IsDeleteEntry         *bool    `json:"IsDeleteEntry,omitempty"`
	IsVerifyBaseDataField bool     `json:"IsVerifyBaseDataField"`
	IsAutoSubmitAndAudit  bool     `json:"IsAutoSubmitAndAudit"`
	BatchCount            int      `json:"BatchCount,omitempty"`
	Model                 any      `json:"Model"`
}

type formBody struct {
	FormID string `json:"formid"`
	Data   any    `json:"data"`
}

// Save writes one document (Model object). An answer with IsSuccess false
// is a result, not an error: read Status.
func (c *Client) Save(ctx context.Context, formID string, model json.RawMessage, o SaveOptions) (*SaveResult, error) {
	return c.save(ctx, "Save", formID, model, o)
}

// BatchSave writes documents (Model array); each gets its own outcome in
// Status by DIndex. A returned error means the outcome of every document is
// unknown unless its Kind is Permanent and it was raised before sending.
func (c *Client) BatchSave(ctx context.Context, formID string, models []json.RawMessage, o SaveOptions) (*SaveResult, error) {
	return c.save(ctx, "BatchSave", formID, models, o)
}

func saveBody(formID string, model any, o SaveOptions) formBody {
	return formBody{FormID: formID, Data: saveData{NeedUpDateFields: o.NeedUpdateFields, NeedReturnFields: o.NeedReturnFields, IsDeleteEntry: o.IsDeleteEntry,
		IsVerifyBaseDataField: o.IsVerifyBaseDataField, IsAutoSubmitAndAudit: o.IsAutoSubmitAndAudit, BatchCount: o.BatchCount, Model: model}}
}

// BatchSaveOverhead is the size in bytes of a BatchSave request body
// without its documents (an empty Model array).
func BatchSaveOverhead(formID string, o SaveOptions) int {
	b, _ := json.Marshal(saveBody(formID, []json.RawMessage{}, o))
	return len(b)
}

// ModelSize is what one document adds to a BatchSave request body as the
// client encodes it (compacted, HTML characters escaped), not counting the
// comma before a document other than the first. A request of documents
// m1..mn is BatchSaveOverhead + sum(ModelSize(mi)) + n-1 bytes.
func ModelSize(m json.RawMessage) int {
	b, err := json.Marshal(m)
	if err != nil {
		return len(m)
	}
	return len(b)
}

func (c *Client) save(ctx context.Context, method, formID string, model any, o SaveOptions) (*SaveResult, error) {
	b, err := c.call(ctx, method, saveBody(formID, model, o), false)
	if err != nil {
		return nil, err
	}
	st, env, ok := statusOf(b)
	if !ok {
		return nil, &vendor.Error{Vendor: vendorName, Interface: method, Msg: "answer without Result.ResponseStatus: " + vendor.Snippet(b), Kind: vendor.Transient}
	}
	res := &SaveResult{Status: *st, ID: env.Result.ID, Number: env.Result.Number}
	if len(env.Result.NeedReturnData) > 0 {
		_ = json.Unmarshal(env.Result.NeedReturnData, &res.NeedReturnData)
	}
	return res, nil
}

// Query is the data of ExecuteBillQuery.
type Query struct {
	FormID       string `json:"FormId"`
	FieldKeys    string `json:"FieldKeys"`
	FilterString string `json:"FilterString"`
	OrderString  string `json:"OrderString"`
	TopRowCount  int    `json:"TopRowCount"`
	StartRow     int    `json:"StartRow"`
	Limit        int    `json:"Limit"`
}

// ExecuteBillQuery runs one query page and returns its rows, values in
// FieldKeys order (numbers as json.Number, so ids stay exact).
func (c *Client) ExecuteBillQuery(ctx context.Context, q Query) ([][]any, error) {
	const method = "ExecuteBillQuery"
	b, err := c.call(ctx, method, map[string]any{"data": q}, true)
	if err != nil {
		return nil, err
	}
	if st, _, ok := statusOf(b); ok {
		if st.IsSuccess {
			return nil, nil
		}
		return nil, statusError(method, st)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var rows [][]any
	if err := dec.Decode(&rows); err != nil {
		return nil, &vendor.Error{Vendor: vendorName, Interface: method, Msg: "answer is not an array of rows: " + vendor.Snippet(b), Kind: vendor.Transient}
	}
	return rows, nil
}

// QueryAll pages a query with Limit PageLimit until a short page.
func (c *Client) QueryAll(ctx context.Context, q Query) ([][]any, error) {
	q.Limit, q.StartRow = PageLimit, 0
	var all [][]any
	for {
		rows, err := c.ExecuteBillQuery(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
		if len(rows) < PageLimit {
			return all, nil
		}
		q.StartRow += len(rows)
	}
}

// EscapeFilterValue escapes a value for a quoted FilterString literal
// (” doubles a quote).
func EscapeFilterValue(s string) string { return strings.ReplaceAll(s, "'", "''") }

// InFilter builds "field IN ('a','b')" with every value escaped.
func InFilter(field string, values []string) string {
	var b strings.Builder
	b.WriteString(field)
	b.WriteString(" IN (")
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\'')
		b.WriteString(EscapeFilterValue(v))
		b.WriteByte('\'')
	}
	b.WriteByte(')')
	return b.String()
}

// ViewRequest names one document by Number or Id.
type ViewRequest struct {
	CreateOrgID int    `json:"CreateOrgId"`
	Number      string `json:"Number"`
	ID          string `json:"Id"`
	IsSortBySeq string `json:"IsSortBySeq"`
}

// View returns the full document. A document that does not exist is a
// Permanent vendor.Error with the server's MsgCode.
func (c *Client) View(ctx context.Context, formID string, r ViewRequest) (json.RawMessage, error) {
	const method = "View"
	if r.IsSortBySeq == "" {
		r.IsSortBySeq = "false"
	}
	b, err := c.call(ctx, method, formBody{FormID: formID, Data: r}, true)
	if err != nil {
		return nil, err
	}
	st, env, ok := statusOf(b)
	if !ok {
		if doc, found := viewDocument(b); found {
			return doc, nil // "ResponseStatus": null beside the document
		}
		return nil, &vendor.Error{Vendor: vendorName, Interface: method, Msg: "answer without Result.ResponseStatus: " + vendor.Snippet(b), Kind: vendor.Transient}
	}
	if !st.IsSuccess {
		return nil, statusError(method, st)
	}
	return env.Result.Result, nil
}

// Submit moves saved documents to submitted; the answer's status carries
// per-document outcomes. Like every write, an error leaves the outcome
// unknown: read FDocumentStatus before submitting again.
func (c *Client) Submit(ctx context.Context, formID string, numbers []string) (*ResponseStatus, error) {
	return c.transition(ctx, "Submit", formID, numbers)
}

// Audit moves submitted documents to audited (see Submit).
func (c *Client) Audit(ctx context.Context, formID string, numbers []string) (*ResponseStatus, error) {
	return c.transition(ctx, "Audit", formID, numbers)
}

func (c *Client) transition(ctx context.Context, method, formID string, numbers []string) (*ResponseStatus, error) {
	data := map[string]any{"CreateOrgId": 0, "Numbers": numbers, "Ids": "", "NetworkCtrl": "", "IgnoreInterationFlag": ""}
	b, err := c.call(ctx, method, formBody{FormID: formID, Data: data}, false)
	if err != nil {
		return nil, err
	}
	st, _, ok := statusOf(b)
	if !ok {
		return nil, &vendor.Error{Vendor: vendorName, Interface: method, Msg: "answer without Result.ResponseStatus: " + vendor.Snippet(b), Kind: vendor.Transient}
	}
	return st, nil
}
