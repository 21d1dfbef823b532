package observe

import (
	"strings"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/vendor"
)

const (
	dtFieldSecret    = "secret"
	dtFieldTitle     = "title"
	dtFieldAtMobiles = "at_mobiles"
	dtFieldAtAll     = "at_all"
)

func dingtalkOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Posts each message as an alert to a 钉钉 DingTalk group robot (自定义机器人), as text or markdown from an interpolated template, signed when the robot has a signing secret.").
		Description(`
One robot message per Benthos message, `+"`{\"msgtype\": \"text\", \"text\": {\"content\": ...}, \"at\": {...}}`"+` or
`+"`{\"msgtype\": \"markdown\", \"markdown\": {\"title\": ..., \"text\": ...}, \"at\": {...}}`"+`, posted to `+"`webhook_url`"+`.
With `+"`secret`"+` (security setting 加签), every request carries `+"`timestamp`"+` (Unix ms) and
`+"`sign`"+` = URL-encoded base64 of HMAC-SHA256(key: secret, data: timestamp + "\n" + secret); the host
clock must be within an hour of DingTalk's. With the 自定义关键词 security setting instead, the
content must contain one of the robot's keywords. Mentioned mobiles are appended to the text as
`+"`@<mobile>`"+` when missing, since DingTalk only notifies those written in the text.

Limits and failures: a robot takes 20 messages a minute and is throttled for minutes beyond that, so
sends wait for `+"`rate_limit`"+` (20 a minute by default). Transport failures, 5xx and the "too fast"
answers (errcode 130101, 410100) are retried with backoff up to `+"`max_retries`"+`. Wrong signature, a
missing keyword or an IP outside the whitelist (310000) and an unknown token (300001, 300005) fail
at once with an error naming vendor, errcode and errmsg; neither the token nor the secret appears
in errors or logs. A failed alert fails its message like any output: to keep alerting from holding up
a pipeline, wrap it in `+"`drop_on: {error: true}`"+` (see the example).

Metrics (label `+"`vendor`"+`): `+"`erpsync_alerts_sent`"+`, `+"`erpsync_alerts_failed`"+`, `+"`erpsync_alert_retries`"+`,
`+"`erpsync_alert_throttled`"+` (waits for the rate limit), `+"`erpsync_alerts_dropped`"+` (dropped at the limit, `+"`on_limit: drop`"+`).`).
		Fields(robotFields("DingTalk",
			service.NewStringField(dtFieldSecret).Description("Signing secret (`SEC...`) of a robot with the 加签 security setting; empty sends unsigned requests.").Default("").Secret(),
			service.NewInterpolatedStringField(dtFieldTitle).Description("Title of a markdown message (the notification preview), interpolated per message.").Default("erpsync"),
			service.NewStringListField(dtFieldAtMobiles).Description("Mobiles of group members to mention (`at.atMobiles`).").Default([]any{}),
			service.NewBoolField(dtFieldAtAll).Description("Mention everyone (`at.isAtAll`).").Default(false),
		)...).
		LintRule(robotLintRule("dingtalk")).
		Example("Dead letters raise an alert", "Rows Kingdee rejected go to a dead-letter file and, as a markdown alert naming the error, to the ops group. The alert is dropped if DingTalk cannot be reached, so it never holds up the file.", `
output:
  broker:
    pattern: fan_out
    outputs:
      - file:
          path: ./dead_letters/kingdee.jsonl
          codec: lines
      - drop_on:
          error: true
          output:
            dingtalk:
              webhook_url: ${DINGTALK_WEBHOOK_URL}
              secret: ${DINGTALK_SECRET}
              msg_type: markdown
              title: 'erpsync: ${! meta("erpsync_error").or("write failed") }'
              content: |
                ### erpsync: a row was not written
                - source: ${! meta("source_vendor") } ${! meta("source_id") }
                - error: ${! meta("erpsync_error") }
              at_mobiles: [ "13800000000" ]
`)
}

func newDingTalkOutputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*robotOutput, int, error) {
	o, c, err := parseRobotCommon(conf, mgr, vendorDingTalk)
	if err != nil {
		return nil, 0, err
	}
	if c.rc.Secret, err = conf.FieldString(dtFieldSecret); err != nil {
		return nil, 0, err
	}
	c.rc.Secret = strings.TrimSpace(c.rc.Secret)
	title, err := conf.FieldInterpolatedString(dtFieldTitle)
	if err != nil {
		return nil, 0, err
	}
	mobiles, err := conf.FieldStringList(dtFieldAtMobiles)
	if err != nil {
		return nil, 0, err
	}
	atAll, err := conf.FieldBool(dtFieldAtAll)
	if err != nil {
		return nil, 0, err
	}
	robot, err := NewDingTalk(c.rc)
	if err != nil {
		return nil, 0, err
	}
	o.robot = robot
	o.build = func(msg *service.Message) (Message, error) {
		m := Message{Type: c.msgType, Mobiles: mobiles, AtAll: atAll}
		var err error
		if m.Content, err = interpolate(vendorDingTalk, roFieldContent, c.content, msg); err != nil {
			return m, err
		}
		if m.Content == "" {
			return m, &vendor.Error{Vendor: vendorDingTalk, Interface: roFieldContent, Kind: vendor.Permanent, Msg: errEmptyContent.Error()}
		}
		if c.msgType == MsgMarkdown {
			if m.Title, err = interpolate(vendorDingTalk, dtFieldTitle, title, msg); err != nil {
				return m, err
			}
		}
		return m, nil
	}
	return o, c.maxInFlight, nil
}

func init() {
	service.MustRegisterOutput("dingtalk", dingtalkOutputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.Output, int, error) {
			return newDingTalkOutputFromParsed(conf, mgr)
		})
}
