package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
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
// codes read back from their bytes as the scan reads them.
func TestQuantizeBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, dim := range []int{37, 128, 192, 512} {
		packed := make([]uint8, codeBytes(dim))
		for range 2000 {
			a, q := randomFace(r, dim), randomFace(r, dim)
			for j := range a {
				a[j] *= float32(r.Float64() * 3)
			}
			qa := quantize4(a, packed)
			qcode, qsum, qq := quantizeQuery(q)
			var dot, cdot, resid, sum float64
			for j := range a {
				ca := int(packed[32*(j/64)+j%32]>>(4*(j%64/32))&15) - 8
				if ca < -code4Max || ca > code4Max {
					t.Fatalf("dim %d: value %d has code %d, outside ±%d", dim, j, ca, code4Max)
				}
				e := float64(a[j]) - float64(qa.scale)*float64(ca)
				resid += e * e
				dot += float64(a[j]) * float64(q[j])
				cdot += float64(ca) * float64(qcode[j])
				sum += float64(qcode[j])
			}
			if math.Sqrt(resid) > float64(qa.resid) {
				t.Fatalf("dim %d: the code leaves out %.6g; it says at most %.6g", dim, math.Sqrt(resid), qa.resid)
			}
			if sum != float64(qsum) {
				t.Fatalf("dim %d: the query's codes sum to %v; quantizeQuery says %d", dim, sum, qsum)
			}
			est := float64(qa.scale) * float64(qq.scale) * cdot
			na, nq := math.Sqrt(float64(qa.norm2)), math.Sqrt(float64(qq.norm2))
			bound := (na+float64(qa.resid))*float64(qq.resid) + float64(qa.resid)*nq
			if diff := est - dot; diff > bound || -diff > bound {
				t.Fatalf("dim %d: code dot product %.6g, true %.6g: off by more than the bound %.6g", dim, est, dot, bound)
			}
		}
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
