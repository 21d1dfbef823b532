package wdt

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// openapi2 answers are HTTP 200 with a JSON envelope whatever the outcome;
// success is code 0.

type o2Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// o2Shops is a shop.php answer; Shoplist is the rows, JSON null or nil
// (absent) for a null answer.
type o2Shops struct {
	Code       int    `json:"code"`
	Message    string `json:"message"`
	TotalCount int    `json:"total_count"`
	Shoplist   any    `json:"shoplist,omitempty"`
}

// o2Known tells whether the sandbox serves openapi2 interface name.
func o2Known(name string) bool { return name == "shop.php" || docByPHP(name) != nil }

func (s *Sim) serveOpenapi2(w http.ResponseWriter, r *http.Request) {
	iface := r.URL.Path
	fail := func(code int, msg string) {
		s.env.Stats.Record(Vendor, iface, strconv.Itoa(code))
		core.WriteJSON(w, http.StatusOK, o2Error{Code: code, Message: msg})
	}
	name := strings.TrimPrefix(r.URL.Path, Openapi2Prefix)
	if !o2Known(name) {
		fail(codeNoInterface, msgNoInterface+": "+name)
		return
	}
	params, err := readParams(w, r)
	if err != nil {
		fail(codeBadParam, "请求参数解析失败: "+err.Error())
		return
	}
	for _, f := range []string{"sid", "appkey", "timestamp", "sign"} {
		if params[f] == "" {
			fail(codeBadParam, "缺少系统参数: "+f)
			return
		}
	}
	if params["sid"] != s.cfg.SID {
		fail(codeUnknownSID, msgUnknownSID)
		return
	}
	if params["appkey"] != s.cfg.AppKey {
		fail(codeAppAuthFailed, msgAppAuthFailed)
		return
	}
	// timestamp is Unix seconds (北京时间1970-01-01 08:00:00起的秒数).
	ts, err := strconv.ParseInt(params["timestamp"], 10, 64)
	if err != nil {
		fail(codeTimestamp, "timestamp格式错误,应为秒级时间戳")
		return
	}
	if !s.withinSkew(time.Unix(ts, 0), defaultOpenapi2Skew) {
		fail(codeTimestamp, "timestamp已过期,请校准服务器时间")
		return
	}
	signed := signedFields(params)
	got := params["sign"]
	if !signEqual(got, openapi2Sign(signed, s.cfg.AppSecret, false)) &&
		!(s.cfg.ByteLengthSign && signEqual(got, openapi2Sign(signed, s.cfg.AppSecret, true))) {
		fail(codeSignError, msgSignError)
		return
	}
	if s.rateLimited(params["sid"]) {
		fail(codeRateLimited, msgRateLimited)
		return
	}
	if k := docByPHP(name); k != nil {
		q, err := parseDocQuery(k, params)
		if err != nil {
			fail(codeBadParam, err.Error())
			return
		}
		a := s.docPage(q, iface)
		s.env.Stats.Record(Vendor, iface, strconv.Itoa(codeOK))
		core.WriteJSON(w, http.StatusOK, a.fields(k, map[string]any{"code": codeOK, "message": ""}))
		return
	}
	q, err := parseShopQuery(params)
	if err != nil {
		fail(codeBadParam, err.Error())
		return
	}
	a := s.shopPage(q, iface)
	s.env.Stats.Record(Vendor, iface, strconv.Itoa(codeOK))
	core.WriteJSON(w, http.StatusOK, o2Shops{Code: codeOK, Message: "", TotalCount: a.total, Shoplist: a.list()})
}
