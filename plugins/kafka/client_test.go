package kafka

import (
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

// Vectors from Kafka's own UtilsTest.testMurmur2 (Java client).
func TestMurmur2MatchesJavaClient(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	} {
		if got := Murmur2([]byte(tc.in)); got != tc.want {
			t.Errorf("Murmur2(%q) = %d; want %d", tc.in, got, tc.want)
		}
	}
}

// The murmur2_hash partitioner places a key where Java's default
// partitioner does: (murmur2(key) & 0x7fffffff) % partitions.
func TestMurmur2PartitionerPlacesLikeJava(t *testing.T) {
	ctor, err := NewPartitioner(PartitionerMurmur2)
	if err != nil {
		t.Fatal(err)
	}
	p := ctor("t")
	for _, key := range []string{"21", "foobar", "a-little-bit-long-string", "abc", "SO-20240601-0001", "x"} {
		for _, n := range []int32{1, 3, 4, 12} {
			got, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
			if err != nil {
				t.Fatal(err)
			}
			want := (Murmur2([]byte(key)) & 0x7fffffff) % n
			if got != want {
				t.Errorf("key %q over %d partitions: %d; Java puts it on %d", key, n, got, want)
			}
		}
	}
}

func TestClientConfigSarama(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     ClientConfig
		wantErr string
		check   func(*testing.T, *sarama.Config)
	}{
		{name: "no addresses", cfg: ClientConfig{}, wantErr: "no broker addresses"},
		{name: "plain", cfg: ClientConfig{Addresses: []string{"a:9092"}, ClientID: "x"}, check: func(t *testing.T, c *sarama.Config) {
			if c.ClientID != "x" || c.Net.SASL.Enable || c.Net.TLS.Enable {
				t.Errorf("client id %q sasl %v tls %v", c.ClientID, c.Net.SASL.Enable, c.Net.TLS.Enable)
			}
		}},
		{name: "scram", cfg: ClientConfig{Addresses: []string{"a:9092"}, SASLMechanism: SASLScramSHA512, SASLUser: "u", SASLPassword: "p"}, check: func(t *testing.T, c *sarama.Config) {
			if !c.Net.SASL.Enable || c.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 || c.Net.SASL.SCRAMClientGeneratorFunc == nil {
				t.Errorf("sasl %+v", c.Net.SASL)
			}
		}},
		{name: "sasl without user", cfg: ClientConfig{Addresses: []string{"a:9092"}, SASLMechanism: SASLPlain, SASLPassword: "hunter2-secret"}, wantErr: "needs sasl.user"},
		{name: "unknown mechanism", cfg: ClientConfig{Addresses: []string{"a:9092"}, SASLMechanism: "GSSAPI"}, wantErr: "unknown sasl mechanism"},
		{name: "bad version", cfg: ClientConfig{Addresses: []string{"a:9092"}, TargetVersion: "banana"}, wantErr: "target_version"},
		{name: "version", cfg: ClientConfig{Addresses: []string{"a:9092"}, TargetVersion: "3.6.0"}, check: func(t *testing.T, c *sarama.Config) {
			if c.Version != sarama.V3_6_0_0 {
				t.Errorf("version %v", c.Version)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.cfg.Sarama()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2-secret") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestAddrsSplitsCommas(t *testing.T) {
	got := strings.Join(Addrs([]string{"a:1, b:2", "", "c:3"}), "|")
	if got != "a:1|b:2|c:3" {
		t.Fatalf("Addrs: %q", got)
	}
}
