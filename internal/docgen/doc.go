// Package docgen renders Markdown reference pages of Benthos components and
// Bloblang methods and functions from their specs, so that the spec written
// in a plugin's code is the only place its documentation lives: `erpsync
// docs` writes the pages of erpsync's own components to docs/components and
// checks that the committed ones are current.
//
// A component page holds the summary and description, the common and the
// full config, every field (type, default or "required", advanced, secret,
// options and examples, object fields as dotted paths) and the spec's
// examples. Specs are read through the Benthos public API
// (service.Environment, bloblang.Environment); the field tree comes from
// ConfigView.FormatJSON, the one view that says which fields are advanced
// or optional.
package docgen
