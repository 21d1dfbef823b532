package poll

import (
	"context"
	"errors"
	"fmt"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// SpareSuffix names the second copy SaveState keeps of a value: key+SpareSuffix.
const SpareSuffix = ".spare"

// SaveState stores value under key in the cache resource, so that a process
// killed while storing it (SIGKILL, OOM, power loss) never leaves only a
// broken copy behind: a cache may write in place (the core `file` cache
// truncates the file, then writes it), and a kill in between leaves an
// empty value. The value is written under key+SpareSuffix first and under
// key second, so at any moment one of the two holds a whole value no older
// than the last one saved. Read it back with LoadState.
func SaveState(ctx context.Context, mgr *service.Resources, cache, key string, value []byte) error {
	for _, k := range []string{key + SpareSuffix, key} {
		var serr error
		if err := mgr.AccessCache(ctx, cache, func(c service.Cache) { serr = c.Set(ctx, k, value, nil) }); err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
	}
	return nil
}

// LoadState reads a value saved by SaveState: the value under key when
// valid says it is whole, else (torn) the spare copy when that one is.
// found is false when key does not exist, whatever the spare holds: a
// save cut short before key was ever written saved nothing, and deleting
// key is how an operator resets the state. When neither copy is whole, the
// error wraps what valid said of the value under key (and never quotes the
// value itself, which may be a secret).
func LoadState(ctx context.Context, mgr *service.Resources, cache, key string, valid func([]byte) error) (value []byte, found, torn bool, err error) {
	get := func(k string) ([]byte, bool, error) {
		var raw []byte
		var gerr error
		if err := mgr.AccessCache(ctx, cache, func(c service.Cache) { raw, gerr = c.Get(ctx, k) }); err != nil {
			return nil, false, err
		}
		if errors.Is(gerr, service.ErrKeyNotFound) {
			return nil, false, nil
		}
		return raw, gerr == nil, gerr
	}
	raw, has, err := get(key)
	if err != nil || !has {
		return nil, false, false, err
	}
	bad := valid(raw)
	if bad == nil {
		return raw, true, false, nil
	}
	spare, hasSpare, err := get(key + SpareSuffix)
	if err != nil {
		return nil, false, false, err
	}
	if hasSpare && valid(spare) == nil {
		return spare, true, true, nil
	}
	return nil, true, true, fmt.Errorf("%q is broken and its spare copy %q missing or broken too: %w", key, key+SpareSuffix, bad)
}
