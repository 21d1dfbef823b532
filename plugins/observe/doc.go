// Package observe is erpsync's operations tooling: the metrics exporter
// `prometheus` (metrics_prometheus.go), and the alert outputs `dingtalk`
// and `wecom` that post to group-robot webhooks of 钉钉 DingTalk and 企业微信
// WeCom (output_robot.go, output_dingtalk.go, output_wecom.go).
//
// client.go speaks the two robot protocols and knows nothing of Benthos:
// the message bodies, DingTalk's signature, and the classification of the
// robots' errcodes into vendor.Error kinds (the one place they live). The
// codes marked [I] there are read from vendor documentation as remembered,
// not verified against a live robot.
package observe
