// Package core holds what every vendor simulator of the sandbox shares: the
// environment (seed, size, limits, latency), fault injection, answer
// statistics, rate limiters, the deterministic data generator and the source
// datasets whose truth tests compare against.
//
// Vendor simulators (sandbox/jushuitan, sandbox/wdt, ...) receive an *Env and
// return an http.Handler. They never import the project's clients in
// plugins/: the simulator and the client are independent readings of the same
// vendor contract.
package core
