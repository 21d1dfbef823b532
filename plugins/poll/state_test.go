package poll

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// TestSaveStateKeepsAWholeCopy: whichever of its two writes a kill cuts
// short, the value read back is whole, and a reset (deleting the key) is
// honoured.
func TestSaveStateKeepsAWholeCopy(t *testing.T) {
	const old, cur = "2024-06-01T00:00:00Z", "2024-06-02T00:00:00Z"
	for _, tc := range []struct {
		name          string
		key, spare    *string // nil: absent
		want          string
		found, torn   bool
		errorContains string
	}{
		{name: "saved", key: ptr(cur), spare: ptr(cur), want: cur, found: true},
		{name: "killed writing the spare", key: ptr(old), spare: ptr(""), want: old, found: true},
		{name: "killed writing the key", key: ptr(""), spare: ptr(cur), want: cur, found: true, torn: true},
		{name: "written before spares existed", key: ptr(old), want: old, found: true},
		{name: "never saved", found: false},
		{name: "first save killed before the key", spare: ptr(cur), found: false},
		{name: "key deleted by an operator", spare: ptr(old), found: false},
		{name: "both broken", key: ptr("garbage"), spare: ptr(""), found: true, torn: true, errorContains: `"fake" is broken`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			res := service.MockResources(service.MockResourcesOptAddCache("cp"))
			set := func(k string, v *string) {
				if v == nil {
					return
				}
				if err := res.AccessCache(ctx, "cp", func(c service.Cache) {
					if err := c.Set(ctx, k, []byte(*v), nil); err != nil {
						t.Fatal(err)
					}
				}); err != nil {
					t.Fatal(err)
				}
			}
			set("fake", tc.key)
			set("fake"+SpareSuffix, tc.spare)
			e := New(nil, Options{CheckpointCache: "cp", CheckpointKey: "fake"}, res)
			got, found, err := e.loadCheckpoint(ctx)
			switch {
			case tc.errorContains != "":
				if err == nil || !strings.Contains(err.Error(), tc.errorContains) {
					t.Fatalf("error %v, want it to contain %s", err, tc.errorContains)
				}
				return
			case err != nil:
				t.Fatal(err)
			case found != tc.found:
				t.Fatalf("found %v, want %v", found, tc.found)
			case found && got.Format(time.RFC3339) != tc.want:
				t.Fatalf("checkpoint %s, want %s", got.Format(time.RFC3339), tc.want)
			}
			_, _, torn, _ := LoadState(ctx, res, "cp", "fake", func(b []byte) error {
				if _, err := time.Parse(time.RFC3339, string(b)); err != nil {
					return errors.New("not a time")
				}
				return nil
			})
			if torn != tc.torn {
				t.Fatalf("torn %v, want %v", torn, tc.torn)
			}
		})
	}
}

// TestStoreCheckpointWritesBothCopies: both copies hold the stored
// checkpoint afterwards.
func TestStoreCheckpointWritesBothCopies(t *testing.T) {
	ctx := context.Background()
	res := service.MockResources(service.MockResourcesOptAddCache("cp"))
	e := New(nil, Options{CheckpointCache: "cp", CheckpointKey: "fake"}, res)
	cp := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	e.storeCheckpoint(ctx, cp, false)
	for _, k := range []string{"fake", "fake" + SpareSuffix} {
		var raw []byte
		var gerr error
		if err := res.AccessCache(ctx, "cp", func(c service.Cache) { raw, gerr = c.Get(ctx, k) }); err != nil || gerr != nil {
			t.Fatalf("%s: %v %v", k, err, gerr)
		}
		if string(raw) != "2024-06-01T00:00:00Z" {
			t.Fatalf("%s holds %q", k, raw)
		}
	}
}

func ptr(s string) *string { return &s }
