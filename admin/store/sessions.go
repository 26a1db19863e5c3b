package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Session is a logged-in staff member. Only the SHA-256 of the session id
// is stored, so a copy of the database does not let anyone log in.
type Session struct {
	IDHash    string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
	IP        string
	User      User
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, idHash, csrf string, userID int64, ip string, now, expires time.Time) error {
	_, err := s.db.Write.ExecContext(ctx,
		`INSERT INTO sessions (id_hash, user_id, csrf_token, created_at_ms, expires_at_ms, ip) VALUES (?, ?, ?, ?, ?, ?)`,
		idHash, userID, csrf, sqlitedb.Millis(now), sqlitedb.Millis(expires), ip)
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionByHash returns the session with its user when it exists, has not
// expired at now and its user is not disabled; ErrNotFound otherwise.
func (s *Store) SessionByHash(ctx context.Context, idHash string, now time.Time) (Session, error) {
	row := s.db.Read.QueryRowContext(ctx, `
		SELECT s.id_hash, s.csrf_token, s.created_at_ms, s.expires_at_ms, s.ip,
		       u.id, u.name, u.role, u.password_hash, u.disabled, u.failed_logins, u.locked_until_ms, u.created_at_ms, u.last_login_ms
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = ? AND s.expires_at_ms > ? AND u.disabled = 0`, idHash, sqlitedb.Millis(now))
	var ss Session
	var created, expires, locked, ucreated, last int64
	var role string
	err := row.Scan(&ss.IDHash, &ss.CSRFToken, &created, &expires, &ss.IP,
		&ss.User.ID, &ss.User.Name, &role, &ss.User.PasswordHash, &ss.User.Disabled, &ss.User.FailedLogins, &locked, &ucreated, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = sqlitedb.Time(created), sqlitedb.Time(expires)
	ss.User.Role, ss.User.LockedUntil, ss.User.CreatedAt, ss.User.LastLogin = Role(role), sqlitedb.Time(locked), sqlitedb.Time(ucreated), sqlitedb.Time(last)
	return ss, nil
}

// ExtendSession moves a session's expiry.
func (s *Store) ExtendSession(ctx context.Context, idHash string, expires time.Time) error {
	if _, err := s.db.Write.ExecContext(ctx, `UPDATE sessions SET expires_at_ms = ? WHERE id_hash = ?`, sqlitedb.Millis(expires), idHash); err != nil {
		return fmt.Errorf("store: extend session: %w", err)
	}
	return nil
}

// DeleteSession ends a session; ending one that does not exist is no error.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.db.Write.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions that expired before now and
// returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.Write.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at_ms <= ?`, sqlitedb.Millis(now))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// SetFlash keeps a one-time message for the session's next page.
func (s *Store) SetFlash(ctx context.Context, idHash, flash string) error {
	if _, err := s.db.Write.ExecContext(ctx, `UPDATE sessions SET flash = ? WHERE id_hash = ?`, flash, idHash); err != nil {
		return fmt.Errorf("store: set flash: %w", err)
	}
	return nil
}

// TakeFlash returns the session's message and clears it; "" when there is
// none.
func (s *Store) TakeFlash(ctx context.Context, idHash string) (string, error) {
	var flash string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT flash FROM sessions WHERE id_hash = ?`, idHash).Scan(&flash)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && flash == "") {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET flash = '' WHERE id_hash = ?`, idHash)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: take flash: %w", err)
	}
	return flash, nil
}
