package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kfake"
)

// startCluster runs a one-broker in-process Kafka with the given topics
// (name -> partitions) for the test.
func startCluster(t testing.TB, topics map[string]int32, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	for name, parts := range topics {
		opts = append(opts, kfake.SeedTopics(parts, name))
	}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func addrsYAML(c *kfake.Cluster) string {
	return "[" + strings.Join(c.ListenAddrs(), ",") + "]"
}

// newTestReader builds the input's reader (without the nack retry
// wrapper) from YAML, with test-friendly group timings.
func newTestReader(t testing.TB, c *kfake.Cluster, topic, group string, extra string) *kafkaReader {
	t.Helper()
	yaml := fmt.Sprintf(`
addresses: %s
topics: [ %s ]
consumer_group: %s
commit_period: 100ms
group:
  heartbeat_interval: 200ms
  session_timeout: 6s
  rebalance_timeout: 10s
%s`, addrsYAML(c), topic, group, extra)
	pc, err := kafkaInputSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatalf("input config: %v", err)
	}
	r, err := newKafkaReader(pc, service.MockResources())
	if err != nil {
		t.Fatalf("input: %v", err)
	}
	return r
}

func connectInput(t testing.TB, in service.BatchInput) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := in.Connect(ctx); err != nil {
		t.Fatalf("connect input: %v", err)
	}
}

func closeInput(t testing.TB, in service.BatchInput) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := in.Close(ctx); err != nil {
		t.Fatalf("close input: %v", err)
	}
}

type read struct {
	msg *service.Message
	ack service.AckFunc
}

func (r read) meta(k string) string { v, _ := r.msg.MetaGet(k); return v }
func (r read) offset() int64        { n, _ := strconv.ParseInt(r.meta("kafka_offset"), 10, 64); return n }
func (r read) metaAny(k string) any { v, _ := r.msg.MetaGetMut(k); return v }
func (r read) body() string         { b, _ := r.msg.AsBytes(); return string(b) }

// readOne reads a batch of one message or fails the test after a generous
// timeout.
func readOne(t testing.TB, in service.BatchInput) read {
	t.Helper()
	b, ack := readBatch(t, in)
	if len(b) != 1 {
		t.Fatalf("read a batch of %d messages; want 1", len(b))
	}
	return read{b[0], ack}
}

// readBatch reads one batch or fails the test after a generous timeout.
func readBatch(t testing.TB, in service.BatchInput) (service.MessageBatch, service.AckFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, ack, err := in.ReadBatch(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b, ack
}

func newTestWriter(t testing.TB, c *kfake.Cluster, extra string) *kafkaWriter {
	t.Helper()
	pc, err := kafkaOutputSpec().ParseYAML(fmt.Sprintf("addresses: %s\n%s", addrsYAML(c), extra), nil)
	if err != nil {
		t.Fatalf("output config: %v", err)
	}
	w, err := newKafkaWriter(pc, service.MockResources())
	if err != nil {
		t.Fatalf("output: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.Connect(ctx); err != nil {
		t.Fatalf("connect output: %v", err)
	}
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	return w
}

// produce writes values to topic/partition with a bare sarama producer.
func produce(t testing.TB, c *kfake.Cluster, topic string, partition int32, values ...string) {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	conf.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(c.ListenAddrs(), conf)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, len(values))
	for i, v := range values {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Partition: partition, Value: sarama.StringEncoder(v)}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// committed returns the group's committed offset of topic/partition (-1: none).
func committed(t testing.TB, c *kfake.Cluster, group, topic string, partition int32) int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(c.ListenAddrs(), sarama.NewConfig())
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	defer admin.Close()
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {partition}})
	if err != nil {
		t.Fatalf("offsets of %s: %v", group, err)
	}
	b := resp.GetBlock(topic, partition)
	if b == nil {
		return -1
	}
	return b.Offset
}

// watch lets a test wait for a condition on state that goroutines change,
// without sleeping: every change wakes the waiters, which re-check.
type watch struct {
	mu      sync.Mutex
	changed chan struct{}
}

func newWatch() *watch { return &watch{changed: make(chan struct{})} }

// update runs fn under the lock and wakes the waiters.
func (w *watch) update(fn func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fn()
	close(w.changed)
	w.changed = make(chan struct{})
}

// waitFor waits until cond (run under the lock) holds.
func (w *watch) waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		ok := cond()
		ch := w.changed
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// consumeLoop reads from in and acks every message at once until the input
// ends, calling seen for each message under w's lock.
func consumeLoop(t testing.TB, in service.BatchInput, w *watch, seen func(read)) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, ack, err := in.ReadBatch(ctx)
			if err != nil {
				if !errors.Is(err, context.Canceled) && !errors.Is(err, service.ErrEndOfInput) {
					t.Errorf("read: %v", err)
				}
				return
			}
			for _, m := range b {
				r := read{m, ack}
				w.update(func() { seen(r) })
			}
			_ = ack(ctx, nil)
		}
	}()
	return func() { cancel(); <-done }
}
