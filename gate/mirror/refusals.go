package mirror

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// RefusalShownFor is how long a refusal stays among the gate's faults when
// nothing replaces it.
const RefusalShownFor = time.Hour

// maxShown is how many refusals the faults spell out; the rest are counted.
const maxShown = 3

// Refusals keeps what a gate refused to act on — an entitlement, a QR key
// set, settings or a command that was unsigned, forged, stale or out of
// range — so the gate reports it in its heartbeat and staff see it in
// admin. It is safe for concurrent use.
type Refusals struct {
	now func() time.Time

	mu     sync.Mutex
	byWhat map[string]refusal
	total  map[string]int64 // by kind, for metrics
}

type refusal struct {
	reason string
	at     time.Time
	count  int
}

// NewRefusals returns an empty record; now is the clock.
func NewRefusals(now func() time.Time) *Refusals {
	return &Refusals{now: now, byWhat: map[string]refusal{}, total: map[string]int64{}}
}

// Add records that what (such as "entitlement T1" or "command") of kind
// (such as "entitlement") was refused for reason.
func (r *Refusals) Add(kind, what, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.byWhat[what]
	r.byWhat[what] = refusal{reason: reason, at: r.now(), count: old.count + 1}
	r.total[kind]++
}

// Clear forgets the refusals of what, once a good value replaced it.
func (r *Refusals) Clear(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byWhat, what)
}

// Totals returns how many refusals of each kind there were since start.
// The caller owns the map.
func (r *Refusals) Totals() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(r.total))
	for k, v := range r.total {
		out[k] = v
	}
	return out
}

// Faults returns the refusals of the last RefusalShownFor as fault lines,
// newest first, e.g. "refused entitlement T1: bad signature (3 times)";
// nil when there are none.
func (r *Refusals) Faults() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	type shown struct {
		what string
		refusal
	}
	var list []shown
	for what, f := range r.byWhat {
		if now.Sub(f.at) > RefusalShownFor {
			delete(r.byWhat, what)
			continue
		}
		list = append(list, shown{what, f})
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].at.Equal(list[j].at) {
			return list[i].at.After(list[j].at)
		}
		return list[i].what < list[j].what
	})
	var out []string
	for i, f := range list {
		if i == maxShown {
			out = append(out, fmt.Sprintf("refused %d more messages from the bus", len(list)-maxShown))
			break
		}
		line := fmt.Sprintf("refused %s: %s", f.what, f.reason)
		if f.count > 1 {
			line += fmt.Sprintf(" (%d times)", f.count)
		}
		out = append(out, line)
	}
	return out
}
