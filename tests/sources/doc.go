// Package sources holds the reliability tests of the vendor inputs
// (jushuitan, wdt, xbb) against the sandbox: drift while paging,
// kill-and-restart on a shared checkpoint, nacks, token expiry and shared
// rate limits.
package sources
