package kis

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
)

const (
	// vendorName names the vendor in every vendor.Error.
	vendorName = "kis"

	// Paths of the koas flow (kis.md 3.1) [C KISTS].
	pathAccessToken  = "/koas/oauth2/access_token"
	pathGateway      = "/koas/user/get_service_gateway"
	pathRefreshLogin = "/koas/user/refresh_login_access_token"
	pathRefreshAuth  = "/koas/user/refresh_auth_data"

	// DefaultCreatePath is the 其他入库单 (other inbound) create interface (kis.md 5.1).
	DefaultCreatePath = "/koas/app007104/api/miscellaneousreceipt/create"

	// kisVer is the Kis-Ver header value [C].
	kisVer = "1.0"
	// refreshMargin: KISTS refreshes 600 s before *_expire_in [C]. Shorter
	// lifetimes get a quarter of their life as margin, so a credential that
	// lives less than the margin is not renewed before every call.
	refreshMargin = 600 * time.Second
	// relativeExpiry: an *_expire_in below 10^9 cannot be a Unix time of
	// this century, so it is read as seconds from now (kis.md pitfall 8) [I].
	relativeExpiry = 1_000_000_000
	// defaultTimeout bounds one HTTP request.
	defaultTimeout = 30 * time.Second
	// maxIdleConns is the idle connection pool per host of the default client.
	maxIdleConns = 16
	// maxAnswer bounds what is read of one answer; koas answers are small.
	maxAnswer = 4 << 20
)

// Config configures a Client. Names follow the koas flow (kis.md 3.1).
type Config struct {
	// BaseURL is the koas host, e.g. https://api.kingdee.com [I]; required.
	BaseURL string
	// ClientID and ClientSecret identify the developer app.
	ClientID, ClientSecret string
	// AuthCode is the authorization code the customer granted; it is
	// exchanged for the first access token and again whenever the refresh
	// tokens are gone.
	AuthCode string
	// AcctNumber (账套), PID and ICRMID identify the account and the
	// installation, sent to get_service_gateway.
	AcctNumber, PID, ICRMID string
	// State is the Kis-State header: a stable id of the calling machine. It
	// is signed and probably bound to the session (pitfall 3); "" derives one
	// from ClientID and AcctNumber, which is stable across hosts and restarts.
	State string
	// Timeout bounds one HTTP request; 0 means 30 s.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a client keeping up to 16
	// idle connections (the Timeout above applies per request through the
	// context).
	HTTPClient *http.Client
	// Now is the clock used for Kis-Timestamp and credential expiry; nil means time.Now.
	Now func() time.Time
	// Observe, when set, is told of every call: the path and the answer's
	// errcode ("0" success), or a transport code such as "http_502".
	Observe vendor.Observer
	// OnRenew, when set, is called after every successful credential renewal
	// (login flow, token refresh, auth_data refresh).
	OnRenew func()
}

// Created is the answer of a successful create call.
type Created struct {
	FID     int64
	FBillNo string
}

// Client speaks the koas protocol for one app, authorization and account:
// the token / session / gateway flow with refresh ahead of expiry, the
// KIS-Signature of user calls and the business create calls. It is safe for
// concurrent use; concurrent callers share one set of credentials and at
// most one of them renews it at a time.
type Client struct {
	base    string
	cfg     Config
	state   string
	timeout time.Duration
	hc      *http.Client
	now     func() time.Time

	renewing chan struct{} // one slot: single-flight renewal
	mu       sync.Mutex
	cur      *creds
}

// creds is one immutable set of credentials; renewal replaces it whole, so
// a caller holding one can tell whether it was replaced meanwhile.
type creds struct {
	accessToken   string
	tokenExp      expiry
	sessionID     string
	sessionExp    expiry
	sessionSecret string
	authData      string
	gwRouter      string
	refreshToken  string
	refreshExp    expiry
	// stale: the gateway refused these credentials on a business call.
	stale bool
}

// expiry is an absolute expiry and the margin by which to renew before it.
// The zero value means "unknown": renewed only when refused.
type expiry struct {
	at     time.Time
	margin time.Duration
}

func (e expiry) due(now time.Time) bool {
	return !e.at.IsZero() && !now.Before(e.at.Add(-e.margin))
}

func (e expiry) passed(now time.Time) bool {
	return !e.at.IsZero() && !now.Before(e.at)
}

func (c *creds) fresh(now time.Time) bool {
	return c != nil && !c.stale && !c.tokenExp.due(now) && !c.sessionExp.due(now) && !c.refreshExp.due(now)
}

// NewClient checks cfg and returns a client; nothing is sent until the
// first call. A missing setting is an error naming it.
func NewClient(cfg Config) (*Client, error) {
	// Messages name the kis output's config fields, which is what a user
	// can change (Go callers know the mapping: BaseURL is base_url, ...).
	for _, f := range []struct{ name, v string }{
		{"base_url", cfg.BaseURL}, {"client_id", cfg.ClientID}, {"client_secret", cfg.ClientSecret},
		{"auth_code", cfg.AuthCode}, {"acct_number", cfg.AcctNumber},
	} {
		if strings.TrimSpace(f.v) == "" {
			return nil, fmt.Errorf("kis: %s is required", f.name)
		}
	}
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("kis: base_url %q is not an http(s) URL without a query", cfg.BaseURL)
	}
	c := &Client{
		base:     strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/"),
		cfg:      cfg,
		state:    cfg.State,
		timeout:  cfg.Timeout,
		hc:       cfg.HTTPClient,
		now:      cfg.Now,
		renewing: make(chan struct{}, 1),
	}
	if !headerSafe(c.state) {
		return nil, fmt.Errorf("kis: state %q holds a control character; it is sent as the Kis-State header, so use printable text", cfg.State)
	}
	if c.state == "" {
		sum := sha256.Sum256([]byte(cfg.ClientID + "|" + cfg.AcctNumber))
		c.state = "erpsync-" + hex.EncodeToString(sum[:8])
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.hc == nil {
		// The default transport keeps 2 idle connections per host; parallel
		// writers would open and close one per call beyond that.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = maxIdleConns
		c.hc = &http.Client{Transport: t}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Signature is KIS-Signature (kis.md 3.2): lowercase hex SHA-256 of the
// plain concatenation state + session_id + trace_id + session_secret +
// timestamp, where state, trace_id and timestamp are the Kis-State,
// Kis-Traceid and Kis-Timestamp headers of the same request.
func Signature(state, sessionID, traceID, sessionSecret, timestamp string) string {
	sum := sha256.Sum256([]byte(state + sessionID + traceID + sessionSecret + timestamp))
	return hex.EncodeToString(sum[:])
}

// Login makes sure the client holds usable credentials, running the koas
// flow (or a refresh) if needed. Errors are *AuthError.
func (c *Client) Login(ctx context.Context) error {
	_, err := c.credentials(ctx)
	return err
}

// Create posts one bill to the create interface path (e.g.
// DefaultCreatePath) as {"Object": bill} and returns KIS's FID and FBillNo.
// bill is the {Head, Entry} JSON object, sent byte for byte.
//
// Errors are classified: a *vendor.Error whose Kind says what to do, with
// ErrDuplicate wrapped when the bill number already exists (the bill is
// written), or an *AuthError when the koas flow itself failed. An answer
// refused for credentials is renewed (refresh (a) then (b), else the full
// flow) and sent once more; that is safe because a refused call was not
// processed. A Transient error on this call means the outcome is unknown:
// the bill may have landed (see the output's re-send rule).
func (c *Client) Create(ctx context.Context, path string, bill json.RawMessage) (Created, error) {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
		return Created{}, &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Permanent,
			Msg: "interface must be a path such as " + DefaultCreatePath}
	}
	trimmed := bytes.TrimSpace(bill)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return Created{}, &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Permanent,
			Msg: "bill is not a JSON object {Head, Entry}"}
	}
	body := make([]byte, 0, len(trimmed)+11)
	body = append(append(append(body, `{"Object":`...), trimmed...), '}')
	billNo := billNumber(trimmed)

	for attempt := 0; ; attempt++ {
		cr, err := c.credentials(ctx)
		if err != nil {
			return Created{}, err
		}
		created, err := c.create(ctx, path, body, billNo, cr)
		var ve *vendor.Error
		if attempt == 0 && errors.As(err, &ve) && ve.Kind == vendor.Expired {
			c.invalidate(cr)
			continue
		}
		return created, err
	}
}

// billNumber reads Head.FBillNo for classifying a duplicate answer; "" if absent.
func billNumber(bill []byte) string {
	var b struct {
		Head struct {
			FBillNo json.RawMessage `json:"FBillNo"`
		} `json:"Head"`
	}
	if json.Unmarshal(bill, &b) != nil {
		return ""
	}
	return rawText(b.Head.FBillNo)
}

func (c *Client) create(ctx context.Context, path string, body []byte, billNo string, cr *creds) (Created, error) {
	q := url.Values{"access_token": {cr.accessToken}}
	h, _, _ := c.commonHeaders()
	h.Set("Kis-Authdata", cr.authData)
	h.Set("X-Gw-Router-Addr", cr.gwRouter)
	status, raw, err := c.post(ctx, path, q, h, body, " (outcome unknown: the bill may have landed)")
	if err != nil {
		return Created{}, err
	}
	env, err := c.envelope(path, status, raw)
	if err != nil {
		return Created{}, err
	}
	if env.code != "0" || !ok2xx(status) {
		kind, dup := classifyBusiness(status, env.desc, billNo)
		e := c.answerErr(path, status, kind, env.code, env.desc)
		if dup {
			e.Err = ErrDuplicate
		}
		return Created{}, e
	}
	var data struct {
		FID     json.RawMessage `json:"FID"`
		FBillNo json.RawMessage `json:"FBillNo"`
	}
	if len(env.data) > 0 && json.Unmarshal(env.data, &data) != nil {
		return Created{}, c.shapeErr(path, "data is not an object: "+vendor.Snippet(env.data))
	}
	out := Created{FBillNo: rawText(data.FBillNo)}
	if s := rawText(data.FID); s != "" {
		out.FID, _ = strconv.ParseInt(s, 10, 64)
	}
	if out.FBillNo == "" {
		out.FBillNo = billNo
	}
	return out, nil
}

// credentials returns usable credentials, renewing them first when they
// are missing, refused or due. Renewal is single-flight: concurrent callers
// wait for the one renewal in progress and then share its result.
func (c *Client) credentials(ctx context.Context) (*creds, error) {
	if cr := c.load(); cr.fresh(c.now()) {
		return cr, nil
	}
	select {
	case c.renewing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.renewing }()
	cr := c.load()
	if cr.fresh(c.now()) {
		return cr, nil // renewed by the caller we waited for
	}
	next, err := c.renew(ctx, cr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &AuthError{Err: err}
	}
	c.mu.Lock()
	c.cur = next
	c.mu.Unlock()
	if c.cfg.OnRenew != nil {
		c.cfg.OnRenew()
	}
	return next, nil
}

func (c *Client) load() *creds {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// invalidate marks cr refused, unless it was already replaced: N callers
// refused with the same credentials cause one renewal, not N.
func (c *Client) invalidate(cr *creds) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == cr {
		stale := *cr
		stale.stale = true
		c.cur = &stale
	}
}

// renew turns old into usable credentials: refresh (a) when the token or
// session is due, refresh (b) when the session or the refresh-auth-data
// token is due, both
// after a refusal (kis.md 4: "refresh (a, then b)"), and the full flow when
// there is nothing to refresh or a refresh is refused. Transient failures
// are returned as they are: the caller retries later.
func (c *Client) renew(ctx context.Context, old *creds) (*creds, error) {
	now := c.now()
	if old == nil || old.sessionExp.passed(now) || old.refreshExp.passed(now) {
		return c.fullFlow(ctx)
	}
	cr := old
	// auth_data carries no expiry of its own; it is the account session at
	// the gateway [I], so it is renewed with the session, not only after a
	// refusal.
	sessionDue := old.sessionExp.due(now)
	if old.stale || old.tokenExp.due(now) || sessionDue {
		next, err := c.refreshLogin(ctx, cr)
		if err != nil {
			if retryable(err) {
				return nil, err
			}
			return c.fullFlow(ctx)
		}
		cr = next
	}
	if old.stale || sessionDue || old.refreshExp.due(now) {
		next, err := c.refreshAuthData(ctx, cr)
		if err != nil {
			if retryable(err) {
				return nil, err
			}
			return c.fullFlow(ctx)
		}
		cr = next
	}
	return cr, nil
}

func retryable(err error) bool {
	var ve *vendor.Error
	if !errors.As(err, &ve) {
		return true // context errors
	}
	return ve.Kind == vendor.Transient || ve.Kind == vendor.RateLimited
}

// authAnswer is the data of every koas flow answer (kis.md 3.1).
type authAnswer struct {
	AccessToken         string          `json:"access_token"`
	AccessTokenExpireIn json.RawMessage `json:"access_token_expire_in"`
	SessionID           string          `json:"session_id"`
	SessionIDExpireIn   json.RawMessage `json:"session_id_expire_in"`
	SessionSecret       string          `json:"session_secret"`
	AuthData            string          `json:"auth_data"`
	GwRouterAddr        string          `json:"gw_router_addr"`
	ExtendData          struct {
		RefreshAuthDataToken         string          `json:"refresh_auth_data_token"`
		RefreshAuthDataTokenExpireIn json.RawMessage `json:"refresh_auth_data_token_expire_in"`
	} `json:"extend_data"`
}

// fullFlow is steps 1 and 4: code exchange, then the signed gateway call.
// Steps 2 and 3 (account lists) are optional and skipped.
func (c *Client) fullFlow(ctx context.Context) (*creds, error) {
	q := url.Values{"client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret}}
	h, _, _ := c.commonHeaders()
	body, _ := json.Marshal(map[string]string{"code": c.cfg.AuthCode})
	a, err := c.authCall(ctx, pathAccessToken, q, h, body)
	if err != nil {
		return nil, err
	}
	if a.AccessToken == "" || a.SessionID == "" || a.SessionSecret == "" {
		return nil, c.shapeErr(pathAccessToken, "answer lacks access_token, session_id or session_secret")
	}
	now := c.now()
	cr := &creds{
		accessToken: a.AccessToken, tokenExp: readExpiry(a.AccessTokenExpireIn, now),
		sessionID: a.SessionID, sessionExp: readExpiry(a.SessionIDExpireIn, now),
		sessionSecret: a.SessionSecret,
	}
	return c.gateway(ctx, cr)
}

// gateway is step 4: auth_data, the route and the refresh-auth-data token.
func (c *Client) gateway(ctx context.Context, cr *creds) (*creds, error) {
	body, _ := json.Marshal(map[string]string{
		"session_id": cr.sessionID, "acctnumber": c.cfg.AcctNumber, "pid": c.cfg.PID, "icrmid": c.cfg.ICRMID,
	})
	h, trace, ts := c.commonHeaders()
	h.Set("KIS-Signature", Signature(c.state, cr.sessionID, trace, cr.sessionSecret, ts))
	a, err := c.authCall(ctx, pathGateway, url.Values{"access_token": {cr.accessToken}}, h, body)
	if err != nil {
		return nil, err
	}
	if a.AuthData == "" || a.GwRouterAddr == "" {
		return nil, c.shapeErr(pathGateway, "answer lacks auth_data or gw_router_addr")
	}
	if !headerSafe(a.AuthData) || !headerSafe(a.GwRouterAddr) {
		return nil, c.shapeErr(pathGateway, "auth_data or gw_router_addr holds a control character and cannot be sent as a header")
	}
	next := *cr
	next.authData, next.gwRouter = a.AuthData, a.GwRouterAddr
	next.refreshToken = a.ExtendData.RefreshAuthDataToken
	next.refreshExp = readExpiry(a.ExtendData.RefreshAuthDataTokenExpireIn, c.now())
	return &next, nil
}

// refreshLogin is refresh (a): a new access token and session; the session
// secret stays (KISTS keeps the old one).
func (c *Client) refreshLogin(ctx context.Context, cr *creds) (*creds, error) {
	body, _ := json.Marshal(map[string]string{"session_id": cr.sessionID})
	h, _, _ := c.commonHeaders()
	a, err := c.authCall(ctx, pathRefreshLogin, url.Values{"access_token": {cr.accessToken}}, h, body)
	if err != nil {
		return nil, err
	}
	if a.AccessToken == "" {
		return nil, c.shapeErr(pathRefreshLogin, "answer lacks access_token")
	}
	now := c.now()
	next := *cr
	next.stale = false
	next.accessToken, next.tokenExp = a.AccessToken, readExpiry(a.AccessTokenExpireIn, now)
	if a.SessionID != "" {
		next.sessionID, next.sessionExp = a.SessionID, readExpiry(a.SessionIDExpireIn, now)
	}
	return &next, nil
}

// refreshAuthData is refresh (b): new auth_data, route, refresh token and
// access token, authenticated by the app credentials.
func (c *Client) refreshAuthData(ctx context.Context, cr *creds) (*creds, error) {
	if cr.refreshToken == "" {
		return c.fullFlow(ctx)
	}
	q := url.Values{"client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret}}
	body, _ := json.Marshal(map[string]string{"refresh_auth_data_token": cr.refreshToken, "access_token": cr.accessToken})
	h, _, _ := c.commonHeaders()
	a, err := c.authCall(ctx, pathRefreshAuth, q, h, body)
	if err != nil {
		return nil, err
	}
	if a.AuthData == "" {
		return nil, c.shapeErr(pathRefreshAuth, "answer lacks auth_data")
	}
	if !headerSafe(a.AuthData) || !headerSafe(a.GwRouterAddr) {
		return nil, c.shapeErr(pathRefreshAuth, "auth_data or gw_router_addr holds a control character and cannot be sent as a header")
	}
	now := c.now()
	next := *cr
	next.stale = false
	next.authData = a.AuthData
	if a.GwRouterAddr != "" {
		next.gwRouter = a.GwRouterAddr
	}
	if a.AccessToken != "" {
		next.accessToken, next.tokenExp = a.AccessToken, readExpiry(a.AccessTokenExpireIn, now)
	}
	if a.ExtendData.RefreshAuthDataToken != "" {
		next.refreshToken = a.ExtendData.RefreshAuthDataToken
		next.refreshExp = readExpiry(a.ExtendData.RefreshAuthDataTokenExpireIn, now)
	}
	return &next, nil
}

// authCall posts one koas flow call and decodes its data.
func (c *Client) authCall(ctx context.Context, path string, q url.Values, h http.Header, body []byte) (authAnswer, error) {
	var a authAnswer
	status, raw, err := c.post(ctx, path, q, h, body, "")
	if err != nil {
		return a, err
	}
	env, err := c.envelope(path, status, raw)
	if err != nil {
		return a, err
	}
	if env.code != "0" || !ok2xx(status) {
		return a, c.answerErr(path, status, classifyAuth(status, env.desc), env.code, env.desc)
	}
	if json.Unmarshal(env.data, &a) != nil {
		// Not echoed: the data of a koas flow answer is credentials.
		return a, c.shapeErr(path, "data is not an object")
	}
	return a, nil
}

// readExpiry reads an *_expire_in value: absolute Unix seconds as KISTS
// reads them, or seconds from now when below 10^9 (pitfall 8).
func readExpiry(raw json.RawMessage, now time.Time) expiry {
	n, err := strconv.ParseInt(rawText(raw), 10, 64)
	if err != nil || n <= 0 {
		return expiry{}
	}
	at := time.Unix(n, 0)
	if n < relativeExpiry {
		at = now.Add(time.Duration(n) * time.Second)
	}
	margin := refreshMargin
	if life := at.Sub(now); life/4 < margin {
		margin = max(life/4, 0)
	}
	return expiry{at: at, margin: margin}
}

// commonHeaders are the headers of every koas call (kis.md 2); it returns
// the trace id and timestamp a signature covers.
func (c *Client) commonHeaders() (http.Header, string, string) {
	trace := uuid4()
	ts := strconv.FormatInt(c.now().Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("Kis-State", c.state)
	h.Set("Kis-Timestamp", ts)
	h.Set("Kis-Traceid", trace)
	h.Set("Kis-Ver", kisVer)
	return h, trace, ts
}

// headerSafe tells whether net/http will send s as a header value: a
// control character (other than tab) makes it refuse the request, which
// would surface as a transient failure of every call, retried forever.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// uuid4 returns a random RFC 4122 version 4 UUID.
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// post sends one request with its own timeout and reads the answer. The
// URL carries secrets (client_secret, access_token), so transport errors
// are reported without it. unknown is appended to a timeout's message.
// post sends one call and reports it to the observer.
func (c *Client) post(ctx context.Context, path string, q url.Values, h http.Header, body []byte, unknown string) (int, []byte, error) {
	status, raw, err := c.postOnce(ctx, path, q, h, body, unknown)
	if c.cfg.Observe != nil && ctx.Err() == nil {
		var code string
		switch m := reErrcode.FindSubmatch(raw); {
		case err != nil:
			code = vendor.TransportCode(err)
		case m != nil:
			code = string(m[1])
		default:
			code = fmt.Sprintf("http_%d", status)
		}
		c.cfg.Observe(path, code)
	}
	return status, raw, err
}

var reErrcode = regexp.MustCompile(`"errcode"\s*:\s*"?(-?\d+)`)

func (c *Client) postOnce(ctx context.Context, path string, q url.Values, h http.Header, body []byte, unknown string) (int, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.base+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Permanent, Msg: "cannot build request"}
	}
	req.Header = h
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, c.transportErr(ctx, rctx, path, err, unknown)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return 0, nil, c.transportErr(ctx, rctx, path, err, unknown)
	}
	if len(raw) > maxAnswer {
		return 0, nil, &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Permanent, Status: resp.StatusCode,
			Msg: fmt.Sprintf("answer larger than %d bytes", maxAnswer)}
	}
	return resp.StatusCode, raw, nil
}

func (c *Client) transportErr(ctx, rctx context.Context, path string, err error, unknown string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the URL with its secrets
	}
	msg := "request failed: " + c.scrub(err.Error())
	if rctx.Err() != nil {
		msg = fmt.Sprintf("no answer within %s (timeout)", c.timeout)
	}
	return &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Transient, Msg: msg + unknown, Err: scrubbedErr{c.scrub(err.Error())}}
}

// scrubbedErr keeps a transport error's text, minus secrets, for Unwrap.
type scrubbedErr struct{ s string }

func (e scrubbedErr) Error() string { return e.s }

// answer is a decoded envelope {"errcode","description","data"} (kis.md 4).
type answer struct {
	code, desc string
	data       json.RawMessage
}

func (c *Client) envelope(path string, status int, raw []byte) (answer, error) {
	var env struct {
		Errcode     json.RawMessage `json:"errcode"`
		Description json.RawMessage `json:"description"`
		Data        json.RawMessage `json:"data"`
	}
	if !json.Valid(raw) || json.Unmarshal(raw, &env) != nil || len(env.Errcode) == 0 {
		// HTML gateway pages, empty bodies, other JSON shapes.
		kind := vendor.Permanent
		switch {
		case status == http.StatusTooManyRequests:
			kind = vendor.RateLimited
		case transientStatus(status):
			kind = vendor.Transient
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			kind = vendor.Expired
		}
		return answer{}, c.answerErr(path, status, kind, "", "answer is not a koas envelope: "+vendor.Snippet(raw))
	}
	return answer{code: rawText(env.Errcode), desc: rawText(env.Description), data: env.Data}, nil
}

func ok2xx(status int) bool { return status >= 200 && status < 300 }

// answerErr is a failed answer; Status is kept only when HTTP itself failed.
// code and desc are the answer's own text, which need not be UTF-8 (an
// errcode may even be a whole JSON object): the code is shortened and both
// are made valid UTF-8 for logs and dead-letter metadata.
func (c *Client) answerErr(path string, status int, kind vendor.Kind, code, desc string) *vendor.Error {
	e := &vendor.Error{Vendor: vendorName, Interface: path, Kind: kind,
		Code: vendor.Snippet([]byte(c.scrub(code))), Msg: strings.ToValidUTF8(c.scrub(desc), "?")}
	if !ok2xx(status) {
		e.Status = status
	}
	if kind == vendor.RateLimited {
		e.RetryAfter = time.Second
	}
	return e
}

func (c *Client) shapeErr(path, msg string) error {
	return &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Permanent, Msg: "unexpected answer: " + msg}
}

// scrub removes every secret the client knows from text it echoes, in
// case a server or proxy reflects the request.
func (c *Client) scrub(s string) string {
	secrets := []string{c.cfg.ClientSecret, c.cfg.AuthCode}
	if cr := c.load(); cr != nil {
		secrets = append(secrets, cr.accessToken, cr.sessionSecret, cr.authData, cr.refreshToken)
	}
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[secret]")
		}
	}
	return s
}

// rawText renders a JSON scalar: a string's content, a number as written,
// "" for absent or null.
func rawText(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(t, &s); err == nil {
		return strings.TrimSpace(s)
	}
	return string(t)
}
