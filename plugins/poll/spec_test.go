package poll

import (
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func TestParseOptionsWindowOnlyWhenConfigured(t *testing.T) {
	lim := VendorLimits{MaxSpan: 7 * 24 * time.Hour, DefaultSpan: 24 * time.Hour, MaxPageSize: 50}
	spec := service.NewConfigSpec().Fields(Fields("api", "params", lim)...)
	tests := []struct {
		name, yaml string
		window     *WindowConfig
		wantErr    bool
	}{
		{"absent window is a full read", "api: shops\n", nil, false},
		{"empty window takes every default", "api: x\nwindow: {}\n", &WindowConfig{MaxSpan: 24 * time.Hour, Lookback: 10 * time.Minute, Lag: time.Minute}, false},
		{"explicit fields", "api: x\nwindow:\n  max_span: 2h\n  lookback: 0s\n  lag: 5s\n  start: 2024-06-01T00:00:00+08:00\n",
			&WindowConfig{MaxSpan: 2 * time.Hour, Lag: 5 * time.Second, Start: time.Date(2024, 6, 1, 0, 0, 0, 0, time.FixedZone("", 8*3600))}, false},
		{"span above the vendor maximum", "api: x\nwindow:\n  max_span: 200h\n", nil, true},
		{"bad start", "api: x\nwindow:\n  start: yesterday\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := spec.ParseYAML(tt.yaml, nil)
			if err != nil {
				t.Fatal(err)
			}
			o, err := ParseOptions(conf, "v", lim)
			if tt.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (o.Window == nil) != (tt.window == nil) {
				t.Fatalf("window %+v, want %+v", o.Window, tt.window)
			}
			if tt.window == nil {
				return
			}
			w := *o.Window
			if w.MaxSpan != tt.window.MaxSpan || w.Lookback != tt.window.Lookback || w.Lag != tt.window.Lag {
				t.Fatalf("window %+v, want %+v", w, tt.window)
			}
			if !tt.window.Start.IsZero() && !w.Start.Equal(tt.window.Start) {
				t.Fatalf("start %v, want %v", w.Start, tt.window.Start)
			}
		})
	}
}
