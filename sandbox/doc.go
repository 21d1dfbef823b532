// Package sandbox serves faithful simulators of every vendor API erpsync
// talks to — 聚水潭 Jushuitan, 旺店通 WDT (openapi2 and 奇门 Qimen), 销帮帮 XBB,
// 金蝶云星空 K3Cloud and 金蝶KIS — on one listener at their real paths, with
// fault injection and introspection for tests.
//
// `erpsync sandbox` runs it from the command line; tests, the demo and the
// benchmarks start one in-process with Start:
//
//	sb, err := sandbox.Start(sandbox.DefaultOptions()) // a free port on 127.0.0.1
//	defer sb.Close()
//	url := sb.URL()
//
// Besides the vendor paths it answers:
//
//	GET  /_sandbox/faults             the faults in force
//	POST /_sandbox/faults             change faults: a JSON object with any of error_rate,
//	                                  timeout_rate, token_ttl, session_ttl, mutate_rate, row_fail_rate
//	GET  /_sandbox/stats              answers by vendor, interface and code; documents per target
//	GET  /_sandbox/source/{dataset}   the source truth, mutations included
//	GET  /_sandbox/k3cloud/{FormId}   what was written to a K3Cloud form
//	GET  /_sandbox/kis/bills          what was written to KIS
//	POST /_sandbox/reset              back to the initial state
package sandbox
