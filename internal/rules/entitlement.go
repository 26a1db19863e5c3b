package rules

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// What CheckEntitlement accepts. The limits are far above what enroll
// issues (at most 1,000 entries, 100 a day, a few faces), so they refuse
// only values no real ticket has — which a gate must never loop over or
// allocate for.
const (
	MaxEntries       = 10_000 // entries_allowed
	MaxEntriesPerDay = 1_000  // entries_per_day
	MaxFaces         = 64     // faces per ticket
	MaxDescriptorLen = 1_024  // values per face descriptor, whatever the model
	MaxZonesOrGates  = 256    // zones, and gates, per ticket
)

// Instants outside [minInstant, maxInstant) are no ticket's validity.
var (
	minInstant = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxInstant = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
)

// ticketID is what a ticket id may look like: it becomes part of NATS KV
// keys (REDEMPTIONS), which allow no other characters.
var ticketID = regexp.MustCompile(`^[A-Za-z0-9_=-]{1,128}$`)

// ErrOutOfRange: an entitlement holds a value no ticket can have.
var ErrOutOfRange = errors.New("rules: entitlement out of range")

// CheckEntitlement reports the first field of e that is out of range: a
// ticket id that cannot be a KV key, an unknown ticket type, a version below
// 1, entries or entries per day beyond the limits (or a MULTI ticket with
// none), a validity window or slot that is empty or lies outside the years
// 2000 to 2199, too many zones, gates or faces, or a face descriptor that is
// empty, longer than MaxDescriptorLen or holds a NaN or an infinity. The
// error wraps ErrOutOfRange. It does not look at the signature; see
// internal/signed.
func CheckEntitlement(e *sgpb.Entitlement) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrOutOfRange}, args...)...)
	}
	switch {
	case !ticketID.MatchString(e.TicketId):
		return bad("ticket id %.40q", e.TicketId)
	case e.TicketType <= sgpb.TicketType_TICKET_TYPE_UNSPECIFIED || e.TicketType > sgpb.TicketType_TICKET_TYPE_TIMED:
		return bad("ticket type %d", e.TicketType)
	case e.Version < 1:
		return bad("version %d", e.Version)
	case e.EntriesAllowed < 0 || e.EntriesAllowed > MaxEntries:
		return bad("entries_allowed %d (0 to %d)", e.EntriesAllowed, MaxEntries)
	case e.TicketType == sgpb.TicketType_TICKET_TYPE_MULTI && e.EntriesAllowed < 1:
		return bad("a multi ticket with entries_allowed %d", e.EntriesAllowed)
	case e.EntriesPerDay < 0 || e.EntriesPerDay > MaxEntriesPerDay:
		return bad("entries_per_day %d (0 to %d)", e.EntriesPerDay, MaxEntriesPerDay)
	case !window(e.ValidFromMs, e.ValidUntilMs):
		return bad("validity %d to %d", e.ValidFromMs, e.ValidUntilMs)
	case e.TicketType == sgpb.TicketType_TICKET_TYPE_TIMED && !window(e.SlotStartMs, e.SlotEndMs):
		return bad("slot %d to %d", e.SlotStartMs, e.SlotEndMs)
	case len(e.Zones) > MaxZonesOrGates || len(e.Gates) > MaxZonesOrGates:
		return bad("%d zones and %d gates (at most %d each)", len(e.Zones), len(e.Gates), MaxZonesOrGates)
	case len(e.Faces) > MaxFaces:
		return bad("%d faces (at most %d)", len(e.Faces), MaxFaces)
	}
	for i, f := range e.Faces {
		if n := len(f.GetValues()); n < 1 || n > MaxDescriptorLen {
			return bad("face %d has %d values (1 to %d)", i, n, MaxDescriptorLen)
		}
		for _, v := range f.GetValues() {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return bad("face %d holds %v", i, v)
			}
		}
	}
	return nil
}

func window(from, until int64) bool {
	return from >= minInstant && until <= maxInstant && from < until
}
