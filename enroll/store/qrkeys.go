package store

import (
	"context"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// LastValidUntil returns when the last ticket whose QR code was issued
// before issuedBefore ends; zero when there is no such ticket. A retired QR
// key must verify codes until then.
func (s *Store) LastValidUntil(ctx context.Context, issuedBefore time.Time) (time.Time, error) {
	var last int64
	err := s.db.Read.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(valid_until_ms), 0) FROM tickets WHERE qr_issued_ms < ?`,
		sqlitedb.Millis(issuedBefore)).Scan(&last)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: last valid until: %w", err)
	}
	if last == 0 {
		return time.Time{}, nil
	}
	return sqlitedb.Time(last), nil
}
