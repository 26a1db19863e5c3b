package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/proto/sgpb"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Entitlement is the part of a ticket's sgpb.Entitlement that staff screens
// need. Face descriptors are deliberately not kept.
type Entitlement struct {
	TicketID       string
	OrderID        string
	VisitorName    string
	TicketType     sgpb.TicketType
	EntriesAllowed int
	EntriesPerDay  int
	ValidFrom      time.Time
	ValidUntil     time.Time
	Revoked        bool
	RevokeReason   string
	Version        int64
	UpdatedAt      time.Time
	Revision       uint64 // the ENTITLEMENTS bucket revision it came with
}

// EntitlementFromProto keeps what the mirror needs of e.
func EntitlementFromProto(e *sgpb.Entitlement, revision uint64) Entitlement {
	return Entitlement{
		TicketID: e.GetTicketId(), OrderID: e.GetOrderId(), VisitorName: e.GetVisitorName(),
		TicketType: e.GetTicketType(), EntriesAllowed: int(e.GetEntriesAllowed()), EntriesPerDay: int(e.GetEntriesPerDay()),
		ValidFrom: sqlitedb.Time(e.GetValidFromMs()), ValidUntil: sqlitedb.Time(e.GetValidUntilMs()),
		Revoked: e.GetRevoked(), RevokeReason: e.GetRevokeReason(), Version: e.GetVersion(),
		UpdatedAt: sqlitedb.Time(e.GetUpdatedAtMs()), Revision: revision,
	}
}

// CursorEntitlements names the cursor holding the last ENTITLEMENTS bucket
// revision materialised.
const CursorEntitlements = "entitlements_rev"

// EntitlementChange is one change of the ENTITLEMENTS bucket: a put of
// Entitlement, or, when Deleted, the removal of TicketID (a delete or purge).
type EntitlementChange struct {
	TicketID    string
	Deleted     bool
	Entitlement Entitlement
}

// ApplyEntitlements applies changes in order and moves the entitlements
// cursor to revision, all in one transaction.
func (s *Store) ApplyEntitlements(ctx context.Context, changes []EntitlementChange, revision uint64) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, c := range changes {
			if err := applyEntitlement(ctx, tx, c); err != nil {
				return fmt.Errorf("%s: %w", c.TicketID, err)
			}
		}
		return setCursor(ctx, tx, CursorEntitlements, revision)
	})
	if err != nil {
		return fmt.Errorf("store: apply entitlements: %w", err)
	}
	return nil
}

func applyEntitlement(ctx context.Context, tx *sql.Tx, c EntitlementChange) error {
	if c.Deleted {
		_, err := tx.ExecContext(ctx, `DELETE FROM entitlements WHERE ticket_id = ?`, c.TicketID)
		return err
	}
	e := c.Entitlement
	_, err := tx.ExecContext(ctx, `
		INSERT INTO entitlements (ticket_id, order_id, visitor_name, ticket_type, entries_allowed, entries_per_day,
			valid_from_ms, valid_until_ms, revoked, revoke_reason, version, updated_at_ms, revision)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (ticket_id) DO UPDATE SET
			order_id = excluded.order_id, visitor_name = excluded.visitor_name, ticket_type = excluded.ticket_type,
			entries_allowed = excluded.entries_allowed, entries_per_day = excluded.entries_per_day,
			valid_from_ms = excluded.valid_from_ms, valid_until_ms = excluded.valid_until_ms,
			revoked = excluded.revoked, revoke_reason = excluded.revoke_reason, version = excluded.version,
			updated_at_ms = excluded.updated_at_ms, revision = excluded.revision`,
		c.TicketID, e.OrderID, e.VisitorName, int32(e.TicketType), e.EntriesAllowed, e.EntriesPerDay,
		sqlitedb.Millis(e.ValidFrom), sqlitedb.Millis(e.ValidUntil), boolInt(e.Revoked), e.RevokeReason, e.Version, sqlitedb.Millis(e.UpdatedAt), e.Revision)
	return err
}

// Entitlement returns a ticket's mirrored entitlement, or ErrNotFound.
func (s *Store) Entitlement(ctx context.Context, ticketID string) (Entitlement, error) {
	var e Entitlement
	var typ int32
	var from, until, updated int64
	err := s.db.Read.QueryRowContext(ctx, `
		SELECT ticket_id, order_id, visitor_name, ticket_type, entries_allowed, entries_per_day,
			valid_from_ms, valid_until_ms, revoked, revoke_reason, version, updated_at_ms, revision
		FROM entitlements WHERE ticket_id = ?`, ticketID).Scan(&e.TicketID, &e.OrderID, &e.VisitorName, &typ,
		&e.EntriesAllowed, &e.EntriesPerDay, &from, &until, &e.Revoked, &e.RevokeReason, &e.Version, &updated, &e.Revision)
	if errors.Is(err, sql.ErrNoRows) {
		return Entitlement{}, fmt.Errorf("store: entitlement %q: %w", ticketID, ErrNotFound)
	}
	if err != nil {
		return Entitlement{}, fmt.Errorf("store: entitlement %q: %w", ticketID, err)
	}
	e.TicketType, e.ValidFrom, e.ValidUntil, e.UpdatedAt = sgpb.TicketType(typ), sqlitedb.Time(from), sqlitedb.Time(until), sqlitedb.Time(updated)
	return e, nil
}

// EntitlementCount returns how many tickets the mirror holds.
func (s *Store) EntitlementCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM entitlements`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: entitlement count: %w", err)
	}
	return n, nil
}
