package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/sqlitedb"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Conflict is a ticket let in more often than it allows.
//
// # The rule
//
// An admission counts as a use of its ticket when it was allowed
// (DECISION_ALLOW), at an entry (direction ENTRY or unspecified; exits never
// count), not opened by staff (method MANUAL is a person's decision, not a
// use of the ticket), for an identified ticket. admin opens a conflict as
// soon as a ticket has more such admissions than the entitlements mirror
// says it allows:
//
//   - SINGLE and TIMED: one;
//   - MULTI: entries_allowed;
//   - MULTI_DAY and ANNUAL with entries_per_day: that many on each site day
//     (Day names the day);
//   - DAY_PASS, and MULTI_DAY or ANNUAL without a daily limit: any number,
//     so never a conflict.
//
// Online gates claim each limited entry in REDEMPTIONS, so only gates that
// decided offline can go beyond the allowance. The entry numbers offline
// gates give are their own guesses and often collide; a collision alone is
// no conflict. For a ticket not (yet) in the mirror the allowance is
// unknown, and admin falls back to flagging an entry number let through
// twice or more (EntryNumber), the safe side.
//
// There is one conflict per ticket (per ticket and day for daily limits;
// per ticket and entry number for unknown tickets). A further admission
// updates its count and, if staff had resolved it, reopens it: they have not
// seen that admission yet.
type Conflict struct {
	ID       int64
	TicketID string
	// Day is the site day of a daily limit broken, "" otherwise.
	Day string
	// EntryNumber is the entry number let through more than once, for a
	// ticket not in the mirror; 0 for a broken allowance.
	EntryNumber int
	// Allowed is how many entries the ticket allows (on Day).
	Allowed    int
	Admissions int // how many admissions used the ticket (on Day)
	FirstAt    time.Time
	LastAt     time.Time
	DetectedAt time.Time
	ResolvedAt time.Time // zero while open
	ResolvedBy string
	Note       string
	// VisitorName comes from the mirror; "" when unknown.
	VisitorName string
}

// Open reports whether staff still have to review the conflict.
func (c Conflict) Open() bool { return c.ResolvedAt.IsZero() }

// usesTicket is the WHERE clause of the admissions that use a ticket.
const usesTicket = `ticket_id = ? AND decision = 1 AND direction != 2 AND method != 4`

// countsForConflict is the WHERE clause of the admissions a conflict
// counts: those using its ticket, between its first and last admission, and
// for an unknown ticket with its entry number.
const countsForConflict = usesTicket + ` AND at_ms >= ? AND at_ms <= ? AND (? = 0 OR entry_number = ?)`

func qualifies(a Admission) bool {
	return a.Decision == sgpb.Decision_DECISION_ALLOW && !a.Exit() &&
		a.Method != sgpb.Method_METHOD_MANUAL && a.TicketID != ""
}

// allowance is how many entries the mirror says a ticket may use.
type allowance struct {
	known   bool // the ticket is in the mirror
	limited bool // false: any number
	perDay  bool // the limit is per site day
	entries int
}

func allowanceOf(ctx context.Context, tx *sql.Tx, ticketID string) (allowance, error) {
	var typ, entries, perDay int
	err := tx.QueryRowContext(ctx, `SELECT ticket_type, entries_allowed, entries_per_day FROM entitlements WHERE ticket_id = ?`,
		ticketID).Scan(&typ, &entries, &perDay)
	if errors.Is(err, sql.ErrNoRows) {
		return allowance{}, nil
	}
	if err != nil {
		return allowance{}, err
	}
	switch sgpb.TicketType(typ) {
	case sgpb.TicketType_TICKET_TYPE_SINGLE, sgpb.TicketType_TICKET_TYPE_TIMED:
		return allowance{known: true, limited: true, entries: 1}, nil
	case sgpb.TicketType_TICKET_TYPE_MULTI:
		return allowance{known: true, limited: true, entries: max(entries, 1)}, nil
	case sgpb.TicketType_TICKET_TYPE_MULTI_DAY, sgpb.TicketType_TICKET_TYPE_ANNUAL:
		return allowance{known: true, limited: perDay > 0, perDay: true, entries: perDay}, nil
	case sgpb.TicketType_TICKET_TYPE_DAY_PASS:
		return allowance{known: true}, nil
	}
	return allowance{}, nil // a type admin does not know: the safe side
}

// checkConflict applies the rule to a newly inserted admission; site gives
// the site's days.
func checkConflict(ctx context.Context, tx *sql.Tx, a Admission, now time.Time, site rules.Site) (Conflict, bool, error) {
	if !qualifies(a) {
		return Conflict{}, false, nil
	}
	al, err := allowanceOf(ctx, tx, a.TicketID)
	if err != nil || (al.known && !al.limited) {
		return Conflict{}, false, err
	}
	c := Conflict{TicketID: a.TicketID, Allowed: al.entries, DetectedAt: now}
	where, args := usesTicket, []any{a.TicketID}
	switch {
	case !al.known:
		if a.EntryNumber < 1 {
			return Conflict{}, false, nil
		}
		c.EntryNumber, c.Allowed = a.EntryNumber, 1
		where, args = where+` AND entry_number = ?`, append(args, a.EntryNumber)
	case al.perDay:
		day := site.Day(a.At)
		c.Day = day.String()
		where += ` AND at_ms >= ? AND at_ms < ?`
		args = append(args, sqlitedb.Millis(site.StartOfDay(day)), sqlitedb.Millis(site.StartOfDay(day.AddDays(1))))
	}
	var first, last int64
	err = tx.QueryRowContext(ctx, `SELECT count(*), coalesce(min(at_ms), 0), coalesce(max(at_ms), 0) FROM admissions WHERE `+where,
		args...).Scan(&c.Admissions, &first, &last)
	if err != nil || c.Admissions <= c.Allowed {
		return Conflict{}, false, err
	}
	c.FirstAt, c.LastAt = sqlitedb.Time(first), sqlitedb.Time(last)
	var detected int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO conflicts (ticket_id, day, entry_number, allowed, admissions, first_at_ms, last_at_ms, detected_at_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (ticket_id, day, entry_number) DO UPDATE SET
			allowed = excluded.allowed, admissions = excluded.admissions, first_at_ms = excluded.first_at_ms,
			last_at_ms = excluded.last_at_ms, resolved_at_ms = 0, resolved_by = ''
		RETURNING id, detected_at_ms, note`,
		c.TicketID, c.Day, c.EntryNumber, c.Allowed, c.Admissions, first, last, sqlitedb.Millis(now)).Scan(&c.ID, &detected, &c.Note)
	c.DetectedAt = sqlitedb.Time(detected)
	return c, err == nil, err
}

const conflictColumns = `c.id, c.ticket_id, c.day, c.entry_number, c.allowed, c.admissions, c.first_at_ms, c.last_at_ms,
	c.detected_at_ms, c.resolved_at_ms, c.resolved_by, c.note, coalesce(e.visitor_name, '')`

func scanConflict(row interface{ Scan(...any) error }) (Conflict, error) {
	var c Conflict
	var first, last, detected, resolved int64
	err := row.Scan(&c.ID, &c.TicketID, &c.Day, &c.EntryNumber, &c.Allowed, &c.Admissions, &first, &last, &detected, &resolved,
		&c.ResolvedBy, &c.Note, &c.VisitorName)
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
	return s.queryAdmissions(ctx, `WHERE a.`+countsForConflict+` ORDER BY a.at_ms, a.stream_seq`,
		c.TicketID, sqlitedb.Millis(c.FirstAt), sqlitedb.Millis(c.LastAt), c.EntryNumber, c.EntryNumber)
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
