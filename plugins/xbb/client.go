package xbb

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
	"time"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/internal/vendor"
)

// DefaultBaseURL is the production host of the open API.
const DefaultBaseURL = "https://proapi.xbongbong.com"

const (
	// vendorName names the vendor in every vendor.Error.
	vendorName = "xbb"
	// apiPrefix is the path prefix of every "pro v2" interface.
	apiPrefix = "/pro/v2/api/"
	// defaultPageSize and maxPageSize: XBB documents neither; every known
	// client and the case study send 100, and the sandbox refuses more.
	defaultPageSize = 100
	maxPageSize     = 100
	// DefaultMaxAnswer bounds what is read of one answer: a page of 100
	// products is a few hundred KiB, so anything near this is not a list
	// answer. Inputs set ClientConfig.MaxAnswerBytes from max_answer_bytes.
	DefaultMaxAnswer = 32 << 20
	// maxExactFloat is 2^53: ids and times above it cannot come from a JSON
	// float without losing digits.
	maxExactFloat = 1 << 53
	// msThreshold: an updateTime above it is in milliseconds (1e12 seconds is
	// the year 33658), the defence XBBEXE applies.
	msThreshold = 1e12
)

// shanghai is the zone Modified times are expressed in. XBB times are Unix
// instants, so the zone changes only how a time prints, not what it is.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		// No tzdata in the image: China has had no DST since 1991.
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// ClientConfig configures a Client. Credential names follow the vendor's.
type ClientConfig struct {
	// BaseURL is the API host; "" means DefaultBaseURL.
	BaseURL string
	// Corpid is the company id, sent inside every JSON body as corpid.
	Corpid string
	// Token is the company API token. It is a secret: it never travels on
	// the wire, only the sign derived from it does.
	Token string
	// UserID is the optional operator id, sent as userId when set. Which
	// records an answer holds may depend on this user's permissions.
	UserID string
	// HTTPClient sends the requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// FilterField is the document field the window's conditions filter
	// on (a top-level key such as updateTime or addTime, else a key under
	// data); FetchPage sets vendor.Document.Filter from it. "":
	// DefaultFilterField.
	FilterField string
	// Interface describes the interface read (the catalogue's entry with
	// the user's settings); nil: each call looks its api up in the
	// catalogue, and an interface it lacks is refused.
	Interface *catalogue.Entry
	// MaxAnswerBytes bounds one answer body; 0 means DefaultMaxAnswer.
	MaxAnswerBytes int64
}

// DefaultFilterField is the field incremental reads filter on: the
// conditions on updateTime of the contract's incremental example [C].
const DefaultFilterField = "updateTime"

// Client calls the XBB open API for one company. It is safe for concurrent
// use; it holds no session, as XBB signs every request with the token.
type Client struct {
	base   string
	corpid string
	token  string
	userID string
	hc     *http.Client
	filter string
	maxAns int64
	iface  *catalogue.Entry
}

// NewClient checks cfg and returns a client. A missing credential is an
// error naming the field.
func NewClient(cfg ClientConfig) (*Client, error) {
	switch {
	case strings.TrimSpace(cfg.Corpid) == "":
		return nil, errors.New("xbb: corpid is required")
	case cfg.Token == "":
		return nil, errors.New("xbb: token is required")
	}
	base := strings.TrimSpace(cfg.BaseURL)
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("xbb: base_url %q is not an http(s) URL such as %s", cfg.BaseURL, DefaultBaseURL)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	filter := strings.TrimSpace(cfg.FilterField)
	if filter == "" {
		filter = DefaultFilterField
	}
	maxAns := cfg.MaxAnswerBytes
	if maxAns <= 0 {
		maxAns = DefaultMaxAnswer
	}
	return &Client{
		base:   strings.TrimRight(base, "/"),
		corpid: cfg.Corpid,
		token:  cfg.Token,
		userID: cfg.UserID,
		hc:     hc,
		filter: filter,
		maxAns: maxAns,
		iface:  cfg.Interface,
	}, nil
}

// entryFor is the description of api: the configured one when it names
// api, else the catalogue's, else the vendor's defaults (no id field).
func (c *Client) entryFor(api string) (catalogue.Entry, bool) {
	if c.iface != nil && catalogue.Normalize(vendorName, c.iface.Interface) == catalogue.Normalize(vendorName, api) {
		return *c.iface, true
	}
	if e, ok := catalogue.Lookup(vendorName, api); ok {
		return e, false
	}
	e := catalogue.Defaults(vendorName)
	e.Interface = api
	return e, false
}

// DefaultPageSize is the page size used when the caller passes 0. XBB
// applies the same limits to every list interface as far as is known.
func DefaultPageSize(api string) int { return defaultPageSize }

// MaxPageSize is the largest page size the client accepts for api.
func MaxPageSize(api string) int { return maxPageSize }

// apiPath turns "product/list", "/product/list" or "/pro/v2/api/product/list"
// into the request path "/pro/v2/api/product/list".
func apiPath(api string) (string, error) {
	name := strings.TrimSpace(api)
	name = strings.TrimPrefix(name, apiPrefix)
	name = strings.TrimPrefix(name, "/")
	switch {
	case name == "":
		return "", errors.New("empty api name, want e.g. product/list")
	case strings.ContainsAny(name, "?#") || strings.Contains(name, ".."):
		return "", errors.New("api must be an interface path such as product/list")
	}
	return apiPrefix + name, nil
}

// FetchPage reads one page of interface api. params are the business
// parameters built by the user's mapping (conditions, formId, viewApproval,
// ...); the client adds corpid, userId (when configured), page and pageSize,
// overriding any the mapping set, since those belong to the client. page is
// the engine's 0-based index; XBB counts from 1. pageSize 0 means
// DefaultPageSize.
//
// Page.Total is result.totalCount (-1 when absent). XBB re-sorts the list
// as records change, so a caller that sees Total change between two pages
// of the same query must restart the query: rows have shifted.
func (c *Client) FetchPage(ctx context.Context, api string, params map[string]any, page, pageSize int) (vendor.Page, error) {
	path, err := apiPath(api)
	if err != nil {
		return vendor.Page{}, c.clientErr(api, err.Error())
	}
	if page < 0 {
		return vendor.Page{}, c.clientErr(path, fmt.Sprintf("page %d is negative (the engine counts from 0)", page))
	}
	size := pageSize
	if size == 0 {
		size = DefaultPageSize(api)
	}
	if size < 0 || size > MaxPageSize(api) {
		return vendor.Page{}, c.clientErr(path, fmt.Sprintf("pageSize %d out of range 1..%d", pageSize, MaxPageSize(api)))
	}
	vpage := page + 1
	// A cancelled caller (shutdown) sends nothing: no call is spent on the
	// vendor's rate budget for an answer nobody will read.
	if err := ctx.Err(); err != nil {
		return vendor.Page{}, err
	}

	entry, configured := c.entryFor(api)
	body, err := c.buildBody(params, entry.Paging, vpage, size)
	if err != nil {
		return vendor.Page{}, c.clientErr(path, "params cannot be encoded as JSON: "+err.Error())
	}
	// Signed and sent as the very same slice: the sign covers the exact
	// bytes on the wire, so nothing may re-encode the body after this.
	sign := Sign(body, c.token)
	status, header, raw, err := c.post(ctx, path, body, sign)
	if err != nil {
		return vendor.Page{}, err
	}
	return c.parse(path, entry, configured, vpage, size, status, header, raw, sign)
}

// buildBody is the JSON body of one list call: a copy of params (the
// caller's map is not modified) plus the envelope and paging fields.
func (c *Client) buildBody(params map[string]any, paging catalogue.Paging, vpage, size int) ([]byte, error) {
	payload := make(map[string]any, len(params)+4)
	for k, v := range params {
		payload[k] = v
	}
	payload["corpid"] = c.corpid
	if c.userID != "" {
		payload["userId"] = c.userID
	}
	payload[paging.Page] = vpage
	payload[paging.Size] = size
	return json.Marshal(payload)
}

// post sends one signed request and reads the whole answer.
func (c *Client) post(ctx context.Context, path string, body []byte, sign string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, c.clientErr(path, "cannot build request: "+c.scrub(err.Error(), sign))
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("sign", sign)
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		// Timeouts, refused connections, resets, TLS hiccups.
		return 0, nil, nil, &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Transient,
			Msg: "request failed: " + c.scrub(err.Error(), sign), Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAns+1))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		// The connection broke mid-answer (reset, short body).
		return 0, nil, nil, &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Transient,
			Status: resp.StatusCode, Msg: "reading answer failed: " + c.scrub(err.Error(), sign), Err: err}
	}
	if int64(len(raw)) > c.maxAns {
		// Downloading it again would give the same: stop and say what to change.
		return 0, nil, nil, &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Permanent,
			Msg: fmt.Sprintf("answer is over the %d-byte limit (max_answer_bytes); lower page_size or raise max_answer_bytes", c.maxAns)}
	}
	return resp.StatusCode, resp.Header, raw, nil
}

// envelope is every answer: {"code":1,"success":true,"msg":"操作成功","result":{}}.
// Fields are raw because clients disagree on types (code as number or
// string) and a gateway may answer JSON of another shape.
type envelope struct {
	Code    json.RawMessage `json:"code"`
	Success json.RawMessage `json:"success"`
	Msg     json.RawMessage `json:"msg"`
	Result  json.RawMessage `json:"result"`
}

// listResult is result of a list interface.
type listResult struct {
	List       json.RawMessage `json:"list"`
	TotalCount json.RawMessage `json:"totalCount"`
	TotalPage  json.RawMessage `json:"totalPage"`
	PageSize   json.RawMessage `json:"pageSize"`
}

func (c *Client) parse(path string, entry catalogue.Entry, configured bool, vpage, size, status int, header http.Header, raw []byte, sign string) (vendor.Page, error) {
	ok2xx := status >= 200 && status < 300
	var env envelope
	if !json.Valid(raw) {
		// HTML gateway pages, empty bodies, truncated JSON.
		kind := vendor.Transient
		switch {
		case status == http.StatusTooManyRequests:
			kind = vendor.RateLimited
		case !ok2xx && !transientStatus(status):
			// A 4xx page (wrong BaseURL, WAF) will not change on retry.
			kind = vendor.Permanent
		}
		return vendor.Page{}, c.answerErr(path, status, header, kind, "", "answer is not JSON: "+vendor.Snippet(raw), sign)
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return vendor.Page{}, c.answerErr(path, status, header, c.shapeKind(status), "", "answer is not an XBB envelope: "+vendor.Snippet(raw), sign)
	}
	code := rawText(env.Code)
	msg := rawText(env.Msg)
	success := rawText(env.Success) == "true"
	// The two public clients test different fields (code == 1, success ==
	// true); both appear in successful answers, so either one suffices.
	if !(code == "1" || success) || !ok2xx {
		if code == "" && msg == "" && len(env.Success) == 0 {
			return vendor.Page{}, c.answerErr(path, status, header, c.shapeKind(status), "", "answer is not an XBB envelope: "+vendor.Snippet(raw), sign)
		}
		kind := classifyMsg(msg)
		switch {
		case kind == vendor.RateLimited:
		case status == http.StatusTooManyRequests:
			kind = vendor.RateLimited
		case transientStatus(status):
			kind = vendor.Transient
		}
		return vendor.Page{}, c.answerErr(path, status, header, kind, code, msg, sign)
	}
	return c.parseList(path, entry, configured, vpage, size, env.Result)
}

// shapeKind classifies valid JSON that is not the envelope: on a 2xx it is
// a protocol mismatch that retrying will not fix, otherwise it is some
// proxy's error answer and the status decides.
func (c *Client) shapeKind(status int) vendor.Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return vendor.RateLimited
	case transientStatus(status):
		return vendor.Transient
	}
	return vendor.Permanent
}

// parseList reads result. What the answer promises is checked against
// itself, choosing, where signals disagree, the reading that cannot lose
// documents: a null result, or a null list while totalCount still counts
// rows for this page, is a transient error (XBB answers a list call with
// result.list [C]); more pages follow while totalPage or the totalCount
// says so. The poll engine checks pages against each other.
func (c *Client) parseList(path string, entry catalogue.Entry, configured bool, vpage, size int, result json.RawMessage) (vendor.Page, error) {
	page := vendor.Page{Total: -1, Size: size, Code: "1"}
	if isNull(result) {
		return vendor.Page{}, c.inconsistent(path, "success with a null result")
	}
	var res listResult
	if err := json.Unmarshal(result, &res); err != nil {
		return vendor.Page{}, c.shapeErr(path, "result is not an object: "+vendor.Snippet(result))
	}
	if entry.List != "" && entry.List != "list" {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(result, &m)
		res.List = m[entry.List]
	}
	idFields, modField := entry.ID, "updateTime"
	if len(entry.Modified) > 0 {
		modField = entry.Modified[0]
	}
	if len(idFields) == 0 && !configured {
		return vendor.Page{}, c.clientErr(path, catalogue.UnknownHint(vendorName))
	}
	totalCount, hasCount := rawInt(res.TotalCount)
	totalPage, hasPages := rawInt(res.TotalPage)
	if hasCount {
		page.Total = int(totalCount)
	}
	per := int64(size)
	if ps, ok := rawInt(res.PageSize); ok && ps > 0 {
		per = ps // the size the server actually applied
		page.Size = int(ps)
	}
	var items []json.RawMessage
	if !isNull(res.List) {
		if err := json.Unmarshal(res.List, &items); err != nil {
			return vendor.Page{}, c.shapeErr(path, "result.list is not an array: "+vendor.Snippet(res.List))
		}
	} else if hasCount && totalCount > int64(vpage-1)*per {
		return vendor.Page{}, c.inconsistent(path, fmt.Sprintf("result.list is null while totalCount %d counts rows for page %d", totalCount, vpage))
	}

	page.Docs = make([]vendor.Document, 0, len(items))
	for i, it := range items {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(it, &fields); err != nil || fields == nil {
			return vendor.Page{}, c.shapeErr(path, fmt.Sprintf("result.list[%d] is not an object: %s", i, vendor.Snippet(it)))
		}
		parts := make([]string, len(idFields))
		for j, f := range idFields {
			v, err := idText(fieldOf(fields, f))
			if err != nil {
				return vendor.Page{}, c.shapeErr(path, fmt.Sprintf("result.list[%d].%s %s", i, f, err))
			}
			parts[j] = v
		}
		id := strings.Join(parts, ":")
		mod, err := unixTime(fieldOf(fields, modField))
		if err != nil {
			return vendor.Page{}, c.shapeErr(path, fmt.Sprintf("result.list[%d] (id %s).%s %s", i, id, modField, err))
		}
		filter := mod
		if c.filter != modField {
			// An odd value gives no filter time: the engine then reads the
			// window by page numbers instead of failing the page.
			filter, _ = unixTime(fieldOf(fields, c.filter))
		}
		page.Docs = append(page.Docs, vendor.Document{ID: id, Modified: mod, Filter: filter, Raw: it})
	}

	// Stop conditions (contract pitfall 4): totalPage, else
	// ceil(totalCount / pageSize), else read until an empty list; where
	// totalPage and totalCount disagree, the larger wins. An empty list
	// always ends the read, so a wrong total cannot loop forever (the
	// engine's count check catches an early end).
	switch {
	case len(items) == 0:
		page.More = false
	case hasPages || hasCount:
		page.More = (hasPages && int64(vpage) < totalPage) || (hasCount && int64(vpage) < (totalCount+per-1)/per)
	default:
		page.More = true
	}
	return page, nil
}

// fieldOf is key at the top level of a list item, else under its data.
func fieldOf(item map[string]json.RawMessage, key string) json.RawMessage {
	if v, ok := item[key]; ok {
		return v
	}
	var data map[string]json.RawMessage
	if json.Unmarshal(item["data"], &data) == nil {
		return data[key]
	}
	return nil
}

// inconsistent is a success answer that contradicts what a list answer
// promises: the next answer may be whole, so it is transient.
func (c *Client) inconsistent(path, msg string) error {
	return vendor.Inconsistent(vendorName, path, msg)
}

// clientErr is a call refused before anything was sent.
func (c *Client) clientErr(iface, msg string) error {
	return &vendor.Error{Vendor: vendorName, Interface: iface, Kind: vendor.Permanent, Msg: msg}
}

// shapeErr is a success answer the client cannot read.
func (c *Client) shapeErr(path, msg string) error {
	return &vendor.Error{Vendor: vendorName, Interface: path, Kind: vendor.Permanent, Msg: "unexpected answer: " + msg}
}

// answerErr is a failed answer. Status is kept only when HTTP itself failed
// (business errors come with 200).
func (c *Client) answerErr(path string, status int, header http.Header, kind vendor.Kind, code, msg, sign string) error {
	e := &vendor.Error{Vendor: vendorName, Interface: path, Kind: kind, Code: code, Msg: c.scrub(msg, sign)}
	if status < 200 || status >= 300 {
		e.Status = status
	}
	if kind == vendor.RateLimited {
		e.RetryAfter = retryAfter(header)
		if e.RetryAfter == 0 {
			e.RetryAfter = rateLimitRetryAfter
		}
	}
	return e
}

// scrub removes the token and the sign from text echoed into an error, in
// case a server or proxy reflects the request. A token shorter than four
// characters is not scrubbed: replacing it would mangle ordinary words.
func (c *Client) scrub(s, sign string) string {
	if len(c.token) >= 4 {
		s = strings.ReplaceAll(s, c.token, "[token]")
	}
	if sign != "" {
		s = strings.ReplaceAll(s, sign, "[sign]")
	}
	return s
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// rawText renders a scalar: a string's content, a number or bool as
// written, "" for absent or null.
func rawText(raw json.RawMessage) string {
	if isNull(raw) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// rawInt reads an integer given as a number or numeric string.
func rawInt(raw json.RawMessage) (int64, bool) {
	s := strings.TrimSpace(rawText(raw))
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > maxExactFloat {
		return 0, false
	}
	return int64(f), true
}

// idText renders dataId as a decimal string: 123, 123.0 and "123" all give
// "123". The id becomes metadata source_id, so one record must always give
// the same text whatever JSON type the server used.
func idText(raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(rawText(raw))
	if s == "" {
		return "", errors.New("is missing")
	}
	n, ok := rawInt(raw)
	if !ok {
		return "", fmt.Errorf("is not an integer: %s", vendor.Snippet(raw))
	}
	return strconv.FormatInt(n, 10), nil
}

// unixTime reads updateTime: Unix seconds (milliseconds when above 1e12),
// as a number or numeric string. Absent, null or 0 gives the zero time (the
// document has no modified time). The result is in Asia/Shanghai.
func unixTime(raw json.RawMessage) (time.Time, error) {
	s := strings.TrimSpace(rawText(raw))
	if s == "" {
		return time.Time{}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return time.Time{}, fmt.Errorf("is not a Unix time: %s", vendor.Snippet(raw))
	}
	if f == 0 {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		// Integers take the exact path: no float rounding of milliseconds.
		if n > msThreshold {
			return time.UnixMilli(n).In(shanghai), nil
		}
		return time.Unix(n, 0).In(shanghai), nil
	}
	if f > msThreshold {
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).In(shanghai), nil
}
