// Package matcher finds who a face belongs to among the entitlements a gate
// holds: an exact 1:N search that returns the best and the second-best
// identity, and the policy that turns those distances — over several frames —
// into a decision to trust.
//
// Distances are euclidean between 128-D dlib descriptors, as in the face
// engine; the package works on plain [128]float32 so that it carries no cgo.
package matcher

import (
	"math"
	"sync"
)

// Dim is the length of a descriptor.
const Dim = 128

// Gallery holds descriptors by ticket, for exact search. It is safe for
// concurrent use: searches share a read lock, and Set/Remove take the write
// lock for O(faces of the ticket) time, so a revoke leaves the gallery at
// once even with a million descriptors in it.
type Gallery struct {
	mu      sync.RWMutex
	vecs    []float32 // slot i holds vecs[i*Dim : (i+1)*Dim]
	owner   []int32   // slot → ticket index, -1 for a free slot
	tickets []string  // ticket index → id ("" when free)
	slots   map[string][]int32
	index   map[string]int32 // ticket id → ticket index
	free    []int32          // free slots
	freeIDs []int32          // free ticket indexes
}

// NewGallery returns an empty gallery.
func NewGallery() *Gallery {
	return &Gallery{slots: map[string][]int32{}, index: map[string]int32{}}
}

// Set makes faces the descriptors of ticket, replacing any it had. An empty
// faces removes the ticket.
func (g *Gallery) Set(ticket string, faces [][Dim]float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(ticket)
	if len(faces) == 0 {
		return
	}
	ti := g.ticketIndex(ticket)
	for _, f := range faces {
		s := g.slot()
		copy(g.vecs[int(s)*Dim:], f[:])
		g.owner[s] = ti
		g.slots[ticket] = append(g.slots[ticket], s)
	}
}

// Remove takes ticket's descriptors out of the gallery.
func (g *Gallery) Remove(ticket string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(ticket)
}

// Len returns the number of tickets and of descriptors.
func (g *Gallery) Len() (tickets, descriptors int) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.index), len(g.owner) - len(g.free)
}

// Has reports whether ticket is in the gallery.
func (g *Gallery) Has(ticket string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.index[ticket]
	return ok
}

func (g *Gallery) removeLocked(ticket string) {
	ti, ok := g.index[ticket]
	if !ok {
		return
	}
	for _, s := range g.slots[ticket] {
		g.owner[s] = -1
		g.free = append(g.free, s)
	}
	delete(g.slots, ticket)
	delete(g.index, ticket)
	g.tickets[ti] = ""
	g.freeIDs = append(g.freeIDs, ti)
}

func (g *Gallery) ticketIndex(ticket string) int32 {
	var ti int32
	if n := len(g.freeIDs); n > 0 {
		ti = g.freeIDs[n-1]
		g.freeIDs = g.freeIDs[:n-1]
		g.tickets[ti] = ticket
	} else {
		ti = int32(len(g.tickets))
		g.tickets = append(g.tickets, ticket)
	}
	g.index[ticket] = ti
	return ti
}

func (g *Gallery) slot() int32 {
	if n := len(g.free); n > 0 {
		s := g.free[n-1]
		g.free = g.free[:n-1]
		return s
	}
	g.owner = append(g.owner, -1)
	g.vecs = append(g.vecs, make([]float32, Dim)...)
	return int32(len(g.owner) - 1)
}

// Result is the outcome of a search. Best and Second are different tickets;
// an empty id means there was none (SecondDistance is then +Inf).
type Result struct {
	Best, Second                 string
	BestDistance, SecondDistance float32
}

// Margin is how much farther the second-best identity is than the best.
func (r Result) Margin() float32 { return r.SecondDistance - r.BestDistance }

// Search returns the two nearest tickets to q. It is exact: every descriptor
// is compared, but a comparison stops early once it is farther than the
// current second-best, which is where nearly all the time goes.
func (g *Gallery) Search(q [Dim]float32) Result {
	g.mu.RLock()
	defer g.mu.RUnlock()
	best, second := int32(-1), int32(-1)
	bestD, secondD := float32(math.Inf(1)), float32(math.Inf(1))
	for s, ti := range g.owner {
		if ti < 0 {
			continue
		}
		d := partialSquared(&q, g.vecs[s*Dim:(s+1)*Dim], secondD)
		switch {
		case d < bestD:
			if ti != best {
				second, secondD = best, bestD
			}
			best, bestD = ti, d
		case d < secondD && ti != best:
			second, secondD = ti, d
		}
	}
	r := Result{BestDistance: float32(math.Inf(1)), SecondDistance: float32(math.Inf(1))}
	if best >= 0 {
		r.Best, r.BestDistance = g.tickets[best], float32(math.Sqrt(float64(bestD)))
	}
	if second >= 0 {
		r.Second, r.SecondDistance = g.tickets[second], float32(math.Sqrt(float64(secondD)))
	}
	return r
}

// partialSquared returns the squared distance, or any value above bound as
// soon as the running sum exceeds it.
func partialSquared(q *[Dim]float32, v []float32, bound float32) float32 {
	v = v[:Dim]
	var sum float32
	for i := 0; i < Dim; i += 16 {
		for j := i; j < i+16; j += 4 {
			d0 := q[j] - v[j]
			d1 := q[j+1] - v[j+1]
			d2 := q[j+2] - v[j+2]
			d3 := q[j+3] - v[j+3]
			sum += d0*d0 + d1*d1 + d2*d2 + d3*d3
		}
		if sum > bound {
			return sum
		}
	}
	return sum
}

// Compare returns the distance between q and the nearest of faces, for 1:1
// verification of a ticket shown by QR code; +Inf when faces is empty.
func Compare(q [Dim]float32, faces [][Dim]float32) float32 {
	best := float32(math.Inf(1))
	for i := range faces {
		if d := partialSquared(&q, faces[i][:], best); d < best {
			best = d
		}
	}
	return float32(math.Sqrt(float64(best)))
}
