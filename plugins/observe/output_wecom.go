package observe

import (
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/vendor"
)

const (
	wcFieldMentionedMobiles = "mentioned_mobile_list"
	wcFieldMentionedList    = "mentioned_list"
)

func wecomOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Posts each message as an alert to a 企业微信 WeCom group robot (群机器人), as text or markdown from an interpolated template.").
		Description(`
One robot message per Benthos message, `+"`{\"msgtype\": \"text\", \"text\": {\"content\": ..., \"mentioned_mobile_list\": [...]}}`"+`
or `+"`{\"msgtype\": \"markdown\", \"markdown\": {\"content\": ...}}`"+`, posted to `+"`webhook_url`"+`
(`+"`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...`"+`). Mentions work in text messages only;
markdown messages are sent without them. Content beyond WeCom's limits (2048 bytes of text, 4096 of
markdown) is cut, marked "(truncated)", rather than refused.

Limits and failures: a robot takes 20 messages a minute, so sends wait for `+"`rate_limit`"+` (20 a minute
by default). Transport failures, 5xx and the rate-limit answer (errcode 45009) are retried with
backoff up to `+"`max_retries`"+`. An invalid key (93000) and other errcodes fail at once with an error
naming vendor, errcode and errmsg; the key never appears in errors or logs. A failed alert fails its
message like any output: wrap it in `+"`drop_on: {error: true}`"+` so alerting never holds up a pipeline.

Metrics (label `+"`vendor`"+`): `+"`erpsync_alerts_sent`"+`, `+"`erpsync_alerts_failed`"+`, `+"`erpsync_alert_retries`"+`,
`+"`erpsync_alert_throttled`"+` (waits for the rate limit), `+"`erpsync_alerts_dropped`"+` (dropped at the limit, `+"`on_limit: drop`"+`).`).
		Fields(robotFields("WeCom",
			service.NewStringListField(wcFieldMentionedMobiles).Description("Mobiles of members to mention in text messages (`\"@all\"` for everyone).").Default([]any{}),
			service.NewStringListField(wcFieldMentionedList).Description("User ids of members to mention in text messages (`\"@all\"` for everyone).").Default([]any{}),
		)...).
		LintRule(robotLintRule("wecom")).
		Example("Alerts to the ops group", "A text alert per message (e.g. per row sent to a dead-letter output), mentioning the on-call phone; dropped if WeCom cannot be reached.", `
output:
  drop_on:
    error: true
    output:
      wecom:
        webhook_url: ${WECOM_WEBHOOK_URL}
        content: 'erpsync: ${! meta("source_vendor") } ${! meta("source_id") } was not written: ${! meta("erpsync_error") }'
        mentioned_mobile_list: [ "13800000000" ]
`)
}

func newWeComOutputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*robotOutput, int, error) {
	o, c, err := parseRobotCommon(conf, mgr, vendorWeCom)
	if err != nil {
		return nil, 0, err
	}
	mobiles, err := conf.FieldStringList(wcFieldMentionedMobiles)
	if err != nil {
		return nil, 0, err
	}
	users, err := conf.FieldStringList(wcFieldMentionedList)
	if err != nil {
		return nil, 0, err
	}
	robot, err := NewWeCom(c.rc)
	if err != nil {
		return nil, 0, err
	}
	o.robot = robot
	o.build = func(msg *service.Message) (Message, error) {
		m := Message{Type: c.msgType, Mobiles: mobiles, UserIDs: users}
		var err error
		if m.Content, err = interpolate(vendorWeCom, roFieldContent, c.content, msg); err != nil {
			return m, err
		}
		if m.Content == "" {
			return m, &vendor.Error{Vendor: vendorWeCom, Interface: roFieldContent, Kind: vendor.Permanent, Msg: errEmptyContent.Error()}
		}
		return m, nil
	}
	return o, c.maxInFlight, nil
}

func init() {
	service.MustRegisterOutput("wecom", wecomOutputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.Output, int, error) {
			return newWeComOutputFromParsed(conf, mgr)
		})
}
