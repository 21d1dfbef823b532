package kis

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/vendor"
	"github.com/erpsync/erpsync/sandbox/core"
)

func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientCreateClassifiesAnswers(t *testing.T) {
	sb := startSandbox(t, nil)
	c := newTestClient(t, sandboxConfig(sb, nil))
	ctx := context.Background()

	if _, err := c.Create(ctx, DefaultCreatePath, makeBill("DUP001", 1)); err != nil {
		t.Fatalf("first create: %v", err)
	}
	badItem := strings.Replace(string(makeBill("BAD001", 1)), core.Catalog(1)[1].ID, "NO-SUCH-SKU", 1)
	tests := []struct {
		name     string
		bill     string
		wantKind vendor.Kind
		wantDup  bool
		wantCode string
	}{
		{"duplicate number", string(makeBill("DUP001", 1)), vendor.Permanent, true, "20002"},
		{"unknown material", badItem, vendor.Permanent, false, "20003"},
		{"no head", `{"Entry":[]}`, vendor.Permanent, false, "20001"},
		{"not an object", `[1,2]`, vendor.Permanent, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Create(ctx, DefaultCreatePath, json.RawMessage(tt.bill))
			var ve *vendor.Error
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *vendor.Error", err)
			}
			if ve.Kind != tt.wantKind || IsDuplicate(err) != tt.wantDup || ve.Code != tt.wantCode {
				t.Fatalf("got kind %v dup %v code %q (%v), want %v %v %q", ve.Kind, IsDuplicate(err), ve.Code, err, tt.wantKind, tt.wantDup, tt.wantCode)
			}
			if ve.Vendor != "kis" || ve.Interface != DefaultCreatePath {
				t.Fatalf("error names %s %s", ve.Vendor, ve.Interface)
			}
		})
	}
	got, err := c.Create(ctx, DefaultCreatePath, makeBill("OK0001", 2))
	if err != nil || got.FBillNo != "OK0001" || got.FID == 0 {
		t.Fatalf("create = %+v, %v", got, err)
	}
}

func TestClientLoginErrorsNameTheFailureNotTheSecret(t *testing.T) {
	sb := startSandbox(t, nil)
	tests := []struct {
		name      string
		mutate    func(*Config)
		wantIface string
		wantCode  string
		wantMsg   string
	}{
		{"wrong client_secret", func(c *Config) { c.ClientSecret = "wrong-secret-4711" }, pathAccessToken, "40001", "client_secret错误"},
		{"wrong auth code", func(c *Config) { c.AuthCode = "wrong-code-4711" }, pathAccessToken, "40002", "授权码"},
		{"wrong account", func(c *Config) { c.AcctNumber = "no-such-acct" }, pathGateway, "40006", "acctnumber=no-such-acct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sandboxConfig(sb, nil)
			tt.mutate(&cfg)
			c := newTestClient(t, cfg)
			err := c.Login(context.Background())
			var ve *vendor.Error
			if !IsAuthFailure(err) || !errors.As(err, &ve) {
				t.Fatalf("err = %v, want an auth failure", err)
			}
			if ve.Interface != tt.wantIface || ve.Code != tt.wantCode || ve.Kind != vendor.Permanent || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want %s code %s permanent mentioning %q", err, tt.wantIface, tt.wantCode, tt.wantMsg)
			}
			for _, secret := range []string{cfg.ClientSecret, cfg.AuthCode} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestClientRefreshesAheadOfExpiry(t *testing.T) {
	clock := newFakeClock()
	sb := startSandbox(t, clock)
	c := newTestClient(t, sandboxConfig(sb, clock))
	ctx := context.Background()
	if _, err := c.Create(ctx, DefaultCreatePath, makeBill("AHEAD1", 1)); err != nil {
		t.Fatal(err)
	}
	// The access token lives 2 h; 5 min before its end it is inside the
	// 10 min margin, so the client refreshes before calling.
	clock.Advance(2*time.Hour - 5*time.Minute)
	if _, err := c.Create(ctx, DefaultCreatePath, makeBill("AHEAD2", 2)); err != nil {
		t.Fatal(err)
	}
	if n := count(sb, pathRefreshLogin, "0"); n != 1 {
		t.Fatalf("refresh_login_access_token calls = %d, want 1", n)
	}
	if n := count(sb, DefaultCreatePath, "40102"); n != 0 {
		t.Fatalf("expired-token answers = %d, want 0 (refresh must come first)", n)
	}
	if n := count(sb, pathAccessToken, ""); n != 1 {
		t.Fatalf("code exchanges = %d, want 1", n)
	}
}

func TestClientRenewsRefusedCredentials(t *testing.T) {
	tests := []struct {
		name          string
		faults        core.Faults
		refusedCode   string
		wantExchanges int
	}{
		{"token_ttl", core.Faults{TokenTTL: core.Duration(time.Minute)}, "40102", 1},
		{"session_ttl", core.Faults{SessionTTL: core.Duration(time.Minute)}, "40104", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			sb := startSandbox(t, clock)
			c := newTestClient(t, sandboxConfig(sb, clock))
			ctx := context.Background()
			if _, err := c.Create(ctx, DefaultCreatePath, makeBill("RENEW1", 1)); err != nil {
				t.Fatal(err)
			}
			// Lifetimes shortened after issue: the client still believes
			// the old expiry, so only the refusal tells it.
			setFaults(t, sb, tt.faults)
			clock.Advance(2 * time.Minute)
			if _, err := c.Create(ctx, DefaultCreatePath, makeBill("RENEW2", 2)); err != nil {
				t.Fatalf("create after expiry: %v", err)
			}
			if n := count(sb, DefaultCreatePath, tt.refusedCode); n != 1 {
				t.Fatalf("refusals %s = %d, want 1", tt.refusedCode, n)
			}
			if n := count(sb, pathAccessToken, "0"); n != tt.wantExchanges {
				t.Fatalf("code exchanges = %d, want %d", n, tt.wantExchanges)
			}
			exactlyOnce(t, sb, []string{"RENEW1", "RENEW2"})
		})
	}
}

func TestClientRenewalIsSingleFlight(t *testing.T) {
	clock := newFakeClock()
	sb := startSandbox(t, clock)
	c := newTestClient(t, sandboxConfig(sb, clock))
	run := func(from int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := from; i < from+16; i++ {
			wg.Go(func() {
				if _, err := c.Create(context.Background(), DefaultCreatePath, makeBill(billNo(i), i)); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	run(0)
	if a, g := count(sb, pathAccessToken, ""), count(sb, pathGateway, ""); a != 1 || g != 1 {
		t.Fatalf("16 concurrent first calls: %d code exchanges, %d gateway calls; want 1 and 1", a, g)
	}
	clock.Advance(2*time.Hour - time.Minute)
	run(100)
	if n := count(sb, pathRefreshLogin, ""); n != 1 {
		t.Fatalf("16 concurrent calls at expiry: %d refreshes, want 1", n)
	}
}

func TestClientTimeoutIsTransientAndLeaksNoSecret(t *testing.T) {
	sb := startSandbox(t, nil)
	cfg := sandboxConfig(sb, nil)
	cfg.Timeout = 200 * time.Millisecond
	c := newTestClient(t, cfg)
	ctx := context.Background()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	setFaults(t, sb, core.Faults{TimeoutRate: 1})
	_, err := c.Create(ctx, DefaultCreatePath, makeBill("TIMEOUT1", 1))
	if vendor.KindOf(err) != vendor.Transient || !strings.Contains(err.Error(), "outcome unknown") {
		t.Fatalf("err = %v, want a transient 'outcome unknown' error", err)
	}
	cr := c.load()
	for _, secret := range []string{cfg.ClientSecret, cfg.AuthCode, cr.accessToken, cr.authData, cr.sessionSecret} {
		if strings.Contains(err.Error(), secret) || strings.Contains(errors.Unwrap(err).Error(), secret) {
			t.Fatalf("error leaks a secret: %v", err)
		}
	}
}

func TestReadExpiry(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	tests := []struct {
		name       string
		raw        string
		wantAt     time.Time
		wantMargin time.Duration
	}{
		{"absolute unix seconds", `1750007200`, time.Unix(1_750_007_200, 0), refreshMargin},
		{"absolute as string", `"1750007200"`, time.Unix(1_750_007_200, 0), refreshMargin},
		{"relative seconds", `7200`, now.Add(2 * time.Hour), refreshMargin},
		{"short life gets a quarter margin", `120`, now.Add(2 * time.Minute), 30 * time.Second},
		{"absent", ``, time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readExpiry(json.RawMessage(tt.raw), now)
			if !got.at.Equal(tt.wantAt) || got.margin != tt.wantMargin {
				t.Fatalf("readExpiry(%s) = %v / %v, want %v / %v", tt.raw, got.at, got.margin, tt.wantAt, tt.wantMargin)
			}
		})
	}
}

func TestClassifyBusiness(t *testing.T) {
	tests := []struct {
		name   string
		status int
		desc   string
		kind   vendor.Kind
		dup    bool
	}{
		{"duplicate number", 200, "单据编号FBillNo[JST1]已存在，单据编号重复", vendor.Permanent, true},
		{"duplicate naming only the number", 200, "JST1 已存在", vendor.Permanent, true},
		{"exists but not a number", 200, "物料已存在", vendor.Permanent, false},
		{"expired token", 401, "access_token已过期，请刷新登录", vendor.Expired, false},
		{"auth data", 200, "auth_data无效或已过期，请刷新授权", vendor.Expired, false},
		{"bare 403", 403, "forbidden", vendor.Expired, false},
		{"rate limited", 429, "请求过于频繁，请稍后再试", vendor.RateLimited, false},
		{"server error", 500, "internal", vendor.Transient, false},
		{"validation", 200, "第1行分录物料FItemID[X]不存在", vendor.Permanent, false},
		{"row rejected", 200, "单据[JST1]保存校验失败：第1行物料[SKU1]已禁用或库存状态异常，不允许入库", vendor.Permanent, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, dup := classifyBusiness(tt.status, tt.desc, "JST1")
			if kind != tt.kind || dup != tt.dup {
				t.Fatalf("classifyBusiness(%d, %q) = %v, %v; want %v, %v", tt.status, tt.desc, kind, dup, tt.kind, tt.dup)
			}
		})
	}
}

func TestNonEnvelopeAnswers(t *testing.T) {
	c := newTestClient(t, Config{BaseURL: "http://x", ClientID: "a", ClientSecret: "b", AuthCode: "c", AcctNumber: "d"})
	tests := []struct {
		status int
		body   string
		kind   vendor.Kind
	}{
		{http.StatusBadGateway, "<html>502 Bad Gateway</html>", vendor.Transient},
		{http.StatusTooManyRequests, "slow down", vendor.RateLimited},
		{http.StatusNotFound, "<html>not found</html>", vendor.Permanent},
		{http.StatusOK, `{"code":1}`, vendor.Permanent},
	}
	for _, tt := range tests {
		_, err := c.envelope(DefaultCreatePath, tt.status, []byte(tt.body))
		if vendor.KindOf(err) != tt.kind {
			t.Errorf("status %d %q: kind %v (%v), want %v", tt.status, tt.body, vendor.KindOf(err), err, tt.kind)
		}
	}
}
