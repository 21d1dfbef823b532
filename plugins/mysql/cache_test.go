package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// startCache builds a mysql cache on a table unique to the test.
func startCache(t *testing.T, db *sql.DB, extra string) (*mysqlCache, string) {
	t.Helper()
	table := fmt.Sprintf("cache_%d", tableSeq.Add(1)+time.Now().UnixNano()%1e9)
	t.Cleanup(func() { _, _ = db.Exec("DROP TABLE IF EXISTS `" + table + "`") })
	return openCache(t, table, extra), table
}

func openCache(t *testing.T, table, extra string) *mysqlCache {
	t.Helper()
	return openCacheDSN(t, testDSN(), table, extra)
}

func openCacheDSN(t *testing.T, dsn, table, extra string) *mysqlCache {
	t.Helper()
	conf, err := mysqlCacheSpec().ParseYAML(fmt.Sprintf("dsn: %s\ntable: %s\n%s", dsn, table, extra), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newMySQLCacheFromParsed(conf, service.MockResources())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// expire moves a key's expiry into the past, as if its TTL had run out.
func expire(t *testing.T, db *sql.DB, table, key string) {
	t.Helper()
	mustExec(t, db, "UPDATE `"+table+"` SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE `key` = ?", key)
}

func dur(d time.Duration) *time.Duration { return &d }

func wantValue(t *testing.T, c *mysqlCache, key, want string) {
	t.Helper()
	got, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	if string(got) != want {
		t.Fatalf("get %q = %q, want %q", key, got, want)
	}
}

func wantMissing(t *testing.T, c *mysqlCache, key string) {
	t.Helper()
	if v, err := c.Get(context.Background(), key); !errors.Is(err, service.ErrKeyNotFound) {
		t.Fatalf("get %q = %q, %v; want key not found", key, v, err)
	}
}

func TestIntegrationCacheTTL(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	c, table := startCache(t, db, "default_ttl: 1h\n")

	// set, get, overwrite, delete
	if err := c.Set(ctx, "k", []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	wantValue(t, c, "k", "v1")
	if err := c.Set(ctx, "k", []byte("v2"), dur(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantValue(t, c, "k", "v2")
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, c, "k")
	if err := c.Delete(ctx, "never-set"); err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}

	// default_ttl applies to keys set without a TTL
	if err := c.Set(ctx, "d", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	var secs float64
	if err := db.QueryRow("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), expires_at) FROM `" + table + "` WHERE `key`='d'").Scan(&secs); err != nil {
		t.Fatal(err)
	}
	if secs < 3500 || secs > 3600 {
		t.Fatalf("default_ttl: key expires in %.0fs, want about 3600", secs)
	}

	// add: a live key refuses, an expired key is replaced
	if err := c.Add(ctx, "a", []byte("first"), dur(time.Hour)); err != nil {
		t.Fatalf("add of a new key: %v", err)
	}
	if err := c.Add(ctx, "a", []byte("second"), dur(time.Hour)); !errors.Is(err, service.ErrKeyAlreadyExists) {
		t.Fatalf("add of a live key: %v, want key already exists", err)
	}
	wantValue(t, c, "a", "first")
	expire(t, db, table, "a")
	wantMissing(t, c, "a")
	var rows int
	if err := db.QueryRow("SELECT COUNT(*) FROM `" + table + "` WHERE `key`='a'").Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("expired key read but not purged: %d rows, %v", rows, err)
	}
	mustExec(t, db, "INSERT IGNORE INTO `"+table+"` VALUES ('a', 'stale', UTC_TIMESTAMP(6) - INTERVAL 1 SECOND)")
	if err := c.Add(ctx, "a", []byte("third"), dur(time.Hour)); err != nil {
		t.Fatalf("add over an expired key: %v", err)
	}
	wantValue(t, c, "a", "third")
	if err := c.Add(ctx, "a", []byte("fourth"), nil); !errors.Is(err, service.ErrKeyAlreadyExists) {
		t.Fatalf("add over the re-added key: %v, want key already exists", err)
	}

	// a key without TTL (ttl 0) never expires; a real short TTL runs out
	if err := c.Set(ctx, "forever", []byte("x"), dur(0)); err != nil {
		t.Fatal(err)
	}
	var exp sql.NullTime
	if err := db.QueryRow("SELECT expires_at FROM `" + table + "` WHERE `key`='forever'").Scan(&exp); err != nil || exp.Valid {
		t.Fatalf("ttl 0: expires_at %v, %v; want NULL", exp, err)
	}
	if err := c.Set(ctx, "short", []byte("x"), dur(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Get(ctx, "short")
		if errors.Is(err, service.ErrKeyNotFound) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("key with a 50ms TTL still readable after 5s (%v)", err)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM `" + table + "` WHERE `key`='short'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("expired key read but not purged: %d rows, %v", n, err)
	}
}

func TestIntegrationCacheKeysAreExact(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	c, _ := startCache(t, db, "")
	keys := []string{"Key", "key", "key ", "键"}
	for _, k := range keys {
		if err := c.Add(ctx, k, []byte("v:"+k), nil); err != nil {
			t.Fatalf("add %q: %v", k, err)
		}
	}
	for _, k := range keys {
		wantValue(t, c, k, "v:"+k)
	}
	if err := c.SetMulti(ctx, service.CacheItem{Key: "m1", Value: []byte("1")}, service.CacheItem{Key: "m2", Value: []byte("2"), TTL: dur(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	wantValue(t, c, "m1", "1")
	wantValue(t, c, "m2", "2")
	long := make([]byte, MaxKeyBytes+1)
	for i := range long {
		long[i] = 'k'
	}
	if err := c.Set(ctx, string(long), []byte("x"), nil); err == nil {
		t.Fatal("a key longer than the column was accepted")
	}
}

// TestIntegrationCacheAddRace has three cache instances (as three
// processes would) race to add the same key, fresh and then expired: exactly one
// add must win each time.
func TestIntegrationCacheAddRace(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	c1, table := startCache(t, db, "")
	c2 := openCache(t, table, "")
	if err := c1.Set(ctx, "warmup", []byte("x"), nil); err != nil { // creates the table
		t.Fatal(err)
	}
	// a third process whose DSN asks for CLIENT_FOUND_ROWS must agree
	c3 := openCacheDSN(t, dsnWith(t, map[string]string{"clientFoundRows": "true"}), table, "")
	for _, round := range []string{"fresh key", "expired key"} {
		t.Run(round, func(t *testing.T) {
			key := "race-" + round
			if round == "expired key" {
				if err := c1.Set(ctx, key, []byte("old"), dur(time.Hour)); err != nil {
					t.Fatal(err)
				}
				expire(t, db, table, key)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins, lost := 0, 0
			var other []error
			for i := range 16 {
				c := []*mysqlCache{c1, c2, c3}[i%3]
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := c.Add(ctx, key, []byte(fmt.Sprint(i)), dur(time.Hour))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case errors.Is(err, service.ErrKeyAlreadyExists):
						lost++
					default:
						other = append(other, err)
					}
				}()
			}
			wg.Wait()
			if wins != 1 || lost != 15 || len(other) > 0 {
				t.Fatalf("%d adds won, %d lost, errors %v; want exactly one winner", wins, lost, other)
			}
		})
	}
}

func TestIntegrationCachePurge(t *testing.T) {
	db := testDB(t)
	ctx := context.Background()
	c, table := startCache(t, db, "purge_interval: 1ms\n")
	for i := range 5 {
		if err := c.Set(ctx, fmt.Sprint("old", i), []byte("x"), dur(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(t, db, "UPDATE `"+table+"` SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND")
	// The next write after purge_interval deletes the expired rows.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := c.Set(ctx, "new", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM `" + table + "`").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows left; the expired ones were never purged", n)
		}
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
}
