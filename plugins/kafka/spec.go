package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// Fields both the input and the output have; names as in Redpanda Connect.
const (
	kFieldAddresses     = "addresses"
	kFieldClientID      = "client_id"
	kFieldTargetVersion = "target_version"
	kFieldTLS           = "tls"
	kFieldSASL          = "sasl"
	kFieldSASLMechanism = "mechanism"
	kFieldSASLUser      = "user"
	kFieldSASLPassword  = "password"
	kFieldSASLToken     = "access_token"
	kFieldSASLCache     = "token_cache"
	kFieldSASLCacheKey  = "token_key"
	kFieldRackID        = "rack_id"
)

func addressesField() *service.ConfigField {
	return service.NewStringListField(kFieldAddresses).
		Description("Broker addresses (host:port) to bootstrap from. An entry may hold several addresses separated by commas.").
		Example([]string{"localhost:9092"}).
		Example([]string{"kafka-a:9092,kafka-b:9092"})
}

func connectionFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewStringField(kFieldClientID).
			Description("Client id the brokers see in their logs and quotas.").
			Default("erpsync").Advanced(),
		service.NewStringField(kFieldTargetVersion).
			Description("Kafka protocol version to speak, e.g. `2.1.0`. Unset or empty uses sarama's default (2.1.0), which every supported broker accepts.").
			Example("2.1.0").Example("3.1.0").
			Optional(),
		service.NewStringField(kFieldRackID).
			Description("Rack identifier of this client (sarama's `RackID`): with brokers that support it (Kafka 2.4+, `replica.selector.class` set), a consumer fetches from a replica in its own rack.").
			Default("").Advanced(),
		service.NewTLSToggledField(kFieldTLS),
		service.NewObjectField(kFieldSASL,
			service.NewStringEnumField(kFieldSASLMechanism, SASLNone, SASLPlain, SASLOAuthBearer, SASLScramSHA256, SASLScramSHA512).
				Description("SASL mechanism; `none` disables SASL.").
				Default(SASLNone),
			service.NewStringField(kFieldSASLUser).
				Description("SASL user name.").
				Default(""),
			service.NewStringField(kFieldSASLPassword).
				Description("SASL password. It is never logged.").
				Default("").Secret(),
			service.NewStringField(kFieldSASLToken).
				Description("Static OAUTHBEARER access token. It is never logged.").
				Default("").Secret(),
			service.NewStringField(kFieldSASLCache).
				Description("Instead of a static `access_token`, the name of a cache resource to read the OAUTHBEARER token from, under `token_key`, on every connection.").
				Default(""),
			service.NewStringField(kFieldSASLCacheKey).
				Description("Key of the token in `token_cache`; required with it.").
				Default(""),
		).Description("SASL authentication.").Advanced(),
	}
}

// lintCheck is one lint rule: when the Bloblang condition holds, the
// Bloblang message expression is reported.
type lintCheck struct{ cond, msg string }

// saslLint rejects a SASL mechanism without a user before anything runs.
var saslLint = []lintCheck{
	{
		`["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"].contains(this.sasl.mechanism.or("none")) && this.sasl.user.or("") == ""`,
		`"sasl.user is required when sasl.mechanism is " + this.sasl.mechanism`,
	},
	{
		`this.sasl.mechanism.or("none") == "OAUTHBEARER" && this.sasl.access_token.or("") == "" && this.sasl.token_cache.or("") == ""`,
		`"sasl.mechanism OAUTHBEARER needs sasl.access_token or sasl.token_cache"`,
	},
	{
		`this.sasl.token_cache.or("") != "" && this.sasl.token_key.or("") == ""`,
		`"sasl.token_key is required with sasl.token_cache"`,
	},
}

// lintRule joins checks into the single lint mapping a spec takes.
func lintRule(groups ...[]lintCheck) string {
	var checks []lintCheck
	for _, g := range groups {
		checks = append(checks, g...)
	}
	parts := make([]string, len(checks))
	for i, c := range checks {
		parts[i] = fmt.Sprintf("  if %s { %s } else { null }", c.cond, c.msg)
	}
	return "root = [\n" + strings.Join(parts, ",\n") + "\n].filter(e -> e != null)"
}

func clientConfigFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (ClientConfig, error) {
	var c ClientConfig
	var err error
	if c.Addresses, err = conf.FieldStringList(kFieldAddresses); err != nil {
		return c, err
	}
	c.Addresses = Addrs(c.Addresses)
	if c.ClientID, err = conf.FieldString(kFieldClientID); err != nil {
		return c, err
	}
	if conf.Contains(kFieldTargetVersion) {
		if c.TargetVersion, err = conf.FieldString(kFieldTargetVersion); err != nil {
			return c, err
		}
	}
	tlsConf, tlsOn, err := conf.FieldTLSToggled(kFieldTLS)
	if err != nil {
		return c, err
	}
	if tlsOn {
		c.TLS = tlsConf
	}
	if c.SASLMechanism, err = conf.FieldString(kFieldSASL, kFieldSASLMechanism); err != nil {
		return c, err
	}
	if c.SASLUser, err = conf.FieldString(kFieldSASL, kFieldSASLUser); err != nil {
		return c, err
	}
	if c.SASLPassword, err = conf.FieldString(kFieldSASL, kFieldSASLPassword); err != nil {
		return c, err
	}
	if c.RackID, err = conf.FieldString(kFieldRackID); err != nil {
		return c, err
	}
	token, err := conf.FieldString(kFieldSASL, kFieldSASLToken)
	if err != nil {
		return c, err
	}
	cache, err := conf.FieldString(kFieldSASL, kFieldSASLCache)
	if err != nil {
		return c, err
	}
	cacheKey, err := conf.FieldString(kFieldSASL, kFieldSASLCacheKey)
	if err != nil {
		return c, err
	}
	switch {
	case cache != "":
		if cacheKey == "" {
			return c, errors.New("kafka: sasl.token_cache needs sasl.token_key")
		}
		c.SASLToken = func() (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var tok []byte
			var gerr error
			if err := mgr.AccessCache(ctx, cache, func(ca service.Cache) { tok, gerr = ca.Get(ctx, cacheKey) }); err != nil {
				return "", fmt.Errorf("cache %s: %w", cache, err)
			}
			if gerr != nil {
				return "", fmt.Errorf("cache %s key %s: %w", cache, cacheKey, gerr)
			}
			return string(tok), nil
		}
	case token != "":
		c.SASLToken = func() (string, error) { return token, nil }
	}
	return c, nil
}
