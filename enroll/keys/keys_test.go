package keys_test

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/enroll/keys"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
)

func TestRotatedQRKeyVerifiesUntilItsLastTicketEnds(t *testing.T) {
	dir := t.TempDir()
	k, err := keys.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	claims := qrtoken.Claims{TicketID: "T1", TokenID: "q1", IssuedAt: now.Add(-time.Hour), Expires: now.Add(48 * time.Hour)}
	printed, err := k.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	old, fresh, err := keys.RotateQR(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := qrtoken.NewVerifier(old); v == nil {
		t.Fatal("no verifier")
	} else if _, err := v.Verify(printed, now); err != nil {
		t.Fatalf("the printed code is not signed with the retired key: %v", err)
	}
	// The running process notices the rotation at its next signature.
	after, err := k.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := qrtoken.NewVerifier(fresh); v == nil {
		t.Fatal("no verifier")
	} else if _, err := v.Verify(after, now); err != nil {
		t.Errorf("a code signed after the rotation: %v; want it signed with the new key", err)
	}

	lastEnd := now.Add(48 * time.Hour)
	var asked time.Time
	last := func(before time.Time) (time.Time, error) { asked = before; return lastEnd, nil }
	set, err := k.QRKeySet(now, last)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || !ed25519.PublicKey(set.Keys[0].PublicKey).Equal(fresh) || set.Keys[0].NotAfterMs != 0 ||
		!ed25519.PublicKey(set.Keys[1].PublicKey).Equal(old) || set.Keys[1].NotAfterMs != lastEnd.UnixMilli() {
		t.Fatalf("key set right after the rotation: %v; want the new key, and the old one until %v", set, lastEnd)
	}
	if want := now.Add(keys.RetireGrace); !asked.Equal(want) {
		t.Errorf("asked for the tickets issued before %v; want %v (the rotation plus the grace)", asked, want)
	}
	set, err = k.QRKeySet(lastEnd, last)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || !ed25519.PublicKey(set.Keys[0].PublicKey).Equal(fresh) {
		t.Errorf("key set once the last ticket ended: %v; want the new key alone", set)
	}
	none := func(time.Time) (time.Time, error) { return time.Time{}, nil }
	if set, _ = k.QRKeySet(now, none); len(set.Keys) != 1 {
		t.Errorf("key set when the old key signed no ticket: %v; want the new key alone", set)
	}
}
