package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// PurgeEnded erases the faces and photos of tickets that ended at or before
// cutoff, and queues their removal from the gates. It returns how many
// tickets it purged. Each ticket is purged once.
func (s *Store) PurgeEnded(ctx context.Context, cutoff time.Time, actor string) (int, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT ticket_id FROM tickets WHERE purged_ms = 0 AND valid_until_ms <= ? LIMIT 1000`, sqlitedb.Millis(cutoff))
	if err != nil {
		return 0, fmt.Errorf("store: purge: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	n := 0
	for _, id := range ids {
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			now := s.now().UnixMilli()
			var orderID string
			var faces int
			if err := tx.QueryRowContext(ctx,
				`SELECT order_id, (SELECT count(*) FROM faces WHERE ticket_id = ?) FROM tickets WHERE ticket_id = ? AND purged_ms = 0`,
				id, id).Scan(&orderID, &faces); err != nil {
				return err
			}
			if err := eraseFaces(ctx, tx, id, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE tickets SET purged_ms = ?, version = version + 1, updated_ms = ? WHERE ticket_id = ?`,
				now, now, id); err != nil {
				return err
			}
			if err := enqueue(ctx, tx, id, "purge", now); err != nil {
				return err
			}
			return audit(ctx, tx, now, actor, "ticket.purge", id, orderID, map[string]any{"faces": faces})
		})
		if err != nil {
			return n, fmt.Errorf("store: purge ticket %q: %w", id, err)
		}
		n++
	}
	return n, nil
}
