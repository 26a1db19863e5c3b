package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// AuditEntry is one row of the audit log: who did what to which ticket.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Actor    string // "apikey:<name>", "system", "cli"
	Action   string // "order.create", "ticket.revoke", ...
	TicketID string
	OrderID  string
	Detail   string // JSON
}

func audit(ctx context.Context, tx *sql.Tx, now int64, actor, action, ticketID, orderID string, detail any) error {
	d := ""
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
		d = string(b)
	}
	_, err := tx.ExecContext(ctx,
		`INSERT INTO audit (at_ms, actor, action, ticket_id, order_id, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		now, actor, action, ticketID, orderID, d)
	return err
}

// AuditReads records that actor was shown the personal data of tickets:
// one row per ticket, with action (such as "ticket.read" or
// "ticket.search") and detail, so each ticket's audit log tells who saw it.
// With no tickets it records one row without a ticket id, so that a search
// that found nothing is on record too.
func (s *Store) AuditReads(ctx context.Context, actor, action string, tickets []Ticket, detail any) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now().UnixMilli()
		if len(tickets) == 0 {
			return audit(ctx, tx, now, actor, action, "", "", detail)
		}
		for _, t := range tickets {
			if err := audit(ctx, tx, now, actor, action, t.ID, t.OrderID, detail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

// Audit returns the audit rows of a ticket (all rows when ticketID is
// empty), newest first, at most limit of them.
func (s *Store) Audit(ctx context.Context, ticketID string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT id, at_ms, actor, action, ticket_id, order_id, detail FROM audit
		 WHERE ? = '' OR ticket_id = ? ORDER BY id DESC LIMIT ?`, ticketID, ticketID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var a AuditEntry
		var at int64
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.Action, &a.TicketID, &a.OrderID, &a.Detail); err != nil {
			return nil, fmt.Errorf("store: audit: %w", err)
		}
		a.At = sqlitedb.Time(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
