package i18n_test

import (
	"fmt"

	"github.com/scenicgate/scenicgate/admin/i18n"
)

// Pages get the language of the request; unknown codes fall back to
// Simplified Chinese.
func Example() {
	for _, code := range []string{"zh", "en", "fr"} {
		l := i18n.Get(code)
		fmt.Println(l.Code(), l.T("nav.gates"), l.Reason("already_used"), l.T("gates.ago", 3))
	}
	// Output:
	// zh 闸机 入园次数已用完 3 秒前
	// en Gates no entries left 3 s ago
	// zh 闸机 入园次数已用完 3 秒前
}
