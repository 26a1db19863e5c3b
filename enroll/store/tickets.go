package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Ticket is one visitor's entitlement as enroll keeps it.
type Ticket struct {
	ID      string
	OrderID string
	// Source is who created the order: "apikey:<name>" for an API key,
	// which as a shop key owns the ticket. Read only.
	Source         string
	VisitorIndex   int
	VisitorName    string
	Phone          string
	IDNumberMasked string
	Type           string // single, multi, day_pass, multi_day, annual, timed
	EntriesAllowed int
	EntriesPerDay  int
	ValidFrom      string // civil date, YYYY-MM-DD
	ValidTo        string
	ValidStart     time.Time // first valid instant
	ValidUntil     time.Time // first instant no longer valid
	SlotStart      time.Time // zero unless timed
	SlotEnd        time.Time
	Zones          []string
	Gates          []string
	Revoked        bool
	RevokeReason   string
	RevokedAt      time.Time
	QRTokenID      string
	QRIssuedAt     time.Time
	ConsentAt      time.Time // when the visitor first consented to face processing; zero if never
	ErasedAt       time.Time // biometrics erased; zero while faces are held
	PurgedAt       time.Time // removed from the gates after it ended
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Version        int64
	Faces          []Face
}

// Face is one enrolled face of a ticket: one photo, described by each model
// enroll ran on it.
type Face struct {
	ID          string
	TicketID    string
	Descriptors []Descriptor // by model name, in name order
	Size        int          // face side in pixels in the enrollment photo
	CreatedAt   time.Time
	ConsentAt   time.Time // when the visitor consented to this face's processing
	Photo       *Photo    // only set when the site keeps photos and it was asked for
}

// Descriptor is a face's embedding by one model, of the face aligned one
// way (faces.AlignDlib or faces.AlignFivePoint).
type Descriptor struct {
	Model     string
	Alignment string
	Values    []float32
}

// Models returns the names of the models that described the face, each
// once.
func (f Face) Models() []string {
	names := make([]string, 0, len(f.Descriptors))
	for _, d := range f.Descriptors {
		if !slices.Contains(names, d.Model) {
			names = append(names, d.Model)
		}
	}
	return names
}

// Descriptor returns the face's descriptor by model with alignment, or nil.
func (f Face) Descriptor(model, alignment string) []float32 {
	for _, d := range f.Descriptors {
		if d.Model == model && d.Alignment == alignment {
			return d.Values
		}
	}
	return nil
}

// Photo is an enrollment photo, kept only when the site configures it.
type Photo struct {
	MIME string
	Data []byte
}

const ticketColumns = `ticket_id, order_id,
	(SELECT o.source FROM orders o WHERE o.order_id = tickets.order_id), visitor_index, visitor_name, phone, id_number_masked,
	ticket_type, entries_allowed, entries_per_day, valid_from, valid_to, valid_from_ms, valid_until_ms,
	slot_start_ms, slot_end_ms, zones, gates, revoked, revoke_reason, revoked_ms, qr_token_id,
	qr_issued_ms, consent_ms, erased_ms, purged_ms, created_ms, updated_ms, version`

type scanner interface{ Scan(dest ...any) error }

func scanTicket(row scanner) (Ticket, error) {
	var t Ticket
	var zones, gates string
	var validStart, validUntil, slotStart, slotEnd, revoked, qrIssued, consent, erased, purged, created, updated int64
	err := row.Scan(&t.ID, &t.OrderID, &t.Source, &t.VisitorIndex, &t.VisitorName, &t.Phone, &t.IDNumberMasked,
		&t.Type, &t.EntriesAllowed, &t.EntriesPerDay, &t.ValidFrom, &t.ValidTo, &validStart, &validUntil,
		&slotStart, &slotEnd, &zones, &gates, &t.Revoked, &t.RevokeReason, &revoked, &t.QRTokenID,
		&qrIssued, &consent, &erased, &purged, &created, &updated, &t.Version)
	if err != nil {
		return Ticket{}, err
	}
	t.ValidStart, t.ValidUntil = sqlitedb.Time(validStart), sqlitedb.Time(validUntil)
	t.SlotStart, t.SlotEnd = sqlitedb.Time(slotStart), sqlitedb.Time(slotEnd)
	t.RevokedAt, t.QRIssuedAt, t.ConsentAt = sqlitedb.Time(revoked), sqlitedb.Time(qrIssued), sqlitedb.Time(consent)
	t.ErasedAt, t.PurgedAt = sqlitedb.Time(erased), sqlitedb.Time(purged)
	t.CreatedAt, t.UpdatedAt = sqlitedb.Time(created), sqlitedb.Time(updated)
	if err := json.Unmarshal([]byte(zones), &t.Zones); err != nil {
		return Ticket{}, fmt.Errorf("zones of %s: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(gates), &t.Gates); err != nil {
		return Ticket{}, fmt.Errorf("gates of %s: %w", t.ID, err)
	}
	return t, nil
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Ticket returns a ticket with its faces, or ErrNotFound.
func (s *Store) Ticket(ctx context.Context, id string) (Ticket, error) {
	return ticketWithFaces(ctx, s.db.Read, id)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func ticketWithFaces(ctx context.Context, q querier, id string) (Ticket, error) {
	t, err := scanTicket(q.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE ticket_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, fmt.Errorf("store: ticket %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Ticket{}, fmt.Errorf("store: load ticket %q: %w", id, err)
	}
	t.Faces, err = facesOf(ctx, q, id)
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}

// TicketQuery filters SearchTickets. Empty fields do not filter.
type TicketQuery struct {
	// Source keeps the tickets of orders created by this source (a shop
	// key's "apikey:<name>").
	Source  string
	OrderID string
	// Text matches a ticket id or order id exactly, a name by prefix, or
	// a phone number by its last digits.
	Text string
	// ValidOn keeps tickets valid at some instant of the site-local day
	// [ValidOnStart, ValidOnEnd).
	ValidOnStart, ValidOnEnd time.Time
	Limit, Offset            int
}

// SearchTickets returns one page of matching tickets (without faces), newest
// first, and the number of matches in all.
func (s *Store) SearchTickets(ctx context.Context, q TicketQuery) ([]Ticket, int, error) {
	var where []string
	var args []any
	if q.Source != "" {
		where = append(where, `order_id IN (SELECT order_id FROM orders WHERE source = ?)`)
		args = append(args, q.Source)
	}
	if q.OrderID != "" {
		where = append(where, `order_id = ?`)
		args = append(args, q.OrderID)
	}
	if q.Text != "" {
		where = append(where, `(ticket_id = ? OR order_id = ? OR visitor_name LIKE ? ESCAPE '\' OR (length(?) >= 4 AND phone LIKE ? ESCAPE '\'))`)
		like := escapeLike(q.Text)
		args = append(args, q.Text, q.Text, like+"%", q.Text, "%"+like)
	}
	if !q.ValidOnStart.IsZero() {
		where = append(where, `valid_from_ms < ? AND valid_until_ms > ?`)
		args = append(args, sqlitedb.Millis(q.ValidOnEnd), sqlitedb.Millis(q.ValidOnStart))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM tickets`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count tickets: %w", err)
	}
	limit := q.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT `+ticketColumns+` FROM tickets`+cond+` ORDER BY created_ms DESC, ticket_id LIMIT ? OFFSET ?`,
		append(args, limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: search tickets: %w", err)
	}
	defer rows.Close()
	tickets := []Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: search tickets: %w", err)
		}
		tickets = append(tickets, t)
	}
	return tickets, total, rows.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Revoke marks a ticket revoked for reason. With erase, its faces (and
// photos) are deleted in the same transaction. Revoking a revoked ticket
// changes nothing and returns it as it is.
func (s *Store) Revoke(ctx context.Context, id, reason, actor string, erase bool) (Ticket, error) {
	return s.change(ctx, id, func(tx *sql.Tx, t Ticket, now int64) (bool, error) {
		if t.Revoked {
			return false, nil
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE tickets SET revoked = 1, revoke_reason = ?, revoked_ms = ? WHERE ticket_id = ?`,
			reason, now, id); err != nil {
			return false, err
		}
		if erase && len(t.Faces) > 0 {
			if err := eraseFaces(ctx, tx, id, now); err != nil {
				return false, err
			}
		}
		detail := map[string]any{"reason": reason, "faces_erased": erase && len(t.Faces) > 0}
		return true, audit(ctx, tx, now, actor, "ticket.revoke", id, t.OrderID, detail)
	})
}

// EraseBiometrics deletes a ticket's faces and photos; the ticket stays
// usable by QR code. Erasing a ticket without faces changes nothing.
func (s *Store) EraseBiometrics(ctx context.Context, id, actor, why string) (Ticket, error) {
	return s.change(ctx, id, func(tx *sql.Tx, t Ticket, now int64) (bool, error) {
		if len(t.Faces) == 0 {
			return false, nil
		}
		if err := eraseFaces(ctx, tx, id, now); err != nil {
			return false, err
		}
		return true, audit(ctx, tx, now, actor, "ticket.erase_biometrics", id, t.OrderID,
			map[string]any{"faces": len(t.Faces), "why": why})
	})
}

// ReissueQR gives a ticket a new QR token id, which retires its printed QR
// code everywhere once published: gates refuse a token whose id is not the
// ticket's. A revoked ticket gives ErrRevoked, an ended or purged one
// ErrEnded.
func (s *Store) ReissueQR(ctx context.Context, id, tokenID, actor, why string) (Ticket, error) {
	return s.change(ctx, id, func(tx *sql.Tx, t Ticket, now int64) (bool, error) {
		switch {
		case t.Revoked:
			return false, fmt.Errorf("store: ticket %q: %w", id, ErrRevoked)
		case !t.PurgedAt.IsZero() || sqlitedb.Millis(t.ValidUntil) <= now:
			return false, fmt.Errorf("store: ticket %q: %w", id, ErrEnded)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE tickets SET qr_token_id = ?, qr_issued_ms = ? WHERE ticket_id = ?`, tokenID, now, id); err != nil {
			return false, err
		}
		return true, audit(ctx, tx, now, actor, "ticket.qr_reissue", id, t.OrderID,
			map[string]any{"old_token": t.QRTokenID, "new_token": tokenID, "why": why})
	})
}

// change loads a ticket in a write transaction and lets fn change it. When fn
// reports a change, the ticket's version and time are bumped and an outbox
// row queues it for publishing. It returns the ticket as it is afterwards.
func (s *Store) change(ctx context.Context, id string, fn func(tx *sql.Tx, t Ticket, now int64) (bool, error)) (Ticket, error) {
	var out Ticket
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, err := ticketWithFaces(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.now().UnixMilli()
		changed, err := fn(tx, t, now)
		if err != nil {
			return err
		}
		if changed {
			if err := touch(ctx, tx, id, now); err != nil {
				return err
			}
		}
		out, err = ticketWithFaces(ctx, tx, id)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Ticket{}, err
		}
		return Ticket{}, fmt.Errorf("store: change ticket %q: %w", id, err)
	}
	return out, nil
}

func touch(ctx context.Context, tx *sql.Tx, id string, now int64) error {
	if _, err := tx.ExecContext(ctx,
		`UPDATE tickets SET version = version + 1, updated_ms = ? WHERE ticket_id = ?`, now, id); err != nil {
		return err
	}
	return enqueue(ctx, tx, id, "put", now)
}

func eraseFaces(ctx context.Context, tx *sql.Tx, id string, now int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM faces WHERE ticket_id = ?`, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE tickets SET erased_ms = ? WHERE ticket_id = ?`, now, id)
	return err
}
