package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/IBM/sarama"
	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	koFieldTopic           = "topic"
	koFieldKey             = "key"
	koFieldPartitioner     = "partitioner"
	koFieldPartition       = "partition"
	koFieldCompression     = "compression"
	koFieldMetadata        = "metadata"
	koFieldAckReplicas     = "ack_replicas"
	koFieldIdempotentWrite = "idempotent_write"
	koFieldMaxMsgBytes     = "max_message_bytes"
	koFieldTimeout         = "timeout"
	koFieldBatching        = "batching"
)

func kafkaOutputSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Writes messages to Kafka (sarama), waiting for the brokers' acknowledgement and reporting a failure per message, so only failed messages are retried.").
		Description(`
Each batch is sent with a synchronous sarama producer and acknowledged upstream only once the brokers stored
it. A message the brokers or the producer reject (too large, unknown topic, bad partition, ...) fails alone:
the rest of the batch is written and acknowledged.

The default `+"`key`"+` is the `+"`source_id`"+` metadata the erpsync vendor inputs set, so every version of
a document lands on the same partition and a consumer group reads them in order. Order holds within a batch;
across batches it needs `+"`max_in_flight: 1`"+` (batches in flight at once may interleave), and a batch retried
after a failure lands after the batches written meanwhile. An empty key (no
`+"`source_id`"+`) is sent as no key and spread by the partitioner. Message metadata is sent as record
headers, except the keys `+"`metadata.exclude_prefixes`"+` names.

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
				Description("Record key; it chooses the partition under the hash partitioners. Empty sends no key.").
				Default(`${! meta("source_id") }`),
			service.NewStringEnumField(koFieldPartitioner,
				PartitionerFNV1a, PartitionerMurmur2, PartitionerRandom, PartitionerRoundRobin, PartitionerManual).
				Description("How a message's partition is chosen.").
				Default(PartitionerFNV1a),
			service.NewInterpolatedStringField(koFieldPartition).
				Description("Partition number for the `manual` partitioner; required with it and ignored by the others.").
				Optional().Example(`${! meta("kafka_partition") }`),
			service.NewStringEnumField(koFieldCompression, "none", "snappy", "lz4", "gzip", "zstd").
				Description("Compression codec of the record batches.").
				Default("none"),
			service.NewMetadataExcludeFilterField(koFieldMetadata).
				Description("Which metadata keys are not sent as record headers; all others are."),
			service.NewBoolField(koFieldAckReplicas).
				Description("Wait for every in-sync replica to store a message (acks=all) instead of the partition leader only.").
				Default(false),
			service.NewBoolField(koFieldIdempotentWrite).
				Description("Idempotent producer: broker-side de-duplication of producer retries. Implies `ack_replicas`.").
				Default(false),
			service.NewIntField(koFieldMaxMsgBytes).
				Description("Largest message, in bytes, the producer sends; a larger one fails alone. Keep it at or below the topic's `max.message.bytes`.").
				Default(1000000),
			service.NewDurationField(koFieldTimeout).
				Description("How long the brokers may take to acknowledge a produce request.").
				Default("5s").Advanced(),
			service.NewOutputMaxInFlightField().Default(64),
			service.NewBatchPolicyField(koFieldBatching),
		).
		Fields(connectionFields()...).
		LintRule(lintRule(saslLint,
			lintCheck{`this.partitioner.or("fnv1a_hash") == "manual" && this.partition.or("") == ""`, `"partitioner manual needs the partition field"`},
			lintCheck{`this.max_message_bytes.or(1000000) < 1`, `"max_message_bytes must be at least 1"`},
		)).
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
	addrs     []string
	conf      *sarama.Config
	topic     *service.InterpolatedString
	key       *service.InterpolatedString
	partition *service.InterpolatedString // nil unless manual
	meta      *service.MetadataExcludeFilter
	maxBytes  int

	mu       sync.RWMutex
	producer sarama.SyncProducer
}

func newKafkaOutputFromParsed(conf *service.ParsedConfig, _ *service.Resources) (out service.BatchOutput, pol service.BatchPolicy, mif int, err error) {
	if pol, err = conf.FieldBatchPolicy(koFieldBatching); err != nil {
		return
	}
	if mif, err = conf.FieldMaxInFlight(); err != nil {
		return
	}
	out, err = newKafkaWriter(conf)
	return
}

func newKafkaWriter(conf *service.ParsedConfig) (*kafkaWriter, error) {
	cc, err := clientConfigFromParsed(conf)
	if err != nil {
		return nil, err
	}
	sc, err := cc.Sarama()
	if err != nil {
		return nil, err
	}
	w := &kafkaWriter{addrs: cc.Addresses, conf: sc}
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
	if pname == PartitionerManual {
		if !conf.Contains(koFieldPartition) {
			return nil, errors.New("kafka output: partitioner manual needs the partition field, e.g. partition: ${! meta(\"kafka_partition\") }")
		}
		if w.partition, err = conf.FieldInterpolatedString(koFieldPartition); err != nil {
			return nil, err
		}
	}
	cname, err := conf.FieldString(koFieldCompression)
	if err != nil {
		return nil, err
	}
	if sc.Producer.Compression, err = Compression(cname); err != nil {
		return nil, err
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
	if w.maxBytes, err = conf.FieldInt(koFieldMaxMsgBytes); err != nil {
		return nil, err
	}
	timeout, err := conf.FieldDuration(koFieldTimeout)
	if err != nil {
		return nil, err
	}
	applyProducerConfig(sc, ackAll, idem, w.maxBytes)
	sc.Producer.Timeout = timeout
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka output: %w", err)
	}
	return w, nil
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
	w.producer = p
	return nil
}

func (w *kafkaWriter) WriteBatch(_ context.Context, batch service.MessageBatch) error {
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
		if err != nil {
			fail(i, err)
			continue
		}
		msgs = append(msgs, pm)
	}
	if len(msgs) > 0 {
		if err := p.SendMessages(msgs); err != nil {
			var perrs sarama.ProducerErrors
			if !errors.As(err, &perrs) {
				return fmt.Errorf("kafka output: %w", err)
			}
			for _, pe := range perrs {
				i, ok := pe.Msg.Metadata.(int)
				if !ok {
					return fmt.Errorf("kafka output: %w", err)
				}
				fail(i, describeProduceError(i, pe, w.maxBytes))
			}
		}
	}
	if berr != nil {
		return berr
	}
	return nil
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
	return pm, nil
}

func describeProduceError(i int, pe *sarama.ProducerError, maxBytes int) error {
	var hint string
	switch {
	case errors.Is(pe.Err, sarama.ErrMessageSizeTooLarge), isSizeConfigError(pe.Err):
		hint = fmt.Sprintf(" (the limit is max_message_bytes %d and the topic's max.message.bytes: shrink the message or raise both)", maxBytes)
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
	if err != nil {
		return fmt.Errorf("kafka output: closing producer: %w", err)
	}
	return nil
}

func init() {
	service.MustRegisterBatchOutput("kafka", kafkaOutputSpec(), newKafkaOutputFromParsed)
}
