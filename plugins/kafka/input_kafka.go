package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	kiFieldTopics           = "topics"
	kiFieldConsumerGroup    = "consumer_group"
	kiFieldStartFromOldest  = "start_from_oldest"
	kiFieldCheckpointLimit  = "checkpoint_limit"
	kiFieldCommitPeriod     = "commit_period"
	kiFieldFetchBufferCap   = "fetch_buffer_cap"
	kiFieldGroup            = "group"
	kiFieldSessionTimeout   = "session_timeout"
	kiFieldHeartbeat        = "heartbeat_interval"
	kiFieldRebalanceTimeout = "rebalance_timeout"
)

func kafkaInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Consumes Kafka topics as a member of a consumer group (sarama), committing an offset only once the message and every earlier message of its partition were acknowledged.").
		Description(`
Several erpsync processes with the same `+"`consumer_group`"+` share the topics' partitions; each partition is
read by one member at a time, in order.

Delivery is at least once. Each partition keeps the offsets it handed downstream in read order and marks an
offset for commit only when it and every earlier one were acknowledged, so a commit never passes a message
still in flight or nacked. Marked offsets are committed every `+"`commit_period`"+` and when a partition is
released. A nacked message is retried (with back off) until it is acknowledged. When the group rebalances,
the input stops reading the partitions it loses, waits up to half of `+"`group.rebalance_timeout`"+` for
their messages in flight, commits what is contiguous, and leaves the rest to the next owner: acknowledged
work is neither lost nor re-read beyond the unacknowledged tail.

Metadata: `+"`kafka_key`"+`, `+"`kafka_topic`"+`, `+"`kafka_partition`"+`, `+"`kafka_offset`"+`,
`+"`kafka_timestamp_unix`"+` (seconds), `+"`kafka_timestamp_ms`"+`, `+"`kafka_lag`"+` (messages behind the
partition's high water mark) and every record header (the last value of a repeated header wins).
`).
		Fields(addressesField(),
			service.NewStringListField(kiFieldTopics).
				Description("Topics to consume. An entry may hold several topics separated by commas.").
				Example([]string{"erp_documents"}),
			service.NewStringField(kiFieldConsumerGroup).
				Description("Consumer group id. Members of one group share the partitions and the committed offsets."),
			service.NewBoolField(kiFieldStartFromOldest).
				Description("Where a group with no committed offset for a partition starts: the oldest retained message (true) or only new ones (false).").
				Default(true),
			service.NewIntField(kiFieldCheckpointLimit).
				Description("Most messages of one partition in flight (read and not yet committable) at once; reading that partition waits when reached. Higher values let outputs batch and parallelise within a partition.").
				Default(1024),
			service.NewDurationField(kiFieldCommitPeriod).
				Description("How often marked offsets are committed to the group.").
				Default("1s"),
			service.NewIntField(kiFieldFetchBufferCap).
				Description("Messages buffered per partition between the fetcher and the input.").
				Default(256).Advanced(),
			service.NewObjectField(kiFieldGroup,
				service.NewDurationField(kiFieldSessionTimeout).
					Description("A member that sends no heartbeat for this long is removed from the group and its partitions reassigned.").
					Default("10s"),
				service.NewDurationField(kiFieldHeartbeat).
					Description("How often heartbeats are sent; also how soon a member hears of a rebalance. Keep it below a third of `session_timeout`.").
					Default("3s"),
				service.NewDurationField(kiFieldRebalanceTimeout).
					Description("How long the group waits for members to rejoin during a rebalance. Half of it bounds the wait for messages in flight of a partition being given up.").
					Default("60s"),
			).Description("Consumer group timings.").Advanced(),
		).
		Fields(connectionFields()...).
		LintRule(lintRule(saslLint,
			lintCheck{`this.checkpoint_limit.or(1024) < 1`, `"checkpoint_limit must be at least 1"`},
			lintCheck{`this.fetch_buffer_cap.or(256) < 0`, `"fetch_buffer_cap must not be negative"`},
			lintCheck{`this.consumer_group.or("") == ""`, `"consumer_group must not be empty"`},
		)).
		Example("Second half of a split pipeline", "Several replicas of this stream share the `erp_documents` partitions and write to K3Cloud; a document's versions stay on one partition, so they arrive in order.", `
input:
  kafka:
    addresses: [ kafka:9092 ]
    topics: [ erp_documents ]
    consumer_group: erpsync_k3cloud
    checkpoint_limit: 1024
    commit_period: 1s
`)
}

type inputConfig struct {
	addrs           []string
	topics          []string
	group           string
	checkpointLimit int
	drainTimeout    time.Duration
	sarama          *sarama.Config
}

func newKafkaInputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (service.Input, error) {
	in, err := newKafkaReader(conf, mgr)
	if err != nil {
		return nil, err
	}
	return service.AutoRetryNacks(in), nil
}

func newKafkaReader(conf *service.ParsedConfig, mgr *service.Resources) (*kafkaReader, error) {
	cc, err := clientConfigFromParsed(conf)
	if err != nil {
		return nil, err
	}
	sc, err := cc.Sarama()
	if err != nil {
		return nil, err
	}
	ic := inputConfig{addrs: cc.Addresses, sarama: sc}
	if ic.topics, err = conf.FieldStringList(kiFieldTopics); err != nil {
		return nil, err
	}
	ic.topics = Addrs(ic.topics)
	if len(ic.topics) == 0 {
		return nil, errors.New("kafka input: no topics: set topics to at least one topic")
	}
	if ic.group, err = conf.FieldString(kiFieldConsumerGroup); err != nil {
		return nil, err
	}
	if ic.group == "" {
		return nil, errors.New("kafka input: consumer_group is empty: set the group id the members share")
	}
	oldest, err := conf.FieldBool(kiFieldStartFromOldest)
	if err != nil {
		return nil, err
	}
	if ic.checkpointLimit, err = conf.FieldInt(kiFieldCheckpointLimit); err != nil {
		return nil, err
	}
	if ic.checkpointLimit < 1 {
		return nil, fmt.Errorf("kafka input: checkpoint_limit %d: must be at least 1", ic.checkpointLimit)
	}
	commitPeriod, err := conf.FieldDuration(kiFieldCommitPeriod)
	if err != nil {
		return nil, err
	}
	fetchCap, err := conf.FieldInt(kiFieldFetchBufferCap)
	if err != nil {
		return nil, err
	}
	session, err := conf.FieldDuration(kiFieldGroup, kiFieldSessionTimeout)
	if err != nil {
		return nil, err
	}
	heartbeat, err := conf.FieldDuration(kiFieldGroup, kiFieldHeartbeat)
	if err != nil {
		return nil, err
	}
	rebalance, err := conf.FieldDuration(kiFieldGroup, kiFieldRebalanceTimeout)
	if err != nil {
		return nil, err
	}
	ic.drainTimeout = rebalance / 2

	sc.ChannelBufferSize = fetchCap
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = commitPeriod
	sc.Consumer.Offsets.Initial = sarama.OffsetNewest
	if oldest {
		sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	}
	sc.Consumer.Group.Session.Timeout = session
	sc.Consumer.Group.Heartbeat.Interval = heartbeat
	sc.Consumer.Group.Rebalance.Timeout = rebalance
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka input: %w", err)
	}
	return newReader(ic, mgr.Logger()), nil
}

// kafkaReader is the consumer group member. Every claimed partition runs in
// its own ConsumeClaim goroutine (sarama's), which feeds msgs in the
// partition's order.
type kafkaReader struct {
	conf inputConfig
	log  *service.Logger

	msgs    chan delivery
	closing chan struct{} // closed by Close: skip waiting for acks
	once    sync.Once

	mu     sync.Mutex
	cg     sarama.ConsumerGroup
	cancel context.CancelFunc
	done   chan struct{} // closed when the consume loop has returned

	// Test hooks: onClaim hears a partition claim start and end, onRelease
	// that a claim is being given up (before the wait for acks).
	onClaim   func(topic string, partition int32, active bool)
	onRelease func(topic string, partition int32)
}

type delivery struct {
	msg *service.Message
	ack service.AckFunc
}

func newReader(conf inputConfig, log *service.Logger) *kafkaReader {
	return &kafkaReader{conf: conf, log: log, msgs: make(chan delivery), closing: make(chan struct{})}
}

func (r *kafkaReader) Connect(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cg != nil {
		return nil
	}
	select {
	case <-r.closing:
		return service.ErrEndOfInput
	default:
	}
	cg, err := sarama.NewConsumerGroup(r.conf.addrs, r.conf.group, r.conf.sarama)
	if err != nil {
		return fmt.Errorf("kafka input: joining group %s at %v: %w (check addresses, tls and sasl)", r.conf.group, r.conf.addrs, err)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	r.cg, r.cancel, r.done = cg, cancel, make(chan struct{})
	go r.logErrors(cg)
	go r.consume(loopCtx, cg, r.done)
	return nil
}

func (r *kafkaReader) logErrors(cg sarama.ConsumerGroup) {
	for err := range cg.Errors() {
		r.log.Warnf("kafka input: group %s: %v", r.conf.group, err)
	}
}

// consume rejoins the group after every rebalance until ctx ends.
func (r *kafkaReader) consume(ctx context.Context, cg sarama.ConsumerGroup, done chan struct{}) {
	defer close(done)
	h := &groupHandler{r: r}
	for {
		err := cg.Consume(ctx, r.conf.topics, h)
		if ctx.Err() != nil || errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return
		}
		if err != nil {
			r.log.Errorf("kafka input: group %s, topics %v: %v; rejoining", r.conf.group, r.conf.topics, err)
			t := time.NewTimer(jitter(time.Second))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
	}
}

func (r *kafkaReader) Read(ctx context.Context) (*service.Message, service.AckFunc, error) {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	if done == nil {
		return nil, nil, service.ErrNotConnected
	}
	select {
	case d := <-r.msgs:
		return d.msg, d.ack, nil
	case <-done:
		return nil, nil, service.ErrEndOfInput
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// Close leaves the group after committing what was acknowledged. Benthos
// calls it once every delivered message was acknowledged or the shutdown
// timed out, so nothing still in flight is waited for.
func (r *kafkaReader) Close(ctx context.Context) error {
	r.once.Do(func() { close(r.closing) })
	r.mu.Lock()
	cg, cancel, done := r.cg, r.cancel, r.done
	r.mu.Unlock()
	if cg == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if err := cg.Close(); err != nil {
		return fmt.Errorf("kafka input: leaving group %s: %w", r.conf.group, err)
	}
	return nil
}

type groupHandler struct{ r *kafkaReader }

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	r := h.r
	topic, partition := claim.Topic(), claim.Partition()
	if r.onClaim != nil {
		r.onClaim(topic, partition, true)
		defer r.onClaim(topic, partition, false)
	}
	t := newPartitionTracker(r.conf.checkpointLimit, func(next int64) {
		sess.MarkOffset(topic, partition, next, "")
	})
	defer r.release(topic, partition, t)

	ctx := sess.Context()
	for {
		var m *sarama.ConsumerMessage
		select {
		case mm, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			m = mm
		case <-ctx.Done():
			return nil
		}
		if err := t.Reserve(ctx); err != nil {
			return nil
		}
		offset := m.Offset
		t.Track(offset)
		d := delivery{
			msg: toMessage(m, claim.HighWaterMarkOffset()),
			ack: func(_ context.Context, err error) error {
				// A nack leaves the offset in flight: the retry wrapper
				// redelivers it, and nothing after it is committed meanwhile.
				if err == nil {
					t.Ack(offset)
				}
				return nil
			},
		}
		select {
		case r.msgs <- d:
		case <-ctx.Done():
			t.Untrack(offset)
			return nil
		}
	}
}

// release gives a partition up: it waits, within the drain bound, for the
// messages in flight to be acknowledged so their offsets are committed by
// this member rather than re-read by the next one, then stops marking.
func (r *kafkaReader) release(topic string, partition int32, t *partitionTracker) {
	if r.onRelease != nil {
		r.onRelease(topic, partition)
	}
	timer := time.NewTimer(r.conf.drainTimeout)
	defer timer.Stop()
	select {
	case <-t.Drained():
	case <-timer.C:
	case <-r.closing:
	}
	if n := t.Close(); n > 0 {
		r.log.Infof("kafka input: %s/%d released with %d messages not yet committable; the partition's next owner reads them again", topic, partition, n)
	}
}

func toMessage(m *sarama.ConsumerMessage, highWater int64) *service.Message {
	msg := service.NewMessage(m.Value)
	for _, h := range m.Headers {
		if h != nil && len(h.Key) > 0 {
			msg.MetaSetMut(string(h.Key), string(h.Value))
		}
	}
	lag := max(highWater-m.Offset-1, 0)
	msg.MetaSetMut("kafka_key", string(m.Key))
	msg.MetaSetMut("kafka_topic", m.Topic)
	msg.MetaSetMut("kafka_partition", strconv.Itoa(int(m.Partition)))
	msg.MetaSetMut("kafka_offset", strconv.FormatInt(m.Offset, 10))
	msg.MetaSetMut("kafka_timestamp_unix", strconv.FormatInt(m.Timestamp.Unix(), 10))
	msg.MetaSetMut("kafka_timestamp_ms", strconv.FormatInt(m.Timestamp.UnixMilli(), 10))
	msg.MetaSetMut("kafka_lag", strconv.FormatInt(lag, 10))
	return msg
}

func init() {
	service.MustRegisterInput("kafka", kafkaInputSpec(), newKafkaInputFromParsed)
}
