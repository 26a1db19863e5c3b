package qrtoken

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Verifier checks tokens offline against a set of public keys. It is safe
// for concurrent use once constructed.
type Verifier struct {
	keys []ed25519.PublicKey
	// Skew is how long after Claims.Expires a token still verifies;
	// NewVerifier sets DefaultSkew. Change it before sharing the Verifier.
	Skew time.Duration
}

// NewVerifier returns a Verifier that accepts tokens signed by any of keys,
// so a site can roll over to a new key while codes signed with the old one
// are still in visitors' hands. It copies the keys and fails with ErrBadKey
// when there is none or one does not have ed25519.PublicKeySize bytes.
func NewVerifier(keys ...ed25519.PublicKey) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no public key", ErrBadKey)
	}
	v := &Verifier{Skew: DefaultSkew}
	for _, k := range keys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: public key of %d bytes", ErrBadKey, len(k))
		}
		v.keys = append(v.keys, slices.Clone(k))
	}
	return v, nil
}

// Verify checks token at time now and returns its claims. It fails with
// ErrMalformed, ErrBadSignature or ErrExpired. On ErrExpired it also returns
// the claims, which are authentic, so the gate can say whose ticket it was;
// on the other errors the claims are zero. The token is valid while
// now < Expires + Skew.
//
// Verify does not look at the ticket: the caller must still check that
// TokenID equals the entitlement's qr_token_id and apply the ticket rules.
func (v *Verifier) Verify(token string, now time.Time) (Claims, error) {
	if len(token) > MaxLen || !strings.HasPrefix(token, Prefix) {
		return Claims{}, ErrMalformed
	}
	raw, err := base45Decode(token[len(Prefix):])
	if err != nil || len(raw) < minRawLen || len(raw) > maxRawLen {
		return Claims{}, ErrMalformed
	}
	split := len(raw) - ed25519.SignatureSize
	body, sig := raw[:split], raw[split:]
	msg := append([]byte(Prefix), body...)
	if !slices.ContainsFunc(v.keys, func(k ed25519.PublicKey) bool { return ed25519.Verify(k, msg, sig) }) {
		return Claims{}, ErrBadSignature
	}
	c, err := parseBody(body)
	if err != nil {
		return Claims{}, err
	}
	if !now.Before(c.Expires.Add(v.Skew)) {
		return c, fmt.Errorf("%w since %s", ErrExpired, c.Expires.Format(time.RFC3339))
	}
	return c, nil
}
