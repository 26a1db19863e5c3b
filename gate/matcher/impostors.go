package matcher

import (
	"math/rand/v2"
)

// Impostors returns the distances between pairs of different searched
// tickets — each the distance between their nearest faces, as a stranger
// would be compared with a ticket — and the number of tickets searched. It
// takes every pair when there are at most max of them, otherwise max pairs
// drawn at random (by seed, so the same gallery gives the same sample). Two
// tickets of one person count as impostors too, which only makes a
// threshold chosen from them stricter.
//
// It holds the read lock throughout: searches go on, changes wait.
func (g *Gallery) Impostors(max int, seed uint64) (distances []float32, tickets int) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	active := make([]int32, 0, g.nActive)
	for ti, on := range g.active {
		if on == 1 && g.head[ti] >= 0 {
			active = append(active, int32(ti))
		}
	}
	n := len(active)
	if n < 2 || max <= 0 {
		return nil, n
	}
	if all := n * (n - 1) / 2; all <= max {
		distances = make([]float32, 0, all)
		for i := range n {
			for j := i + 1; j < n; j++ {
				distances = append(distances, g.ticketDistance(active[i], active[j]))
			}
		}
		return distances, n
	}
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	distances = make([]float32, max)
	for k := range distances {
		i := r.IntN(n)
		j := r.IntN(n - 1)
		if j >= i {
			j++
		}
		distances[k] = g.ticketDistance(active[i], active[j])
	}
	return distances, n
}

// ticketDistance returns the distance between the nearest faces of tickets
// a and b. g.mu must be held.
func (g *Gallery) ticketDistance(a, b int32) float32 {
	best := float32(-1)
	dim := g.dim
	for sa := g.head[a]; sa >= 0; sa = g.next[sa] {
		va, stepA := g.vals[int(sa)*dim:(int(sa)+1)*dim], g.step[sa]
		for sb := g.head[b]; sb >= 0; sb = g.next[sb] {
			vb, stepB := g.vals[int(sb)*dim:(int(sb)+1)*dim], g.step[sb]
			var sum float32
			for i := range va {
				d := stepA*float32(va[i]) - stepB*float32(vb[i])
				sum += d * d
			}
			if best < 0 || sum < best {
				best = sum
			}
		}
	}
	return g.metric.fromSquared(best)
}
