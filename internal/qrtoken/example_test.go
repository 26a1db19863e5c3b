package qrtoken_test

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/qrtoken"
)

// Enroll signs a code for a ticket; a gate, configured with the public key
// as text, verifies it without a network.
func Example_signAndVerify() {
	// In production: qrtoken.LoadOrCreateKey("/var/lib/scenicgate/qr.key").
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer, err := qrtoken.NewSigner(priv)
	if err != nil {
		fmt.Println(err)
		return
	}
	cst := time.FixedZone("CST", 8*60*60)
	token, err := signer.Sign(qrtoken.Claims{
		TicketID: "T-20261126-0001",
		TokenID:  "q1VbH0a8Zc3xN2rT", // from qrtoken.NewTokenID, stored as qr_token_id
		IssuedAt: time.Date(2026, 11, 25, 18, 0, 0, 0, cst),
		Expires:  time.Date(2026, 11, 27, 0, 0, 0, 0, cst), // the ticket's valid_until
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(token), "characters, prefix", token[:4])

	// At the gate.
	pub, err := qrtoken.ParsePublicKey(qrtoken.MarshalPublicKey(signer.PublicKey()))
	if err != nil {
		fmt.Println(err)
		return
	}
	verifier, err := qrtoken.NewVerifier(pub)
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := verifier.Verify(token, time.Date(2026, 11, 26, 9, 30, 0, 0, cst))
	fmt.Println(claims.TicketID, claims.TokenID, claims.Expires.In(cst), err)

	_, err = verifier.Verify(token, time.Date(2026, 11, 27, 9, 30, 0, 0, cst))
	fmt.Println(err)
	// Output:
	// 165 characters, prefix SG1.
	// T-20261126-0001 q1VbH0a8Zc3xN2rT 2026-11-27 00:00:00 +0800 CST <nil>
	// qrtoken: expired since 2026-11-26T16:00:00Z
}
