package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// ErrBadAPIKey means a presented key is unknown, malformed or revoked.
var ErrBadAPIKey = errors.New("invalid API key")

// APIKey describes a stored key; the key itself is never stored.
type APIKey struct {
	Name      string
	Prefix    string
	CreatedAt time.Time
	RevokedAt time.Time
	LastUsed  time.Time
}

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// CreateAPIKey makes a key for name and returns it; only its SHA-256 is
// stored, so this is the one time it can be seen. Keys carry 160 random bits,
// which is why a fast hash is enough (no password stretching).
func (s *Store) CreateAPIKey(ctx context.Context, name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("store: API key needs a name")
	}
	raw := make([]byte, 25)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	enc := strings.ToLower(keyEncoding.EncodeToString(raw))
	prefix, secret := enc[:8], enc[8:]
	key := "sgk_" + prefix + "_" + secret
	_, err := s.db.Write.ExecContext(ctx,
		`INSERT INTO api_keys (name, prefix, hash, created_ms) VALUES (?, ?, ?, ?)`,
		name, prefix, hashKey(key), s.now().UnixMilli())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return "", fmt.Errorf("store: API key %q: %w", name, ErrDuplicateName)
		}
		return "", fmt.Errorf("store: create API key: %w", err)
	}
	return key, nil
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// AuthenticateAPIKey returns the name of the key's owner, or ErrBadAPIKey.
func (s *Store) AuthenticateAPIKey(ctx context.Context, key string) (string, error) {
	parts := strings.Split(key, "_")
	if len(parts) != 3 || parts[0] != "sgk" || len(parts[1]) != 8 {
		return "", ErrBadAPIKey
	}
	var name, hash string
	var revoked int64
	err := s.db.Read.QueryRowContext(ctx,
		`SELECT name, hash, revoked_ms FROM api_keys WHERE prefix = ?`, parts[1]).Scan(&name, &hash, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrBadAPIKey
	}
	if err != nil {
		return "", fmt.Errorf("store: authenticate: %w", err)
	}
	if revoked != 0 || subtle.ConstantTimeCompare([]byte(hash), []byte(hashKey(key))) != 1 {
		return "", ErrBadAPIKey
	}
	// Last use is informative only; a failure to record it must not refuse
	// the request.
	s.db.Write.ExecContext(ctx, `UPDATE api_keys SET last_used_ms = ? WHERE prefix = ?`, s.now().UnixMilli(), parts[1])
	return name, nil
}

// APIKeys lists the keys, oldest first.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT name, prefix, created_ms, revoked_ms, last_used_ms FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: API keys: %w", err)
	}
	defer rows.Close()
	keys := []APIKey{}
	for rows.Next() {
		var k APIKey
		var c, r, l int64
		if err := rows.Scan(&k.Name, &k.Prefix, &c, &r, &l); err != nil {
			return nil, err
		}
		k.CreatedAt, k.RevokedAt, k.LastUsed = sqlitedb.Time(c), sqlitedb.Time(r), sqlitedb.Time(l)
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeAPIKey stops a key from working; ErrNotFound if there is no such key.
func (s *Store) RevokeAPIKey(ctx context.Context, name string) error {
	res, err := s.db.Write.ExecContext(ctx,
		`UPDATE api_keys SET revoked_ms = ? WHERE name = ? AND revoked_ms = 0`, s.now().UnixMilli(), name)
	if err != nil {
		return fmt.Errorf("store: revoke API key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: API key %q: %w", name, ErrNotFound)
	}
	return nil
}
