// Package threshold chooses a gate's 1:N match threshold from the faces it
// holds, so that a stranger at the turnstile is let in by a false match no
// more often than a target rate, whatever the number of tickets.
//
// A stranger is compared with every ticket of the gallery. With a per-pair
// false-match rate F(t) — the share of two different people's faces closer
// than t — the chance that some ticket matches is the false-positive
// identification rate
//
//	FPIR(t) = 1 − (1 − F(t))^N
//
// for a gallery of N tickets, so a larger gallery needs a stricter (smaller)
// threshold for the same FPIR. The gate measures F on its own gallery: any
// two tickets' faces are an impostor pair.
//
// The rates that matter are far below one pair in the thousands a gallery
// offers (a target of 0.001 over 1,000 tickets is one pair in a million), so
// F is read from the sample where the sample can tell, and beyond it from a
// normal curve fitted to the sample's lower tail; the estimate taken is the
// larger of the two, and the threshold never exceeds the model's measured
// default. Distances are of either metric: smaller means more alike.
package threshold

import (
	"fmt"
	"math"
	"slices"
)

// MinPairs is the fewest impostor pairs a threshold is measured from: the
// lower tail the normal curve is fitted to (its 1% and 10% points) needs at
// least ten pairs below the first. A gallery of 46 tickets gives that many.
const MinPairs = 1000

// The quantiles of the impostor distances the tail's normal curve passes
// through.
const (
	tailLow  = 0.01
	tailHigh = 0.10
)

// SamplePairs is how many impostor pairs a gate samples from its gallery
// to choose the threshold: 200 of them fall under the 1% point the tail is
// fitted through, and sampling them takes a few milliseconds.
const SamplePairs = 20_000

// Choice is a chosen threshold and what it was chosen from.
type Choice struct {
	// Threshold is the largest distance accepted as the same person.
	Threshold float32
	// Measured is false when the gallery gave too few pairs to measure
	// (fewer than MinPairs) and Threshold is the model's default.
	Measured bool
	// Gallery is the number of tickets searched, N.
	Gallery int
	// Pairs is the number of impostor pairs measured.
	Pairs int
	// PairRate is the estimated per-pair false-match rate F(Threshold);
	// ExpectedFPIR is 1 − (1 − PairRate)^Gallery. Both are 0 when not
	// Measured.
	PairRate, ExpectedFPIR float64
	// TargetMet is false when meeting the target would take a threshold
	// below the floor (FloorFraction of the default): Threshold is the
	// floor, and ExpectedFPIR above the target.
	TargetMet bool
	// Note says in a few words how the threshold was chosen, for staff.
	Note string
}

// String describes c in one line, e.g. for a log.
func (c Choice) String() string {
	if !c.Measured {
		return fmt.Sprintf("threshold %.3f (%s)", c.Threshold, c.Note)
	}
	return fmt.Sprintf("threshold %.3f for %d tickets from %d impostor pairs: expected FPIR %.2g (%s)",
		c.Threshold, c.Gallery, c.Pairs, c.ExpectedFPIR, c.Note)
}

// Notes, as Choice.Note holds them.
const (
	NoteTooFew  = "too few tickets to measure: the model's default"
	NoteTarget  = "meets the target"
	NoteDefault = "the model's default already meets the target"
	NoteFloor   = "the target cannot be met: half the model's default, the strictest allowed"
)

// PairRate returns the per-pair false-match rate that gives fpir over a
// gallery of n tickets: 1 − (1 − fpir)^(1/n).
func PairRate(fpir float64, n int) float64 {
	if n < 1 {
		n = 1
	}
	return -math.Expm1(math.Log1p(-fpir) / float64(n))
}

// FPIR returns the chance that a stranger matches one of n tickets when
// each matches with probability pairRate: 1 − (1 − pairRate)^n.
func FPIR(pairRate float64, n int) float64 {
	return -math.Expm1(float64(n) * math.Log1p(-pairRate))
}

// FloorFraction is how far below the model's default a threshold may go:
// half of it. Beyond that too many of the visitors' own faces would be
// refused (about half of genuine pairs are farther apart than half of
// MobileFaceNet's default on the development set); a gallery that would
// need a stricter threshold gets the floor, and Choice.TargetMet says that
// the target is not met.
const FloorFraction = 0.5

// Choose returns the threshold for a gallery of n tickets whose impostor
// distances (any order; Choose does not modify them) are given, such that
// the expected FPIR is at most target, and never above def, the model's
// measured default, nor below FloorFraction of it. With fewer than
// MinPairs distances it returns def, not Measured.
func Choose(impostors []float32, n int, target float64, def float32) Choice {
	c := Choice{Threshold: def, Gallery: n, Pairs: len(impostors)}
	if len(impostors) < MinPairs || n < 1 || !(target > 0 && target < 1) {
		c.Note = NoteTooFew
		return c
	}
	d := slices.Clone(impostors)
	slices.Sort(d)
	tail := fitTail(d)
	f := PairRate(target, n)

	// The sample allows t only below its (k+1)-th smallest distance: at
	// most k = ⌊f·P⌋ pairs may fall at or under t.
	k := int(math.Floor(f * float64(len(d))))
	t := def
	if k < len(d) {
		t = min(t, math.Nextafter32(d[k], float32(math.Inf(-1))))
	}
	if tail.ok() {
		t = min(t, below(tail.quantile(f)))
	}
	floor := def * FloorFraction
	c.TargetMet = t >= floor
	t = max(t, floor)
	c.Threshold, c.Measured = t, true
	c.PairRate = max(empirical(d, t), tail.cdf(float64(t)))
	c.ExpectedFPIR = FPIR(c.PairRate, n)
	switch {
	case !c.TargetMet:
		c.Note = NoteFloor
	case t == def:
		c.Note = NoteDefault
	default:
		c.Note = NoteTarget
	}
	return c
}

// below returns x as a float32 not above it.
func below(x float64) float32 {
	f := float32(x)
	if float64(f) > x {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

// empirical returns the share of the sorted distances d at or under t.
func empirical(d []float32, t float32) float64 {
	i, found := slices.BinarySearch(d, t)
	for found && i < len(d) && d[i] == t {
		i++
	}
	return float64(i) / float64(len(d))
}

// normal is a normal distribution; a zero sigma is none (cdf 0).
type normal struct{ mu, sigma float64 }

func (n normal) ok() bool { return n.sigma > 0 && !math.IsInf(n.sigma, 0) && !math.IsNaN(n.mu) }

func (n normal) cdf(x float64) float64 {
	if !n.ok() {
		return 0
	}
	return 0.5 * math.Erfc(-(x-n.mu)/(n.sigma*math.Sqrt2))
}

func (n normal) quantile(p float64) float64 { return n.mu + n.sigma*probit(p) }

// probit is the standard normal quantile function.
func probit(p float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*p) }

// fitTail returns the normal curve through the sorted distances' tailLow
// and tailHigh quantiles: it follows the lower tail, where false matches
// are, rather than the bulk of the distribution.
func fitTail(d []float32) normal {
	lo, hi := quantile(d, tailLow), quantile(d, tailHigh)
	sigma := (hi - lo) / (probit(tailHigh) - probit(tailLow))
	return normal{mu: hi - sigma*probit(tailHigh), sigma: sigma}
}

// quantile interpolates the p-quantile of the sorted d.
func quantile(d []float32, p float64) float64 {
	x := p * float64(len(d)-1)
	i := int(x)
	if i+1 >= len(d) {
		return float64(d[len(d)-1])
	}
	frac := x - float64(i)
	return float64(d[i])*(1-frac) + float64(d[i+1])*frac
}
