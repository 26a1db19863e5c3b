package qrtoken

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Prefix starts every token of this format version.
const Prefix = "SG1."

// MaxLen is the longest token Sign produces and Verify reads, in characters.
// It leaves 54 bytes for the ticket id and the token id together.
const MaxLen = 200

// DefaultSkew is how long after Claims.Expires a NewVerifier still accepts a
// token. Gate clocks drift while offline; a gate running a few minutes fast
// must not turn away visitors in the last minutes of their ticket. The
// entitlement's own window, checked by the ticket rules, stays exact.
const DefaultSkew = 5 * time.Minute

// Errors of Sign and Verify; test for them with errors.Is.
var (
	// ErrMalformed: the text is not a token of this format: wrong prefix,
	// not Base45, too short or too long, or a body that does not parse.
	ErrMalformed = errors.New("qrtoken: malformed token")
	// ErrBadSignature: the token is well formed but no configured key signed
	// it, or it was altered.
	ErrBadSignature = errors.New("qrtoken: bad signature")
	// ErrExpired: the token is authentic but its expiry, plus the skew
	// allowance, has passed.
	ErrExpired = errors.New("qrtoken: expired")
	// ErrInvalidClaims: Sign was given claims it cannot turn into a token.
	ErrInvalidClaims = errors.New("qrtoken: invalid claims")
)

// Claims is what a token says.
type Claims struct {
	// TicketID names the ticket: the key of its entitlement.
	TicketID string
	// TokenID must equal the entitlement's qr_token_id for the gate to admit
	// the code; issuing a new token id retires every older code.
	TokenID string
	// IssuedAt is when the token was signed. Verify does not check it: a
	// gate whose clock runs slow would otherwise refuse fresh codes.
	IssuedAt time.Time
	// Expires is the first instant the token is no longer valid, normally
	// the ticket's valid_until.
	Expires time.Time
}

// NewTokenID returns a new random token id: 16 URL-safe characters holding
// 96 random bits.
func NewTokenID() string {
	b := make([]byte, 12)
	rand.Read(b) // never fails; see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxRawLen is the most bytes (body and signature) whose Base45 text fits
// MaxLen after the prefix.
var maxRawLen = func() int {
	n := 0
	for len(Prefix)+base45Len(n+1) <= MaxLen {
		n++
	}
	return n
}()

// minRawLen is the shortest decodable token: one-byte ids, one-byte times.
const minRawLen = 1 + 1 + 1 + 1 + 1 + 1 + ed25519.SignatureSize

// appendBody encodes c after checking that it can be signed.
func appendBody(dst []byte, c Claims) ([]byte, error) {
	switch {
	case c.TicketID == "" || c.TokenID == "":
		return nil, fmt.Errorf("%w: empty ticket id or token id", ErrInvalidClaims)
	case c.IssuedAt.Unix() < 0:
		return nil, fmt.Errorf("%w: issued before 1970", ErrInvalidClaims)
	case !c.Expires.After(c.IssuedAt):
		return nil, fmt.Errorf("%w: expires %v, not after issue %v", ErrInvalidClaims, c.Expires, c.IssuedAt)
	}
	for _, id := range []string{c.TicketID, c.TokenID} {
		if len(id) > math.MaxUint8 {
			return nil, fmt.Errorf("%w: id of %d bytes", ErrInvalidClaims, len(id))
		}
		dst = append(dst, byte(len(id)))
		dst = append(dst, id...)
	}
	dst = binary.AppendUvarint(dst, uint64(c.IssuedAt.Unix()))
	dst = binary.AppendUvarint(dst, uint64(c.Expires.Unix()))
	return dst, nil
}

// parseBody is the inverse of appendBody. Only signed bodies reach it, so it
// guards against a faulty signer, not against forgery.
func parseBody(b []byte) (Claims, error) {
	var c Claims
	var ok bool
	if c.TicketID, b, ok = cutID(b); !ok {
		return Claims{}, ErrMalformed
	}
	if c.TokenID, b, ok = cutID(b); !ok {
		return Claims{}, ErrMalformed
	}
	var times [2]time.Time
	for i := range times {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > math.MaxInt64 {
			return Claims{}, ErrMalformed
		}
		times[i], b = time.Unix(int64(v), 0).UTC(), b[n:]
	}
	if len(b) != 0 {
		return Claims{}, ErrMalformed
	}
	c.IssuedAt, c.Expires = times[0], times[1]
	return c, nil
}

func cutID(b []byte) (id string, rest []byte, ok bool) {
	if len(b) == 0 || b[0] == 0 || int(b[0]) > len(b)-1 {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}
