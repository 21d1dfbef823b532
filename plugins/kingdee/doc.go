// Package kingdee writes to and reads from 金蝶云星空 Kingdee K3Cloud
// through its WebAPI, as described in docs/vendors/k3cloud.md.
//
// client.go and sign.go speak the protocol and know nothing of Benthos: the
// three authentication modes (mode-A HMAC headers on every request,
// LoginBySign, ValidateUser), one session per Client with its own cookie
// jar replaced wholesale on re-authentication, the envelopes and MsgCodes,
// Save / BatchSave / ExecuteBillQuery / View / Submit / Audit with typed
// results, and the rule that a write whose outcome is unknown is never
// repeated by the client.
//
// The Benthos components are the output kingdee_batchsave (idempotent
// BatchSave by document number, per-row results, a pool of sessions) and
// the processor kingdee_query (ExecuteBillQuery lookups with a cache).
package kingdee
