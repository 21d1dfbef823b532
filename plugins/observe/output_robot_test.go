package observe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// fakeClock is a clock that only moves when the output sleeps.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 6, 1, 3, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// newTestOutput parses conf (YAML of the output's fields) for output name
// and puts it on clk.
func newTestOutput(t *testing.T, name, conf string, clk *fakeClock) *robotOutput {
	t.Helper()
	spec, ctor := dingtalkOutputSpec(), newDingTalkOutputFromParsed
	if name == vendorWeCom {
		spec, ctor = wecomOutputSpec(), newWeComOutputFromParsed
	}
	pc, err := spec.ParseYAML(conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := ctor(pc, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	if clk != nil {
		o.sleep = clk.sleep
		if o.limiter != nil {
			o.limiter.now = clk.now
		}
		if d, ok := o.robot.(*DingTalk); ok {
			d.now = clk.now
		}
	}
	t.Cleanup(func() { _ = o.Close(context.Background()) })
	return o
}

func write(t *testing.T, o *robotOutput, content string) error {
	t.Helper()
	return o.Write(context.Background(), service.NewMessage([]byte(content)))
}

// TestRobotOutputsInStream runs each output in a stream at debug level
// against a receiver that verifies the signature, checks the bodies, and
// greps the whole log for the token and the secret.
func TestRobotOutputsInStream(t *testing.T) {
	tests := []struct {
		vendor, fields string
		script         []string
		want           []string
	}{
		{vendorDingTalk, `
    secret: ` + testSecret + `
    msg_type: markdown
    title: '${! meta("title") }'
    content: '### ${! content() }'
    at_mobiles: [ "13800000000" ]
`, []string{`{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`}, []string{
			`{"msgtype":"markdown","markdown":{"title":"alert 1","text":"### row 1 failed\n\n@13800000000"},"at":{"atMobiles":["13800000000"]}}`,
			`{"msgtype":"markdown","markdown":{"title":"alert 1","text":"### row 1 failed\n\n@13800000000"},"at":{"atMobiles":["13800000000"]}}`,
			`{"msgtype":"markdown","markdown":{"title":"alert 2","text":"### row 2 failed\n\n@13800000000"},"at":{"atMobiles":["13800000000"]}}`,
		}},
		{vendorDingTalk, `
    secret: ` + testSecret + `
    at_all: true
`, nil, []string{
			`{"msgtype":"text","text":{"content":"row 1 failed"},"at":{"isAtAll":true}}`,
			`{"msgtype":"text","text":{"content":"row 2 failed"},"at":{"isAtAll":true}}`,
		}},
		{vendorWeCom, `
    mentioned_mobile_list: [ "13800000000" ]
`, []string{`{"errcode":45009,"errmsg":"api freq out of limit"}`}, []string{
			`{"msgtype":"text","text":{"content":"row 1 failed","mentioned_mobile_list":["13800000000"]}}`,
			`{"msgtype":"text","text":{"content":"row 1 failed","mentioned_mobile_list":["13800000000"]}}`,
			`{"msgtype":"text","text":{"content":"row 2 failed","mentioned_mobile_list":["13800000000"]}}`,
		}},
		{vendorWeCom, `
    msg_type: markdown
    content: '**${! content() }**'
`, nil, []string{
			`{"msgtype":"markdown","markdown":{"content":"**row 1 failed**"}}`,
			`{"msgtype":"markdown","markdown":{"content":"**row 2 failed**"}}`,
		}},
	}
	for i, tt := range tests {
		t.Run(tt.vendor+"_"+string(rune('a'+i)), func(t *testing.T) {
			rcv := newReceiver(t, tt.vendor, testSecret, nil, tt.script...)
			var logs syncBuffer
			b := service.NewStreamBuilder()
			b.SetLogger(slogTo(&logs))
			if err := b.SetLoggerYAML("level: trace"); err != nil {
				t.Fatal(err)
			}
			if err := b.AddInputYAML(`
generate:
  count: 2
  interval: ""
  mapping: |
    root = "row %d failed".format(counter())
    meta title = "alert %d".format(counter())
`); err != nil {
				t.Fatal(err)
			}
			// drop_on, as the docs advise: a failing alert ends the test
			// with a wrong request count instead of being redelivered.
			if err := b.AddOutputYAML("drop_on:\n  error: true\n  output:\n   " + tt.vendor + ":\n    webhook_url: " + rcv.webhook() + tt.fields +
				"    backoff: { initial_interval: 1ms, max_interval: 1ms }\n"); err != nil {
				t.Fatal(err)
			}
			s, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			t.Cleanup(cancel)
			if err := s.Run(ctx); err != nil {
				t.Fatal(err)
			}
			bodies, _ := rcv.received()
			if len(bodies) != len(tt.want) {
				t.Fatalf("receiver got %d requests, want %d: %q", len(bodies), len(tt.want), bodies)
			}
			for i := range bodies {
				assertJSONEqual(t, bodies[i], tt.want[i])
			}
			if rcv.badSign != 0 {
				t.Errorf("%d requests had a bad signature", rcv.badSign)
			}
			if !strings.Contains(logs.String(), "level=") {
				t.Fatal("no log captured: the secret check below would prove nothing")
			}
			assertNoSecret(t, logs.String())
		})
	}
}

func TestRobotRateLimitWindow(t *testing.T) {
	tests := []struct {
		name, conf string
		sends      int
		wantAt     []time.Duration // send times after the start
	}{
		{"3 a minute", "rate_limit: { count: 3, interval: 1m }", 8,
			[]time.Duration{0, 0, 0, time.Minute, time.Minute, time.Minute, 2 * time.Minute, 2 * time.Minute}},
		{"default 20 a minute", "", 22,
			append(make([]time.Duration, 20), time.Minute, time.Minute)},
		{"disabled", "rate_limit: { count: 0 }", 25, make([]time.Duration, 25)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			start := clk.now()
			rcv := newReceiver(t, vendorDingTalk, testSecret, clk.now)
			o := newTestOutput(t, vendorDingTalk, "webhook_url: "+rcv.webhook()+"\nsecret: "+testSecret+"\n"+tt.conf, clk)
			for i := range tt.sends {
				if err := write(t, o, "alert"); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			_, times := rcv.received()
			if len(times) != len(tt.wantAt) {
				t.Fatalf("receiver got %d sends, want %d", len(times), len(tt.wantAt))
			}
			for i, at := range times {
				if got := at.Sub(start); got != tt.wantAt[i] {
					t.Errorf("send %d at +%v, want +%v", i, got, tt.wantAt[i])
				}
			}
			limit := map[string]int{"3 a minute": 3, "default 20 a minute": 20}[tt.name]
			for i := range times {
				n := 0
				for _, t2 := range times[i:] {
					if t2.Sub(times[i]) < time.Minute {
						n++
					}
				}
				if limit > 0 && n > limit {
					t.Errorf("%d sends in the minute from send %d, limit %d", n, i, limit)
				}
			}
			if rcv.badSign != 0 {
				t.Errorf("%d sends had a bad signature (timestamp off the clock?)", rcv.badSign)
			}
		})
	}
}

// TestRobotRateLimitDrop: with on_limit: drop the sends beyond the limit are
// acknowledged unsent, without waiting, and the next window sends again.
func TestRobotRateLimitDrop(t *testing.T) {
	for _, v := range []string{vendorDingTalk, vendorWeCom} {
		t.Run(v, func(t *testing.T) {
			clk := newFakeClock()
			rcv := newReceiver(t, v, testSecret, clk.now)
			conf := "webhook_url: " + rcv.webhook() + "\nrate_limit: { count: 3, interval: 1m, on_limit: drop }\n"
			if v == vendorDingTalk {
				conf += "secret: " + testSecret + "\n"
			}
			o := newTestOutput(t, v, conf, clk)
			for i := range 5 {
				if err := write(t, o, fmt.Sprintf("alert %d", i)); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			if s := clk.slept(); len(s) != 0 {
				t.Errorf("the output waited %v; with on_limit: drop it must not wait", s)
			}
			clk.mu.Lock()
			clk.t = clk.t.Add(time.Minute)
			clk.mu.Unlock()
			if err := write(t, o, "alert 5"); err != nil {
				t.Fatal(err)
			}
			bodies, _ := rcv.received()
			var got []string
			for _, b := range bodies {
				for _, want := range []string{"alert 0", "alert 1", "alert 2", "alert 3", "alert 4", "alert 5"} {
					if bytes.Contains(b, []byte(want)) {
						got = append(got, want)
					}
				}
			}
			if fmt.Sprint(got) != "[alert 0 alert 1 alert 2 alert 5]" {
				t.Errorf("the robot received %v, want the first 3 and, a minute later, alert 5", got)
			}
		})
	}
}

func TestRobotRetries(t *testing.T) {
	tests := []struct {
		name, vendor string
		script       []string
		requests     int
		sleeps       []time.Duration
	}{
		{"dingtalk too fast twice", vendorDingTalk, []string{
			`{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`,
			`{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`,
		}, 3, []time.Duration{time.Second, 2 * time.Second}},
		{"dingtalk busy then 502", vendorDingTalk, []string{`{"errcode":-1,"errmsg":"系统繁忙"}`, "HTTP 502"}, 3,
			[]time.Duration{time.Second, 2 * time.Second}},
		{"wecom freq out of limit", vendorWeCom, []string{`{"errcode":45009,"errmsg":"api freq out of limit"}`}, 2,
			[]time.Duration{time.Second}},
		{"wecom 429", vendorWeCom, []string{"HTTP 429"}, 2, []time.Duration{time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			rcv := newReceiver(t, tt.vendor, testSecret, clk.now, tt.script...)
			o := newTestOutput(t, tt.vendor, "webhook_url: "+rcv.webhook()+"\nsecret: "+testSecret, clk)
			if tt.vendor == vendorWeCom {
				o = newTestOutput(t, tt.vendor, "webhook_url: "+rcv.webhook(), clk)
			}
			if err := write(t, o, "alert"); err != nil {
				t.Fatalf("write failed: %v", err)
			}
			if bodies, _ := rcv.received(); len(bodies) != tt.requests {
				t.Errorf("%d requests, want %d", len(bodies), tt.requests)
			}
			if got := clk.slept(); !equalDurations(got, tt.sleeps) {
				t.Errorf("backoff waits %v, want %v", got, tt.sleeps)
			}
		})
	}
}

func TestRobotGivesUpAfterMaxRetries(t *testing.T) {
	clk := newFakeClock()
	rcv := newReceiver(t, vendorDingTalk, "", clk.now, "HTTP 503", "HTTP 503", "HTTP 503", "HTTP 503")
	o := newTestOutput(t, vendorDingTalk, "webhook_url: "+rcv.webhook()+"\nmax_retries: 2", clk)
	err := write(t, o, "alert")
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 retries") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("error %v, want a give-up naming HTTP 503", err)
	}
	if bodies, _ := rcv.received(); len(bodies) != 3 {
		t.Errorf("%d requests, want 3", len(bodies))
	}
	assertNoSecret(t, err.Error())
}

func TestRobotPermanentFailures(t *testing.T) {
	tests := []struct {
		name, vendor, conf string
		rcvSecret          string
		want               []string
	}{
		{"dingtalk wrong secret", vendorDingTalk, "secret: SECwr0ng", testSecret,
			[]string{"dingtalk", "robot/send", "code 310000", "sign not match", "check the signing secret"}},
		{"dingtalk keyword missing", vendorDingTalk, "", "",
			[]string{"dingtalk", "code 310000", "keywords not in content"}},
		{"dingtalk unknown token", vendorDingTalk, "token", "",
			[]string{"dingtalk", "code 300001", "token is not exist", "check webhook_url"}},
		{"wecom invalid key", vendorWeCom, "token", "",
			[]string{"wecom", "webhook/send", "code 93000", "invalid webhook url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			var script []string
			if tt.name == "dingtalk keyword missing" {
				script = []string{`{"errcode":310000,"errmsg":"keywords not in content"}`}
			}
			rcv := newReceiver(t, tt.vendor, tt.rcvSecret, clk.now, script...)
			webhook, conf := rcv.webhook(), tt.conf
			if conf == "token" {
				webhook, conf = strings.Replace(webhook, testToken, "0ther"+testToken, 1), ""
			}
			o := newTestOutput(t, tt.vendor, "webhook_url: "+webhook+"\n"+conf, clk)
			err := write(t, o, "alert")
			if err == nil {
				t.Fatal("write succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if bodies, _ := rcv.received(); len(bodies) != 1 {
				t.Errorf("%d requests, want 1 (no retry of a permanent failure)", len(bodies))
			}
			if len(clk.slept()) != 0 {
				t.Errorf("waited %v before failing", clk.slept())
			}
			assertNoSecret(t, err.Error())
			if strings.Contains(err.Error(), "SECwr0ng") || strings.Contains(err.Error(), "0ther") {
				t.Errorf("error shows the configured credential: %v", err)
			}
		})
	}
}

func TestRobotTemplateFailures(t *testing.T) {
	for _, conf := range []string{`content: '${! throw("no field") }'`, `content: '${! "" }'`} {
		rcv := newReceiver(t, vendorWeCom, "", nil)
		o := newTestOutput(t, vendorWeCom, "webhook_url: "+rcv.webhook()+"\n"+conf, newFakeClock())
		err := write(t, o, "alert")
		if err == nil || !strings.Contains(err.Error(), "wecom: content") {
			t.Errorf("%s: error %v, want a wecom content error", conf, err)
		}
		if bodies, _ := rcv.received(); len(bodies) != 0 {
			t.Errorf("%s: %d requests sent", conf, len(bodies))
		}
	}
}

func TestRobotRateLimitWaitStopsOnCancel(t *testing.T) {
	rcv := newReceiver(t, vendorWeCom, "", nil)
	o := newTestOutput(t, vendorWeCom, "webhook_url: "+rcv.webhook()+"\nrate_limit: { count: 1, interval: 1h }", nil)
	if err := write(t, o, "first"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := o.Write(ctx, service.NewMessage([]byte("second")))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second write: %v, want the context's deadline", err)
	}
	if bodies, _ := rcv.received(); len(bodies) != 1 {
		t.Errorf("%d requests, want 1", len(bodies))
	}
}

func TestRobotSharedRateLimitResource(t *testing.T) {
	rcv := newReceiver(t, vendorWeCom, "", nil)
	// A missing resource is a connection error: Connect names it.
	o := newTestOutput(t, vendorWeCom, "webhook_url: "+rcv.webhook()+"\nrate_limit: { resource: robot_budget }", nil)
	if err := o.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), `"robot_budget" does not exist`) {
		t.Errorf("Connect: %v, want a missing-resource error", err)
	}
	var calls int
	pc, _ := wecomOutputSpec().ParseYAML("webhook_url: "+rcv.webhook()+"\nrate_limit: { count: 0, resource: robot_budget }", nil)
	res := service.MockResources(service.MockResourcesOptAddRateLimit("robot_budget", func(context.Context) (time.Duration, error) {
		calls++
		if calls == 1 {
			return time.Millisecond, nil // one wait, then a go
		}
		return 0, nil
	}))
	o2, _, err := newWeComOutputFromParsed(pc, res)
	if err != nil {
		t.Fatal(err)
	}
	if err := o2.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := write(t, o2, "alert"); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("the shared rate limit was asked %d times, want 2", calls)
	}
}

func TestWindowLimiter(t *testing.T) {
	clk := newFakeClock()
	l := newWindowLimiter(2, time.Minute, clk.now)
	steps := []struct {
		advance time.Duration
		want    time.Duration
	}{
		{0, 0}, {10 * time.Second, 0}, // two sends: at 0s and 10s
		{0, 50 * time.Second},                        // full until the first leaves the window
		{49 * time.Second, time.Second},              // 59s: still full
		{time.Second, 0},                             // 60s: the 0s send has left
		{0, 10 * time.Second},                        // 10s and 60s in the window
		{10 * time.Second, 0},                        // 70s
		{2 * time.Hour, 0}, {0, 0}, {0, time.Minute}, // idle empties it
	}
	for i, s := range steps {
		_ = clk.sleep(context.Background(), s.advance)
		if got := l.reserve(); got != s.want {
			t.Errorf("step %d (+%v): reserve() = %v, want %v", i, s.advance, got, s.want)
		}
	}
}

func TestRobotLintRules(t *testing.T) {
	tests := []struct {
		conf, want string
	}{
		{"dingtalk:\n  webhook_url: https://oapi.dingtalk.com/robot/send?access_token=x\n  max_in_flight: 0", "max_in_flight must be at least 1"},
		{"wecom:\n  webhook_url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x\n  max_retries: -1", "max_retries must not be negative"},
		{"wecom:\n  webhook_url: qyapi.weixin.qq.com/cgi-bin/webhook/send", "webhook_url must be the robot's http(s) webhook address"},
		{"dingtalk:\n  webhook_url: https://oapi.dingtalk.com/robot/send?access_token=x\n  msg_type: link", "link"},
	}
	for _, tt := range tests {
		err := service.NewStreamBuilder().AddOutputYAML(tt.conf)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s\n  lint: %v, want %q", tt.conf, err, tt.want)
		}
	}
	if err := service.NewStreamBuilder().AddOutputYAML("dingtalk:\n  webhook_url: https://oapi.dingtalk.com/robot/send?access_token=x"); err != nil {
		t.Errorf("minimal config refused: %v", err)
	}
}

func TestSpecExamplesAreValidConfigs(t *testing.T) {
	for _, v := range []string{"DINGTALK_WEBHOOK_URL", "WECOM_WEBHOOK_URL"} {
		t.Setenv(v, "https://127.0.0.1:1/robot/send?access_token=x")
	}
	t.Setenv("DINGTALK_SECRET", "SECx")
	env := service.GlobalEnvironment()
	seen := map[string]int{}
	check := func(name string, view *service.ConfigView) {
		data, err := view.TemplateData()
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range data.Examples {
			seen[name]++
			if err := service.NewStreamBuilder().SetYAML(ex.Config); err != nil {
				t.Errorf("%s example %q: %v", name, ex.Title, err)
			}
		}
	}
	env.WalkOutputs(func(name string, view *service.ConfigView) {
		if name == "dingtalk" || name == "wecom" {
			check(name, view)
		}
	})
	env.WalkMetrics(func(name string, view *service.ConfigView) {
		if name == "prometheus" {
			check(name, view)
		}
	})
	for _, name := range []string{"dingtalk", "wecom", "prometheus"} {
		if seen[name] == 0 {
			t.Errorf("%s has no example", name)
		}
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCredentialFieldsAreSecret(t *testing.T) {
	want := map[string][]string{"dingtalk": {"webhook_url", "secret"}, "wecom": {"webhook_url"}}
	found := 0
	service.GlobalEnvironment().WalkOutputs(func(name string, view *service.ConfigView) {
		fields, ok := want[name]
		if !ok {
			return
		}
		data, err := view.TemplateData()
		if err != nil {
			t.Fatal(err)
		}
		secret := map[string]bool{}
		for _, f := range data.Fields {
			secret[f.FullName] = f.IsSecret
		}
		for _, f := range fields {
			found++
			if !secret[f] {
				t.Errorf("%s.%s is not marked Secret()", name, f)
			}
		}
	})
	if found != 3 {
		t.Errorf("checked %d fields, want 3", found)
	}
}
