package jushuitan

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/erpsync/erpsync/sandbox/core"
)

// Vendor is the name used in Stats and by Name.
const Vendor = "jushuitan"

// Paths of the openweb interfaces the simulator serves.
const (
	PathOtherInout   = "/open/other/inout/query"
	PathSkusn        = "/open/webapi/wmsapi/skusn/queryinoutitemskusns"
	PathSaleout      = "/open/orders/out/simple/query"
	PathReceived     = "/open/aftersale/received/query"
	PathPurchasein   = "/open/purchasein/query"
	PathPurchaseout  = "/open/purchaseout/query"
	PathOrders       = "/open/orders/single/query"
	PathRefund       = "/open/refund/single/query"
	PathInventory    = "/open/inventory/query"
	PathSKU          = "/open/sku/query"
	PathInitToken    = "/openWeb/auth/getInitToken"
	PathAccessToken  = "/openWeb/auth/accessToken"
	PathRefreshToken = "/openWeb/auth/refreshToken"
	// pathOpenPrefix catches every other business path, answered with 190.
	pathOpenPrefix = "/open/"
)

// Dataset names registered with the Env.
const (
	DatasetOtherInout  = "jushuitan_other_inout"
	DatasetSkusn       = "jushuitan_skusn"
	DatasetSaleout     = "jushuitan_saleout"
	DatasetReceived    = "jushuitan_aftersale_received"
	DatasetPurchasein  = "jushuitan_purchasein"
	DatasetPurchaseout = "jushuitan_purchaseout"
	DatasetOrders      = "jushuitan_orders"
	DatasetRefund      = "jushuitan_refunds"
	DatasetInventory   = "jushuitan_inventory"
	DatasetSKU         = "jushuitan_skus"
)

// DefaultTokenTTL is the access-token lifetime when neither Config.TokenTTL
// nor the token_ttl fault says otherwise.
const DefaultTokenTTL = 30 * 24 * time.Hour

// Config holds the credentials of the one simulated app and merchant, and
// the vendor switches.
type Config struct {
	AppKey       string
	AppSecret    string
	AccessToken  string // valid from the sandbox start
	RefreshToken string // pairs with AccessToken
	// Provider makes the app a service-provider (服务商) app: refreshToken
	// answers code 150 and the merchant must re-authorize (accessToken).
	Provider bool
	// TokenTTL is the access-token lifetime when the token_ttl fault is 0;
	// 0 means DefaultTokenTTL.
	TokenTTL time.Duration
}

// DefaultConfig returns the documented sandbox credentials.
func DefaultConfig() Config {
	return Config{
		AppKey:       "sandbox-jst-app",
		AppSecret:    "sandbox-jst-secret",
		AccessToken:  "sandbox-jst-token",
		RefreshToken: "sandbox-jst-refresh",
		TokenTTL:     DefaultTokenTTL,
	}
}

// Sim simulates the Jushuitan openweb API.
type Sim struct {
	env     *core.Env
	cfg     Config
	limiter *core.Limiter
	tok     tokenStore

	mu       sync.RWMutex // guards the dataset pointers swapped by Reset
	inout    *inoutData
	skusn    *skusnData
	saleout  *saleoutData
	received *receivedData
	purchin  *purchaseinData
	purchout *purchaseoutData
	orders   *ordersData
	refund   *refundData
	inv      *itemsData
	skus     *itemsData
}

// New builds the simulator and registers its datasets with env.
func New(env *core.Env, cfg Config) (*Sim, error) {
	if env == nil {
		return nil, errors.New("nil env")
	}
	if cfg.AppKey == "" || cfg.AppSecret == "" || cfg.AccessToken == "" || cfg.RefreshToken == "" {
		return nil, errors.New("app key, app secret, access token and refresh token are required")
	}
	if cfg.TokenTTL < 0 {
		return nil, errors.New("token TTL must not be negative")
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	s := &Sim{env: env, cfg: cfg, limiter: newLimiter()}
	s.Reset()
	return s, nil
}

// Name is the vendor name.
func (s *Sim) Name() string { return Vendor }

// Reset regenerates the datasets from the seed, restores the configured
// token pair (issued at the sandbox start) and clears the rate limiter.
func (s *Sim) Reset() {
	// The datasets are independent; building them side by side shortens
	// the start of a million-row sandbox.
	var inout *inoutData
	var skusn *skusnData
	var saleout *saleoutData
	var received *receivedData
	var purchin *purchaseinData
	var purchout *purchaseoutData
	var orders *ordersData
	var refund *refundData
	var inv, skus *itemsData
	var wg sync.WaitGroup
	wg.Go(func() { inout = buildInout(s.env) })
	wg.Go(func() {
		// Purchase returns send back received purchase-ins.
		purchin = buildPurchasein(s.env)
		purchout = buildPurchaseout(s.env, purchin)
	})
	wg.Go(func() {
		// Receipts of returns refer to shipped sales-out documents, orders
		// are the sales-out documents' orders, after-sales the receipts'.
		saleout = buildSaleout(s.env)
		var after sync.WaitGroup
		after.Go(func() { orders = buildOrders(s.env, saleout) })
		received = buildReceived(s.env, saleout)
		refund = buildRefund(s.env, received)
		after.Wait()
	})
	skusn = buildSkusn(s.env)
	inv, skus = buildInventory(s.env), buildSKUs(s.env)
	wg.Wait()
	s.mu.Lock()
	s.inout, s.skusn, s.saleout, s.received = inout, skusn, saleout, received
	s.purchin, s.purchout = purchin, purchout
	s.orders, s.refund, s.inv, s.skus = orders, refund, inv, skus
	s.mu.Unlock()
	s.env.AddDataset(inout.ds)
	s.env.AddDataset(skusn.ds)
	s.env.AddDataset(saleout.ds)
	s.env.AddDataset(received.ds)
	s.env.AddDataset(purchin.ds)
	s.env.AddDataset(purchout.ds)
	s.env.AddDataset(orders.ds)
	s.env.AddDataset(refund.ds)
	s.env.AddDataset(inv.ds)
	s.env.AddDataset(skus.ds)
	s.tok.reset(s.cfg.AccessToken, s.cfg.RefreshToken, s.env.Start())
	s.limiter.Reset()
}

func (s *Sim) data() (*inoutData, *skusnData) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.inout, s.skusn
}

func (s *Sim) saleoutData() *saleoutData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.saleout
}

func (s *Sim) receivedData() *receivedData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.received
}

func (s *Sim) purchaseinData() *purchaseinData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.purchin
}

func (s *Sim) purchaseoutData() *purchaseoutData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.purchout
}

func (s *Sim) ordersData() *ordersData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.orders
}

func (s *Sim) refundData() *refundData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.refund
}

func (s *Sim) inventoryData() *itemsData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.inv
}

func (s *Sim) skuData() *itemsData {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.skus
}

// Credentials are what a client needs; the token pair is the one in force
// (it changes after a refresh).
type Credentials struct {
	AppKey       string `json:"app_key"`
	AppSecret    string `json:"app_secret"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Provider     bool   `json:"provider"`
}

// Credentials returns the app credentials and the current token pair.
func (s *Sim) Credentials() any {
	access, refresh, _ := s.tok.current()
	return Credentials{
		AppKey: s.cfg.AppKey, AppSecret: s.cfg.AppSecret,
		AccessToken: access, RefreshToken: refresh, Provider: s.cfg.Provider,
	}
}

// Register adds the vendor paths (wrapped with the transport faults) and
// GET /_sandbox/jushuitan/credentials (not wrapped).
func (s *Sim) Register(mux *http.ServeMux) {
	wrap := func(h http.HandlerFunc) http.Handler { return s.env.Wrap(Vendor, h) }
	mux.Handle(PathOtherInout, wrap(s.bizHandler(PathOtherInout, s.queryOtherInout)))
	mux.Handle(PathSkusn, wrap(s.bizHandler(PathSkusn, s.querySkusn)))
	mux.Handle(PathSaleout, wrap(s.bizHandler(PathSaleout, s.querySaleout)))
	mux.Handle(PathReceived, wrap(s.bizHandler(PathReceived, s.queryReceived)))
	mux.Handle(PathPurchasein, wrap(s.bizHandler(PathPurchasein, s.queryPurchasein)))
	mux.Handle(PathPurchaseout, wrap(s.bizHandler(PathPurchaseout, s.queryPurchaseout)))
	mux.Handle(PathOrders, wrap(s.bizHandler(PathOrders, s.queryOrders)))
	mux.Handle(PathRefund, wrap(s.bizHandler(PathRefund, s.queryRefund)))
	mux.Handle(PathInventory, wrap(s.bizHandler(PathInventory, s.queryInventory)))
	mux.Handle(PathSKU, wrap(s.bizHandler(PathSKU, s.querySKU)))
	// Any other /open/ path is a business interface the app was not
	// granted: it still goes through signature and token checks, then 190.
	mux.Handle(pathOpenPrefix, wrap(s.bizHandler("", nil)))
	mux.Handle(PathInitToken, wrap(s.tokenHandler(PathInitToken)))
	mux.Handle(PathAccessToken, wrap(s.tokenHandler(PathAccessToken)))
	mux.Handle(PathRefreshToken, wrap(s.tokenHandler(PathRefreshToken)))
	mux.HandleFunc("GET /_sandbox/jushuitan/credentials", func(w http.ResponseWriter, _ *http.Request) {
		core.WriteJSON(w, http.StatusOK, s.Credentials())
	})
}
