package matcher

import (
	"math"
	"unsafe"
)

// Each stored descriptor also has a compact code: its values as 4-bit
// integers (−7 to 7) times a scale of its own, two to a byte, so that the
// first pass of a search reads a quarter of the bytes of the 16-bit values
// held. The query gets an int8 code. From the codes the search bounds each
// descriptor's true squared distance to the query; the bounds are proven,
// so the exact pass sees every descriptor that could be the best or second
// best, and the results are the exact search's.
//
// With a = sa·ca + ea and q = sq·cq + eq, where ‖ea‖ and ‖eq‖ are the
// lengths of what the codes leave out (kept with them, rounded up),
//
//	a·q = sa·sq·(ca·cq) + sa·ca·eq + ea·q
//
// and by the Cauchy–Schwarz inequality |sa·ca·eq| ≤ ‖sa·ca‖·‖eq‖ ≤
// (‖a‖ + ‖ea‖)·‖eq‖ and |ea·q| ≤ ‖ea‖·‖q‖. So a·q is within
// (‖a‖ + ‖ea‖)·‖eq‖ + ‖ea‖·‖q‖ of sa·sq·(ca·cq), and d² = ‖a‖² + ‖q‖² − 2a·q
// within twice that of its estimate. ca·cq is computed exactly, in
// integers. A further 1e-4·(‖a‖² + ‖q‖²) + 1e-6 covers float rounding, in
// the bounds and in the exact float32 sums they are compared with.
//
// Bounds from the lengths of the residuals are tight enough for 4-bit codes:
// among 100,000 random 192-value descriptors the first pass leaves one to
// three in a hundred to be compared exactly, 0.5 in a hundred of 128 values.

// code is what the bounds need of the query besides its code.
type code struct {
	scale float32 // value ≈ scale · code
	resid float32 // ‖value − scale·code‖, rounded up
	norm2 float32 // Σ value²
}

// A slot's record is what the first pass reads of it, in one place so that
// the scan reads memory in one stream: its header, then its codes.
//
// header is what the bounds need of a stored descriptor besides its code,
// as halves (half.go; sg_header in scan.h): the scale its code was made
// with, itself a half; ‖ea‖ and ‖a‖ + ‖ea‖ rounded up; ‖a‖² rounded down,
// which keeps the lower bound a lower bound. A descriptor whose numbers a
// half cannot hold has a NaN scale: its bounds are not numbers, and the
// search compares it exactly.
type header struct {
	scale, resid, norm2, reach uint16
}

const headerBytes = int(unsafe.Sizeof(header{})) // 8

// values returns the header's numbers: scale, resid, norm2, reach.
func (h header) values() (scale, resid, norm2, reach float64) {
	return halfToFloat(h.scale), halfToFloat(h.resid), halfToFloat(h.norm2), halfToFloat(h.reach)
}

// recordBytes is how many bytes a slot's record takes.
func recordBytes(dim int) int { return headerBytes + codeBytes(dim) }

// record returns slot s's record.
func (g *Gallery) record(s int32) []uint8 {
	rb := recordBytes(g.dim)
	return g.records[int(s)*rb : (int(s)+1)*rb]
}

// putRecord writes the record of the values v into rec.
func putRecord(rec []uint8, v []float32) {
	*(*header)(unsafe.Pointer(&rec[0])) = quantize4(v, rec[headerBytes:])
}

const (
	code4Max = 7 // a stored code is −code4Max to code4Max
	code8Max = 127
)

// codeBytes is how many bytes a descriptor of dim values takes as 4-bit
// codes: 32 for each 64 values or part of them. Value i is in byte
// 32·(i/64) + i%32, in its low half when i%64 < 32 and its high half
// otherwise, as code+8; the scan pairs it with the query's value i.
func codeBytes(dim int) int { return (dim + 63) / 64 * 32 }

// quantize4 writes v's 4-bit code into c (codeBytes(len(v)) bytes) and
// returns its header. The scales tried are the largest value over
// code4Max, or a little less, which clips the largest values but rounds the
// many others more finely (for random descriptors the error is a tenth
// shorter: 0.107 against 0.116 with 128 values, 0.109 against 0.122 with
// 192), each rounded to a half.
func quantize4(v []float32, c []uint8) header {
	for i := range c {
		c[i] = 8 | 8<<4 // code 0 in both halves: the padding beyond len(v)
	}
	peak, norm2 := peakNorm(v)
	if peak == 0 {
		// All codes 0 and nothing left out: the bounds are exact.
		return header{norm2: halfDown(norm2)}
	}
	var halves []uint16
	var scales []float64
	for _, f := range []float64{1, 0.9, 0.8, 0.7, 0.6} {
		if h, ok := halfNearest(f * peak / code4Max); ok {
			halves = append(halves, h)
			scales = append(scales, halfToFloat(h))
		}
	}
	if len(scales) == 0 || norm2 > halfMax {
		return header{scale: halfNaN}
	}
	codes, i, resid := quantizeTo(v, code4Max, scales)
	// The float64 sums above are within a few parts in 1e16; the nudges
	// keep what is rounded up above the true values and ‖a‖² below.
	h := header{scale: halves[i], norm2: halfDown(norm2 * (1 - 1e-12))}
	var okResid, okReach bool
	h.resid, okResid = halfUp(resid * (1 + 1e-12))
	h.reach, okReach = halfUp((math.Sqrt(norm2) + resid) * (1 + 1e-12))
	if !okResid || !okReach {
		return header{scale: halfNaN}
	}
	for i, x := range codes {
		b := 32*(i/64) + i%32
		shift := 0
		if i%64 >= 32 {
			shift = 4
		}
		c[b] = c[b]&^(0xf<<shift) | uint8(x+8)<<shift
	}
	return h
}

// quantizeQuery returns q's int8 code, padded with zeros to whole blocks of
// 64 as the scan reads it, the sum of its codes and what the bounds need.
func quantizeQuery(q []float32) ([]int8, int32, code) {
	peak, norm2 := peakNorm(q)
	out := code{norm2: float32(norm2)}
	c := make([]int8, 2*codeBytes(len(q)))
	if peak == 0 {
		return c, 0, out
	}
	out.scale = float32(peak / code8Max)
	codes, _, resid := quantizeTo(q, code8Max, []float64{float64(out.scale)})
	out.resid = math.Nextafter32(float32(resid), float32(math.Inf(1)))
	var sum int32
	for i, x := range codes {
		c[i] = int8(x)
		sum += int32(x)
	}
	return c, sum, out
}

// peakNorm returns the largest of v's values in magnitude and its squared
// norm, in float64.
func peakNorm(v []float32) (peak, norm2 float64) {
	for _, x := range v {
		peak = max(peak, math.Abs(float64(x)))
		norm2 += float64(x) * float64(x)
	}
	return peak, norm2
}

// quantizeTo rounds v to integers from −most to most times each of scales
// and returns the codes of the scale that leaves the shortest error, with
// that scale's index and the error's length, worked out in float64. scales
// must not be empty.
func quantizeTo(v []float32, most int, scales []float64) (codes []int, index int, resid float64) {
	codes = make([]int, len(v))
	try := make([]int, len(v))
	best := math.Inf(1)
	for k, s := range scales {
		// Any integer code is sound (the bounds use the residual it
		// leaves); the nearest, ties to even, leaves the shortest, and
		// RoundToEven is a single instruction where Round is not.
		inv, m := 1/s, float64(most)
		var resid2 float64
		for i, x := range v {
			c := max(-m, min(m, math.RoundToEven(float64(x)*inv)))
			try[i] = int(c)
			e := float64(x) - s*c
			resid2 += e * e
		}
		if resid2 < best {
			best, index = resid2, k
			copy(codes, try)
		}
	}
	return codes, index, math.Sqrt(best)
}
