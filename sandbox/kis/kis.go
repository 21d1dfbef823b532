package kis

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Vendor is the name used in Stats.
const Vendor = "kis"

// Paths of the koas flow (kis.md 3.1) and the business call (5.1).
const (
	pathAccessToken   = "/koas/oauth2/access_token"
	pathAccount       = "/koas/user/account"
	pathAccountApps   = "/koas/user/account_applist"
	pathGateway       = "/koas/user/get_service_gateway"
	pathRefreshLogin  = "/koas/user/refresh_login_access_token"
	pathRefreshAuth   = "/koas/user/refresh_auth_data"
	pathLoginStatus   = "/koas/user/login_status"
	pathMiscReceipt   = "/koas/app007104/api/miscellaneousreceipt/create"
	pathIntrospection = "/_sandbox/kis/bills"
)

// Config holds the credentials of the simulated developer app, customer
// authorization and KIS installation.
type Config struct {
	// ClientID and ClientSecret identify the developer app.
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// AuthCode is the authorization code the customer granted. It stays
	// valid for repeated exchanges [I], so a client can run the full flow
	// again when its refresh tokens are gone.
	AuthCode string `json:"code"`
	// AcctNumber, AcctName, PID and ICRMID identify the account (账套) and
	// installation, sent to account_applist / get_service_gateway.
	AcctNumber string `json:"acctnumber"`
	AcctName   string `json:"acctname"`
	PID        string `json:"pid"`
	ICRMID     string `json:"icrmid"`
	// GwRouterAddr is the gw_router_addr handed out with auth_data; business
	// calls must echo it in X-Gw-Router-Addr.
	GwRouterAddr string `json:"gw_router_addr"`
	// StrictHeaders requires Kis-Ver on every call and KIS-Signature on
	// get_service_gateway, as KISTS sends them. Off (the default), the
	// simulator accepts what a production client is seen to send: Kis-Ver
	// only on business calls and get_service_gateway unsigned (see
	// headerRules in errors.go).
	StrictHeaders bool `json:"strict_headers"`
}

// DefaultConfig returns the sandbox credentials.
func DefaultConfig() Config {
	return Config{
		ClientID:     "sandbox-kis-client",
		ClientSecret: "sandbox-kis-secret",
		AuthCode:     "sandbox-kis-code",
		AcctNumber:   "sandbox-kis-acct",
		AcctName:     "沙箱账套",
		PID:          "sandbox-kis-pid",
		ICRMID:       "sandbox-kis-icrmid",
		GwRouterAddr: "sandbox-kis-gw",
	}
}

// Sim is the KIS simulator.
type Sim struct {
	env     *core.Env
	cfg     Config
	catalog map[string]core.SKU // by material number and by internal id
	limiter *core.Limiter

	mu       sync.Mutex // guards the auth maps below
	tokens   map[string]*grantRec
	sessions map[string]*grantRec
	auths    map[string]*grantRec
	refresh  map[string]*grantRec

	billMu  sync.Mutex
	bills   map[string]*bill // key: FTranType "|" FBillNo
	order   []*bill
	nextFID int64
}

// New builds the simulator.
func New(env *core.Env, cfg Config) (*Sim, error) {
	if env == nil {
		return nil, errors.New("kis: nil env")
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.AuthCode == "" {
		return nil, errors.New("kis: client_id, client_secret and code are required")
	}
	d := DefaultConfig()
	for _, f := range []struct {
		v   *string
		def string
	}{
		{&cfg.AcctNumber, d.AcctNumber}, {&cfg.AcctName, d.AcctName}, {&cfg.PID, d.PID},
		{&cfg.ICRMID, d.ICRMID}, {&cfg.GwRouterAddr, d.GwRouterAddr},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
	s := &Sim{env: env, cfg: cfg, limiter: core.NewLimiter(businessRate)}
	// Materials are known by their number (the catalog SKU id, which the
	// case study maps from Jushuitan sku_id) and by an internal numeric id
	// (position + 1), because KISTS types FItemID as a string that may be
	// either (kis.md 7.4) [I].
	cat := core.Catalog(env.Seed)
	s.catalog = make(map[string]core.SKU, 2*len(cat))
	for i, sku := range cat {
		s.catalog[sku.ID] = sku
		s.catalog[strconv.Itoa(i+1)] = sku
	}
	s.Reset()
	env.AddTarget("kis/bills", s.billCount)
	return s, nil
}

// Name implements core.Simulator.
func (s *Sim) Name() string { return Vendor }

// Credentials implements core.Simulator.
func (s *Sim) Credentials() any { return s.cfg }

// Reset forgets tokens, sessions, bills and rate-limit state.
func (s *Sim) Reset() {
	s.mu.Lock()
	s.tokens = map[string]*grantRec{}
	s.sessions = map[string]*grantRec{}
	s.auths = map[string]*grantRec{}
	s.refresh = map[string]*grantRec{}
	s.mu.Unlock()

	s.billMu.Lock()
	s.bills = map[string]*bill{}
	s.order = nil
	s.nextFID = firstFID
	s.billMu.Unlock()

	s.limiter.Reset()
}

// Register adds /koas/ (wrapped with transport faults) and the
// introspection endpoint (not wrapped).
func (s *Sim) Register(mux *http.ServeMux) {
	mux.Handle("/koas/", s.env.Wrap(Vendor, http.HandlerFunc(s.serveKoas)))
	mux.HandleFunc("GET "+pathIntrospection, s.serveBills)
}

// apiError is a non-zero envelope answer.
type apiError struct {
	code int
	desc string
}

func fail(code int, desc string) *apiError { return &apiError{code: code, desc: desc} }

// envelope is the answer of every koas endpoint (kis.md 4).
type envelope struct {
	Errcode     int    `json:"errcode"`
	Description string `json:"description"`
	Data        any    `json:"data"`
}

// serveKoas dispatches the koas paths; one handler so that unknown koas
// paths still answer with the envelope.
func (s *Sim) serveKoas(w http.ResponseWriter, r *http.Request) {
	var h func(*http.Request) (any, *apiError)
	switch r.URL.Path {
	case pathAccessToken:
		h = s.accessToken
	case pathAccount:
		h = s.account
	case pathAccountApps:
		h = s.accountAppList
	case pathGateway:
		h = s.serviceGateway
	case pathRefreshLogin:
		h = s.refreshLogin
	case pathRefreshAuth:
		h = s.refreshAuthData
	case pathLoginStatus:
		h = s.loginStatus
	case pathMiscReceipt:
		h = s.createMiscReceipt
	default:
		h = func(*http.Request) (any, *apiError) { return nil, fail(codeNotFound, descNotFound+"："+r.URL.Path) }
	}
	if r.Method != http.MethodPost {
		h = func(*http.Request) (any, *apiError) { return nil, fail(codeMethod, descMethod) }
	}
	data, e := h(r)
	env := envelope{Errcode: codeOK, Description: descOK, Data: data}
	if e != nil {
		env = envelope{Errcode: e.code, Description: e.desc}
	}
	s.env.Stats.Record(Vendor, r.URL.Path, strconv.Itoa(env.Errcode))
	core.WriteJSON(w, httpStatus(env.Errcode), env)
}

// commonHeaders are the headers every koas call carries (kis.md 2).
type commonHeaders struct {
	state, trace, timestamp string
	unix                    int64
}

// readCommonHeaders reads Kis-State, Kis-Timestamp and Kis-Traceid (always
// required) and Kis-Ver: required when needVer, otherwise checked only when
// sent. Header names are case-insensitive (clients send KIS-TraceID too).
func readCommonHeaders(r *http.Request, needVer bool) (commonHeaders, *apiError) {
	h := commonHeaders{
		state:     r.Header.Get("Kis-State"),
		trace:     r.Header.Get("Kis-Traceid"),
		timestamp: r.Header.Get("Kis-Timestamp"),
	}
	ver := r.Header.Get("Kis-Ver")
	for _, kv := range [][2]string{{"Kis-State", h.state}, {"Kis-Timestamp", h.timestamp}, {"Kis-Traceid", h.trace}} {
		if kv[1] == "" {
			return h, fail(codeBadHeader, "缺少请求头"+kv[0])
		}
	}
	if ver == "" && needVer {
		return h, fail(codeBadHeader, "缺少请求头Kis-Ver")
	}
	if ver != "" && ver != "1.0" {
		return h, fail(codeBadHeader, "请求头Kis-Ver不支持："+ver)
	}
	ts, err := strconv.ParseInt(h.timestamp, 10, 64)
	if err != nil {
		return h, fail(codeBadHeader, "请求头Kis-Timestamp必须是Unix秒："+h.timestamp)
	}
	h.unix = ts
	return h, nil
}

// maxBody bounds a request body; one bill with thousands of lines fits.
const maxBody = 16 << 20

// readBody decodes a JSON object body with numbers kept as json.Number.
func readBody(r *http.Request) (map[string]any, *apiError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, fail(codeBadRequest, "读取请求体失败")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fail(codeBadRequest, "请求体不是合法的JSON对象")
	}
	return m, nil
}

// bodyString returns a required string field of a koas body.
func bodyString(m map[string]any, key string) (string, *apiError) {
	v, _ := m[key].(string)
	if strings.TrimSpace(v) == "" {
		return "", fail(codeBadRequest, "缺少参数"+key)
	}
	return v, nil
}

// newSecret returns a random opaque credential.
func newSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
