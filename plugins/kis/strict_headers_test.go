package kis

import (
	"context"
	"testing"

	"github.com/erpsync/erpsync/sandbox"
)

// TestClientSendsTheFullHeaderSet: the sandbox accepts a missing Kis-Ver
// and an unsigned get_service_gateway by default, as production does; the
// client still sends every header KISTS sends, so it passes the strict mode
// through login, gateway, renewal and business calls.
func TestClientSendsTheFullHeaderSet(t *testing.T) {
	o := sandbox.DefaultOptions()
	o.Records = 10
	o.Limits = false
	o.KIS.StrictHeaders = true
	sb, err := sandbox.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	c := newTestClient(t, sandboxConfig(sb, nil))
	ctx := context.Background()
	if _, err := c.Create(ctx, DefaultCreatePath, makeBill("STRICT1", 1)); err != nil {
		t.Fatalf("create: %v", err)
	}
	sb.ExpireTokens() // the next call renews through the refresh paths
	if _, err := c.Create(ctx, DefaultCreatePath, makeBill("STRICT2", 1)); err != nil {
		t.Fatalf("create after expiry: %v", err)
	}
	for _, p := range []string{"/koas/oauth2/access_token", "/koas/user/get_service_gateway", "/koas/user/refresh_login_access_token", "/koas/user/refresh_auth_data", DefaultCreatePath} {
		for _, code := range []string{"40003", "40004"} {
			if n := count(sb, p, code); n != 0 {
				t.Errorf("%s answered %s %d times", p, code, n)
			}
		}
	}
	if count(sb, "/koas/user/get_service_gateway", "0") == 0 {
		t.Fatal("the client never called get_service_gateway")
	}
}
