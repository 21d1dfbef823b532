package kis

import (
	"errors"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/internal/vendor"
)

// TestConfigHint: a permanent koas refusal names the kis output's config
// fields and the shipped configs' environment variables, never a Go name.
func TestConfigHint(t *testing.T) {
	tests := []struct {
		name, msg string
		want      []string
	}{
		{"missing pid", "缺少参数pid", []string{"check pid (KIS_PID in the shipped configs)"}},
		{"unknown account", "账套或应用不存在或无权访问：acctnumber=x", []string{"check acct_number (KIS_ACCT_NUMBER in the shipped configs)"}},
		{"missing icrmid", "缺少参数icrmid", []string{"check icrmid (KIS_ICRMID"}},
		{"bad app credential", "应用授权失败：client_id或client_secret错误", []string{"check client_id, client_secret (KIS_CLIENT_ID, KIS_CLIENT_SECRET"}},
		{"nothing named", "拒绝访问", []string{"client_id, client_secret, auth_code, acct_number, pid and icrmid", "re-authorize"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := &AuthError{Err: &vendor.Error{Vendor: vendorName, Interface: "/koas/user/get_service_gateway", Code: "40000", Msg: tt.msg, Kind: vendor.Permanent}}
			got := ConfigHint(err)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("ConfigHint = %q, want it to hold %q", got, w)
				}
			}
			for _, goName := range []string{"AcctNumber", "ClientID", "ClientSecret", "AuthCode", "Config."} {
				if strings.Contains(got, goName) {
					t.Errorf("ConfigHint = %q names Go field %s", got, goName)
				}
			}
		})
	}
}

func TestIsConfigAnswer(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no such interface", &vendor.Error{Code: "40400", Kind: vendor.Permanent}, true},
		{"HTTP 404", &vendor.Error{Status: 404, Kind: vendor.Permanent}, true},
		{"a bill refused for its content", &vendor.Error{Code: "20005", Kind: vendor.Permanent}, false},
		{"transient 404 is not", &vendor.Error{Code: "40400", Kind: vendor.Transient}, false},
		{"not a vendor error", errors.New("x"), false},
	}
	for _, tt := range tests {
		if got := isConfigAnswer(tt.err); got != tt.want {
			t.Errorf("%s: isConfigAnswer = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestNewClientNamesConfigFields: a missing setting is named as the user
// writes it in the kis output (acct_number), not as the Go field.
func TestNewClientNamesConfigFields(t *testing.T) {
	full := Config{BaseURL: "http://127.0.0.1:1", ClientID: "c", ClientSecret: "s", AuthCode: "a", AcctNumber: "n"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"base_url", func(c *Config) { c.BaseURL = "" }, "kis: base_url is required"},
		{"bad base_url", func(c *Config) { c.BaseURL = "ftp://x" }, "kis: base_url \"ftp://x\" is not an http(s) URL"},
		{"client_id", func(c *Config) { c.ClientID = " " }, "kis: client_id is required"},
		{"client_secret", func(c *Config) { c.ClientSecret = "" }, "kis: client_secret is required"},
		{"auth_code", func(c *Config) { c.AuthCode = "" }, "kis: auth_code is required"},
		{"acct_number", func(c *Config) { c.AcctNumber = "" }, "kis: acct_number is required"},
		{"state", func(c *Config) { c.State = "a\nb" }, "kis: state "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := full
			tt.mod(&cfg)
			_, err := NewClient(cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err %v, want one starting %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "Config.") {
				t.Errorf("err %v names a Go field", err)
			}
		})
	}
}
