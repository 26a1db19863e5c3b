package node

import (
	"context"
	"sync"

	"github.com/scenicgate/scenicgate/gate/mirror"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// entryCounts is what the gate knows of its tickets' entries, so that the
// face gallery leaves out a ticket with none left until it could enter
// again: a used single-use or timed ticket, a multi-entry ticket with all
// its entries used, and a daily-limited one until the next site day. The
// rules still decide every ticket shown by QR code, and refuse it with its
// precise reason.
//
// It counts this gate's admitted entries (loaded from its database at
// start, then as it decides) and remembers the tickets another gate used
// up: the claim that found their entries taken. Its methods are safe for
// concurrent use.
type entryCounts struct {
	mu      sync.Mutex
	tickets map[string]ticketEntries
}

type ticketEntries struct {
	entries int
	day     string // the site day today counts
	today   int
	// usedUpVersion is the version of the ticket whose entries a claim
	// found all taken (0: none), on usedUpDay for a daily ticket; a newer
	// version (more entries allowed, say) is judged afresh.
	usedUpVersion int64
	usedUpDay     string
}

// load counts the entries the gate's database holds, on day for today's.
func (c *entryCounts) load(ctx context.Context, n *Node, day string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tickets = map[string]ticketEntries{}
	return n.store.UsageByTicket(ctx, day, func(id string, entries, today int) {
		c.tickets[id] = ticketEntries{entries: entries, day: day, today: today}
	})
}

// admitted counts an entry of ticket id on day.
func (c *entryCounts) admitted(id, day string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tickets[id]
	t.entries++
	if t.day != day {
		t.day, t.today = day, 0
	}
	t.today++
	c.tickets[id] = t
}

// takenElsewhere remembers that every entry version's ticket id could
// still have had was found claimed (on day, for a daily ticket).
func (c *entryCounts) takenElsewhere(id string, version int64, day string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tickets[id]
	t.usedUpVersion, t.usedUpDay = version, day
	c.tickets[id] = t
}

// usedUp reports whether ticket s has no entry left on day.
func (c *entryCounts) usedUp(s mirror.Summary, day string) bool {
	if s.TicketType == sgpb.TicketType_TICKET_TYPE_DAY_PASS {
		return false
	}
	c.mu.Lock()
	t, ok := c.tickets[s.TicketID]
	c.mu.Unlock()
	if !ok {
		return false
	}
	daily := rules.Daily(s.TicketType)
	if t.usedUpVersion != 0 && t.usedUpVersion == s.Version && (!daily || t.usedUpDay == day) {
		return true
	}
	u := rules.Usage{Entries: t.entries}
	if t.day == day {
		u.EntriesToday = t.today
	}
	return rules.UsedUp(s.TicketType, s.EntriesAllowed, s.EntriesPerDay, u)
}

// forget drops the counts of tickets the mirror no longer holds. held is
// called without c's lock: the mirror calls usedUp under its own.
func (c *entryCounts) forget(held func(id string) bool) {
	c.mu.Lock()
	ids := make([]string, 0, len(c.tickets))
	for id := range c.tickets {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	var gone []string
	for _, id := range ids {
		if !held(id) {
			gone = append(gone, id)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range gone {
		delete(c.tickets, id)
	}
}

// noteEntry updates the counts after a decision about ticket e on day and
// has the gallery check the ticket again: an entry admitted, or a claim
// that found every entry taken by another gate.
func (n *Node) noteEntry(e *sgpb.Entitlement, day string, out Outcome) {
	if e == nil || n.gate.Direction != sgpb.Direction_DIRECTION_ENTRY {
		return
	}
	switch {
	case out.Allow:
		n.entries.admitted(e.TicketId, day)
	case out.Reason == rules.AlreadyUsed:
		n.entries.takenElsewhere(e.TicketId, e.Version, day)
	default:
		return
	}
	n.mirror.Recheck(e.TicketId)
}
