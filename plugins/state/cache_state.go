package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

const scFieldDirectory = "directory"

// filePerm and dirPerm: the values are credentials (renewed tokens) or
// state a stranger must not rewind.
const (
	filePerm fs.FileMode = 0o600
	dirPerm  fs.FileMode = 0o700
)

// tempPrefix starts the name of a value being written. Keys cannot start
// with a dot, so a temporary file is never taken for a key.
const tempPrefix = ".tmp-"

func stateCacheSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Local").
		Summary("Keeps each item as a file in a directory (the key is the file name), written atomically and readable by the owner only: for checkpoints, renewed tokens and write ledgers on one node.").
		Description(`
A drop-in for the core `+"`file`"+` cache where the values matter: the same layout (one file per key, the value as
its bytes), so a directory the `+"`file`"+` cache filled is read as it is, but

- every write goes to a temporary file in the same directory, is synced, renamed over the old file, and the
  directory synced: a reader, a crash or a full disk leaves the old value or the new one, never part of one;
- files are created 0600 and a missing directory is created 0700 (its parents too); files already there that
  group or others can read (the core cache writes 0644) are tightened to 0600 when the cache starts;
- a key names one file in the directory: it cannot be empty, start with a dot, or hold `+"`/`"+`, `+"`\\`"+` or a NUL
  byte, and is at most 255 bytes (an error says so; the core cache would write outside the directory);
- `+"`add`"+` fails with "key already exists" when the file exists, without ever showing a partial file
  (the value is linked into place);
- `+"`delete`"+` of a missing key succeeds.

Items do not expire: a TTL given by the caller (e.g. the `+"`kis`"+` output's `+"`ledger_ttl`"+`) is ignored, as by the
core `+"`file`"+` cache. Delete a file to reset that key. For state shared by several processes use the `+"`mysql`"+` cache.
`).
		Field(service.NewStringField(scFieldDirectory).
			Description("The directory holding the items, created (0700) when missing.").
			Example("${ERPSYNC_STATE_DIR:./state}/checkpoints")).
		Example("Checkpoints and tokens", "The state of the polling inputs and the renewed Jushuitan tokens, in the folder the shipped configs use.", `
cache_resources:
  - label: checkpoints
    state:
      directory: ${ERPSYNC_STATE_DIR:./state}/checkpoints
`)
}

func init() {
	service.MustRegisterCache("state", stateCacheSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.Cache, error) {
			return newStateCacheFromParsed(conf, mgr)
		})
}

func newStateCacheFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*stateCache, error) {
	dir, err := conf.FieldString(scFieldDirectory)
	if err != nil {
		return nil, err
	}
	return newStateCache(dir, mgr.Logger())
}

// stateCache implements service.Cache over a directory.
type stateCache struct {
	dir string
	log *service.Logger
	// addMu serialises Add where the file system cannot link (see Add).
	addMu sync.Mutex
	// hooks for tests: a write that fails after the temporary file is
	// written, before it replaces the value.
	beforeRename func(tmp string) error
}

func newStateCache(dir string, log *service.Logger) (*stateCache, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, errors.New("state cache: directory is empty; set it to the folder holding the state, e.g. ${ERPSYNC_STATE_DIR:./state}/checkpoints")
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("state cache: cannot create directory %s: %w (create it, or set directory to a writable folder)", dir, err)
	}
	c := &stateCache{dir: dir, log: log}
	if err := c.tighten(); err != nil {
		return nil, err
	}
	return c, nil
}

// tighten makes the files already in the directory (the core file cache
// wrote them 0644) owner-only, and removes temporary files a crash left.
func (c *stateCache) tighten() error {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("state cache: cannot read directory %s: %w", c.dir, err)
	}
	tightened := 0
	for _, e := range entries {
		p := filepath.Join(c.dir, e.Name())
		if strings.HasPrefix(e.Name(), tempPrefix) {
			_ = os.Remove(p)
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, filePerm); err != nil {
			return fmt.Errorf("state cache: %s can be read by others (mode %s) and cannot be made 0600: %w (chmod 600 it, or run as its owner)", p, info.Mode().Perm(), err)
		}
		tightened++
	}
	if tightened > 0 && c.log != nil {
		c.log.Infof("state cache: %d file(s) in %s were readable by group or others; now 0600", tightened, c.dir)
	}
	return nil
}

// path validates key and returns its file.
func (c *stateCache) path(key string) (string, error) {
	switch {
	case key == "":
		return "", errors.New("state cache: key is empty; keys name a file in the directory")
	case len(key) > 255:
		return "", fmt.Errorf("state cache: key %.40q... is %d bytes, more than a file name may hold (255)", key, len(key))
	case key[0] == '.':
		return "", fmt.Errorf("state cache: key %q starts with a dot; keys name a plain file in %s", key, c.dir)
	case strings.ContainsAny(key, "/\\\x00"):
		return "", fmt.Errorf("state cache: key %q holds a path separator or NUL; keys name one file in %s (replace / and \\ in the key, e.g. with _)", key, c.dir)
	}
	return filepath.Join(c.dir, key), nil
}

// Get returns the value of key, service.ErrKeyNotFound when there is none.
func (c *stateCache) Get(_ context.Context, key string) ([]byte, error) {
	p, err := c.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, service.ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("state cache: cannot read %s: %w", p, err)
	}
	return b, nil
}

// Set replaces the value of key atomically. The TTL is ignored.
func (c *stateCache) Set(_ context.Context, key string, value []byte, _ *time.Duration) error {
	p, err := c.path(key)
	if err != nil {
		return err
	}
	tmp, err := c.writeTemp(key, value)
	if err != nil {
		return err
	}
	if c.beforeRename != nil {
		if err := c.beforeRename(tmp); err != nil {
			_ = os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("state cache: cannot replace %s: %w; its old value is kept", p, err)
	}
	return c.syncDir()
}

// Add stores value when key has none, else fails with
// service.ErrKeyAlreadyExists. The value is complete before it appears: the
// temporary file is hard-linked to the key's name, which fails when the
// name exists.
func (c *stateCache) Add(_ context.Context, key string, value []byte, _ *time.Duration) error {
	p, err := c.path(key)
	if err != nil {
		return err
	}
	tmp, err := c.writeTemp(key, value)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, p)
	switch {
	case err == nil:
		return c.syncDir()
	case errors.Is(err, fs.ErrExist):
		return service.ErrKeyAlreadyExists
	}
	// No hard links here (some network or FUSE file systems): check and
	// rename, atomic against this process only.
	c.addMu.Lock()
	defer c.addMu.Unlock()
	if _, serr := os.Lstat(p); serr == nil {
		return service.ErrKeyAlreadyExists
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("state cache: cannot create %s: %w", p, err)
	}
	return c.syncDir()
}

// Delete removes key; a missing key is not an error.
func (c *stateCache) Delete(_ context.Context, key string) error {
	p, err := c.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state cache: cannot delete %s: %w", p, err)
	}
	return c.syncDir()
}

func (c *stateCache) Close(context.Context) error { return nil }

// writeTemp writes value to a new 0600 file in the directory and syncs it.
func (c *stateCache) writeTemp(key string, value []byte) (string, error) {
	// The key in the name helps whoever finds one a crash left; cut so the
	// name stays within 255 bytes.
	f, err := os.CreateTemp(c.dir, tempPrefix+key[:min(len(key), 64)]+"-*")
	if err != nil {
		return "", fmt.Errorf("state cache: cannot write key %q in %s: %w (is the directory writable and the disk not full?)", key, c.dir, err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		_ = f.Close()
		_ = os.Remove(name)
		return "", fmt.Errorf("state cache: cannot write key %q in %s: %w; its old value is kept", key, c.dir, err)
	}
	// CreateTemp makes 0600 files; say so rather than rely on it.
	if err := f.Chmod(filePerm); err != nil {
		return fail(err)
	}
	if _, err := f.Write(value); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(name)
		return "", fmt.Errorf("state cache: cannot write key %q in %s: %w; its old value is kept", key, c.dir, err)
	}
	return name, nil
}

// syncDir makes a rename or removal durable.
func (c *stateCache) syncDir() error {
	d, err := os.Open(c.dir)
	if err != nil {
		return fmt.Errorf("state cache: cannot sync directory %s: %w", c.dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("state cache: cannot sync directory %s: %w", c.dir, err)
	}
	return nil
}
