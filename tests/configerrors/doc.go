// Package configerrors runs the erpsync binary with configurations that
// cannot work and checks that the user is told so, in the user's words:
// the process exits 1 (never reconnects or retries forever, never exits 0
// having done nothing useful), and its output names the config field or
// the environment variable of the shipped config, and, for a vendor's
// answer, the vendor, the interface, the code and the message — never a Go
// field name or a secret. It also checks that state which cannot be stored
// (a checkpoint, a ledger entry) stops the stream before it reads further.
//
// The vendors are the sandbox, started in the test process; the binary is
// $ERPSYNC_BIN or built once (internal/erpsynctest). MariaDB at MYSQL_DSN
// is needed by the MySQL stream's case.
package configerrors
