package k3cloud

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Sim is the K3Cloud WebAPI simulator.
type Sim struct {
	env       *core.Env
	cfg       Config
	clientID  string
	clientSec string
	limiter   *core.Limiter

	// mu guards the forms, the id counters and the network-control set.
	mu        sync.Mutex
	forms     map[string]*store // lower(FormId) -> store
	nextID    int64
	nextEntry int64
	netCtrl   map[string]bool // documents being written by a request in flight

	sessMu    sync.Mutex
	sessions  map[string]*session // kdservice-sessionid and ASP.NET_SessionId -> session
	lastSweep time.Time

	// taskMu guards the tasks of the asynchronous mode (async.go).
	taskMu sync.Mutex
	tasks  map[string]*asyncTask

	// inflight and peak count requests being served across all sessions;
	// tests use them to show that different sessions run concurrently.
	inflight atomic.Int32
	peak     atomic.Int32
}

var _ core.Simulator = (*Sim)(nil)

// New builds the simulator. It fails when the AppID cannot give a gateway
// key (the SDKs would fail the same way).
func New(env *core.Env, cfg Config) (*Sim, error) {
	if cfg.LCID == 0 {
		cfg.LCID = 2052
	}
	if cfg.SignatureWindow < 0 {
		cfg.SignatureWindow = defaultSignatureWindow
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = defaultSessionTTL
	}
	if cfg.MaxQueryLimit <= 0 {
		cfg.MaxQueryLimit = defaultMaxQueryLimit
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = defaultMaxRequestBytes
	}
	switch cfg.RequestRefusal {
	case "":
		cfg.RequestRefusal = RefusalASPNET
	case RefusalASPNET, RefusalIIS, RefusalProxy:
	default:
		return nil, fmt.Errorf("k3cloud: request_refusal %q must be %s, %s or %s", cfg.RequestRefusal, RefusalASPNET, RefusalIIS, RefusalProxy)
	}
	if cfg.CallLimit.N <= 0 || cfg.CallLimit.Per <= 0 {
		cfg.CallLimit = defaultCallLimit
	}
	id, sec, err := ClientSecret(cfg.AppID)
	if err != nil {
		return nil, err
	}
	s := &Sim{env: env, cfg: cfg, clientID: id, clientSec: sec, limiter: core.NewLimiter(cfg.CallLimit)}
	s.Reset()
	return s, nil
}

// ClientSecret derives the gateway key from an AppID as the official SDKs
// do: the part after "_" is base64-decoded, XOR-ed with the SDK constant and
// re-encoded. It returns the client id and the key.
func ClientSecret(appID string) (clientID, clientSec string, err error) {
	parts := strings.Split(appID, "_")
	if len(parts) != 2 || len(parts[1]) != 32 {
		return "", "", fmt.Errorf("k3cloud: AppID %q must be <clientId>_<32-character secret>", appID)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", fmt.Errorf("k3cloud: AppID secret part is not base64: %w", err)
	}
	const xkey = "0054f397c6234378b09ca7d3e5debce7"
	for i := range raw {
		raw[i] ^= xkey[i%len(xkey)]
	}
	return parts[0], base64.StdEncoding.EncodeToString(raw), nil
}

// Name is the vendor name.
func (s *Sim) Name() string { return Vendor }

// Credentials returns what clients need.
func (s *Sim) Credentials() any {
	return Credentials{ServerURLPath: "/k3cloud/", AcctID: s.cfg.AcctID, Username: s.cfg.Username,
		Password: s.cfg.Password, AppID: s.cfg.AppID, AppSecret: s.cfg.AppSecret, LCID: s.cfg.LCID, OrgNum: "0"}
}

// Reset empties the targets, reseeds base data and forgets sessions.
func (s *Sim) Reset() {
	s.mu.Lock()
	s.forms = map[string]*store{}
	s.nextID, s.nextEntry = firstInternalID-1, firstInternalID-1
	s.netCtrl = map[string]bool{}
	for _, d := range formDefs() {
		s.forms[strings.ToLower(d.id)] = newStore(d)
	}
	s.seed()
	stores := make([]*store, 0, len(s.forms))
	for _, st := range s.forms {
		stores = append(stores, st)
	}
	s.mu.Unlock()
	for _, st := range stores {
		s.env.AddTarget("k3cloud/"+st.def.id, func() int {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(st.order)
		})
	}
	s.sessMu.Lock()
	s.sessions = map[string]*session{}
	s.sessMu.Unlock()
	s.taskMu.Lock()
	s.tasks = map[string]*asyncTask{}
	s.taskMu.Unlock()
	s.limiter.Reset()
}

// Register adds the vendor paths (wrapped with the transport faults) and the
// introspection path.
func (s *Sim) Register(mux *http.ServeMux) {
	h := s.env.Wrap(Vendor, http.HandlerFunc(s.serve))
	mux.Handle("/k3cloud/", h)
	mux.Handle("/K3Cloud/", h)
	mux.HandleFunc("GET /_sandbox/k3cloud/{FormId}", s.serveTarget)
}

const (
	stubPrefix = "kingdee.bos.webapi.servicesstub."
	stubSuffix = ".common.kdsvc"
	// dataCenterStub is the login-free probe.
	dataCenterStub = "kingdee.bos.servicefacade.servicesstub.account.accountservice.getdatacenterlist.common.kdsvc"
)

// methodNames gives the canonical spelling (used in Stats) of the methods
// served, keyed by lower-case "service.method".
var methodNames = map[string]string{
	"authservice.validateuser":            "ValidateUser",
	"authservice.loginbysign":             "LoginBySign",
	"authservice.loginbyappsecret":        "LoginByAppSecret",
	"authservice.logout":                  "Logout",
	"dynamicformservice.save":             "Save",
	"dynamicformservice.batchsave":        "BatchSave",
	"dynamicformservice.submit":           "Submit",
	"dynamicformservice.audit":            "Audit",
	"dynamicformservice.unaudit":          "UnAudit",
	"dynamicformservice.view":             "View",
	"dynamicformservice.executebillquery": "ExecuteBillQuery",
	"dynamicformservice.billquery":        "BillQuery",
	"dynamicformservice.delete":           "Delete",
	"dynamicformservice.draft":            "Draft",
	"dynamicformservice.queryasyncresult": "QueryAsyncResult",
	// Known to exist but not simulated: answered with MsgCode 4.
	"dynamicformservice.push":            "Push",
	"dynamicformservice.excuteoperation": "ExcuteOperation",
	"dynamicformservice.allocate":        "Allocate",
}

// serve dispatches one .kdsvc call.
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	seg := strings.ToLower(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
	if seg == dataCenterStub {
		s.dataCenterList(w, r)
		return
	}
	if !strings.HasPrefix(seg, stubPrefix) || !strings.HasSuffix(seg, stubSuffix) {
		s.env.Stats.Record(Vendor, r.URL.Path, "http_404")
		http.Error(w, "404 - File or directory not found.", http.StatusNotFound)
		return
	}
	name, ok := methodNames[strings.TrimSuffix(strings.TrimPrefix(seg, stubPrefix), stubSuffix)]
	if !ok {
		s.env.Stats.Record(Vendor, r.URL.Path, "http_404")
		http.Error(w, "404 - File or directory not found.", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		s.env.Stats.Record(Vendor, name, "http_405")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 256<<20))
	if err != nil {
		s.env.Stats.Record(Vendor, name, "http_400")
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	if s.cfg.MaxRequestBytes > 0 && len(body) > s.cfg.MaxRequestBytes {
		s.refuseTooLarge(w, name, len(body))
		return
	}
	switch name {
	case "ValidateUser", "LoginBySign", "LoginByAppSecret", "Logout":
		s.serveAuth(w, r, name, body)
		return
	}
	s.serveForm(w, r, name, body)
}

// serveForm authenticates a DynamicFormService call, serialises it on its
// session and runs it.
func (s *Sim) serveForm(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	query := name == "ExecuteBillQuery" || name == "BillQuery"
	sess, _, verdict := s.authenticate(r)
	switch verdict {
	case authPassport:
		s.env.Stats.Record(Vendor, name, "http_500")
		http.Error(w, msgAcctPassport, http.StatusInternalServerError)
		return
	case authLost:
		// The shell's cookies come with the session-lost answer [C-obs].
		setSessionCookies(w, sess)
		s.answer(w, name, query, 1, sessionLost())
		return
	}
	setSessionCookies(w, sess)
	w.Header().Set("kdservice-sessionid", sess.id)
	if s.env.Limits && s.limiter.Allow(sess.user, s.env.Now()) >= 0 {
		s.answer(w, name, query, 14, failure(14, nil, msgCallLimit))
		return
	}

	// One request at a time per session, for the whole request including
	// the row latency, as the real server serves a session's context.
	sess.mu.Lock()
	defer sess.mu.Unlock()
	trackPeak(&sess.inflight, &sess.peak)
	defer sess.inflight.Add(-1)
	trackPeak(&s.inflight, &s.peak)
	defer s.inflight.Add(-1)

	req, err := parseRequest(body)
	if err != nil {
		s.answer(w, name, query, 4, failure(4, nil, fmt.Sprintf(msgBadData, err)))
		return
	}
	topAny, _ := decodeJSON(body)
	top, _ := topAny.(map[string]any)
	var (
		v    any
		code int
	)
	switch name {
	case "QueryAsyncResult":
		v, code = s.pollTask(top, req)
	case "Delete":
		v, code = s.transition(r, req, "Delete")
	case "Draft":
		v, code = s.save(r, req, false, true)
	case "Save", "BatchSave":
		v, code = s.save(r, req, name == "BatchSave", false)
	case "Submit":
		v, code = s.transition(r, req, "Submit")
	case "Audit":
		v, code = s.transition(r, req, "Audit")
	case "UnAudit":
		v, code = s.transition(r, req, "UnAudit")
	case "View":
		v, code = s.view(req)
	case "ExecuteBillQuery", "BillQuery":
		v, code = s.query(req, name == "BillQuery")
	default:
		v, code = failure(4, nil, fmt.Sprintf(msgNotImpl, name)), 4
	}
	if name != "QueryAsyncResult" && isAsync(r, top) {
		// The call ran; the answer is a task whose Result it becomes.
		if code != 0 && query {
			v = [][]any{{v}}
		}
		c := "0"
		if code != 0 {
			c = fmt.Sprintf("MsgCode %d", code)
		}
		s.env.Stats.Record(Vendor, name, c)
		core.WriteJSON(w, http.StatusOK, s.beginTask(name, jsonValue(v)))
		return
	}
	if name == "QueryAsyncResult" {
		// The task answer itself is never wrapped.
		c := "0"
		if code != 0 {
			c = fmt.Sprintf("MsgCode %d", code)
		}
		s.env.Stats.Record(Vendor, name, c)
		core.WriteJSON(w, http.StatusOK, v)
		return
	}
	s.answer(w, name, query, code, v)
}

func trackPeak(n, peak *atomic.Int32) {
	v := n.Add(1)
	for {
		p := peak.Load()
		if v <= p || peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// answer writes a JSON answer with HTTP 200 and records it. Failures of the
// query methods are wrapped in [[...]] as the real server does.
func (s *Sim) answer(w http.ResponseWriter, name string, query bool, code int, v any) {
	c := "0"
	if code != 0 {
		c = fmt.Sprintf("MsgCode %d", code)
		if query {
			v = [][]any{{v}}
		}
	}
	s.env.Stats.Record(Vendor, name, c)
	core.WriteJSON(w, http.StatusOK, v)
}

// request is a parsed body, whatever its shape.
type request struct {
	formID string
	data   map[string]any
	params []any // positional parameters (login calls)
}

// parseRequest accepts the named shape {"formid","data"}, the positional
// shape {"parameters":[formid, data]} / {"parameters":[data]} and the legacy
// ApiClient shape (positional plus format/useragent/rid/timestamp/v). data
// may be an object or a JSON string.
func parseRequest(body []byte) (request, error) {
	var req request
	top, err := decodeJSON(body)
	if err != nil {
		return req, err
	}
	m, ok := top.(map[string]any)
	if !ok {
		return req, errors.New("请求体必须是JSON对象")
	}
	req.formID, _ = getCI(m, "formid").(string)
	if p := getCI(m, "parameters"); p != nil {
		if ps, ok := p.(string); ok {
			if p, err = decodeJSON([]byte(ps)); err != nil {
				return req, fmt.Errorf("parameters: %v", err)
			}
		}
		arr, ok := p.([]any)
		if !ok {
			return req, errors.New("parameters必须是数组")
		}
		req.params = arr
	}
	data := getCI(m, "data")
	if data == nil && req.params != nil {
		switch len(req.params) {
		case 0:
		case 1:
			data = req.params[0]
		default:
			if f, ok := req.params[0].(string); ok {
				req.formID = f
			}
			data = req.params[1]
		}
	}
	if ds, ok := data.(string); ok {
		if strings.TrimSpace(ds) == "" {
			data = nil
		} else if data, err = decodeJSON([]byte(ds)); err != nil {
			return req, err
		}
	}
	switch d := data.(type) {
	case nil:
		req.data = map[string]any{}
	case map[string]any:
		req.data = d
	default:
		return req, errors.New("data必须是JSON对象")
	}
	return req, nil
}

// decodeJSON decodes with json.Number so ids and quantities stay exact.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("JSON格式错误：%v", err)
	}
	if dec.More() {
		return nil, errors.New("JSON格式错误：多余的内容")
	}
	return v, nil
}

// getCI reads a key case-insensitively (exact spelling first).
func getCI(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// dataCenterList answers the login-free probe with the one data centre.
func (s *Sim) dataCenterList(w http.ResponseWriter, _ *http.Request) {
	s.env.Stats.Record(Vendor, "GetDataCenterList", "0")
	core.WriteJSON(w, http.StatusOK, []map[string]any{{
		"Id": s.cfg.AcctID, "Number": "SANDBOX", "Name": "沙箱数据中心", "DataBaseType": 3,
		"ProductType": "ERP", "IsDefault": true, "Lcid": s.cfg.LCID,
	}})
}
