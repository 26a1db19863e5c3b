package store

import (
	"context"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// AuditEntry is one row of the audit log: who did what, to what, and whether
// it worked.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string // staff name, or the name typed at a failed login
	Action string // e.g. "login", "login_failed", "revoke"; see service
	Target string // ticket, gate, user or conflict the action was about
	Detail string // reason, note, error text
	OK     bool
	IP     string
}

// AddAudit appends an entry.
func (s *Store) AddAudit(ctx context.Context, e AuditEntry) error {
	_, err := s.db.Write.ExecContext(ctx,
		`INSERT INTO audit (at_ms, actor, action, target, detail, ok, ip) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sqlitedb.Millis(e.At), e.Actor, e.Action, e.Target, e.Detail, boolInt(e.OK), e.IP)
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditFilter selects audit rows. Empty fields match everything.
type AuditFilter struct {
	Actor  string
	Action string
	Target string
	Limit  int // at most this many rows; <= 0 means 100
	Offset int
}

// Audit returns the matching rows, newest first, and how many match in all.
func (s *Store) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, int, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	where := `WHERE (? = '' OR actor = ?) AND (? = '' OR action = ?) AND (? = '' OR target = ?)`
	args := []any{f.Actor, f.Actor, f.Action, f.Action, f.Target, f.Target}
	var total int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM audit `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: audit: %w", err)
	}
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT id, at_ms, actor, action, target, detail, ok, ip FROM audit `+where+` ORDER BY id DESC LIMIT ? OFFSET ?`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.OK, &e.IP); err != nil {
			return nil, 0, fmt.Errorf("store: audit: %w", err)
		}
		e.At = sqlitedb.Time(at)
		out = append(out, e)
	}
	return out, total, rows.Err()
}
