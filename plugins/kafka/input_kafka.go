package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	kiFieldTopics           = "topics"
	kiFieldConsumerGroup    = "consumer_group"
	kiFieldInstanceID       = "instance_id"
	kiFieldStartFromOldest  = "start_from_oldest"
	kiFieldCheckpointLimit  = "checkpoint_limit"
	kiFieldCommitPeriod     = "commit_period"
	kiFieldMaxProcessing    = "max_processing_period"
	kiFieldFetchBufferCap   = "fetch_buffer_cap"
	kiFieldMultiHeader      = "multi_header"
	kiFieldBatching         = "batching"
	kiFieldGroup            = "group"
	kiFieldSessionTimeout   = "session_timeout"
	kiFieldHeartbeat        = "heartbeat_interval"
	kiFieldRebalanceTimeout = "rebalance_timeout"
)

// topicsExpr is the lint rules' view of the topics field: its entries split
// at commas, as the input reads them.
const topicsExpr = `this.topics.or([]).map_each(t -> t.string().split(",")).flatten().map_each(t -> t.trim()).filter(t -> t != "").catch([])`

func kafkaInputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Consumes Kafka topics (sarama) as a member of a consumer group, or explicit partitions, committing an offset only once the message and every earlier message of its partition were acknowledged.").
		Description(`
The fields are those of Redpanda Connect's sarama-based `+"`kafka`"+` input, with the same meaning and
defaults (except `+"`client_id`"+`, `+"`erpsync`"+`), so a Connect config lints and runs unchanged.

Several erpsync processes with the same `+"`consumer_group`"+` share the topics' partitions; each partition is
read by one member at a time, in order. A topic entry `+"`foo:0`"+` or `+"`foo:0-5`"+` names partitions
explicitly instead: they are read without joining a group (all of them, by this process), from the offsets
`+"`consumer_group`"+` committed when it is set, or from `+"`start_from_oldest`"+` when it is empty (nothing
is committed then). Balanced and explicit topics cannot be mixed in one input, and balanced topics need a
`+"`consumer_group`"+`.

Delivery is at least once. Each partition keeps the offsets it handed downstream in read order and marks an
offset for commit only when it and every earlier one were acknowledged, so a commit never passes a message
still in flight or nacked. Marked offsets are committed every `+"`commit_period`"+` and when a partition is
released. A nacked message is replayed (with back off) until it is acknowledged; with
`+"`auto_replay_nacks: false`"+` a nack instead drops the message: its offset counts as done and is
committed. When the group rebalances, the input stops reading the partitions it loses, waits up to half of
`+"`group.rebalance_timeout`"+` for their messages in flight, commits what is contiguous, and leaves the rest
to the next owner.

`+"`batching`"+` forms batches per partition (a batch never mixes partitions); a batch counts as many
messages towards `+"`checkpoint_limit`"+` as it holds, and one larger than the limit is delivered alone.

Metadata, typed as in Connect: `+"`kafka_key`"+` (string), `+"`kafka_topic`"+` (string),
`+"`kafka_partition`"+`, `+"`kafka_offset`"+`, `+"`kafka_lag`"+` (messages behind the partition's high water
mark), `+"`kafka_timestamp_unix`"+` (seconds) and `+"`kafka_timestamp_ms`"+` (integers: `+"`@kafka_partition + 1`"+`
works, and `+"`meta(\"kafka_partition\")`"+` and interpolations still give the digits),
`+"`kafka_tombstone_message`"+` (bool: the record has a null value), and every record header as a string (the
last value of a repeated header wins), or with `+"`multi_header: true`"+` as an array of every value.
`).
		Fields(addressesField(),
			service.NewStringListField(kiFieldTopics).
				Description("Topics to consume. An entry may hold several topics separated by commas. `foo:0` consumes only partition 0 of `foo`, `foo:0-5` partitions 0 to 5: explicit partitions are read without a consumer group's balancing.").
				Example([]string{"erp_documents"}).
				Example([]string{"foo,bar"}).
				Example([]string{"foo:0", "bar:1", "bar:3"}).
				Example([]string{"foo:0-5"}),
			service.NewStringField(kiFieldConsumerGroup).
				Description("Consumer group id. Members of one group share the partitions of balanced topics and the committed offsets. Required for balanced topics; with explicit partitions it only stores offsets, and empty means offsets are neither read nor committed.").
				Default(""),
			service.NewStringField(kiFieldInstanceID).
				Description("Static group membership (KIP-345): an id unique to this input that survives restarts, so a restart within `group.session_timeout` does not rebalance the group. Needs Kafka 2.3+ (`target_version` is raised to 2.3.0 when unset).").
				Optional().Advanced(),
			service.NewBoolField(kiFieldStartFromOldest).
				Description("Where a partition with no committed offset (or one no longer retained) starts: the oldest retained message (true) or only new ones (false).").
				Default(true).Advanced(),
			service.NewIntField(kiFieldCheckpointLimit).
				Description("Most messages of one partition in flight (read and not yet committable) at once; reading that partition waits when reached. `1` processes each partition in lock-step. Higher values let outputs batch and parallelise within a partition.").
				Default(1024),
			service.NewAutoRetryNacksToggleField(),
			service.NewForceTimelyNacksField(),
			service.NewDurationField(kiFieldCommitPeriod).
				Description("How often marked offsets are committed. Offsets are also committed when a partition is released and at shutdown.").
				Default("1s").Advanced(),
			service.NewDurationField(kiFieldMaxProcessing).
				Description("Longest a message is expected to take to process (sarama's `Consumer.MaxProcessingTime`): a partition whose messages wait longer than this to be taken is paused by the fetcher meanwhile.").
				Default("100ms").Advanced(),
			service.NewExtractTracingSpanMappingField(),
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
			service.NewIntField(kiFieldFetchBufferCap).
				Description("Messages buffered per partition between the fetcher and the input.").
				Default(256).Advanced(),
			service.NewBoolField(kiFieldMultiHeader).
				Description("Decode every record header into an array of its values, so repeated headers keep every value (`@my_header.index(1)`).").
				Default(false).Advanced(),
			service.NewBatchPolicyField(kiFieldBatching).Advanced(),
		).
		Fields(connectionFields()...).
		LintRule(lintRule(saslLint, []lintCheck{
			{`this.checkpoint_limit.or(1024) < 1`, `"checkpoint_limit must be at least 1"`},
			{`this.fetch_buffer_cap.or(256) < 0`, `"fetch_buffer_cap must not be negative"`},
			{topicsExpr + `.any(t -> t.contains(":")) && ` + topicsExpr + `.any(t -> !t.contains(":"))`,
				`"topics: balanced topics and explicit partitions (topic:partition) cannot be mixed in one kafka input"`},
		})).
		Example("Second half of a split pipeline", "Several replicas of this stream share the `erp_documents` partitions and write to K3Cloud; a document's versions stay on one partition, so they arrive in order.", `
input:
  kafka:
    addresses: [ kafka:9092 ]
    topics: [ erp_documents ]
    consumer_group: erpsync_k3cloud
    checkpoint_limit: 1024
    commit_period: 1s
`).
		Example("Replaying two partitions", "Reads partitions 0 and 1 of `erp_documents` from the oldest message, without a consumer group: nothing is committed, and every run reads them again.", `
input:
  kafka:
    addresses: [ kafka:9092 ]
    topics: [ "erp_documents:0-1" ]
    start_from_oldest: true
`)
}

type inputConfig struct {
	addrs           []string
	topics          []string           // balanced topics (consumer group)
	partitions      map[string][]int32 // explicit partitions
	group           string
	checkpointLimit int
	autoReplay      bool
	multiHeader     bool
	batching        service.BatchPolicy
	drainTimeout    time.Duration
	sarama          *sarama.Config
}

func newKafkaInputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
	r, err := newKafkaReader(conf, mgr)
	if err != nil {
		return nil, err
	}
	var in service.BatchInput = r
	if in, err = service.AutoRetryNacksBatchedToggled(conf, in); err != nil {
		return nil, err
	}
	if in, err = service.ForceTimelyNacksBatched(conf, in); err != nil {
		return nil, err
	}
	return conf.WrapBatchInputExtractTracingSpanMapping("kafka", in)
}

// parseTopics splits the topics entries into balanced topics and explicit
// partitions (topic:N or topic:N-M).
func parseTopics(entries []string) (balanced []string, explicit map[string][]int32, err error) {
	explicit = map[string][]int32{}
	seen := map[string]map[int32]bool{}
	for _, e := range Addrs(entries) {
		topic, parts, ok := strings.Cut(e, ":")
		if !ok {
			balanced = append(balanced, e)
			continue
		}
		if topic == "" {
			return nil, nil, fmt.Errorf("kafka input: topics entry %q: no topic before the colon", e)
		}
		lo, hi, isRange := strings.Cut(parts, "-")
		first, err1 := strconv.ParseInt(strings.TrimSpace(lo), 10, 32)
		last := first
		var err2 error
		if isRange {
			last, err2 = strconv.ParseInt(strings.TrimSpace(hi), 10, 32)
		}
		if err1 != nil || err2 != nil || first < 0 || last < first {
			return nil, nil, fmt.Errorf("kafka input: topics entry %q: want topic:partition or topic:first-last with 0 <= first <= last", e)
		}
		if seen[topic] == nil {
			seen[topic] = map[int32]bool{}
		}
		for p := int32(first); p <= int32(last); p++ {
			if !seen[topic][p] {
				seen[topic][p] = true
				explicit[topic] = append(explicit[topic], p)
			}
		}
	}
	return balanced, explicit, nil
}

func newKafkaReader(conf *service.ParsedConfig, mgr *service.Resources) (*kafkaReader, error) {
	cc, err := clientConfigFromParsed(conf, mgr)
	if err != nil {
		return nil, err
	}
	sc, err := cc.Sarama()
	if err != nil {
		return nil, err
	}
	ic := inputConfig{addrs: cc.Addresses, sarama: sc}
	entries, err := conf.FieldStringList(kiFieldTopics)
	if err != nil {
		return nil, err
	}
	if ic.topics, ic.partitions, err = parseTopics(entries); err != nil {
		return nil, err
	}
	switch {
	case len(ic.topics) == 0 && len(ic.partitions) == 0:
		return nil, errors.New("kafka input: no topics: set topics to at least one topic")
	case len(ic.topics) > 0 && len(ic.partitions) > 0:
		return nil, errors.New("kafka input: topics: balanced topics and explicit partitions (topic:partition) cannot be mixed in one kafka input; use two inputs under a broker")
	}
	if ic.group, err = conf.FieldString(kiFieldConsumerGroup); err != nil {
		return nil, err
	}
	if ic.group == "" && len(ic.topics) > 0 {
		return nil, fmt.Errorf("kafka input: topics %v: a consumer_group is required to consume balanced topics; or name partitions explicitly (topic:partition)", ic.topics)
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
	if ic.autoReplay, err = conf.FieldBool(service.AutoRetryNacksToggleFieldName); err != nil {
		return nil, err
	}
	if ic.multiHeader, err = conf.FieldBool(kiFieldMultiHeader); err != nil {
		return nil, err
	}
	if ic.batching, err = conf.FieldBatchPolicy(kiFieldBatching); err != nil {
		return nil, err
	}
	if ic.batching.IsNoop() {
		ic.batching.Count = 1
	}
	commitPeriod, err := conf.FieldDuration(kiFieldCommitPeriod)
	if err != nil {
		return nil, err
	}
	maxProcessing, err := conf.FieldDuration(kiFieldMaxProcessing)
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
	sc.Consumer.MaxProcessingTime = maxProcessing
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = commitPeriod
	sc.Consumer.Offsets.Initial = sarama.OffsetNewest
	if oldest {
		sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	}
	sc.Consumer.Group.Session.Timeout = session
	sc.Consumer.Group.Heartbeat.Interval = heartbeat
	sc.Consumer.Group.Rebalance.Timeout = rebalance
	// A JoinGroup answer may take up to the rebalance timeout: the read
	// timeout must outlast it (and the session), as Connect does.
	sc.Net.ReadTimeout = max(sc.Net.ReadTimeout, 2*session+time.Second, 2*rebalance+time.Second)
	if conf.Contains(kiFieldInstanceID) {
		id, err := conf.FieldString(kiFieldInstanceID)
		if err != nil {
			return nil, err
		}
		if id != "" {
			sc.Consumer.Group.InstanceId = id
			if cc.TargetVersion == "" && !sc.Version.IsAtLeast(sarama.V2_3_0_0) {
				sc.Version = sarama.V2_3_0_0
			}
		}
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka input: %w", err)
	}
	return newReader(ic, mgr), nil
}

// kafkaReader reads balanced topics as a consumer group member, or explicit
// partitions with one partition consumer each. Every partition runs in its
// own goroutine (sarama's ConsumeClaim, or ours), which feeds msgs in the
// partition's order.
type kafkaReader struct {
	conf inputConfig
	mgr  *service.Resources
	log  *service.Logger

	msgs    chan delivery
	closing chan struct{} // closed by Close: skip waiting for acks
	once    sync.Once

	mu       sync.Mutex
	cg       sarama.ConsumerGroup // balanced topics
	explicit *explicitConsumer    // explicit partitions
	cancel   context.CancelFunc
	done     chan struct{} // closed when the consume loop has returned

	// Test hooks: onClaim hears a partition claim start and end, onRelease
	// that a claim is being given up (before the wait for acks).
	onClaim   func(topic string, partition int32, active bool)
	onRelease func(topic string, partition int32)
}

type delivery struct {
	batch service.MessageBatch
	ack   service.AckFunc
}

func newReader(conf inputConfig, mgr *service.Resources) *kafkaReader {
	return &kafkaReader{conf: conf, mgr: mgr, log: mgr.Logger(), msgs: make(chan delivery), closing: make(chan struct{})}
}

func (r *kafkaReader) Connect(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		return nil
	}
	select {
	case <-r.closing:
		return service.ErrEndOfInput
	default:
	}
	if len(r.conf.partitions) > 0 {
		return r.connectExplicit()
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

func (r *kafkaReader) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	if done == nil {
		return nil, nil, service.ErrNotConnected
	}
	select {
	case d := <-r.msgs:
		return d.batch, d.ack, nil
	case <-done:
		return nil, nil, service.ErrEndOfInput
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// Close leaves the group (or stops the partition consumers) after
// committing what was acknowledged. Benthos calls it once every delivered
// message was acknowledged or the shutdown timed out, so nothing still in
// flight is waited for.
func (r *kafkaReader) Close(ctx context.Context) error {
	r.once.Do(func() { close(r.closing) })
	r.mu.Lock()
	cg, ex, cancel, done := r.cg, r.explicit, r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
	if ex != nil {
		return ex.close()
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
	r.readPartition(sess.Context(), topic, partition, claim.Messages(), claim.HighWaterMarkOffset, t)
	return nil
}

// readPartition batches the messages of one partition and hands the batches
// downstream in order, tracking each for commit, until msgs closes or ctx
// ends.
func (r *kafkaReader) readPartition(ctx context.Context, topic string, partition int32, msgs <-chan *sarama.ConsumerMessage, highWater func() int64, t *partitionTracker) {
	batcher, err := r.conf.batching.NewBatcher(r.mgr)
	if err != nil {
		r.log.Errorf("kafka input: %s/%d: batching: %v", topic, partition, err)
		return
	}
	defer func() { _ = batcher.Close(context.Background()) }()

	var (
		last    int64 // offset of the newest message in the batcher
		pending int   // messages in the batcher
		timer   *time.Timer
		timerC  <-chan time.Time
	)
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer, timerC = nil, nil
		}
	}
	defer stopTimer()
	flush := func() bool {
		stopTimer()
		if pending == 0 {
			return true
		}
		n, offset := pending, last
		pending = 0
		batch, err := batcher.Flush(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Errorf("kafka input: %s/%d: flushing batch: %v", topic, partition, err)
			}
			return false
		}
		if err := t.ReserveN(ctx, n); err != nil {
			return false
		}
		t.TrackN(offset, n)
		if len(batch) == 0 { // the batch processors dropped everything
			t.Ack(offset)
			return true
		}
		d := delivery{batch: batch, ack: func(_ context.Context, err error) error {
			// With auto_replay_nacks (the default) nacks never get here: the
			// retry wrapper replays them. Otherwise a nack drops the batch,
			// as in Connect, so its offsets are done.
			if err == nil || !r.conf.autoReplay {
				if err != nil {
					r.log.Debugf("kafka input: %s/%d: dropping nacked offsets up to %d (auto_replay_nacks is false): %v", topic, partition, offset, err)
				}
				t.Ack(offset)
			}
			return nil
		}}
		select {
		case r.msgs <- d:
			return true
		case <-ctx.Done():
			t.Untrack(offset)
			return false
		}
	}
	for {
		if timerC == nil {
			if d, ok := batcher.UntilNext(); ok {
				timer = time.NewTimer(d)
				timerC = timer.C
			}
		}
		select {
		case <-timerC:
			timer, timerC = nil, nil
			if !flush() {
				return
			}
		case m, ok := <-msgs:
			if !ok {
				return
			}
			last = m.Offset
			pending++
			if batcher.Add(toMessage(m, highWater(), r.conf.multiHeader)) && !flush() {
				return
			}
		case <-ctx.Done():
			return
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

// explicitConsumer reads named partitions without group membership; with a
// consumer group its offsets are read from and committed to that group, as
// a "simple consumer" (no generation, no member id), like Connect does.
type explicitConsumer struct {
	client   sarama.Client
	consumer sarama.Consumer
	parts    []sarama.PartitionConsumer
	offsets  *offsetStore // nil without a consumer group
}

func (e *explicitConsumer) close() error {
	var errs []error
	for _, pc := range e.parts {
		if err := pc.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if e.offsets != nil {
		if err := e.offsets.commit(); err != nil {
			errs = append(errs, err)
		}
	}
	if e.consumer != nil {
		_ = e.consumer.Close()
	}
	if err := e.client.Close(); err != nil && !errors.Is(err, sarama.ErrClosedClient) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafka input: closing partition consumers: %w", err)
	}
	return nil
}

// offsetStore keeps the next offsets marked for the explicit partitions and
// commits them to the group's coordinator.
type offsetStore struct {
	client sarama.Client
	group  string

	mu    sync.Mutex
	marks map[string]map[int32]int64 // topic -> partition -> next offset
}

func (o *offsetStore) mark(topic string, partition int32, next int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.marks[topic] == nil {
		o.marks[topic] = map[int32]int64{}
	}
	o.marks[topic][partition] = next
}

// fetch returns the committed next offsets of the partitions (-1: none).
func (o *offsetStore) fetch(partitions map[string][]int32) (map[string]map[int32]int64, error) {
	coord, err := o.client.Coordinator(o.group)
	if err != nil {
		return nil, err
	}
	req := &sarama.OffsetFetchRequest{Version: 1, ConsumerGroup: o.group}
	for topic, ps := range partitions {
		for _, p := range ps {
			req.AddPartition(topic, p)
		}
	}
	resp, err := coord.FetchOffset(req)
	if err != nil {
		return nil, err
	}
	out := map[string]map[int32]int64{}
	for topic, ps := range partitions {
		out[topic] = map[int32]int64{}
		for _, p := range ps {
			out[topic][p] = -1
			if b := resp.GetBlock(topic, p); b != nil && errors.Is(b.Err, sarama.ErrNoError) && b.Offset >= 0 {
				out[topic][p] = b.Offset
			}
		}
	}
	return out, nil
}

// commit sends the marks taken since the last commit.
func (o *offsetStore) commit() error {
	o.mu.Lock()
	marks := o.marks
	o.marks = map[string]map[int32]int64{}
	o.mu.Unlock()
	if len(marks) == 0 {
		return nil
	}
	req := &sarama.OffsetCommitRequest{Version: 1, ConsumerGroup: o.group, ConsumerGroupGeneration: sarama.GroupGenerationUndefined}
	now := time.Now().UnixMilli()
	for topic, ps := range marks {
		for p, next := range ps {
			req.AddBlock(topic, p, next, now, "")
		}
	}
	err := func() error {
		coord, err := o.client.Coordinator(o.group)
		if err != nil {
			return err
		}
		resp, err := coord.CommitOffset(req)
		if err != nil {
			_ = o.client.RefreshCoordinator(o.group)
			return err
		}
		for topic, ps := range resp.Errors {
			for p, kerr := range ps {
				if !errors.Is(kerr, sarama.ErrNoError) {
					return fmt.Errorf("%s/%d: %w", topic, p, kerr)
				}
			}
		}
		return nil
	}()
	if err != nil {
		// Keep the marks for the next attempt unless newer ones came.
		o.mu.Lock()
		for topic, ps := range marks {
			for p, next := range ps {
				if _, ok := o.marks[topic][p]; !ok {
					if o.marks[topic] == nil {
						o.marks[topic] = map[int32]int64{}
					}
					o.marks[topic][p] = next
				}
			}
		}
		o.mu.Unlock()
		return fmt.Errorf("committing offsets of group %s: %w", o.group, err)
	}
	return nil
}

// connectExplicit starts one partition consumer per named partition; r.mu is
// held.
func (r *kafkaReader) connectExplicit() (err error) {
	client, err := sarama.NewClient(r.conf.addrs, r.conf.sarama)
	if err != nil {
		return fmt.Errorf("kafka input: connecting to %v: %w (check addresses, tls and sasl)", r.conf.addrs, err)
	}
	e := &explicitConsumer{client: client}
	defer func() {
		if err != nil {
			_ = e.close()
		}
	}()
	if e.consumer, err = sarama.NewConsumerFromClient(client); err != nil {
		return fmt.Errorf("kafka input: %w", err)
	}
	var committed map[string]map[int32]int64
	if r.conf.group != "" {
		e.offsets = &offsetStore{client: client, group: r.conf.group, marks: map[string]map[int32]int64{}}
		if committed, err = e.offsets.fetch(r.conf.partitions); err != nil {
			return fmt.Errorf("kafka input: reading the offsets of group %s: %w", r.conf.group, err)
		}
	}
	type part struct {
		topic string
		id    int32
		pc    sarama.PartitionConsumer
		t     *partitionTracker
	}
	initial := r.conf.sarama.Consumer.Offsets.Initial
	var parts []part
	for _, topic := range sortedKeys(r.conf.partitions) {
		for _, p := range r.conf.partitions[topic] {
			start := initial
			mark := func(int64) {}
			if e.offsets != nil {
				if next := committed[topic][p]; next >= 0 {
					start = next
				}
				mark = func(next int64) { e.offsets.mark(topic, p, next) }
			}
			pc, err := e.consumer.ConsumePartition(topic, p, start)
			if errors.Is(err, sarama.ErrOffsetOutOfRange) {
				// The committed offset is no longer retained: start where
				// start_from_oldest says, as for a new group.
				r.log.Warnf("kafka input: %s/%d: committed offset %d is no longer retained; starting from the %s", topic, p, start, map[bool]string{true: "oldest", false: "newest"}[initial == sarama.OffsetOldest])
				pc, err = e.consumer.ConsumePartition(topic, p, initial)
			}
			if err != nil {
				return fmt.Errorf("kafka input: consuming %s/%d: %w (does the partition exist?)", topic, p, err)
			}
			e.parts = append(e.parts, pc)
			parts = append(parts, part{topic, p, pc, newPartitionTracker(r.conf.checkpointLimit, mark)})
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r.readPartition(ctx, p.topic, p.id, p.pc.Messages(), p.pc.HighWaterMarkOffset, p.t)
		}()
		go func() {
			defer wg.Done()
			for {
				select {
				case err, ok := <-p.pc.Errors():
					if !ok {
						return
					}
					r.log.Warnf("kafka input: %s/%d: %v", p.topic, p.id, err)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	if e.offsets != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(r.conf.sarama.Consumer.Offsets.AutoCommit.Interval)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					if err := e.offsets.commit(); err != nil {
						r.log.Warnf("kafka input: %v", err)
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		for _, p := range parts {
			p.t.Close()
		}
		close(done)
	}()
	r.explicit, r.cancel, r.done = e, cancel, done
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// toMessage converts a record, with metadata typed as Redpanda Connect's
// kafka input types it: integers for partition, offset, lag and timestamps,
// a bool for tombstones.
func toMessage(m *sarama.ConsumerMessage, highWater int64, multiHeader bool) *service.Message {
	msg := service.NewMessage(m.Value)
	if multiHeader {
		values := map[string][]any{}
		var order []string
		for _, h := range m.Headers {
			if h == nil || len(h.Key) == 0 {
				continue
			}
			k := string(h.Key)
			if _, ok := values[k]; !ok {
				order = append(order, k)
			}
			values[k] = append(values[k], string(h.Value))
		}
		for _, k := range order {
			msg.MetaSetMut(k, values[k])
		}
	} else {
		for _, h := range m.Headers {
			if h != nil && len(h.Key) > 0 {
				msg.MetaSetMut(string(h.Key), string(h.Value))
			}
		}
	}
	lag := max(highWater-m.Offset-1, 0)
	msg.MetaSetMut("kafka_key", string(m.Key))
	msg.MetaSetMut("kafka_topic", m.Topic)
	msg.MetaSetMut("kafka_partition", int64(m.Partition))
	msg.MetaSetMut("kafka_offset", m.Offset)
	msg.MetaSetMut("kafka_timestamp_unix", m.Timestamp.Unix())
	msg.MetaSetMut("kafka_timestamp_ms", m.Timestamp.UnixMilli())
	msg.MetaSetMut("kafka_lag", lag)
	msg.MetaSetMut("kafka_tombstone_message", m.Value == nil)
	return msg
}

func init() {
	service.MustRegisterBatchInput("kafka", kafkaInputSpec(), newKafkaInputFromParsed)
}
