package kingdee

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// k3Busy imitates a K3Cloud that answers every BatchSave with
// IsSuccess:false, MsgCode 500 and one error per row, as K3Cloud does when
// it is overloaded (服务器繁忙); the sandbox gives failing rows the MsgCode of
// their cause, never 500. Queries find nothing.
func k3Busy(t *testing.T, message string) (url string, saves func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(r.URL.Path, ".BatchSave."):
			mu.Lock()
			n++
			mu.Unlock()
			var req struct {
				Data struct {
					Model []json.RawMessage `json:"Model"`
				} `json:"data"`
			}
			_ = json.Unmarshal(body, &req)
			type rowErr struct {
				FieldName *string `json:"FieldName"`
				Message   string  `json:"Message"`
				DIndex    int     `json:"DIndex"`
			}
			errs := []rowErr{}
			for i := range req.Data.Model {
				errs = append(errs, rowErr{Message: message, DIndex: i})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"Result": map[string]any{"ResponseStatus": map[string]any{
				"ErrorCode": 500, "IsSuccess": false, "Errors": errs, "SuccessEntitys": []any{}, "SuccessMessages": []any{}, "MsgCode": 500,
			}}})
		default: // ExecuteBillQuery (probe and lookups): no rows
			_, _ = w.Write([]byte("[]"))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/k3cloud/", func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// syncBuffer is a log sink written by the stream's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBatchSaveLogsKingdeesRowMessage: a row Kingdee refuses with MsgCode
// 500 is logged at warn level with Kingdee's message, the MsgCode, the
// form, the bill number and the DIndex, and no secret.
func TestBatchSaveLogsKingdeesRowMessage(t *testing.T) {
	const busy = "服务器繁忙，请稍后再试"
	url, saves := k3Busy(t, busy)
	var logs syncBuffer
	b := service.NewStreamBuilder()
	b.SetLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := b.AddInputYAML(`
generate:
  count: 2
  interval: ""
  batch_size: 2
  mapping: |
    let n = counter()
    root = {"FNumber": "CUS%05d".format($n), "FName": "客户" + $n.string()}
`); err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML(`
fallback:
  - kingdee_batchsave:
      url: ` + url + `
      ` + indent(authYAML(AuthSignature), "      ") + `
      form_id: BD_Customer
      batching:
        count: 2
  - drop: {}
`); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if saves() == 0 {
		t.Fatal("no BatchSave reached the imitation: nothing was tested")
	}
	out := logs.String()
	for _, row := range []struct{ no, dIndex string }{{"CUS00001", "0"}, {"CUS00002", "1"}} {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "level=WARN") && strings.Contains(l, "bill_no="+row.no) {
				line = l
			}
		}
		if line == "" {
			t.Fatalf("no warning for %s:\n%s", row.no, out)
		}
		for _, want := range []string{busy, "MsgCode 500", "BD_Customer " + row.no, "(DIndex " + row.dIndex + ")",
			"msg_code=500", "form=BD_Customer", "d_index=" + row.dIndex} {
			if !strings.Contains(line, want) {
				t.Errorf("the warning for %s lacks %q: %s", row.no, want, line)
			}
		}
	}
	for _, secret := range []string{sbAppSecret, sbPass} {
		if strings.Contains(out, secret) {
			t.Fatalf("a secret appears in the logs:\n%s", out)
		}
	}
}
