package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	whFieldAddress      = "address"
	whFieldPath         = "path"
	whFieldSecret       = "secret"
	whFieldMaxSkew      = "max_skew"
	whFieldMaxBodyBytes = "max_body_bytes"
	whFieldTimeout      = "timeout"
	whFieldReadTimeout  = "read_timeout"
	whFieldReplay       = "replay"
	whFieldReplayFile   = "file"
	whFieldReplayCache  = "cache"

	// Metadata of an accepted event.
	MetaEventID   = "event_id"
	MetaTimestamp = "webhook_timestamp"
	MetaRemoteIP  = "webhook_remote_ip"

	// DefaultMaxBodyBytes is the default body limit, 1 MiB.
	DefaultMaxBodyBytes = 1 << 20

	// RequestsMetric counts answers by HTTP status.
	RequestsMetric = "erpsync_webhook_requests_total" // code

	// cacheKeyPrefix prefixes the signatures a replay cache holds.
	cacheKeyPrefix = "webhook_replay:"
)

func webhookInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Network").
		Summary("Receives signed push notifications (webhooks) on its own HTTP address: verifies an HMAC-SHA256 signature and a timestamp while the body streams in, refuses replays from a persistent replay window, and emits each accepted event once.").
		Description(`
The request contract, which a sender implements:

`+"```"+`
POST <path>             body: the event, JSON
X-Erpsync-Timestamp:    Unix seconds
X-Erpsync-Signature:    hex(HMAC-SHA256(secret, timestamp + "." + body))
`+"```"+`

Every answer is JSON `+"`{\"code\": ..., \"msg\": ...}`"+`:

| status | when |
|---|---|
| 202 | accepted: `+"`{\"code\":0,\"msg\":\"accepted\",\"event_id\":\"<first 16 hex digits of the signature>\"}`"+` |
| 401 | bad or missing signature; a timestamp more than `+"`max_skew`"+` away from the receiver's clock |
| 409 | replayed request: this signature was accepted before |
| 400 | the body is not JSON |
| 413 | the body is over `+"`max_body_bytes`"+` |
| 405, 404 | a method other than POST, another path |
| 503 | the event could not be recorded or the stream did not take it in `+"`timeout`"+`: retry |

Refusals cost little. A `+"`Content-Length`"+` over the limit, a missing or malformed signature and a stale
timestamp are answered from the headers, before any of the body is read (and the connection is closed
rather than drained). Other bodies are read up to the limit, chunked or not, through the HMAC as they
arrive: a request holds at most `+"`max_body_bytes`"+` of memory.

A signed, fresh, JSON request is recorded in the replay window, then handed to the stream; it is answered
202 once the stream acknowledged it, which with a `+"`buffer`"+` is as soon as it is buffered (without one,
once it is delivered). An event the stream refuses, or does not take within `+"`timeout`"+`, is answered 503
and removed from the window so that the sender's retry is accepted; one the stream took but did not
acknowledge in time is answered 503 and stays in the window (it may still be delivered).

The replay window holds every request accepted within `+"`max_skew`"+` of now; older ones are refused by their
timestamp and dropped. It is kept in `+"`replay.file`"+` (an append-only file, synced before the answer, so it
survives SIGKILL and restarts, rewritten as entries age out), or in the cache resource `+"`replay.cache`"+` (e.g.
a `+"`mysql`"+` cache, to share the window between replicas). A `+"`memory`"+` cache would forget it on restart.

Each accepted event is one message: the body byte for byte, with metadata `+"`"+MetaEventID+"`"+` (the first 16 hex digits
of the signature, the same if the sender sends the same request again: an idempotency key for subscribers),
`+"`"+MetaTimestamp+"`"+` (the header as sent) and `+"`"+MetaRemoteIP+"`"+`. Refusals are logged at WARN with their status and
reason (never the secret, a signature or a body) and every answer is counted in `+"`"+RequestsMetric+"{code}`"+`.
`).
		Fields(
			service.NewStringField(whFieldAddress).
				Description("Address to listen on, `host:port`.").
				Default("0.0.0.0:8080"),
			service.NewStringField(whFieldPath).
				Description("The path requests are posted to; other paths answer 404.").
				Default("/webhooks/events"),
			service.NewStringField(whFieldSecret).
				Description("The secret shared with senders, which signs every request. It must not be empty.").
				Secret(),
			service.NewDurationField(whFieldMaxSkew).
				Description("How far, either way, a request's timestamp may be from the receiver's clock; also how long a signature stays in the replay window. Whole seconds.").
				Default("5m"),
			service.NewIntField(whFieldMaxBodyBytes).
				Description("Largest body accepted, in bytes; a larger one is refused with 413.").
				Default(DefaultMaxBodyBytes),
			service.NewDurationField(whFieldTimeout).
				Description("How long an accepted event may wait for the stream to take and acknowledge it before the answer is 503.").
				Default("5s"),
			service.NewDurationField(whFieldReadTimeout).
				Description("How long a client may take to send a request, headers and body.").
				Default("30s").Advanced(),
			service.NewObjectField(whFieldReplay,
				service.NewStringField(whFieldReplayFile).
					Description("File holding the replay window; its folder is created when missing. One webhook input per file: two in one process are refused, two processes must not share one.").
					Default("./state/replays/webhook.log"),
				service.NewStringField(whFieldReplayCache).
					Description("Name of a cache resource holding the replay window instead of `file` (when not empty). It must support TTLs and an atomic `add`; a `mysql` cache lets several replicas share the window.").
					Default(""),
			).Description("Where accepted signatures are kept until their timestamp leaves the window."),
		).
		LintRule(`root = if this.max_body_bytes.or(1) < 1 { ["max_body_bytes must be at least 1"] } else if !this.path.or("/").has_prefix("/") { ["path must start with /"] }`).
		Example("Signed push notifications", "Receives vendor push notifications on port 8080, keeps the replay window under the state folder, and answers at once: the buffer acknowledges each event as soon as it holds it.", exampleInput)
}

// Examples of the spec, linted by TestSpecExampleLints.
const exampleInput = `
input:
  webhook:
    address: 0.0.0.0:8080
    path: /webhooks/events
    secret: ${WEBHOOK_SECRET}
    max_skew: 300s
    max_body_bytes: 1048576
    replay:
      file: ./state/replays/webhook_events.log

buffer:
  memory:
    limit: 104857600

output:
  http_client:
    url: https://subscriber.example.com/hook
    verb: POST
    headers:
      X-Erpsync-Event: ${! @event_id }
`

type delivery struct {
	ev   Event
	done func(error)
}

var errClosing = errors.New("webhook: input closing")

type webhookInput struct {
	address     string
	readTimeout time.Duration
	cfg         Config // without Replays and Deliver, which Connect adds
	replayFile  string
	replayCache string
	mgr         *service.Resources
	log         *service.Logger

	deliveries chan delivery
	closing    chan struct{}
	closeOnce  sync.Once

	mu     sync.Mutex
	srv    *http.Server
	served chan struct{} // closed when srv stopped serving
	rc     *Receiver
	store  ReplayStore
	addr   net.Addr
}

func newWebhookInputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*webhookInput, error) {
	in := &webhookInput{
		mgr:        mgr,
		log:        mgr.Logger(),
		deliveries: make(chan delivery),
		closing:    make(chan struct{}),
	}
	var err error
	if in.address, err = conf.FieldString(whFieldAddress); err != nil {
		return nil, err
	}
	if in.cfg.Path, err = conf.FieldString(whFieldPath); err != nil {
		return nil, err
	}
	secret, err := conf.FieldString(whFieldSecret)
	if err != nil {
		return nil, err
	}
	in.cfg.Secret = []byte(secret)
	if in.cfg.MaxSkew, err = conf.FieldDuration(whFieldMaxSkew); err != nil {
		return nil, err
	}
	maxBody, err := conf.FieldInt(whFieldMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	in.cfg.MaxBodyBytes = int64(maxBody)
	if in.cfg.AckTimeout, err = conf.FieldDuration(whFieldTimeout); err != nil {
		return nil, err
	}
	if in.readTimeout, err = conf.FieldDuration(whFieldReadTimeout); err != nil {
		return nil, err
	}
	if in.replayFile, err = conf.FieldString(whFieldReplay, whFieldReplayFile); err != nil {
		return nil, err
	}
	if in.replayCache, err = conf.FieldString(whFieldReplay, whFieldReplayCache); err != nil {
		return nil, err
	}
	switch {
	case in.cfg.Path == "" || in.cfg.Path[0] != '/':
		return nil, fmt.Errorf("webhook: path %q must start with /", in.cfg.Path)
	case in.readTimeout <= 0:
		return nil, fmt.Errorf("webhook: read_timeout %s must be positive", in.readTimeout)
	case in.replayCache != "" && !mgr.HasCache(in.replayCache):
		return nil, fmt.Errorf("webhook: replay.cache %q: no cache resource of that name", in.replayCache)
	case in.replayCache == "" && in.replayFile == "":
		return nil, errors.New("webhook: replay.file is empty and no replay.cache is set: the replay window needs a place")
	}
	// The receiver's own checks (secret, skew, limit, timeout), now rather
	// than at Connect, so that a bad config stops the stream at start.
	probe := in.cfg
	probe.Replays, probe.Deliver = noStore{}, in.deliver
	if _, err := NewReceiver(probe); err != nil {
		return nil, err
	}

	answers := mgr.Metrics().NewCounter(RequestsMetric, "code")
	in.cfg.OnAnswer = func(status int, reason, remote string) {
		answers.Incr(1, strconv.Itoa(status))
		if status == http.StatusAccepted {
			return
		}
		in.log.Warnf("webhook refused: %d %s (from %s)", status, reason, remote)
	}
	in.cfg.OnError = func(err error) { in.log.Errorf("%v", err) }
	return in, nil
}

func init() {
	service.MustRegisterInput("webhook", webhookInputSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.Input, error) {
			return newWebhookInputFromParsed(conf, mgr)
		})
}

// Connect opens the replay window and starts serving; a port in use or an
// unreadable replay file fails it (Benthos retries).
func (in *webhookInput) Connect(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.srv != nil {
		return nil
	}
	select {
	case <-in.closing:
		return service.ErrEndOfInput
	default:
	}
	store, err := in.openStore()
	if err != nil {
		return err
	}
	cfg := in.cfg
	cfg.Replays, cfg.Deliver = store, in.deliver
	rc, err := NewReceiver(cfg)
	if err != nil {
		_ = store.Close(ctx)
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", in.address)
	if err != nil {
		_ = store.Close(ctx)
		return fmt.Errorf("webhook: listening on %s: %w", in.address, err)
	}
	srv := NewServer(rc, in.readTimeout)
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			in.log.Errorf("webhook: serving on %s stopped: %v", ln.Addr(), err)
		}
	}()
	in.srv, in.served, in.rc, in.store, in.addr = srv, served, rc, store, ln.Addr()
	where := "replay file " + in.replayFile
	if in.replayCache != "" {
		where = "replay cache " + in.replayCache
	}
	in.log.Infof("webhook: receiving POST %s on %s (%s)", in.cfg.Path, ln.Addr(), where)
	return nil
}

func (in *webhookInput) openStore() (ReplayStore, error) {
	if in.replayCache != "" {
		// An entry must outlive every request that could replay it: its
		// timestamp may be max_skew ahead, and may be replayed until
		// max_skew after it; a minute more for clocks that differ.
		return cacheStore{mgr: in.mgr, name: in.replayCache, ttl: 2*in.cfg.MaxSkew + time.Minute}, nil
	}
	fs, err := OpenFileStore(in.replayFile, in.cfg.MaxSkew, in.cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if n := fs.Skipped(); n > 0 {
		in.log.Warnf("webhook: replay file %s: %d unreadable lines skipped (corrupted?)", in.replayFile, n)
	}
	return fs, nil
}

// deliver is the receiver's Deliverer: it hands ev to Read.
func (in *webhookInput) deliver(ctx context.Context, ev Event, done func(error)) error {
	select {
	case in.deliveries <- delivery{ev: ev, done: done}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-in.closing:
		return errClosing
	}
}

// Read returns the next accepted event; its acknowledgement is the
// answer to the request (202, or 503 on a nack).
func (in *webhookInput) Read(ctx context.Context) (*service.Message, service.AckFunc, error) {
	select {
	case d := <-in.deliveries:
		m := service.NewMessage(d.ev.Body)
		m.MetaSetMut(MetaEventID, d.ev.ID)
		m.MetaSetMut(MetaTimestamp, d.ev.Timestamp)
		m.MetaSetMut(MetaRemoteIP, d.ev.RemoteIP)
		return m, func(_ context.Context, err error) error {
			d.done(err)
			return nil
		}, nil
	case <-in.closing:
		return nil, nil, service.ErrEndOfInput
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// Close stops serving: new requests and those waiting for an
// acknowledgement are answered 503, then the replay window is closed.
func (in *webhookInput) Close(ctx context.Context) error {
	in.closeOnce.Do(func() { close(in.closing) })
	in.mu.Lock()
	srv, served, rc, store := in.srv, in.served, in.rc, in.store
	in.srv, in.rc, in.store = nil, nil, nil
	in.mu.Unlock()
	if rc != nil {
		rc.Stop()
	}
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
		<-served
	}
	if store != nil {
		return store.Close(ctx)
	}
	return nil
}

// boundAddr is the address served, once connected.
func (in *webhookInput) boundAddr() net.Addr {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.addr
}

// cacheStore keeps the replay window in a cache resource, one key per
// signature expiring after ttl.
type cacheStore struct {
	mgr  *service.Resources
	name string
	ttl  time.Duration
}

func (c cacheStore) Add(ctx context.Context, key string, ts int64) error {
	var err error
	if aerr := c.mgr.AccessCache(ctx, c.name, func(cache service.Cache) {
		err = cache.Add(ctx, cacheKeyPrefix+key, []byte(strconv.FormatInt(ts, 10)), &c.ttl)
	}); aerr != nil {
		return fmt.Errorf("replay cache %s: %w", c.name, aerr)
	}
	if errors.Is(err, service.ErrKeyAlreadyExists) {
		return ErrReplay
	}
	if err != nil {
		return fmt.Errorf("replay cache %s: %w", c.name, err)
	}
	return nil
}

func (c cacheStore) Forget(ctx context.Context, key string) error {
	var err error
	if aerr := c.mgr.AccessCache(ctx, c.name, func(cache service.Cache) {
		err = cache.Delete(ctx, cacheKeyPrefix+key)
	}); aerr != nil {
		return fmt.Errorf("replay cache %s: %w", c.name, aerr)
	}
	if err != nil {
		return fmt.Errorf("replay cache %s: %w", c.name, err)
	}
	return nil
}

// Close leaves the cache to its owner, the resource.
func (cacheStore) Close(context.Context) error { return nil }

// noStore stands in for the store when the config is checked.
type noStore struct{}

func (noStore) Add(context.Context, string, int64) error { return errors.New("no store") }
func (noStore) Forget(context.Context, string) error     { return nil }
func (noStore) Close(context.Context) error              { return nil }
