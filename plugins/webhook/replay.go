package webhook

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors of ReplayStore.Add.
var (
	// ErrReplay: the request was accepted before.
	ErrReplay = errors.New("replayed request")
	// ErrStale: by the store's clock the request's timestamp is outside
	// the window (the window can close while a body is read).
	ErrStale = errors.New("timestamp outside the replay window")
)

// ReplayStore holds the requests accepted within the replay window: every
// request whose timestamp is within the allowed skew of now. A request
// older than that is refused by its timestamp, so the store may forget it.
type ReplayStore interface {
	// Add records the request of signature key (hex) and timestamp ts
	// (Unix seconds), or fails with ErrReplay when it is already there,
	// ErrStale, or any other error when it could not be recorded (the
	// request is then refused: an unrecorded request could be replayed).
	// It returns only once the record would survive a crash.
	Add(ctx context.Context, key string, ts int64) error
	// Forget removes a request recorded by Add that was then not
	// delivered, so that the sender's retry is accepted.
	Forget(ctx context.Context, key string) error
	// Close releases the store.
	Close(ctx context.Context) error
}

// FileStore is a ReplayStore in an append-only file: one line per accepted
// request, "+ <timestamp> <signature>", and one per forgotten request,
// "- <signature>". Every record is written and synced to disk before Add
// returns, so the window survives SIGKILL, a crash or a restart. The file
// is rewritten when it is opened and whenever it holds twice as many
// records as live entries (plus some slack), dropping entries whose
// timestamp left the window; its size stays proportional to the requests
// accepted within one window.
//
// A FileStore keeps its entries in memory too. Only one FileStore of a
// process may have a given file open; several processes must not share a
// file (give each replica its own, or share a cache resource instead).
type FileStore struct {
	path   string
	window int64 // seconds
	now    func() time.Time

	mu        sync.Mutex
	f         *os.File
	seen      map[string]int64 // signature -> timestamp
	records   int              // records in the file
	clock     int64            // the highest time read from now: never goes back
	nextSweep int64
	broken    bool // a write failed part way: rewrite before appending
	closed    bool
	skipped   int
	slack     int
}

// defaultSlack is how many dead records the file may hold beyond the
// live ones before it is rewritten.
const defaultSlack = 1024

var (
	openFilesMu sync.Mutex
	openFiles   = map[string]bool{}
)

// OpenFileStore opens (or creates, with its folder) the replay file at
// path for a window of the given skew either side of now. now is the
// clock, time.Now when nil. Entries already out of the window are dropped
// and the file rewritten; a last record cut short by a crash is dropped
// too (its request was never answered as accepted).
func OpenFileStore(path string, window time.Duration, now func() time.Time) (*FileStore, error) {
	if now == nil {
		now = time.Now
	}
	if window < time.Second {
		return nil, fmt.Errorf("replay file %s: window %s is under a second", path, window)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("replay file %s: %w", path, err)
	}
	openFilesMu.Lock()
	if openFiles[abs] {
		openFilesMu.Unlock()
		return nil, fmt.Errorf("replay file %s is already open in this process (another webhook input?): give each input its own file", path)
	}
	openFiles[abs] = true
	openFilesMu.Unlock()

	s := &FileStore{path: abs, window: int64(window / time.Second), now: now, seen: map[string]int64{}, slack: defaultSlack}
	if err := s.open(); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

func (s *FileStore) release() {
	openFilesMu.Lock()
	delete(openFiles, s.path)
	openFilesMu.Unlock()
}

func (s *FileStore) open() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("replay file %s: %w", s.path, err)
	}
	// A rewrite cut short by a crash leaves its temporary file; the file
	// itself is whole (the rewrite renames over it only once synced).
	_ = os.Remove(s.path + ".tmp")
	skipped, err := s.load()
	if err != nil {
		return err
	}
	s.skipped = skipped
	s.clock = s.now().Unix()
	s.sweep()
	return s.compact()
}

// load reads the file's records into seen and returns how many lines were
// not records (corruption); a missing file is an empty window.
func (s *FileStore) load() (skipped int, err error) {
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("replay file %s: %w", s.path, err)
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	for {
		line, err := rd.ReadString('\n')
		if errors.Is(err, io.EOF) {
			// An unterminated last line is a write cut short: never synced,
			// never answered 202.
			return skipped, nil
		}
		if err != nil {
			return skipped, fmt.Errorf("replay file %s: %w", s.path, err)
		}
		if !s.apply(strings.TrimSuffix(line, "\n")) {
			skipped++
		}
	}
}

func (s *FileStore) apply(line string) bool {
	f := strings.Fields(line)
	switch {
	case len(f) == 3 && f[0] == "+" && validKey(f[2]):
		ts, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return false
		}
		s.seen[f[2]] = ts
	case len(f) == 2 && f[0] == "-" && validKey(f[1]):
		delete(s.seen, f[1])
	default:
		return false
	}
	return true
}

// validKey accepts what a record can hold: a signature in hex.
func validKey(k string) bool {
	if k == "" || len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// tick reads the clock, never going back: an entry dropped by a sweep at
// time t stays refused as stale by Add at any later tick.
func (s *FileStore) tick() int64 {
	if t := s.now().Unix(); t > s.clock {
		s.clock = t
	}
	return s.clock
}

// sweep drops the entries out of the window at s.clock.
func (s *FileStore) sweep() {
	for k, ts := range s.seen {
		if ts < s.clock-s.window {
			delete(s.seen, k)
		}
	}
	s.nextSweep = s.clock + max(1, s.window/4)
}

// Add implements ReplayStore.
func (s *FileStore) Add(_ context.Context, key string, ts int64) error {
	if !validKey(key) {
		return fmt.Errorf("replay file %s: key is not a hex signature", s.path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("replay file %s is closed", s.path)
	}
	now := s.tick()
	if ts < now-s.window || ts > now+s.window {
		return ErrStale
	}
	if _, ok := s.seen[key]; ok {
		return ErrReplay
	}
	if err := s.append("+ " + strconv.FormatInt(ts, 10) + " " + key + "\n"); err != nil {
		return err
	}
	s.seen[key] = ts
	if now >= s.nextSweep {
		s.sweep()
	}
	if s.records > 2*len(s.seen)+s.slack {
		// The record is synced already: a failed rewrite only means the
		// next append tries again.
		_ = s.compact()
	}
	return nil
}

// Forget implements ReplayStore.
func (s *FileStore) Forget(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("replay file %s is closed", s.path)
	}
	if _, ok := s.seen[key]; !ok {
		return nil
	}
	if err := s.append("- " + key + "\n"); err != nil {
		return err
	}
	delete(s.seen, key)
	return nil
}

// append writes and syncs one record.
func (s *FileStore) append(rec string) error {
	if s.broken {
		if err := s.compact(); err != nil {
			return err
		}
	}
	if _, err := s.f.WriteString(rec); err != nil {
		s.broken = true
		return fmt.Errorf("replay file %s: %w", s.path, err)
	}
	s.records++
	if err := s.f.Sync(); err != nil {
		s.broken = true
		return fmt.Errorf("replay file %s: %w", s.path, err)
	}
	return nil
}

// compact rewrites the file with the live entries only: a temporary file,
// synced, renamed over the old one, the folder synced.
func (s *FileStore) compact() error {
	keys := make([]string, 0, len(s.seen))
	for k := range s.seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.seen[keys[i]] != s.seen[keys[j]] {
			return s.seen[keys[i]] < s.seen[keys[j]]
		}
		return keys[i] < keys[j]
	})
	tmp := s.path + ".tmp"
	err := func() error {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		for _, k := range keys {
			fmt.Fprintf(w, "+ %d %s\n", s.seen[k], k)
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp, s.path); err != nil {
			return err
		}
		return syncDir(filepath.Dir(s.path))
	}()
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replay file %s: rewriting: %w", s.path, err)
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("replay file %s: %w", s.path, err)
	}
	if s.f != nil {
		_ = s.f.Close()
	}
	s.f, s.records, s.broken = f, len(keys), false
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Skipped is the number of lines of the file that were not records when
// it was opened (a sign of corruption; a last line cut short by a crash is
// not counted).
func (s *FileStore) Skipped() int { return s.skipped }

// Len is the number of entries in the window (entries out of it may linger
// until the next sweep).
func (s *FileStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// Close implements ReplayStore.
func (s *FileStore) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.release()
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
