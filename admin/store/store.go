// Package store is admin's SQLite database: staff accounts, their sessions,
// the audit log, and what admin materialises from NATS — every admission,
// the entitlements mirror (names and validity only, never faces), the last
// heartbeat of each gate, offline-use conflicts, and the stream positions it
// resumes from.
//
// Methods take the current time as an argument where it matters, so the
// callers' clock decides (tests inject one); the store itself never reads
// the wall clock.
package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Sentinel errors; callers check them with errors.Is.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicateName: a user with that name exists already.
	ErrDuplicateName = errors.New("store: name already in use")
)

// Store is admin's database. It is safe for concurrent use.
type Store struct {
	db *sqlitedb.DB
}

// FileName is the database's name inside the data folder.
const FileName = "admin.db"

// Open opens or creates admin.db in dir and brings its schema up to date. It
// refuses a database written by a newer release (sqlitedb.ErrSchemaTooNew).
func Open(ctx context.Context, dir string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, FileName), migrations)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database; safe to call twice.
func (s *Store) Close() error { return s.db.Close() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
