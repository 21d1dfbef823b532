package deadletter

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/erpsync/erpsync/plugins/mysql"
)

// What the console (internal/console) reads and changes in a dead-letter
// table, besides what the components do.

// Filter selects dead letters for the console; zero fields select all.
type Filter struct {
	Stream    string
	Target    string
	ErrorCode string
	Status    string    // open | resolved | "" both
	Since     time.Time // last_failure_at >= Since
	Until     time.Time // last_failure_at < Until
	Limit     int       // default 200, at most 1000
}

// OpenStore connects to dsn and opens (creating when missing) table, with
// the column the console's resolutions use.
func OpenStore(ctx context.Context, dsn, table string) (*Store, error) {
	return openStore(ctx, dsn, table, storeRetry)
}

func openStore(ctx context.Context, dsn, table string, retry mysql.RetryPolicy) (*Store, error) {
	if dsn == "" {
		return nil, fmt.Errorf("dead letters: table %s: dsn is empty", table)
	}
	db, err := openDB(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	st, err := NewStore(ctx, db, StoreConfig{Table: table, CreateTable: true, Retry: retry})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := st.ensureNoteColumn(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return st, nil
}

// Close closes the store's pool.
func (s *Store) Close() error { return s.db.Close() }

// ensureNoteColumn adds resolved_note to a table created before it existed.
func (s *Store) ensureNoteColumn(ctx context.Context) error {
	schema, table := "", s.cfg.Table
	if sc, t, ok := strings.Cut(table, "."); ok {
		schema, table = sc, t
	}
	q := "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=COALESCE(NULLIF(?,''),DATABASE()) AND TABLE_NAME=? AND COLUMN_NAME='resolved_note'"
	var n int
	if err := s.retry(ctx, func() error { return s.db.QueryRowContext(ctx, q, schema, table).Scan(&n) }); err != nil {
		return s.fail("reading the columns of", err)
	}
	if n > 0 {
		return nil
	}
	if err := s.retry(ctx, func() error {
		_, err := s.db.ExecContext(ctx, "ALTER TABLE "+s.t+" ADD COLUMN resolved_note TEXT NULL")
		return err
	}); err != nil {
		return s.fail("adding column resolved_note to", err)
	}
	return nil
}

// List returns the dead letters f selects, newest failure first.
func (s *Store) List(ctx context.Context, f Filter) ([]Row, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if f.Stream != "" {
		add("stream=?", f.Stream)
	}
	if f.Target != "" {
		add("target=?", f.Target)
	}
	if f.ErrorCode != "" {
		add("error_code=?", f.ErrorCode)
	}
	if f.Status != "" {
		add("status=?", f.Status)
	}
	if !f.Since.IsZero() {
		add("last_failure_at>=?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("last_failure_at<?", f.Until.UTC())
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, 1000)
	q := "SELECT " + rowColumns + ",resolved_note FROM " + s.t
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY last_failure_at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	var out []Row
	err := s.retry(ctx, func() error {
		var err error
		out, err = s.queryRows(ctx, true, q, args...)
		return err
	})
	if err != nil {
		return nil, s.fail("reading", err)
	}
	return out, nil
}

// ByID returns the dead letter with this id, or sql.ErrNoRows.
func (s *Store) ByID(ctx context.Context, id int64) (Row, error) {
	var out []Row
	err := s.retry(ctx, func() error {
		var err error
		out, err = s.queryRows(ctx, true, "SELECT "+rowColumns+",resolved_note FROM "+s.t+" WHERE id=?", id)
		return err
	})
	if err != nil {
		return Row{}, s.fail("reading", err)
	}
	if len(out) == 0 {
		return Row{}, sql.ErrNoRows
	}
	return out[0], nil
}

// Counts returns the open dead letters of each stream.
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.retry(ctx, func() error {
		rows, err := s.db.QueryContext(ctx, "SELECT stream, COUNT(*) FROM "+s.t+" WHERE status='open' GROUP BY stream")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st string
			var n int64
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			out[st] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("counting", err)
	}
	return out, nil
}

// ResolveByHand marks open dead letters of stream with these ids resolved
// with an operator's note; it returns how many it changed.
func (s *Store) ResolveByHand(ctx context.Context, stream string, ids []int64, note string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := []any{note, stream}
	for _, id := range ids {
		args = append(args, id)
	}
	q := "UPDATE " + s.t + " SET status='resolved',resolved_at=UTC_TIMESTAMP(6),resolved_note=? WHERE stream=? AND status='open' AND id IN (?" +
		strings.Repeat(",?", len(ids)-1) + ")"
	var n int64
	err := s.retry(ctx, func() error {
		res, err := s.db.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, s.fail("resolving in", err)
	}
	return n, nil
}

// OpenIDs returns the ids of the open dead letters of stream, among ids
// when ids is not empty, in id order (at most 10000).
func (s *Store) OpenIDs(ctx context.Context, stream string, ids []int64) ([]int64, error) {
	q := "SELECT id FROM " + s.t + " WHERE stream=? AND status='open'"
	args := []any{stream}
	if len(ids) > 0 {
		q += " AND id IN (?" + strings.Repeat(",?", len(ids)-1) + ")"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	q += " ORDER BY id LIMIT 10000"
	var out []int64
	err := s.retry(ctx, func() error {
		out = out[:0]
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("reading", err)
	}
	return out, nil
}
