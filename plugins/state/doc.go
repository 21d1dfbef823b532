// Package state is the `state` cache: erpsync's local state (poll
// checkpoints, renewed vendor tokens, write ledgers) kept one file per key
// in a directory, as Benthos's core `file` cache does, but written the way
// credentials must be: each value goes to a temporary file in the same
// directory, is synced and renamed over the old one (so a reader or a crash
// never sees half a value), files are 0600 and a directory it creates 0700.
//
// The file layout is the core cache's (the key is the file name, the value
// its bytes), so a directory the `file` cache wrote is read as it is and
// switching a resource from `file:` to `state:` needs no migration.
package state
