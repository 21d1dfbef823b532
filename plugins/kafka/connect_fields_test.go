package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Behaviour of the fields erpsync's kafka shares with Redpanda Connect's.

// newTestInput builds the input as the stream does (with the nack and
// tracing wrappers) from YAML, with test-friendly group timings unless the
// YAML sets a group block.
func newTestInput(t testing.TB, c *kfake.Cluster, yaml string) service.BatchInput {
	t.Helper()
	if !strings.Contains(yaml, "group:") {
		yaml += "\ngroup: { heartbeat_interval: 200ms, session_timeout: 6s, rebalance_timeout: 10s }\n"
	}
	pc, err := kafkaInputSpec().ParseYAML(fmt.Sprintf("addresses: %s\ncommit_period: 100ms\n%s", addrsYAML(c), yaml), nil)
	if err != nil {
		t.Fatalf("input config: %v", err)
	}
	in, err := newKafkaInputFromParsed(pc, service.MockResources())
	if err != nil {
		t.Fatalf("input: %v", err)
	}
	connectInput(t, in)
	return in
}

// produceRecords writes records as given (headers, nil values) to
// topic/partition.
func produceRecords(t testing.TB, c *kfake.Cluster, topic string, partition int32, recs ...*sarama.ProducerMessage) {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	conf.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(c.ListenAddrs(), conf)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	for _, r := range recs {
		r.Topic, r.Partition = topic, partition
	}
	if err := p.SendMessages(recs); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// Metadata has Connect's types: integers for partition, offset, lag and
// timestamps, a bool for tombstones; Bloblang sees numbers, and string
// conversions (meta(), interpolations, MetaGet) still give the digits.
func TestIntegrationKafkaMetadataTypes(t *testing.T) {
	const topic = "types"
	c := startCluster(t, map[string]int32{topic: 3})
	produceRecords(t, c, topic, 2,
		&sarama.ProducerMessage{Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder("v")},
		&sarama.ProducerMessage{Key: sarama.StringEncoder("gone")}) // tombstone: nil value
	in := newTestInput(t, c, "topics: [ types ]\nconsumer_group: types_group\n")
	t.Cleanup(func() { closeInput(t, in) })
	exe, err := bloblang.Parse(`root = [@kafka_partition.type(), @kafka_offset.type(), @kafka_lag.type(), @kafka_timestamp_unix.type(), @kafka_timestamp_ms.type(), @kafka_tombstone_message.type(), @kafka_partition + 1, meta("kafka_partition"), "${!@kafka_offset}"]`)
	must(t, err)
	for i, want := range []struct {
		tomb bool
		res  string
	}{
		{false, `["number","number","number","number","number","bool",3,"2","${!@kafka_offset}"]`},
		{true, `["number","number","number","number","number","bool",3,"2","${!@kafka_offset}"]`},
	} {
		r := readOne(t, in)
		for k, v := range map[string]any{"kafka_partition": int64(2), "kafka_offset": int64(i), "kafka_lag": int64(1 - i), "kafka_tombstone_message": want.tomb} {
			if got := r.metaAny(k); got != v {
				t.Errorf("record %d: %s = %#v (%T); want %#v (%T)", i, k, got, got, v, v)
			}
		}
		for _, k := range []string{"kafka_timestamp_unix", "kafka_timestamp_ms"} {
			if _, ok := r.metaAny(k).(int64); !ok {
				t.Errorf("record %d: %s = %#v; want an int64", i, k, r.metaAny(k))
			}
		}
		if ms, s := r.metaAny("kafka_timestamp_ms").(int64), r.metaAny("kafka_timestamp_unix").(int64); ms/1000 != s {
			t.Errorf("record %d: kafka_timestamp_ms %d and kafka_timestamp_unix %d disagree", i, ms, s)
		}
		res, err := r.msg.BloblangQuery(exe)
		must(t, err)
		b, _ := res.AsBytes()
		if string(b) != want.res {
			t.Errorf("record %d: Bloblang sees %s; want %s", i, b, want.res)
		}
		if r.meta("kafka_offset") != fmt.Sprint(i) {
			t.Errorf("record %d: MetaGet(kafka_offset) = %q", i, r.meta("kafka_offset"))
		}
		_ = r.ack(context.Background(), nil)
	}
}

// multi_header keeps every value of a repeated header as an array; without
// it the last value wins.
func TestIntegrationKafkaMultiHeader(t *testing.T) {
	const topic = "headers"
	c := startCluster(t, map[string]int32{topic: 1})
	produceRecords(t, c, topic, 0, &sarama.ProducerMessage{Value: sarama.StringEncoder("x"), Headers: []sarama.RecordHeader{
		{Key: []byte("h"), Value: []byte("a")}, {Key: []byte("h"), Value: []byte("b")}, {Key: []byte("one"), Value: []byte("1")},
	}})
	for _, tc := range []struct {
		multi    bool
		wantH    any
		wantOne  any
		wantBlob string
	}{
		{true, []any{"a", "b"}, []any{"1"}, `["a","b"]`},
		{false, "b", "1", `b`},
	} {
		t.Run(fmt.Sprint("multi_header=", tc.multi), func(t *testing.T) {
			in := newTestInput(t, c, fmt.Sprintf("topics: [ headers ]\nconsumer_group: mh_%v\nmulti_header: %v\n", tc.multi, tc.multi))
			t.Cleanup(func() { closeInput(t, in) })
			r := readOne(t, in)
			_ = r.ack(context.Background(), nil)
			if got := fmt.Sprintf("%#v", r.metaAny("h")); got != fmt.Sprintf("%#v", tc.wantH) {
				t.Errorf("header h = %s; want %#v", got, tc.wantH)
			}
			if got := fmt.Sprintf("%#v", r.metaAny("one")); got != fmt.Sprintf("%#v", tc.wantOne) {
				t.Errorf("header one = %s; want %#v", got, tc.wantOne)
			}
			res, err := r.msg.BloblangQuery(mustBlobl(t, `root = @h`))
			must(t, err)
			if b, _ := res.AsBytes(); string(b) != tc.wantBlob {
				t.Errorf("@h = %s; want %s", b, tc.wantBlob)
			}
		})
	}
}

// Explicit partitions (topic:N, topic:N-M) are read without a consumer
// group: only those partitions, from the oldest, committing nothing; with a
// consumer_group their offsets are read from and committed to it.
func TestIntegrationKafkaExplicitPartitions(t *testing.T) {
	const topic = "parts"
	c := startCluster(t, map[string]int32{topic: 3})
	for p := range int32(3) {
		produce(t, c, topic, p, fmt.Sprintf("p%d-0", p), fmt.Sprintf("p%d-1", p))
	}
	readAll := func(in service.BatchInput, n int) []string {
		var got []string
		for range n {
			r := readOne(t, in)
			got = append(got, r.body())
			_ = r.ack(context.Background(), nil)
		}
		slices.Sort(got)
		return got
	}
	noMore := func(in service.BatchInput) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if b, _, err := in.ReadBatch(ctx); err == nil {
			t.Fatalf("read %d more messages; want none", len(b))
		}
	}

	t.Run("no consumer group", func(t *testing.T) {
		for range 2 { // every run reads the same: nothing is committed
			in := newTestInput(t, c, "topics: [ 'parts:1-2' ]\n")
			got := readAll(in, 4)
			noMore(in)
			closeInput(t, in)
			if want := []string{"p1-0", "p1-1", "p2-0", "p2-1"}; !slices.Equal(got, want) {
				t.Fatalf("read %v; want %v (partitions 1 and 2 only)", got, want)
			}
		}
	})

	t.Run("consumer group stores offsets", func(t *testing.T) {
		in := newTestInput(t, c, "topics: [ 'parts:0', 'parts:2' ]\nconsumer_group: explicit_group\n")
		r := readOne(t, in) // one of p0-0, p2-0
		_ = r.ack(context.Background(), nil)
		closeInput(t, in)
		p := int32(r.metaAny("kafka_partition").(int64))
		if got := committed(t, c, "explicit_group", topic, p); got != 1 {
			t.Fatalf("committed offset of %s/%d: %d; want 1", topic, p, got)
		}
		in = newTestInput(t, c, "topics: [ 'parts:0,parts:2' ]\nconsumer_group: explicit_group\n")
		t.Cleanup(func() { closeInput(t, in) })
		got := readAll(in, 3)
		noMore(in)
		want := []string{"p0-0", "p0-1", "p2-0", "p2-1"}
		want = slices.DeleteFunc(want, func(s string) bool { return s == r.body() })
		if !slices.Equal(got, want) {
			t.Fatalf("second run read %v; want %v (resuming after the committed %s)", got, want, r.body())
		}
	})
}

func TestKafkaInputTopicsRules(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"topics: [ t ]\n", "consumer_group is required to consume balanced topics"},
		{"topics: [ t, 'u:1' ]\nconsumer_group: g\n", "cannot be mixed"},
		{"topics: [ 't:3-1' ]\n", "want topic:partition"},
		{"topics: [ 't:x' ]\n", "want topic:partition"},
		{"topics: [ ':1' ]\n", "no topic before the colon"},
	} {
		pc, err := kafkaInputSpec().ParseYAML("addresses: [ a:9092 ]\n"+tc.yaml, nil)
		must(t, err)
		if _, err := newKafkaReader(pc, service.MockResources()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v; want one containing %q", strings.TrimSpace(tc.yaml), err, tc.want)
		}
	}
	bal, exp, err := parseTopics([]string{"a, b:0-2", "b:1,c:5"})
	must(t, err)
	if fmt.Sprint(bal, exp) != "[a] map[b:[0 1 2] c:[5]]" {
		t.Fatalf("parseTopics: %v %v", bal, exp)
	}
}

// auto_replay_nacks: false drops a nacked message (its offset is
// committed, it is not read again); the default replays it.
func TestIntegrationKafkaAutoReplayNacks(t *testing.T) {
	for _, replay := range []bool{true, false} {
		t.Run(fmt.Sprint("auto_replay_nacks=", replay), func(t *testing.T) {
			topic, group := fmt.Sprintf("nacks_%v", replay), fmt.Sprintf("nacks_group_%v", replay)
			c := startCluster(t, map[string]int32{topic: 1})
			produce(t, c, topic, 0, "m0", "m1")
			in := newTestInput(t, c, fmt.Sprintf("topics: [ %s ]\nconsumer_group: %s\nauto_replay_nacks: %v\n", topic, group, replay))
			m0 := readOne(t, in)
			_ = m0.ack(context.Background(), errors.New("rejected"))
			next := readOne(t, in)
			want := "m1"
			if replay {
				want = "m0"
			}
			if next.body() != want {
				t.Fatalf("after the nack read %q; want %q", next.body(), want)
			}
			_ = next.ack(context.Background(), nil)
			if replay {
				_ = readOne(t, in).ack(context.Background(), nil) // m1
			}
			closeInput(t, in)
			if got := committed(t, c, group, topic, 0); got != 2 {
				t.Fatalf("committed %d; want 2", got)
			}
		})
	}
}

// batching forms batches per partition; their offsets are committed once
// the batch is acknowledged, and a batch larger than checkpoint_limit is
// still delivered.
func TestIntegrationKafkaInputBatching(t *testing.T) {
	const topic, group = "batched", "batched_group"
	c := startCluster(t, map[string]int32{topic: 1})
	produce(t, c, topic, 0, "a", "b", "c", "d", "e")
	in := newTestInput(t, c, "topics: [ batched ]\nconsumer_group: batched_group\ncheckpoint_limit: 2\nbatching: { count: 3, period: 200ms }\n")
	b1, ack1 := readBatch(t, in) // larger than checkpoint_limit: delivered alone
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if b, _, err := in.ReadBatch(ctx); err == nil {
		t.Fatalf("read a second batch of %d with the first (3 messages, checkpoint_limit 2) unacknowledged", len(b))
	}
	_ = ack1(context.Background(), nil)
	b2, ack2 := readBatch(t, in) // the rest, flushed by the period
	bodies := func(b service.MessageBatch) string {
		var s []string
		for _, m := range b {
			v, _ := m.AsBytes()
			s = append(s, string(v))
		}
		return strings.Join(s, ",")
	}
	if bodies(b1) != "a,b,c" || bodies(b2) != "d,e" {
		t.Fatalf("batches %q and %q; want a,b,c and d,e", bodies(b1), bodies(b2))
	}
	_ = ack2(context.Background(), nil)
	closeInput(t, in)
	if got := committed(t, c, group, topic, 0); got != 5 {
		t.Fatalf("committed %d; want 5", got)
	}
}

// static_headers arrive on every record, after the metadata headers.
func TestIntegrationKafkaStaticHeaders(t *testing.T) {
	const topic = "static"
	c := startCluster(t, map[string]int32{topic: 1})
	w := newTestWriter(t, c, "topic: static\nstatic_headers: { first-static-header: value-1, second-static-header: value-2 }\n")
	m := service.NewMessage([]byte("x"))
	m.MetaSetMut("source_id", "SO-1")
	must(t, w.WriteBatch(context.Background(), service.MessageBatch{m}))
	in := newTestInput(t, c, "topics: [ static ]\nconsumer_group: static_group\n")
	t.Cleanup(func() { closeInput(t, in) })
	r := readOne(t, in)
	_ = r.ack(context.Background(), nil)
	for k, want := range map[string]string{"first-static-header": "value-1", "second-static-header": "value-2", "source_id": "SO-1"} {
		if got := r.meta(k); got != want {
			t.Errorf("header %s = %q; want %q", k, got, want)
		}
	}
}

// failProduce makes the broker answer the next n produce requests with
// TOPIC_AUTHORIZATION_FAILED, which sarama does not retry itself.
func failProduce(c *kfake.Cluster, n int) {
	var mu sync.Mutex
	left := n
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		mu.Lock()
		defer mu.Unlock()
		if left == 0 {
			return nil, nil, false
		}
		left--
		c.KeepControl()
		preq := req.(*kmsg.ProduceRequest)
		resp := preq.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range preq.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = 29 // TOPIC_AUTHORIZATION_FAILED
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}

// max_retries and backoff bound the retries of failed messages; retries
// that succeed write each message once.
func TestIntegrationKafkaOutputRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		conf      string
		failures  int
		wantSends []int
		wantErr   bool
	}{
		{"succeeds on the third attempt", "max_retries: 5\nbackoff: { initial_interval: 10ms, max_interval: 10ms }\n", 2, []int{1, 1, 1}, false},
		{"max_retries 2 gives up after three attempts", "max_retries: 2\nbackoff: { initial_interval: 10ms, max_interval: 10ms }\n", 100, []int{1, 1, 1}, true},
		{"max_elapsed_time bounds unlimited retries", "max_retries: 0\nbackoff: { initial_interval: 100ms, max_interval: 100ms, max_elapsed_time: 250ms }\n", 100, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, map[string]int32{"retried": 1})
			w := newTestWriter(t, c, "topic: retried\n"+tc.conf)
			var sends []int
			w.onSend = func(n int) { sends = append(sends, n) }
			failProduce(c, tc.failures)
			start := time.Now()
			err := w.WriteBatch(context.Background(), service.MessageBatch{service.NewMessage([]byte("a"))})
			if (err != nil) != tc.wantErr {
				t.Fatalf("WriteBatch: %v; want error %v", err, tc.wantErr)
			}
			if tc.wantSends != nil && !slices.Equal(sends, tc.wantSends) {
				t.Fatalf("sends %v; want %v", sends, tc.wantSends)
			}
			if tc.wantSends == nil && (len(sends) < 2 || len(sends) > 5 || time.Since(start) > 10*time.Second) {
				t.Fatalf("sends %v in %v; want a few retries within max_elapsed_time", sends, time.Since(start))
			}
			var berr *service.BatchError
			if tc.wantErr && !errors.As(err, &berr) {
				t.Fatalf("error %v; want a per-message batch error", err)
			}
			wantStored := int64(1)
			if tc.wantErr {
				wantStored = 0
			}
			if got := highWater(t, c, "retried", 0); got != wantStored {
				t.Fatalf("%d messages stored; want %d", got, wantStored)
			}
		})
	}
}

// Without retry_as_batch only the failed message is retried and fails; with
// it the whole batch is sent again and fails together.
func TestIntegrationKafkaOutputRetryAsBatch(t *testing.T) {
	for _, asBatch := range []bool{false, true} {
		t.Run(fmt.Sprint("retry_as_batch=", asBatch), func(t *testing.T) {
			c := startCluster(t, map[string]int32{"good": 1})
			w := newTestWriter(t, c, fmt.Sprintf("topic: ${! meta(\"topic\").or(\"good\") }\nmetadata: { exclude_prefixes: [ topic ] }\nretry_as_batch: %v\nmax_retries: 2\nbackoff: { initial_interval: 10ms, max_interval: 10ms }\n", asBatch))
			var sends []int
			w.onSend = func(n int) { sends = append(sends, n) }
			batch := service.MessageBatch{service.NewMessage([]byte("0")), service.NewMessage([]byte("1")), service.NewMessage([]byte("2"))}
			batch[1].MetaSetMut("topic", "missing")
			err := w.WriteBatch(context.Background(), batch)
			var berr *service.BatchError
			isBatchErr := errors.As(err, &berr)
			if asBatch {
				if err == nil || isBatchErr {
					t.Fatalf("error %v; want one error for the whole batch", err)
				}
				if !slices.Equal(sends, []int{3, 3, 3}) {
					t.Fatalf("sends %v; want the whole batch three times", sends)
				}
				return
			}
			if !isBatchErr {
				t.Fatalf("error %v; want a per-message batch error", err)
			}
			if !slices.Equal(sends, []int{3, 1, 1}) {
				t.Fatalf("sends %v; want the batch once, then only the failed message twice", sends)
			}
			if got := highWater(t, c, "good", 0); got != 2 {
				t.Fatalf("%d messages stored; want the two good ones once", got)
			}
		})
	}
}

// custom_topic_creation creates a missing topic with the partitions asked
// for; without it the message fails.
func TestIntegrationKafkaCustomTopicCreation(t *testing.T) {
	c := startCluster(t, map[string]int32{"existing": 1})
	w := newTestWriter(t, c, "topic: ${! meta(\"topic\") }\nmetadata: { exclude_prefixes: [ topic ] }\ncustom_topic_creation: { enabled: true, partitions: 3 }\n")
	for _, topic := range []string{"created", "existing"} {
		m := service.NewMessage([]byte("x"))
		m.MetaSetMut("topic", topic)
		must(t, w.WriteBatch(context.Background(), service.MessageBatch{m}))
	}
	admin, err := sarama.NewClusterAdmin(c.ListenAddrs(), sarama.NewConfig())
	must(t, err)
	defer admin.Close()
	md, err := admin.DescribeTopics([]string{"created", "existing"})
	must(t, err)
	parts := map[string]int{}
	for _, tm := range md {
		parts[tm.Name] = len(tm.Partitions)
	}
	if parts["created"] != 3 || parts["existing"] != 1 {
		t.Fatalf("partitions %v; want created: 3 (new), existing: 1 (untouched)", parts)
	}
}

// max_message_bytes, erpsync's earlier name, still sets the limit; with
// max_msg_bytes too it is refused.
func TestKafkaMaxMsgBytesAlias(t *testing.T) {
	for _, tc := range []struct {
		yaml    string
		want    int
		wantErr string
	}{
		{"max_msg_bytes: 1234\n", 1234, ""},
		{"max_message_bytes: 2345\n", 2345, ""},
		{"", defaultMaxMsgBytes, ""},
		{"max_msg_bytes: 1234\nmax_message_bytes: 2345\n", 0, "old name of max_msg_bytes"},
	} {
		pc, err := kafkaOutputSpec().ParseYAML("addresses: [ a:9092 ]\ntopic: t\n"+tc.yaml, nil)
		must(t, err)
		w, err := newKafkaWriter(pc, service.MockResources())
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v; want %q", tc.yaml, err, tc.wantErr)
			}
			continue
		}
		must(t, err)
		if w.maxBytes != tc.want || w.conf.Producer.MaxMessageBytes != tc.want {
			t.Errorf("%q: max bytes %d (sarama %d); want %d", tc.yaml, w.maxBytes, w.conf.Producer.MaxMessageBytes, tc.want)
		}
	}
}

// Fields that only configure sarama reach it.
func TestKafkaSaramaSettings(t *testing.T) {
	pc, err := kafkaInputSpec().ParseYAML(`
addresses: [ a:9092 ]
topics: [ t ]
consumer_group: g
rack_id: rack-1
instance_id: erpsync-1
max_processing_period: 250ms
fetch_buffer_cap: 17
sasl: { mechanism: OAUTHBEARER, access_token: tok-123 }
`, nil)
	must(t, err)
	r, err := newKafkaReader(pc, service.MockResources())
	must(t, err)
	sc := r.conf.sarama
	if sc.RackID != "rack-1" || sc.Consumer.Group.InstanceId != "erpsync-1" || !sc.Version.IsAtLeast(sarama.V2_3_0_0) ||
		sc.Consumer.MaxProcessingTime != 250*time.Millisecond || sc.ChannelBufferSize != 17 {
		t.Fatalf("rack %q instance %q version %v max processing %v buffer %d", sc.RackID, sc.Consumer.Group.InstanceId, sc.Version, sc.Consumer.MaxProcessingTime, sc.ChannelBufferSize)
	}
	if sc.Net.SASL.Mechanism != sarama.SASLTypeOAuth {
		t.Fatalf("sasl mechanism %v", sc.Net.SASL.Mechanism)
	}
	tok, err := sc.Net.SASL.TokenProvider.Token()
	if err != nil || tok.Token != "tok-123" {
		t.Fatalf("token %v, %v", tok, err)
	}

	// An OAUTHBEARER token from a cache resource.
	res := service.MockResources(service.MockResourcesOptAddCache("tokens"))
	must(t, res.AccessCache(context.Background(), "tokens", func(c service.Cache) {
		must(t, c.Set(context.Background(), "kafka", []byte("cached-tok"), nil))
	}))
	pc, err = kafkaOutputSpec().ParseYAML("addresses: [ a:9092 ]\ntopic: t\nsasl: { mechanism: OAUTHBEARER, token_cache: tokens, token_key: kafka }\n", nil)
	must(t, err)
	w, err := newKafkaWriter(pc, res)
	must(t, err)
	if tok, err := w.conf.Net.SASL.TokenProvider.Token(); err != nil || tok.Token != "cached-tok" {
		t.Fatalf("cached token %v, %v", tok, err)
	}
}

func mustBlobl(t testing.TB, m string) *bloblang.Executor {
	t.Helper()
	exe, err := bloblang.Parse(m)
	must(t, err)
	return exe
}

// timely_nacks_maximum_wait nacks a message left unacknowledged that long:
// replayed by default, dropped with auto_replay_nacks: false. Without it the
// partition (checkpoint_limit 1) waits.
func TestIntegrationKafkaTimelyNacks(t *testing.T) {
	for _, tc := range []struct {
		name, conf, want string
	}{
		{"replayed", "timely_nacks_maximum_wait: 300ms\n", "m0"},
		{"dropped", "timely_nacks_maximum_wait: 300ms\nauto_replay_nacks: false\n", "m1"},
		{"no limit", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "timely_" + strings.ReplaceAll(tc.name, " ", "_")
			c := startCluster(t, map[string]int32{topic: 1})
			produce(t, c, topic, 0, "m0", "m1")
			in := newTestInput(t, c, fmt.Sprintf("topics: [ %s ]\nconsumer_group: g\ncheckpoint_limit: 1\n%s", topic, tc.conf))
			t.Cleanup(func() { closeInput(t, in) })
			first, _ := readBatch(t, in) // never acknowledged
			if b, _ := first[0].AsBytes(); string(b) != "m0" {
				t.Fatalf("first read %q", b)
			}
			if tc.want == "" {
				ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
				defer cancel()
				if b, _, err := in.ReadBatch(ctx); err == nil {
					t.Fatalf("read %d more with m0 in flight and checkpoint_limit 1", len(b))
				}
				return
			}
			r := readOne(t, in)
			_ = r.ack(context.Background(), nil)
			if r.body() != tc.want {
				t.Fatalf("after the wait read %q; want %q", r.body(), tc.want)
			}
		})
	}
}

// The old name alone lints (it is deprecated, not wrong); both names do not.
func TestKafkaMaxMessageBytesOldNameLints(t *testing.T) {
	b := service.NewStreamBuilder()
	must(t, b.AddOutputYAML("kafka:\n  addresses: [ a:9092 ]\n  topic: t\n  max_message_bytes: 2345\n"))
	b = service.NewStreamBuilder()
	if err := b.AddOutputYAML("kafka:\n  addresses: [ a:9092 ]\n  topic: t\n  max_message_bytes: 2345\n  max_msg_bytes: 10\n"); err == nil || !strings.Contains(err.Error(), "old name of max_msg_bytes") {
		t.Fatalf("both names: %v; want the old-name lint", err)
	}
}

// inject_tracing_map runs on every message before it is sent (here it
// marks the message, whose metadata becomes a header); extract_tracing_map
// is applied by the input and the messages still flow.
func TestIntegrationKafkaTracingMaps(t *testing.T) {
	const topic = "traced"
	c := startCluster(t, map[string]int32{topic: 1})
	pc, err := kafkaOutputSpec().ParseYAML(fmt.Sprintf("addresses: %s\ntopic: traced\ninject_tracing_map: 'meta injected = \"yes\"'\n", addrsYAML(c)), nil)
	must(t, err)
	out, _, _, err := newKafkaOutputFromParsed(pc, service.MockResources())
	must(t, err)
	must(t, out.Connect(context.Background()))
	t.Cleanup(func() { _ = out.Close(context.Background()) })
	must(t, out.WriteBatch(context.Background(), service.MessageBatch{service.NewMessage([]byte("x"))}))

	in := newTestInput(t, c, "topics: [ traced ]\nconsumer_group: traced_group\nextract_tracing_map: 'root = @'\n")
	t.Cleanup(func() { closeInput(t, in) })
	r := readOne(t, in)
	_ = r.ack(context.Background(), nil)
	if r.meta("injected") != "yes" || r.body() != "x" {
		t.Fatalf("header injected = %q, body %q; want the inject_tracing_map mark and the body", r.meta("injected"), r.body())
	}

	pc, err = kafkaInputSpec().ParseYAML("addresses: [ a:9092 ]\ntopics: [ t ]\nconsumer_group: g\nextract_tracing_map: 'root = ('\n", nil)
	if err == nil {
		_, err = newKafkaInputFromParsed(pc, service.MockResources())
	}
	if err == nil {
		t.Fatal("a broken extract_tracing_map mapping was accepted")
	}
}
