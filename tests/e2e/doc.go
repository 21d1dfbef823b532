// Package e2e runs whole pipelines against the sandbox, an in-process Kafka
// broker (kfake) and the MariaDB of tests/run.sh.
package e2e
