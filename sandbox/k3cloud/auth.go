package k3cloud

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// session is one server-side login context.
type session struct {
	id    string // kdservice-sessionid
	aspID string // ASP.NET_SessionId
	user  string
	last  time.Time // last accepted request; guarded by Sim.sessMu
	// shell marks the id handed out with a failed authentication: the server
	// still sets the cookie, but the id names no session, so a request
	// carrying it is authenticated again; when that succeeds the id becomes
	// a live session (MCP §7 [C-obs]). Guarded by Sim.sessMu.
	shell bool

	// mu serialises the requests of the session.
	mu sync.Mutex
	// inflight and peak count requests being served on this session (tests).
	inflight atomic.Int32
	peak     atomic.Int32
}

const (
	authOK       = iota
	authLost     // no valid session and no valid HMAC: MsgCode 1
	authPassport // HMAC names an unknown data centre: non-200 answer [C-obs]
)

const (
	cookieSession = "kdservice-sessionid"
	cookieASP     = "ASP.NET_SessionId"
	msgLost       = "会话信息已丢失，请重新登录"
)

// sessionTTL is read at check time so the session_ttl fault applies at once.
func (s *Sim) sessionTTL() time.Duration {
	if t := time.Duration(s.env.Faults().SessionTTL); t > 0 {
		return t
	}
	return s.cfg.SessionTTL
}

// authenticate finds the caller's session. A known live session id (cookie,
// kdservice-sessionid header or SID header) is accepted without looking at
// any signature, as observed on a live server. Otherwise valid mode-A HMAC
// headers silently open a session; anything else is "session lost". Except
// for the passport failure, sess is never nil: a failed authentication gets
// a shell id (the one the caller sent, or a new one), whose cookies the
// answer carries as the real server's does (MCP §7 [C-obs]).
func (s *Sim) authenticate(r *http.Request) (sess *session, fresh bool, verdict int) {
	var ids []string
	for _, name := range []string{cookieSession, cookieASP} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			ids = append(ids, c.Value)
		}
	}
	for _, h := range []string{"kdservice-sessionid", "SID"} {
		if v := r.Header.Get(h); v != "" {
			ids = append(ids, v)
		}
	}
	var shell *session
	for _, id := range ids {
		sess, sh := s.lookupSession(id)
		if sess != nil {
			return sess, false, authOK
		}
		if shell == nil {
			shell = sh
		}
	}
	v := authLost
	if r.Header.Get("X-Kd-Signature") != "" || r.Header.Get("X-Api-Signature") != "" {
		var user string
		if user, v = s.verifyHMAC(r); v == authOK {
			return s.openSession(shell, user), true, authOK
		}
	}
	if v == authPassport {
		// The gateway answers a wrong acctID with a non-200 text; whether
		// that answer sets cookies is not reported, so it sets none [I].
		return nil, false, authPassport
	}
	if shell == nil {
		shell = s.newShell()
	}
	return shell, true, authLost
}

// lookupSession returns a live session and renews it (sliding expiry), or
// nil and, when id is a shell handed out by a failed authentication, that
// shell; an expired session is forgotten.
func (s *Sim) lookupSession(id string) (live, shell *session) {
	now := s.env.Now()
	ttl := s.sessionTTL()
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	sess := s.sessions[id]
	if sess == nil {
		return nil, nil
	}
	if now.Sub(sess.last) > ttl {
		delete(s.sessions, sess.id)
		delete(s.sessions, sess.aspID)
		return nil, nil
	}
	sess.last = now
	if sess.shell {
		return nil, sess
	}
	return sess, nil
}

// newSession opens a live session for user.
func (s *Sim) newSession(user string) *session { return s.openSession(nil, user) }

// newShell records the ids a failed authentication hands out.
func (s *Sim) newShell() *session {
	sess := &session{id: randomID(16, true), aspID: randomID(12, false), shell: true, last: s.env.Now()}
	s.store(sess)
	return sess
}

// openSession makes shell (when not nil) a live session of user, keeping its
// ids as the real server keeps the shell id once credentials pass (MCP §7
// [C-obs]), or opens a new one.
func (s *Sim) openSession(shell *session, user string) *session {
	if shell != nil {
		s.sessMu.Lock()
		shell.shell, shell.user, shell.last = false, user, s.env.Now()
		s.sessMu.Unlock()
		return shell
	}
	sess := &session{id: randomID(16, true), aspID: randomID(12, false), user: user, last: s.env.Now()}
	s.store(sess)
	return sess
}

func (s *Sim) store(sess *session) {
	now := sess.last
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	// Clients that never replay cookies open a session (or a shell) per
	// call: forget expired ones now and then so the map stays small.
	if now.Sub(s.lastSweep) > time.Minute {
		ttl := s.sessionTTL()
		for k, x := range s.sessions {
			if now.Sub(x.last) > ttl {
				delete(s.sessions, k)
			}
		}
		s.lastSweep = now
	}
	s.sessions[sess.id] = sess
	s.sessions[sess.aspID] = sess
}

func (s *Sim) dropSession(id string) {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	if sess := s.sessions[id]; sess != nil {
		delete(s.sessions, sess.id)
		delete(s.sessions, sess.aspID)
	}
}

// randomID returns n random bytes as a GUID-like (dashed) or plain lower-case id.
func randomID(n int, guid bool) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	if guid && len(h) == 32 {
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	return h
}

// setSessionCookies sets the two session cookies. The real server sets them
// on the login answer, on the first answer of a silently opened session and
// on failed authentications (the session-lost answer included) [C-obs MCP
// §5, §7]; the simulator sets them on every DynamicFormService and login
// answer, which is what a client replaying its jar must cope with [I].
// Attributes: a path was present but its value is not reported (PYSDK's
// parser drops it), and "/" is assumed [I]; MCP mentions an expires
// attribute without saying on which cookie or for how long, so none is set
// (a session cookie) [I].
func setSessionCookies(w http.ResponseWriter, sess *session) {
	http.SetCookie(w, &http.Cookie{Name: cookieSession, Value: sess.id, Path: "/"})
	http.SetCookie(w, &http.Cookie{Name: cookieASP, Value: sess.aspID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// KdHmac is the SDKs' signature: base64 of the lower-case hex text of
// HMAC-SHA256(key, content).
func KdHmac(content, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(content))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

// encodePath percent-encodes a request path for the string to sign, with
// every "/" written as "%2F".
func encodePath(p string) string { return url.QueryEscape(p) }

// verifyHMAC checks the mode-A headers (section 3.1) and returns the user.
func (s *Sim) verifyHMAC(r *http.Request) (string, int) {
	h := r.Header
	raw, err := base64.StdEncoding.DecodeString(h.Get("X-Kd-Appdata"))
	if err != nil {
		return "", authLost
	}
	appData := string(raw)
	parts := strings.Split(appData, ",")
	if len(parts) < 3 {
		return "", authLost
	}
	if s.cfg.StrictSignature {
		if h.Get("X-Kd-Appkey") != s.cfg.AppID || h.Get("X-Api-ClientID") != s.clientID {
			return "", authLost
		}
		ts, nonce := h.Get("x-api-timestamp"), h.Get("x-api-nonce")
		if !s.fresh(ts) {
			return "", authLost
		}
		path := r.URL.EscapedPath()
		sts := "POST\n" + encodePath(path) + "\n\nx-api-nonce:" + nonce + "\nx-api-timestamp:" + ts + "\n"
		if !hmac.Equal([]byte(h.Get("X-Api-Signature")), []byte(KdHmac(sts, s.clientSec))) {
			return "", authLost
		}
		if !hmac.Equal([]byte(h.Get("X-Kd-Signature")), []byte(KdHmac(s.cfg.AppID+appData, s.cfg.AppSecret))) {
			return "", authLost
		}
	} else if h.Get("X-Kd-Signature") == "" || h.Get("X-Api-Signature") == "" {
		return "", authLost
	}
	if parts[0] != s.cfg.AcctID {
		// A wrong acctID is not "session lost": the gateway cannot find the
		// data centre and answers with a non-200 text [C-obs].
		return "", authPassport
	}
	lcid, err := strconv.Atoi(strings.TrimSpace(parts[2]))
	if parts[1] != s.cfg.Username || err != nil || !knownLCIDs[lcid] {
		return "", authLost
	}
	return parts[1], authOK
}

// fresh checks a timestamp (seconds or milliseconds) against the window;
// with no window (the default) any timestamp that is a number passes
// [C-obs for ±24 h; I for the rest, e.g. whether the real server refuses a
// non-numeric one].
func (s *Sim) fresh(ts string) bool {
	n, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil || n <= 0 {
		return false
	}
	if s.cfg.SignatureWindow == 0 {
		return true
	}
	var t time.Time
	if n > msFloor {
		t = time.UnixMilli(n)
	} else {
		t = time.Unix(n, 0)
	}
	return math.Abs(float64(s.env.Now().Sub(t))) <= float64(s.cfg.SignatureWindow)
}

// LoginSign is the LoginBySign signature: lower-case hex SHA-256 of the
// ordinally sorted, concatenated parts.
func LoginSign(parts ...string) string {
	p := append([]string(nil), parts...)
	sort.Strings(p) // byte order = ordinal order for UTF-8
	sum := sha256.Sum256([]byte(strings.Join(p, "")))
	return hex.EncodeToString(sum[:])
}

// loginResult is the AuthService answer (section 3.4).
type loginResult struct {
	Message           *string        `json:"Message"`
	MessageCode       *string        `json:"MessageCode"`
	LoginResultType   int            `json:"LoginResultType"`
	Context           map[string]any `json:"Context"`
	KDSVCSessionId    *string        `json:"KDSVCSessionId"`
	FormId            *string        `json:"FormId"`
	RedirectFormParam *string        `json:"RedirectFormParam"`
	FormInputObject   *string        `json:"FormInputObject"`
	ErrorStackTrace   *string        `json:"ErrorStackTrace"`
	Lcid              int            `json:"Lcid"`
	AccessToken       *string        `json:"AccessToken"`
	KdAccessResult    any            `json:"KdAccessResult"`
	IsSuccessByAPI    bool           `json:"IsSuccessByAPI"`
}

// loginParamNames name the positional login parameters, so the named shape
// ({"acctID":..,"username":..}) is accepted too.
var loginParamNames = map[string][]string{
	"ValidateUser":     {"acctID", "username", "password", "lcid"},
	"LoginByAppSecret": {"acctID", "username", "appId", "appSecret", "lcid"},
	"LoginBySign":      {"acctID", "username", "appId", "timestamp", "sign", "lcid"},
}

// serveAuth answers the AuthService methods.
func (s *Sim) serveAuth(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	if name == "Logout" {
		for _, n := range []string{cookieSession, cookieASP} {
			if c, err := r.Cookie(n); err == nil {
				s.dropSession(c.Value)
			}
		}
		if v := r.Header.Get("kdservice-sessionid"); v != "" {
			s.dropSession(v)
		}
		s.env.Stats.Record(Vendor, name, "0")
		core.WriteJSON(w, http.StatusOK, true)
		return
	}
	args := map[string]string{}
	if top, err := decodeJSON(body); err == nil {
		if m, ok := top.(map[string]any); ok {
			req, _ := parseRequest(body)
			for i, n := range loginParamNames[name] {
				var v any
				if req.params != nil {
					if i < len(req.params) {
						v = req.params[i]
					}
				} else {
					v = getCI(m, n)
				}
				args[strings.ToLower(n)] = scalarString(v)
			}
		}
	}
	typ, msg := s.checkLogin(name, args)
	res := loginResult{LoginResultType: typ, Lcid: s.cfg.LCID}
	if typ == 1 {
		sess := s.newSession(args["username"])
		setSessionCookies(w, sess)
		w.Header().Set("kdservice-sessionid", sess.id)
		code := "CheckPasswordPolicy"
		res.MessageCode, res.KDSVCSessionId, res.IsSuccessByAPI = &code, &sess.id, true
		if l, err := strconv.Atoi(args["lcid"]); err == nil {
			res.Lcid = l
		}
		res.Context = map[string]any{
			"UserLocale": "zh-CN", "LogLocale": "zh-CN", "DBid": s.cfg.AcctID, "DatabaseType": 3,
			"SessionId": sess.aspID, "UserId": 100008, "UserName": args["username"], "CustomName": "沙箱",
			"DisplayVersion": "8.2.0.202312", "DataCenterName": "沙箱数据中心", "DataCenterNumber": "SANDBOX",
			"CurrentOrganizationInfo": map[string]any{"ID": 1, "AcctOrgType": "1", "Name": core.Orgs[0].Name},
			"UserToken":               sess.id, "ClientType": 32,
		}
	} else {
		// A failed login sets session cookies too, as every failed
		// authentication does on the observed server [I for the AuthService
		// logins: MCP observed mode-A requests only].
		setSessionCookies(w, s.newShell())
		res.Message = &msg
	}
	s.env.Stats.Record(Vendor, name, fmt.Sprintf("LoginResultType %d", typ))
	core.WriteJSON(w, http.StatusOK, res)
}

// checkLogin returns LoginResultType (1 success, 0 wrong password, -1
// failure) and the failure message.
func (s *Sim) checkLogin(name string, a map[string]string) (int, string) {
	if a["acctid"] != s.cfg.AcctID {
		return -1, msgLoginBadAcct
	}
	if l, err := strconv.Atoi(a["lcid"]); a["lcid"] != "" && (err != nil || !knownLCIDs[l]) {
		return -1, fmt.Sprintf(msgLoginBadLCID, a["lcid"])
	}
	switch name {
	case "ValidateUser":
		if a["username"] != s.cfg.Username || a["password"] != s.cfg.Password {
			return 0, msgLoginBadPwd
		}
	case "LoginByAppSecret":
		if a["username"] != s.cfg.Username {
			return -1, msgLoginBadUser
		}
		if a["appid"] != s.cfg.AppID || a["appsecret"] != s.cfg.AppSecret {
			return -1, msgLoginBadApp
		}
	case "LoginBySign":
		if a["username"] != s.cfg.Username {
			return -1, msgLoginBadUser
		}
		if a["appid"] != s.cfg.AppID {
			return -1, msgLoginBadApp
		}
		if s.cfg.StrictSignature {
			if !s.fresh(a["timestamp"]) {
				return -1, msgLoginBadTime
			}
			want := LoginSign(a["acctid"], a["username"], a["appid"], s.cfg.AppSecret, a["timestamp"])
			if !strings.EqualFold(a["sign"], want) {
				return -1, msgLoginBadSign
			}
		}
	}
	return 1, ""
}

// scalarString renders a JSON scalar as text ("2052" for 2052).
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
