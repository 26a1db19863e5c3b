package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Claim is an entry claim in the REDEMPTIONS bucket that no recorded
// admission has used yet.
//
// A gate writes one (pending) before it claims an entry and removes it in
// the transaction that records the decision (AddAdmission), so that a gate
// dying between the two finds at its next start what it may have claimed.
// Once the gate has found its own claim in the bucket, the Claim is held:
// the entry is the gate's, no visitor used it, and the next admission of
// the ticket at this gate takes it instead of claiming another. A claim
// that never reached the bucket is dropped.
type Claim struct {
	// EventID is the event id of the admission the claim is for; the
	// claim's value in the bucket names it.
	EventID  string
	TicketID string
	Day      string // the site day the claim was made on
	// FirstEntry is the entry number claimed first: the keys are tried in
	// order from it, so a held claim is found among them.
	FirstEntry int
	// Held: the gate found the claim in the bucket under Key, for entry
	// EntryNumber.
	Held        bool
	Key         string
	EntryNumber int
	At          time.Time
	// Until is when an unused claim is of no more use: its ticket or, for
	// per-day entries, its day has ended.
	Until time.Time
}

// BeginClaim records a claim about to be made.
func (s *Store) BeginClaim(ctx context.Context, c Claim) error {
	_, err := s.db.Write.ExecContext(ctx,
		`INSERT INTO claims (event_id, ticket_id, day, first_entry, at_ms, until_ms) VALUES (?, ?, ?, ?, ?, ?)`,
		c.EventID, c.TicketID, c.Day, c.FirstEntry, sqlitedb.Millis(c.At), sqlitedb.Millis(c.Until))
	if err != nil {
		return fmt.Errorf("store: begin claim %s: %w", c.EventID, err)
	}
	return nil
}

// HoldClaim records that the claim for eventID is in the bucket under key,
// for entry number entry, and unused.
func (s *Store) HoldClaim(ctx context.Context, eventID, key string, entry int) error {
	_, err := s.db.Write.ExecContext(ctx,
		`UPDATE claims SET held = 1, claim_key = ?, entry_number = ? WHERE event_id = ?`, key, entry, eventID)
	if err != nil {
		return fmt.Errorf("store: hold claim %s: %w", eventID, err)
	}
	return nil
}

// DropClaim forgets the claim for eventID: it never reached the bucket.
func (s *Store) DropClaim(ctx context.Context, eventID string) error {
	if _, err := s.db.Write.ExecContext(ctx, `DELETE FROM claims WHERE event_id = ?`, eventID); err != nil {
		return fmt.Errorf("store: drop claim %s: %w", eventID, err)
	}
	return nil
}

const claimColumns = `event_id, ticket_id, day, first_entry, held, claim_key, entry_number, at_ms, until_ms`

func scanClaim(row interface{ Scan(...any) error }) (Claim, error) {
	var c Claim
	var at, until int64
	err := row.Scan(&c.EventID, &c.TicketID, &c.Day, &c.FirstEntry, &c.Held, &c.Key, &c.EntryNumber, &at, &until)
	c.At, c.Until = sqlitedb.Time(at), sqlitedb.Time(until)
	return c, err
}

// Claims returns every claim the gate keeps, oldest first.
func (s *Store) Claims(ctx context.Context) ([]Claim, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+claimColumns+` FROM claims ORDER BY at_ms, event_id`)
	if err != nil {
		return nil, fmt.Errorf("store: claims: %w", err)
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		c, err := scanClaim(rows)
		if err != nil {
			return nil, fmt.Errorf("store: claims: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClaimOf returns the oldest claim kept for a ticket, made on day (any day
// when day is ""), or ErrNotFound.
func (s *Store) ClaimOf(ctx context.Context, ticketID, day string) (Claim, error) {
	c, err := scanClaim(s.db.Read.QueryRowContext(ctx, `SELECT `+claimColumns+` FROM claims
		WHERE ticket_id = ? AND (? = '' OR day = ?) ORDER BY at_ms, event_id LIMIT 1`, ticketID, day, day))
	if errors.Is(err, sql.ErrNoRows) {
		return Claim{}, fmt.Errorf("store: claim of %q: %w", ticketID, ErrNotFound)
	}
	if err != nil {
		return Claim{}, fmt.Errorf("store: claim of %q: %w", ticketID, err)
	}
	return c, nil
}

// PruneClaims forgets the claims that are of no more use at now and
// returns them.
func (s *Store) PruneClaims(ctx context.Context, now time.Time) ([]Claim, error) {
	rows, err := s.db.Write.QueryContext(ctx, `DELETE FROM claims WHERE until_ms <= ? RETURNING `+claimColumns, sqlitedb.Millis(now))
	if err != nil {
		return nil, fmt.Errorf("store: prune claims: %w", err)
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		c, err := scanClaim(rows)
		if err != nil {
			return nil, fmt.Errorf("store: prune claims: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
