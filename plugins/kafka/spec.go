package kafka

import (
	"fmt"
	"strings"

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
			Description("Kafka protocol version to speak, e.g. `2.1.0`. Empty uses sarama's default (2.1.0), which every supported broker accepts.").
			Optional().Advanced(),
		service.NewTLSToggledField(kFieldTLS),
		service.NewObjectField(kFieldSASL,
			service.NewStringEnumField(kFieldSASLMechanism, SASLNone, SASLPlain, SASLScramSHA256, SASLScramSHA512).
				Description("SASL mechanism; `none` disables SASL.").
				Default(SASLNone),
			service.NewStringField(kFieldSASLUser).
				Description("SASL user name.").
				Default(""),
			service.NewStringField(kFieldSASLPassword).
				Description("SASL password. It is never logged.").
				Default("").Secret(),
		).Description("SASL authentication.").Advanced(),
	}
}

// lintCheck is one lint rule: when the Bloblang condition holds, the
// Bloblang message expression is reported.
type lintCheck struct{ cond, msg string }

// saslLint rejects a SASL mechanism without a user before anything runs.
var saslLint = lintCheck{
	`this.sasl.mechanism.or("none") != "none" && this.sasl.user.or("") == ""`,
	`"sasl.user is required when sasl.mechanism is " + this.sasl.mechanism`,
}

// lintRule joins checks into the single lint mapping a spec takes.
func lintRule(checks ...lintCheck) string {
	parts := make([]string, len(checks))
	for i, c := range checks {
		parts[i] = fmt.Sprintf("  if %s { %s } else { null }", c.cond, c.msg)
	}
	return "root = [\n" + strings.Join(parts, ",\n") + "\n].filter(e -> e != null)"
}

func clientConfigFromParsed(conf *service.ParsedConfig) (ClientConfig, error) {
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
	return c, nil
}
