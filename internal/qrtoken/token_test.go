package qrtoken_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/qrtoken"
)

// key returns a fixed key, so failures are reproducible.
func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func signer(tb testing.TB, priv ed25519.PrivateKey) *qrtoken.Signer {
	tb.Helper()
	s, err := qrtoken.NewSigner(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func verifier(tb testing.TB, privs ...ed25519.PrivateKey) *qrtoken.Verifier {
	tb.Helper()
	var pubs []ed25519.PublicKey
	for _, p := range privs {
		pubs = append(pubs, p.Public().(ed25519.PublicKey))
	}
	v, err := qrtoken.NewVerifier(pubs...)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

var cst = time.FixedZone("CST", 8*60*60)

// claims is a one-day ticket for 2026-11-26, Shanghai, bought the day before.
var claims = qrtoken.Claims{
	TicketID: "T-20261126-0001",
	TokenID:  "q1VbH0a8Zc3xN2rT",
	IssuedAt: time.Date(2026, 11, 25, 18, 4, 5, 0, time.UTC),
	Expires:  time.Date(2026, 11, 27, 0, 0, 0, 0, cst),
}

func sign(tb testing.TB, priv ed25519.PrivateKey, c qrtoken.Claims) string {
	tb.Helper()
	token, err := signer(tb, priv).Sign(c)
	if err != nil {
		tb.Fatalf("Sign(%+v): %v", c, err)
	}
	return token
}

func sameClaims(a, b qrtoken.Claims) bool {
	return a.TicketID == b.TicketID && a.TokenID == b.TokenID &&
		a.IssuedAt.Equal(b.IssuedAt) && a.Expires.Equal(b.Expires)
}

func TestRoundTrip(t *testing.T) {
	token := sign(t, key(1), claims)
	if !strings.HasPrefix(token, qrtoken.Prefix) {
		t.Errorf("Sign() = %q; want prefix %q", token, qrtoken.Prefix)
	}
	got, err := verifier(t, key(1)).Verify(token, time.Date(2026, 11, 26, 9, 0, 0, 0, cst))
	if err != nil || !sameClaims(got, claims) {
		t.Errorf("Verify(Sign(%+v)) = %+v, %v; want the claims back", claims, got, err)
	}
	// Ed25519 is deterministic: the same claims give the same code, which
	// lets a reprinted ticket carry the identical QR code.
	if again := sign(t, key(1), claims); again != token {
		t.Errorf("Sign twice = %q, %q; want the same token", token, again)
	}
}

func TestSubSecondTimesAreTruncated(t *testing.T) {
	c := claims
	c.IssuedAt = c.IssuedAt.Add(700 * time.Millisecond)
	c.Expires = c.Expires.Add(999 * time.Millisecond)
	got, err := verifier(t, key(1)).Verify(sign(t, key(1), c), claims.IssuedAt)
	if err != nil || !sameClaims(got, claims) {
		t.Errorf("Verify(Sign(%+v)) = %+v, %v; want whole seconds %+v", c, got, err, claims)
	}
}

// TestEveryBitFlip flips each bit of each character of a token: every
// result must be refused as malformed or forged, never accepted.
func TestEveryBitFlip(t *testing.T) {
	token := sign(t, key(1), claims)
	v := verifier(t, key(1))
	now := claims.IssuedAt
	counts := map[error]int{}
	for i := range len(token) {
		for bit := range 8 {
			b := []byte(token)
			b[i] ^= 1 << bit
			c, err := v.Verify(string(b), now)
			switch {
			case errors.Is(err, qrtoken.ErrMalformed):
				counts[qrtoken.ErrMalformed]++
			case errors.Is(err, qrtoken.ErrBadSignature):
				counts[qrtoken.ErrBadSignature]++
			default:
				t.Fatalf("Verify(token with bit %d of char %d flipped) = %+v, %v; want ErrMalformed or ErrBadSignature", bit, i, c, err)
			}
			if c != (qrtoken.Claims{}) {
				t.Fatalf("Verify(flipped) returned claims %+v with %v; want zero claims", c, err)
			}
		}
	}
	// Both kinds must occur, or the loop did not reach the signature check.
	if counts[qrtoken.ErrMalformed] == 0 || counts[qrtoken.ErrBadSignature] == 0 {
		t.Errorf("bit flips gave %v; want both malformed and bad-signature tokens", counts)
	}
}

func TestTruncatedAndExtended(t *testing.T) {
	token := sign(t, key(1), claims)
	v := verifier(t, key(1))
	for n := range len(token) {
		if _, err := v.Verify(token[:n], claims.IssuedAt); err == nil {
			t.Fatalf("Verify(first %d characters) = nil; want an error", n)
		}
	}
	for _, extra := range []string{"0", "00", "000", " ", "\n"} {
		if _, err := v.Verify(token+extra, claims.IssuedAt); err == nil {
			t.Errorf("Verify(token + %q) = nil; want an error", extra)
		}
	}
}

func TestWrongKeyAndRotation(t *testing.T) {
	oldKey, newKey, otherSite := key(1), key(2), key(3)
	now := claims.IssuedAt
	tests := []struct {
		name    string
		signer  ed25519.PrivateKey
		keys    []ed25519.PrivateKey
		wantErr error
	}{
		{"signed by the only key", oldKey, []ed25519.PrivateKey{oldKey}, nil},
		{"signed by another site", otherSite, []ed25519.PrivateKey{oldKey}, qrtoken.ErrBadSignature},
		{"old key during rotation", oldKey, []ed25519.PrivateKey{newKey, oldKey}, nil},
		{"new key during rotation", newKey, []ed25519.PrivateKey{newKey, oldKey}, nil},
		{"old key after rotation", oldKey, []ed25519.PrivateKey{newKey}, qrtoken.ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifier(t, tc.keys...).Verify(sign(t, tc.signer, claims), now)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("Verify() = %v; want %v", err, tc.wantErr)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	token := sign(t, key(1), claims)
	end := claims.Expires
	tests := []struct {
		name    string
		skew    time.Duration
		now     time.Time
		wantErr error
	}{
		{"long before expiry", qrtoken.DefaultSkew, end.Add(-24 * time.Hour), nil},
		{"at expiry, within skew", qrtoken.DefaultSkew, end, nil},
		{"last instant of skew", qrtoken.DefaultSkew, end.Add(qrtoken.DefaultSkew - time.Nanosecond), nil},
		{"end of skew", qrtoken.DefaultSkew, end.Add(qrtoken.DefaultSkew), qrtoken.ErrExpired},
		{"a day later", qrtoken.DefaultSkew, end.Add(24 * time.Hour), qrtoken.ErrExpired},
		{"no skew, 1ns before", 0, end.Add(-time.Nanosecond), nil},
		{"no skew, at expiry", 0, end, qrtoken.ErrExpired},
		// IssuedAt is not checked: a gate clock running a day slow still
		// admits a code issued "in its future".
		{"before issue", qrtoken.DefaultSkew, claims.IssuedAt.Add(-24 * time.Hour), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := verifier(t, key(1))
			v.Skew = tc.skew
			c, err := v.Verify(token, tc.now)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify(now=%v, skew=%v) = %v; want %v", tc.now, tc.skew, err, tc.wantErr)
			}
			// Expired tokens are authentic, so their claims come back.
			if !sameClaims(c, claims) {
				t.Errorf("Verify(now=%v) claims = %+v; want %+v", tc.now, c, claims)
			}
		})
	}
	if qrtoken.DefaultSkew <= 0 || qrtoken.DefaultSkew > 10*time.Minute {
		t.Errorf("DefaultSkew = %v; want a few minutes", qrtoken.DefaultSkew)
	}
}

// QR capacity in alphanumeric characters at error correction level M (ISO/IEC
// 18004, table 7).
const (
	qrVersion7M = 178
	qrVersion8M = 221
)

func TestLength(t *testing.T) {
	uuid := "3f2c9a4e-8b1d-4c6f-9e2a-7d5b1c0e4f83"
	tests := []struct {
		name     string
		ticketID string
		maxLen   int
	}{
		{"typical ticket id", claims.TicketID, qrVersion7M},
		{"24-character ticket id", "SZ-HUANGSHAN-20261126001", qrVersion7M},
		{"UUID ticket id", uuid, qrtoken.MaxLen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := claims
			c.TicketID = tc.ticketID
			c.TokenID = qrtoken.NewTokenID()
			c.Expires = time.Date(2099, 12, 31, 0, 0, 0, 0, cst) // largest times we expect
			token := sign(t, key(1), c)
			t.Logf("%s: %d characters", tc.name, len(token))
			if len(token) > tc.maxLen || len(token) > qrtoken.MaxLen {
				t.Errorf("len(Sign(ticket %q)) = %d; want at most %d", tc.ticketID, len(token), tc.maxLen)
			}
			if strings.Trim(token, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:") != "" {
				t.Errorf("Sign() = %q; want QR alphanumeric characters only", token)
			}
		})
	}
	if qrtoken.MaxLen > qrVersion8M {
		t.Errorf("MaxLen = %d; want a token that fits a version 8-M QR code (%d)", qrtoken.MaxLen, qrVersion8M)
	}
	// The ids may fill 54 bytes together, and not one more.
	c := claims
	c.TicketID, c.TokenID = strings.Repeat("T", 38), strings.Repeat("K", 16)
	if token, err := signer(t, key(1)).Sign(c); err != nil || len(token) > qrtoken.MaxLen {
		t.Errorf("Sign(54 bytes of ids) = %d characters, %v; want at most %d, nil", len(token), err, qrtoken.MaxLen)
	}
	c.TicketID += "T"
	if token, err := signer(t, key(1)).Sign(c); !errors.Is(err, qrtoken.ErrInvalidClaims) {
		t.Errorf("Sign(55 bytes of ids) = %q, %v; want ErrInvalidClaims", token, err)
	}
}

func TestSignRejects(t *testing.T) {
	edit := func(f func(*qrtoken.Claims)) qrtoken.Claims { c := claims; f(&c); return c }
	tests := map[string]qrtoken.Claims{
		"empty ticket id":           edit(func(c *qrtoken.Claims) { c.TicketID = "" }),
		"empty token id":            edit(func(c *qrtoken.Claims) { c.TokenID = "" }),
		"zero issue time":           edit(func(c *qrtoken.Claims) { c.IssuedAt = time.Time{} }),
		"issued before 1970":        edit(func(c *qrtoken.Claims) { c.IssuedAt = time.Unix(-1, 0) }),
		"zero expiry":               edit(func(c *qrtoken.Claims) { c.Expires = time.Time{} }),
		"expires at issue":          edit(func(c *qrtoken.Claims) { c.Expires = c.IssuedAt }),
		"expires before issue":      edit(func(c *qrtoken.Claims) { c.Expires = c.IssuedAt.Add(-time.Hour) }),
		"ticket id of 300 bytes":    edit(func(c *qrtoken.Claims) { c.TicketID = strings.Repeat("x", 300) }),
		"token id of 60 bytes":      edit(func(c *qrtoken.Claims) { c.TokenID = strings.Repeat("x", 60) }),
		"far future, long ids":      edit(func(c *qrtoken.Claims) { c.TicketID = strings.Repeat("x", 45); c.Expires = time.Unix(1<<62, 0) }),
		"Chinese ticket id (UTF-8)": edit(func(c *qrtoken.Claims) { c.TicketID = strings.Repeat("票", 14) }),
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			if token, err := signer(t, key(1)).Sign(c); !errors.Is(err, qrtoken.ErrInvalidClaims) {
				t.Errorf("Sign(%+v) = %q, %v; want ErrInvalidClaims", c, token, err)
			}
		})
	}
}

func TestConstructorsRejectBadKeys(t *testing.T) {
	if _, err := qrtoken.NewSigner(nil); !errors.Is(err, qrtoken.ErrBadKey) {
		t.Errorf("NewSigner(nil) = %v; want ErrBadKey", err)
	}
	if _, err := qrtoken.NewSigner(key(1)[:32]); !errors.Is(err, qrtoken.ErrBadKey) {
		t.Errorf("NewSigner(seed only) = %v; want ErrBadKey", err)
	}
	if _, err := qrtoken.NewVerifier(); !errors.Is(err, qrtoken.ErrBadKey) {
		t.Errorf("NewVerifier() = %v; want ErrBadKey", err)
	}
	pub := key(1).Public().(ed25519.PublicKey)
	if _, err := qrtoken.NewVerifier(pub, pub[:31]); !errors.Is(err, qrtoken.ErrBadKey) {
		t.Errorf("NewVerifier(good, 31 bytes) = %v; want ErrBadKey", err)
	}
}

// TestKeysAreCopied checks that a caller reusing its key buffers cannot
// change a Signer or Verifier afterwards.
func TestKeysAreCopied(t *testing.T) {
	priv := ed25519.PrivateKey(bytes.Clone(key(1)))
	pub := ed25519.PublicKey(bytes.Clone(priv.Public().(ed25519.PublicKey)))
	s := signer(t, priv)
	v, err := qrtoken.NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	clear(priv)
	clear(pub)
	token, err := s.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(token, claims.IssuedAt); err != nil {
		t.Errorf("Verify after the caller cleared its key buffers = %v; want nil", err)
	}
	if got := s.PublicKey(); !bytes.Equal(got, key(1).Public().(ed25519.PublicKey)) {
		t.Errorf("PublicKey() = %x; want the key's public half", got)
	}
}

func TestNewTokenID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := qrtoken.NewTokenID()
		if len(id) != 16 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("NewTokenID() = %q; want 16 URL-safe base64 characters", id)
		}
		if seen[id] {
			t.Fatalf("NewTokenID() returned %q twice", id)
		}
		seen[id] = true
	}
}

func TestConcurrentUse(t *testing.T) {
	s, v := signer(t, key(1)), verifier(t, key(1))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			c := claims
			c.TokenID = strings.Repeat(string(rune('a'+i)), 8)
			for range 50 {
				token, err := s.Sign(c)
				if err == nil {
					_, err = v.Verify(token, claims.IssuedAt)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
