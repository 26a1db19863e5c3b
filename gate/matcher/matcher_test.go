package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func randomFace(r *rand.Rand) [Dim]float32 {
	var f [Dim]float32
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
func near(r *rand.Rand, f [Dim]float32, dist float32) [Dim]float32 {
	d := randomFace(r)
	for i := range f {
		f[i] += d[i] * dist
	}
	return f
}

func bruteForce(q [Dim]float32, tickets map[string][][Dim]float32) Result {
	res := Result{BestDistance: float32(math.Inf(1)), SecondDistance: float32(math.Inf(1))}
	for id, faces := range tickets {
		d := Compare(q, faces)
		switch {
		case d < res.BestDistance:
			res.Second, res.SecondDistance = res.Best, res.BestDistance
			res.Best, res.BestDistance = id, d
		case d < res.SecondDistance:
			res.Second, res.SecondDistance = id, d
		}
	}
	return res
}

func TestSearchMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := NewGallery()
	tickets := map[string][][Dim]float32{}
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("T%03d", i)
		faces := [][Dim]float32{randomFace(r)}
		if i%3 == 0 {
			faces = append(faces, near(r, faces[0], 0.3))
		}
		tickets[id] = faces
		g.Set(id, faces)
	}
	// Churn: remove and re-add, so free slots are reused.
	for i := 0; i < 300; i += 7 {
		id := fmt.Sprintf("T%03d", i)
		g.Remove(id)
		delete(tickets, id)
	}
	for i := 0; i < 300; i += 14 {
		id := fmt.Sprintf("T%03d", i)
		tickets[id] = [][Dim]float32{randomFace(r)}
		g.Set(id, tickets[id])
	}
	var ids []string
	for id := range tickets {
		ids = append(ids, id)
	}
	for i := 0; i < 200; i++ {
		var q [Dim]float32
		if i%2 == 0 {
			q = near(r, tickets[ids[i%len(ids)]][0], 0.2)
		} else {
			q = randomFace(r)
		}
		got, want := g.Search(q), bruteForce(q, tickets)
		if got.Best != want.Best || got.Second != want.Second ||
			math.Abs(float64(got.BestDistance-want.BestDistance)) > 1e-5 ||
			math.Abs(float64(got.SecondDistance-want.SecondDistance)) > 1e-5 {
			t.Fatalf("query %d: Search = %+v; want %+v", i, got, want)
		}
	}
	if n, _ := g.Len(); n != len(tickets) {
		t.Errorf("Len = %d tickets; want %d", n, len(tickets))
	}
}

func TestSecondBestIsAnotherTicket(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := randomFace(r)
	g := NewGallery()
	g.Set("A", [][Dim]float32{a, near(r, a, 0.05), near(r, a, 0.1)})
	g.Set("B", [][Dim]float32{near(r, a, 0.5)})
	res := g.Search(a)
	if res.Best != "A" || res.Second != "B" {
		t.Errorf("Search = %+v; want best A, second B (not A's other faces)", res)
	}
	g.Remove("B")
	if res = g.Search(a); res.Second != "" || !math.IsInf(float64(res.SecondDistance), 1) {
		t.Errorf("Search with one ticket = %+v; want no second", res)
	}
	g.Set("A", nil)
	if res = g.Search(a); res.Best != "" || g.Has("A") {
		t.Errorf("Search on an empty gallery = %+v; want nothing", res)
	}
}

func TestConcurrentSearchAndUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	g := NewGallery()
	faces := make([][Dim]float32, 100)
	for i := range faces {
		faces[i] = randomFace(r)
		g.Set(fmt.Sprint(i), faces[i:i+1])
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
					g.Set(id, faces[i%100:i%100+1])
					continue
				}
				if res := g.Search(faces[50]); res.Best != "50" && res.Best != "" && res.BestDistance < 0.01 {
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

func benchmarkSearch(b *testing.B, n int) {
	r := rand.New(rand.NewPCG(7, 8))
	g := NewGallery()
	for i := 0; i < n; i++ {
		g.Set(fmt.Sprint(i), [][Dim]float32{randomFace(r)})
	}
	q := randomFace(r)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Search(q)
	}
}

func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("descriptors=%d", n), func(b *testing.B) { benchmarkSearch(b, n) })
	}
}
