package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// NewOrder is a paid order to turn into tickets, one per visitor. IDs, the
// validity instants and the faces are worked out by the caller.
type NewOrder struct {
	OrderID     string
	RequestHash string // identifies the order's content, for idempotent replays
	Source      string // the API key's name
	Tickets     []NewTicket
}

// NewTicket is one visitor's ticket within a NewOrder. VisitorIndex is its
// place in the order, which together with the order id makes a replay find
// the same ticket.
type NewTicket struct {
	Ticket
	Faces []NewFace
}

// CreateOrder stores an order and its tickets in one transaction. When the
// order id exists already it stores nothing: from the same source with the
// same RequestHash it returns the existing tickets and created=false (a
// replay); with a different hash, or from another source, it returns
// ErrOrderConflict.
func (s *Store) CreateOrder(ctx context.Context, o NewOrder) (tickets []Ticket, created bool, err error) {
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var hash, source string
		err := tx.QueryRowContext(ctx, `SELECT request_hash, source FROM orders WHERE order_id = ?`, o.OrderID).Scan(&hash, &source)
		switch {
		case err == nil && hash == o.RequestHash && source == o.Source:
			tickets, err = orderTickets(ctx, tx, o.OrderID)
			return err
		case err == nil:
			return fmt.Errorf("store: order %q: %w", o.OrderID, ErrOrderConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: look up order %q: %w", o.OrderID, err)
		}
		now := s.now().UnixMilli()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO orders (order_id, request_hash, source, created_ms) VALUES (?, ?, ?, ?)`,
			o.OrderID, o.RequestHash, o.Source, now); err != nil {
			return fmt.Errorf("store: insert order: %w", err)
		}
		for _, nt := range o.Tickets {
			if err := insertTicket(ctx, tx, o.OrderID, nt, now); err != nil {
				return fmt.Errorf("store: insert ticket %d of order %q: %w", nt.VisitorIndex, o.OrderID, err)
			}
			detail := map[string]any{"visitor_index": nt.VisitorIndex, "type": nt.Type, "faces": len(nt.Faces)}
			if err := audit(ctx, tx, now, o.Source, "ticket.create", nt.ID, o.OrderID, detail); err != nil {
				return err
			}
		}
		created = true
		tickets, err = orderTickets(ctx, tx, o.OrderID)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return tickets, created, nil
}

// StoredOrder is what the store keeps of an order itself.
type StoredOrder struct {
	Hash   string // identifies the order's content
	Source string // who created it: "apikey:<name>" for an API key
}

// Order returns a stored order, or ErrNotFound. It lets a replay be
// answered before any photo is looked at.
func (s *Store) Order(ctx context.Context, orderID string) (StoredOrder, error) {
	var o StoredOrder
	err := s.db.Read.QueryRowContext(ctx, `SELECT request_hash, source FROM orders WHERE order_id = ?`, orderID).Scan(&o.Hash, &o.Source)
	if errors.Is(err, sql.ErrNoRows) {
		return StoredOrder{}, fmt.Errorf("store: order %q: %w", orderID, ErrNotFound)
	}
	return o, err
}

// OrderHash returns the stored content hash of an order, or ErrNotFound.
func (s *Store) OrderHash(ctx context.Context, orderID string) (string, error) {
	o, err := s.Order(ctx, orderID)
	return o.Hash, err
}

// OrderTickets returns an order's tickets with their faces, by visitor index.
func (s *Store) OrderTickets(ctx context.Context, orderID string) ([]Ticket, error) {
	return orderTickets(ctx, s.db.Read, orderID)
}

func orderTickets(ctx context.Context, q querier, orderID string) ([]Ticket, error) {
	rows, err := q.QueryContext(ctx, `SELECT ticket_id FROM tickets WHERE order_id = ? ORDER BY visitor_index`, orderID)
	if err != nil {
		return nil, fmt.Errorf("store: tickets of order %q: %w", orderID, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	tickets := make([]Ticket, 0, len(ids))
	for _, id := range ids {
		t, err := ticketWithFaces(ctx, q, id)
		if err != nil {
			return nil, err
		}
		tickets = append(tickets, t)
	}
	return tickets, nil
}

func insertTicket(ctx context.Context, tx *sql.Tx, orderID string, nt NewTicket, now int64) error {
	t := nt.Ticket
	_, err := tx.ExecContext(ctx, `INSERT INTO tickets (
			ticket_id, order_id, visitor_index, visitor_name, phone, id_number_masked, ticket_type,
			entries_allowed, entries_per_day, valid_from, valid_to, valid_from_ms, valid_until_ms,
			slot_start_ms, slot_end_ms, zones, gates, qr_token_id, qr_issued_ms, consent_ms,
			created_ms, updated_ms, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		t.ID, orderID, t.VisitorIndex, t.VisitorName, t.Phone, t.IDNumberMasked, t.Type,
		t.EntriesAllowed, t.EntriesPerDay, t.ValidFrom, t.ValidTo, sqlitedb.Millis(t.ValidStart), sqlitedb.Millis(t.ValidUntil),
		sqlitedb.Millis(t.SlotStart), sqlitedb.Millis(t.SlotEnd), jsonList(t.Zones), jsonList(t.Gates), t.QRTokenID, sqlitedb.Millis(t.QRIssuedAt),
		sqlitedb.Millis(t.ConsentAt), now, now)
	if err != nil {
		return err
	}
	if err := insertFaces(ctx, tx, t.ID, nt.Faces, now); err != nil {
		return err
	}
	return enqueue(ctx, tx, t.ID, "put", now)
}
