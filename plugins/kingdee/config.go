package kingdee

import (
	"net/http"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// Field names shared by kingdee_batchsave and kingdee_query.
const (
	kdFieldURL        = "url"
	kdFieldAuth       = "auth"
	kdFieldMode       = "mode"
	kdFieldAcctID     = "acct_id"
	kdFieldUsername   = "username"
	kdFieldAppID      = "app_id"
	kdFieldAppSecret  = "app_secret"
	kdFieldPassword   = "password"
	kdFieldLCID       = "lcid"
	kdFieldOrgNum     = "org_num"
	kdFieldFormID     = "form_id"
	kdFieldTimeout    = "timeout"
	kdFieldTLS        = "tls"
	defaultTimeoutStr = "30s"
)

// connectionFields are the server, identity and transport fields of both components.
func connectionFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewStringField(kdFieldURL).
			Description("Server root (`serverUrl`), e.g. `https://erp.example.com/k3cloud/`; the `.kdsvc` service paths are appended to it.").
			Example("https://erp.example.com/k3cloud/"),
		service.NewObjectField(kdFieldAuth,
			service.NewStringEnumField(kdFieldMode, AuthSignature, AuthLoginBySign, AuthPassword).
				Description("`signature`: HMAC headers on every request (official SDK 7.3+; the server opens a session silently). "+
					"`login_by_sign`: one LoginBySign login per session (SHA-256 sign of app_id and app_secret). "+
					"`password`: one ValidateUser login with the user's password (discouraged by Kingdee).").
				Default(AuthSignature),
			service.NewStringField(kdFieldAcctID).Description("Data-centre id (DCID, `acctID`)."),
			service.NewStringField(kdFieldUsername).Description("Integration user name."),
			service.NewStringField(kdFieldAppID).Description("Third-party system AppID, `<clientId>_<32-character secret>`; modes `signature` and `login_by_sign`. Its second half is key material, so it is a secret too (scrubbed by `echo`).").Secret().Default(""),
			service.NewStringField(kdFieldAppSecret).Description("AppSecret of the AppID; modes `signature` and `login_by_sign`.").Secret().Default(""),
			service.NewStringField(kdFieldPassword).Description("User password; mode `password` only.").Secret().Default(""),
			service.NewIntField(kdFieldLCID).Description("Language: 2052 Simplified Chinese, 1033 English, 3076 Traditional Chinese. Error messages stay Chinese whatever it is.").Default(2052),
			service.NewStringField(kdFieldOrgNum).Description("Organisation number signed into the `signature` headers (X-Kd-Appdata).").Default("0").Advanced(),
		).Description("Identity and authentication mode. A session lost (MsgCode 1) is re-authenticated once; if it is lost again the component stops with a configuration error."),
		service.NewDurationField(kdFieldTimeout).Description("Timeout of one HTTP request. A write that times out is never re-sent before the output has checked whether it landed.").Default(defaultTimeoutStr),
		service.NewTLSToggledField(kdFieldTLS).Description("TLS settings. Certificates are verified by default; private servers with self-signed certificates need `skip_cert_verify` or a root CA here.").Advanced(),
	}
}

// authLintRule catches credential combinations that cannot work.
const authLintRule = `
let mode = this.auth.mode.or("signature")
root = if $mode == "password" && this.auth.password.or("") == "" {
  "auth.password is required when auth.mode is password"
} else if $mode != "password" && (this.auth.app_id.or("") == "" || this.auth.app_secret.or("") == "") {
  "auth.app_id and auth.app_secret are required when auth.mode is %s".format($mode)
} else if $mode != "password" && this.auth.app_id.or("").split("_").length() != 2 {
  "auth.app_id must look like <clientId>_<32-character secret>"
}
`

// clientConfigFromParsed reads the connection fields.
func clientConfigFromParsed(conf *service.ParsedConfig) (Config, error) {
	var c Config
	var err error
	if c.URL, err = conf.FieldString(kdFieldURL); err != nil {
		return c, err
	}
	a := conf.Namespace(kdFieldAuth)
	for _, f := range []struct {
		name string
		dst  *string
	}{{kdFieldMode, &c.Mode}, {kdFieldAcctID, &c.AcctID}, {kdFieldUsername, &c.Username}, {kdFieldAppID, &c.AppID},
		{kdFieldAppSecret, &c.AppSecret}, {kdFieldPassword, &c.Password}, {kdFieldOrgNum, &c.OrgNum}} {
		if *f.dst, err = a.FieldString(f.name); err != nil {
			return c, err
		}
	}
	if c.LCID, err = a.FieldInt(kdFieldLCID); err != nil {
		return c, err
	}
	if c.Timeout, err = conf.FieldDuration(kdFieldTimeout); err != nil {
		return c, err
	}
	tlsConf, tlsOn, err := conf.FieldTLSToggled(kdFieldTLS)
	if err != nil {
		return c, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	if tlsOn {
		t.TLSClientConfig = tlsConf
	}
	c.Transport = t
	if err := c.Check(); err != nil {
		return c, err
	}
	return c, nil
}

// defaultNumberField is FNumber for base data (BD_*) and FBillNo for bills.
func defaultNumberField(formID string) string {
	if strings.HasPrefix(strings.ToUpper(formID), "BD_") {
		return "FNumber"
	}
	return "FBillNo"
}

// defaultIDField is the internal id key of well-known forms; bills use FID.
func defaultIDField(formID string) string {
	switch strings.ToUpper(formID) {
	case "BD_CUSTOMER":
		return "FCUSTID"
	case "BD_MATERIAL":
		return "FMATERIALID"
	case "BD_SUPPLIER":
		return "FSupplierId"
	case "BD_STOCK":
		return "FStockId"
	case "BD_DEPARTMENT":
		return "FDEPTID"
	case "BD_UNIT":
		return "FUNITID"
	case "BD_CURRENCY":
		return "FCURRENCYID"
	case "ORG_ORGANIZATIONS":
		return "FOrgID"
	}
	return "FID"
}
