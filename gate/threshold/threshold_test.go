package threshold

import (
	"math"
	"math/rand/v2"
	"testing"
)

// normalSample draws n distances from a normal curve, as impostor
// distances roughly are.
func normalSample(n int, mu, sigma float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(mu + sigma*r.NormFloat64())
	}
	return d
}

func TestFormula(t *testing.T) {
	for _, tc := range []struct {
		fpir float64
		n    int
		pair float64
	}{
		{0.001, 1, 0.001},
		{0.001, 1000, 1.0005e-6},
		{0.01, 100, 1.00503e-4},
		{0.5, 2, 1 - math.Sqrt(0.5)},
	} {
		if got := PairRate(tc.fpir, tc.n); math.Abs(got-tc.pair)/tc.pair > 1e-4 {
			t.Errorf("PairRate(%v, %d) = %v; want %v", tc.fpir, tc.n, got, tc.pair)
		}
		if got := FPIR(tc.pair, tc.n); math.Abs(got-tc.fpir)/tc.fpir > 1e-4 {
			t.Errorf("FPIR(%v, %d) = %v; want %v", tc.pair, tc.n, got, tc.fpir)
		}
	}
}

// TestChooseMeetsTarget checks the chosen threshold against the true
// distribution the sample came from: its FPIR must be at most the target,
// yet not so far under it that the threshold is needlessly strict.
func TestChooseMeetsTarget(t *testing.T) {
	const mu, sigma = 1.0, 0.1
	truth := normal{mu, sigma}
	d := normalSample(100_000, mu, sigma, 7)
	for _, tc := range []struct {
		n      int
		target float64
	}{
		{100, 0.001}, {1000, 0.001}, {10_000, 0.001}, {1000, 0.01}, {50, 0.1},
	} {
		c := Choose(d, tc.n, tc.target, 0.9)
		if !c.Measured || !c.TargetMet || c.Gallery != tc.n || c.Pairs != len(d) {
			t.Fatalf("Choose(N=%d) = %+v; want measured on %d pairs", tc.n, c, len(d))
		}
		real := FPIR(truth.cdf(float64(c.Threshold)), tc.n)
		if real > tc.target*1.2 || real < tc.target/3 {
			t.Errorf("Choose(N=%d, target %v) = %.4f: true FPIR %.3g; want about the target", tc.n, tc.target, c.Threshold, real)
		}
		if math.Abs(c.ExpectedFPIR-real)/real > 0.5 {
			t.Errorf("Choose(N=%d): expected FPIR %.3g, true %.3g", tc.n, c.ExpectedFPIR, real)
		}
	}
}

func TestLargerGalleryStricter(t *testing.T) {
	d := normalSample(20_000, 1.0, 0.08, 3)
	prev := float32(math.Inf(1))
	for _, n := range []int{50, 200, 1000, 10_000, 100_000} {
		c := Choose(d, n, 0.001, 0.8)
		if c.Threshold >= prev {
			t.Errorf("N=%d: threshold %.4f; want below %.4f, the smaller gallery's", n, c.Threshold, prev)
		}
		if c.ExpectedFPIR > 0.001*1.0001 {
			t.Errorf("N=%d: expected FPIR %.3g above the target", n, c.ExpectedFPIR)
		}
		prev = c.Threshold
	}
}

func TestNeverLooserThanDefault(t *testing.T) {
	// Impostors far away: the target would allow a threshold above the
	// default, which stays.
	d := normalSample(5000, 1.0, 0.05, 5)
	c := Choose(d, 10, 0.001, 0.4)
	if c.Threshold != 0.4 || !c.Measured || c.Note != NoteDefault {
		t.Errorf("Choose = %+v; want the default 0.4, measured", c)
	}
	if c.ExpectedFPIR >= 0.001 {
		t.Errorf("expected FPIR %.3g; want under the target", c.ExpectedFPIR)
	}
}

func TestTooFewPairs(t *testing.T) {
	d := normalSample(MinPairs-1, 0.5, 0.1, 1)
	c := Choose(d, 45, 0.001, 0.4)
	if c.Measured || c.Threshold != 0.4 || c.Note != NoteTooFew || c.Pairs != MinPairs-1 {
		t.Errorf("Choose(%d pairs) = %+v; want the default, not measured", len(d), c)
	}
}

// TestLookalikes: a cluster of very close impostor pairs (look-alikes),
// fewer than the 1% point a normal curve is fitted through and so missed
// by it, still bounds the threshold: the sample's own count holds it below
// them.
func TestLookalikes(t *testing.T) {
	d := normalSample(10_000, 1.0, 0.05, 9)
	for i := range 50 { // 0.5% of pairs at 0.500 to 0.505
		d[i] = 0.50 + float32(i)*0.0001
	}
	c := Choose(d, 10, 0.02, 0.9)
	// f ≈ 0.00202: at most 20 of the 10,000 pairs may fall under t.
	if c.Threshold >= 0.5020 || c.Threshold < 0.5019 || !c.TargetMet {
		t.Errorf("threshold %.4f; want just below 0.5020, so that at most 20 pairs match", c.Threshold)
	}
	if c.ExpectedFPIR > 0.02 || c.ExpectedFPIR < 0.019 {
		t.Errorf("expected FPIR %.3g; want just under 0.02", c.ExpectedFPIR)
	}
}

// TestFloor: impostors so alike that the target would need a threshold
// below half the default get the floor, and say the target is not met.
func TestFloor(t *testing.T) {
	d := normalSample(10_000, 0.5, 0.15, 11)
	c := Choose(d, 20_000, 0.001, 0.4)
	if c.Threshold != 0.2 || c.TargetMet || c.Note != NoteFloor {
		t.Errorf("Choose = %+v; want the floor 0.2, target not met", c)
	}
	truth := normal{0.5, 0.15}
	if want := FPIR(truth.cdf(0.2), 20_000); c.ExpectedFPIR <= 0.001 || math.Abs(c.ExpectedFPIR-want)/want > 0.5 {
		t.Errorf("expected FPIR %.3g at the floor; want about %.3g, above the target", c.ExpectedFPIR, want)
	}
}
