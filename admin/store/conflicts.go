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

// Conflict is an entry of a ticket that was admitted more than once.
//
// # The rule
//
// A gate numbers each entry it allows (Admission.entry_number: 1 for the
// ticket's first entry, 2 for the second, ...) from the entries it knows of.
// Online gates share that knowledge, and single-use entries are even claimed
// in the REDEMPTIONS bucket, so two allowed entries of one ticket carry the
// same number only when gates decided without seeing each other — typically
// while offline. admin therefore opens a conflict for (ticket, entry number)
// as soon as it holds two or more admissions, with distinct event ids, that
//
//   - were allowed (DECISION_ALLOW),
//   - at an entry (direction ENTRY or unspecified; exits never count),
//   - not opened by staff (method MANUAL is a person's decision, not a use of
//     the ticket),
//   - for an identified ticket (ticket id set) with entry number ≥ 1,
//
// unless the entitlements mirror shows the ticket allows unlimited entries
// (DAY_PASS, or MULTI_DAY / ANNUAL with entries_per_day 0): for those a
// repeated number is no double use. A ticket not (yet) in the mirror is
// flagged, the safe side.
//
// There is one conflict per (ticket, entry number). A further admission with
// the same number updates its count and, if staff had resolved it, reopens
// it: they have not seen that admission yet.
type Conflict struct {
	ID          int64
	TicketID    string
	EntryNumber int
	Admissions  int // how many admissions share the entry number
	FirstAt     time.Time
	LastAt      time.Time
	DetectedAt  time.Time
	ResolvedAt  time.Time // zero while open
	ResolvedBy  string
	Note        string
	VisitorName string // from the mirror; "" when unknown
}

// Open reports whether staff still have to review the conflict.
func (c Conflict) Open() bool { return c.ResolvedAt.IsZero() }

// countsForConflict is the WHERE clause of the admissions the rule counts.
const countsForConflict = `ticket_id = ? AND entry_number = ? AND decision = 1 AND direction != 2 AND method != 4`

func qualifies(a Admission) bool {
	return a.Decision == sgpb.Decision_DECISION_ALLOW && !a.Exit() &&
		a.Method != sgpb.Method_METHOD_MANUAL && a.TicketID != "" && a.EntryNumber >= 1
}

// unlimitedEntries reports whether the mirror says the ticket may enter any
// number of times.
func unlimitedEntries(ctx context.Context, tx *sql.Tx, ticketID string) (bool, error) {
	var typ, perDay int32
	err := tx.QueryRowContext(ctx, `SELECT ticket_type, entries_per_day FROM entitlements WHERE ticket_id = ?`, ticketID).Scan(&typ, &perDay)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch sgpb.TicketType(typ) {
	case sgpb.TicketType_TICKET_TYPE_DAY_PASS:
		return true, nil
	case sgpb.TicketType_TICKET_TYPE_MULTI_DAY, sgpb.TicketType_TICKET_TYPE_ANNUAL:
		return perDay == 0, nil
	}
	return false, nil
}

// checkConflict applies the rule to a newly inserted admission.
func checkConflict(ctx context.Context, tx *sql.Tx, a Admission, now time.Time) (Conflict, bool, error) {
	if !qualifies(a) {
		return Conflict{}, false, nil
	}
	var n int
	var first, last int64
	err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(min(at_ms), 0), coalesce(max(at_ms), 0) FROM admissions WHERE `+countsForConflict,
		a.TicketID, a.EntryNumber).Scan(&n, &first, &last)
	if err != nil || n < 2 {
		return Conflict{}, false, err
	}
	if unlimited, err := unlimitedEntries(ctx, tx, a.TicketID); err != nil || unlimited {
		return Conflict{}, false, err
	}
	c := Conflict{TicketID: a.TicketID, EntryNumber: a.EntryNumber, Admissions: n, FirstAt: sqlitedb.Time(first), LastAt: sqlitedb.Time(last), DetectedAt: now}
	err = tx.QueryRowContext(ctx, `
		INSERT INTO conflicts (ticket_id, entry_number, admissions, first_at_ms, last_at_ms, detected_at_ms)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (ticket_id, entry_number) DO UPDATE SET
			admissions = excluded.admissions, first_at_ms = excluded.first_at_ms, last_at_ms = excluded.last_at_ms,
			resolved_at_ms = 0, resolved_by = ''
		RETURNING id, detected_at_ms, note`,
		c.TicketID, c.EntryNumber, n, first, last, sqlitedb.Millis(now)).Scan(&c.ID, &first, &c.Note)
	c.DetectedAt = sqlitedb.Time(first)
	return c, err == nil, err
}

const conflictColumns = `c.id, c.ticket_id, c.entry_number, c.admissions, c.first_at_ms, c.last_at_ms, c.detected_at_ms,
	c.resolved_at_ms, c.resolved_by, c.note, coalesce(e.visitor_name, '')`

func scanConflict(row interface{ Scan(...any) error }) (Conflict, error) {
	var c Conflict
	var first, last, detected, resolved int64
	err := row.Scan(&c.ID, &c.TicketID, &c.EntryNumber, &c.Admissions, &first, &last, &detected, &resolved, &c.ResolvedBy, &c.Note, &c.VisitorName)
	c.FirstAt, c.LastAt, c.DetectedAt, c.ResolvedAt = sqlitedb.Time(first), sqlitedb.Time(last), sqlitedb.Time(detected), sqlitedb.Time(resolved)
	return c, err
}

// Conflicts returns the open conflicts (open true) or the resolved ones,
// newest first, at most limit.
func (s *Store) Conflicts(ctx context.Context, open bool, limit int) ([]Conflict, error) {
	cond := `c.resolved_at_ms = 0`
	if !open {
		cond = `c.resolved_at_ms != 0`
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+conflictColumns+`
		FROM conflicts c LEFT JOIN entitlements e ON e.ticket_id = c.ticket_id
		WHERE `+cond+` ORDER BY c.last_at_ms DESC, c.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: conflicts: %w", err)
	}
	defer rows.Close()
	out := []Conflict{}
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, fmt.Errorf("store: conflicts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Conflict returns one conflict, or ErrNotFound.
func (s *Store) Conflict(ctx context.Context, id int64) (Conflict, error) {
	c, err := scanConflict(s.db.Read.QueryRowContext(ctx, `SELECT `+conflictColumns+`
		FROM conflicts c LEFT JOIN entitlements e ON e.ticket_id = c.ticket_id WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Conflict{}, fmt.Errorf("store: conflict %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Conflict{}, fmt.Errorf("store: conflict %d: %w", id, err)
	}
	return c, nil
}

// OpenConflicts counts the conflicts still to review.
func (s *Store) OpenConflicts(ctx context.Context) (int, error) {
	var n int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM conflicts WHERE resolved_at_ms = 0`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: open conflicts: %w", err)
	}
	return n, nil
}

// ConflictAdmissions returns the admissions a conflict counts, oldest first.
func (s *Store) ConflictAdmissions(ctx context.Context, c Conflict) ([]Admission, error) {
	return s.queryAdmissions(ctx, `WHERE a.`+countsForConflict+` ORDER BY a.at_ms, a.stream_seq`, c.TicketID, c.EntryNumber)
}

// ResolveConflict marks a conflict reviewed by staff member by with a note.
// An unknown id gives ErrNotFound.
func (s *Store) ResolveConflict(ctx context.Context, id int64, by, note string, now time.Time) error {
	res, err := s.db.Write.ExecContext(ctx,
		`UPDATE conflicts SET resolved_at_ms = ?, resolved_by = ?, note = ? WHERE id = ?`, sqlitedb.Millis(now), by, note, id)
	if err != nil {
		return fmt.Errorf("store: resolve conflict %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: resolve conflict %d: %w", id, ErrNotFound)
	}
	return nil
}
