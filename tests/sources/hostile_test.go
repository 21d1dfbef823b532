package sources

import (
	"fmt"
	"strings"
	"testing"

	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
	"github.com/erpsync/erpsync/sandbox/core"
)

// pageSize shrinks a source's page so that windows span several pages and
// page-level faults have pages to strike.
func pageSize(in string, n int) string {
	for _, from := range []string{"page_size: 50\n"} {
		in = strings.Replace(in, from, fmt.Sprintf("page_size: %d\n", n), 1)
	}
	return in
}

// hostile is every answer fault of the sandbox at once, each on one page
// in twenty: together about one answer in five is wrong in some way.
func hostile(order string) core.AnswerFaults {
	return core.AnswerFaults{Order: order, NullRate: 0.05, TotalDriftRate: 0.05, DuplicateRate: 0.05, ShortPageRate: 0.05, ModifiedAfterCreate: 0.05}
}

// TestIntegrationHostileAnswersLoseNothing: every polling input, against a
// sandbox answering in every order the vendors might, with null lists,
// totals that move, rows repeated across pages, pages cut short, modified
// times hours after the filter field, and documents changing while they
// are paged: every document arrives, with the latest version a reader of
// that interface can see.
func TestIntegrationHostileAnswersLoseNothing(t *testing.T) {
	for _, src := range []source{jstInOut, jstSkusn, xbbProducts} {
		for _, order := range []string{"desc", "id_desc", "id_asc", "random", "asc"} {
			t.Run(src.dataset+"/"+order, func(t *testing.T) {
				t.Parallel()
				sb := streamtest.StartSandbox(t, 200, noLimits, func(o *sandbox.Options) {
					o.Faults = core.Faults{MutateRate: 0.2, Answers: hostile(order)}
				})
				dir := t.TempDir()
				start := windowStart()
				in := pageSize(src.input(sb.URL(), start, ""), 10)
				got := streamtest.RunInput(t, in, fileCache(dir))
				f := sb.Env().Faults()
				f.MutateRate = 0
				if err := sb.SetFaults(f); err != nil {
					t.Fatal(err)
				}
				got.Merge(streamtest.RunInput(t, in, fileCache(dir)))
				streamtest.LatestIsTruth(t, sb, src.dataset, got)
				dealt := 0
				for _, kinds := range sb.Stats().Faults {
					for _, k := range kinds {
						for _, n := range k {
							dealt += n
						}
					}
				}
				if dealt == 0 {
					t.Fatal("no answer fault was dealt")
				}
			})
		}
	}
}

// TestIntegrationHostileFullRead: a full read (WDT shops) under every
// answer fault delivers every shop.
func TestIntegrationHostileFullRead(t *testing.T) {
	shops := func(url string) string {
		return fmt.Sprintf(`wdt:
  base_url: %s
  sid: sandbox-wdt-sid
  appkey: sandbox-wdt-key
  appsecret: sandbox-wdt-secret
  api: shop.php
  page_size: 10
  stop_when_caught_up: true
`, url)
	}
	clean := streamtest.StartSandbox(t, 300, noLimits)
	want := streamtest.RunInput(t, shops(clean.URL()))
	if len(want.Count) < 200 {
		t.Fatalf("the clean read delivered %d shops", len(want.Count))
	}
	for _, order := range []string{"desc", "random", "id_asc"} {
		t.Run(order, func(t *testing.T) {
			t.Parallel()
			sb := streamtest.StartSandbox(t, 300, noLimits, func(o *sandbox.Options) {
				o.Faults = core.Faults{Answers: hostile(order)}
			})
			got := streamtest.RunInput(t, shops(sb.URL()))
			for id := range want.Count {
				if got.Count[id] == 0 {
					t.Fatalf("shop %s never delivered (%d of %d delivered)", id, len(got.Count), len(want.Count))
				}
			}
			if len(got.Count) != len(want.Count) {
				t.Fatalf("%d shops delivered, the clean read has %d", len(got.Count), len(want.Count))
			}
		})
	}
}

// The three losses found with an impersonating vendor, each now a sandbox
// fault: answers in descending order, unique-code flows modified hours
// after their create_time (the window filters on create_time), and a
// code-0 answer with data null in the middle of a read.
func TestIntegrationFoundLosses(t *testing.T) {
	t.Run("descending order", func(t *testing.T) {
		t.Parallel()
		sb := streamtest.StartSandbox(t, 300, noLimits, func(o *sandbox.Options) {
			o.Faults = core.Faults{Answers: core.AnswerFaults{Order: "id_desc"}}
		})
		streamtest.ExactlyOnce(t, sb, jstInOut.dataset, streamtest.RunInput(t, jstInOut.input(sb.URL(), windowStart(), "    lookback: 0s\n")))
	})
	t.Run("modified hours after the window's create_time", func(t *testing.T) {
		t.Parallel()
		sb := streamtest.StartSandbox(t, 3000, noLimits, func(o *sandbox.Options) {
			o.Faults = core.Faults{Answers: core.AnswerFaults{ModifiedAfterCreate: 0.01}}
		})
		got := streamtest.RunInput(t, jstSkusn.input(sb.URL(), windowStart(), "    lookback: 0s\n"))
		streamtest.ExactlyOnce(t, sb, jstSkusn.dataset, got)
		later := 0
		for _, d := range sb.Env().Dataset(jstSkusn.dataset).Truth() {
			if d.Modified != d.Created {
				later++
			}
		}
		if later < 10 {
			t.Fatalf("only %d flows modified after their create_time: the fault was not exercised", later)
		}
	})
	t.Run("data null mid-read", func(t *testing.T) {
		t.Parallel()
		sb := streamtest.StartSandbox(t, 300, noLimits, func(o *sandbox.Options) {
			o.Faults = core.Faults{Interfaces: map[string]core.AnswerFaults{jstInOut.dataset: {NullRate: 0.3}}}
		})
		in := pageSize(jstInOut.input(sb.URL(), windowStart(), "    lookback: 0s\n"), 10)
		got := streamtest.RunInput(t, in+"  backoff:\n    initial_interval: 10ms\n    max_interval: 10ms\n  max_retries: 20\n")
		streamtest.ExactlyOnce(t, sb, jstInOut.dataset, got)
		if n := sb.Stats().Faults["jushuitan"]["/open/other/inout/query"]["null"]; n == 0 {
			t.Fatal("no null answer was served")
		}
	})
}
