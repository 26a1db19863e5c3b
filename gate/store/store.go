// Package store is a gate's SQLite database: the mirror of the entitlements
// it may admit, the site values it keeps for offline use, and the outbox of
// its admissions. Everything a gate needs to decide lives here, so it keeps
// deciding — and remembers what it decided — while NATS is away or after a
// crash.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// ErrNotFound is returned for a missing key or row.
var ErrNotFound = errors.New("not found")

// Store is a gate's database. It is safe for concurrent use.
type Store struct {
	db *sqlitedb.DB
}

var migrations = []sqlitedb.Migration{
	sqlitedb.Exec(
		`CREATE TABLE entitlements (
			ticket_id TEXT PRIMARY KEY,
			data      BLOB NOT NULL,
			revision  INTEGER NOT NULL
		)`,
		`CREATE TABLE meta (
			key   TEXT PRIMARY KEY,
			value BLOB NOT NULL
		)`,
		`CREATE TABLE admissions (
			seq          INTEGER PRIMARY KEY AUTOINCREMENT,
			event_id     TEXT NOT NULL UNIQUE,
			ticket_id    TEXT NOT NULL,
			allowed      INTEGER NOT NULL,
			entry        INTEGER NOT NULL,
			entry_number INTEGER NOT NULL,
			day          TEXT NOT NULL,
			at_ms        INTEGER NOT NULL,
			offline      INTEGER NOT NULL,
			payload      BLOB NOT NULL,
			published_ms INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX admissions_ticket ON admissions (ticket_id, day)`,
		`CREATE INDEX admissions_unpublished ON admissions (published_ms, seq)`,
	),
	// The version of each entitlement removed from the bucket, until the
	// ticket has ended: an older value put back must not bring it back.
	sqlitedb.Exec(
		`CREATE TABLE removed (
			ticket_id TEXT PRIMARY KEY,
			version   INTEGER NOT NULL,
			until_ms  INTEGER NOT NULL
		)`,
	),
	// Entry claims the gate made, or is making, that no admission has used
	// yet (see Claim).
	sqlitedb.Exec(
		`CREATE TABLE claims (
			event_id     TEXT PRIMARY KEY,
			ticket_id    TEXT NOT NULL,
			day          TEXT NOT NULL,
			first_entry  INTEGER NOT NULL,
			held         INTEGER NOT NULL DEFAULT 0,
			claim_key    TEXT NOT NULL DEFAULT '',
			entry_number INTEGER NOT NULL DEFAULT 0,
			at_ms        INTEGER NOT NULL,
			until_ms     INTEGER NOT NULL
		)`,
		`CREATE INDEX claims_ticket ON claims (ticket_id, day)`,
	),
	// Where this gate last knew each ticket's holder to be, for
	// anti-passback while NATS is away (see Presence).
	sqlitedb.Exec(
		`CREATE TABLE presence (
			ticket_id TEXT PRIMARY KEY,
			inside    INTEGER NOT NULL,
			at_ms     INTEGER NOT NULL
		)`,
	),
}

// Open opens or creates gate.db in dir.
func Open(ctx context.Context, dir string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "gate.db"), migrations)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: db}, nil
}

// LimitSize caps gate.db at its present size when on, as a full disk
// would: a write that needs more room then fails with "database or disk is
// full". Off lifts the cap. Tests use it to play a full disk on any
// filesystem; the cap lasts until the store is closed.
func (s *Store) LimitSize(ctx context.Context, on bool) error {
	pages := 1 << 30 // 4 TiB of 4 KiB pages: no cap
	if on {
		pages = 1 // a cap below the database's size is taken as its size
	}
	_, err := s.db.Write.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages))
	return err
}

// Close closes the database; safe to call twice.
func (s *Store) Close() error { return s.db.Close() }

// Meta returns the value stored under key, or ErrNotFound.
func (s *Store) Meta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.db.Read.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return v, err
}

// SetMeta stores value under key.
func (s *Store) SetMeta(ctx context.Context, key string, value []byte) error {
	_, err := s.db.Write.ExecContext(ctx,
		`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
