package jushuitan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/internal/vendor"
)

// DefaultBaseURL is the production openweb host (contract section 1).
const DefaultBaseURL = "https://openapi.jushuitan.com"

// Interfaces whose answer shape the client knows (contract 5.2, 5.3).
const (
	APIOtherInout = "/open/other/inout/query"
	APISkusn      = "/open/webapi/wmsapi/skusn/queryinoutitemskusns"
)

// ErrNoRefreshToken is wrapped by the error of a call refused for an
// expired access token when no refresh token is configured: only a new
// authorization helps, so the input stops.
var ErrNoRefreshToken = errors.New("access_token expired and no refresh_token is configured: re-authorize the app and set refresh_token (JST_REFRESH_TOKEN in the shipped configs)")

// pathRefreshToken is the token endpoint of self-built apps (contract 5.1).
const pathRefreshToken = "/openWeb/auth/refreshToken"

// Page sizes (contract section 6). The vendor default of other/inout is 30;
// 50, its maximum, halves the calls against the shared 100/min budget.
// Unknown interfaces get 50 by default and may ask for up to 100, the
// largest page other openweb list interfaces are commonly seen to accept
// [I]; the vendor rejects more with a parameter error.
const (
	inoutPageSize   = 50
	skusnPageSize   = 1000
	genericPageSize = 50
	genericMaxPage  = 100
)

// DefaultMaxAnswer bounds an answer body: 1000 skusn rows are a few
// hundred kilobytes, so this is far above any real page and only stops a
// runaway. Inputs set ClientConfig.MaxAnswerBytes from max_answer_bytes.
const DefaultMaxAnswer = 64 << 20

// ClientConfig configures a Client. Credential names follow the vendor's.
type ClientConfig struct {
	// BaseURL is the openweb host; "" means DefaultBaseURL.
	BaseURL string
	// AppKey and AppSecret identify the developer app.
	AppKey    string
	AppSecret string
	// AccessToken and RefreshToken are the merchant's token pair.
	// RefreshToken may be empty: the client then runs on AccessToken until
	// the vendor answers code 100, which it reports as Permanent, wrapping
	// ErrNoRefreshToken.
	AccessToken  string
	RefreshToken string
	// Provider marks a service-provider (服务商) app: since 2023-08-15 it may
	// not refresh tokens, so an expired token needs the merchant to
	// re-authorize and the client reports it as Permanent.
	Provider bool
	// OnTokens, when set, is called after every successful refresh with the
	// new pair, before the client uses it, so the caller can persist it: the
	// refresh token is single-use, and a restart with the old pair would
	// leave the merchant needing re-authorization.
	OnTokens func(accessToken, refreshToken string, expiresIn time.Duration)
	// HTTPClient sends the calls; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Observe, when set, is told of every call the client makes, token
	// renewals and internal retries included.
	Observe vendor.Observer
	// FilterField is the document field the window's bounds filter on;
	// FetchPage sets vendor.Document.Filter from it. "" means
	// DefaultFilterField of the interface.
	FilterField string
	// MaxAnswerBytes bounds one answer body; 0 means DefaultMaxAnswer.
	MaxAnswerBytes int64
	// Interface describes the interface the input reads (the catalogue's
	// entry with the user's settings). nil: each call looks its api up in
	// the catalogue; an interface it lacks then has no id fields, and its
	// documents are refused unless the caller computes ids itself.
	Interface *catalogue.Entry
}

// Client calls the Jushuitan openweb API for one app and one merchant. It
// is safe for concurrent use; concurrent callers share one token refresh.
type Client struct {
	base     string
	appKey   string
	secret   string
	provider bool
	onTokens func(accessToken, refreshToken string, expiresIn time.Duration)
	observe  vendor.Observer
	hc       *http.Client
	now      func() time.Time // the timestamp clock; tests replace it
	filter   string
	maxBody  int64
	iface    *catalogue.Entry

	mu      sync.Mutex // guards access, refresh, flight
	access  string
	refresh string
	flight  *refreshFlight
}

// refreshFlight is one token refresh in progress; callers that hit code
// 100 meanwhile wait for it instead of spending the single-use refresh
// token a second time.
type refreshFlight struct {
	done chan struct{}
	err  error
	// abandoned is set when the refreshing caller's ctx ended: waiters with
	// a live ctx then start a refresh of their own instead of failing.
	abandoned bool
}

// NewClient checks the configuration and returns a client. A missing
// credential is an error naming the field.
func NewClient(cfg ClientConfig) (*Client, error) {
	// refresh_token is optional: without it the client runs on the access
	// token until the vendor says it expired (see call).
	required := []struct{ name, value string }{
		{"app_key", cfg.AppKey}, {"app_secret", cfg.AppSecret}, {"access_token", cfg.AccessToken},
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			return nil, fmt.Errorf("%s: %s is required (a credential of the app)", vendorName, f.name)
		}
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: base_url %q is not an http(s) URL such as %s", vendorName, cfg.BaseURL, DefaultBaseURL)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	maxBody := cfg.MaxAnswerBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxAnswer
	}
	return &Client{
		base: base, appKey: cfg.AppKey, secret: cfg.AppSecret, provider: cfg.Provider,
		onTokens: cfg.OnTokens, observe: cfg.Observe, hc: hc, now: time.Now,
		access: cfg.AccessToken, refresh: cfg.RefreshToken,
		filter: strings.TrimSpace(cfg.FilterField), maxBody: maxBody, iface: cfg.Interface,
	}, nil
}

// ReportsCalls tells the poll engine that this client reports every call
// to its Observe hook itself (it makes calls of its own: token renewals,
// retries after code 100 and 140).
func (c *Client) ReportsCalls() bool { return c.observe != nil }

// Tokens returns the token pair in force (it changes after a refresh).
func (c *Client) Tokens() (access, refresh string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.access, c.refresh
}

// entryFor is the description of api: the configured one when it names
// api, else the catalogue's, else the vendor's defaults (without id fields).
func entryFor(configured *catalogue.Entry, api string) catalogue.Entry {
	if configured != nil && catalogue.Normalize(vendorName, configured.Interface) == catalogue.Normalize(vendorName, api) {
		return *configured
	}
	if e, ok := catalogue.Lookup(vendorName, api); ok {
		return e
	}
	e := catalogue.Defaults(vendorName)
	e.Interface = api
	return e
}

// DefaultPageSize is the page size used when FetchPage gets 0: the
// catalogue's (its maximum for most interfaces, to spend fewer calls).
func DefaultPageSize(api string) int { return entryFor(nil, api).Paging.DefaultSize }

// MaxPageSize is the largest page size the interface accepts.
func MaxPageSize(api string) int { return entryFor(nil, api).Paging.MaxSize }

// FetchPage reads one page of interface api (a path such as
// "/open/other/inout/query"). params are the business parameters; the
// client adds page_index (page+1: the vendor counts from 1) and page_size,
// overriding any the caller set, and drops nil values, which the vendor
// wants omitted rather than null. time.Time values are sent as China-time
// "yyyy-MM-dd HH:mm:ss". pageSize 0 means DefaultPageSize(api).
//
// Code 100 (token expired) is handled inside: a self-built app refreshes
// the token once and retries the call once. Code 140 (clock skew) is
// retried once with a fresh timestamp. Every other failure is returned as
// a *vendor.Error, or as the wrapped ctx error when ctx ended.
func (c *Client) FetchPage(ctx context.Context, api string, params map[string]any, page, pageSize int) (vendor.Page, error) {
	api = normalizeAPI(api)
	entry := entryFor(c.iface, api)
	if page < 0 {
		return vendor.Page{}, permanent(api, "page %d is negative", page)
	}
	if pageSize == 0 {
		pageSize = entry.Paging.DefaultSize
	}
	if pageSize < 0 || pageSize > entry.Paging.MaxSize {
		return vendor.Page{}, permanent(api, "page_size %d is outside 1..%d", pageSize, entry.Paging.MaxSize)
	}
	biz, err := buildBiz(params, entry.Paging, page+entry.Paging.FirstPage, pageSize)
	if err != nil {
		return vendor.Page{}, permanent(api, "params cannot be sent as biz JSON: %v", err)
	}
	data, err := c.call(ctx, api, biz)
	if err != nil {
		return vendor.Page{}, err
	}
	spec := fieldsOf(entry, c.iface != nil && entry.Interface == c.iface.Interface)
	if c.filter != "" {
		spec.filter = c.filter
	}
	return parsePage(api, spec, data, pageSize)
}

// call runs one business call and returns the answer's data, recovering
// from an expired token when the app may refresh.
func (c *Client) call(ctx context.Context, api, biz string) (json.RawMessage, error) {
	ans, used, err := c.send(ctx, api, func(ts string) map[string]string {
		return c.bizFields(ts, biz)
	})
	if err != nil {
		return nil, err
	}
	if ans.code == codeToken {
		if c.provider {
			e := c.codeError(api, ans.code, ans.codeText, ans.msg, used)
			e.Kind = vendor.Permanent
			e.Msg = joinMsg(e.Msg, "service-provider apps cannot refresh tokens: re-authorization by the merchant is required")
			return nil, e
		}
		c.mu.Lock()
		noRefresh := strings.TrimSpace(c.refresh) == ""
		c.mu.Unlock()
		if noRefresh {
			e := c.codeError(api, ans.code, ans.codeText, ans.msg, used)
			e.Kind = vendor.Permanent
			e.Msg = joinMsg(e.Msg, ErrNoRefreshToken.Error())
			e.Err = ErrNoRefreshToken
			return nil, e
		}
		if err := c.refreshOnce(ctx, api, used); err != nil {
			return nil, err
		}
		// Retry once with the new token; a second 100 means refreshing did
		// not help, which only the operator can fix.
		ans, used, err = c.send(ctx, api, func(ts string) map[string]string {
			return c.bizFields(ts, biz)
		})
		if err != nil {
			return nil, err
		}
	}
	if ans.code == codeToken {
		e := c.codeError(api, ans.code, ans.codeText, ans.msg, used)
		e.Msg = joinMsg(e.Msg, "access_token still rejected after refreshing it: check the merchant's authorization")
		return nil, e
	}
	if ans.code != codeOK {
		return nil, c.codeError(api, ans.code, ans.codeText, ans.msg, used)
	}
	return ans.data, nil
}

// bizFields are the system fields of a business call (contract 2) with the
// token in force now.
func (c *Client) bizFields(ts, biz string) map[string]string {
	access, _ := c.Tokens()
	return map[string]string{
		"app_key": c.appKey, "access_token": access, "timestamp": ts,
		"charset": "utf-8", "version": "2", "biz": biz,
	}
}

// answer is a decoded envelope.
type answer struct {
	code     int64
	codeText string
	msg      string
	data     json.RawMessage
}

// send posts the fields build returns for a timestamp, signed, and decodes
// the envelope. Code 140 (timestamp out of tolerance) is answered by
// rebuilding with a fresh timestamp once: a request that waited in a queue
// or a retry loop may simply have gone stale. used is the access token the
// last attempt carried ("" for token calls).
func (c *Client) send(ctx context.Context, api string, build func(ts string) map[string]string) (ans answer, used string, err error) {
	for attempt := 0; ; attempt++ {
		fields := build(strconv.FormatInt(c.now().Unix(), 10))
		used = fields["access_token"]
		ans, err = c.post(ctx, api, fields)
		if err != nil || ans.code != codeTimestamp || attempt == 1 {
			return ans, used, err
		}
	}
}

// post sends one call and reports it to the observer.
func (c *Client) post(ctx context.Context, api string, fields map[string]string) (answer, error) {
	ans, err := c.postOnce(ctx, api, fields)
	if c.observe != nil && ctx.Err() == nil {
		code := ans.codeText
		if err != nil {
			code = vendor.TransportCode(err)
		}
		c.observe(api, code)
	}
	return ans, err
}

// postOnce signs fields, sends them as a form and decodes the envelope. The
// signature covers exactly the values posted.
func (c *Client) postOnce(ctx context.Context, api string, fields map[string]string) (answer, error) {
	sign := Sign(fields, c.secret)
	form := make(url.Values, len(fields)+1)
	for k, v := range fields {
		form.Set(k, v)
	}
	form.Set("sign", sign)
	// The token of this call may be superseded by a concurrent refresh
	// before an error is built, so it is redacted explicitly.
	redact := []string{sign, fields["access_token"], fields["refresh_token"]}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+api, strings.NewReader(form.Encode()))
	if err != nil {
		return answer{}, permanent(api, "cannot build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, c.transportError(ctx, api, "request failed", err, redact...)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return answer{}, c.transportError(ctx, api, "reading answer failed", err, redact...)
	}
	if int64(len(body)) > c.maxBody {
		// Downloading it again would give the same: stop and say what to change.
		return answer{}, permanent(api, "answer is over the %d-byte limit (max_answer_bytes); lower page_size or raise max_answer_bytes", c.maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answer{}, c.httpError(api, resp.StatusCode, body, redact...)
	}
	return c.decodeEnvelope(api, body, redact...)
}

// decodeEnvelope reads {"code","msg","data"}. success is code == 0; the
// legacy "issuccess" flag some answers carry is ignored. code and msg are
// read leniently (a numeric string code, a non-string msg).
func (c *Client) decodeEnvelope(api string, body []byte, redact ...string) (answer, error) {
	var env struct {
		Code    json.RawMessage `json:"code"`
		Msg     json.RawMessage `json:"msg"`
		Message json.RawMessage `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return answer{}, c.badAnswer(api, "answer is not JSON", body, redact...)
	}
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return answer{}, c.badAnswer(api, "answer is truncated or malformed JSON", body, redact...)
	}
	text, ok := scalarText(env.Code)
	if !ok {
		return answer{}, c.badAnswer(api, "answer carries no code", body, redact...)
	}
	code, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return answer{}, c.badAnswer(api, "answer code is not a number", body, redact...)
	}
	msg, _ := scalarText(env.Msg)
	if msg == "" {
		msg, _ = scalarText(env.Message)
	}
	return answer{code: code, codeText: text, msg: msg, data: env.Data}, nil
}

// refreshOnce makes sure the token that got code 100 (used) is replaced,
// running at most one refresh at a time: the refresh token is single-use,
// so a second concurrent refresh would fail and could strand the merchant.
func (c *Client) refreshOnce(ctx context.Context, api, used string) error {
	for {
		c.mu.Lock()
		if c.access != used {
			// Someone refreshed after this call was sent; just retry.
			c.mu.Unlock()
			return nil
		}
		if f := c.flight; f != nil {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return fmt.Errorf("%s: %s: waiting for token refresh: %w", vendorName, api, ctx.Err())
			}
			if f.abandoned && ctx.Err() == nil {
				continue // the refreshing caller gave up; take over
			}
			if f.err != nil {
				return f.err
			}
			continue // re-check: the token has changed
		}
		f := &refreshFlight{done: make(chan struct{})}
		c.flight = f
		refresh := c.refresh
		c.mu.Unlock()

		err := c.doRefresh(ctx, api, refresh)
		c.mu.Lock()
		c.flight = nil
		c.mu.Unlock()
		f.err, f.abandoned = err, err != nil && ctx.Err() != nil
		close(f.done)
		return err
	}
}

// doRefresh calls refreshToken (contract 3.2, 5.1), installs the new pair
// and hands it to OnTokens. api is the interface that needed it, for the
// error message.
func (c *Client) doRefresh(ctx context.Context, api, refresh string) error {
	ans, _, err := c.send(ctx, pathRefreshToken, func(ts string) map[string]string {
		return map[string]string{
			"app_key": c.appKey, "charset": "utf-8", "grant_type": "refresh_token",
			"refresh_token": refresh, "scope": "all", "timestamp": ts,
		}
	})
	if err != nil {
		var ve *vendor.Error
		if errors.As(err, &ve) {
			ve.Msg = joinMsg(ve.Msg, "while refreshing the access token for "+api)
		}
		return err
	}
	if ans.code != codeOK {
		// 100 here means the refresh token itself is invalid or used up:
		// Expired, as only new credentials help; 150 and the rest keep the
		// classification of their code.
		e := c.codeError(pathRefreshToken, ans.code, ans.codeText, ans.msg, refresh)
		hint := "token refresh for " + api + " failed"
		if ans.code == codeToken {
			hint += ": refresh_token invalid or expired, the app must be authorized again"
		}
		e.Msg = c.redact(joinMsg(e.Msg, hint), refresh)
		return e
	}
	var tok struct {
		AccessToken  string      `json:"access_token"`
		RefreshToken string      `json:"refresh_token"`
		ExpiresIn    json.Number `json:"expires_in"`
	}
	if err := json.Unmarshal(ans.data, &tok); err != nil || tok.AccessToken == "" {
		return &vendor.Error{
			Vendor: vendorName, Interface: pathRefreshToken, Kind: vendor.Transient,
			Msg: "token refresh answer carries no access_token",
		}
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refresh
	}
	secs, _ := tok.ExpiresIn.Float64()
	expiresIn := time.Duration(secs * float64(time.Second))
	c.mu.Lock()
	c.access, c.refresh = tok.AccessToken, tok.RefreshToken
	c.mu.Unlock()
	if c.onTokens != nil {
		c.onTokens(tok.AccessToken, tok.RefreshToken, expiresIn)
	}
	return nil
}

// normalizeAPI accepts "open/other/inout/query" as well as the path with
// its leading slash, so the base URL joins cleanly.
func normalizeAPI(api string) string {
	api = strings.TrimSpace(api)
	if !strings.HasPrefix(api, "/") {
		api = "/" + api
	}
	return api
}

// buildBiz serializes the business parameters once; the same text is
// signed and posted (re-serializing after signing gives code 10). HTML
// escaping is off so the text stays what a reader expects; non-ASCII (the
// Chinese `types` literals) is sent as UTF-8, as the platform signs it.
func buildBiz(params map[string]any, paging catalogue.Paging, pageIndex, pageSize int) (string, error) {
	m := make(map[string]any, len(params)+2)
	for k, v := range params {
		if v, keep := cleanValue(v); keep {
			m[k] = v
		}
	}
	m[paging.Page] = pageIndex
	m[paging.Size] = pageSize
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// cleanValue drops nulls (the vendor wants unset fields omitted) and
// renders times as the vendor's China-time layout: a UTC time sent as
// RFC 3339 would be rejected, and one converted without +8 h would shift
// the window by eight hours.
func cleanValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case json.RawMessage:
		if string(bytes.TrimSpace(x)) == "null" {
			return nil, false
		}
		return x, true
	case time.Time:
		return x.In(shanghai).Format(vendorTimeLayout), true
	case *time.Time:
		if x == nil {
			return nil, false
		}
		return x.In(shanghai).Format(vendorTimeLayout), true
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e, keep := cleanValue(e); keep {
				out[k] = e
			}
		}
		return out, true
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e, keep := cleanValue(e); keep {
				out = append(out, e)
			}
		}
		return out, true
	}
	return v, true
}

// vendorTimeLayout is the vendor's datetime layout; answers may add
// milliseconds, which time.Parse accepts without a layout change.
const vendorTimeLayout = "2006-01-02 15:04:05"

// shanghai is the zone of every vendor datetime; the fixed +08:00 fallback
// covers hosts without tzdata (China has no DST, so it is exact).
var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// docFields says how to read one interface's documents.
type docFields struct {
	id       func(api string, f map[string]json.RawMessage) (string, error)
	modified []string // first present, non-empty field wins
	// filter is the field the window's bounds filter on.
	filter string
	// list is where data holds the documents ("": data is the array).
	list string
	// pageObject: data is always a page object (the list, has_next,
	// counts), never null, so a null data or list is a broken answer, not
	// an empty one.
	pageObject bool
}

// fieldsOf reads an interface's description. An entry without id fields
// leaves ids to the engine when configured so (interface.document_id);
// otherwise (an interface the catalogue lacks, nothing configured) every
// document is refused with the message saying what to set.
func fieldsOf(e catalogue.Entry, configured bool) docFields {
	d := docFields{modified: e.Modified, list: e.List, pageObject: e.List != ""}
	if e.Window != nil {
		d.filter = e.Window.Filter
	} else if len(e.Modified) > 0 {
		d.filter = e.Modified[0]
	}
	switch len(e.ID) {
	case 0:
		if configured {
			d.id = func(string, map[string]json.RawMessage) (string, error) { return "", nil }
			break
		}
		d.id = func(api string, _ map[string]json.RawMessage) (string, error) {
			return "", &vendor.Error{Vendor: vendorName, Interface: api, Kind: vendor.Permanent, Msg: catalogue.UnknownHint(vendorName)}
		}
	case 1:
		d.id = firstID(e.ID[0])
	default:
		d.id = joinedID(e.ID)
	}
	return d
}

// StableFilter tells whether filter, the window's filter field of api,
// never changes once a document exists (a creation time, as the
// catalogue marks the unique-code flows' create_time). A document then
// never leaves a window while it is read.
func StableFilter(api, filter string) bool {
	e := entryFor(nil, normalizeAPI(api))
	return e.Window != nil && e.Window.Stable && e.Window.Filter == filter
}

// DefaultFilterField is the field the window of api filters on when the
// input names none (window.filter_field), from the catalogue: modified for
// other in/out bills and unknown interfaces, create_time for unique-code
// flows.
func DefaultFilterField(api string) string {
	return fieldsOf(entryFor(nil, normalizeAPI(api)), false).filter
}

// firstID takes the id from the first of names present.
func firstID(names ...string) func(string, map[string]json.RawMessage) (string, error) {
	return func(api string, f map[string]json.RawMessage) (string, error) {
		for _, n := range names {
			if s, ok := scalarText(f[n]); ok && s != "" {
				return s, nil
			}
		}
		return "", permanent(api, "document has none of the id fields %s", strings.Join(names, ", "))
	}
}

// joinedID is the id of documents identified by several fields, e.g. an
// in/out bill and a unique code: their values joined by ":".
func joinedID(names []string) func(string, map[string]json.RawMessage) (string, error) {
	return func(api string, f map[string]json.RawMessage) (string, error) {
		parts := make([]string, len(names))
		for i, n := range names {
			s, ok := scalarText(f[n])
			if !ok || s == "" {
				return "", permanent(api, "document lacks %s (its id is %s)", n, strings.Join(names, " + "))
			}
			parts[i] = s
		}
		return strings.Join(parts, ":"), nil
	}
}

// listKeys are where a page object may hold its documents: "datas" is the
// openweb page object (other/inout); the rest are seen in other answers.
var listKeys = []string{"datas", "list", "items", "rows", "records", "data"}

// parsePage turns data into a page. data is either a page object (with
// datas, has_next, page_count, data_count) or a bare array (skusn), for
// any interface.
//
// What the answer promises is checked against itself, choosing, where
// the signals disagree, the reading that cannot lose documents: a null
// data or list where the interface always answers a page object is a
// transient error (the call is repeated, never taken as an empty
// window); more pages follow when has_next or page_index < page_count
// says so; Total is data_count, and Size the page_size the answer reports
// it applied. The poll engine checks the pages of a read against each
// other (totals, repeats, short pages).
func parsePage(api string, spec docFields, data json.RawMessage, pageSize int) (vendor.Page, error) {
	out := vendor.Page{Total: -1, Size: pageSize, Docs: []vendor.Document{}, Code: "0"}
	raw := bytes.TrimSpace(data)
	if len(raw) == 0 || string(raw) == "null" {
		if spec.pageObject {
			return vendor.Page{}, inconsistent(api, "code 0 but data is %s: this interface always answers a page object", nullOrMissing(raw))
		}
		// A bare-array interface may answer null for "nothing": an empty
		// page without a count, which the engine confirms by asking again.
		return out, nil
	}
	var items []json.RawMessage
	var meta map[string]json.RawMessage
	switch raw[0] {
	case '[':
		if spec.pageObject {
			return vendor.Page{}, permanent(api, "data is an array where a page object (datas, has_next) is documented: %s", vendor.Snippet(raw))
		}
		if err := json.Unmarshal(raw, &items); err != nil {
			return vendor.Page{}, permanent(api, "data array is malformed: %v", err)
		}
	case '{':
		if err := json.Unmarshal(raw, &meta); err != nil {
			return vendor.Page{}, permanent(api, "data object is malformed: %v", err)
		}
		found, listNull := false, false
		keys := listKeys
		if spec.list != "" {
			keys = append([]string{spec.list}, listKeys...)
		}
		for _, k := range keys {
			v, ok := meta[k]
			if !ok {
				continue
			}
			found = true
			if t := bytes.TrimSpace(v); len(t) > 0 && string(t) != "null" {
				if err := json.Unmarshal(t, &items); err != nil {
					return vendor.Page{}, permanent(api, "data.%s is not an array: %s", k, vendor.Snippet(t))
				}
			} else {
				listNull = true
			}
			break
		}
		if !found && len(meta) > 0 && !hasAny(meta, "has_next", "page_count", "data_count") {
			return vendor.Page{}, permanent(api, "data carries no document list (looked for %s): %s",
				strings.Join(listKeys, ", "), vendor.Snippet(raw))
		}
		if n, ok := intField(meta, "data_count"); ok {
			out.Total = int(n)
		}
		if (!found || listNull) && out.Total > 0 {
			return vendor.Page{}, inconsistent(api, "code 0 with data_count %d but no datas list", out.Total)
		}
		if ps, ok := intField(meta, "page_size"); ok && ps > 0 {
			out.Size = int(ps)
		}
	default:
		return vendor.Page{}, permanent(api, "data is neither an object nor an array: %s", vendor.Snippet(raw))
	}

	for _, item := range items {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(item, &f); err != nil {
			return vendor.Page{}, permanent(api, "document is not an object: %s", vendor.Snippet(item))
		}
		id, err := spec.id(api, f)
		if err != nil {
			return vendor.Page{}, err
		}
		out.Docs = append(out.Docs, vendor.Document{ID: id, Modified: docTime(f, spec.modified), Filter: docTime(f, []string{spec.filter}), Raw: item})
	}

	out.More = len(items) == pageSize
	if meta != nil {
		// The vendor's own flags win over the page-length guess; where
		// has_next and page_count disagree, more pages are assumed (an
		// empty page costs a call, a skipped one loses documents). An
		// empty page ends the list whatever the flags say, so a miscounted
		// page_count cannot loop the engine: the engine's count check
		// catches an early end.
		hasNext, okNext := boolField(meta, "has_next")
		pc, okPC := intField(meta, "page_count")
		pi, okPI := intField(meta, "page_index")
		switch {
		case okNext && okPC && okPI:
			out.More = hasNext || pi < pc
		case okNext:
			out.More = hasNext
		case okPC && okPI:
			out.More = pi < pc
		case out.Total >= 0 && okPI:
			out.More = pi*int64(out.Size) < int64(out.Total)
		}
		if len(items) == 0 {
			out.More = false
		}
	}
	return out, nil
}

func nullOrMissing(raw []byte) string {
	if len(raw) == 0 {
		return "missing"
	}
	return "null"
}

func hasAny(m map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// docTime parses the first present datetime field as China time. A value
// that does not parse gives the zero time (the vendor's data, which no
// retry or operator action could fix, should not stop the sync).
func docTime(f map[string]json.RawMessage, names []string) time.Time {
	for _, n := range names {
		s, ok := scalarText(f[n])
		if !ok || s == "" {
			continue
		}
		for _, layout := range []string{vendorTimeLayout, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.ParseInLocation(layout, s, shanghai); err == nil {
				return t
			}
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.In(shanghai)
		}
		return time.Time{}
	}
	return time.Time{}
}

// scalarText reads a JSON string or number as text. Integral numbers keep
// their digits (no float64 round trip, so 19-digit ids stay exact).
func scalarText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	case '{', '[', 't', 'f':
		return "", false
	}
	text := string(raw)
	if _, err := strconv.ParseInt(text, 10, 64); err == nil {
		return text, true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return "", false
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10), true
	}
	return text, true
}

func intField(m map[string]json.RawMessage, k string) (int64, bool) {
	s, ok := scalarText(m[k])
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func boolField(m map[string]json.RawMessage, k string) (bool, bool) {
	switch string(bytes.TrimSpace(m[k])) {
	case "true", `"true"`:
		return true, true
	case "false", `"false"`:
		return false, true
	}
	return false, false
}
