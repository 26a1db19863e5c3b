package matcher

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#include "scan.h"
*/
import "C"

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// plainScan makes the first pass run its plain C code even on a CPU with
// AVX2, so that tests check both; it is not safe while searches run.
func plainScan(on bool) {
	C.sg_plain_only = 0
	if on {
		C.sg_plain_only = 1
	}
}

// scanHalf is the value of the half h as the scan's plain code reads it.
func scanHalf(h uint16) float32 { return float32(C.sg_half(C.uint16_t(h))) }

// workerShare is how many slots make the first pass worth another worker.
const workerShare = 8192

// candidateCap bounds the candidates one worker keeps; a gallery whose
// bounds cannot tell that many descriptors apart is searched exactly.
const candidateCap = 4096

// scratch holds one worker's candidates.
type scratch struct {
	slots []int32
	lower []float32
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{slots: make([]int32, candidateCap), lower: make([]float32, candidateCap)}
}}

// part is what one worker found in its share of the slots.
type part struct {
	top C.sg_top2
	n   int // candidates, -1 when they overflowed
	buf *scratch
}

// searchCompact runs the two-pass search: every core bounds the distances
// of its share of the slots from their 4-bit codes, a block at a time,
// compares exactly those whose lower bound is within the second-best
// distance found so far by any core (scan.c), and keeps the two tickets
// with the smallest upper bounds and the slots that could still be the best
// or the second best; then those candidates are compared again as
// searchExact would, in slot order, so that ties fall the same way. g.mu
// must be held.
func (g *Gallery) searchCompact(q []float32) Result {
	qcode, qsum, qc := quantizeQuery(q)
	workers := max(1, min(runtime.GOMAXPROCS(0), len(g.owner)/workerShare))
	parts := make([]part, workers)
	var wg sync.WaitGroup
	shared := C.float(math.Inf(1))
	per := (len(g.owner) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, len(g.owner))
		wg.Go(func() {
			p := &parts[w]
			p.buf = scratchPool.Get().(*scratch)
			p.top = C.sg_top2{t1: -1, t2: -1, u1: C.float(math.Inf(1)), u2: C.float(math.Inf(1))}
			p.n = int(C.sg_scan_q4(
				(*C.uint8_t)(&g.records[0]), C.int(recordBytes(g.dim)), (*C.int32_t)(&g.owner[0]), (*C.uint8_t)(&g.active[0]), C.int(lo), C.int(hi),
				(*C.int16_t)(&g.vals[0]), (*C.float)(&g.step[0]), C.int(g.dim),
				(*C.int8_t)(unsafe.Pointer(&qcode[0])), C.int32_t(qsum), C.float(qc.scale), C.float(qc.resid),
				C.float(qc.norm2), (*C.float)(&q[0]),
				&p.top, &shared, (*C.int32_t)(&p.buf.slots[0]), (*C.float)(&p.buf.lower[0]), C.int(candidateCap)))
		})
	}
	wg.Wait()
	defer func() {
		for _, p := range parts {
			scratchPool.Put(p.buf)
		}
	}()

	// The two tickets with the smallest upper bounds over all parts: the
	// true second-best distance is at most the second of them.
	t1 := int32(-1)
	u1, u2 := float32(math.Inf(1)), float32(math.Inf(1))
	take := func(t int32, u float32) {
		switch {
		case t < 0:
		case u < u1:
			if t != t1 {
				u2 = u1
			}
			t1, u1 = t, u
		case u < u2 && t != t1:
			u2 = u
		}
	}
	var cands []int32
	for _, p := range parts {
		if p.n < 0 {
			return g.searchExact(q)
		}
		take(int32(p.top.t1), float32(p.top.u1))
		take(int32(p.top.t2), float32(p.top.u2))
	}
	for _, p := range parts {
		for i := range p.n {
			if p.buf.lower[i] <= u2 {
				cands = append(cands, p.buf.slots[i])
			}
		}
	}
	slices.Sort(cands)

	best, second := int32(-1), int32(-1)
	bestD, secondD := float32(math.Inf(1)), float32(math.Inf(1))
	dim := g.dim
	for _, s := range cands {
		ti := g.owner[s]
		d := partialSquared(q, g.vals[int(s)*dim:(int(s)+1)*dim], g.step[s], secondD)
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
