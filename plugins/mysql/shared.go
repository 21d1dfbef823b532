package mysql

import (
	"context"
	"time"
)

// What other erpsync packages that keep their own tables (plugins/deadletter)
// share with this one, so that MySQL error classification and password
// scrubbing stay in one place.

// Retry runs op until it succeeds, fails with an error that retrying cannot
// heal, has been retried p.MaxRetries times or ctx ends, and returns op's
// last error. Deadlocks (1213), lock-wait timeouts (1205), lost connections
// and server restarts are retried after p's backoff; onRetry (optional)
// hears each retry.
func Retry(ctx context.Context, p RetryPolicy, onRetry func(err error, attempt int, wait time.Duration), op func() error) error {
	return retrying(ctx, p, onRetry, op)
}

// IsTransient reports whether err is a failure that the same statement may
// not meet again: a deadlock, a lock-wait timeout, a lost connection, a
// server restarting or read-only for a moment.
func IsTransient(err error) bool { return classify(err) == classTransient }

// Scrub returns err with the DSN's password removed from its text; errors.Is
// and errors.As still see the original error.
func (d *DB) Scrub(err error) error { return d.scrub(err) }
