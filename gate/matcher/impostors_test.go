package matcher

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestImpostors(t *testing.T) {
	for _, sp := range spaces {
		t.Run(sp.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			g := NewGallery(sp.dim, sp.metric)
			faces := map[string][][]float32{}
			for i := range 12 {
				id := string(rune('a' + i))
				f := [][]float32{randomFace(r, sp.dim)}
				if i%3 == 0 { // some tickets have two faces
					f = append(f, near(r, f[0], 0.3))
				}
				faces[id] = f
				// The last ticket is held aside: not searched, not counted.
				if err := g.Set(id, f, i != 11); err != nil {
					t.Fatal(err)
				}
			}
			// Every pair: 11 tickets searched, 55 pairs, each the nearest
			// faces' distance, as Compare measures a face against a ticket.
			got, n := g.Impostors(1000, 1)
			if n != 11 || len(got) != 55 {
				t.Fatalf("Impostors(1000) = %d distances, %d tickets; want 55, 11", len(got), n)
			}
			var want []float32
			for i := range 11 {
				for j := i + 1; j < 11; j++ {
					best := float32(math.Inf(1))
					for _, f := range faces[string(rune('a'+i))] {
						d, _, _ := g.Compare(string(rune('a'+j)), f)
						best = min(best, d)
					}
					want = append(want, best)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-3 {
					t.Fatalf("distance %d = %v; want %v", i, got[i], want[i])
				}
			}
			// Sampled: as many as asked, all among the pairs, the same for
			// the same seed.
			s1, _ := g.Impostors(20, 7)
			s2, _ := g.Impostors(20, 7)
			if len(s1) != 20 || !slices.Equal(s1, s2) {
				t.Fatalf("Impostors(20) = %v then %v; want 20 distances, the same twice", s1, s2)
			}
			for _, d := range s1 {
				i, _ := slices.BinarySearch(got, d-1e-4)
				if i >= len(got) || got[i] > d+1e-4 {
					t.Errorf("sampled distance %v is no pair's", d)
				}
			}
		})
	}
}
