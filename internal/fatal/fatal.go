// Package fatal stops the whole erpsync process with an error any component
// can raise: a vendor answer that only a change of configuration can cure
// (a missing parameter, an unknown account or form, refused credentials),
// a checkpoint or ledger that cannot be stored, an access token that
// expired with nothing to renew it. Benthos itself knows only errors to
// retry: an output whose Connect fails is reconnected forever and a
// failed cache write is at most logged, so without this the process runs
// on, doing nothing useful or re-reading the same data after every
// restart, and exits 0.
//
// A component calls Stop with an error in the user's words (the config
// field or environment variable, the vendor, interface, code and message)
// and then refuses to make progress: an input ends, an output returns
// service.ErrNotConnected so that its messages stay unacknowledged (never
// handed to a fallback tier, never acknowledged, so checkpoints do not
// advance). Stop cancels the run context cmd/erpsync gave
// service.RunCLIToCode (see SetCancel), Benthos shuts the streams down,
// and cmd/erpsync prints every error of Errs and exits 1.
//
// Outside the binary (unit tests, `erpsync sandbox`) no cancel function is
// set and Stop only records the error.
package fatal

import (
	"context"
	"sync"
)

var (
	mu     sync.Mutex
	errs   []error
	cancel context.CancelFunc
)

// SetCancel installs the function Stop calls to end the run: the cancel
// function of the context passed to service.RunCLIToCode.
func SetCancel(f context.CancelFunc) {
	mu.Lock()
	defer mu.Unlock()
	cancel = f
}

// Stop records err as a reason the process fails and ends the run. An
// error equal in text to one already recorded is recorded once (several
// writers in flight often hit the same cause).
func Stop(err error) {
	if err == nil {
		return
	}
	mu.Lock()
	dup := false
	for _, e := range errs {
		if e.Error() == err.Error() {
			dup = true
			break
		}
	}
	if !dup {
		errs = append(errs, err)
	}
	c := cancel
	mu.Unlock()
	if c != nil {
		c()
	}
}

// Err returns the first error recorded, or nil.
func Err() error {
	mu.Lock()
	defer mu.Unlock()
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// Errs returns every error recorded, in order.
func Errs() []error {
	mu.Lock()
	defer mu.Unlock()
	return append([]error(nil), errs...)
}

// Stopped reports whether Stop was called.
func Stopped() bool { return Err() != nil }

// Reset forgets the recorded errors and the cancel function (tests).
func Reset() {
	mu.Lock()
	defer mu.Unlock()
	errs, cancel = nil, nil
}

// Latch is one component's stop: the first error it stopped with, logged
// once and passed to Stop. Later calls keep answering the first error, so
// the component's Connect and Write fail with it until shutdown.
type Latch struct {
	mu  sync.Mutex
	err error
}

// Stop records err unless the latch already holds an error, logs it once
// through log (may be nil) and stops the process; it returns the first error.
func (l *Latch) Stop(log interface{ Errorf(string, ...any) }, err error) error {
	l.mu.Lock()
	if l.err == nil {
		l.err = err
		if log != nil {
			log.Errorf("%v; stopping", err)
		}
	}
	err = l.err
	l.mu.Unlock()
	Stop(err)
	return err
}

// Err is the error the latch stopped with, or nil.
func (l *Latch) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
