package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	vcs := func(settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}
		for i := 0; i < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	cases := []struct {
		name                  string
		ldVersion, ldDate     string
		bi                    *debug.BuildInfo
		wantVersion, wantDate string
	}{
		{"no build info at all", "", "", nil, "dev", Unknown},
		{"-buildvcs=false, no ldflags", "", "", vcs(), "dev", Unknown},
		{"ldflags win over VCS", "v1.2.3", "2025-06-01T08:00:00Z",
			vcs("vcs.revision", "0123456789abcdef", "vcs.time", "2024-01-02T03:04:05Z"), "v1.2.3", "2025-06-01T08:00:00Z"},
		{"ldflags version, VCS date", "v1.2.3", "",
			vcs("vcs.time", "2024-01-02T11:04:05+08:00"), "v1.2.3", "2024-01-02T03:04:05Z"},
		{"work tree", "", "",
			vcs("vcs.revision", "0123456789abcdef", "vcs.time", "2024-01-02T03:04:05Z", "vcs.modified", "true"), "dev-0123456789ab-dirty", "2024-01-02T03:04:05Z"},
		{"module version", "", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, "v0.4.0", Unknown},
		{"unparsable vcs.time", "", "", vcs("vcs.time", "yesterday"), "dev", Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, d := read(c.ldVersion, c.ldDate, c.bi)
			if v != c.wantVersion || d != c.wantDate {
				t.Fatalf("read = %q, %q; want %q, %q", v, d, c.wantVersion, c.wantDate)
			}
		})
	}
}
