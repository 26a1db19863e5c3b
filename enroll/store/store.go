// Package store is enroll's SQLite database: orders, tickets, face
// descriptors, API keys, the audit log and the outbox of changes still to be
// published to NATS.
//
// Every change to a ticket writes, in the same transaction, the change itself,
// an audit row and an outbox row, so the database and the ENTITLEMENTS bucket
// cannot drift apart: whatever is committed here is published, even after a
// crash or while NATS is away.
package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Sentinel errors; handlers check them with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrOrderConflict = errors.New("order exists with different content")
	ErrDuplicateName = errors.New("name already in use")
	ErrRevoked       = errors.New("ticket is revoked")
	// ErrEnded: the ticket's validity is over or it was purged, so it
	// takes no new faces and no new QR code.
	ErrEnded = errors.New("ticket has ended")
)

// Store is enroll's database. It is safe for concurrent use.
type Store struct {
	db  *sqlitedb.DB
	now func() time.Time
}

// Open opens or creates enroll.db in dir and migrates it.
func Open(ctx context.Context, dir string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "enroll.db"), migrations)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{db: db, now: time.Now}, nil
}

// Scrub empties the write-ahead log into the database after an erase or a
// purge: with secure_delete the erased rows are zeros in the database, and
// afterwards no older log frame holds them either. It fails with
// sqlitedb.ErrCheckpointBusy while readers hold the log; the next Scrub
// catches up.
func (s *Store) Scrub(ctx context.Context) error { return s.db.Checkpoint(ctx) }

// Close closes the database; safe to call twice.
func (s *Store) Close() error { return s.db.Close() }

// SetClock replaces the clock, for tests of retention.
func (s *Store) SetClock(now func() time.Time) { s.now = now }
