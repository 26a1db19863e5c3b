package matcher_test

import (
	"fmt"

	"github.com/scenicgate/scenicgate/gate/matcher"
)

func Example() {
	// Three-value descriptors for brevity; a gate's have the length of its
	// model's (192 for MobileFaceNet), compared by cosine distance.
	alice := []float32{1, 0, 0}
	bob := []float32{0, 1, 0}
	probe := []float32{0.95, 0.1, 0.2} // a new photo of alice

	g := matcher.NewGallery(3, matcher.Cosine)
	g.Set("T-ALICE", [][]float32{alice}, true)
	g.Set("T-BOB", [][]float32{bob}, true)

	res, err := g.Search(probe)
	if err != nil {
		panic(err)
	}
	fmt.Printf("best %s at %.2f, second %s at %.2f\n", res.Best, res.BestDistance, res.Second, res.SecondDistance)

	p := matcher.Policy{Threshold: 0.40, Margin: 0.05}
	fmt.Printf("candidate: %q\n", p.Candidate(res))
	// Output:
	// best T-ALICE at 0.03, second T-BOB at 0.90
	// candidate: "T-ALICE"
}
