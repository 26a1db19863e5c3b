// Package matcher finds who a face belongs to among the entitlements a gate
// holds: an exact 1:N search that returns the best and the second-best
// identity, and the policy that turns those distances — over several frames —
// into a decision to trust.
//
// A gallery holds the descriptors of one embedding model, of any length, and
// compares them by that model's metric: euclidean (dlib) or cosine distance
// (the ONNX models). It holds each descriptor in 16-bit fixed point (see
// fixed.go): half the memory of float32, and within a few millionths of
// the values given.
package matcher

import (
	"fmt"
	"math"
	"sync"
)

// Metric is how descriptors are compared. A smaller distance means more
// alike, whichever the metric.
type Metric uint8

const (
	// Euclidean is the euclidean distance between descriptors as given.
	Euclidean Metric = iota + 1
	// Cosine is the cosine distance 1 − cos θ, from 0 to 2. The gallery
	// L2-normalises descriptors and queries, so it is half their squared
	// euclidean distance.
	Cosine
)

func (m Metric) String() string {
	switch m {
	case Euclidean:
		return "euclidean"
	case Cosine:
		return "cosine"
	default:
		return fmt.Sprintf("Metric(%d)", uint8(m))
	}
}

// fromSquared turns a squared euclidean distance between stored vectors
// into the metric's distance.
func (m Metric) fromSquared(sq float32) float32 {
	if m == Cosine {
		return sq / 2
	}
	return float32(math.Sqrt(float64(sq)))
}

// Gallery holds descriptors by ticket, for exact search. A ticket is either
// active — searched — or held aside: a gate keeps the faces of tickets that
// cannot pass it now (not yet valid, say) without searching them, and turns
// them on when they can, without reading them again.
//
// It is safe for concurrent use: searches share a read lock, and
// Set/SetActive/Remove take the write lock for O(faces of the ticket) time,
// so a revoke leaves the gallery at once even with a million descriptors in
// it.
type Gallery struct {
	dim    int
	metric Metric

	// Flat arrays rather than a structure per ticket: a gate with a
	// million descriptors holds them in a handful of allocations. The
	// per-slot ones are views of mem (slots.go).
	mu      sync.RWMutex
	mem     *slotMemory
	vals    []int16          // slot i's values: vals[i*dim : (i+1)*dim] times step[i]
	step    []float32        // slot → the value of one unit of its vals
	records []uint8          // slot i's first-pass record (quant.go): records[i*rb : (i+1)*rb], rb = recordBytes(dim)
	owner   []int32          // slot → ticket index, -1 for a free slot
	next    []int32          // slot → the ticket's next slot, -1 for none
	tickets []string         // ticket index → id ("" when free)
	active  []uint8          // ticket index → searched (1) or held aside (0)
	head    []int32          // ticket index → its first slot
	index   map[string]int32 // ticket id → ticket index
	free    []int32          // free slots
	freeIDs []int32          // free ticket indexes
	nActive int              // active tickets
}

// NewGallery returns an empty gallery for descriptors of dim values compared
// by metric.
func NewGallery(dim int, metric Metric) *Gallery {
	if dim <= 0 || (metric != Euclidean && metric != Cosine) {
		panic(fmt.Sprintf("matcher: NewGallery(%d, %v): want a positive length and a known metric", dim, metric))
	}
	g := &Gallery{dim: dim, metric: metric, index: map[string]int32{}}
	g.mem = newSlotMemory(g)
	return g
}

// Dim returns the length of the gallery's descriptors.
func (g *Gallery) Dim() int { return g.dim }

// Metric returns how the gallery compares descriptors.
func (g *Gallery) Metric() Metric { return g.metric }

// Set makes faces the descriptors of ticket, replacing any it had, and says
// whether the ticket is searched. An empty faces removes the ticket. A
// descriptor of the wrong length, or with a value that is not finite, is an
// error, and the gallery is left as it was.
func (g *Gallery) Set(ticket string, faces [][]float32, active bool) error {
	for i, f := range faces {
		if len(f) != g.dim {
			return fmt.Errorf("matcher: ticket %q face %d: %d values; want %d", ticket, i, len(f), g.dim)
		}
		for _, v := range f {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("matcher: ticket %q face %d: a value is not finite", ticket, i)
			}
		}
	}
	enc := g.encode(faces)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.reserve(len(faces) - len(g.free)); err != nil {
		return err
	}
	g.removeLocked(ticket)
	if len(faces) == 0 {
		return nil
	}
	ti := g.ticketIndex(ticket)
	g.active[ti] = flag(active)
	if active {
		g.nActive++
	}
	rb := recordBytes(g.dim)
	for i := range faces {
		s := g.slot()
		copy(g.vals[int(s)*g.dim:(int(s)+1)*g.dim], enc.vals[i*g.dim:(i+1)*g.dim])
		g.step[s] = enc.step[i]
		copy(g.record(s), enc.records[i*rb:(i+1)*rb])
		g.owner[s] = ti
		g.next[s], g.head[ti] = g.head[ti], s
	}
	return nil
}

// encoded is faces as a gallery holds them, one after another: worked out
// before Set takes the lock, so that neither searches nor other Sets wait
// for it (a gate loading its tickets sets them on every core).
type encoded struct {
	vals    []int16
	step    []float32
	records []uint8
}

// encode returns faces as the gallery holds them: normalised for the cosine
// metric, in 16-bit fixed point, and the record of the values held, since
// the codes bound the distances to those values, as the exact pass reads
// them.
func (g *Gallery) encode(faces [][]float32) encoded {
	rb := recordBytes(g.dim)
	enc := encoded{
		vals:    make([]int16, len(faces)*g.dim),
		step:    make([]float32, len(faces)),
		records: make([]uint8, len(faces)*rb),
	}
	v := make([]float32, g.dim)
	for i, f := range faces {
		copy(v, f)
		if g.metric == Cosine {
			normalize(v)
		}
		vals := enc.vals[i*g.dim : (i+1)*g.dim]
		enc.step[i] = toFixed(v, vals)
		fromFixed(vals, enc.step[i], v)
		putRecord(enc.records[i*rb:(i+1)*rb], v)
	}
	return enc
}

// SetActive turns searching a ticket on or off. It reports whether the
// gallery holds the ticket.
func (g *Gallery) SetActive(ticket string, active bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	ti, ok := g.index[ticket]
	if !ok {
		return false
	}
	if (g.active[ti] == 1) != active {
		g.active[ti] = flag(active)
		if active {
			g.nActive++
		} else {
			g.nActive--
		}
	}
	return true
}

// Remove takes ticket's descriptors out of the gallery.
func (g *Gallery) Remove(ticket string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(ticket)
}

// Len returns the number of tickets searched and of their descriptors.
func (g *Gallery) Len() (tickets, descriptors int) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, ti := range g.owner {
		if ti >= 0 && g.active[ti] == 1 {
			descriptors++
		}
	}
	return g.nActive, descriptors
}

// bytesPerDescriptor is the memory one descriptor takes in the gallery: its
// values, its code and the per-slot arrays.
func (g *Gallery) bytesPerDescriptor() int {
	return g.dim*2 + 4 + recordBytes(g.dim) + 4 + 4 // vals, step, record, owner, next
}

// Tickets returns the ids of the tickets held, searched or not, in no
// particular order.
func (g *Gallery) Tickets() []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ids := make([]string, 0, len(g.index))
	for id := range g.index {
		ids = append(ids, id)
	}
	return ids
}

// Held returns the number of tickets held, searched or not.
func (g *Gallery) Held() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.index)
}

// Has reports whether ticket is in the gallery, and whether it is searched.
func (g *Gallery) Has(ticket string) (held, active bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ti, ok := g.index[ticket]
	return ok, ok && g.active[ti] == 1
}

func flag(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (g *Gallery) removeLocked(ticket string) {
	ti, ok := g.index[ticket]
	if !ok {
		return
	}
	for s := g.head[ti]; s >= 0; s = g.next[s] {
		// A removed face leaves no trace in memory either.
		clear(g.vals[int(s)*g.dim : (int(s)+1)*g.dim])
		clear(g.record(s))
		g.step[s] = 0
		g.owner[s] = -1
		g.free = append(g.free, s)
	}
	if g.active[ti] == 1 {
		g.nActive--
	}
	g.head[ti] = -1
	delete(g.index, ticket)
	g.tickets[ti] = ""
	g.active[ti] = 0
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
		g.active = append(g.active, 0)
		g.head = append(g.head, -1)
	}
	g.index[ticket] = ti
	return ti
}

// slot returns a free slot, or a new one from the room reserve made.
func (g *Gallery) slot() int32 {
	if n := len(g.free); n > 0 {
		s := g.free[n-1]
		g.free = g.free[:n-1]
		return s
	}
	s := len(g.owner)
	g.view(s + 1)
	g.owner[s], g.next[s] = -1, -1
	return int32(s)
}

// Result is the outcome of a search. Best and Second are different tickets;
// an empty id means there was none (SecondDistance is then +Inf).
type Result struct {
	Best, Second                 string
	BestDistance, SecondDistance float32
}

// Margin is how much farther the second-best identity is than the best.
func (r Result) Margin() float32 { return r.SecondDistance - r.BestDistance }

// query returns q ready to compare with the stored vectors: normalised for
// the cosine metric. It does not modify q.
func (g *Gallery) query(q []float32) ([]float32, error) {
	if len(q) != g.dim {
		return nil, fmt.Errorf("matcher: query of %d values; the gallery holds %d", len(q), g.dim)
	}
	if g.metric != Cosine {
		return q, nil
	}
	c := make([]float32, len(q))
	copy(c, q)
	normalize(c)
	return c, nil
}

// Search returns the two nearest active tickets to q. It is exact: the
// result is the one a comparison with every descriptor gives. It searches in
// two passes (see quant.go and search.go), which is faster than comparing
// every descriptor at every gallery size (6 to 18 times from 10,000
// descriptors). A query of the wrong length is an error.
func (g *Gallery) Search(q []float32) (Result, error) {
	q, err := g.query(q)
	if err != nil {
		return Result{}, err
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if len(g.owner) == 0 {
		return g.searchExact(q), nil
	}
	return g.searchCompact(q), nil
}

// searchExact compares q with every active descriptor (the two-pass search
// falls back on it, and tests compare with it); a comparison stops
// early once it is farther than the current second-best. g.mu must be held.
func (g *Gallery) searchExact(q []float32) Result {
	best, second := int32(-1), int32(-1)
	bestD, secondD := float32(math.Inf(1)), float32(math.Inf(1))
	dim := g.dim
	for s, ti := range g.owner {
		if ti < 0 || g.active[ti] == 0 {
			continue
		}
		d := partialSquared(q, g.vals[s*dim:(s+1)*dim], g.step[s], secondD)
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
	return g.result(best, second, bestD, secondD)
}

// result turns ticket indexes and squared distances into a Result.
func (g *Gallery) result(best, second int32, bestD, secondD float32) Result {
	r := Result{BestDistance: float32(math.Inf(1)), SecondDistance: float32(math.Inf(1))}
	if best >= 0 {
		r.Best, r.BestDistance = g.tickets[best], g.metric.fromSquared(bestD)
	}
	if second >= 0 {
		r.Second, r.SecondDistance = g.tickets[second], g.metric.fromSquared(secondD)
	}
	return r
}

// Compare returns the distance between q and the nearest face of ticket,
// searched or not, for 1:1 verification of a ticket shown by QR code. ok is
// false when the gallery holds no face of the ticket.
func (g *Gallery) Compare(ticket string, q []float32) (dist float32, ok bool, err error) {
	q, err = g.query(q)
	if err != nil {
		return 0, false, err
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	ti, ok := g.index[ticket]
	if !ok {
		return 0, false, nil
	}
	best := float32(math.Inf(1))
	for s := g.head[ti]; s >= 0; s = g.next[s] {
		v := g.vals[int(s)*g.dim : (int(s)+1)*g.dim]
		if d := partialSquared(q, v, g.step[s], best); d < best {
			best = d
		}
	}
	return g.metric.fromSquared(best), true, nil
}

// partialSquared returns the squared distance between q and the values v
// times step (of q's length), or any value above bound as soon as the
// running sum exceeds it.
func partialSquared(q []float32, v []int16, step float32, bound float32) float32 {
	n := len(q)
	v = v[:n]
	var sum float32
	i := 0
	for ; i+16 <= n; i += 16 {
		for j := i; j < i+16; j += 4 {
			d0 := q[j] - step*float32(v[j])
			d1 := q[j+1] - step*float32(v[j+1])
			d2 := q[j+2] - step*float32(v[j+2])
			d3 := q[j+3] - step*float32(v[j+3])
			sum += d0*d0 + d1*d1 + d2*d2 + d3*d3
		}
		if sum > bound {
			return sum
		}
	}
	for ; i < n; i++ {
		d := q[i] - step*float32(v[i])
		sum += d * d
	}
	return sum
}

// normalize scales v to unit length in place; a zero vector stays zero.
func normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := 1 / math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}
