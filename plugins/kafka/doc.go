// Package kafka provides the `kafka` input (a consumer group member, or a
// reader of explicit partitions, that commits an offset only after
// everything before it in its partition was acknowledged) and the `kafka`
// output (a synchronous producer retrying and reporting failures per
// message), both on github.com/IBM/sarama.
//
// Their fields are those of Redpanda Connect's sarama-based `kafka`
// components, with Connect's meaning, defaults and metadata types, so that a
// Connect config lints and runs unchanged (testdata/connect holds examples
// from Connect's documentation that the tests lint). The deliberate
// differences are the defaults of client_id (erpsync) and of the output's
// key (the source_id metadata); max_message_bytes stays as the old name of
// max_msg_bytes. No Connect code is used: only its documented behaviour.
//
// client.go holds what is Kafka rather than Benthos: the sarama connection
// settings (TLS, SASL with SCRAM), partitioners including the Java client's
// murmur2, and codecs. tracker.go is the per-partition acknowledgement
// tracker. Tests run against an in-process kfake broker.
package kafka
