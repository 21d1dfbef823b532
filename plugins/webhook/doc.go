// Package webhook receives signed vendor push notifications over HTTP: the
// erpsync input `webhook` (input_webhook.go).
//
// The request contract (what a sender implements):
//
//	POST <path>                body: the event, JSON
//	X-Erpsync-Timestamp:       Unix seconds
//	X-Erpsync-Signature:       hex(HMAC-SHA256(secret, timestamp + "." + body))
//
// Answers, all JSON {"code": ..., "msg": ...}: 202 accepted (with
// "event_id"); 401 bad or missing signature, or a timestamp further than the
// allowed skew from the receiver's clock; 409 a request already accepted
// (replay); 400 a body that is not JSON; 413 a body over the size limit;
// 405 a method other than POST; 503 the event could not be recorded or
// handed to the stream, to be retried.
//
// The receiver is built so that a request it refuses costs little: a
// Content-Length over the limit, a missing or malformed signature and a
// stale timestamp are refused from the headers, before a byte of the body
// is read; a body is read at most up to the limit, through the HMAC as it
// arrives, so an unsigned or oversized request holds no more than the limit
// in memory.
//
// A signature is accepted once: the replay window (every request accepted
// within the allowed skew) is kept in a ReplayStore, by default a FileStore,
// an append-only file that survives a crash or restart of the process and
// is compacted as entries age out, or in a cache resource (a `mysql` cache
// shared by several replicas).
//
// receiver.go and replay.go speak HTTP and files and know nothing of
// Benthos; input_webhook.go is the Benthos glue.
package webhook
