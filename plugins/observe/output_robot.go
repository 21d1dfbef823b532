package observe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/vendor"
)

// Fields both robot outputs share.
const (
	roFieldWebhookURL  = "webhook_url"
	roFieldMsgType     = "msg_type"
	roFieldContent     = "content"
	roFieldTimeout     = "timeout"
	roFieldMaxInFlight = "max_in_flight"
	roFieldRateLimit   = "rate_limit"
	roFieldRLCount     = "count"
	roFieldRLInterval  = "interval"
	roFieldRLResource  = "resource"
	roFieldRLOnLimit   = "on_limit"
	roFieldMaxRetries  = "max_retries"
	roFieldBackoff     = "backoff"
	roFieldBackoffInit = "initial_interval"
	roFieldBackoffMax  = "max_interval"
)

// robotFields are the fields of both robot outputs; vendorFields go after
// msg_type. product is the vendor's name for users ("DingTalk", "WeCom").
func robotFields(product string, vendorFields ...*service.ConfigField) []*service.ConfigField {
	fs := []*service.ConfigField{
		service.NewStringField(roFieldWebhookURL).
			Description("The robot's webhook address as shown in the group's robot settings, including its " + map[string]string{"DingTalk": "`access_token`", "WeCom": "`key`"}[product] + ", which is a credential: pass it from the environment.").Secret(),
		service.NewStringEnumField(roFieldMsgType, MsgText, MsgMarkdown).Description("Message type: `text` or `markdown`.").Default(MsgText),
	}
	fs = append(fs, vendorFields...)
	return append(fs,
		service.NewInterpolatedStringField(roFieldContent).Description("Message text (or markdown source), interpolated per message; the default sends the message's content.").Default("${! content() }"),
		service.NewDurationField(roFieldTimeout).Description("Timeout of one HTTP request.").Default("10s"),
		service.NewIntField(roFieldMaxInFlight).Description("Messages sent in parallel. One keeps alerts in order.").Default(1),
		service.NewObjectField(roFieldRateLimit,
			service.NewIntField(roFieldRLCount).Description("Messages allowed per `interval`; 0 disables the limiter.").Default(20),
			service.NewDurationField(roFieldRLInterval).Description("The interval of the limit.").Default("1m"),
			service.NewStringField(roFieldRLResource).Description("Name of a `rate_limit` resource to take from as well, to share one robot's budget between several streams or outputs; empty uses none.").Default(""),
			service.NewStringEnumField(roFieldRLOnLimit, onLimitWait, onLimitDrop).Description("What a message does when the limit is reached: `wait` until the window has room (the output, and whatever waits on it, is held up), or `drop` it at once, unsent and acknowledged, counted in `erpsync_alerts_dropped` (for alerts that must never slow a pipeline down: beyond the limit the robot would throttle them anyway). Retries of a message already sent once always wait.").Default(onLimitWait),
		).Description(product+" allows a robot 20 messages a minute and throttles it for minutes beyond that. Sends (retries included) wait here so no window of `interval` sees more than `count` of them, or with `on_limit: drop` first sends beyond that are dropped.").Advanced(),
		service.NewIntField(roFieldMaxRetries).Description("Retries after a transport failure, a 5xx, or the robot's rate-limit answer, before the message fails with the last error; 0 never retries.").Default(3),
		service.NewObjectField(roFieldBackoff,
			service.NewDurationField(roFieldBackoffInit).Description("Wait before the first retry; doubled on each further retry.").Default("1s"),
			service.NewDurationField(roFieldBackoffMax).Description("Longest wait between retries.").Default("1m"),
		).Description("Backoff between retries of one message.").Advanced(),
	)
}

// Values of rate_limit.on_limit.
const (
	onLimitWait = "wait"
	onLimitDrop = "drop"
)

// robotLintRule catches bad numbers before a stream starts.
func robotLintRule(name string) string {
	return `
root = []
root = if this.max_in_flight.or(1) < 1 { root.append("` + name + `: max_in_flight must be at least 1") } else { root }
root = if this.max_retries.or(0) < 0 { root.append("` + name + `: max_retries must not be negative") } else { root }
root = if this.rate_limit.count.or(20) < 0 { root.append("` + name + `: rate_limit.count must not be negative") } else { root }
root = if !this.webhook_url.or("").has_prefix("http") && !this.webhook_url.or("").contains("${") { root.append("` + name + `: webhook_url must be the robot's http(s) webhook address") } else { root }
`
}

// robotOutput sends one robot message per Benthos message.
type robotOutput struct {
	robot       Robot
	build       func(*service.Message) (Message, error)
	limiter     *windowLimiter // nil: no internal limit
	rlName      string         // rate_limit resource, "" for none
	dropOnLimit bool           // on_limit: drop
	retries     int
	boInit      time.Duration
	boMax       time.Duration
	res         *service.Resources
	log         *service.Logger
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	mSent, mFailed, mRetries, mThrottled, mDropped *service.MetricCounter
}

// robotCommon is what the shared fields give the vendor constructors.
type robotCommon struct {
	rc          RobotConfig
	msgType     string
	content     *service.InterpolatedString
	maxInFlight int
}

// parseRobotCommon reads the shared fields; the vendor constructor sets
// robot and build.
func parseRobotCommon(conf *service.ParsedConfig, mgr *service.Resources, name string) (*robotOutput, robotCommon, error) {
	var c robotCommon
	var err error
	o := &robotOutput{res: mgr, log: mgr.Logger(), sleep: sleepCtx}
	if c.rc.WebhookURL, err = conf.FieldString(roFieldWebhookURL); err != nil {
		return nil, c, err
	}
	if c.msgType, err = conf.FieldString(roFieldMsgType); err != nil {
		return nil, c, err
	}
	if c.content, err = conf.FieldInterpolatedString(roFieldContent); err != nil {
		return nil, c, err
	}
	if c.rc.Timeout, err = conf.FieldDuration(roFieldTimeout); err != nil {
		return nil, c, err
	}
	if c.maxInFlight, err = conf.FieldInt(roFieldMaxInFlight); err != nil {
		return nil, c, err
	}
	rl := conf.Namespace(roFieldRateLimit)
	count, err := rl.FieldInt(roFieldRLCount)
	if err != nil {
		return nil, c, err
	}
	interval, err := rl.FieldDuration(roFieldRLInterval)
	if err != nil {
		return nil, c, err
	}
	if o.rlName, err = rl.FieldString(roFieldRLResource); err != nil {
		return nil, c, err
	}
	onLimit, err := rl.FieldString(roFieldRLOnLimit)
	if err != nil {
		return nil, c, err
	}
	o.dropOnLimit = onLimit == onLimitDrop
	if o.retries, err = conf.FieldInt(roFieldMaxRetries); err != nil {
		return nil, c, err
	}
	bo := conf.Namespace(roFieldBackoff)
	if o.boInit, err = bo.FieldDuration(roFieldBackoffInit); err != nil {
		return nil, c, err
	}
	if o.boMax, err = bo.FieldDuration(roFieldBackoffMax); err != nil {
		return nil, c, err
	}
	switch {
	case c.maxInFlight < 1:
		return nil, c, fmt.Errorf("%s: max_in_flight must be at least 1, got %d", name, c.maxInFlight)
	case o.retries < 0:
		return nil, c, fmt.Errorf("%s: max_retries must not be negative, got %d", name, o.retries)
	case o.boInit <= 0 || o.boMax < o.boInit:
		return nil, c, fmt.Errorf("%s: backoff needs 0 < initial_interval <= max_interval", name)
	case count < 0 || count > 0 && interval <= 0:
		return nil, c, fmt.Errorf("%s: rate_limit needs count >= 0 and, with a count, a positive interval", name)
	}
	if count > 0 {
		o.limiter = newWindowLimiter(count, interval, time.Now)
	}
	m := mgr.Metrics()
	o.mSent = m.NewCounter("erpsync_alerts_sent", "vendor")
	o.mFailed = m.NewCounter("erpsync_alerts_failed", "vendor")
	o.mRetries = m.NewCounter("erpsync_alert_retries", "vendor")
	o.mThrottled = m.NewCounter("erpsync_alert_throttled", "vendor")
	o.mDropped = m.NewCounter("erpsync_alerts_dropped", "vendor")
	return o, c, nil
}

// Connect checks that the shared rate limit exists; robots need no session.
func (o *robotOutput) Connect(context.Context) error {
	if o.rlName != "" && !o.res.HasRateLimit(o.rlName) {
		return fmt.Errorf("%s: rate_limit.resource %q does not exist; declare it under rate_limit_resources", o.robot.Vendor(), o.rlName)
	}
	return nil
}

// Write sends msg, waiting for the rate limit and retrying what may be
// retried. A permanent failure returns at once, naming vendor, code and
// message (never the webhook's token or the signing secret).
func (o *robotOutput) Write(ctx context.Context, msg *service.Message) error {
	v := o.robot.Vendor()
	m, err := o.build(msg)
	if err != nil {
		o.mFailed.Incr(1, v)
		return err
	}
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if attempt > o.retries {
				o.mFailed.Incr(1, v)
				return fmt.Errorf("gave up after %d retries: %w", o.retries, last)
			}
			o.mRetries.Incr(1, v)
			if err := o.sleep(ctx, o.delay(attempt)); err != nil {
				return err
			}
		}
		if attempt == 0 && o.dropOnLimit {
			ok, err := o.takeLimit(ctx)
			if err != nil {
				return err
			}
			if !ok {
				o.mDropped.Incr(1, v)
				o.log.Debugf("%s: rate limit reached, alert dropped (on_limit: drop)", v)
				return nil
			}
		} else if err := o.waitLimit(ctx); err != nil {
			return err
		}
		err := o.robot.Send(ctx, m)
		if err == nil {
			o.mSent.Incr(1, v)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if vendor.KindOf(err) == vendor.Permanent {
			o.mFailed.Incr(1, v)
			return err
		}
		last = err
		o.log.Debugf("%s: attempt %d failed (will retry): %v", v, attempt+1, err)
	}
}

// waitLimit takes a slot of the internal limiter and of the shared resource.
func (o *robotOutput) waitLimit(ctx context.Context) error {
	for o.limiter != nil {
		d := o.limiter.reserve()
		if d <= 0 {
			break
		}
		o.mThrottled.Incr(1, o.robot.Vendor())
		if err := o.sleep(ctx, d); err != nil {
			return err
		}
	}
	for o.rlName != "" {
		var d time.Duration
		var rerr error
		if err := o.res.AccessRateLimit(ctx, o.rlName, func(r service.RateLimit) { d, rerr = r.Access(ctx) }); err != nil {
			return err
		}
		if rerr != nil {
			return rerr
		}
		if d <= 0 {
			break
		}
		o.mThrottled.Incr(1, o.robot.Vendor())
		if err := o.sleep(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// takeLimit takes a slot of the internal limiter and of the shared
// resource without waiting; false when either has none now.
func (o *robotOutput) takeLimit(ctx context.Context) (bool, error) {
	if o.limiter != nil && o.limiter.reserve() > 0 {
		return false, nil
	}
	if o.rlName == "" {
		return true, nil
	}
	var d time.Duration
	var rerr error
	if err := o.res.AccessRateLimit(ctx, o.rlName, func(r service.RateLimit) { d, rerr = r.Access(ctx) }); err != nil {
		return false, err
	}
	if rerr != nil {
		return false, rerr
	}
	return d <= 0, nil
}

// delay is the wait before retry number attempt (from 1).
func (o *robotOutput) delay(attempt int) time.Duration {
	d := o.boInit
	for i := 1; i < attempt && d < o.boMax; i++ {
		d *= 2
	}
	return min(d, o.boMax)
}

func (o *robotOutput) Close(context.Context) error { return nil }

// interpolate evaluates field s of an output against msg.
func interpolate(vendorName, field string, s *service.InterpolatedString, msg *service.Message) (string, error) {
	v, err := s.TryString(msg)
	if err != nil {
		return "", &vendor.Error{Vendor: vendorName, Interface: field, Kind: vendor.Permanent, Msg: "interpolation failed (fix the " + field + " template): " + err.Error()}
	}
	return v, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// windowLimiter allows at most count sends in any window of length
// interval: it remembers the last count send times. (A token bucket that
// starts full lets about twice count through in the first interval.)
type windowLimiter struct {
	mu       sync.Mutex
	count    int
	interval time.Duration
	now      func() time.Time
	sent     []time.Time // oldest first, at most count
}

func newWindowLimiter(count int, interval time.Duration, now func() time.Time) *windowLimiter {
	return &windowLimiter{count: count, interval: interval, now: now, sent: make([]time.Time, 0, count)}
}

// reserve records a send now and returns 0, or returns how long to wait
// before the next try.
func (l *windowLimiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	i := 0
	for i < len(l.sent) && !l.sent[i].Add(l.interval).After(now) {
		i++
	}
	l.sent = append(l.sent[:0], l.sent[i:]...)
	if len(l.sent) < l.count {
		l.sent = append(l.sent, now)
		return 0
	}
	return l.sent[0].Add(l.interval).Sub(now)
}

var errEmptyContent = errors.New("content is empty after interpolation; the robot refuses empty messages")
