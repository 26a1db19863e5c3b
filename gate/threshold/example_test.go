package threshold_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/scenicgate/scenicgate/gate/threshold"
)

// A gate measures the distances between its tickets' faces and chooses the
// threshold for its gallery's size: the more tickets, the stricter.
func Example() {
	r := rand.New(rand.NewPCG(3, 2))
	impostors := make([]float32, 20_000)
	for i := range impostors {
		impostors[i] = float32(1 + 0.08*r.NormFloat64())
	}
	for _, n := range []int{100, 10_000} {
		c := threshold.Choose(impostors, n, 0.001, 0.8)
		fmt.Printf("%d tickets: threshold %.2f, expected FPIR %.4f\n", n, c.Threshold, c.ExpectedFPIR)
	}
	// Output:
	// 100 tickets: threshold 0.66, expected FPIR 0.0010
	// 10000 tickets: threshold 0.59, expected FPIR 0.0010
}
