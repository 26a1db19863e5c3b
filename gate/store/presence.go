package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Presence is where the gate last knew a ticket's holder to be: inside
// since At, or outside.
type Presence struct {
	Inside bool
	At     time.Time
}

// Presence returns what the gate knows of a ticket's holder; ok is false
// when it knows nothing.
func (s *Store) Presence(ctx context.Context, ticketID string) (p Presence, ok bool, err error) {
	var inside bool
	var at int64
	err = s.db.Read.QueryRowContext(ctx, `SELECT inside, at_ms FROM presence WHERE ticket_id = ?`, ticketID).Scan(&inside, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Presence{}, false, nil
	}
	if err != nil {
		return Presence{}, false, fmt.Errorf("store: presence of %q: %w", ticketID, err)
	}
	return Presence{Inside: inside, At: sqlitedb.Time(at)}, true, nil
}

// SetPresence records where a ticket's holder is, unless the gate already
// knows of a later change.
func (s *Store) SetPresence(ctx context.Context, ticketID string, p Presence) error {
	_, err := s.db.Write.ExecContext(ctx, `
		INSERT INTO presence (ticket_id, inside, at_ms) VALUES (?, ?, ?)
		ON CONFLICT (ticket_id) DO UPDATE SET inside = excluded.inside, at_ms = excluded.at_ms
		WHERE excluded.at_ms >= presence.at_ms`,
		ticketID, p.Inside, sqlitedb.Millis(p.At))
	if err != nil {
		return fmt.Errorf("store: presence of %q: %w", ticketID, err)
	}
	return nil
}

// PrunePresence forgets marks older than before: they decide nothing.
func (s *Store) PrunePresence(ctx context.Context, before time.Time) error {
	_, err := s.db.Write.ExecContext(ctx, `DELETE FROM presence WHERE at_ms < ?`, sqlitedb.Millis(before))
	return err
}
