package webhook

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	_ "github.com/erpsync/erpsync/plugins/mysql"
)

// runStream runs a stream of the given resources and webhook input on
// addr, acknowledging every message, until the returned stop is called.
func runStream(t *testing.T, resources, input, addr string) (stop func()) {
	t.Helper()
	b := service.NewStreamBuilder()
	if err := b.SetLoggerYAML("level: warn"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddResourcesYAML(resources); err != nil {
		t.Fatal(err)
	}
	if err := b.AddInputYAML(input); err != nil {
		t.Fatal(err)
	}
	if err := b.AddConsumerFunc(func(context.Context, *service.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	stream, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- stream.Run(context.Background()) }()
	erpsynctest.WaitListening(t, addr, 30*time.Second)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := stream.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		<-runErr
	}
	t.Cleanup(stop)
	return stop
}

// The replay window in a mysql cache resource: shared by two runs of the
// stream (or two replicas), each signature expiring once its timestamp can
// no longer pass.
func TestIntegrationReplayWindowInMySQLCache(t *testing.T) {
	db := erpsynctest.OpenDB(t)
	table := fmt.Sprintf("erpsync_webhook_test_%d", time.Now().UnixNano())
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS " + table) })
	resources := fmt.Sprintf(`
cache_resources:
  - label: webhook_replays
    mysql:
      dsn: %s
      table: %s
`, erpsynctest.MySQLDSN(), table)
	input := func(addr string) string {
		return fmt.Sprintf(`
webhook:
  address: %s
  path: /hook
  secret: %s
  max_skew: 300s
  replay:
    cache: webhook_replays
`, addr, testSecret)
	}

	now := nowTS()
	body := `{"event":"return.received","id":42}`
	sig := sign(now, body)

	addr := erpsynctest.FreeAddr(t)
	stop := runStream(t, resources, input(addr), addr)
	if got := post(t, "http://"+addr+"/hook", now, sig, body); got.status != 202 {
		t.Fatalf("first: %d %+v", got.status, got.body)
	}
	stop()

	addr = erpsynctest.FreeAddr(t)
	runStream(t, resources, input(addr), addr)
	url := "http://" + addr + "/hook"
	if got := post(t, url, now, sig, body); got.status != 409 {
		t.Fatalf("replay after the restart: %d %+v, want 409", got.status, got.body)
	}
	other := `{"event":"return.received","id":43}`
	if got := post(t, url, now, sign(now, other), other); got.status != 202 {
		t.Fatalf("a new event: %d %+v", got.status, got.body)
	}

	// Bounded: the entry expires after two skews and a minute (it may be
	// replayed until its timestamp is max_skew old, and the timestamp may be
	// max_skew ahead), not never.
	var left int64
	if err := db.QueryRow("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), expires_at) FROM "+table+" WHERE `key` = ?", cacheKeyPrefix+sig).Scan(&left); err != nil {
		t.Fatalf("the signature's row: %v", err)
	}
	if want := int64(11 * 60); left > want || left < want-60 {
		t.Fatalf("the entry expires in %ds, want about %ds", left, want)
	}
}
