// Package bench holds erpsync's benchmarks: each measures a path against a
// baseline measured in the same run (the rate a vendor limit allows, a
// hand-written equivalent). Run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/
//
// and record medians and ratios in bench/RESULTS.md.
package bench
