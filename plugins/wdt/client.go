package wdt

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
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/internal/vendor"
)

// Hosts.
const (
	// DefaultBaseURL is the production host of native openapi2 [C].
	DefaultBaseURL = "https://api.wangdian.cn"
	// DefaultQimenURL is the Qimen router of WDT (router prefix hu3cgwt0tc)
	// as documented [C]; it is plain http in every source. A BaseURL
	// replaces its host: the client then posts to BaseURL + "/router/qm",
	// or to BaseURL itself when it already ends in /router/qm or
	// /router/qmtest (Taobao's test gateway).
	DefaultQimenURL = "http://hu3cgwt0tc.api.taobao.com/router/qm"
)

// Protocols (ClientConfig.Protocol).
const (
	ProtocolOpenapi2 = "openapi2"
	ProtocolQimen    = "qimen"
)

const (
	// pageSizeLimit is WDT's documented page_size ceiling [C]; the client
	// also uses it as its default (the vendor's is 30) to spend fewer calls
	// of the rate limit on a full list.
	pageSizeLimit = 100

	openapi2Prefix = "/openapi2/"
	qimenPath      = "/router/qm"
	qimenTestPath  = "/router/qmtest"
	// qimenRouterPrefix is WDT's Qimen router prefix; the TOP SDK sends
	// "hu3cgwt0tc.wdt.shop.query", ITITO "wdt.shop.query".
	qimenRouterPrefix = "hu3cgwt0tc."

	// vendorTimeLayout is WDT's "yyyy-MM-dd HH:mm:ss" (China time).
	vendorTimeLayout = "2006-01-02 15:04:05"
	// DefaultMaxAnswer bounds an answer body; 100 rows are far below it.
	DefaultMaxAnswer = 64 << 20
)

// shanghai is the zone of every WDT wall-clock time (UTC+8, no DST); a fixed
// zone keeps the client working on hosts without tzdata.
var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}()

// ClientConfig configures a Client. The credentials of the chosen Protocol
// are required; the other protocol's are ignored.
type ClientConfig struct {
	// BaseURL is the vendor host. Empty: DefaultBaseURL (openapi2) or
	// DefaultQimenURL (qimen).
	BaseURL string
	// Protocol is "openapi2" (default) or "qimen".
	Protocol string

	// SID is the WDT seller account (卖家账号), sent as `sid` on both
	// protocols.
	SID string
	// AppKey and AppSecret are the openapi2 interface account (`appkey`)
	// and the secret of its signature.
	AppKey    string
	AppSecret string

	// QimenAppKey is the caller's Taobao/Qimen app key (`app_key`) and
	// QimenAppSecret its secret, which signs Qimen calls. TargetAppKey is
	// WDT's Qimen app key (`target_app_key`, from WDT's authorization mail).
	QimenAppKey    string
	QimenAppSecret string
	TargetAppKey   string

	// HTTPClient is the client used for calls; nil: a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// FilterField is the document field the window's bounds filter on;
	// FetchPage sets vendor.Document.Filter from it. "": modified.
	FilterField string
	// MaxAnswerBytes bounds one answer body; 0 means DefaultMaxAnswer.
	MaxAnswerBytes int64
	// Interface describes the interface the input reads (the catalogue's
	// entry with the user's settings). nil: each call looks its api up in
	// the catalogue; an interface it lacks then has no id field, and its
	// documents are refused unless the caller computes ids itself.
	Interface *catalogue.Entry
}

// DefaultFilterField is the field WDT's start_time/end_time windows filter
// on: the last modified time (增量获取：按照最后修改时间) [C] open.wangdian.cn
// trade_query.php and the other incremental interfaces.
const DefaultFilterField = "modified"

// Client calls WDT on one protocol. It is safe for concurrent use.
type Client struct {
	cfg      ClientConfig
	protocol string
	endpoint string // openapi2: the host without trailing slash; qimen: the router URL
	http     *http.Client
	now      func() time.Time // tests pin the clock
}

// NewClient checks cfg and builds a Client. A missing credential of the
// chosen protocol is an error naming the field.
func NewClient(cfg ClientConfig) (*Client, error) {
	protocol := strings.ToLower(strings.TrimSpace(cfg.Protocol))
	if protocol == "" {
		protocol = ProtocolOpenapi2
	}
	var required []struct{ name, value string }
	switch protocol {
	case ProtocolOpenapi2:
		required = []struct{ name, value string }{
			{"sid", cfg.SID}, {"appkey", cfg.AppKey}, {"appsecret", cfg.AppSecret},
		}
	case ProtocolQimen:
		required = []struct{ name, value string }{
			{"app_key", cfg.QimenAppKey}, {"app_secret", cfg.QimenAppSecret},
			{"target_app_key", cfg.TargetAppKey}, {"sid", cfg.SID},
		}
	default:
		return nil, fmt.Errorf("wdt: unknown protocol %q: use %q or %q", cfg.Protocol, ProtocolOpenapi2, ProtocolQimen)
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			return nil, fmt.Errorf("wdt: %s is required for protocol %s", f.name, protocol)
		}
	}
	endpoint, err := endpointFor(protocol, cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, protocol: protocol, endpoint: endpoint, http: hc, now: time.Now}, nil
}

func endpointFor(protocol, base string) (string, error) {
	base = strings.TrimRight(strings.TrimSpace(base), "/")
	if base == "" {
		if protocol == ProtocolQimen {
			return DefaultQimenURL, nil
		}
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("wdt: base_url %q is not an http(s) URL such as https://api.wangdian.cn", base)
	}
	if protocol == ProtocolQimen {
		if strings.HasSuffix(u.Path, qimenPath) || strings.HasSuffix(u.Path, qimenTestPath) {
			return base, nil
		}
		return base + qimenPath, nil
	}
	return base, nil
}

// Protocol reports the protocol in use ("openapi2" or "qimen").
func (c *Client) Protocol() string { return c.protocol }

func (c *Client) maxAnswer() int64 {
	if c.cfg.MaxAnswerBytes > 0 {
		return c.cfg.MaxAnswerBytes
	}
	return DefaultMaxAnswer
}

func (c *Client) filterField() string {
	if f := strings.TrimSpace(c.cfg.FilterField); f != "" {
		return f
	}
	return DefaultFilterField
}

// entryFor is the description of api: the configured one when it names
// api, else the catalogue's, else the vendor's defaults (without id field).
func entryFor(configured *catalogue.Entry, api string) (e catalogue.Entry, isConfigured bool) {
	key := catalogue.Normalize(Vendor, api)
	if configured != nil {
		for _, n := range configured.Names() {
			if catalogue.Normalize(Vendor, n) == key {
				return *configured, true
			}
		}
	}
	if e, ok := catalogue.Lookup(Vendor, api); ok {
		return e, false
	}
	e = catalogue.Defaults(Vendor)
	e.Interface = api
	return e, false
}

// DefaultPageSize is the page_size sent when the engine asks for 0: the
// catalogue's, WDT's maximum (100) for the list interfaces (fewer calls
// than the vendor's default).
func DefaultPageSize(api string) int { e, _ := entryFor(nil, api); return e.Paging.DefaultSize }

// MaxPageSize is the interface's page_size ceiling (100 for WDT's lists).
func MaxPageSize(api string) int { e, _ := entryFor(nil, api); return e.Paging.MaxSize }

// FetchPage reads page `page` (the engine's 0-based index, sent unchanged
// as WDT's page_no, which also starts at 0) of interface api: a php file
// name on openapi2 ("shop.php"), a method on Qimen ("wdt.shop.query").
// params are the business fields; the client adds page_no, page_size and
// the system fields, and refuses params that try to set them. Every failure
// is a *vendor.Error, except a cancelled ctx, which returns ctx.Err().
func (c *Client) FetchPage(ctx context.Context, api string, params map[string]any, page, pageSize int) (vendor.Page, error) {
	if err := ctx.Err(); err != nil {
		return vendor.Page{}, err
	}
	api = strings.TrimSpace(api)
	cl := &call{c: c, api: api}
	target, err := c.target(api)
	if err != nil {
		return vendor.Page{}, cl.fail(vendor.Permanent, "", err.Error())
	}
	entry, configured := entryFor(c.cfg.Interface, api)
	cl.entry, cl.configured = entry, configured
	if pageSize == 0 {
		pageSize = entry.Paging.DefaultSize
	}
	if limit := entry.Paging.MaxSize; pageSize < 1 || pageSize > limit {
		return vendor.Page{}, cl.fail(vendor.Permanent, "", fmt.Sprintf("page_size %d is outside 1-%d", pageSize, limit))
	}
	if page < 0 {
		return vendor.Page{}, cl.fail(vendor.Permanent, "", fmt.Sprintf("page %d is negative", page))
	}

	fields, err := c.sign(api, entry.Paging, params, page+entry.Paging.FirstPage, pageSize)
	if err != nil {
		return vendor.Page{}, cl.fail(vendor.Permanent, "", err.Error())
	}
	cl.sign = fields["sign"]
	body, err := cl.post(ctx, target, fields)
	if err != nil {
		return vendor.Page{}, err
	}
	var obj object
	if c.protocol == ProtocolQimen {
		obj, err = cl.unwrapQimen(body)
	} else {
		obj, err = cl.unwrapOpenapi2(body)
	}
	if err != nil {
		return vendor.Page{}, err
	}
	return cl.page(obj, page, pageSize)
}

// target checks api against the protocol and returns the URL to post to.
// Mixing the two up (a .php name on Qimen, a method on openapi2) is the
// likeliest configuration slip, so it is caught before any call.
func (c *Client) target(api string) (string, error) {
	if api == "" {
		return "", errors.New("api is empty")
	}
	if strings.ContainsAny(api, "?# ") {
		return "", fmt.Errorf("api %q is not an interface name", api)
	}
	if c.protocol == ProtocolQimen {
		if strings.HasSuffix(api, ".php") || strings.Contains(api, "/") {
			return "", fmt.Errorf("api %q is an openapi2 interface; Qimen takes a method such as wdt.shop.query", api)
		}
		return c.endpoint, nil
	}
	name := strings.TrimPrefix(strings.TrimPrefix(api, "/"), strings.TrimPrefix(openapi2Prefix, "/"))
	if !strings.HasSuffix(name, ".php") || strings.Contains(name, "/") {
		return "", fmt.Errorf("api %q is not an openapi2 interface; openapi2 takes a php file name such as shop.php", api)
	}
	return c.endpoint + openapi2Prefix + name, nil
}

// systemFields are the fields the client sets itself, per protocol.
var systemFields = map[string][]string{
	ProtocolOpenapi2: {"sid", "appkey", "timestamp", "sign", "page_no", "page_size"},
	ProtocolQimen: {"method", "app_key", "target_app_key", "timestamp", "format", "v",
		"sign_method", "sign", "sid", "page_no", "page_size"},
}

// sign builds the complete field set of one call, signature included. The
// returned map is exactly what is posted: it is signed and encoded from the
// same values, once.
func (c *Client) sign(api string, paging catalogue.Paging, params map[string]any, page, pageSize int) (map[string]string, error) {
	fields := make(map[string]string, len(params)+12)
	for k, v := range params {
		for _, sys := range append(systemFields[c.protocol], paging.Page, paging.Size) {
			if k == sys {
				return nil, fmt.Errorf("params set %q, which the client sets itself", k)
			}
		}
		s, err := formValue(v)
		if err != nil {
			return nil, fmt.Errorf("param %q: %v", k, err)
		}
		// Empty values are neither sent nor signed: whether WDT signs them is
		// unknown, and leaving them out is what CUIF does (section 3.1).
		if s != "" {
			fields[k] = s
		}
	}
	fields[paging.Page] = strconv.Itoa(page)
	fields[paging.Size] = strconv.Itoa(pageSize)
	fields["sid"] = c.cfg.SID
	now := c.now()
	if c.protocol == ProtocolQimen {
		fields["method"] = api
		fields["app_key"] = c.cfg.QimenAppKey
		fields["target_app_key"] = c.cfg.TargetAppKey
		// China time whatever the host's zone (pitfall 5).
		fields["timestamp"] = now.In(shanghai).Format(vendorTimeLayout)
		fields["format"] = "json"
		fields["v"] = "2.0"
		fields["sign_method"] = "md5"
		fields["sign"] = SignQimen(fields, c.cfg.QimenAppSecret)
		return fields, nil
	}
	fields["appkey"] = c.cfg.AppKey
	fields["timestamp"] = strconv.FormatInt(now.Unix(), 10)
	fields["sign"] = SignOpenapi2(fields, c.cfg.AppSecret)
	return fields, nil
}

// formValue flattens one business parameter to its form text.
func formValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case bool:
		// WDT's flags (is_disabled, ...) are 0/1 integers; PHP reads the
		// text "true" as 0, which would silently invert a filter.
		if x {
			return "1", nil
		}
		return "0", nil
	case json.Number:
		return x.String(), nil
	case time.Time:
		return x.In(shanghai).Format(vendorTimeLayout), nil
	case float32:
		return formFloat(float64(x))
	case float64:
		return formFloat(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), nil
	}
	// Nested values travel as a JSON-encoded string (section 2.1).
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// formFloat prints a float without exponent, so 1e6 is sent as 1000000.
func formFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v is not a number WDT accepts", f)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

// call is one FetchPage in flight: what its errors must name and what they
// must never show.
type call struct {
	c    *Client
	api  string
	sign string
	// entry describes the interface; configured: it is the input's own
	// description (so an empty id means the engine computes ids).
	entry      catalogue.Entry
	configured bool
}

// fail builds the call's *vendor.Error. msg comes from the vendor or from
// the client; secrets and the sign are scrubbed from it in case a gateway
// echoes the request back.
func (cl *call) fail(kind vendor.Kind, code, msg string) *vendor.Error {
	return &vendor.Error{Vendor: Vendor, Interface: cl.api, Code: code, Msg: cl.redact(msg), Kind: kind}
}

// inconsistent is a success answer contradicting what the interface
// promises: transient, asked for again soon (vendor.Inconsistent).
func (cl *call) inconsistent(msg string) *vendor.Error {
	return vendor.Inconsistent(Vendor, cl.api, msg)
}

func (cl *call) redact(s string) string {
	for _, secret := range []string{cl.c.cfg.AppSecret, cl.c.cfg.QimenAppSecret, cl.sign} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// post sends fields as a form and returns the body of a 2xx answer.
func (cl *call) post(ctx context.Context, target string, fields map[string]string) ([]byte, error) {
	form := make(url.Values, len(fields))
	for k, v := range fields {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, cl.fail(vendor.Permanent, "", "building request: "+err.Error())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	resp, err := cl.c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// Timeouts, resets, refused connections: the form is in the body, so
		// the URL that net/http quotes in err carries no secret.
		e := cl.fail(vendor.Transient, "", "")
		e.Err = err
		return nil, e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, cl.c.maxAnswer()+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e := cl.fail(vendor.Transient, "", "reading answer: "+err.Error())
		e.Status, e.Err = resp.StatusCode, err
		return nil, e
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := cl.fail(httpKind(resp.StatusCode), "", vendor.Snippet(body))
		e.Status = resp.StatusCode
		if e.Kind == vendor.RateLimited {
			e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
		}
		return nil, e
	}
	if int64(len(body)) > cl.c.maxAnswer() {
		// Downloading it again would give the same: stop and say what to change.
		return nil, cl.fail(vendor.Permanent, "", fmt.Sprintf("answer is over the %d-byte limit (max_answer_bytes); lower page_size or raise max_answer_bytes", cl.c.maxAnswer()))
	}
	return body, nil
}

// httpKind classifies a non-2xx status: proxies and overload answer 5xx,
// 408 and 429; any other 4xx means the URL or the request is wrong.
func httpKind(status int) vendor.Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return vendor.RateLimited
	case status >= 500, status == http.StatusRequestTimeout:
		return vendor.Transient
	}
	return vendor.Permanent
}

func retryAfter(h string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return RateLimitWait
}

// unwrapOpenapi2 checks {"code":0,"message":"",...} and returns the object.
func (cl *call) unwrapOpenapi2(body []byte) (object, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return nil, cl.notJSON(body, err)
	}
	code, ok := obj.text("code")
	if !ok {
		return nil, cl.fail(vendor.Transient, "", "answer has no code: "+vendor.Snippet(body))
	}
	if !isZero(code) {
		msg, _ := obj.text("message")
		kind, wait := classifyCode(code, msg)
		e := cl.fail(kind, code, msg)
		e.RetryAfter = wait
		return nil, e
	}
	return obj, nil
}

// unwrapQimen unwraps {"response":{...}}: a gateway failure (flag
// "failure", or TOP's {"error_response":{...}}) or WDT's answer with
// errorcode.
func (cl *call) unwrapQimen(body []byte) (object, error) {
	top, err := decodeObject(body)
	if err != nil {
		return nil, cl.notJSON(body, err)
	}
	if raw, ok := top.get("error_response"); ok {
		inner, err := decodeObject(raw)
		if err != nil {
			return nil, cl.notJSON(body, err)
		}
		return nil, cl.qimenFailure(inner)
	}
	raw, ok := top.get("response")
	if !ok {
		return nil, cl.fail(vendor.Transient, "", "answer has no response: "+vendor.Snippet(body))
	}
	inner, err := decodeObject(raw)
	if err != nil {
		return nil, cl.notJSON(body, err)
	}
	flag, _ := inner.text("flag")
	if flag == "failure" {
		return nil, cl.qimenFailure(inner)
	}
	code, ok := inner.text("errorcode")
	if !ok {
		if flag == "success" {
			return inner, nil
		}
		return nil, cl.fail(vendor.Transient, "", "answer has no errorcode: "+vendor.Snippet(body))
	}
	if !isZero(code) {
		msg, _ := inner.text("message")
		kind, wait := classifyCode(code, msg)
		e := cl.fail(kind, code, msg)
		e.RetryAfter = wait
		return nil, e
	}
	return inner, nil
}

// qimenFailure turns a gateway failure into an error whose code is
// "code/sub_code" and whose message is "message: sub_message".
func (cl *call) qimenFailure(f object) error {
	code, _ := f.text("code")
	sub, _ := f.text("sub_code")
	msg, ok := f.text("message")
	if !ok {
		msg, _ = f.text("msg") // TOP's error_response spelling
	}
	subMsg, ok := f.text("sub_message")
	if !ok {
		subMsg, _ = f.text("sub_msg")
	}
	kind, wait := classifyQimenFailure(code, sub, msg, subMsg)
	fullCode := code
	if sub != "" {
		fullCode += "/" + sub
	}
	if fullCode == "" {
		fullCode = "failure"
	}
	if subMsg != "" && subMsg != msg {
		msg += ": " + subMsg
	}
	e := cl.fail(kind, fullCode, msg)
	e.RetryAfter = wait
	return e
}

// notJSON is a 2xx answer that is not a JSON object: an HTML page of a
// proxy, or JSON cut off by a reset. Both pass on retry.
func (cl *call) notJSON(body []byte, err error) error {
	e := cl.fail(vendor.Transient, "", "answer is not a JSON object ("+err.Error()+"): "+vendor.Snippet(body))
	e.Err = err
	return e
}

// page extracts the documents of a successful answer.
func (cl *call) page(obj object, pageNo, pageSize int) (vendor.Page, error) {
	total := -1
	if s, ok := obj.text("total_count"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return vendor.Page{}, cl.fail(vendor.Transient, "", fmt.Sprintf("total_count %q is not a count", s))
		}
		total = n
	}

	// The catalogue names the list field of its interfaces; for one it
	// lacks (list ""), the first array of the answer is the list.
	spec := struct{ list string }{cl.entry.List}
	var raw json.RawMessage
	if spec.list != "" {
		raw, _ = obj.get(spec.list)
	} else {
		for _, f := range obj {
			if b := bytes.TrimSpace(f.val); len(b) > 0 && b[0] == '[' {
				spec.list, raw = f.key, f.val
				break
			}
		}
		if spec.list == "" {
			if total > 0 {
				return vendor.Page{}, cl.inconsistent(fmt.Sprintf("total_count %d but no list field (an interface the client does not know the list of must answer one array)", total))
			}
			return vendor.Page{Total: total, Size: pageSize, Code: "0"}, nil
		}
	}
	ids := cl.entry.ID
	if len(ids) == 0 && !cl.configured {
		return vendor.Page{}, cl.fail(vendor.Permanent, "", catalogue.UnknownHint(Vendor))
	}

	// A missing or null list is an empty page when nothing is left to
	// show (WDT leaves it out when nothing matches [I]); while total_count
	// still promises rows on this page it is a broken answer, repeated
	// rather than taken for the end of the list.
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
		if err := json.Unmarshal(raw, &items); err != nil {
			return vendor.Page{}, cl.fail(vendor.Permanent, "", fmt.Sprintf("%s is not a list: %v", spec.list, err))
		}
	} else if total > pageNo*pageSize {
		return vendor.Page{}, cl.inconsistent(fmt.Sprintf("code 0 with total_count %d but no %s list for page_no %d", total, spec.list, pageNo))
	}
	docs := make([]vendor.Document, 0, len(items))
	for i, item := range items {
		var row map[string]json.RawMessage
		if err := json.Unmarshal(item, &row); err != nil || row == nil {
			return vendor.Page{}, cl.fail(vendor.Permanent, "", fmt.Sprintf("%s[%d] is not an object", spec.list, i))
		}
		parts := make([]string, len(ids))
		for j, f := range ids {
			v, ok := scalarText(row[f])
			if !ok || v == "" {
				return vendor.Page{}, cl.fail(vendor.Permanent, "", fmt.Sprintf("%s[%d] has no %s to use as document id", spec.list, i, f))
			}
			parts[j] = v
		}
		var mod time.Time
		for _, f := range cl.entry.Modified {
			if mod = parseModified(row[f]); !mod.IsZero() {
				break
			}
		}
		docs = append(docs, vendor.Document{ID: strings.Join(parts, ":"), Modified: mod, Filter: parseModified(row[cl.c.filterField()]), Raw: item})
	}

	// WDT pages from 0: page_no p covers rows p*size .. (p+1)*size-1. An
	// empty page ends the list even if total_count says otherwise (it may
	// shrink between pages, or overstate), so paging always terminates.
	more := false
	if len(docs) > 0 {
		if total >= 0 {
			more = (pageNo+1)*pageSize < total
		} else {
			more = len(docs) >= pageSize
		}
	}
	return vendor.Page{Docs: docs, More: more, Total: total, Size: pageSize, Code: "0"}, nil
}

// parseModified reads WDT's "yyyy-MM-dd HH:mm:ss" China time. Empty,
// MySQL's zero date and anything unreadable give the zero time: one odd row
// must not stop a list whose documents carry their raw JSON anyway.
func parseModified(raw json.RawMessage) time.Time {
	s, ok := scalarText(raw)
	if !ok || s == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation(vendorTimeLayout, s, shanghai)
	if err != nil {
		return time.Time{}
	}
	return t
}

// object is a JSON object with its fields in document order, so "the first
// array-valued field" means what the vendor sent first.
type object []field

type field struct {
	key string
	val json.RawMessage
}

func decodeObject(b []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	var obj object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		obj = append(obj, field{key, val})
	}
	if _, err := dec.Token(); err != nil { // the closing brace: catches truncation
		return nil, err
	}
	return obj, nil
}

func (o object) get(key string) (json.RawMessage, bool) {
	for _, f := range o {
		if f.key == key {
			return f.val, true
		}
	}
	return nil, false
}

// text is a scalar field as text; false when absent or null.
func (o object) text(key string) (string, bool) {
	raw, ok := o.get(key)
	if !ok {
		return "", false
	}
	return scalarText(raw)
}

// scalarText renders a JSON string or number as text (numbers exactly as
// sent, so an id 10 stays "10"); false for absent, null, objects and arrays.
func scalarText(raw json.RawMessage) (string, bool) {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "", false
	}
	switch b[0] {
	case '"':
		var s string
		if json.Unmarshal(b, &s) != nil {
			return "", false
		}
		return s, true
	case 'n', '{', '[':
		return "", false
	}
	return string(b), true
}

// isZero reports a success code: 0 as a number or a string.
func isZero(code string) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(code), 64)
	return err == nil && f == 0
}
