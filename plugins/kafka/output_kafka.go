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
	"github.com/cenkalti/backoff/v4"
	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	koFieldTopic           = "topic"
	koFieldKey             = "key"
	koFieldPartitioner     = "partitioner"
	koFieldPartition       = "partition"
	koFieldCustomTopic     = "custom_topic_creation"
	koFieldCTEnabled       = "enabled"
	koFieldCTPartitions    = "partitions"
	koFieldCTReplication   = "replication_factor"
	koFieldCompression     = "compression"
	koFieldStaticHeaders   = "static_headers"
	koFieldMetadata        = "metadata"
	koFieldAckReplicas     = "ack_replicas"
	koFieldIdempotentWrite = "idempotent_write"
	koFieldMaxMsgBytes     = "max_msg_bytes"
	koFieldMaxMsgBytesOld  = "max_message_bytes" // erpsync's earlier name
	koFieldTimeout         = "timeout"
	koFieldRetryAsBatch    = "retry_as_batch"
	koFieldBatching        = "batching"
	koFieldMaxRetries      = "max_retries"
	koFieldBackoff         = "backoff"

	defaultMaxMsgBytes = 1000000
)

func kafkaOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Writes messages to Kafka (sarama), waiting for the brokers' acknowledgement, retrying failed messages with back off and reporting a failure per message.").
		Description(`
The fields are those of Redpanda Connect's sarama-based `+"`kafka`"+` output, with the same meaning and
defaults, except `+"`key`"+` and `+"`client_id`"+` (below), so a Connect config lints and runs unchanged.
`+"`max_message_bytes`"+`, erpsync's earlier name of `+"`max_msg_bytes`"+`, is still accepted (not both).

Each batch is sent with a synchronous sarama producer and acknowledged upstream only once the brokers stored
it. Messages the brokers or the producer reject are sent again after `+"`backoff`"+`, at most
`+"`max_retries`"+` times (0: until `+"`backoff.max_elapsed_time`"+`; with that 0 too, forever); only the
failed ones, or the whole batch with `+"`retry_as_batch`"+`. Once the retries are spent each failed message
fails alone (the rest of the batch is acknowledged), or the whole batch with `+"`retry_as_batch`"+`. A
message that can never succeed (larger than `+"`max_msg_bytes`"+`, a bad partition or interpolation) is not
retried here: it fails at once.

The default `+"`key`"+` (Connect's is empty) is the `+"`source_id`"+` metadata the erpsync vendor inputs set,
so every version of a document lands on the same partition and a consumer group reads them in order; messages
without it get no key, as in Connect. Order holds within a batch; across batches it needs
`+"`max_in_flight: 1`"+` and `+"`retry_as_batch: true`"+`. Message metadata is sent as record headers, except
the keys `+"`metadata.exclude_prefixes`"+` names, followed by `+"`static_headers`"+`.

`+"`partitioner`"+`: `+"`fnv1a_hash`"+` (sarama's default hash), `+"`murmur2_hash`"+` (the Java client's
default partitioner, so keys land where Java producers put them), `+"`random`"+`, `+"`round_robin`"+`, or
`+"`manual`"+` (the `+"`partition`"+` field chooses).

`+"`idempotent_write`"+` makes the brokers drop the duplicates a producer retry would write; it implies
`+"`ack_replicas`"+` (acks from all in-sync replicas) and one request in flight per broker connection, and needs
the IDEMPOTENT_WRITE permission on the cluster.
`).
		Fields(addressesField(),
			service.NewInterpolatedStringField(koFieldTopic).
				Description("Topic to write each message to.").
				Example("erp_documents").Example(`erp_${! meta("source_vendor") }`),
			service.NewInterpolatedStringField(koFieldKey).
				Description("Record key; it chooses the partition under the hash partitioners. Empty sends no key. Connect's default is empty; erpsync's keeps a document's versions on one partition.").
				Default(`${! meta("source_id") }`),
			service.NewStringEnumField(koFieldPartitioner,
				PartitionerFNV1a, PartitionerMurmur2, PartitionerRandom, PartitionerRoundRobin, PartitionerManual).
				Description("How a message's partition is chosen.").
				Default(PartitionerFNV1a),
			service.NewInterpolatedStringField(koFieldPartition).
				Description("Partition number for the `manual` partitioner (required with it); it must be empty with the others.").
				Default("").Advanced().Example(`${! meta("kafka_partition") }`),
			service.NewObjectField(koFieldCustomTopic,
				service.NewBoolField(koFieldCTEnabled).
					Description("Create a topic that does not exist before writing to it.").
					Default(false),
				service.NewIntField(koFieldCTPartitions).
					Description("Partitions of a created topic; -1 uses the broker's default.").
					Default(-1),
				service.NewIntField(koFieldCTReplication).
					Description("Replication factor of a created topic; -1 uses the broker's default. An odd number, at most the number of brokers.").
					Default(-1),
			).Description("Topic creation: with `enabled`, a topic missing from the cluster is created with these settings on its first message.").
				Advanced().Optional(),
			service.NewStringEnumField(koFieldCompression, "none", "snappy", "lz4", "gzip", "zstd").
				Description("Compression codec of the record batches.").
				Default("none"),
			service.NewStringMapField(koFieldStaticHeaders).
				Description("Headers added to every record, after the metadata headers.").
				Example(map[string]string{"first-static-header": "value-1", "second-static-header": "value-2"}).
				Optional(),
			service.NewMetadataExcludeFilterField(koFieldMetadata).
				Description("Which metadata keys are not sent as record headers; all others are."),
			service.NewInjectTracingSpanMappingField(),
			service.NewOutputMaxInFlightField().Default(64),
			service.NewBoolField(koFieldIdempotentWrite).
				Description("Idempotent producer: broker-side de-duplication of producer retries. Implies `ack_replicas`.").
				Default(false),
			service.NewBoolField(koFieldAckReplicas).
				Description("Wait for every in-sync replica to store a message (acks=all) instead of the partition leader only.").
				Default(false).Advanced(),
			service.NewIntField(koFieldMaxMsgBytes).
				Description("Largest message, in bytes, the producer sends; a larger one fails alone, without retries. Keep it at or below the topic's `max.message.bytes`. Unset: 1000000, as in Connect (or `max_message_bytes`). It has no default in the spec only so that setting it together with `max_message_bytes` is caught.").
				Example(1000000).Optional().Advanced(),
			service.NewIntField(koFieldMaxMsgBytesOld).
				Description("erpsync's earlier name of `max_msg_bytes`; set one of the two.").
				Optional().Deprecated(),
			service.NewDurationField(koFieldTimeout).
				Description("How long the brokers may take to acknowledge a produce request before it counts as failed (and is retried).").
				Default("5s").Advanced(),
			service.NewBoolField(koFieldRetryAsBatch).
				Description("Retry, and finally fail, the whole batch when any of its messages fails, instead of only the failed messages: needed for strict order, at the cost of duplicates.").
				Default(false).Advanced(),
			service.NewBatchPolicyField(koFieldBatching),
			service.NewIntField(koFieldMaxRetries).
				Description("Most retries of a failed message before it is failed upstream; 0 sets no count limit (`backoff.max_elapsed_time` still applies).").
				Default(0).Advanced(),
			service.NewBackOffField(koFieldBackoff, true, &backoff.ExponentialBackOff{
				InitialInterval: 3 * time.Second,
				MaxInterval:     10 * time.Second,
				MaxElapsedTime:  30 * time.Second,
			}).Description("Waits between retries of failed messages.").Advanced(),
		).
		Fields(connectionFields()...).
		LintRule(lintRule(saslLint, []lintCheck{
			{`this.partitioner.or("fnv1a_hash") == "manual" && this.partition.or("") == ""`, `"partitioner manual needs the partition field"`},
			{`this.partitioner.or("fnv1a_hash") != "manual" && this.partition.or("") != ""`, `"partition is only used by the manual partitioner: set partitioner: manual or remove partition"`},
			{`this.max_msg_bytes != null && this.max_message_bytes != null`, `"max_message_bytes is the old name of max_msg_bytes: set only max_msg_bytes"`},
			{`this.max_msg_bytes.or(this.max_message_bytes).or(1) < 1`, `"max_msg_bytes must be at least 1"`},
			{`this.max_retries.or(0) < 0`, `"max_retries must not be negative"`},
			{`this.custom_topic_creation.enabled.or(false) && (this.custom_topic_creation.partitions.or(-1) == 0 || this.custom_topic_creation.partitions.or(-1) < -1)`, `"custom_topic_creation.partitions must be -1 (the broker's default) or at least 1"`},
			{`this.custom_topic_creation.enabled.or(false) && this.custom_topic_creation.replication_factor.or(-1) != -1 && (this.custom_topic_creation.replication_factor.or(-1) < 1 || this.custom_topic_creation.replication_factor.or(-1) % 2 == 0)`, `"custom_topic_creation.replication_factor must be -1 (the broker's default) or an odd number"`},
		})).
		Example("First half of a split pipeline", "Vendor documents go to Kafka keyed by their source id, so each document's versions stay in order on one partition.", `
output:
  kafka:
    addresses: [ kafka:9092 ]
    topic: erp_documents
    key: ${! meta("source_id") }
    partitioner: murmur2_hash
    compression: zstd
    ack_replicas: true
    idempotent_write: true
    batching:
      count: 100
      period: 100ms
`)
}

type kafkaWriter struct {
	addrs         []string
	conf          *sarama.Config
	topic         *service.InterpolatedString
	key           *service.InterpolatedString
	partition     *service.InterpolatedString // nil unless manual
	meta          *service.MetadataExcludeFilter
	staticHeaders []sarama.RecordHeader
	maxBytes      int
	retryAsBatch  bool
	backoff       func() backoff.BackOff
	log           *service.Logger

	createTopics bool
	topicParts   int32
	topicRepl    int16

	mu       sync.RWMutex
	producer sarama.SyncProducer
	admin    sarama.ClusterAdmin // only with custom_topic_creation
	topics   sync.Map            // topic -> struct{}: known to exist

	onSend func(n int) // test hook: a send of n messages is about to start
}

func newKafkaOutputFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (out service.BatchOutput, pol service.BatchPolicy, mif int, err error) {
	if pol, err = conf.FieldBatchPolicy(koFieldBatching); err != nil {
		return
	}
	if mif, err = conf.FieldMaxInFlight(); err != nil {
		return
	}
	if out, err = newKafkaWriter(conf, mgr); err != nil {
		return
	}
	out, err = conf.WrapBatchOutputExtractTracingSpanMapping("kafka", out)
	return
}

func newKafkaWriter(conf *service.ParsedConfig, mgr *service.Resources) (*kafkaWriter, error) {
	cc, err := clientConfigFromParsed(conf, mgr)
	if err != nil {
		return nil, err
	}
	sc, err := cc.Sarama()
	if err != nil {
		return nil, err
	}
	w := &kafkaWriter{addrs: cc.Addresses, conf: sc, log: mgr.Logger()}
	if w.topic, err = conf.FieldInterpolatedString(koFieldTopic); err != nil {
		return nil, err
	}
	if w.key, err = conf.FieldInterpolatedString(koFieldKey); err != nil {
		return nil, err
	}
	pname, err := conf.FieldString(koFieldPartitioner)
	if err != nil {
		return nil, err
	}
	if sc.Producer.Partitioner, err = NewPartitioner(pname); err != nil {
		return nil, err
	}
	partStr, _ := conf.FieldString(koFieldPartition)
	switch {
	case pname == PartitionerManual && partStr == "":
		return nil, errors.New("kafka output: partitioner manual needs the partition field, e.g. partition: ${! meta(\"kafka_partition\") }")
	case pname != PartitionerManual && partStr != "":
		return nil, fmt.Errorf("kafka output: partition is only used by the manual partitioner, not %s: set partitioner: manual or remove partition", pname)
	case pname == PartitionerManual:
		if w.partition, err = conf.FieldInterpolatedString(koFieldPartition); err != nil {
			return nil, err
		}
	}
	if conf.Contains(koFieldCustomTopic) {
		ct := conf.Namespace(koFieldCustomTopic)
		if w.createTopics, err = ct.FieldBool(koFieldCTEnabled); err != nil {
			return nil, err
		}
		parts, err := ct.FieldInt(koFieldCTPartitions)
		if err != nil {
			return nil, err
		}
		repl, err := ct.FieldInt(koFieldCTReplication)
		if err != nil {
			return nil, err
		}
		if w.createTopics {
			if parts == 0 || parts < -1 {
				return nil, fmt.Errorf("kafka output: custom_topic_creation.partitions %d: use -1 (the broker's default) or at least 1", parts)
			}
			if repl != -1 && (repl < 1 || repl%2 == 0) {
				return nil, fmt.Errorf("kafka output: custom_topic_creation.replication_factor %d: use -1 (the broker's default) or an odd number", repl)
			}
		}
		w.topicParts, w.topicRepl = int32(parts), int16(repl)
	}
	cname, err := conf.FieldString(koFieldCompression)
	if err != nil {
		return nil, err
	}
	if sc.Producer.Compression, err = Compression(cname); err != nil {
		return nil, err
	}
	if conf.Contains(koFieldStaticHeaders) {
		hs, err := conf.FieldStringMap(koFieldStaticHeaders)
		if err != nil {
			return nil, err
		}
		for _, k := range sortedKeys(hs) {
			w.staticHeaders = append(w.staticHeaders, sarama.RecordHeader{Key: []byte(k), Value: []byte(hs[k])})
		}
	}
	if w.meta, err = conf.FieldMetadataExcludeFilter(koFieldMetadata); err != nil {
		return nil, err
	}
	ackAll, err := conf.FieldBool(koFieldAckReplicas)
	if err != nil {
		return nil, err
	}
	idem, err := conf.FieldBool(koFieldIdempotentWrite)
	if err != nil {
		return nil, err
	}
	if w.maxBytes, err = maxMsgBytes(conf); err != nil {
		return nil, err
	}
	timeout, err := conf.FieldDuration(koFieldTimeout)
	if err != nil {
		return nil, err
	}
	if w.retryAsBatch, err = conf.FieldBool(koFieldRetryAsBatch); err != nil {
		return nil, err
	}
	maxRetries, err := conf.FieldInt(koFieldMaxRetries)
	if err != nil {
		return nil, err
	}
	boff, err := conf.FieldBackOff(koFieldBackoff)
	if err != nil {
		return nil, err
	}
	w.backoff = func() backoff.BackOff {
		b := *boff
		b.Reset()
		if maxRetries <= 0 {
			return &b
		}
		return backoff.WithMaxRetries(&b, uint64(maxRetries))
	}
	applyProducerConfig(sc, ackAll, idem, w.maxBytes)
	sc.Producer.Timeout = timeout
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka output: %w", err)
	}
	return w, nil
}

// maxMsgBytes reads max_msg_bytes, or its old name max_message_bytes.
func maxMsgBytes(conf *service.ParsedConfig) (int, error) {
	hasNew, hasOld := conf.Contains(koFieldMaxMsgBytes), conf.Contains(koFieldMaxMsgBytesOld)
	switch {
	case hasNew && hasOld:
		return 0, errors.New("kafka output: max_message_bytes is the old name of max_msg_bytes: set only max_msg_bytes")
	case hasOld:
		return conf.FieldInt(koFieldMaxMsgBytesOld)
	case hasNew:
		return conf.FieldInt(koFieldMaxMsgBytes)
	}
	return defaultMaxMsgBytes, nil
}

// applyProducerConfig sets what the output needs of sarama's producer:
// results for every message, and the idempotence prerequisites.
func applyProducerConfig(sc *sarama.Config, ackAll, idempotent bool, maxBytes int) {
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.MaxMessageBytes = maxBytes
	sc.Producer.RequiredAcks = sarama.WaitForLocal
	if ackAll || idempotent {
		sc.Producer.RequiredAcks = sarama.WaitForAll
	}
	if idempotent {
		sc.Producer.Idempotent = true
		sc.Net.MaxOpenRequests = 1
		if sc.Producer.Retry.Max < 1 {
			sc.Producer.Retry.Max = 1
		}
		if !sc.Version.IsAtLeast(sarama.V0_11_0_0) {
			sc.Version = sarama.V0_11_0_0
		}
	}
}

func (w *kafkaWriter) Connect(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.producer != nil {
		return nil
	}
	p, err := sarama.NewSyncProducer(w.addrs, w.conf)
	if err != nil {
		return fmt.Errorf("kafka output: connecting to %v: %w (check addresses, tls and sasl)", w.addrs, err)
	}
	if w.createTopics {
		a, err := sarama.NewClusterAdmin(w.addrs, w.conf)
		if err != nil {
			_ = p.Close()
			return fmt.Errorf("kafka output: connecting the admin client (custom_topic_creation) to %v: %w", w.addrs, err)
		}
		w.admin = a
	}
	w.producer = p
	return nil
}

// ensureTopic creates topic when custom_topic_creation is enabled and the
// cluster does not have it.
func (w *kafkaWriter) ensureTopic(topic string) error {
	if _, ok := w.topics.Load(topic); ok {
		return nil
	}
	all, err := w.admin.ListTopics()
	if err != nil {
		return fmt.Errorf("kafka output: listing topics (custom_topic_creation): %w", err)
	}
	if _, ok := all[topic]; !ok {
		err := w.admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: w.topicParts, ReplicationFactor: w.topicRepl}, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("kafka output: creating topic %s with %d partitions and replication factor %d: %w", topic, w.topicParts, w.topicRepl, err)
		}
		w.log.Infof("kafka output: created topic %s", topic)
	}
	w.topics.Store(topic, struct{}{})
	return nil
}

func (w *kafkaWriter) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	// Held for the whole send: Close must not shut the producer under it.
	w.mu.RLock()
	defer w.mu.RUnlock()
	p := w.producer
	if p == nil {
		return service.ErrNotConnected
	}
	var berr *service.BatchError
	fail := func(i int, err error) {
		if berr == nil {
			berr = service.NewBatchError(batch, errors.New("kafka output: some messages were not written"))
		}
		berr.Failed(i, err)
	}

	msgs := make([]*sarama.ProducerMessage, 0, len(batch))
	topicExec := batch.InterpolationExecutor(w.topic)
	keyExec := batch.InterpolationExecutor(w.key)
	var partExec *service.MessageBatchInterpolationExecutor
	if w.partition != nil {
		partExec = batch.InterpolationExecutor(w.partition)
	}
	for i, m := range batch {
		pm, err := w.producerMessage(i, m, topicExec, keyExec, partExec)
		if err == nil && w.admin != nil {
			err = w.ensureTopic(pm.Topic)
		}
		if err != nil {
			fail(i, err)
			continue
		}
		msgs = append(msgs, pm)
	}
	if w.retryAsBatch && berr != nil {
		return fmt.Errorf("kafka output: batch not sent (retry_as_batch): %w", berr)
	}

	boff := w.backoff()
	send := msgs
	for len(send) > 0 {
		if w.onSend != nil {
			w.onSend(len(send))
		}
		err := p.SendMessages(send)
		if err == nil {
			break
		}
		var perrs sarama.ProducerErrors
		if !errors.As(err, &perrs) {
			return fmt.Errorf("kafka output: %w", err)
		}
		failed := map[int]*sarama.ProducerError{}
		var retry []*sarama.ProducerMessage
		permanent := false
		for _, pe := range perrs {
			i, ok := pe.Msg.Metadata.(int)
			if !ok {
				return fmt.Errorf("kafka output: %w", err)
			}
			failed[i] = pe
			if isPermanent(pe.Err) {
				permanent = true
				if !w.retryAsBatch {
					fail(i, describeProduceError(i, pe, w.maxBytes))
				}
				continue
			}
			retry = append(retry, pe.Msg)
		}
		if w.retryAsBatch {
			retry = msgs // the whole batch again, in its order
		}
		wait := boff.NextBackOff()
		if permanent && w.retryAsBatch {
			wait = backoff.Stop
		}
		if wait == backoff.Stop {
			if w.retryAsBatch {
				return fmt.Errorf("kafka output: batch not sent (retry_as_batch): %w", describeProduceErrors(failed, w.maxBytes))
			}
			for i, pe := range failed {
				if !isPermanent(pe.Err) {
					fail(i, describeProduceError(i, pe, w.maxBytes))
				}
			}
			break
		}
		if len(retry) == 0 {
			break
		}
		w.log.Warnf("kafka output: %d of %d messages failed (%v); retrying in %v", len(failed), len(msgs), perrs[0].Err, wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("kafka output: %d messages not written: %w", len(retry), ctx.Err())
		}
		send = retry
	}
	if berr != nil {
		return berr
	}
	return nil
}

// isPermanent tells errors a retry cannot fix.
func isPermanent(err error) bool {
	return errors.Is(err, sarama.ErrMessageSizeTooLarge) || isSizeConfigError(err) ||
		errors.Is(err, sarama.ErrInvalidPartition) || errors.Is(err, sarama.ErrInvalidTopic)
}

// describeProduceErrors joins the failures of a batch, by message index.
func describeProduceErrors(failed map[int]*sarama.ProducerError, maxBytes int) error {
	idx := make([]int, 0, len(failed))
	for i := range failed {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	errs := make([]error, len(idx))
	for n, i := range idx {
		errs[n] = describeProduceError(i, failed[i], maxBytes)
	}
	return errors.Join(errs...)
}

func (w *kafkaWriter) producerMessage(i int, m *service.Message, topicExec, keyExec, partExec *service.MessageBatchInterpolationExecutor) (*sarama.ProducerMessage, error) {
	topic, err := topicExec.TryString(i)
	if err != nil {
		return nil, fmt.Errorf("kafka output: message %d: topic interpolation: %w", i, err)
	}
	if topic == "" {
		return nil, fmt.Errorf("kafka output: message %d: topic interpolated to an empty string", i)
	}
	key, err := keyExec.TryBytes(i)
	if err != nil {
		return nil, fmt.Errorf("kafka output: message %d: key interpolation: %w", i, err)
	}
	value, err := m.AsBytes()
	if err != nil {
		return nil, fmt.Errorf("kafka output: message %d: %w", i, err)
	}
	pm := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(value), Metadata: i}
	if len(key) > 0 {
		pm.Key = sarama.ByteEncoder(key)
	}
	if partExec != nil {
		ps, err := partExec.TryString(i)
		if err != nil {
			return nil, fmt.Errorf("kafka output: message %d: partition interpolation: %w", i, err)
		}
		n, err := strconv.ParseInt(ps, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("kafka output: message %d: partition %q is not a partition number", i, ps)
		}
		pm.Partition = int32(n)
	}
	_ = w.meta.Walk(m, func(k, v string) error {
		pm.Headers = append(pm.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
		return nil
	})
	pm.Headers = append(pm.Headers, w.staticHeaders...)
	return pm, nil
}

func describeProduceError(i int, pe *sarama.ProducerError, maxBytes int) error {
	var hint string
	switch {
	case errors.Is(pe.Err, sarama.ErrMessageSizeTooLarge), isSizeConfigError(pe.Err):
		hint = fmt.Sprintf(" (the limit is max_msg_bytes %d and the topic's max.message.bytes: shrink the message or raise both)", maxBytes)
	case errors.Is(pe.Err, sarama.ErrUnknownTopicOrPartition):
		hint = " (create the topic, or check the topic and partition fields)"
	}
	return fmt.Errorf("kafka output: message %d to %s/%d: %w%s", i, pe.Msg.Topic, pe.Msg.Partition, pe.Err, hint)
}

// isSizeConfigError recognises sarama's client-side size check, which it
// reports as a ConfigurationError rather than ErrMessageSizeTooLarge.
func isSizeConfigError(err error) bool {
	var ce sarama.ConfigurationError
	return errors.As(err, &ce) && len(ce) > 0 && strings.Contains(string(ce), "MaxMessageBytes")
}

func (w *kafkaWriter) Close(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.producer == nil {
		return nil
	}
	err := w.producer.Close()
	w.producer = nil
	if w.admin != nil {
		_ = w.admin.Close()
		w.admin = nil
	}
	if err != nil {
		return fmt.Errorf("kafka output: closing producer: %w", err)
	}
	return nil
}

func init() {
	service.MustRegisterBatchOutput("kafka", kafkaOutputSpec(), newKafkaOutputFromParsed)
}
