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
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kfake"
)

// A message the producer or broker rejects fails alone; the rest of the
// batch is written.
func TestIntegrationKafkaOutputPerMessageErrors(t *testing.T) {
	c := startCluster(t, map[string]int32{"good": 1})
	for _, tc := range []struct {
		name    string
		bad     func(m *service.Message)
		wantErr string
	}{
		{"above max_message_bytes", func(m *service.Message) { m.SetBytes([]byte(strings.Repeat("x", 3000))) }, "max_msg_bytes 2000"},
		{"unknown topic", func(m *service.Message) { m.MetaSetMut("topic", "missing") }, "create the topic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTestWriter(t, c, "topic: ${! meta(\"topic\").or(\"good\") }\nmax_msg_bytes: 2000\nmax_retries: 1\nbackoff: { initial_interval: 10ms }\nmetadata:\n  exclude_prefixes: [ topic ]\n")
			before := highWater(t, c, "good", 0)
			batch := make(service.MessageBatch, 5)
			for i := range batch {
				batch[i] = service.NewMessage([]byte(fmt.Sprintf("m%d", i)))
				batch[i].MetaSetMut("source_id", fmt.Sprintf("id%d", i))
			}
			tc.bad(batch[2])
			idx := batch.Index()
			err := w.WriteBatch(context.Background(), batch)
			var berr *service.BatchError
			if !errors.As(err, &berr) {
				t.Fatalf("WriteBatch: %v; want a per-message batch error", err)
			}
			var failed []int
			berr.WalkMessagesIndexedBy(idx, func(i int, _ *service.Message, err error) bool {
				if err != nil {
					failed = append(failed, i)
					if !strings.Contains(err.Error(), tc.wantErr) {
						t.Errorf("message %d error %q; want it to say %q", i, err, tc.wantErr)
					}
				}
				return true
			})
			if len(failed) != 1 || failed[0] != 2 {
				t.Fatalf("failed messages %v; want only [2]", failed)
			}
			if got := highWater(t, c, "good", 0) - before; got != 4 {
				t.Fatalf("%d messages written; want the other 4", got)
			}
		})
	}
}

func highWater(t testing.TB, c *kfake.Cluster, topic string, partition int32) int64 {
	t.Helper()
	client, err := sarama.NewClient(c.ListenAddrs(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	off, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	return off
}

// Through real streams: the output keys by source_id (its default), so a
// document's versions land on one partition (the one Java's murmur2 picks)
// and the input delivers them in order.
func TestIntegrationKafkaOrderingPerKey(t *testing.T) {
	const topic, parts, docs, versions = "ordered", 4, 6, 30
	c := startCluster(t, map[string]int32{topic: parts})

	out := service.NewStreamBuilder()
	must(t, out.SetLoggerYAML("level: warn"))
	must(t, out.AddOutputYAML(fmt.Sprintf(`
kafka:
  addresses: %s
  topic: %s
  partitioner: murmur2_hash
  compression: snappy
  idempotent_write: true
  max_in_flight: 1
`, addrsYAML(c), topic)))
	send, err := out.AddBatchProducerFunc()
	must(t, err)
	outStream, err := out.Build()
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	outDone := make(chan error, 1)
	go func() { outDone <- outStream.Run(ctx) }()
	var batch service.MessageBatch
	for v := range versions {
		for d := range docs {
			m := service.NewMessage([]byte(strconv.Itoa(v)))
			m.MetaSetMut("source_id", fmt.Sprintf("SO-%d", d))
			if batch = append(batch, m); len(batch) == 7 {
				must(t, send(ctx, batch))
				batch = nil
			}
		}
	}
	if len(batch) > 0 {
		must(t, send(ctx, batch))
	}
	must(t, outStream.Stop(ctx))
	<-outDone

	in := service.NewStreamBuilder()
	must(t, in.SetLoggerYAML("level: warn"))
	must(t, in.AddInputYAML(fmt.Sprintf(`
kafka:
  addresses: %s
  topics: [ %s ]
  consumer_group: ordered_group
`, addrsYAML(c), topic)))
	var mu sync.Mutex
	got := map[string][]int{}
	partOf := map[string]map[string]bool{}
	n := 0
	all := make(chan struct{})
	must(t, in.AddConsumerFunc(func(_ context.Context, m *service.Message) error {
		mu.Lock()
		defer mu.Unlock()
		key, _ := m.MetaGet("kafka_key")
		p, _ := m.MetaGet("kafka_partition")
		b, _ := m.AsBytes()
		v, _ := strconv.Atoi(string(b))
		got[key] = append(got[key], v)
		if partOf[key] == nil {
			partOf[key] = map[string]bool{}
		}
		partOf[key][p] = true
		if n++; n == docs*versions {
			close(all)
		}
		return nil
	}))
	inStream, err := in.Build()
	must(t, err)
	go func() { _ = inStream.Run(ctx) }()
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatalf("consumed %d of %d messages", n, docs*versions)
	}
	must(t, inStream.Stop(ctx))

	mu.Lock()
	defer mu.Unlock()
	for d := range docs {
		key := fmt.Sprintf("SO-%d", d)
		want := strconv.Itoa(int((Murmur2([]byte(key)) & 0x7fffffff) % parts))
		if len(partOf[key]) != 1 || !partOf[key][want] {
			t.Errorf("%s on partitions %v; want only %s (Java's murmur2 placement)", key, partOf[key], want)
		}
		if len(got[key]) != versions {
			t.Errorf("%s: %d versions delivered; want %d", key, len(got[key]), versions)
		}
		for i, v := range got[key] {
			if v != i {
				t.Errorf("%s: versions delivered as %v; want 0..%d in order", key, got[key], versions-1)
				break
			}
		}
	}
}

// SCRAM and PLAIN authenticate against the broker; a wrong password fails
// with an error that names the problem but never the password.
func TestIntegrationKafkaSASL(t *testing.T) {
	const pw = "Sup3r-S3cret-pw"
	c := startCluster(t, map[string]int32{"authd": 1},
		kfake.EnableSASL(),
		kfake.Superuser(SASLScramSHA256, "erp", pw),
		kfake.Superuser(SASLScramSHA512, "erp512", pw),
		kfake.Superuser(SASLPlain, "plain", pw),
	)
	for _, tc := range []struct {
		mech, user, pass string
		ok               bool
	}{
		{SASLScramSHA256, "erp", pw, true},
		{SASLScramSHA512, "erp512", pw, true},
		{SASLPlain, "plain", pw, true},
		{SASLScramSHA256, "erp", pw + "-wrong", false},
		{SASLPlain, "plain", pw + "-wrong", false},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.mech, tc.ok), func(t *testing.T) {
			pc, err := kafkaOutputSpec().ParseYAML(fmt.Sprintf(`
addresses: %s
topic: authd
sasl: { mechanism: %s, user: %s, password: %s }
`, addrsYAML(c), tc.mech, tc.user, tc.pass), nil)
			must(t, err)
			w, err := newKafkaWriter(pc, service.MockResources())
			must(t, err)
			w.conf.Metadata.Retry.Max = 0
			err = w.Connect(context.Background())
			t.Cleanup(func() { _ = w.Close(context.Background()) })
			if !tc.ok {
				if err == nil {
					t.Fatal("connected with a wrong password")
				}
				if strings.Contains(err.Error(), pw) {
					t.Fatalf("error leaks the password: %v", err)
				}
				if !strings.Contains(err.Error(), "check addresses, tls and sasl") {
					t.Fatalf("error %q does not say what to check", err)
				}
				return
			}
			must(t, err)
			must(t, w.WriteBatch(context.Background(), service.MessageBatch{service.NewMessage([]byte("x"))}))
		})
	}
}

// Bad configs are caught by lint, before anything connects.
func TestKafkaConfigLint(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
		output           bool
	}{
		{"sasl without user", "kafka:\n  addresses: [a:9092]\n  topics: [t]\n  consumer_group: g\n  sasl: { mechanism: PLAIN, password: pw }\n", "sasl.user is required", false},
		{"sasl without user and zero limit", "kafka:\n  addresses: [a:9092]\n  topics: [t]\n  consumer_group: g\n  checkpoint_limit: 0\n  sasl: { mechanism: PLAIN, password: pw }\n", "checkpoint_limit must be at least 1", false},
		{"checkpoint_limit zero", "kafka:\n  addresses: [a:9092]\n  topics: [t]\n  consumer_group: g\n  checkpoint_limit: 0\n", "checkpoint_limit must be at least 1", false},
		{"manual without partition", "kafka:\n  addresses: [a:9092]\n  topic: t\n  partitioner: manual\n", "needs the partition field", true},
		{"output sasl without user", "kafka:\n  addresses: [a:9092]\n  topic: t\n  sasl: { mechanism: SCRAM-SHA-256 }\n", "sasl.user is required", true},
		{"unknown compression", "kafka:\n  addresses: [a:9092]\n  topic: t\n  compression: brotli\n", "brotli", true},
		{"unknown partitioner", "kafka:\n  addresses: [a:9092]\n  topic: t\n  partitioner: crc32\n", "crc32", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := service.NewStreamBuilder()
			var err error
			if tc.output {
				err = b.AddOutputYAML(tc.yaml)
			} else {
				err = b.AddInputYAML(tc.yaml)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("lint error %v; want one containing %q", err, tc.want)
			}
		})
	}
}

// The output sets the producer options idempotence needs.
func TestApplyProducerConfig(t *testing.T) {
	for _, tc := range []struct {
		name           string
		ackAll, idem   bool
		wantAcks       sarama.RequiredAcks
		wantIdem       bool
		wantMaxOpenReq int
	}{
		{"leader acks", false, false, sarama.WaitForLocal, false, 5},
		{"all replicas", true, false, sarama.WaitForAll, false, 5},
		{"idempotent", false, true, sarama.WaitForAll, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := sarama.NewConfig()
			applyProducerConfig(sc, tc.ackAll, tc.idem, 1234)
			if sc.Producer.RequiredAcks != tc.wantAcks || sc.Producer.Idempotent != tc.wantIdem ||
				sc.Net.MaxOpenRequests != tc.wantMaxOpenReq || sc.Producer.MaxMessageBytes != 1234 {
				t.Fatalf("acks %v idempotent %v max open %d max bytes %d", sc.Producer.RequiredAcks,
					sc.Producer.Idempotent, sc.Net.MaxOpenRequests, sc.Producer.MaxMessageBytes)
			}
			if err := sc.Validate(); err != nil {
				t.Fatalf("sarama rejects the config: %v", err)
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The examples in the specs are valid configs.
func TestKafkaSpecExamplesLint(t *testing.T) {
	env := service.NewEnvironment()
	for _, kind := range []string{"input", "output"} {
		var found bool
		var walkErr error
		walk := func(name string, cv *service.ConfigView) {
			if name != "kafka" {
				return
			}
			found = true
			data, err := cv.TemplateData()
			if err != nil {
				walkErr = err
				return
			}
			if len(data.Examples) == 0 {
				walkErr = fmt.Errorf("%s has no example", kind)
			}
			for _, ex := range data.Examples {
				b := env.NewStreamBuilder()
				if err := b.SetYAML(ex.Config); err != nil {
					walkErr = fmt.Errorf("%s example %q: %w", kind, ex.Title, err)
				}
			}
		}
		if kind == "input" {
			env.WalkInputs(walk)
		} else {
			env.WalkOutputs(walk)
		}
		if !found || walkErr != nil {
			t.Fatalf("%s: registered %v, %v", kind, found, walkErr)
		}
	}
}
