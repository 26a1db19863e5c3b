package rules_test

import (
	"slices"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// FuzzDecide checks invariants that must hold for any entitlement, usage and
// time, including absurd ones.
func FuzzDecide(f *testing.F) {
	from := time.Date(2026, 11, 26, 0, 0, 0, 0, rules.DefaultLocation()).UnixMilli()
	day := int64(24 * time.Hour / time.Millisecond)
	hour := int64(time.Hour / time.Millisecond)
	for tt := int32(-1); tt <= 7; tt++ {
		f.Add(tt, int32(3), int32(2), from, from+day, from+10*hour, from+11*hour, false, "north", "", int64(0), int64(0), int64(15*time.Minute), int64(30*time.Minute), int32(1), from+10*hour)
		f.Add(tt, int32(1), int32(0), from, from+3*day, from, from+day, true, "", "north-1", int64(1), int64(1), int64(0), int64(0), int32(2), from+day-1)
	}
	f.Add(int32(6), int32(0), int32(0), int64(-1<<63), int64(1<<63-1), int64(-1<<63), int64(1<<63-1), false, "", "", int64(-1<<63), int64(1<<63-1), int64(-1<<63), int64(1<<63-1), int32(1), int64(0))
	f.Fuzz(func(t *testing.T, ticketType, entriesAllowed, entriesPerDay int32,
		validFrom, validUntil, slotStart, slotEnd int64, revoked bool, zone, gateID string,
		entries, entriesToday, early, late int64, direction int32, nowMs int64) {
		e := &sgpb.Entitlement{
			TicketType:     sgpb.TicketType(ticketType),
			EntriesAllowed: entriesAllowed,
			EntriesPerDay:  entriesPerDay,
			ValidFromMs:    validFrom,
			ValidUntilMs:   validUntil,
			SlotStartMs:    slotStart,
			SlotEndMs:      slotEnd,
			Revoked:        revoked,
		}
		if zone != "" {
			e.Zones = []string{zone}
		}
		if gateID != "" {
			e.Gates = []string{gateID}
		}
		s := rules.Site{EarlyTolerance: time.Duration(early), LateTolerance: time.Duration(late)}
		g := rules.Gate{ID: "north-1", Zone: "north", Direction: sgpb.Direction(direction)}
		u := rules.Usage{Entries: int(entries), EntriesToday: int(entriesToday)}
		now := time.UnixMilli(nowMs)
		d := s.Decide(e, g, u, now)

		if !slices.Contains(rules.Reasons(), d.Reason) || d.Reason == rules.CapacityFull {
			t.Fatalf("Decide = %v; reason is not one Decide may give", d)
		}
		if d.Allow != (d.Reason == rules.OK) {
			t.Fatalf("Decide = %v; allow must go with ok and deny with any other reason", d)
		}
		if got := s.Decide(nil, g, u, now); got.Allow || got.Reason != rules.Unknown {
			t.Fatalf("Decide(nil) = %v; want deny unknown", got)
		}
		if g.Direction == sgpb.Direction_DIRECTION_EXIT {
			if !d.Allow || d.EntryNumber != 0 {
				t.Fatalf("Decide at exit = %v; want allow with entry number 0", d)
			}
			return
		}
		if revoked && d.Reason != rules.Revoked {
			t.Fatalf("Decide(revoked) = %v; want deny revoked", d)
		}
		if !d.Allow {
			if d.EntryNumber != 0 {
				t.Fatalf("Decide = %v; a denial has no entry number", d)
			}
			return
		}
		if now.Before(time.UnixMilli(validFrom)) || !now.Before(time.UnixMilli(validUntil)) {
			t.Fatalf("Decide = %v at %d outside [%d, %d)", d, nowMs, validFrom, validUntil)
		}
		if (zone != "" && zone != g.Zone) || (gateID != "" && gateID != g.ID) {
			t.Fatalf("Decide = %v with zones %q gates %q at gate %+v", d, e.Zones, e.Gates, g)
		}
		if want := int(max(entries, 0)) + 1; d.EntryNumber != want {
			t.Fatalf("Decide = %v after %d entries; want entry number %d", d, entries, want)
		}
		switch e.TicketType {
		case sgpb.TicketType_TICKET_TYPE_SINGLE:
			if entries > 0 {
				t.Fatalf("Decide(single after %d entries) = %v", entries, d)
			}
		case sgpb.TicketType_TICKET_TYPE_TIMED:
			open := time.UnixMilli(slotStart).Add(-max(time.Duration(early), 0))
			shut := time.UnixMilli(slotEnd).Add(max(time.Duration(late), 0))
			if entries > 0 || now.Before(open) || now.After(shut) {
				t.Fatalf("Decide(timed after %d entries, slot [%v, %v], now %v) = %v", entries, open, shut, now, d)
			}
		case sgpb.TicketType_TICKET_TYPE_MULTI:
			if entries >= int64(entriesAllowed) {
				t.Fatalf("Decide(multi of %d after %d entries) = %v", entriesAllowed, entries, d)
			}
		case sgpb.TicketType_TICKET_TYPE_MULTI_DAY, sgpb.TicketType_TICKET_TYPE_ANNUAL:
			if entriesPerDay < 0 || (entriesPerDay > 0 && entriesToday >= int64(entriesPerDay)) {
				t.Fatalf("Decide(%v with %d a day after %d today) = %v", e.TicketType, entriesPerDay, entriesToday, d)
			}
		case sgpb.TicketType_TICKET_TYPE_DAY_PASS:
		default:
			t.Fatalf("Decide(ticket type %d) = %v; an unknown type must never allow", ticketType, d)
		}
	})
}
