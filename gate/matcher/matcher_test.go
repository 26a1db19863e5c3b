package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// spaces are the descriptor shapes of the models a gate can run.
var spaces = []struct {
	name   string
	dim    int
	metric Metric
}{
	{"dlib", 128, Euclidean},
	{"mobilefacenet", 192, Cosine},
	{"fr-feature", 512, Cosine},
	{"odd length", 37, Euclidean},
}

func randomFace(r *rand.Rand, dim int) []float32 {
	f := make([]float32, dim)
	var n float64
	for i := range f {
		f[i] = float32(r.NormFloat64())
		n += float64(f[i] * f[i])
	}
	for i := range f {
		f[i] /= float32(math.Sqrt(n))
	}
	return f
}

// near returns f moved by about dist in a random direction.
func near(r *rand.Rand, f []float32, dist float32) []float32 {
	d := randomFace(r, len(f))
	out := make([]float32, len(f))
	for i := range f {
		out[i] = f[i] + d[i]*dist
	}
	return out
}

// held is a descriptor as a gallery holds it, worked out independently in
// float64: normalised for the cosine metric, then in 16-bit fixed point
// with its largest value at ±32767.
func held(metric Metric, f []float32) []float64 {
	v := make([]float64, len(f))
	var n, peak float64
	for i, x := range f {
		v[i] = float64(x)
		n += v[i] * v[i]
	}
	for i := range v {
		if metric == Cosine && n > 0 {
			v[i] /= math.Sqrt(n)
		}
		peak = max(peak, math.Abs(v[i]))
	}
	if peak == 0 {
		return v
	}
	step := peak / 32767
	for i := range v {
		v[i] = math.Round(v[i]/step) * step
	}
	return v
}

// distance64 is the metric computed independently of the gallery, in
// float64, between a query and a descriptor as the gallery holds it.
func distance64(metric Metric, q, f []float32) float64 {
	h := held(metric, f)
	if metric == Cosine {
		var dot, nq, nh float64
		for i := range q {
			dot += float64(q[i]) * h[i]
			nq += float64(q[i]) * float64(q[i])
			nh += h[i] * h[i]
		}
		return 1 - dot/math.Sqrt(nq*nh)
	}
	var sum float64
	for i := range q {
		d := float64(q[i]) - h[i]
		sum += d * d
	}
	return math.Sqrt(sum)
}

// bruteForce is the search done the slow, obvious way.
func bruteForce(metric Metric, q []float32, tickets map[string][][]float32) (best, second string, bestD, secondD float64) {
	bestD, secondD = math.Inf(1), math.Inf(1)
	for id, faces := range tickets {
		d := math.Inf(1)
		for _, f := range faces {
			d = min(d, distance64(metric, q, f))
		}
		switch {
		case d < bestD:
			second, secondD = best, bestD
			best, bestD = id, d
		case d < secondD:
			second, secondD = id, d
		}
	}
	return best, second, bestD, secondD
}

func TestSearchMatchesBruteForce(t *testing.T) {
	for _, sp := range spaces {
		t.Run(sp.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			g := NewGallery(sp.dim, sp.metric)
			tickets := map[string][][]float32{}
			held := map[string][][]float32{} // not searched
			for i := 0; i < 300; i++ {
				id := fmt.Sprintf("T%03d", i)
				faces := [][]float32{randomFace(r, sp.dim)}
				if i%3 == 0 {
					faces = append(faces, near(r, faces[0], 0.3))
				}
				active := i%5 != 0
				if active {
					tickets[id] = faces
				} else {
					held[id] = faces
				}
				if err := g.Set(id, faces, active); err != nil {
					t.Fatal(err)
				}
			}
			// Churn: remove and re-add, so free slots are reused; turn
			// some held tickets on.
			for i := 0; i < 300; i += 7 {
				id := fmt.Sprintf("T%03d", i)
				g.Remove(id)
				delete(tickets, id)
				delete(held, id)
			}
			for i := 0; i < 300; i += 14 {
				id := fmt.Sprintf("T%03d", i)
				tickets[id] = [][]float32{randomFace(r, sp.dim)}
				if err := g.Set(id, tickets[id], true); err != nil {
					t.Fatal(err)
				}
			}
			for id, faces := range held {
				if id[len(id)-1] == '5' {
					g.SetActive(id, true)
					tickets[id] = faces
				}
			}
			var ids []string
			for id := range tickets {
				ids = append(ids, id)
			}
			for i := 0; i < 200; i++ {
				q := randomFace(r, sp.dim)
				if i%2 == 0 {
					q = near(r, tickets[ids[i%len(ids)]][0], 0.2)
				}
				got, err := g.Search(q)
				if err != nil {
					t.Fatal(err)
				}
				best, second, bestD, secondD := bruteForce(sp.metric, q, tickets)
				if got.Best != best || got.Second != second ||
					math.Abs(float64(got.BestDistance)-bestD) > 1e-5 || math.Abs(float64(got.SecondDistance)-secondD) > 1e-5 {
					t.Fatalf("query %d: Search = %+v; want best %s at %.6f, second %s at %.6f", i, got, best, bestD, second, secondD)
				}
			}
			if n, _ := g.Len(); n != len(tickets) {
				t.Errorf("Len = %d tickets searched; want %d", n, len(tickets))
			}
			if n := g.Held(); n != len(tickets)+len(held)-countSuffix(held, '5') {
				t.Errorf("Held = %d; want %d", n, len(tickets)+len(held)-countSuffix(held, '5'))
			}
		})
	}
}

func countSuffix(m map[string][][]float32, c byte) int {
	n := 0
	for id := range m {
		if id[len(id)-1] == c {
			n++
		}
	}
	return n
}

func TestCompare(t *testing.T) {
	for _, sp := range spaces {
		r := rand.New(rand.NewPCG(11, 12))
		g := NewGallery(sp.dim, sp.metric)
		a := randomFace(r, sp.dim)
		faces := [][]float32{near(r, a, 0.4), near(r, a, 0.1), randomFace(r, sp.dim)}
		if err := g.Set("A", faces, false); err != nil {
			t.Fatal(err)
		}
		want := math.Inf(1)
		for _, f := range faces {
			want = min(want, distance64(sp.metric, a, f))
		}
		got, ok, err := g.Compare("A", a)
		if err != nil || !ok || math.Abs(float64(got)-want) > 1e-5 {
			t.Errorf("%s: Compare(held ticket) = %v, %v, %v; want %.6f", sp.name, got, ok, err, want)
		}
		if _, ok, err := g.Compare("B", a); ok || err != nil {
			t.Errorf("%s: Compare(unknown ticket) = %v, %v; want not ok", sp.name, ok, err)
		}
		if _, _, err := g.Compare("A", a[:sp.dim-1]); err == nil {
			t.Errorf("%s: Compare with a short query = nil error; want one", sp.name)
		}
	}
}

func TestSetRefusesBadDescriptors(t *testing.T) {
	g := NewGallery(4, Cosine)
	if err := g.Set("A", [][]float32{{1, 0, 0, 0}}, true); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][][]float32{
		{{1, 0, 0}},
		{{1, 0, 0, 0}, {1, 0, 0, 0, 0}},
		{{float32(math.NaN()), 0, 0, 0}},
		{{float32(math.Inf(1)), 0, 0, 0}},
	} {
		if err := g.Set("A", bad, true); err == nil {
			t.Errorf("Set(%v) = nil error; want one", bad)
		}
	}
	if held, active := g.Has("A"); !held || !active {
		t.Errorf("after refused Sets, Has(A) = %v, %v; want the first Set kept", held, active)
	}
	if _, err := g.Search([]float32{1, 0}); err == nil {
		t.Error("Search with a short query = nil error; want one")
	}
}

func TestSecondBestIsAnotherTicket(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := randomFace(r, 128)
	g := NewGallery(128, Euclidean)
	g.Set("A", [][]float32{a, near(r, a, 0.05), near(r, a, 0.1)}, true)
	g.Set("B", [][]float32{near(r, a, 0.5)}, true)
	res, _ := g.Search(a)
	if res.Best != "A" || res.Second != "B" {
		t.Errorf("Search = %+v; want best A, second B (not A's other faces)", res)
	}
	g.Remove("B")
	if res, _ = g.Search(a); res.Second != "" || !math.IsInf(float64(res.SecondDistance), 1) {
		t.Errorf("Search with one ticket = %+v; want no second", res)
	}
	g.SetActive("A", false)
	if res, _ = g.Search(a); res.Best != "" {
		t.Errorf("Search with A held aside = %+v; want nothing", res)
	}
	g.Set("A", nil, true)
	if held, _ := g.Has("A"); held {
		t.Errorf("Set(A, nil) left A in the gallery")
	}
}

// TestRemovedFacesLeaveNoTrace checks that the memory of a removed or
// replaced face holds nothing of it, and that what stays is untouched.
func TestRemovedFacesLeaveNoTrace(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	g := NewGallery(128, Euclidean)
	keep := randomFace(r, 128)
	g.Set("KEEP", [][]float32{keep}, true)
	g.Set("GONE", [][]float32{randomFace(r, 128), randomFace(r, 128)}, true)
	g.Set("SWAP", [][]float32{randomFace(r, 128)}, true)
	g.Remove("GONE")
	g.Set("SWAP", [][]float32{keep}, true)
	g.mu.RLock()
	defer g.mu.RUnlock()
	if len(g.owner) != 4 {
		t.Fatalf("%d slots; want 4", len(g.owner))
	}
	used := 0
	for s, ti := range g.owner {
		vals, rec := g.vals[s*128:(s+1)*128], g.record(int32(s))
		nonzero := slices.ContainsFunc(vals, func(v int16) bool { return v != 0 }) ||
			slices.ContainsFunc(rec, func(c uint8) bool { return c != 0 })
		if ti < 0 && (nonzero || g.step[s] != 0) {
			t.Errorf("free slot %d still holds a face", s)
		}
		if ti >= 0 {
			used++
			if !nonzero {
				t.Errorf("slot %d of %s holds nothing", s, g.tickets[ti])
			}
		}
	}
	if used != 2 {
		t.Errorf("%d slots in use; want 2", used)
	}
}

func TestConcurrentSearchAndUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	g := NewGallery(192, Cosine)
	faces := make([][]float32, 100)
	for i := range faces {
		faces[i] = randomFace(r, 192)
		g.Set(fmt.Sprint(i), faces[i:i+1], true)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if w == 0 {
					id := fmt.Sprint(i % 100)
					g.Remove(id)
					g.Set(id, faces[i%100:i%100+1], i%2 == 0)
					g.SetActive(id, true)
					continue
				}
				if res, _ := g.Search(faces[50]); res.Best != "50" && res.Best != "" && res.BestDistance < 0.01 {
					t.Errorf("Search found %s at %v for face 50", res.Best, res.BestDistance)
				}
			}
		}(w)
	}
	wg.Wait()
}

func TestPolicyCandidate(t *testing.T) {
	p := Policy{Threshold: 0.45, Margin: 0.06}
	tests := []struct {
		name string
		r    Result
		want string
	}{
		{"close and clear", Result{Best: "A", BestDistance: 0.3, Second: "B", SecondDistance: 0.6}, "A"},
		{"only one ticket", Result{Best: "A", BestDistance: 0.3, SecondDistance: float32(math.Inf(1))}, "A"},
		{"at the threshold", Result{Best: "A", BestDistance: 0.45, Second: "B", SecondDistance: 0.8}, "A"},
		{"too far", Result{Best: "A", BestDistance: 0.46, Second: "B", SecondDistance: 0.9}, ""},
		{"second too close", Result{Best: "A", BestDistance: 0.30, Second: "B", SecondDistance: 0.35}, ""},
		{"empty gallery", Result{BestDistance: float32(math.Inf(1)), SecondDistance: float32(math.Inf(1))}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Candidate(tt.r); got != tt.want {
				t.Errorf("Candidate(%+v) = %q; want %q", tt.r, got, tt.want)
			}
		})
	}
}

func TestTrackerKOfNAndCooldown(t *testing.T) {
	p := Policy{Agree: 2, Window: 3, Cooldown: 5 * time.Second}
	tr := NewTracker(p)
	t0 := time.Unix(1000, 0)
	steps := []struct {
		vote   string
		at     time.Duration
		agreed bool
	}{
		{"A", 0, false},
		{"B", 100 * time.Millisecond, false},
		{"A", 200 * time.Millisecond, true}, // 2 of 3 say A
		{"A", 300 * time.Millisecond, false},
		{"A", 400 * time.Millisecond, false}, // A agreed again, but within the cooldown
		{"", 500 * time.Millisecond, false},
		{"", 600 * time.Millisecond, false},
		{"", 700 * time.Millisecond, true}, // unknown needs the whole window
		{"A", 6 * time.Second, false},
		{"A", 6100 * time.Millisecond, true}, // cooldown over
	}
	for i, s := range steps {
		_, ok := tr.Add(Vote{Ticket: s.vote, Distance: 0.3}, t0.Add(s.at))
		if ok != s.agreed {
			t.Errorf("step %d (%q at %v): agreed = %v; want %v", i, s.vote, s.at, ok, s.agreed)
		}
	}
}

func benchmarkSearch(b *testing.B, n, dim int, metric Metric, exact bool) {
	r := rand.New(rand.NewPCG(7, 8))
	g := NewGallery(dim, metric)
	for i := 0; i < n; i++ {
		g.Set(fmt.Sprint(i), [][]float32{randomFace(r, dim)}, true)
	}
	q, _ := g.query(randomFace(r, dim))
	// Building the gallery leaves the collector work to do; a search
	// timed while it runs measures it too.
	runtime.GC()
	times := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if exact {
			g.mu.RLock()
			g.searchExact(q)
			g.mu.RUnlock()
		} else {
			g.Search(q)
		}
		times = append(times, float64(time.Since(start))/1e6)
	}
	b.StopTimer()
	// On a shared machine a few searches wait for another tenant: the
	// median says what a search takes, beside the mean (ns/op).
	slices.Sort(times)
	b.ReportMetric(times[len(times)/2], "p50-ms")
	b.ReportMetric(float64(g.bytesPerDescriptor()), "B/descriptor")
}

// BenchmarkSearch times one query against galleries of random descriptors
// of dlib's and MobileFaceNet's shapes: the two-pass search the gate uses,
// and the exact scan it replaces.
func BenchmarkSearch(b *testing.B) {
	for _, sp := range spaces[:2] {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			for _, exact := range []bool{false, true} {
				name := "two-pass"
				if exact {
					name = "exact-scan"
				}
				b.Run(fmt.Sprintf("%s/descriptors=%d/%s", sp.name, n, name), func(b *testing.B) { benchmarkSearch(b, n, sp.dim, sp.metric, exact) })
			}
		}
	}
}
