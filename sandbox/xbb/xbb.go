package xbb

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/erpsync/erpsync/sandbox/core"
)

// vendorName is the name used in Stats and by the sandbox.
const vendorName = "xbb"

// apiPrefix is the path prefix of the open API ("pro v2").
const apiPrefix = "/pro/v2/api/"

// maxBody bounds what the sandbox reads of a request body.
const maxBody = 1 << 20

// The source datasets, one per list interface; Doc.ID is the dataId as a
// decimal string.
const (
	// DatasetProducts: product/list.
	DatasetProducts = "xbb_products"
	// DatasetCustomers: customer/list, the list and the recycle bin (del=1).
	DatasetCustomers = "xbb_customers"
	// DatasetContracts: contract/list; each contract links a customer and
	// products of the other datasets by dataId.
	DatasetContracts = "xbb_contracts"
)

// DatasetNames are the datasets the simulator registers.
func DatasetNames() []string { return []string{DatasetProducts, DatasetCustomers, DatasetContracts} }

// Config holds the sandbox tenant's credentials.
type Config struct {
	// Corpid is the company id sent inside every JSON body.
	Corpid string
	// Token is the company API token appended to the body before hashing.
	Token string
	// UserID is the operator id clients may send as userId.
	UserID string
}

// DefaultConfig returns the sandbox credentials.
func DefaultConfig() Config {
	return Config{Corpid: "sandbox-xbb-corp", Token: "sandbox-xbb-token", UserID: "sandbox-xbb-user"}
}

// Credentials is what Sim.Credentials returns, for clients and the start banner.
type Credentials struct {
	Corpid         string `json:"corpid"`
	Token          string `json:"token"`
	UserID         string `json:"userId"`
	ProductFormID  int    `json:"productFormId"`
	CustomerFormID int    `json:"customerFormId"`
	ContractFormID int    `json:"contractFormId"`
}

// Sim simulates the XBB open API for one company.
type Sim struct {
	env     *core.Env
	cfg     Config
	limiter *core.Limiter

	// mu guards the stores. A list holds it for a whole page, so the
	// page, the mutation that follows it and the index update are atomic.
	mu        sync.Mutex
	products  *store
	customers *store
	contracts *store
}

// New builds the simulator and registers its dataset with env.
func New(env *core.Env, cfg Config) (*Sim, error) {
	if env == nil {
		return nil, errors.New("xbb: nil env")
	}
	if cfg.Corpid == "" || cfg.Token == "" || cfg.UserID == "" {
		return nil, errors.New("xbb: Corpid, Token and UserID must be set")
	}
	s := &Sim{env: env, cfg: cfg, limiter: core.NewLimiter(rateRule)}
	s.Reset()
	return s, nil
}

// Name is the vendor name used in Stats.
func (s *Sim) Name() string { return vendorName }

// Credentials returns the tenant's credentials and form ids.
func (s *Sim) Credentials() any {
	return Credentials{Corpid: s.cfg.Corpid, Token: s.cfg.Token, UserID: s.cfg.UserID,
		ProductFormID: productFormID, CustomerFormID: CustomerFormID, ContractFormID: ContractFormID}
}

// Reset regenerates the datasets from the seed, registers them again and
// forgets rate-limit state.
func (s *Sim) Reset() {
	ps := newProductStore(s.env, s.cfg)
	cs := newCustomerStore(s.env, s.cfg)
	ks := newContractStore(s.env, s.cfg, cs, ps)
	s.mu.Lock()
	s.products, s.customers, s.contracts = ps, cs, ks
	s.mu.Unlock()
	for _, st := range []*store{ps, cs, ks} {
		s.env.AddDataset(st.ds)
	}
	s.limiter.Reset()
}

// storeOf is the store of form fm; s.mu must be held.
func (s *Sim) storeOf(fm *form) *store {
	switch fm {
	case &customerForm:
		return s.customers
	case &contractForm:
		return s.contracts
	}
	return s.products
}

// Register adds every path under /pro/v2/api/, wrapped with the transport
// faults. XBB has no sandbox-specific introspection: the dataset is served by
// the sandbox's generic /_sandbox/ endpoints through Env.
func (s *Sim) Register(mux *http.ServeMux) {
	mux.Handle(apiPrefix, s.env.Wrap(vendorName, http.HandlerFunc(s.serve)))
}

// envelope is every answer of the open API.
type envelope struct {
	Code    int    `json:"code"`
	Success bool   `json:"success"`
	Msg     string `json:"msg"`
	Result  any    `json:"result,omitempty"`
}

// apiError is a failure answered in the vendor envelope.
type apiError struct {
	status int // HTTP status; the vendor answers business errors with 200 [I]
	code   int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func fail(code int, msg string) *apiError {
	return &apiError{status: http.StatusOK, code: code, msg: msg}
}

func failf(code int, format string, args ...any) *apiError {
	return fail(code, fmt.Sprintf(format, args...))
}

// request is the part of a body every interface reads. Numbers arrive as
// numbers or numeric strings depending on the client (the Java server
// coerces both), hence flexInt.
type request struct {
	Corpid       string      `json:"corpid"`
	UserID       string      `json:"userId"`
	FormID       flexInt     `json:"formId"`
	Page         flexInt     `json:"page"`
	PageSize     flexInt     `json:"pageSize"`
	ViewApproval flexString  `json:"viewApproval"`
	Conditions   []condition `json:"conditions"`
	// Del (0 the list, 1 the recycle bin) and IsPublic (0 outside, 1 in
	// the public sea) select customers [C XBBCLI help texts].
	Del      flexInt `json:"del"`
	IsPublic flexInt `json:"isPublic"`
}

// serve answers one call: method, signature over the raw bytes, body,
// company, rate limit, then the interface itself.
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	iface := r.URL.Path
	res, err := s.handle(r, strings.TrimPrefix(iface, apiPrefix))
	var ae *apiError
	if err != nil {
		if !errors.As(err, &ae) {
			ae = fail(codeParamError, err.Error())
		}
		s.env.Stats.Record(vendorName, iface, strconv.Itoa(ae.code))
		core.WriteJSON(w, ae.status, envelope{Code: ae.code, Success: false, Msg: ae.msg})
		return
	}
	s.env.Stats.Record(vendorName, iface, strconv.Itoa(codeOK))
	core.WriteJSON(w, http.StatusOK, envelope{Code: codeOK, Success: true, Msg: msgOK, Result: res})
}

func (s *Sim) handle(r *http.Request, name string) (any, error) {
	if r.Method != http.MethodPost {
		return nil, &apiError{status: http.StatusMethodNotAllowed, code: codeBadMethod, msg: msgBadMethod}
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, fail(codeParamError, msgBadJSON)
	}
	// The signature covers the exact bytes on the wire, so it is checked
	// before any parsing: a client that re-encodes after signing must fail.
	if err := s.checkSign(r.Header.Get("sign"), raw); err != nil {
		return nil, err
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return nil, failf(codeParamError, "%s: %v", msgBadJSON, err)
	}
	if err := s.checkCorp(req); err != nil {
		return nil, err
	}
	if s.env.Limits && s.limiter.Allow(req.Corpid, s.env.Now()) >= 0 {
		return nil, fail(codeRateLimited, msgRateLimited)
	}
	switch name {
	case "product/list":
		return s.list(&productForm, req)
	case "customer/list":
		return s.list(&customerForm, req)
	case "contract/list":
		return s.list(&contractForm, req)
	case "form/get":
		return s.formGet(req)
	case "form/list":
		return s.formList(req)
	}
	if otherListPaths[name] {
		return s.emptyList(req)
	}
	return nil, &apiError{status: http.StatusNotFound, code: codeNoSuchAPI, msg: msgNoSuchAPI + ": " + apiPrefix + name}
}

// checkSign verifies sign == lowercase hex(sha256(raw || token)). A sign of
// another length (a client dropping leading zeros) or in upper case does not
// match: the contract says the server compares the 64 lowercase digits.
func (s *Sim) checkSign(sign string, raw []byte) error {
	if sign == "" {
		return fail(codeSignError, msgSignMissing)
	}
	h := sha256.New()
	h.Write(raw)
	h.Write([]byte(s.cfg.Token))
	want := hex.EncodeToString(h.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(sign), []byte(want)) != 1 {
		return fail(codeSignError, msgSignError)
	}
	return nil
}

func (s *Sim) checkCorp(req request) error {
	switch {
	case req.Corpid == "":
		return fail(codeCorpError, msgCorpMissing)
	case req.Corpid != s.cfg.Corpid:
		return fail(codeCorpError, msgCorpUnknown)
	case req.UserID != "" && req.UserID != s.cfg.UserID:
		// [I] a userId outside the company is refused rather than ignored.
		return failf(codeUserError, "%s: %s", msgUserUnknown, req.UserID)
	}
	return nil
}

// flexInt reads a JSON number or numeric string; set tells whether the field
// was present and not null.
type flexInt struct {
	v   int64
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := strings.Trim(string(b), `"`)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("不是整数: %s", b)
	}
	f.v, f.set = n, true
	return nil
}

// flexString reads a JSON string or number as text (viewApproval is
// documented as a string; some clients send 0 / 1).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("不是字符串: %s", b)
	}
	*f = flexString(n.String())
	return nil
}
