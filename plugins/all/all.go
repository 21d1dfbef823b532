// Package all imports every erpsync plugin package for its side effect of
// registering components with Benthos, and lists what they register. The
// erpsync binary imports this package once, so a new plugin package needs
// one line here:
//
//	_ "github.com/erpsync/erpsync/plugins/<name>"
//
// and each component it registers an entry in Components (all_test.go
// fails until both are there).
package all

import (
	_ "github.com/erpsync/erpsync/plugins/bloblang"
	_ "github.com/erpsync/erpsync/plugins/deadletter"
	_ "github.com/erpsync/erpsync/plugins/jushuitan"
	_ "github.com/erpsync/erpsync/plugins/kafka"
	_ "github.com/erpsync/erpsync/plugins/kingdee"
	_ "github.com/erpsync/erpsync/plugins/kis"
	_ "github.com/erpsync/erpsync/plugins/mysql"
	_ "github.com/erpsync/erpsync/plugins/observe"
	_ "github.com/erpsync/erpsync/plugins/ratelimit"
	_ "github.com/erpsync/erpsync/plugins/state"
	_ "github.com/erpsync/erpsync/plugins/wdt"
	_ "github.com/erpsync/erpsync/plugins/webhook"
	_ "github.com/erpsync/erpsync/plugins/xbb"
	_ "github.com/erpsync/erpsync/plugins/xlsx"
)

// Component is one component erpsync registers with Benthos.
type Component struct {
	// Type is the Benthos component type as configs name it: input, output,
	// processor, cache, rate_limit, metrics, scanner, buffer or tracer; or
	// bloblang_method, bloblang_function.
	Type string
	// Name is the name the component is registered under.
	Name string
}

// Components are the components the packages above register, which
// `erpsync docs` documents. The binary also holds Benthos core components,
// and a Benthos environment does not say which package registered a
// component, so erpsync's own are listed here.
var Components = []Component{
	{"input", "dead_letters"},
	{"input", "jushuitan"},
	{"input", "kafka"},
	{"input", "wdt"},
	{"input", "webhook"},
	{"input", "xbb"},
	{"processor", "kingdee_query"},
	{"output", "dead_letter"},
	{"output", "dead_letter_file"},
	{"output", "dead_letter_resolve"},
	{"output", "dingtalk"},
	{"output", "kafka"},
	{"output", "kingdee_batchsave"},
	{"output", "kis"},
	{"output", "mysql"},
	{"output", "wecom"},
	{"cache", "mysql"},
	{"cache", "state"},
	{"rate_limit", "token_bucket"},
	{"metrics", "prometheus"},
	{"scanner", "xlsx"},
	{"bloblang_method", "cn_datetime"},
	{"bloblang_method", "cn_time"},
	{"bloblang_method", "kd_datetime"},
	{"bloblang_method", "kd_quote"},
	{"bloblang_method", "kd_ref"},
}
