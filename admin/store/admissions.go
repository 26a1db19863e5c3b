package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/sqlitedb"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Admission is one gate decision as admin keeps it: a copy of
// sgpb.Admission plus the ADMISSIONS stream sequence it came with.
type Admission struct {
	EventID     string
	StreamSeq   uint64
	GateID      string
	Zone        string
	TicketID    string
	Decision    sgpb.Decision
	Reason      string
	Method      sgpb.Method
	Direction   sgpb.Direction
	Distance    float32
	Margin      float32
	Frames      int
	At          time.Time
	Offline     bool
	LatencyMs   float32
	EntryNumber int
	Operator    string
	Note        string
	// FaceModel is the embedding model the gate matched with; Distance
	// and Margin are in its metric.
	FaceModel string

	// VisitorName comes from the entitlements mirror when admissions are
	// read; it is "" when the ticket is unknown there. It is not stored.
	VisitorName string
}

// Allowed reports whether the gate let the visitor through.
func (a Admission) Allowed() bool { return a.Decision == sgpb.Decision_DECISION_ALLOW }

// Exit reports whether the decision was made at an exit. An unspecified
// direction counts as an entry, as the gates treat it.
func (a Admission) Exit() bool { return a.Direction == sgpb.Direction_DIRECTION_EXIT }

// CursorAdmissions names the cursor holding the last ADMISSIONS stream
// sequence materialised.
const CursorAdmissions = "admissions_seq"

// Ingested is what InsertAdmissions changed.
type Ingested struct {
	// Inserted holds the admissions that were new, in the order given;
	// replays of known event ids are left out.
	Inserted []Admission
	// Conflicts holds the conflicts that the new admissions opened or
	// reopened.
	Conflicts []Conflict
}

// InsertAdmissions stores a batch of admissions and moves the admissions
// cursor to lastSeq, all in one transaction, so a crash can neither lose an
// admission nor count one twice. Admissions whose event id is known already
// are skipped (gates resend after outages). Each new admission is checked
// against the conflict rule (see Conflict) in the same transaction; site
// says where the site's days begin.
func (s *Store) InsertAdmissions(ctx context.Context, batch []Admission, lastSeq uint64, now time.Time, site rules.Site) (Ingested, error) {
	var out Ingested
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		out = Ingested{}
		for _, a := range batch {
			res, err := tx.ExecContext(ctx, `
				INSERT INTO admissions (event_id, stream_seq, gate_id, zone, ticket_id, decision, reason, method,
					direction, distance, margin, frames, at_ms, offline, latency_ms, entry_number, operator, note, face_model)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (event_id) DO NOTHING`,
				a.EventID, a.StreamSeq, a.GateID, a.Zone, a.TicketID, int32(a.Decision), a.Reason, int32(a.Method),
				int32(a.Direction), a.Distance, a.Margin, a.Frames, sqlitedb.Millis(a.At), boolInt(a.Offline), a.LatencyMs,
				a.EntryNumber, a.Operator, a.Note, a.FaceModel)
			if err != nil {
				return fmt.Errorf("insert %s: %w", a.EventID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			out.Inserted = append(out.Inserted, a)
			c, found, err := checkConflict(ctx, tx, a, now, site)
			if err != nil {
				return fmt.Errorf("conflict check %s: %w", a.EventID, err)
			}
			if found {
				out.Conflicts = append(out.Conflicts, c)
			}
		}
		return setCursor(ctx, tx, CursorAdmissions, lastSeq)
	})
	if err != nil {
		return Ingested{}, fmt.Errorf("store: insert admissions: %w", err)
	}
	return out, nil
}

const admissionColumns = `a.event_id, a.stream_seq, a.gate_id, a.zone, a.ticket_id, a.decision, a.reason, a.method,
	a.direction, a.distance, a.margin, a.frames, a.at_ms, a.offline, a.latency_ms, a.entry_number, a.operator, a.note,
	a.face_model, coalesce(e.visitor_name, '')`

const admissionFrom = ` FROM admissions a LEFT JOIN entitlements e ON e.ticket_id = a.ticket_id AND a.ticket_id != '' `

func scanAdmission(row interface{ Scan(...any) error }) (Admission, error) {
	var a Admission
	var decision, method, direction int32
	var at int64
	err := row.Scan(&a.EventID, &a.StreamSeq, &a.GateID, &a.Zone, &a.TicketID, &decision, &a.Reason, &method,
		&direction, &a.Distance, &a.Margin, &a.Frames, &at, &a.Offline, &a.LatencyMs, &a.EntryNumber, &a.Operator, &a.Note,
		&a.FaceModel, &a.VisitorName)
	a.Decision, a.Method, a.Direction, a.At = sgpb.Decision(decision), sgpb.Method(method), sgpb.Direction(direction), sqlitedb.Time(at)
	return a, err
}

func (s *Store) queryAdmissions(ctx context.Context, query string, args ...any) ([]Admission, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+admissionColumns+admissionFrom+query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: admissions: %w", err)
	}
	defer rows.Close()
	out := []Admission{}
	for rows.Next() {
		a, err := scanAdmission(rows)
		if err != nil {
			return nil, fmt.Errorf("store: admissions: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RecentAdmissions returns the newest admissions by decision time, newest
// first, at most limit of them.
func (s *Store) RecentAdmissions(ctx context.Context, limit int) ([]Admission, error) {
	return s.queryAdmissions(ctx, `ORDER BY a.at_ms DESC, a.stream_seq DESC LIMIT ?`, limit)
}

// TicketAdmissions returns a ticket's admissions, newest first.
func (s *Store) TicketAdmissions(ctx context.Context, ticketID string) ([]Admission, error) {
	return s.queryAdmissions(ctx, `WHERE a.ticket_id = ? ORDER BY a.at_ms DESC, a.stream_seq DESC`, ticketID)
}

// Admission returns one admission by event id, or ErrNotFound.
func (s *Store) Admission(ctx context.Context, eventID string) (Admission, error) {
	list, err := s.queryAdmissions(ctx, `WHERE a.event_id = ?`, eventID)
	if err != nil {
		return Admission{}, err
	}
	if len(list) == 0 {
		return Admission{}, fmt.Errorf("store: admission %q: %w", eventID, ErrNotFound)
	}
	return list[0], nil
}

// EachAdmission calls fn for every admission decided in [from, to), oldest
// first, stopping at fn's first error. It streams, so an export of a busy
// month does not sit in memory.
func (s *Store) EachAdmission(ctx context.Context, from, to time.Time, fn func(Admission) error) error {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+admissionColumns+admissionFrom+
		`WHERE a.at_ms >= ? AND a.at_ms < ? ORDER BY a.at_ms, a.stream_seq`, sqlitedb.Millis(from), sqlitedb.Millis(to))
	if err != nil {
		return fmt.Errorf("store: admissions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAdmission(rows)
		if err != nil {
			return fmt.Errorf("store: admissions: %w", err)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return rows.Err()
}

// DayCounts sums the decisions of a period.
type DayCounts struct {
	Entries int // allowed entries (unspecified direction counts as entry)
	Exits   int // allowed exits
	Denials int // denials at entries and exits
}

// InPark is entries minus exits, never below zero (exits of visitors who
// came in before the period, or without being counted, would make it so).
func (c DayCounts) InPark() int { return max(c.Entries-c.Exits, 0) }

// Counts sums the decisions made in [from, to).
func (s *Store) Counts(ctx context.Context, from, to time.Time) (DayCounts, error) {
	var c DayCounts
	err := s.db.Read.QueryRowContext(ctx, `
		SELECT coalesce(sum(decision = 1 AND direction != 2), 0),
		       coalesce(sum(decision = 1 AND direction = 2), 0),
		       coalesce(sum(decision = 2), 0)
		FROM admissions WHERE at_ms >= ? AND at_ms < ?`, sqlitedb.Millis(from), sqlitedb.Millis(to)).Scan(&c.Entries, &c.Exits, &c.Denials)
	if err != nil {
		return DayCounts{}, fmt.Errorf("store: counts: %w", err)
	}
	return c, nil
}

// Hourly counts allowed entries and denials in each of the n hours that
// start at from. Both slices have length n.
func (s *Store) Hourly(ctx context.Context, from time.Time, n int) (entries, denials []int, err error) {
	entries, denials = make([]int, n), make([]int, n)
	rows, err := s.db.Read.QueryContext(ctx, `
		SELECT (at_ms - ?) / 3600000 AS h,
		       coalesce(sum(decision = 1 AND direction != 2), 0),
		       coalesce(sum(decision = 2), 0)
		FROM admissions WHERE at_ms >= ? AND at_ms < ? GROUP BY h`,
		sqlitedb.Millis(from), sqlitedb.Millis(from), sqlitedb.Millis(from.Add(time.Duration(n)*time.Hour)))
	if err != nil {
		return nil, nil, fmt.Errorf("store: hourly: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, e, d int
		if err := rows.Scan(&h, &e, &d); err != nil {
			return nil, nil, fmt.Errorf("store: hourly: %w", err)
		}
		if h >= 0 && h < n {
			entries[h], denials[h] = e, d
		}
	}
	return entries, denials, rows.Err()
}

// pruneBatch bounds one DELETE, so the single writer connection is not held
// from ingest for long.
const pruneBatch = 5000

// PruneAdmissions deletes the admissions decided before before, however
// many, and the resolved conflicts whose last admission is that old; open
// conflicts stay until staff resolve them. It returns how many admissions
// and conflicts it deleted.
func (s *Store) PruneAdmissions(ctx context.Context, before time.Time) (admissions, conflicts int64, err error) {
	cut := sqlitedb.Millis(before)
	for {
		res, err := s.db.Write.ExecContext(ctx,
			`DELETE FROM admissions WHERE rowid IN (SELECT rowid FROM admissions WHERE at_ms < ? LIMIT ?)`, cut, pruneBatch)
		if err != nil {
			return admissions, 0, fmt.Errorf("store: prune admissions: %w", err)
		}
		n, _ := res.RowsAffected()
		admissions += n
		if n < pruneBatch {
			break
		}
	}
	res, err := s.db.Write.ExecContext(ctx, `DELETE FROM conflicts WHERE resolved_at_ms != 0 AND last_at_ms < ?`, cut)
	if err != nil {
		return admissions, 0, fmt.Errorf("store: prune conflicts: %w", err)
	}
	conflicts, _ = res.RowsAffected()
	return admissions, conflicts, nil
}
