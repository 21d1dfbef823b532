package kingdee

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/sandbox"
)

// runQuery sends inputs (JSON documents, one message each, one batch each)
// through a kingdee_query processor and returns the messages that came out.
func runQuery(t *testing.T, procYAML string, inputs []string) []*service.Message {
	t.Helper()
	b := service.NewStreamBuilder()
	if err := b.SetLoggerYAML("level: " + logLevel); err != nil {
		t.Fatal(err)
	}
	if err := b.AddCacheYAML("label: k3_lookups\nmemory:\n  default_ttl: 5m"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddProcessorYAML(procYAML); err != nil {
		t.Fatalf("processor config: %v\n%s", err, procYAML)
	}
	produce, err := b.AddProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out []*service.Message
	if err := b.AddConsumerFunc(func(_ context.Context, m *service.Message) error {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for _, in := range inputs {
		if err := produce(ctx, service.NewMessage([]byte(in))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	return out
}

func queryYAML(sb *sandbox.Server, mode, extra string) string {
	return fmt.Sprintf(`kingdee_query:
  url: %s
  %s
  form_id: BD_MATERIAL
  field_keys: [FNumber, FName, FMATERIALID]
  filter: FNumber = '${! this.sku.replace_all("'", "''") }'
  result_map: |
    root.material = if this.count > 0 { this.rows.index(0).index(0) } else { null }
    root.material_name = this.objects.index(0).FName.catch(null)
    root.rows = this.count
  %s`, k3URL(sb), indent(authYAML(mode), "  "), indent(extra, "  "))
}

func TestIntegrationQueryCache(t *testing.T) {
	tests := []struct {
		name      string
		extra     string
		wantCalls int
	}{
		{"cached", "cache: k3_lookups\nttl: 1m", 3}, // three distinct filters
		{"uncached", "", 6},                         // every message queries
	}
	inputs := []string{`{"sku":"SKU00001"}`, `{"sku":"SKU00002"}`, `{"sku":"SKU00001"}`, `{"sku":"O'Brien"}`, `{"sku":"SKU00002"}`, `{"sku":"SKU00001"}`}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := startSandbox(t, nil)
			out := runQuery(t, queryYAML(sb, AuthSignature, tt.extra), inputs)
			if len(out) != len(inputs) {
				t.Fatalf("%d messages out, want %d", len(out), len(inputs))
			}
			for i, m := range out {
				if err := m.GetError(); err != nil {
					t.Fatalf("message %d flagged: %v", i, err)
				}
				v, _ := m.AsStructured()
				doc := v.(map[string]any)
				sku := doc["sku"].(string)
				if sku == "O'Brien" {
					if doc["material"] != nil || fmt.Sprint(doc["rows"]) != "0" {
						t.Fatalf("no-row lookup gave %v", doc)
					}
					continue
				}
				if doc["material"] != sku || doc["material_name"] == nil || fmt.Sprint(doc["rows"]) != "1" {
					t.Fatalf("lookup of %s gave %v", sku, doc)
				}
			}
			if got := sb.Env().Stats.Count("k3cloud", "ExecuteBillQuery", ""); got != tt.wantCalls {
				t.Fatalf("%d ExecuteBillQuery calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestIntegrationQueryErrors(t *testing.T) {
	sb := startSandbox(t, nil)
	tests := []struct {
		name, proc, want string
	}{
		{"unknown field", strings.Replace(queryYAML(sb, AuthPassword, ""), "[FNumber, FName, FMATERIALID]", "[FNumber, FNoSuchField]", 1), "code 9"},
		{"mapping on no rows", strings.Replace(queryYAML(sb, AuthLoginBySign, ""), "root.rows = this.count", "root.first = this.rows.index(0).index(0)", 1), "result_map"},
		{"bad secret", strings.Replace(queryYAML(sb, AuthSignature, ""), "app_secret: "+sbAppSecret, "app_secret: not-the-secret", 1), "会话信息已丢失"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runQuery(t, tt.proc, []string{`{"sku":"NOPE"}`})
			if len(out) != 1 {
				t.Fatalf("%d messages out", len(out))
			}
			err := out[0].GetError()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "not-the-secret") || strings.Contains(err.Error(), sbAppSecret) {
				t.Fatalf("error echoes a secret: %v", err)
			}
			if b, _ := out[0].AsBytes(); string(b) != `{"sku":"NOPE"}` {
				t.Fatalf("a failed lookup changed the message: %s", b)
			}
		})
	}
}
