package rules

import (
	"fmt"
	"slices"
	"time"

	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Gate is the gate a decision is made for.
type Gate struct {
	ID   string
	Zone string
	// Direction EXIT lets every known ticket out; ENTRY and UNSPECIFIED
	// apply the entry rules.
	Direction sgpb.Direction
}

// Usage is what the gate has counted of a ticket's earlier admitted entries
// (exits and denials do not count). Negative counts are treated as zero.
type Usage struct {
	// Entries counts every admitted entry so far, on any day.
	Entries int
	// EntriesToday counts the admitted entries whose Site.Day equals the
	// Site.Day of the decision's now.
	EntriesToday int
}

// Decision is the answer of Site.Decide.
type Decision struct {
	Allow  bool
	Reason Reason
	// EntryNumber is which entry of the ticket an allowed entry is, 1 for the
	// first; it is 0 for denials and exits.
	EntryNumber int
}

// String returns e.g. "allow ok (entry 2)" or "deny expired".
func (d Decision) String() string {
	switch {
	case !d.Allow:
		return "deny " + string(d.Reason)
	case d.EntryNumber > 0:
		return fmt.Sprintf("allow %s (entry %d)", d.Reason, d.EntryNumber)
	default:
		return "allow " + string(d.Reason)
	}
}

func deny(r Reason) Decision { return Decision{Reason: r} }

// Decide tells whether the ticket e may pass gate g at now, given the
// entries u already counted for it. A nil e means no ticket was identified.
// The order of the checks and the exit rule are in the package documentation.
//
// The ticket types:
//   - SINGLE: one entry in all, on any day of the validity window.
//   - MULTI: entries_allowed entries in all within the window.
//   - DAY_PASS: unlimited re-entry within the window.
//   - MULTI_DAY, ANNUAL: entries_per_day entries per site-local day within
//     the window; 0 means unlimited.
//   - TIMED: one entry, from slot_start − EarlyTolerance through
//     slot_end + LateTolerance (both instants included), and also within
//     the window.
//
// Zones and gates: an empty list opens every zone (gate); otherwise the
// gate's Zone (ID) must be in it, compared exactly.
//
// An entitlement is Invalid when its ticket type is unspecified or unknown,
// valid_until_ms is not after valid_from_ms, a MULTI ticket has
// entries_allowed < 1, a MULTI_DAY or ANNUAL ticket has entries_per_day < 0,
// or a TIMED ticket's slot_end_ms is not after its slot_start_ms (which also
// catches a slot that was never set).
//
// Decide does not claim the entry: the caller records it, and for
// single-use tickets claims it across gates, once the visitor has passed.
func (s Site) Decide(e *sgpb.Entitlement, g Gate, u Usage, now time.Time) Decision {
	if e == nil {
		return deny(Unknown)
	}
	if g.Direction == sgpb.Direction_DIRECTION_EXIT {
		return Decision{Allow: true, Reason: OK}
	}
	if e.GetRevoked() {
		return deny(Revoked)
	}
	if !wellFormed(e) {
		return deny(Invalid)
	}
	if !listed(e.GetZones(), g.Zone) {
		return deny(WrongZone)
	}
	if !listed(e.GetGates(), g.ID) {
		return deny(WrongGate)
	}
	if now.Before(time.UnixMilli(e.GetValidFromMs())) {
		return deny(NotYetValid)
	}
	if !now.Before(time.UnixMilli(e.GetValidUntilMs())) {
		return deny(Expired)
	}
	if e.GetTicketType() == sgpb.TicketType_TICKET_TYPE_TIMED && !s.inSlot(e, now) {
		return deny(OutsideSlot)
	}
	entries, today := max(u.Entries, 0), max(u.EntriesToday, 0)
	if usedUp(e, entries, today) {
		return deny(AlreadyUsed)
	}
	return Decision{Allow: true, Reason: OK, EntryNumber: entries + 1}
}

func wellFormed(e *sgpb.Entitlement) bool {
	if e.GetValidUntilMs() <= e.GetValidFromMs() {
		return false
	}
	switch e.GetTicketType() {
	case sgpb.TicketType_TICKET_TYPE_SINGLE, sgpb.TicketType_TICKET_TYPE_DAY_PASS:
		return true
	case sgpb.TicketType_TICKET_TYPE_MULTI:
		return e.GetEntriesAllowed() >= 1
	case sgpb.TicketType_TICKET_TYPE_MULTI_DAY, sgpb.TicketType_TICKET_TYPE_ANNUAL:
		return e.GetEntriesPerDay() >= 0
	case sgpb.TicketType_TICKET_TYPE_TIMED:
		return e.GetSlotEndMs() > e.GetSlotStartMs()
	default:
		return false
	}
}

// listed treats an empty list as "all".
func listed(list []string, v string) bool {
	return len(list) == 0 || slices.Contains(list, v)
}

// inSlot includes both ends: a visitor at exactly the last tolerated instant
// is still in time.
func (s Site) inSlot(e *sgpb.Entitlement, now time.Time) bool {
	open, shut := s.SlotWindow(time.UnixMilli(e.GetSlotStartMs()), time.UnixMilli(e.GetSlotEndMs()))
	return !now.Before(open) && !now.After(shut)
}

// SlotWindow returns the first and last instants a timed ticket with this
// slot may enter: the slot widened by the site's tolerances.
func (s Site) SlotWindow(start, end time.Time) (open, shut time.Time) {
	return start.Add(-max(s.EarlyTolerance, 0)), end.Add(max(s.LateTolerance, 0))
}

func usedUp(e *sgpb.Entitlement, entries, today int) bool {
	return UsedUp(e.GetTicketType(), int(e.GetEntriesAllowed()), int(e.GetEntriesPerDay()), Usage{Entries: entries, EntriesToday: today})
}

// UsedUp reports whether a ticket of type t, allowing entriesAllowed entries
// in all (MULTI) or entriesPerDay a day (MULTI_DAY, ANNUAL; 0 unlimited),
// has no entry left after the entries u counted: what Decide refuses as
// AlreadyUsed. A DAY_PASS is never used up.
func UsedUp(t sgpb.TicketType, entriesAllowed, entriesPerDay int, u Usage) bool {
	entries, today := max(u.Entries, 0), max(u.EntriesToday, 0)
	switch t {
	case sgpb.TicketType_TICKET_TYPE_SINGLE, sgpb.TicketType_TICKET_TYPE_TIMED:
		return entries >= 1
	case sgpb.TicketType_TICKET_TYPE_MULTI:
		return entries >= entriesAllowed
	case sgpb.TicketType_TICKET_TYPE_MULTI_DAY, sgpb.TicketType_TICKET_TYPE_ANNUAL:
		return entriesPerDay > 0 && today >= entriesPerDay
	default: // DAY_PASS
		return false
	}
}

// Daily reports whether a ticket type's entries are counted per site day,
// so that one used up today has entries again tomorrow.
func Daily(t sgpb.TicketType) bool {
	return t == sgpb.TicketType_TICKET_TYPE_MULTI_DAY || t == sgpb.TicketType_TICKET_TYPE_ANNUAL
}
