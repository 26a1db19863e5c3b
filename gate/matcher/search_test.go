package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// bigGallery fills a gallery of one shape with n tickets: most with one
// face, every seventh with three close ones, every eleventh held aside.
func bigGallery(t testing.TB, r *rand.Rand, dim int, metric Metric, n int) (*Gallery, [][]float32) {
	g := NewGallery(dim, metric)
	var faces [][]float32
	for i := range n {
		f := randomFace(r, dim)
		if metric == Euclidean {
			// dlib's descriptors are not normalised: lengths vary.
			for j := range f {
				f[j] *= 0.8 + 0.4*float32(r.Float64())
			}
		}
		fs := [][]float32{f}
		if i%7 == 0 {
			fs = append(fs, near(r, f, 0.1), near(r, f, 0.2))
		}
		if err := g.Set(fmt.Sprintf("T%06d", i), fs, i%11 != 0); err != nil {
			t.Fatal(err)
		}
		faces = append(faces, f)
	}
	// Churn, so that free slots are reused.
	for i := 0; i < n; i += 13 {
		g.Remove(fmt.Sprintf("T%06d", i))
	}
	for i := 0; i < n; i += 26 {
		g.Set(fmt.Sprintf("T%06d", i), [][]float32{near(r, faces[i], 0.3)}, true)
	}
	return g, faces
}

// TestCompactSearchIsExact checks the two-pass search against the exact
// scan — the same best and second-best tickets at the same float32
// distances — on galleries large enough to share the first pass between
// workers, for every shape of descriptor, with the scan's AVX2 code (where
// the CPU has it) and its plain code. (TestSearchMatchesBruteForce checks
// small galleries against a float64 reference.)
func TestCompactSearchIsExact(t *testing.T) {
	defer plainScan(false)
	runs := []struct {
		space int // index in spaces
		plain bool
	}{{0, false}, {1, false}, {2, false}, {3, false},
		// The plain code on whole blocks of 64 values and on a length
		// that leaves part of one.
		{1, true}, {3, true}}
	for _, run := range runs {
		sp, plain := spaces[run.space], run.plain
		name := sp.name
		if plain {
			name += "/plain"
		}
		plainScan(plain)
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(21, 22))
			g, faces := bigGallery(t, r, sp.dim, sp.metric, 3*workerShare)
			for i := range 300 {
				var q []float32
				switch i % 3 {
				case 0:
					q = near(r, faces[r.IntN(len(faces))], 0.15) // a visitor
				case 1:
					q = near(r, faces[r.IntN(len(faces))], 0.6) // a lookalike
				default:
					q = randomFace(r, sp.dim) // a stranger
				}
				got, err := g.Search(q)
				if err != nil {
					t.Fatal(err)
				}
				qn, _ := g.query(q)
				g.mu.RLock()
				want := g.searchExact(qn)
				g.mu.RUnlock()
				if got != want {
					t.Fatalf("query %d: two-pass search = %+v; the exact scan gives %+v", i, got, want)
				}
			}
		})
	}
}

// TestCompactSearchUndecidedFallsBack fills a gallery with one descriptor
// many times over: the bounds cannot tell the copies apart, the candidates
// overflow, and the search must still give the exact answer.
func TestCompactSearchUndecidedFallsBack(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	g := NewGallery(128, Euclidean)
	same := randomFace(r, 128)
	for i := range 2 * workerShare {
		g.Set(fmt.Sprintf("T%06d", i), [][]float32{same}, true)
	}
	g.Set("CLOSEST", [][]float32{near(r, same, 0.01)}, true)
	q := near(r, same, 0.01)
	got, _ := g.Search(q)
	g.mu.RLock()
	want := g.searchExact(q)
	g.mu.RUnlock()
	if got != want {
		t.Fatalf("Search on %d copies = %+v; the exact scan gives %+v", 2*workerShare, got, want)
	}
}

// TestQuantizeBounds checks the bound on the dot product that the first
// pass relies on, in float64, on vectors of every shape, with the stored
// codes and header read back from their bytes as the scan reads them.
func TestQuantizeBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, dim := range []int{37, 128, 192, 512} {
		rec := make([]uint8, recordBytes(dim))
		for i := range 2000 {
			a, q := randomFace(r, dim), randomFace(r, dim)
			for j := range a {
				// Lengths from 1e-6 to 3e3: some halves subnormal.
				a[j] *= float32(r.Float64() * math.Pow(10, float64(i%10)-6))
			}
			putRecord(rec, a)
			scale, aResid, aNorm2, reach := (*(*header)(unsafe.Pointer(&rec[0]))).values()
			packed := rec[headerBytes:]
			qcode, qsum, qq := quantizeQuery(q)
			var dot, cdot, resid, norm2, sum float64
			for j := range a {
				ca := int(packed[32*(j/64)+j%32]>>(4*(j%64/32))&15) - 8
				if ca < -code4Max || ca > code4Max {
					t.Fatalf("dim %d: value %d has code %d, outside ±%d", dim, j, ca, code4Max)
				}
				e := float64(a[j]) - scale*float64(ca)
				resid += e * e
				norm2 += float64(a[j]) * float64(a[j])
				dot += float64(a[j]) * float64(q[j])
				cdot += float64(ca) * float64(qcode[j])
				sum += float64(qcode[j])
			}
			if math.IsNaN(scale) {
				// A header a half cannot hold: the search compares
				// the descriptor exactly.
				if peak, _ := peakNorm(a); norm2 <= halfMax && peak > 1e-6 {
					t.Fatalf("dim %d: ‖a‖² = %.6g, largest value %.3g: its header should hold it", dim, norm2, peak)
				}
				continue
			}
			switch {
			case math.Sqrt(resid) > aResid:
				t.Fatalf("dim %d: the code leaves out %.6g; its header says at most %.6g", dim, math.Sqrt(resid), aResid)
			case norm2 < aNorm2:
				t.Fatalf("dim %d: ‖a‖² = %.6g; its header says at least %.6g", dim, norm2, aNorm2)
			case norm2 > 2*aNorm2+1e-7:
				t.Fatalf("dim %d: ‖a‖² = %.6g; its header says %.6g, far below", dim, norm2, aNorm2)
			case math.Sqrt(norm2)+math.Sqrt(resid) > reach:
				t.Fatalf("dim %d: ‖a‖ + ‖ea‖ = %.6g; its header says at most %.6g", dim, math.Sqrt(norm2)+math.Sqrt(resid), reach)
			case sum != float64(qsum):
				t.Fatalf("dim %d: the query's codes sum to %v; quantizeQuery says %d", dim, sum, qsum)
			}
			est := scale * float64(qq.scale) * cdot
			nq := math.Sqrt(float64(qq.norm2))
			bound := reach*float64(qq.resid) + aResid*nq
			if diff := est - dot; diff > bound || -diff > bound {
				t.Fatalf("dim %d: code dot product %.6g, true %.6g: off by more than the bound %.6g", dim, est, dot, bound)
			}
		}
	}
}

// TestHalves checks the conversions between halves and numbers: the scan's
// own (for CPUs without F16C) against the Go one for every half, and the
// directed roundings around numbers of every size.
func TestHalves(t *testing.T) {
	for h := range 1 << 16 {
		want, got := halfToFloat(uint16(h)), float64(scanHalf(uint16(h)))
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("half %#04x: the scan reads %v; want %v", h, got, want)
		}
	}
	for _, tc := range []struct {
		h uint16
		v float64
	}{{0x3c00, 1}, {0x3800, 0.5}, {0x7bff, halfMax}, {0x0001, 1.0 / (1 << 24)}, {0x0400, halfMinNorm}, {0xc000, -2}} {
		if v := halfToFloat(tc.h); v != tc.v {
			t.Errorf("halfToFloat(%#04x) = %v; want %v", tc.h, v, tc.v)
		}
	}
	r := rand.New(rand.NewPCG(6, 7))
	for range 100_000 {
		x := math.Pow(10, r.Float64()*13-9) // 1e-9 to 1e4
		down := halfDown(x)
		up, ok := halfUp(x)
		near, nok := halfNearest(x)
		lo, hi := halfToFloat(down), halfToFloat(up)
		switch {
		case !ok || lo > x || halfToFloat(down+1) <= x:
			t.Fatalf("halfDown(%v) = %v; want the largest half at most it", x, lo)
		case hi < x || (up > 0 && halfToFloat(up-1) >= x):
			t.Fatalf("halfUp(%v) = %v; want the smallest half at least it", x, hi)
		case nok && math.Abs(halfToFloat(near)-x) > math.Min(x-lo, hi-x):
			t.Fatalf("halfNearest(%v) = %v; want the nearer of %v and %v", x, halfToFloat(near), lo, hi)
		case !nok && x > math.Ldexp(1, -25):
			t.Fatalf("halfNearest(%v) refused; want a half", x)
		}
	}
	if _, ok := halfUp(7e4); ok {
		t.Error("halfUp(7e4) = a half; want none: it is beyond the largest")
	}
}

// TestCompactSearchHugeValues searches descriptors so long that their
// squared lengths overflow float32, though the distances between them do
// not: the bounds are not numbers, and such a slot must be compared exactly
// rather than passed over.
func TestCompactSearchHugeValues(t *testing.T) {
	defer plainScan(false)
	for _, plain := range []bool{false, true} {
		plainScan(plain)
		r := rand.New(rand.NewPCG(3, 4))
		g := NewGallery(37, Euclidean)
		var faces [][]float32
		for i := range 2 * workerShare {
			f := randomFace(r, 37)
			if i%100 == 0 {
				for j := range f {
					f[j] *= 3e19
				}
			}
			faces = append(faces, f)
			g.Set(fmt.Sprintf("T%06d", i), [][]float32{f}, true)
		}
		for i := 0; i < len(faces); i += 100 {
			q := near(r, faces[i], 1e17)
			got, err := g.Search(q)
			if err != nil {
				t.Fatal(err)
			}
			g.mu.RLock()
			want := g.searchExact(q)
			g.mu.RUnlock()
			if got != want || got.Best != fmt.Sprintf("T%06d", i) {
				t.Fatalf("plain %v, query near T%06d: two-pass search = %+v; the exact scan gives %+v", plain, i, got, want)
			}
		}
	}
}
