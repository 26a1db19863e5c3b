package signed_test

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/signed"
)

// admin signs a command; a gate, given admin's public key as text when it
// was installed, opens it — and refuses the same bytes as any other kind of
// message.
func Example() {
	// In production: signed.LoadOrCreateSigner("/var/lib/scenicgate/admin/admin-signing.key").
	admin, err := signed.NewSigner(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	if err != nil {
		fmt.Println(err)
		return
	}
	envelope := admin.Sign(signed.GateCommand, []byte("open north-1"), time.Unix(1_790_000_000, 0))

	// At the gate: --trust-admin <the key printed by `admin public-key`>.
	trusted, err := signed.LoadKeys(qrtoken.MarshalPublicKey(admin.PublicKey()))
	if err != nil {
		fmt.Println(err)
		return
	}
	msg, err := trusted.Open(signed.GateCommand, envelope)
	fmt.Printf("%s, signed at %d by %s: %v\n", msg.Payload, msg.SignedAt.Unix(), msg.KeyID, err)
	_, err = trusted.Open(signed.Settings, envelope)
	fmt.Println(err)
	// Output:
	// open north-1, signed at 1790000000 by E545QOZLVJE: <nil>
	// signed: bad signature
}
