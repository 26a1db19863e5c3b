package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

const keyRevision = "entitlements_revision"

// Change is one entry of the ENTITLEMENTS bucket to apply: a put with the
// signed entitlement as it came from the bucket, or a removal (Data nil).
type Change struct {
	TicketID string
	Data     []byte
	Revision uint64
	// Version and Until, for a removal, are the version and the end of the
	// entitlement removed; Removed then returns them until Until.
	Version int64
	Until   time.Time
}

// Apply stores a batch of changes and the revision they bring the mirror to,
// in one transaction, so the mirror and its revision never disagree. When
// the batch removed or replaced an entitlement — whose faces may have been
// erased or purged — it then empties the database's write-ahead log, so the
// old descriptors survive nowhere on the gate's disk; if readers hold the
// log up, the change stands and the next Scrub catches up.
func (s *Store) Apply(ctx context.Context, changes []Change, revision uint64) error {
	var replaced bool
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		replaced = false
		// Each statement is prepared once per batch: a gate catching up
		// with a large bucket applies hundreds of thousands of changes.
		st := statements{tx: tx}
		defer st.close()
		for _, c := range changes {
			var err error
			if c.Data == nil {
				var res sql.Result
				res, err = st.exec(ctx, `DELETE FROM entitlements WHERE ticket_id = ?`, c.TicketID)
				if err == nil {
					n, _ := res.RowsAffected()
					replaced = replaced || n > 0
				}
				if err == nil && c.Version > 0 {
					_, err = st.exec(ctx,
						`INSERT INTO removed (ticket_id, version, until_ms) VALUES (?, ?, ?)
						 ON CONFLICT (ticket_id) DO UPDATE SET version = max(version, excluded.version), until_ms = excluded.until_ms`,
						c.TicketID, c.Version, sqlitedb.Millis(c.Until))
				}
			} else {
				var held int
				err = st.queryRow(ctx, `SELECT count(*) FROM entitlements WHERE ticket_id = ?`, c.TicketID).Scan(&held)
				replaced = replaced || held > 0
				if err == nil {
					_, err = st.exec(ctx,
						`INSERT INTO entitlements (ticket_id, data, revision) VALUES (?, ?, ?)
						 ON CONFLICT (ticket_id) DO UPDATE SET data = excluded.data, revision = excluded.revision`,
						c.TicketID, c.Data, c.Revision)
				}
				if err == nil {
					_, err = st.exec(ctx, `DELETE FROM removed WHERE ticket_id = ?`, c.TicketID)
				}
			}
			if err != nil {
				return fmt.Errorf("store: apply %s: %w", c.TicketID, err)
			}
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			keyRevision, []byte(strconv.FormatUint(revision, 10)))
		return err
	})
	if err == nil && replaced {
		s.Scrub(ctx)
	}
	return err
}

// statements prepares each query of a transaction the first time it is run
// and reuses it after.
type statements struct {
	tx       *sql.Tx
	prepared map[string]*sql.Stmt
}

func (s *statements) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.prepared[query]; ok {
		return st, nil
	}
	st, err := s.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.prepared == nil {
		s.prepared = map[string]*sql.Stmt{}
	}
	s.prepared[query] = st
	return st, nil
}

func (s *statements) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRow is QueryRowContext with a prepared statement; a failure to
// prepare comes out of Scan.
func (s *statements) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *statements) close() {
	for _, st := range s.prepared {
		st.Close()
	}
}

type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Scrub empties the write-ahead log into the database. With secure_delete,
// removed entitlements are zeros in the database, and afterwards no older
// log frame holds them either. It fails with sqlitedb.ErrCheckpointBusy
// while readers hold the log; a later Scrub catches up.
func (s *Store) Scrub(ctx context.Context) error { return s.db.Checkpoint(ctx) }

// Reset empties the mirror, for a full resynchronisation.
func (s *Store) Reset(ctx context.Context) error {
	defer s.Scrub(ctx)
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM entitlements`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM removed`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, keyRevision)
		return err
	})
}

// Revision returns the bucket revision the mirror has applied (0: none).
func (s *Store) Revision(ctx context.Context) (uint64, error) {
	v, err := s.Meta(ctx, keyRevision)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(string(v), 10, 64)
}

// Entitlements calls fn with every stored entitlement.
func (s *Store) Entitlements(ctx context.Context, fn func(ticketID string, data []byte) error) error {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT ticket_id, data FROM entitlements`)
	if err != nil {
		return fmt.Errorf("store: entitlements: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return err
		}
		if err := fn(id, data); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Entitlement returns the stored entitlement of a ticket, or ErrNotFound.
func (s *Store) Entitlement(ctx context.Context, ticketID string) ([]byte, error) {
	var data []byte
	err := s.db.Read.QueryRowContext(ctx, `SELECT data FROM entitlements WHERE ticket_id = ?`, ticketID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: entitlement %q: %w", ticketID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: entitlement %q: %w", ticketID, err)
	}
	return data, nil
}

// Removed calls fn with the version of every removed entitlement whose
// ticket ends after now, and forgets the others.
func (s *Store) Removed(ctx context.Context, now time.Time, fn func(ticketID string, version int64)) error {
	if _, err := s.db.Write.ExecContext(ctx, `DELETE FROM removed WHERE until_ms <= ?`, sqlitedb.Millis(now)); err != nil {
		return fmt.Errorf("store: removed: %w", err)
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT ticket_id, version FROM removed`)
	if err != nil {
		return fmt.Errorf("store: removed: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var version int64
		if err := rows.Scan(&id, &version); err != nil {
			return err
		}
		fn(id, version)
	}
	return rows.Err()
}
