package qrtoken

import (
	"crypto/ed25519"
	"fmt"
	"slices"
)

// Signer makes tokens. It is safe for concurrent use.
type Signer struct {
	priv ed25519.PrivateKey
}

// NewSigner returns a Signer for the private key, which it copies. It fails
// with ErrBadKey when the key does not have ed25519.PrivateKeySize bytes.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key of %d bytes", ErrBadKey, len(priv))
	}
	return &Signer{priv: slices.Clone(priv)}, nil
}

// PublicKey returns the public key gates need to verify this Signer's tokens.
// The caller owns the returned slice.
func (s *Signer) PublicKey() ed25519.PublicKey {
	return slices.Clone(s.priv.Public().(ed25519.PublicKey))
}

// Sign returns the token for c, at most MaxLen characters. Times are
// truncated to whole seconds, so a token expires up to a second early rather
// than late. It fails with ErrInvalidClaims when an id is empty, IssuedAt is
// before 1970, Expires is not after IssuedAt, or the ids are too long for
// MaxLen.
func (s *Signer) Sign(c Claims) (string, error) {
	msg, err := appendBody([]byte(Prefix), c)
	if err != nil {
		return "", err
	}
	body := msg[len(Prefix):]
	if n := len(body) + ed25519.SignatureSize; n > maxRawLen {
		return "", fmt.Errorf("%w: %d bytes, %d allowed; shorten the ticket id or token id",
			ErrInvalidClaims, n, maxRawLen)
	}
	raw := append(slices.Clone(body), ed25519.Sign(s.priv, msg)...)
	return Prefix + base45Encode(raw), nil
}
