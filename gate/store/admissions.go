package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Admission is a decision to record. Payload is the encoded sgpb.Admission
// that will be published.
type Admission struct {
	EventID     string
	TicketID    string
	Allowed     bool
	Entry       bool // an entry, not an exit
	EntryNumber int
	Day         string // site-local YYYY-MM-DD
	At          time.Time
	Offline     bool
	Payload     []byte
	// Published is when NATS acknowledged the admission, for one sent
	// before it could be written (a full disk); zero otherwise.
	Published time.Time
}

// AddAdmission records a decision in the outbox and, in the same
// transaction, settles the claim made for it (the claim with the same event
// id), so a claim is never used without its admission nor kept after it. It
// is durable when it returns: the publisher sends it later, however long
// NATS is away. Recording an event id twice is an error.
func (s *Store) AddAdmission(ctx context.Context, a Admission) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO admissions (event_id, ticket_id, allowed, entry, entry_number, day, at_ms, offline, payload, published_ms)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.EventID, a.TicketID, a.Allowed, a.Entry, a.EntryNumber, a.Day, a.At.UnixMilli(), a.Offline, a.Payload,
			sqlitedb.Millis(a.Published))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM claims WHERE event_id = ?`, a.EventID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: add admission %s: %w", a.EventID, err)
	}
	return nil
}

// Usage counts the entries this gate admitted for a ticket, in all and on
// day, and returns the highest entry number it gave.
func (s *Store) Usage(ctx context.Context, ticketID, day string) (entries, today, lastNumber int, err error) {
	err = s.db.Read.QueryRowContext(ctx,
		`SELECT count(*), coalesce(sum(day = ?), 0), coalesce(max(entry_number), 0)
		 FROM admissions WHERE ticket_id = ? AND allowed = 1 AND entry = 1`, day, ticketID).
		Scan(&entries, &today, &lastNumber)
	if err != nil {
		err = fmt.Errorf("store: usage of %s: %w", ticketID, err)
	}
	return entries, today, lastNumber, err
}

// UsageByTicket calls fn with the entries this gate admitted of each ticket
// it admitted any of, in all and on day, in one pass: how a gate starts
// knowing which tickets are used up.
func (s *Store) UsageByTicket(ctx context.Context, day string, fn func(ticketID string, entries, today int)) error {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT ticket_id, count(*), coalesce(sum(day = ?), 0)
		 FROM admissions WHERE allowed = 1 AND entry = 1 AND ticket_id != '' GROUP BY ticket_id`, day)
	if err != nil {
		return fmt.Errorf("store: usage by ticket: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var entries, today int
		if err := rows.Scan(&id, &entries, &today); err != nil {
			return fmt.Errorf("store: usage by ticket: %w", err)
		}
		fn(id, entries, today)
	}
	return rows.Err()
}

// Pending is an admission not yet acknowledged by NATS.
type Pending struct {
	Seq     int64
	EventID string
	Payload []byte
}

// Unpublished returns up to limit admissions not yet published recorded
// after seq after (0: from the first), oldest first.
func (s *Store) Unpublished(ctx context.Context, after int64, limit int) ([]Pending, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT seq, event_id, payload FROM admissions WHERE published_ms = 0 AND seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unpublished: %w", err)
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		if err := rows.Scan(&p.Seq, &p.EventID, &p.Payload); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// MarkPublished records that NATS acknowledged the admission.
func (s *Store) MarkPublished(ctx context.Context, seq int64, at time.Time) error {
	_, err := s.db.Write.ExecContext(ctx, `UPDATE admissions SET published_ms = ? WHERE seq = ?`, at.UnixMilli(), seq)
	return err
}

// OutboxDepth is the number of admissions not yet published.
func (s *Store) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM admissions WHERE published_ms = 0`).Scan(&n)
	return n, err
}

// Outbox returns the number of admissions not yet published and when the
// oldest of them was decided (zero when there is none).
func (s *Store) Outbox(ctx context.Context) (depth int, oldest time.Time, err error) {
	var ms int64
	err = s.db.Read.QueryRowContext(ctx,
		`SELECT count(*), coalesce(min(at_ms), 0) FROM admissions WHERE published_ms = 0`).Scan(&depth, &ms)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: outbox: %w", err)
	}
	return depth, sqlitedb.Time(ms), nil
}

// Prune deletes the published admissions decided before before, but keeps
// the allowed entries of tickets still in the mirror: Usage counts them, and
// they go once enroll purges the ticket and it leaves the mirror.
// Admissions not yet published are never pruned.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.Write.ExecContext(ctx,
		`DELETE FROM admissions WHERE published_ms != 0 AND at_ms < ?
		   AND NOT (allowed = 1 AND entry = 1 AND ticket_id IN (SELECT ticket_id FROM entitlements))`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: prune admissions: %w", err)
	}
	return res.RowsAffected()
}

// EventIDs returns the event ids of the admissions the gate holds, published
// or not, in the order they were recorded. After Prune only the recent ones
// are left.
func (s *Store) EventIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT event_id FROM admissions ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("store: event ids: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: event ids: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
