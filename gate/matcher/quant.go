package matcher

import "math"

// Each stored descriptor also has a compact code: its values as int8 times
// a scale of its own, so that the first pass of a search reads a quarter of
// the memory the float32 values take. From the codes the search bounds
// each descriptor's true squared distance to the query; the bounds are
// proven, so the exact pass that follows sees every descriptor that could
// be the best or second best, and the results are the exact search's.
//
// With v = s·c + e per value, where c is the code and |e| ≤ s/2,
//
//	a·b = sa·sb·(ca·cb) + sa·Σ ca·eb + sb·Σ cb·ea + Σ ea·eb
//
// so a·b is within sa·sb/2·(‖ca‖₁ + ‖cb‖₁ + n/2) of sa·sb·(ca·cb), and
// d² = ‖a‖² + ‖b‖² − 2a·b within twice that of its estimate. A further
// 1e-4·(‖a‖² + ‖b‖²) covers float rounding, in the bounds and in the exact
// float32 sums they are compared with.

// code is the compact form of a descriptor.
type code struct {
	scale float32 // value = scale · code
	l1    float32 // Σ |code|
	norm2 float32 // Σ value², of the float32 values
}

// quantize writes v's code into c and returns its scale, L1 norm and
// squared norm.
func quantize(v []float32, c []int8) code {
	var peak float64
	var norm2 float64
	for _, x := range v {
		peak = max(peak, math.Abs(float64(x)))
		norm2 += float64(x) * float64(x)
	}
	out := code{norm2: float32(norm2)}
	if peak == 0 {
		clear(c)
		return out
	}
	out.scale = float32(peak / 127)
	inv := 127 / peak
	var l1 float64
	for i, x := range v {
		q := math.Round(float64(x) * inv)
		c[i] = int8(q)
		l1 += math.Abs(q)
	}
	out.l1 = float32(l1)
	return out
}
