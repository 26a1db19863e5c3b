package matcher

import (
	"fmt"
	"runtime"
	"unsafe"
)

// A gallery's per-slot arrays — the descriptors — live outside the Go heap,
// in memory mapped for them (region), grown in place. On the heap they would
// cost a gate more than their size: the garbage collector lets the heap grow
// by a quarter of what is live before it collects (the gate runs with
// GOGC=25), and that room would be the gallery's size again; and growing a
// slice copies it, holding both copies for a while. A mapping grows by
// remapping its pages, and only the pages written become resident.

// slotMemory holds the regions behind a gallery's per-slot arrays.
type slotMemory struct {
	slots int // slots the regions have room for
	regions
}

// regions are the per-slot arrays' memory, one region each.
type regions struct {
	vals, step, records, owner, next region
}

// sizedRegion is a region and the bytes one slot takes in it.
type sizedRegion struct {
	region  *region
	perSlot int
}

// each returns every region, for descriptors of dim values.
func (rs *regions) each(dim int) []sizedRegion {
	return []sizedRegion{
		{&rs.vals, 2 * dim}, {&rs.step, 4}, {&rs.records, recordBytes(dim)},
		{&rs.owner, 4}, {&rs.next, 4},
	}
}

// minSlots is the room of a gallery's first regions.
const minSlots = 1024

// reserve makes room for n more slots than g holds, keeping the contents.
// g.mu must be held for writing.
func (g *Gallery) reserve(n int) error {
	need := len(g.owner) + n
	m := g.mem
	if need <= m.slots {
		return nil
	}
	slots := max(need, 2*m.slots, minSlots)
	for _, r := range m.each(g.dim) {
		if err := r.region.resize(slots * r.perSlot); err != nil {
			return fmt.Errorf("matcher: room for %d descriptors: %w", slots, err)
		}
	}
	m.slots = slots
	g.view(len(g.owner))
	return nil
}

// view points the per-slot arrays at the regions, holding n slots.
func (g *Gallery) view(n int) {
	m := g.mem
	g.vals = viewOf[int16](&m.vals, m.slots*g.dim)[:n*g.dim]
	g.records = viewOf[uint8](&m.records, m.slots*recordBytes(g.dim))[:n*recordBytes(g.dim)]
	g.step = viewOf[float32](&m.step, m.slots)[:n]
	g.owner = viewOf[int32](&m.owner, m.slots)[:n]
	g.next = viewOf[int32](&m.next, m.slots)[:n]
}

// viewOf returns r's memory as n values of T.
func viewOf[T uint8 | int16 | int32 | float32](r *region, n int) []T {
	if n == 0 {
		return nil
	}
	var zero T
	if len(r.b) < n*int(unsafe.Sizeof(zero)) {
		panic("matcher: a view beyond its region")
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(r.b))), n)
}

// newSlotMemory returns the memory of an empty gallery, given back when
// owner is collected.
func newSlotMemory(owner *Gallery) *slotMemory {
	m := &slotMemory{}
	runtime.AddCleanup(owner, func(rs *regions) {
		for _, r := range rs.each(0) {
			r.region.release()
		}
	}, &m.regions)
	return m
}
