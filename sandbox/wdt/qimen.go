package wdt

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// qimenShopMethod is the Qimen method of the shop list.
const qimenShopMethod = "wdt.shop.query"

// Qimen answers are HTTP 200. Gateway failures (signature, app keys,
// routing) carry flag "failure" and no errorcode; WDT's own answers, errors
// included, carry errorcode (0 on success).

type qmFailureBody struct {
	Flag       string `json:"flag"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	SubCode    string `json:"sub_code"`
	SubMessage string `json:"sub_message"`
}

type qmErrorBody struct {
	ErrorCode int    `json:"errorcode"`
	Message   string `json:"message"`
}

// qmShopsBody is a wdt.shop.query answer; Shoplist as in o2Shops.
type qmShopsBody struct {
	ErrorCode  int    `json:"errorcode"`
	Message    string `json:"message"`
	TotalCount int    `json:"total_count"`
	Shoplist   any    `json:"shoplist,omitempty"`
}

type qmEnvelope struct {
	Response any `json:"response"`
}

func (s *Sim) serveQimen(w http.ResponseWriter, r *http.Request) {
	iface := r.URL.Path // until the method is known
	gateway := func(f qimenFailure) {
		s.env.Stats.Record(Vendor, iface, f.Code)
		core.WriteJSON(w, http.StatusOK, qmEnvelope{qmFailureBody{
			Flag: "failure", Code: f.Code, Message: f.Message, SubCode: f.SubCode, SubMessage: f.SubMessage,
		}})
	}
	wdtError := func(code int, msg string) {
		s.env.Stats.Record(Vendor, iface, strconv.Itoa(code))
		core.WriteJSON(w, http.StatusOK, qmEnvelope{qmErrorBody{ErrorCode: code, Message: msg}})
	}

	params, err := readParams(w, r)
	if err != nil {
		f := qmInvalidArgs
		f.SubMessage += ": " + err.Error()
		gateway(f)
		return
	}
	method := params["method"]
	if method == "" {
		gateway(qmMissingMethod)
		return
	}
	method = strings.TrimPrefix(method, qimenMethodPrefix)
	doc := docByMethod(method)
	if method != qimenShopMethod && doc == nil {
		gateway(qmInvalidMethod)
		return
	}
	iface = method
	if f := params["format"]; f != "" && f != "json" {
		gateway(qmInvalidFormat)
		return
	}
	switch params["app_key"] {
	case "":
		gateway(qmMissingAppKey)
		return
	case s.cfg.QimenAppKey:
	default:
		gateway(qmInvalidAppKey)
		return
	}
	if m := params["sign_method"]; m != "" && m != "md5" {
		gateway(qmInvalidSignMeth)
		return
	}
	// timestamp is "yyyy-MM-dd HH:mm:ss" in China time.
	ts, err := time.ParseInLocation(core.VendorTimeLayout, params["timestamp"], core.Shanghai)
	if err != nil || !s.withinSkew(ts, defaultQimenSkew) {
		gateway(qmInvalidTime)
		return
	}
	if !signEqual(params["sign"], qimenSign(signedFields(params), s.cfg.QimenAppSecret)) {
		gateway(qmSignError)
		return
	}
	if params["target_app_key"] != s.cfg.QimenTargetAppKey {
		gateway(qmInvalidTarget)
		return
	}

	// Routed to WDT: the seller account is checked by the ERP itself.
	if params["sid"] != s.cfg.SID {
		wdtError(codeUnknownSID, msgUnknownSID)
		return
	}
	// The TOP SDK class also carries the WDT appkey; ITITO omits it. When
	// sent it must be the account's [I].
	if k := params["appkey"]; k != "" && k != s.cfg.AppKey {
		wdtError(codeAppAuthFailed, msgAppAuthFailed)
		return
	}
	if s.rateLimited(params["sid"]) {
		wdtError(codeRateLimited, msgRateLimited)
		return
	}
	if doc != nil {
		q, err := parseDocQuery(doc, params)
		if err != nil {
			wdtError(codeBadParam, err.Error())
			return
		}
		a := s.docPage(q, iface)
		s.env.Stats.Record(Vendor, iface, strconv.Itoa(codeOK))
		core.WriteJSON(w, http.StatusOK, qmEnvelope{a.fields(doc, map[string]any{"errorcode": codeOK, "message": ""})})
		return
	}
	q, err := parseShopQuery(params)
	if err != nil {
		wdtError(codeBadParam, err.Error())
		return
	}
	a := s.shopPage(q, iface)
	s.env.Stats.Record(Vendor, iface, strconv.Itoa(codeOK))
	core.WriteJSON(w, http.StatusOK, qmEnvelope{qmShopsBody{ErrorCode: codeOK, Message: "", TotalCount: a.total, Shoplist: a.list()}})
}
