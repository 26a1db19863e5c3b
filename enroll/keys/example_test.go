package keys_test

import (
	"fmt"
	"os"
	"time"

	"github.com/scenicgate/scenicgate/enroll/keys"
)

// Rotating the QR key keeps the retired key in the set gates receive until
// the last ticket it may have signed has ended.
func ExampleRotateQR() {
	dir, _ := os.MkdirTemp("", "enroll-keys")
	defer os.RemoveAll(dir)
	k, err := keys.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	if _, _, err := keys.RotateQR(dir, now); err != nil {
		fmt.Println(err)
		return
	}
	lastTicketEnds := func(issuedBefore time.Time) (time.Time, error) {
		return time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), nil
	}
	set, _ := k.QRKeySet(now, lastTicketEnds)
	for _, key := range set.Keys {
		if key.NotAfterMs == 0 {
			fmt.Println("current key")
		} else {
			fmt.Println("retired key, valid until", time.UnixMilli(key.NotAfterMs).UTC())
		}
	}
	// Output:
	// current key
	// retired key, valid until 2026-12-31 16:00:00 +0000 UTC
}
