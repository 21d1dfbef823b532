package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kfake"
)

const (
	benchBatch = 100
	benchBytes = 256
)

// BenchmarkKafkaOutput writes batches of 100 keyed 256-byte messages (one
// header each) with the kafka output, and the same batches with a bare
// sarama SyncProducer (the baseline), into one in-process broker that
// acknowledges without storing. Compare msgs/s of the two sub-benchmarks.
//
//	go test ./plugins/kafka/ -run '^$' -bench BenchmarkKafkaOutput -count 5
func BenchmarkKafkaOutput(b *testing.B) {
	const topic = "bench"
	c := startCluster(b, map[string]int32{topic: 4}, kfake.BlackholeProduce())
	value := []byte(strings.Repeat("x", benchBytes))
	keys := make([]string, benchBatch)
	for i := range keys {
		keys[i] = fmt.Sprintf("SO-%06d", i)
	}

	b.Run("output", func(b *testing.B) {
		w := newTestWriter(b, c, "topic: "+topic+"\n")
		batch := make(service.MessageBatch, benchBatch)
		for i := range batch {
			batch[i] = service.NewMessage(value)
			batch[i].MetaSetMut("source_id", keys[i])
		}
		ctx := context.Background()
		b.ResetTimer()
		for range b.N {
			if err := w.WriteBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "msgs/s")
	})

	b.Run("sarama", func(b *testing.B) {
		conf := sarama.NewConfig()
		conf.ClientID = "erpsync"
		conf.Producer.Return.Successes = true
		conf.Producer.MaxMessageBytes = 1000000
		p, err := sarama.NewSyncProducer(c.ListenAddrs(), conf)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Close() })
		b.ResetTimer()
		for range b.N {
			msgs := make([]*sarama.ProducerMessage, benchBatch)
			for i := range msgs {
				msgs[i] = &sarama.ProducerMessage{
					Topic:   topic,
					Key:     sarama.StringEncoder(keys[i]),
					Value:   sarama.ByteEncoder(value),
					Headers: []sarama.RecordHeader{{Key: []byte("source_id"), Value: []byte(keys[i])}},
				}
			}
			if err := p.SendMessages(msgs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "msgs/s")
	})
}
