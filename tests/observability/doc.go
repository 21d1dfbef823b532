// Package observability tests erpsync's operational surface end to end:
// the Prometheus metrics of a sandbox pipeline against what the sandbox saw.
package observability
