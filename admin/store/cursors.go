package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Cursor returns a stored stream position, 0 when none was stored.
func (s *Store) Cursor(ctx context.Context, name string) (uint64, error) {
	var v uint64
	err := s.db.Read.QueryRowContext(ctx, `SELECT value FROM cursors WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: cursor %s: %w", name, err)
	}
	return v, nil
}

// SetCursor stores a stream position on its own, for when the stream was
// recreated and the position must go back.
func (s *Store) SetCursor(ctx context.Context, name string, v uint64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return setCursor(ctx, tx, name, v) })
}

func setCursor(ctx context.Context, tx *sql.Tx, name string, v uint64) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, v)
	if err != nil {
		return fmt.Errorf("cursor %s: %w", name, err)
	}
	return nil
}
