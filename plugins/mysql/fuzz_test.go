package mysql

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzIdentifiers: table and column validation never panics, accepts only
// names that cannot leave their backquotes, and a statement built from
// accepted names has no other quoting or statement separator in it.
func FuzzIdentifiers(f *testing.F) {
	for _, s := range []string{"erp_sn", "test.erp_sn", "key", "a$b", "_", "1abc", "", "a.b.c", "a`b", "a b", "表", "a;DROP TABLE x",
		"a\x00", "\xff", strings.Repeat("a", 64), strings.Repeat("a", 65), "a." + strings.Repeat("b", 64), ".a", "a.", "sku,qty,sku"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if err := ValidateIdent("column", name); err != nil {
			if !strings.HasPrefix(err.Error(), "column ") || !strings.Contains(err.Error(), identRule) || !utf8.ValidString(err.Error()) {
				t.Fatalf("unclear error for %q: %v", name, err)
			}
		} else {
			checkIdent(t, name)
		}
		if err := ValidateTable(name); err != nil {
			if !strings.HasPrefix(err.Error(), "table ") || !strings.Contains(err.Error(), identRule) || !utf8.ValidString(err.Error()) {
				t.Fatalf("unclear error for %q: %v", name, err)
			}
		} else {
			parts := strings.Split(name, ".")
			if len(parts) > 2 {
				t.Fatalf("table %q accepted with %d parts", name, len(parts))
			}
			for _, p := range parts {
				checkIdent(t, p)
			}
		}
		// The same text as a column list, its first column the key.
		cols := strings.Split(name, ",")
		if validateTarget("erp_t", cols, cols[:1]) == nil {
			head, tuple, tail := insertParts("erp_t", cols, cols[:1])
			stmt := head + tuple + tail
			if strings.Count(stmt, "`")%2 != 0 || strings.ContainsAny(stmt, ";'\"\\\x00") {
				t.Fatalf("columns %q give the statement %q", cols, stmt)
			}
		}
	})
}

func checkIdent(t *testing.T, name string) {
	t.Helper()
	if len(name) == 0 || len(name) > 64 || name[0] >= '0' && name[0] <= '9' || name[0] == '$' {
		t.Fatalf("identifier %q accepted", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$') {
			t.Fatalf("identifier %q accepted with byte %q", name, c)
		}
	}
	if q := quoteIdent(name); strings.Count(q, "`") != 2 {
		t.Fatalf("quoteIdent(%q) = %q", name, q)
	}
}

// FuzzRedactDSN: on any DSN, RedactDSN and the error of a DSN that does not
// parse never show the password, neither as written nor as Go quotes it
// (%q); the password span is the one the driver reads. Passwords shorter
// than 8 bytes, made only of '*' (the redaction mark) or found in the fixed
// text of the messages are not checked: "0" is in "3306" whatever happens.
func FuzzRedactDSN(f *testing.F) {
	f.Add("000:0@")
	for _, s := range []string{
		"root:Sup3rSecret@tcp(db:3306)/test",
		"root:Sup3rSecret@tcp(db:3306)/test?timeout=Sup3rSecret",
		"root:Sup3rSecret@tcp(db:3306/test?timeout=xx",
		"user:p@ss:w/rd@tcp(h:1)/db?parseTime=true",
		"user:pass@word@unix(/tmp/my.sock)/db",
		"root@tcp(127.0.0.1:3306)/test",
		"root:@tcp(127.0.0.1:3306)/test",
		":secret@/",
		"u:se\"cr\\et\xff@tcp(h)/d%zz",
		"u:秘密@tcp(h)/d?charset=秘密",
		"u:pw@tcp(h)/d?tls=pw&loc=pw",
		"u:pw@tcp(h)/pw?x",
		"no slash at all:pw@",
		"",
		"/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		pw := dsnPassword(dsn)
		out := RedactDSN(dsn)
		cfg, redact, err := parseDSN(dsn)
		if redact == nil {
			t.Fatal("parseDSN returned no redactor")
		}
		if err == nil && cfg.Passwd != pw {
			t.Fatalf("DSN %q: the driver reads password %q, redaction looks for %q", dsn, cfg.Passwd, pw)
		}
		if len(pw) < 8 || strings.Trim(pw, "*") == "" || strings.Contains(dsnFixedText, pw) {
			return
		}
		forms := []string{pw}
		if q := strconv.Quote(pw); q[1:len(q)-1] != pw {
			forms = append(forms, q[1:len(q)-1])
		}
		for _, form := range forms {
			if strings.Contains(out, form) {
				t.Fatalf("RedactDSN(%q) = %q shows the password %q", dsn, out, pw)
			}
			if err != nil && strings.Contains(err.Error(), form) {
				t.Fatalf("parseDSN(%q) error shows the password %q: %v", dsn, pw, err)
			}
		}
		if r := redact("connecting: " + dsn + " failed"); strings.Contains(r, pw) {
			t.Fatalf("the redactor of %q leaves the password %q in %q", dsn, pw, r)
		}
	})
}

// dsnFixedText is the fixed wording of parseDSN's error and of the
// driver's DSN errors.
const dsnFixedText = "mysql: dsn  does not parse: ; expected user:password@tcp(host:3306)/database?param=value " +
	"invalid DSN: missing the slash separating the database name " +
	"invalid DSN: did you forget to escape a param value? " +
	"invalid DSN: network address not terminated (missing closing brace) " +
	"invalid DSN: unsafe collation invalid dbname "
