package matcher_test

import (
	"fmt"

	"github.com/scenicgate/scenicgate/gate/matcher"
)

func Example() {
	var alice, bob, probe [matcher.Dim]float32
	alice[0], bob[1] = 1, 1
	probe[0], probe[2] = 0.95, 0.2 // a new photo of alice

	g := matcher.NewGallery()
	g.Set("T-ALICE", [][matcher.Dim]float32{alice})
	g.Set("T-BOB", [][matcher.Dim]float32{bob})

	res := g.Search(probe)
	fmt.Printf("best %s at %.2f, second %s at %.2f\n", res.Best, res.BestDistance, res.Second, res.SecondDistance)

	p := matcher.DefaultPolicy()
	fmt.Printf("candidate: %q\n", p.Candidate(res))
	// Output:
	// best T-ALICE at 0.21, second T-BOB at 1.39
	// candidate: "T-ALICE"
}
