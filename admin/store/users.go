package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Role is what a staff member may do. Each role includes the rights of the
// ones before it.
type Role string

const (
	// Viewer reads every page and changes nothing.
	Viewer Role = "viewer"
	// Operator may also revoke tickets, erase biometrics, open gates and
	// resolve conflicts.
	Operator Role = "operator"
	// Admin may also manage users and the site settings.
	Admin Role = "admin"
)

// Roles lists the roles from least to most rights.
func Roles() []Role { return []Role{Viewer, Operator, Admin} }

func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Operator:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether r has at least the rights of need.
func (r Role) Allows(need Role) bool { return r.Valid() && r.rank() >= need.rank() }

// User is a staff account.
type User struct {
	ID           int64
	Name         string
	Role         Role
	PasswordHash string
	Disabled     bool
	FailedLogins int
	LockedUntil  time.Time // zero when not locked
	CreatedAt    time.Time
	LastLogin    time.Time
}

const userColumns = `id, name, role, password_hash, disabled, failed_logins, locked_until_ms, created_at_ms, last_login_ms`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var locked, created, last int64
	var role string
	err := row.Scan(&u.ID, &u.Name, &role, &u.PasswordHash, &u.Disabled, &u.FailedLogins, &locked, &created, &last)
	u.Role, u.LockedUntil, u.CreatedAt, u.LastLogin = Role(role), sqlitedb.Time(locked), sqlitedb.Time(created), sqlitedb.Time(last)
	return u, err
}

// CreateUser adds a user whose password is already hashed. Names are unique
// without regard to case; a taken name gives ErrDuplicateName.
func (s *Store) CreateUser(ctx context.Context, name string, role Role, hash string, now time.Time) (User, error) {
	res, err := s.db.Write.ExecContext(ctx,
		`INSERT INTO users (name, role, password_hash, created_at_ms) VALUES (?, ?, ?, ?)`,
		name, string(role), hash, sqlitedb.Millis(now))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return User{}, fmt.Errorf("store: create user %q: %w", name, ErrDuplicateName)
		}
		return User{}, fmt.Errorf("store: create user %q: %w", name, err)
	}
	id, _ := res.LastInsertId()
	return User{ID: id, Name: name, Role: role, PasswordHash: hash, CreatedAt: now}, nil
}

// UserByName returns the user, or ErrNotFound.
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.db.Read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", name, err)
	}
	return u, nil
}

// Users returns every user, sorted by name. The slice is empty, not nil,
// when there are none.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name COLLATE NOCASE`)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// SetUserDisabled disables or re-enables a user. Disabling also ends the
// user's sessions. An unknown name gives ErrNotFound.
func (s *Store) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: user %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE users SET disabled = ?, failed_logins = 0, locked_until_ms = 0 WHERE id = ?`, boolInt(disabled), id); err != nil {
			return err
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordLoginFailure counts a wrong password for the user and, when the
// count reaches maxFailures, locks the account until now+lockFor and starts
// the count again. It returns the user as updated. The read and the update
// run in one transaction, so concurrent failures all count.
func (s *Store) RecordLoginFailure(ctx context.Context, id int64, now time.Time, maxFailures int, lockFor time.Duration) (User, error) {
	var u User
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE users SET locked_until_ms = ?, failed_logins = 0 WHERE id = ? AND failed_logins >= ?`,
			sqlitedb.Millis(now.Add(lockFor)), id, maxFailures); err != nil {
			return err
		}
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("store: record login failure: %w", err)
	}
	return u, nil
}

// RecordLoginSuccess clears the failure count and the lock and notes the
// time of the login.
func (s *Store) RecordLoginSuccess(ctx context.Context, id int64, now time.Time) error {
	_, err := s.db.Write.ExecContext(ctx,
		`UPDATE users SET failed_logins = 0, locked_until_ms = 0, last_login_ms = ? WHERE id = ?`, sqlitedb.Millis(now), id)
	if err != nil {
		return fmt.Errorf("store: record login: %w", err)
	}
	return nil
}
