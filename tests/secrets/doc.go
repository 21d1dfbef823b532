// Package secrets tests erpsync's secret hygiene end to end: every
// credential field of every component is marked secret in its spec,
// `erpsync echo` scrubs the credentials of every shipped config, and the
// debug-level logs of full sandbox runs (faults on, so error and renewal
// paths log too) hold none of the credentials, tokens, sessions or
// signatures that passed over the wire.
package secrets
