//go:build faultpoints

package node

import (
	"fmt"
	"os"
)

// faultPoint returns, in a gate built with -tags faultpoints, a function
// that stops the gate for good at the named point when
// $SCENICGATE_FAULTPOINT names it: it says so on stderr and blocks, so a
// test can kill the program exactly there. Gates built without the tag
// have no fault points.
func faultPoint(name string) func() {
	if os.Getenv("SCENICGATE_FAULTPOINT") != name {
		return nil
	}
	return func() {
		fmt.Fprintf(os.Stderr, "faultpoint %s: waiting to be killed\n", name)
		select {}
	}
}
