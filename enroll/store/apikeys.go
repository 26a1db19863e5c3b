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

// Scope says what an API key may see and do.
type Scope string

// Scopes.
const (
	// ScopeShop is a ticket shop's key: it creates orders and sees and
	// changes only the orders it created (Ticket.Source) and their tickets.
	ScopeShop Scope = "shop"
	// ScopeStaff is the scenic area's staff key, the one admin uses: it
	// sees every ticket and may revoke, erase and re-issue QR codes, but
	// creates no orders, adds no faces and is never shown a QR token
	// except by re-issuing it.
	ScopeStaff Scope = "staff"
)

// ParseScope returns the scope named s.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeShop, ScopeStaff:
		return Scope(s), nil
	}
	return "", fmt.Errorf("scope %q: want shop or staff", s)
}

// APIKey describes a stored key; the key itself is never stored.
type APIKey struct {
	Name      string
	Prefix    string
	Scope     Scope
	CreatedAt time.Time
	RevokedAt time.Time
	LastUsed  time.Time
}

// Source is how orders created with the key record their owner.
func (k APIKey) Source() string { return "apikey:" + k.Name }

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newKey returns a fresh key and its lookup prefix. Keys carry 160 random
// bits, which is why a fast hash is enough (no password stretching).
func newKey() (key, prefix string, err error) {
	raw := make([]byte, 25)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	enc := strings.ToLower(keyEncoding.EncodeToString(raw))
	prefix, secret := enc[:8], enc[8:]
	return "sgk_" + prefix + "_" + secret, prefix, nil
}

// CreateAPIKey makes a key for name with scope and returns it; only its
// SHA-256 is stored, so this is the one time it can be seen. A name is
// taken for good, even after its key is revoked: a shop's orders belong to
// its key's name (RotateAPIKey gives the name a new key).
func (s *Store) CreateAPIKey(ctx context.Context, name string, scope Scope) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", errors.New("store: API key needs a name")
	}
	if _, err := ParseScope(string(scope)); err != nil {
		return "", fmt.Errorf("store: API key %q: %w", name, err)
	}
	key, prefix, err := newKey()
	if err != nil {
		return "", err
	}
	_, err = s.db.Write.ExecContext(ctx,
		`INSERT INTO api_keys (name, prefix, hash, created_ms, scope) VALUES (?, ?, ?, ?, ?)`,
		name, prefix, hashKey(key), s.now().UnixMilli(), string(scope))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return "", fmt.Errorf("store: API key %q: %w", name, ErrDuplicateName)
		}
		return "", fmt.Errorf("store: create API key: %w", err)
	}
	return key, nil
}

// RotateAPIKey gives name a new key and returns it; the old key stops
// working at once, and a revoked name works again with the new key. The
// name keeps its scope and the orders it owns. ErrNotFound if there is no
// such name.
func (s *Store) RotateAPIKey(ctx context.Context, name string) (string, error) {
	key, prefix, err := newKey()
	if err != nil {
		return "", err
	}
	res, err := s.db.Write.ExecContext(ctx,
		`UPDATE api_keys SET prefix = ?, hash = ?, revoked_ms = 0, last_used_ms = 0 WHERE name = ?`,
		prefix, hashKey(key), name)
	if err != nil {
		return "", fmt.Errorf("store: rotate API key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", fmt.Errorf("store: API key %q: %w", name, ErrNotFound)
	}
	return key, nil
}

// SetAPIKeyScope changes the scope of name's key; ErrNotFound if there is
// no such name.
func (s *Store) SetAPIKeyScope(ctx context.Context, name string, scope Scope) error {
	if _, err := ParseScope(string(scope)); err != nil {
		return fmt.Errorf("store: API key %q: %w", name, err)
	}
	res, err := s.db.Write.ExecContext(ctx, `UPDATE api_keys SET scope = ? WHERE name = ?`, string(scope), name)
	if err != nil {
		return fmt.Errorf("store: set API key scope: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: API key %q: %w", name, ErrNotFound)
	}
	return nil
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// AuthenticateAPIKey returns the key presented, or ErrBadAPIKey.
func (s *Store) AuthenticateAPIKey(ctx context.Context, key string) (APIKey, error) {
	parts := strings.Split(key, "_")
	if len(parts) != 3 || parts[0] != "sgk" || len(parts[1]) != 8 {
		return APIKey{}, ErrBadAPIKey
	}
	var k APIKey
	var hash string
	var created, revoked, lastUsed int64
	err := s.db.Read.QueryRowContext(ctx,
		`SELECT name, prefix, scope, hash, created_ms, revoked_ms, last_used_ms FROM api_keys WHERE prefix = ?`, parts[1]).
		Scan(&k.Name, &k.Prefix, &k.Scope, &hash, &created, &revoked, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrBadAPIKey
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: authenticate: %w", err)
	}
	if revoked != 0 || subtle.ConstantTimeCompare([]byte(hash), []byte(hashKey(key))) != 1 {
		return APIKey{}, ErrBadAPIKey
	}
	k.CreatedAt, k.LastUsed = sqlitedb.Time(created), sqlitedb.Time(lastUsed)
	// Last use is informative only; a failure to record it must not refuse
	// the request.
	s.db.Write.ExecContext(ctx, `UPDATE api_keys SET last_used_ms = ? WHERE prefix = ?`, s.now().UnixMilli(), parts[1])
	return k, nil
}

// APIKeys lists the keys, oldest first.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT name, prefix, scope, created_ms, revoked_ms, last_used_ms FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: API keys: %w", err)
	}
	defer rows.Close()
	keys := []APIKey{}
	for rows.Next() {
		var k APIKey
		var c, r, l int64
		if err := rows.Scan(&k.Name, &k.Prefix, &k.Scope, &c, &r, &l); err != nil {
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
