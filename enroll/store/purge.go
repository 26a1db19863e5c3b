package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// purgeBatch is how many tickets one purge transaction takes: large enough
// to purge a busy day's tickets quickly, small enough that the single
// writer connection is not held from API requests for long.
const purgeBatch = 500

// PurgeEnded erases the faces and photos of every ticket that ended at or
// before cutoff, and queues their removal from the gates. It runs until
// none is left, in transactions of a few hundred tickets, and returns how
// many it purged; when ctx ends it stops between transactions. Each ticket
// is purged once. Call Scrub afterwards to empty the write-ahead log.
func (s *Store) PurgeEnded(ctx context.Context, cutoff time.Time, actor string) (int, error) {
	n := 0
	for {
		done, err := s.purgeBatch(ctx, sqlitedb.Millis(cutoff), actor)
		n += done
		if err != nil {
			return n, err
		}
		if done < purgeBatch {
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
}

// purgeBatch purges up to purgeBatch tickets in one transaction.
func (s *Store) purgeBatch(ctx context.Context, cutoff int64, actor string) (int, error) {
	n := 0
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx,
			`SELECT t.ticket_id, t.order_id, (SELECT count(*) FROM faces f WHERE f.ticket_id = t.ticket_id)
			 FROM tickets t WHERE t.purged_ms = 0 AND t.valid_until_ms <= ? LIMIT ?`, cutoff, purgeBatch)
		if err != nil {
			return err
		}
		type due struct {
			id, orderID string
			faces       int
		}
		var list []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.orderID, &d.faces); err != nil {
				rows.Close()
				return err
			}
			list = append(list, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := s.now().UnixMilli()
		for _, d := range list {
			if err := eraseFaces(ctx, tx, d.id, now); err != nil {
				return fmt.Errorf("ticket %q: %w", d.id, err)
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE tickets SET purged_ms = ?, version = version + 1, updated_ms = ? WHERE ticket_id = ?`,
				now, now, d.id); err != nil {
				return fmt.Errorf("ticket %q: %w", d.id, err)
			}
			if err := enqueue(ctx, tx, d.id, "purge", now); err != nil {
				return fmt.Errorf("ticket %q: %w", d.id, err)
			}
			if err := audit(ctx, tx, now, actor, "ticket.purge", d.id, d.orderID, map[string]any{"faces": d.faces}); err != nil {
				return fmt.Errorf("ticket %q: %w", d.id, err)
			}
		}
		n = len(list)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge: %w", err)
	}
	return n, nil
}
