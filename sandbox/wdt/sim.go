package wdt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Vendor is the name used in Stats and by core.Simulator.
const Vendor = "wdt"

// Paths served.
const (
	Openapi2Prefix = "/openapi2/"
	QimenPath      = "/router/qm"
	QimenTestPath  = "/router/qmtest"
)

// maxBody bounds a request body; a shop query is a few hundred bytes.
const maxBody = 1 << 20

// Sim simulates WDT enterprise edition's shop list and document
// interfaces on both routes.
type Sim struct {
	env     *core.Env
	cfg     Config
	limiter *core.Limiter

	mu   sync.RWMutex
	ds   *core.Dataset
	ix   *shopIndex
	docs map[string]*core.Dataset // document datasets by name
}

var _ core.Simulator = (*Sim)(nil)

// New builds the simulator and registers its dataset with env.
func New(env *core.Env, cfg Config) (*Sim, error) {
	for name, v := range map[string]string{
		"SID": cfg.SID, "AppKey": cfg.AppKey, "AppSecret": cfg.AppSecret,
		"QimenAppKey": cfg.QimenAppKey, "QimenAppSecret": cfg.QimenAppSecret, "QimenTargetAppKey": cfg.QimenTargetAppKey,
	} {
		if v == "" {
			return nil, fmt.Errorf("wdt: config %s is empty", name)
		}
	}
	s := &Sim{env: env, cfg: cfg, limiter: core.NewLimiter(shopRate)}
	s.load()
	return s, nil
}

func (s *Sim) load() {
	docs, attrs := genShops(s.env)
	ix := buildIndex(attrs)
	ds := core.NewDataset(DatasetShops, docs, mutateShop)
	seed := s.env.Seed
	ds.SetRender(func(doc core.Doc) any { return renderShop(seed, doc) })
	gen := genDocs(s.env)
	dsets := map[string]*core.Dataset{}
	for _, x := range []struct {
		name   string
		docs   []core.Doc
		mutate core.Mutator
	}{
		{DatasetTrades, gen.trades, mutateRemark("cs_remark")},
		{DatasetStockouts, gen.stockouts, mutateRemark("remark")},
		{DatasetRefunds, gen.refunds, mutateRemark("remark")},
		{DatasetRefundStockins, gen.refundIns, mutateRemark("remark")},
		{DatasetPurchaseIns, gen.purchaseIns, mutateRemark("remark")},
		{DatasetStocks, gen.stocks, mutateStock},
		{DatasetGoods, gen.goods, mutateRemark("remark")},
	} {
		d := core.NewDataset(x.name, x.docs, x.mutate)
		d.SetRender(func(doc core.Doc) any { return renderDoc(doc) })
		dsets[x.name] = d
	}
	s.mu.Lock()
	s.ds, s.ix, s.docs = ds, ix, dsets
	s.mu.Unlock()
	s.env.AddDataset(ds)
	for _, name := range DatasetNames()[1:] {
		s.env.AddDataset(dsets[name])
	}
}

// Name is "wdt".
func (s *Sim) Name() string { return Vendor }

// Register serves /openapi2/*.php and the Qimen router (/router/qm and the
// test gateway's /router/qmtest), wrapped with the transport faults.
func (s *Sim) Register(mux *http.ServeMux) {
	mux.Handle(Openapi2Prefix, s.env.Wrap(Vendor, http.HandlerFunc(s.serveOpenapi2)))
	qm := s.env.Wrap(Vendor, http.HandlerFunc(s.serveQimen))
	mux.Handle(QimenPath, qm)
	mux.Handle(QimenTestPath, qm)
}

// Reset regenerates the shops from the seed and forgets rate-limit state.
func (s *Sim) Reset() {
	s.load()
	s.limiter.Reset()
}

// Credentials returns both routes' credentials.
func (s *Sim) Credentials() any {
	return Credentials{
		Openapi2: Openapi2Credentials{BasePath: Openapi2Prefix, SID: s.cfg.SID, AppKey: s.cfg.AppKey, AppSecret: s.cfg.AppSecret},
		Qimen: QimenCredentials{
			Path: QimenPath, TestPath: QimenTestPath,
			AppKey: s.cfg.QimenAppKey, AppSecret: s.cfg.QimenAppSecret, TargetAppKey: s.cfg.QimenTargetAppKey,
			SID: s.cfg.SID,
		},
	}
}

func (s *Sim) skew(def time.Duration) time.Duration {
	if s.cfg.TimestampSkew != 0 {
		return s.cfg.TimestampSkew
	}
	return def
}

// withinSkew reports whether t is close enough to the sandbox clock.
func (s *Sim) withinSkew(t time.Time, def time.Duration) bool {
	limit := s.skew(def)
	if limit < 0 {
		return true
	}
	d := s.env.Now().Sub(t)
	return d <= limit && d >= -limit
}

// rateLimited takes one call from the account's budget (when limits are on).
func (s *Sim) rateLimited(sid string) bool {
	return s.env.Limits && s.limiter.Allow(sid, s.env.Now()) >= 0
}

// readParams collects the request's fields: the query string, then form
// fields (urlencoded or multipart) which win over it, then the fields of a
// JSON object body, which only fill gaps (ITITO repeats the query fields in
// a JSON body). Repeated keys keep their first value.
func readParams(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	params := map[string]string{}
	for k, vs := range r.URL.Query() {
		params[k] = vs[0]
	}
	if r.Body == nil {
		return params, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, vs := range r.PostForm {
			params[k] = vs[0]
		}
		return params, nil
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return nil, err
		}
		for k, vs := range r.MultipartForm.Value {
			params[k] = vs[0]
		}
		return params, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return params, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("JSON body: %w", err)
	}
	for k, v := range obj {
		if _, ok := params[k]; ok {
			continue
		}
		params[k] = jsonScalar(v)
	}
	return params, nil
}

// jsonScalar renders a JSON body value as the string a form field would
// carry; nested values stay JSON-encoded, as openapi2 sends them.
func jsonScalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// parseShopQuery validates the business fields of shop.php and
// wdt.shop.query. It returns the vendor's message on bad input.
func parseShopQuery(p map[string]string) (shopQuery, error) {
	q := shopQuery{shopNo: p["shop_no"], pageSize: defaultPageSize}
	if v := p["page_size"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minPageSize || n > maxPageSize {
			return q, fmt.Errorf("page_size参数错误: %q,取值范围%d-%d", v, minPageSize, maxPageSize)
		}
		q.pageSize = n
	}
	if v := p["page_no"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, fmt.Errorf("page_no参数错误: %q,页号从0开始", v)
		}
		q.pageNo = n
	}
	// platform is the documented name; platform_id and platform_ids are
	// what one community client sends. All are honoured [I].
	for _, f := range []string{"platform", "platform_id", "platform_ids"} {
		v := p[f]
		if v == "" {
			continue
		}
		for _, part := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || n < 0 {
				return q, fmt.Errorf("%s参数错误: %q", f, v)
			}
			q.platforms = append(q.platforms, n)
		}
	}
	dis, ok := parseDisabled(p["is_disabled"])
	if !ok {
		return q, fmt.Errorf("is_disabled参数错误: %q,只能为0或1", p["is_disabled"])
	}
	q.disabled = dis
	return q, nil
}

// shopAnswer is one page of the shop list as both routes answer it.
type shopAnswer struct {
	total int
	rows  []map[string]any
	null  core.NullKind
}

// list is the value of the shoplist key: the rows, JSON null, or nil for
// a null answer without the key (the answer structs omit it).
func (a shopAnswer) list() any {
	switch a.null {
	case core.NullList:
		return json.RawMessage("null")
	case core.MissingList:
		return nil
	}
	return a.rows
}

// shopPage serves one page of q: the total over all pages and the rows of
// page q.pageNo in shop_id order (or the order the answer faults ask). It
// then applies the mutate fault to the shops the query covers. iface names
// the answer in Stats.
func (s *Sim) shopPage(q shopQuery, iface string) shopAnswer {
	s.mu.RLock()
	ds, ix := s.ds, s.ix
	s.mu.RUnlock()
	af := s.env.Faults().AnswerFor(DatasetShops)
	// [I] a null answer keeps total_count and has shoplist null or absent.
	pg := s.env.NewPage(af, core.PageSpec{
		Vendor: Vendor, Iface: iface,
		Offset: int(min(int64(q.pageNo)*int64(q.pageSize), math.MaxInt32)), Size: q.pageSize,
		Nulls: []core.NullKind{core.NullList, core.MissingList},
	})
	ids := ix.ids(q)
	if af.Reorders() {
		ids = slices.Clone(ids) // ix.ids may return the index's own slice
		c := q
		c.pageNo = 0
		core.Arrange(ids, af.Order, s.env.Seed, core.QueryKey(fmt.Sprintf("shops %+v", c)), func(id int) int64 { return int64(id) })
	}
	page := core.Window(ids, pg.Offset, pg.Size)
	keep, total := pg.Cut(len(ids), len(page))
	rows := []map[string]any{}
	for _, id := range page[:keep] {
		if d, ok := ds.Get(strconv.Itoa(id)); ok {
			rows = append(rows, renderShop(s.env.Seed, d))
			ds.MarkServed(d.ID, d.Version)
		}
	}
	s.env.MaybeMutate(ds, func(d *core.Doc) bool {
		id, _ := d.Body["shop_id"].(int)
		return ix.matches(q, id)
	})
	return shopAnswer{total: total, rows: rows, null: pg.Null}
}
