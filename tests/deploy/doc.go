// Package deploy checks the operations files under deploy/: the Grafana
// dashboard and the Prometheus alert rules parse, carry what Grafana and
// Prometheus need, and query only metrics erpsync actually exports (found
// in the plugins' source and in a live scrape of the prometheus exporter).
package deploy
