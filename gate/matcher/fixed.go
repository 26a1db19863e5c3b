package matcher

import "math"

// A gallery holds each descriptor as 16-bit integers times a step of its
// own: the largest value in magnitude becomes ±32767, so each value is held
// within step/2 = peak/65534 of the one given: about 4e-6 for a
// MobileFaceNet descriptor, normalised, less than its outputs differ between
// two runtimes (2e-5). A distance moves by at most 1e-5 on real descriptors
// (gate/node TestSearchOnRealDescriptors), against thresholds and margins
// given to two decimals. The gallery computes every distance from the
// values it holds, both passes of a search alike, so its results are those
// of comparing every descriptor held.

// fixedMax is the integer the largest value in magnitude becomes.
const fixedMax = 32767

// toFixed writes v in 16-bit fixed point into c and returns the step: the
// value of one unit.
func toFixed(v []float32, c []int16) float32 {
	var peak float64
	for _, x := range v {
		peak = max(peak, math.Abs(float64(x)))
	}
	if peak == 0 {
		clear(c)
		return 0
	}
	step := float32(peak / fixedMax)
	inv := 1 / float64(step)
	for i, x := range v {
		// The float32 step is within a rounding of peak/fixedMax, so
		// the peak itself may land a hair beyond fixedMax.
		c[i] = int16(max(-fixedMax, min(fixedMax, math.Round(float64(x)*inv))))
	}
	return step
}

// fromFixed writes into v the values c times step, as the distances see
// them.
func fromFixed(c []int16, step float32, v []float32) {
	for i, x := range c {
		v[i] = step * float32(x)
	}
}
