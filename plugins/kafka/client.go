package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms understood by ClientConfig.
const (
	SASLNone        = "none"
	SASLPlain       = "PLAIN"
	SASLOAuthBearer = "OAUTHBEARER"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// ClientConfig is what every connection to the cluster needs, producer or
// consumer.
type ClientConfig struct {
	Addresses     []string
	ClientID      string
	TargetVersion string      // e.g. "2.1.0"; empty keeps sarama's default
	TLS           *tls.Config // nil: plaintext
	SASLMechanism string      // one of the SASL* constants; empty means none
	SASLUser      string
	SASLPassword  string
	RackID        string
	// SASLToken returns the OAUTHBEARER access token on every (re)connect.
	SASLToken func() (string, error)
}

// Addrs splits comma-separated entries, so both [a, b] and ["a,b"] work.
func Addrs(in []string) []string {
	var out []string
	for _, a := range in {
		for _, s := range strings.Split(a, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// Sarama returns a sarama configuration with the connection settings
// applied; callers add their producer or consumer settings.
func (c ClientConfig) Sarama() (*sarama.Config, error) {
	if len(Addrs(c.Addresses)) == 0 {
		return nil, errors.New("kafka: no broker addresses: set addresses to at least one host:port")
	}
	conf := sarama.NewConfig()
	if c.ClientID != "" {
		conf.ClientID = c.ClientID
	}
	if c.TargetVersion != "" {
		v, err := sarama.ParseKafkaVersion(c.TargetVersion)
		if err != nil {
			return nil, fmt.Errorf("kafka: target_version %q: %w", c.TargetVersion, err)
		}
		conf.Version = v
	}
	conf.RackID = c.RackID
	if c.TLS != nil {
		conf.Net.TLS.Enable = true
		conf.Net.TLS.Config = c.TLS
	}
	switch c.SASLMechanism {
	case "", SASLNone:
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if c.SASLUser == "" {
			return nil, fmt.Errorf("kafka: sasl mechanism %s needs sasl.user", c.SASLMechanism)
		}
		conf.Net.SASL.Enable = true
		conf.Net.SASL.Handshake = true
		conf.Net.SASL.User = c.SASLUser
		conf.Net.SASL.Password = c.SASLPassword
		conf.Net.SASL.Mechanism = sarama.SASLMechanism(c.SASLMechanism)
		if c.SASLMechanism != SASLPlain {
			mech := c.SASLMechanism
			conf.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{mechanism: mech} }
		}
	case SASLOAuthBearer:
		if c.SASLToken == nil {
			return nil, errors.New("kafka: sasl mechanism OAUTHBEARER needs sasl.access_token or sasl.token_cache")
		}
		conf.Net.SASL.Enable = true
		conf.Net.SASL.Handshake = true
		conf.Net.SASL.Mechanism = sarama.SASLTypeOAuth
		conf.Net.SASL.TokenProvider = tokenProvider(c.SASLToken)
	default:
		return nil, fmt.Errorf("kafka: unknown sasl mechanism %q: use none, PLAIN, OAUTHBEARER, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASLMechanism)
	}
	return conf, nil
}

// tokenProvider gives sarama the OAUTHBEARER token.
type tokenProvider func() (string, error)

func (f tokenProvider) Token() (*sarama.AccessToken, error) {
	tok, err := f()
	if err != nil {
		return nil, fmt.Errorf("kafka: OAUTHBEARER token: %w", err)
	}
	return &sarama.AccessToken{Token: tok}, nil
}

// scramClient adapts franz-go's RFC 5802 SCRAM implementation to sarama's
// SCRAMClient, so no hand-written SCRAM lives here.
type scramClient struct {
	mechanism string
	session   sasl.Session
	first     []byte
	sentFirst bool
	done      bool
}

func (s *scramClient) Begin(user, password, authzID string) error {
	auth := scram.Auth{Zid: authzID, User: user, Pass: password}
	m := auth.AsSha256Mechanism()
	if s.mechanism == SASLScramSHA512 {
		m = auth.AsSha512Mechanism()
	}
	sess, first, err := m.Authenticate(context.Background(), "")
	if err != nil {
		return fmt.Errorf("kafka: %s: %w", s.mechanism, err)
	}
	s.session, s.first = sess, first
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) {
	if !s.sentFirst {
		s.sentFirst = true
		return string(s.first), nil
	}
	done, resp, err := s.session.Challenge([]byte(challenge))
	if err != nil {
		return "", fmt.Errorf("kafka: %s: %w", s.mechanism, err)
	}
	s.done = done
	return string(resp), nil
}

func (s *scramClient) Done() bool { return s.done }

// Partitioners understood by NewPartitioner; the names are Redpanda
// Connect's.
const (
	PartitionerFNV1a      = "fnv1a_hash"
	PartitionerMurmur2    = "murmur2_hash"
	PartitionerRandom     = "random"
	PartitionerRoundRobin = "round_robin"
	PartitionerManual     = "manual"
)

// NewPartitioner returns the sarama partitioner constructor for name.
func NewPartitioner(name string) (sarama.PartitionerConstructor, error) {
	switch name {
	case PartitionerFNV1a:
		return sarama.NewHashPartitioner, nil
	case PartitionerMurmur2:
		return sarama.NewCustomHashPartitioner(newMurmur2), nil
	case PartitionerRandom:
		return sarama.NewRandomPartitioner, nil
	case PartitionerRoundRobin:
		return sarama.NewRoundRobinPartitioner, nil
	case PartitionerManual:
		return sarama.NewManualPartitioner, nil
	}
	return nil, fmt.Errorf("kafka: unknown partitioner %q: use fnv1a_hash, murmur2_hash, random, round_robin or manual", name)
}

// Compression maps a codec name to sarama's.
func Compression(name string) (sarama.CompressionCodec, error) {
	switch name {
	case "none":
		return sarama.CompressionNone, nil
	case "snappy":
		return sarama.CompressionSnappy, nil
	case "lz4":
		return sarama.CompressionLZ4, nil
	case "gzip":
		return sarama.CompressionGZIP, nil
	case "zstd":
		return sarama.CompressionZSTD, nil
	}
	return sarama.CompressionNone, fmt.Errorf("kafka: unknown compression %q: use none, snappy, lz4, gzip or zstd", name)
}

// Murmur2 is the 32-bit murmur2 hash of Kafka's Java client
// (org.apache.kafka.common.utils.Utils.murmur2, seed 0x9747b28c), whose
// default partitioner places a keyed record on
// (Murmur2(key) & 0x7fffffff) % partitions. Sarama ships no murmur2, and
// only this exact function lets erpsync share partitions with Java
// producers of the same keys.
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[n&^3:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// murmur2Hash exposes Murmur2 as a hash.Hash32 for
// sarama.NewCustomHashPartitioner. Sarama takes Sum32 as a signed int32 and
// its absolute value modulo the partition count, whereas Java masks the sign
// bit, so Sum32 returns the masked value: both then agree.
type murmur2Hash struct{ buf []byte }

func newMurmur2() hash.Hash32 { return &murmur2Hash{} }

func (h *murmur2Hash) Write(p []byte) (int, error) { h.buf = append(h.buf, p...); return len(p), nil }
func (h *murmur2Hash) Sum(b []byte) []byte {
	v := h.Sum32()
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
func (h *murmur2Hash) Reset()         { h.buf = h.buf[:0] }
func (h *murmur2Hash) Size() int      { return 4 }
func (h *murmur2Hash) BlockSize() int { return 4 }
func (h *murmur2Hash) Sum32() uint32  { return uint32(Murmur2(h.buf)) & 0x7fffffff }

// jitter spreads reconnect attempts of several consumers.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
