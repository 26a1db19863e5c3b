package store

import (
	"context"
	"database/sql"
	"fmt"
)

// OutboxItem is a change still to be published to the ENTITLEMENTS bucket.
type OutboxItem struct {
	Seq      int64
	TicketID string
	Op       string // "put" or "purge"
}

func enqueue(ctx context.Context, tx *sql.Tx, ticketID, op string, now int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox (ticket_id, op, created_ms) VALUES (?, ?, ?)`, ticketID, op, now)
	return err
}

// Outbox returns the oldest pending changes, at most limit, oldest first.
func (s *Store) Outbox(ctx context.Context, limit int) ([]OutboxItem, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT seq, ticket_id, op FROM outbox ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	defer rows.Close()
	var items []OutboxItem
	for rows.Next() {
		var it OutboxItem
		if err := rows.Scan(&it.Seq, &it.TicketID, &it.Op); err != nil {
			return nil, fmt.Errorf("store: outbox: %w", err)
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// OutboxDone removes the ticket's pending changes up to and including seq:
// publishing the ticket's state as it is now covers all of them.
func (s *Store) OutboxDone(ctx context.Context, ticketID string, seq int64) error {
	_, err := s.db.Write.ExecContext(ctx, `DELETE FROM outbox WHERE ticket_id = ? AND seq <= ?`, ticketID, seq)
	if err != nil {
		return fmt.Errorf("store: outbox done: %w", err)
	}
	return nil
}

// OutboxDepth is the number of changes not yet published.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}

// RepublishAll queues every ticket not purged for publishing again, so the
// bucket holds each one as enroll would publish it now — signed with its
// current key. It returns how many it queued.
func (s *Store) RepublishAll(ctx context.Context) (int, error) {
	res, err := s.db.Write.ExecContext(ctx,
		`INSERT INTO outbox (ticket_id, op, created_ms) SELECT ticket_id, 'put', ? FROM tickets WHERE purged_ms = 0`,
		s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: republish all: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
