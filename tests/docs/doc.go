// Package docs runs the user-facing documentation as a new user would:
// every shell block of README.md, CONTRIBUTING.md, config/README.md and
// deploy/README.md, in order, in a copy of the repository. A block that
// needs credentials runs against a sandbox; one that cannot run here says
// why (see TestDocumentedCommands for the markers).
package docs
