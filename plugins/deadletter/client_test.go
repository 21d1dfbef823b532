package deadletter

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"kis refusal behind fallback", "bill 10001: kis: /koas/app007104/api/miscellaneousreceipt/create: code 20005 单据[10001]保存校验失败 (permanent)", "20005"},
		{"k3cloud", "k3cloud: BatchSave: code 11 BD_MATERIAL 1.01: 物料编码已存在 (permanent)", "11"},
		{"vendor code at the start", "code 199 调用频次超过限制", "199"},
		{"mysql row error", "mysql: insert into `t` row 3: Error 1406 (22001): Data too long for column 'name' at row 1", "1406"},
		{"mapping rejection has no code", "jushuitan_kis_bill: bill 10005 rejected: no items (明细为空): a KIS 其他入库单 needs at least one line", ""},
		{"code inside a word is not a code", "the barcode 123 is unknown", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorCode(tc.text); got != tc.want {
				t.Errorf("ErrorCode(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestNormalizeSourceID(t *testing.T) {
	long := strings.Repeat("单", 300)
	for _, tc := range []struct {
		name    string
		id      string
		payload string
		check   func(t *testing.T, got string)
	}{
		{"plain id kept", "10001", "{}", func(t *testing.T, got string) {
			if got != "10001" {
				t.Errorf("got %q", got)
			}
		}},
		{"spaces trimmed", " 10001 \n", "{}", func(t *testing.T, got string) {
			if got != "10001" {
				t.Errorf("got %q", got)
			}
		}},
		{"empty id keyed by the payload digest", "", `{"a":1}`, func(t *testing.T, got string) {
			if !strings.HasPrefix(got, "sha256:") || len(got) != 71 || got != NormalizeSourceID("", []byte(`{"a":1}`)) || got == NormalizeSourceID("", []byte(`{"a":2}`)) {
				t.Errorf("got %q: want a stable sha256 key per payload", got)
			}
		}},
		{"long id cut with a digest, distinct ids stay distinct", long, "", func(t *testing.T, got string) {
			if n := utf8.RuneCountInString(got); n != maxSourceID {
				t.Errorf("%d characters, want %d", n, maxSourceID)
			}
			if got == NormalizeSourceID(long+"x", nil) || got != NormalizeSourceID(long, nil) {
				t.Errorf("the key of a long id is not stable and distinct")
			}
		}},
		{"invalid UTF-8 made valid", "a\xffb", "", func(t *testing.T, got string) {
			if !utf8.ValidString(got) {
				t.Errorf("got invalid UTF-8 %q", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, NormalizeSourceID(tc.id, []byte(tc.payload))) })
	}
}

func TestValidateStream(t *testing.T) {
	for _, tc := range []struct {
		stream string
		ok     bool
	}{
		{"jushuitan_other_inout_to_kis", true},
		{"", false},
		{"  ", false},
		{strings.Repeat("s", maxStream), true},
		{strings.Repeat("s", maxStream+1), false},
	} {
		if err := ValidateStream(tc.stream); (err == nil) != tc.ok {
			t.Errorf("ValidateStream(%q): %v, want ok %v", tc.stream, err, tc.ok)
		}
	}
}

// TestConnSecrets: a DSN's password never reaches an error, whether the
// DSN does not parse or the server does not answer.
func TestConnSecrets(t *testing.T) {
	const secret = "s3cr3t-P4ss"
	for _, tc := range []struct {
		name, dsn string
		newErr    bool
	}{
		{"does not parse", "erpsync:" + secret + "@tcp(127.0.0.1:1/db?badparam", true},
		{"nothing answers", "erpsync:" + secret + "@tcp(127.0.0.1:1)/db?timeout=200ms", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewConn(ConnConfig{DSN: tc.dsn, Store: StoreConfig{Table: DefaultTable}})
			if tc.newErr {
				if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "***") {
					t.Fatalf("NewConn: %v; want an error naming the DSN with its password as ***", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = c.Store(ctx)
			if err == nil || strings.Contains(err.Error(), secret) {
				t.Fatalf("Store: %v; want an error without the password", err)
			}
		})
	}
}

func TestEmptyDSNFailsOnUse(t *testing.T) {
	c, err := NewConn(ConnConfig{Store: StoreConfig{Table: DefaultTable}})
	if err != nil {
		t.Fatalf("an empty dsn must be accepted until used: %v", err)
	}
	if _, err := c.Store(context.Background()); err == nil || !strings.Contains(err.Error(), "dsn is empty") {
		t.Fatalf("Store with an empty dsn: %v", err)
	}
}

func TestBadTableRefused(t *testing.T) {
	if _, err := NewConn(ConnConfig{DSN: "root@tcp(127.0.0.1:3306)/test", Store: StoreConfig{Table: "dead letters; DROP"}}); err == nil {
		t.Fatal("a table name that is not an identifier was accepted")
	}
}

func TestSpecExamplesLint(t *testing.T) {
	for name, yaml := range map[string]string{"dead letter": exampleDeadLetter, "replay": exampleReplay} {
		t.Run(name, func(t *testing.T) {
			if err := service.NewEnvironment().NewStreamBuilder().SetYAML(yaml); err != nil {
				t.Fatalf("example does not lint: %v", err)
			}
		})
	}
}

// TestLintRules: mistakes the specs catch before anything runs.
func TestLintRules(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"empty stream", "output:\n  dead_letter:\n    dsn: x\n    stream: ''\n    target: kis\n", "stream is empty"},
		{"bad table", "output:\n  dead_letter:\n    dsn: x\n    table: 'a b'\n    stream: s\n    target: kis\n", "not a valid MySQL table name"},
		{"resolve without stream", "output:\n  dead_letter_resolve:\n    dsn: x\n    stream: ' '\n", "stream is empty"},
		{"input batch size", "input:\n  dead_letters:\n    dsn: x\n    stream: s\n    batch_size: 0\n", "batch_size must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := service.NewEnvironment().NewStreamBuilder().SetYAML(tc.yaml)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("lint: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
