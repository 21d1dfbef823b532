package deadletter_test

// The components the spec examples use, registered for every test of the
// package (an external test package, because plugins/kis imports this one).
import (
	// erpsync's Bloblang methods (kd_datetime).
	_ "github.com/erpsync/erpsync/plugins/bloblang"
	// The kis output of the replay examples.
	_ "github.com/erpsync/erpsync/plugins/kis"
	// The ledger of the examples is a state cache.
	_ "github.com/erpsync/erpsync/plugins/state"
)
