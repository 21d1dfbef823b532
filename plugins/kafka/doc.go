// Package kafka provides the `kafka` input (a consumer group member that
// commits an offset only after everything before it in its partition was
// acknowledged) and the `kafka` output (a synchronous producer reporting
// failures per message), both on github.com/IBM/sarama.
//
// client.go holds what is Kafka rather than Benthos: the sarama connection
// settings (TLS, SASL with SCRAM), partitioners including the Java client's
// murmur2, and codecs. tracker.go is the per-partition acknowledgement
// tracker. Tests run against an in-process kfake broker.
package kafka
