// Package buildinfo tells which erpsync this binary is.
package buildinfo

import (
	"runtime/debug"
	"time"
)

// Version and Date may be set at link time:
//
//	-ldflags "-X github.com/erpsync/erpsync/internal/buildinfo.Version=v1.2.3
//	          -X github.com/erpsync/erpsync/internal/buildinfo.Date=2025-06-01T08:00:00Z"
//
// otherwise they are read from the Go build information.
var (
	Version = ""
	Date    = ""
)

// Unknown is the date of a binary that carries none: built without
// -ldflags and without VCS stamping (-buildvcs=false, or no .git in the build
// context, as in a container build).
const Unknown = "unknown"

// Read returns the version and build date of the running binary; neither is
// ever empty. A binary built from a module version reports that version; one
// built from a work tree reports "dev" plus the VCS revision when Go recorded
// it. The date is Date when set at link time, else the commit time Go
// recorded (vcs.time), else Unknown.
func Read() (version, date string) {
	bi, _ := debug.ReadBuildInfo()
	return read(Version, Date, bi)
}

func read(ldVersion, ldDate string, bi *debug.BuildInfo) (version, date string) {
	version, date = ldVersion, ldDate
	var rev, modified, vcsTime string
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					vcsTime = t.UTC().Format(time.RFC3339)
				}
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	if date == "" {
		date = vcsTime
	}
	if date == "" {
		date = Unknown
	}
	if version != "" {
		return version, date
	}
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version, date
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
