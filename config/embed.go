// Package config embeds the shipped stream configs and shared resources
// (the YAML files beside this one), so the erpsync binary can run them
// without the source tree (`erpsync demo`).
package config

import "embed"

// FS holds streams/*.yaml and resources/*.yaml.
//
//go:embed streams/*.yaml resources/*.yaml
var FS embed.FS
