package state

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

func newTestCache(t *testing.T, dir string) *stateCache {
	t.Helper()
	c, err := newStateCache(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// noTemp fails when a temporary file is left in dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func TestSetWritesOwnerOnlyFilesInOwnerOnlyDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "checkpoints")
	c := newTestCache(t, dir)
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("created directory mode %v, want 0700", m)
	}
	ctx := context.Background()
	if err := c.Set(ctx, "jushuitan_tokens_app", []byte(`{"access_token":"t"}`), nil); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, filepath.Join(dir, "jushuitan_tokens_app")); m != 0o600 {
		t.Errorf("file mode after Set %v, want 0600", m)
	}
	if err := c.Add(ctx, "added", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, filepath.Join(dir, "added")); m != 0o600 {
		t.Errorf("file mode after Add %v, want 0600", m)
	}
	noTemp(t, dir)
}

// A directory the core file cache filled (0644 files) is read as it is,
// and its files are made 0600 when the cache starts.
func TestReadsAndTightensFilesOfTheCoreFileCache(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "jst_inout")
	if err := os.WriteFile(p, []byte("2024-06-01T00:00:00Z"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, tempPrefix+"jst_inout-123"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newTestCache(t, dir)
	got, err := c.Get(context.Background(), "jst_inout")
	if err != nil || string(got) != "2024-06-01T00:00:00Z" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if m := mode(t, p); m != 0o600 {
		t.Errorf("existing file mode %v after start, want 0600", m)
	}
	noTemp(t, dir) // a crash's leftover is removed
}

func TestCacheSemantics(t *testing.T) {
	c := newTestCache(t, t.TempDir())
	ctx := context.Background()
	if _, err := c.Get(ctx, "k"); !errors.Is(err, service.ErrKeyNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrKeyNotFound", err)
	}
	if err := c.Add(ctx, "k", []byte("first"), nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(ctx, "k", []byte("second"), nil); !errors.Is(err, service.ErrKeyAlreadyExists) {
		t.Fatalf("Add of an existing key: %v, want ErrKeyAlreadyExists", err)
	}
	if got, _ := c.Get(ctx, "k"); string(got) != "first" {
		t.Fatalf("the refused Add changed the value to %q", got)
	}
	if err := c.Set(ctx, "k", []byte("third"), nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get(ctx, "k"); string(got) != "third" {
		t.Fatalf("Get after Set = %q", got)
	}
	if err := c.Set(ctx, "empty", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "empty"); err != nil || len(got) != 0 {
		t.Fatalf("empty value: %q, %v", got, err)
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, service.ErrKeyNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
}

func TestKeysCannotLeaveTheDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "state")
	c := newTestCache(t, dir)
	ctx := context.Background()
	for _, key := range []string{"", ".", "..", "../escape", "a/b", `a\b`, "/etc/passwd", ".hidden", "nul\x00", strings.Repeat("k", 256)} {
		if err := c.Set(ctx, key, []byte("x"), nil); err == nil {
			t.Errorf("Set(%q) succeeded", key)
		} else if !strings.Contains(err.Error(), "state cache: key") {
			t.Errorf("Set(%q): %v does not say what is wrong with the key", key, err)
		}
		if _, err := c.Get(ctx, key); err == nil || errors.Is(err, service.ErrKeyNotFound) {
			t.Errorf("Get(%q) = %v, want a key error", key, err)
		}
		if err := c.Add(ctx, key, []byte("x"), nil); err == nil {
			t.Errorf("Add(%q) succeeded", key)
		}
		if err := c.Delete(ctx, key); err == nil {
			t.Errorf("Delete(%q) succeeded", key)
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("files outside the directory: %v", entries)
	}
	// Keys the shipped configs use.
	for _, key := range []string{"jushuitan_tokens_sandbox-jst-app", "jst_inout.spare", "kis_1_api_XSCKD_2024-001", "物料"} {
		if err := c.Set(ctx, key, []byte("x"), nil); err != nil {
			t.Errorf("Set(%q): %v", key, err)
		}
	}
}

// An existing value survives a write that fails after the new value was
// written to its temporary file, and no temporary file is left behind.
func TestFailedWriteKeepsTheOldValue(t *testing.T) {
	dir := t.TempDir()
	c := newTestCache(t, dir)
	ctx := context.Background()
	if err := c.Set(ctx, "tokens", []byte("old pair"), nil); err != nil {
		t.Fatal(err)
	}
	var sawTemp []byte
	c.beforeRename = func(tmp string) error {
		sawTemp, _ = os.ReadFile(tmp)
		return errors.New("simulated crash")
	}
	if err := c.Set(ctx, "tokens", []byte("new pair"), nil); err == nil {
		t.Fatal("the failing Set reported success")
	}
	if string(sawTemp) != "new pair" {
		t.Fatalf("the new value was not written to a temporary file first (%q)", sawTemp)
	}
	if got, _ := c.Get(ctx, "tokens"); string(got) != "old pair" {
		t.Fatalf("after a failed write the value is %q, want the old one", got)
	}
	noTemp(t, dir)

	// A rename that fails for real (the key's name is taken by a
	// directory) leaves nothing behind either.
	c.beforeRename = nil
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "taken", "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "taken", []byte("v"), nil); err == nil || !strings.Contains(err.Error(), "old value is kept") {
		t.Fatalf("Set over a directory: %v", err)
	}
	noTemp(t, dir)
}

// Readers running beside a writer only ever see a whole value: the core
// file cache truncates and rewrites the file in place, which readers catch
// half-written.
func TestReadersNeverSeeAPartialValue(t *testing.T) {
	c := newTestCache(t, t.TempDir())
	ctx := context.Background()
	a, b := bytes.Repeat([]byte("a"), 1<<20), bytes.Repeat([]byte("b"), 1<<20)
	if err := c.Set(ctx, "k", a, nil); err != nil {
		t.Fatal(err)
	}
	const writes = 60
	done := make(chan struct{})
	var wg sync.WaitGroup
	var reads int
	var bad error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			got, err := c.Get(ctx, "k")
			reads++
			if err != nil || !(bytes.Equal(got, a) || bytes.Equal(got, b)) {
				bad = errors.New("a read saw a partial value")
				if err != nil {
					bad = err
				}
				return
			}
		}
	}()
	for i := 0; i < writes; i++ {
		v := a
		if i%2 == 0 {
			v = b
		}
		if err := c.Set(ctx, "k", v, nil); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if bad != nil {
		t.Fatal(bad)
	}
	if reads == 0 {
		t.Fatal("no read ran beside the writes")
	}
}

func TestConfigAndRegistration(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "checkpoints")
	b := service.NewStreamBuilder()
	if err := b.AddCacheYAML("label: checkpoints\nstate:\n  directory: " + dir + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddInputYAML("generate:\n  count: 1\n  interval: ''\n  mapping: root = {}\n"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddProcessorYAML("cache:\n  resource: checkpoints\n  operator: set\n  key: through_benthos\n  value: v\n"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML("drop: {}"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetLoggerYAML("level: none"); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("the resource did not create its directory 0700 (%v)", m)
	}
	if m := mode(t, filepath.Join(dir, "through_benthos")); m != 0o600 {
		t.Errorf("a set through Benthos wrote mode %v, want 0600", m)
	}
	if _, err := stateCacheSpec().ParseYAML("directory: ''", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := newStateCache("", nil); err == nil || !strings.Contains(err.Error(), "directory is empty") {
		t.Errorf("empty directory: %v", err)
	}
}
