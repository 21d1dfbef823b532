// Package buildinfo tells which erpsync this binary is.
package buildinfo

import (
	"runtime/debug"
	"time"
)

// Version may be set at link time (-ldflags "-X github.com/erpsync/erpsync/internal/buildinfo.Version=v1.2.3");
// otherwise it is read from the Go build information.
var Version = ""

// Read returns the version and build date of the running binary. A binary
// built from a module version reports that version; one built from a work
// tree reports "dev" plus the VCS revision when Go recorded it.
func Read() (version, date string) {
	version, date = Version, ""
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if version == "" {
			version = "dev"
		}
		return version, date
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				date = t.UTC().Format(time.RFC3339)
			}
		case "vcs.modified":
			modified = s.Value
		}
	}
	if version != "" {
		return version, date
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v, date
	}
	version = "dev"
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		version += "-" + rev
		if modified == "true" {
			version += "-dirty"
		}
	}
	return version, date
}
