package matcher

import "math"

// A record's header holds its numbers as IEEE 754 half-precision floats
// (binary16: 11 significant bits, finite up to 65504), rounded the way the
// bounds need them: a length that must not be underestimated up, a squared
// length that must not be overestimated down. Halves rather than float32s
// save the first pass 8 of its 112 bytes a MobileFaceNet descriptor; ‖a‖²
// rounded down widens a bound by at most a thousandth of ‖a‖².

const (
	halfMax     = 65504       // the largest finite half
	halfNaN     = 0x7e00      // a quiet NaN
	halfMinNorm = 1.0 / 16384 // 2⁻¹⁴, the smallest normal half
)

// halfToFloat returns the value of the half h.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * math.Ldexp(frac, -24)
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// halfDown returns the largest half at most x, for 0 ≤ x: halfMax for
// anything larger.
func halfDown(x float64) uint16 {
	if x >= halfMax {
		return 0x7bff
	}
	if x < halfMinNorm {
		return uint16(math.Floor(math.Ldexp(x, 24))) // subnormal: units of 2⁻²⁴
	}
	frac, exp := math.Frexp(x) // x = frac·2^exp, frac in [0.5, 1)
	m := math.Floor((2*frac - 1) * 1024)
	return uint16(exp-1+15)<<10 | uint16(m)
}

// halfUp returns the smallest half at least x, for 0 ≤ x, and false when
// x is beyond the largest finite half.
func halfUp(x float64) (uint16, bool) {
	if x > halfMax {
		return 0, false
	}
	h := halfDown(x)
	if halfToFloat(h) < x {
		h++ // the next half up, across exponents too
	}
	return h, true
}

// halfNearest returns the half nearest x (0 < x), and false when that is 0
// or beyond the largest finite half.
func halfNearest(x float64) (uint16, bool) {
	if x > halfMax {
		return 0, false
	}
	lo := halfDown(x)
	h := lo
	if hi := lo + 1; halfToFloat(hi)-x < x-halfToFloat(lo) {
		h = hi
	}
	return h, h != 0
}
