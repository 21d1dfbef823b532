package kis

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"time"
)

// login is one code exchange: the chain of access tokens, sessions and
// auth_data that descend from it share its session_secret (refresh (a)
// returns no new secret and KISTS keeps the old one) and its Kis-State.
type login struct {
	clientID string
	secret   string // session_secret
	state    string // Kis-State of the code exchange
}

// grantRec is one issued credential (access_token, session_id, auth_data or
// refresh_auth_data_token). Only the issue time is stored: the lifetime is
// read when the credential is checked, so faults changed at run time apply
// to credentials already handed out.
type grantRec struct {
	login  *login
	issued time.Time
	router string // gw_router_addr, for auth_data
}

func (s *Sim) tokenTTL() time.Duration {
	if d := time.Duration(s.env.Faults().TokenTTL); d > 0 {
		return d
	}
	return defaultTokenTTL
}

func (s *Sim) sessionTTL() time.Duration {
	if d := time.Duration(s.env.Faults().SessionTTL); d > 0 {
		return d
	}
	return defaultSessionTTL
}

// expired tells whether a credential issued at g.issued is dead at now.
func expired(g *grantRec, ttl time.Duration, now time.Time) bool {
	return !now.Before(g.issued.Add(ttl))
}

// issueLocked stores a new credential in m and returns it with its absolute
// expiry in Unix seconds (KISTS compares *_expire_in with the Unix clock).
func issueLocked(m map[string]*grantRec, g *grantRec, ttl time.Duration) (string, int64) {
	v := newSecret(16)
	m[v] = g
	return v, g.issued.Add(ttl).Unix()
}

// kisSignature is kis.md 3.2: lowercase hex SHA-256 of the plain
// concatenation state + session_id + trace_id + session_secret + timestamp.
func kisSignature(state, sessionID, traceID, sessionSecret, timestamp string) string {
	sum := sha256.Sum256([]byte(state + sessionID + traceID + sessionSecret + timestamp))
	return hex.EncodeToString(sum[:])
}

func (s *Sim) clientOK(r *http.Request) bool {
	q := r.URL.Query()
	id := []byte(q.Get("client_id"))
	secret := []byte(q.Get("client_secret"))
	return subtle.ConstantTimeCompare(id, []byte(s.cfg.ClientID)) == 1 &&
		subtle.ConstantTimeCompare(secret, []byte(s.cfg.ClientSecret)) == 1
}

// accessToken is step 1: code exchange.
func (s *Sim) accessToken(r *http.Request) (any, *apiError) {
	hdr, e := readCommonHeaders(r, s.cfg.StrictHeaders)
	if e != nil {
		return nil, e
	}
	if !s.clientOK(r) {
		return nil, fail(codeBadClient, descBadClient)
	}
	body, e := readBody(r)
	if e != nil {
		return nil, e
	}
	code, _ := body["code"].(string)
	if subtle.ConstantTimeCompare([]byte(code), []byte(s.cfg.AuthCode)) != 1 {
		return nil, fail(codeBadCode, descBadCode)
	}
	now := s.env.Now()
	l := &login{clientID: s.cfg.ClientID, secret: newSecret(16), state: hdr.state}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, tokExp := issueLocked(s.tokens, &grantRec{login: l, issued: now}, s.tokenTTL())
	sid, sidExp := issueLocked(s.sessions, &grantRec{login: l, issued: now}, s.sessionTTL())
	return map[string]any{
		"access_token":           tok,
		"access_token_expire_in": tokExp,
		"session_id":             sid,
		"session_id_expire_in":   sidExp,
		"session_secret":         l.secret,
	}, nil
}

// tokenLocked checks the access_token of the query string. Refresh
// endpoints accept an expired token (that is what they are for) [I].
func (s *Sim) tokenLocked(r *http.Request, allowExpired bool, now time.Time) (*grantRec, *apiError) {
	t := r.URL.Query().Get("access_token")
	if t == "" {
		return nil, fail(codeTokenInvalid, "缺少access_token，请先授权登录")
	}
	g := s.tokens[t]
	if g == nil {
		return nil, fail(codeTokenInvalid, descTokenInvalid)
	}
	if !allowExpired && expired(g, s.tokenTTL(), now) {
		return nil, fail(codeTokenExpired, descTokenExpired)
	}
	return g, nil
}

// sessionLocked checks a session_id against the login of the token.
func (s *Sim) sessionLocked(sid string, l *login, now time.Time) (*grantRec, *apiError) {
	g := s.sessions[sid]
	if g == nil || g.login != l || expired(g, s.sessionTTL(), now) {
		return nil, fail(codeSessionInvalid, descSessionInvalid)
	}
	return g, nil
}

// signedCall verifies steps 2-4: common headers, a live access_token, a
// live session of the same login, the KIS-Signature and the timestamp
// window. It returns the login and the decoded body. With optionalSig an
// absent KIS-Signature is accepted (one sent is still verified).
func (s *Sim) signedCall(r *http.Request, optionalSig bool) (*login, map[string]any, *apiError) {
	hdr, e := readCommonHeaders(r, s.cfg.StrictHeaders)
	if e != nil {
		return nil, nil, e
	}
	body, e := readBody(r)
	if e != nil {
		return nil, nil, e
	}
	now := s.env.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, e := s.tokenLocked(r, false, now)
	if e != nil {
		return nil, nil, e
	}
	sid, e := bodyString(body, "session_id")
	if e != nil {
		return nil, nil, e
	}
	if _, e := s.sessionLocked(sid, tok.login, now); e != nil {
		return nil, nil, e
	}
	if bindStateToSession && hdr.state != tok.login.state {
		return nil, nil, fail(codeSessionInvalid, descSessionState)
	}
	got := r.Header.Get("KIS-Signature")
	if got == "" && !optionalSig {
		return nil, nil, fail(codeBadSignature, "缺少请求头KIS-Signature")
	}
	want := kisSignature(hdr.state, sid, hdr.trace, tok.login.secret, hdr.timestamp)
	if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, nil, fail(codeBadSignature, descBadSignature)
	}
	if d := now.Sub(time.Unix(hdr.unix, 0)); d > timestampWindow || d < -timestampWindow {
		return nil, nil, fail(codeBadTimestamp, descBadTimestamp)
	}
	return tok.login, body, nil
}

func (s *Sim) accountInfo() map[string]any {
	return map[string]any{
		"acctnumber":   s.cfg.AcctNumber,
		"acctname":     s.cfg.AcctName,
		"pid":          s.cfg.PID,
		"icrmid":       s.cfg.ICRMID,
		"product_name": "金蝶KIS旗舰版", // [I] shape of the account list
	}
}

// account is step 2: the accounts (账套) of the user.
func (s *Sim) account(r *http.Request) (any, *apiError) {
	if _, _, e := s.signedCall(r, false); e != nil {
		return nil, e
	}
	return []any{s.accountInfo()}, nil
}

// checkAccount validates the account identifiers of steps 3 and 4.
func (s *Sim) checkAccount(body map[string]any, keys ...string) *apiError {
	want := map[string]string{"acctnumber": s.cfg.AcctNumber, "pid": s.cfg.PID, "icrmid": s.cfg.ICRMID, "client_id": s.cfg.ClientID}
	for _, k := range keys {
		v, e := bodyString(body, k)
		if e != nil {
			return e
		}
		if v != want[k] {
			return fail(codeBadAccount, "账套或应用不存在或无权访问："+k+"="+v)
		}
	}
	return nil
}

// accountAppList is step 3: apps enabled on an account.
func (s *Sim) accountAppList(r *http.Request) (any, *apiError) {
	_, body, e := s.signedCall(r, false)
	if e != nil {
		return nil, e
	}
	if e := s.checkAccount(body, "client_id", "acctnumber", "pid"); e != nil {
		return nil, e
	}
	// [I] shape: the app serving /koas/app007104/api/.
	return []any{map[string]any{"client_id": s.cfg.ClientID, "app_id": "app007104", "app_name": "KIS供应链开放接口", "acctnumber": s.cfg.AcctNumber}}, nil
}

// gatewayData issues auth_data and a refresh_auth_data_token for l.
func (s *Sim) gatewayDataLocked(l *login, now time.Time) map[string]any {
	auth, _ := issueLocked(s.auths, &grantRec{login: l, issued: now, router: s.cfg.GwRouterAddr}, s.sessionTTL())
	rt, rtExp := issueLocked(s.refresh, &grantRec{login: l, issued: now}, refreshAuthDataTTL)
	return map[string]any{
		"auth_data":      auth,
		"gw_router_addr": s.cfg.GwRouterAddr,
		"extend_data": map[string]any{
			"refresh_auth_data_token":           rt,
			"refresh_auth_data_token_expire_in": rtExp,
		},
	}
}

// serviceGateway is step 4: auth_data and the gateway route.
func (s *Sim) serviceGateway(r *http.Request) (any, *apiError) {
	l, body, e := s.signedCall(r, unsignedGateway && !s.cfg.StrictHeaders)
	if e != nil {
		return nil, e
	}
	if e := s.checkAccount(body, "acctnumber", "pid", "icrmid"); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gatewayDataLocked(l, s.env.Now()), nil
}

// refreshLogin is refresh (a): a new access_token and session_id for a live
// session; the session_secret stays. Older credentials stay valid until
// they expire [I], so a client that lost the answer is not locked out.
func (s *Sim) refreshLogin(r *http.Request) (any, *apiError) {
	if _, e := readCommonHeaders(r, s.cfg.StrictHeaders); e != nil {
		return nil, e
	}
	body, e := readBody(r)
	if e != nil {
		return nil, e
	}
	now := s.env.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, e := s.tokenLocked(r, true, now)
	if e != nil {
		return nil, e
	}
	sid, e := bodyString(body, "session_id")
	if e != nil {
		return nil, e
	}
	if _, e := s.sessionLocked(sid, tok.login, now); e != nil {
		return nil, e
	}
	t, tExp := issueLocked(s.tokens, &grantRec{login: tok.login, issued: now}, s.tokenTTL())
	ns, nsExp := issueLocked(s.sessions, &grantRec{login: tok.login, issued: now}, s.sessionTTL())
	return map[string]any{
		"access_token":           t,
		"access_token_expire_in": tExp,
		"session_id":             ns,
		"session_id_expire_in":   nsExp,
	}, nil
}

// refreshAuthData is refresh (b): app credentials in the query, the
// refresh_auth_data_token and the (possibly expired) access_token in the
// body; answers a new access_token, auth_data and refresh token.
func (s *Sim) refreshAuthData(r *http.Request) (any, *apiError) {
	if _, e := readCommonHeaders(r, s.cfg.StrictHeaders); e != nil {
		return nil, e
	}
	if !s.clientOK(r) {
		return nil, fail(codeBadClient, descBadClient)
	}
	body, e := readBody(r)
	if e != nil {
		return nil, e
	}
	rt, e := bodyString(body, "refresh_auth_data_token")
	if e != nil {
		return nil, e
	}
	at, e := bodyString(body, "access_token")
	if e != nil {
		return nil, e
	}
	now := s.env.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rg := s.refresh[rt]
	if rg == nil || expired(rg, refreshAuthDataTTL, now) {
		return nil, fail(codeRefreshToken, descRefreshToken)
	}
	tg := s.tokens[at]
	if tg == nil {
		return nil, fail(codeTokenInvalid, descTokenInvalid)
	}
	if tg.login != rg.login {
		return nil, fail(codeRefreshToken, "refresh_auth_data_token与access_token不属于同一授权，请重新授权")
	}
	data := s.gatewayDataLocked(rg.login, now)
	t, tExp := issueLocked(s.tokens, &grantRec{login: rg.login, issued: now}, s.tokenTTL())
	data["access_token"] = t
	data["access_token_expire_in"] = tExp
	return data, nil
}

// loginStatus is (c): whether the session of a live token is still logged
// in. The answer shape is [I].
func (s *Sim) loginStatus(r *http.Request) (any, *apiError) {
	if _, e := readCommonHeaders(r, s.cfg.StrictHeaders); e != nil {
		return nil, e
	}
	body, e := readBody(r)
	if e != nil {
		return nil, e
	}
	now := s.env.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, e := s.tokenLocked(r, false, now)
	if e != nil {
		return nil, e
	}
	sid, e := bodyString(body, "session_id")
	if e != nil {
		return nil, e
	}
	out := map[string]any{"session_id": sid, "login_status": false}
	if g, e := s.sessionLocked(sid, tok.login, now); e == nil {
		out["login_status"] = true
		out["session_id_expire_in"] = g.issued.Add(s.sessionTTL()).Unix()
	}
	return out, nil
}

// businessAuth checks a business call (kis.md 3.3): common headers, a live
// access_token, and Kis-Authdata / X-Gw-Router-Addr as issued to the same
// login. It returns the login.
func (s *Sim) businessAuth(r *http.Request) (*login, *apiError) {
	// Kis-Ver is sent on business calls by every known client [C].
	if _, e := readCommonHeaders(r, true); e != nil {
		return nil, e
	}
	now := s.env.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, e := s.tokenLocked(r, false, now)
	if e != nil {
		return nil, e
	}
	ad := r.Header.Get("Kis-Authdata")
	if ad == "" {
		return nil, fail(codeAuthData, "缺少请求头Kis-Authdata，请先获取授权auth_data")
	}
	g := s.auths[ad]
	if g == nil || g.login != tok.login || expired(g, s.sessionTTL(), now) {
		return nil, fail(codeAuthData, descAuthData)
	}
	if r.Header.Get("X-Gw-Router-Addr") != g.router {
		return nil, fail(codeAuthData, descGwRouter)
	}
	return tok.login, nil
}

// ExpireTokens expires every access token and session issued so far (the
// refresh tokens stay usable): the next business call is refused as
// expired and a client must renew. Tests use it to make an expiry happen
// at a chosen moment rather than by the clock.
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string]*grantRec{s.tokens, s.sessions} {
		for _, g := range m {
			g.issued = time.Time{}
		}
	}
}
