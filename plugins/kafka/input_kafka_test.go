package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// A nacked message is redelivered; a restarted member of the same group
// resumes at the first unacknowledged offset, never past it, and nothing
// acknowledged before it is read again.
func TestIntegrationKafkaAtLeastOnceNackAndRestart(t *testing.T) {
	const topic, group = "alo", "alo_group"
	c := startCluster(t, map[string]int32{topic: 1})
	values := make([]string, 10)
	for i := range values {
		values[i] = fmt.Sprintf("v%d", i)
	}
	produce(t, c, topic, 0, values...)

	// First run: read all ten, ack 0-2, nack 3, ack 4-5, leave 6-9 in flight.
	a := service.AutoRetryNacksBatched(newTestReader(t, c, topic, group, ""))
	connectInput(t, a)
	var reads []read
	for i := range 10 {
		r := readOne(t, a)
		if r.offset() != int64(i) || r.body() != values[i] {
			t.Fatalf("first run, read %d: offset %d body %q; want offset %d body %q", i, r.offset(), r.body(), i, values[i])
		}
		reads = append(reads, r)
	}
	ctx := context.Background()
	for _, i := range []int{0, 1, 2, 4, 5} {
		if err := reads[i].ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := reads[3].ack(ctx, errors.New("target down")); err != nil {
		t.Fatal(err)
	}
	again := readOne(t, a)
	if again.offset() != 3 || again.body() != "v3" {
		t.Fatalf("after the nack: read offset %d %q; want the nacked offset 3 redelivered", again.offset(), again.body())
	}
	closeInput(t, a)
	if got := committed(t, c, group, topic, 0); got != 3 {
		t.Fatalf("committed offset after the first run: %d; want 3 (first unacknowledged)", got)
	}

	// Second run: starts at 3 (4 and 5 again: acked behind an unacked one),
	// then everything up to 9; all acked.
	b := service.AutoRetryNacksBatched(newTestReader(t, c, topic, group, ""))
	connectInput(t, b)
	for i := 3; i < 10; i++ {
		r := readOne(t, b)
		if r.offset() != int64(i) || r.body() != values[i] {
			t.Fatalf("second run: read offset %d %q; want offset %d", r.offset(), r.body(), i)
		}
		if err := r.ack(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	closeInput(t, b)
	if got := committed(t, c, group, topic, 0); got != 10 {
		t.Fatalf("committed offset after the second run: %d; want 10", got)
	}

	// Third run: nothing acknowledged is read again; the next message is new.
	produce(t, c, topic, 0, "v10")
	d := service.AutoRetryNacksBatched(newTestReader(t, c, topic, group, ""))
	connectInput(t, d)
	r := readOne(t, d)
	if r.offset() != 10 || r.body() != "v10" {
		t.Fatalf("third run: read offset %d %q; want only the new offset 10", r.offset(), r.body())
	}
	_ = r.ack(ctx, nil)
	closeInput(t, d)
}

// Metadata carries the record's coordinates, key, timestamp and headers.
func TestIntegrationKafkaInputMetadata(t *testing.T) {
	const topic = "meta"
	c := startCluster(t, map[string]int32{topic: 2})
	w := newTestWriter(t, c, "topic: meta\npartitioner: manual\npartition: '1'\n")
	msg := service.NewMessage([]byte(`{"id":1}`))
	msg.MetaSetMut("source_id", "SO-1")
	msg.MetaSetMut("source_vendor", "jushuitan")
	if err := w.WriteBatch(context.Background(), service.MessageBatch{msg}); err != nil {
		t.Fatal(err)
	}
	in := service.AutoRetryNacksBatched(newTestReader(t, c, topic, "meta_group", ""))
	connectInput(t, in)
	t.Cleanup(func() { closeInput(t, in) })
	r := readOne(t, in)
	_ = r.ack(context.Background(), nil)
	now := time.Now().Unix()
	ts, err := strconv.ParseInt(r.meta("kafka_timestamp_unix"), 10, 64)
	if err != nil || ts < now-60 || ts > now+60 {
		t.Fatalf("kafka_timestamp_unix %q: want about %d", r.meta("kafka_timestamp_unix"), now)
	}
	for k, want := range map[string]string{
		"kafka_key": "SO-1", "kafka_topic": topic, "kafka_partition": "1", "kafka_offset": "0", "kafka_lag": "0",
		"source_id": "SO-1", "source_vendor": "jushuitan",
	} {
		if got := r.meta(k); got != want {
			t.Errorf("metadata %s = %q; want %q", k, got, want)
		}
	}
	if r.body() != `{"id":1}` {
		t.Errorf("body %q", r.body())
	}
}

// checkpoint_limit bounds the messages of one partition in flight: the
// partition's next message is held back until the oldest is acknowledged.
func TestIntegrationKafkaCheckpointLimit(t *testing.T) {
	const topic = "limit"
	c := startCluster(t, map[string]int32{topic: 1})
	produce(t, c, topic, 0, "a", "b", "c", "d")
	in := service.AutoRetryNacksBatched(newTestReader(t, c, topic, "limit_group", "checkpoint_limit: 2\n"))
	connectInput(t, in)
	t.Cleanup(func() { closeInput(t, in) })
	first, second := readOne(t, in), readOne(t, in)
	if first.offset() != 0 || second.offset() != 1 {
		t.Fatalf("read offsets %d, %d; want 0, 1", first.offset(), second.offset())
	}
	// Acking the second does not free a slot: it sits behind the first.
	_ = second.ack(context.Background(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if b, _, err := in.ReadBatch(ctx); err == nil {
		off, _ := b[0].MetaGet("kafka_offset")
		t.Fatalf("read offset %s with 2 messages unreleased and checkpoint_limit 2", off)
	}
	_ = first.ack(context.Background(), nil)
	third := readOne(t, in)
	if third.offset() != 2 {
		t.Fatalf("after releasing: offset %d; want 2", third.offset())
	}
	_ = third.ack(context.Background(), nil)
}

// Two members of one group share the partitions: every message is consumed,
// no partition is claimed by both at once, both get work after the second
// joins, the survivor takes over when one leaves, and with prompt acks no
// message is consumed twice across the rebalances.
func TestIntegrationKafkaGroupSharesPartitions(t *testing.T) {
	const topic, group, parts = "shared", "shared_group", 4
	c := startCluster(t, map[string]int32{topic: parts})
	w := newWatch()
	var (
		owners    = map[int32]map[string]bool{} // partition -> members holding a claim
		overlaps  []string
		seen      = map[string]int{} // partition/offset -> deliveries
		byMember  = map[string]int{}
		afterJoin = map[string]int{}
		joined    bool
	)
	member := func(name string) *kafkaReader {
		r := newTestReader(t, c, topic, group, "checkpoint_limit: 16\n")
		r.onClaim = func(_ string, p int32, active bool) {
			w.update(func() {
				if owners[p] == nil {
					owners[p] = map[string]bool{}
				}
				if active && len(owners[p]) > 0 {
					overlaps = append(overlaps, fmt.Sprintf("partition %d claimed by %s while held by %v", p, name, owners[p]))
				}
				if active {
					owners[p][name] = true
				} else {
					delete(owners[p], name)
				}
			})
		}
		return r
	}
	record := func(name string) func(read) {
		return func(r read) {
			seen[r.meta("kafka_partition")+"/"+r.meta("kafka_offset")]++
			byMember[name]++
			if joined {
				afterJoin[name]++
			}
		}
	}
	claims := func(name string) int {
		n := 0
		for _, o := range owners {
			if o[name] {
				n++
			}
		}
		return n
	}
	produceRound := func(round, perPartition int) {
		for p := range int32(parts) {
			vals := make([]string, perPartition)
			for i := range vals {
				vals[i] = fmt.Sprintf("r%d-p%d-%d", round, p, i)
			}
			produce(t, c, topic, p, vals...)
		}
	}
	total := func() int { return len(seen) }

	a := service.AutoRetryNacksBatched(member("a"))
	connectInput(t, a)
	stopA := consumeLoop(t, a, w, record("a"))
	produceRound(1, 50)
	w.waitFor(t, "a to consume round 1", 30*time.Second, func() bool { return total() == 200 })

	b := service.AutoRetryNacksBatched(member("b"))
	connectInput(t, b)
	stopB := consumeLoop(t, b, w, record("b"))
	t.Cleanup(func() { stopB(); closeInput(t, b) })
	w.waitFor(t, "both members to hold partitions", 30*time.Second, func() bool {
		return claims("a") > 0 && claims("b") > 0 && claims("a")+claims("b") == parts
	})
	w.update(func() { joined = true })
	produceRound(2, 50)
	w.waitFor(t, "round 2 consumed", 30*time.Second, func() bool { return total() == 400 })

	// a leaves: b takes every partition and goes on from a's commits.
	stopA()
	closeInput(t, a)
	w.waitFor(t, "b to hold every partition", 30*time.Second, func() bool { return claims("b") == parts })
	produceRound(3, 25)
	w.waitFor(t, "round 3 consumed", 30*time.Second, func() bool { return total() == 500 })

	w.update(func() {
		if len(overlaps) > 0 {
			t.Errorf("partition claimed twice at once: %v", overlaps)
		}
		for k, n := range seen {
			if n != 1 {
				t.Errorf("message %s consumed %d times; acknowledged work must not be read again", k, n)
			}
		}
		if afterJoin["a"] == 0 || afterJoin["b"] == 0 {
			t.Errorf("after b joined: a consumed %d, b %d; both should share the partitions", afterJoin["a"], afterJoin["b"])
		}
	})
}

// Only acknowledged work survives a rebalance: a member that gives a
// partition up with a message still unacknowledged does not commit past it,
// and the next owner reads from it.
func TestIntegrationKafkaRebalanceNeverCommitsPastUnacked(t *testing.T) {
	const topic, group = "handover", "handover_group"
	c := startCluster(t, map[string]int32{topic: 1})
	produce(t, c, topic, 0, "m0", "m1", "m2", "m3")
	// A short drain bound: the unacked message stays unacked through it.
	ra := newTestReader(t, c, topic, group, "")
	ra.conf.drainTimeout = 200 * time.Millisecond
	ain := service.AutoRetryNacksBatched(ra)
	connectInput(t, ain)
	m0, m1 := readOne(t, ain), readOne(t, ain)
	_ = m0.ack(context.Background(), nil)
	_ = m1 // left unacknowledged
	m2 := readOne(t, ain)
	_ = m2.ack(context.Background(), nil)

	// b joins; the single partition goes to one of them. Whoever gets it
	// must start at offset 1.
	b := service.AutoRetryNacksBatched(newTestReader(t, c, topic, group, ""))
	connectInput(t, b)
	t.Cleanup(func() { closeInput(t, b) })
	closeInput(t, ain) // a leaves: b owns the partition
	if got := committed(t, c, group, topic, 0); got != 1 {
		t.Fatalf("committed offset after a left: %d; want 1 (m1 was never acknowledged)", got)
	}
	r := readOne(t, b)
	if r.offset() != 1 || r.body() != "m1" {
		t.Fatalf("b read offset %d %q first; want the unacknowledged m1 at offset 1", r.offset(), r.body())
	}
	_ = r.ack(context.Background(), nil)
}

// Messages acknowledged while their partition is being given up (within the
// drain bound) are committed by the member giving it up, so the next owner
// does not read them again.
func TestIntegrationKafkaRebalanceCommitsAcksInFlight(t *testing.T) {
	const topic, group = "drain", "drain_group"
	c := startCluster(t, map[string]int32{topic: 1})
	produce(t, c, topic, 0, "m0", "m1", "m2")
	ra := newTestReader(t, c, topic, group, "")
	releasing := make(chan struct{}, 1)
	ra.onRelease = func(string, int32) {
		select {
		case releasing <- struct{}{}:
		default:
		}
	}
	a := service.AutoRetryNacksBatched(ra)
	connectInput(t, a)
	m0, m1 := readOne(t, a), readOne(t, a)

	b := service.AutoRetryNacksBatched(newTestReader(t, c, topic, group, ""))
	connectInput(t, b)
	t.Cleanup(func() { closeInput(t, b) })
	select {
	case <-releasing: // b's join made a give its partition up
	case <-time.After(30 * time.Second):
		t.Fatal("a never started releasing its partition after b joined")
	}
	_ = m0.ack(context.Background(), nil)
	_ = m1.ack(context.Background(), nil)
	closeInput(t, a)
	if got := committed(t, c, group, topic, 0); got != 2 {
		t.Fatalf("committed offset: %d; want 2 (m0 and m1 were acked during the release)", got)
	}
	r := readOne(t, b)
	if r.offset() != 2 {
		t.Fatalf("b read offset %d first; want 2: acked m0 and m1 must not be read again", r.offset())
	}
	_ = r.ack(context.Background(), nil)
}
