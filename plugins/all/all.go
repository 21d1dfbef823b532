// Package all imports every erpsync plugin package for its side effect of
// registering components with Benthos. The erpsync binary imports this
// package once, so a new plugin package needs one line here:
//
//	_ "github.com/erpsync/erpsync/plugins/<name>"
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
