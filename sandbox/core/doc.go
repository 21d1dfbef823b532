// Package core holds what every vendor simulator of the sandbox shares: the
// environment (seed, size, limits, latency), fault injection, answer
// statistics, rate limiters, the deterministic data generator and the source
// datasets whose truth tests compare against.
//
// Fault injection has three layers: transport faults (Env.Wrap: error_rate,
// timeout_rate), data faults (Env.MaybeMutate: mutate_rate; row_fail_rate)
// and answer faults of list interfaces (AnswerFaults, per interface through
// Faults.Interfaces). A list simulator applies the last ones with
// Env.NewPage before reading a page and Page.Cut after, and with Arrange
// when the order is not the documented one; documents it renders into an
// answer are recorded with Dataset.MarkServed. All answer faults are
// simulations, not vendor behaviour.
//
// Vendor simulators (sandbox/jushuitan, sandbox/wdt, ...) receive an *Env and
// return an http.Handler. They never import the project's clients in
// plugins/: the simulator and the client are independent readings of the same
// vendor contract.
package core
