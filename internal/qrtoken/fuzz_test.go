package qrtoken_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/qrtoken"
)

// FuzzVerify feeds Verify arbitrary text: it must never panic, must fail
// with one of its documented errors, and may only accept a token that
// re-signing its claims reproduces exactly.
func FuzzVerify(f *testing.F) {
	signers := []*qrtoken.Signer{signer(f, key(1)), signer(f, key(2))}
	v := verifier(f, key(1), key(2))
	good := sign(f, key(1), claims)
	for _, seed := range []string{
		"", "SG1.", "SG1", "sg1.", "SG2." + good[4:], good, good[:len(good)-1], good + "0",
		sign(f, key(2), claims), sign(f, key(3), claims), strings.Repeat("0", 300),
		"SG1." + strings.Repeat(":", 196), "SG1." + strings.Repeat(" ", 195), "SG1.\x00\xff",
	} {
		f.Add(seed, int64(0))
		f.Add(seed, claims.IssuedAt.Unix())
	}
	f.Fuzz(func(t *testing.T, token string, nowSec int64) {
		now := time.Unix(nowSec, 0)
		c, err := v.Verify(token, now)
		switch {
		case err == nil, errors.Is(err, qrtoken.ErrExpired):
			if len(token) > qrtoken.MaxLen || c.TicketID == "" || c.TokenID == "" {
				t.Fatalf("Verify(%q) accepted %d characters with claims %+v", token, len(token), c)
			}
			resigned := false
			for _, s := range signers {
				again, err := s.Sign(c)
				resigned = resigned || (err == nil && again == token)
			}
			if !resigned {
				t.Fatalf("Verify(%q) = %+v, but neither key signs those claims into that token", token, c)
			}
		case errors.Is(err, qrtoken.ErrMalformed), errors.Is(err, qrtoken.ErrBadSignature):
			if c != (qrtoken.Claims{}) {
				t.Fatalf("Verify(%q) = %+v, %v; want zero claims with the error", token, c, err)
			}
		default:
			t.Fatalf("Verify(%q) = %v; want nil or a documented error", token, err)
		}
	})
}
