package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

const keyRevision = "entitlements_revision"

// Change is one entry of the ENTITLEMENTS bucket to apply: a put with the
// encoded entitlement, or a removal (Data nil).
type Change struct {
	TicketID string
	Data     []byte
	Revision uint64
}

// Apply stores a batch of changes and the revision they bring the mirror to,
// in one transaction, so the mirror and its revision never disagree.
func (s *Store) Apply(ctx context.Context, changes []Change, revision uint64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, c := range changes {
			var err error
			if c.Data == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM entitlements WHERE ticket_id = ?`, c.TicketID)
			} else {
				_, err = tx.ExecContext(ctx,
					`INSERT INTO entitlements (ticket_id, data, revision) VALUES (?, ?, ?)
					 ON CONFLICT (ticket_id) DO UPDATE SET data = excluded.data, revision = excluded.revision`,
					c.TicketID, c.Data, c.Revision)
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
}

// Reset empties the mirror, for a full resynchronisation.
func (s *Store) Reset(ctx context.Context) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM entitlements`); err != nil {
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
