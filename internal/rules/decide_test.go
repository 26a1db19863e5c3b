package rules_test

import (
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func TestDecideNil(t *testing.T) {
	for _, g := range []rules.Gate{entryGate, exitGate, {}} {
		got := site.Decide(nil, g, rules.Usage{}, at(t, "2026-11-26T12:00:00+08:00"))
		if want := deny(rules.Unknown); got != want {
			t.Errorf("Decide(nil, %+v) = %v; want %v", g, got, want)
		}
	}
}

// TestDecideValidity runs every ticket type through a three-day window
// (2026-11-26 to 2026-11-28, Shanghai) at its edges. The timed ticket's slot
// spans the whole window, so only the window decides; its late tolerance
// reaches past the window's end, which must still be refused.
func TestDecideValidity(t *testing.T) {
	from := at(t, "2026-11-26T00:00:00+08:00")
	until := at(t, "2026-11-29T00:00:00+08:00")
	window := func(e *sgpb.Entitlement) {
		e.ValidFromMs, e.ValidUntilMs = from.UnixMilli(), until.UnixMilli()
		if e.TicketType == sgpb.TicketType_TICKET_TYPE_TIMED {
			e.SlotStartMs, e.SlotEndMs = from.UnixMilli(), until.UnixMilli()
		}
	}
	instants := []struct {
		name string
		now  time.Time
		want rules.Decision
	}{
		{"long before", from.Add(-30 * 24 * time.Hour), deny(rules.NotYetValid)},
		{"1ms before start", from.Add(-time.Millisecond), deny(rules.NotYetValid)},
		{"1ns before start", from.Add(-time.Nanosecond), deny(rules.NotYetValid)},
		{"at start", from, allow(1)},
		{"inside, day 2", from.Add(36 * time.Hour), allow(1)},
		{"last millisecond", until.Add(-time.Millisecond), allow(1)},
		{"at end", until, deny(rules.Expired)},
		{"1ms after end", until.Add(time.Millisecond), deny(rules.Expired)},
		{"long after", until.Add(400 * 24 * time.Hour), deny(rules.Expired)},
	}
	for _, tt := range allTypes {
		for _, in := range instants {
			t.Run(tt.String()+"/"+in.name, func(t *testing.T) {
				e := ticket(t, tt, window)
				got := site.Decide(e, entryGate, rules.Usage{}, in.now)
				if got != in.want {
					t.Errorf("Decide(%v, now=%v) = %v; want %v", tt, in.now, got, in.want)
				}
			})
		}
	}
}

func TestDecideSlot(t *testing.T) {
	timed := sgpb.TicketType_TICKET_TYPE_TIMED
	tests := []struct {
		name string
		site rules.Site
		now  string
		want rules.Decision
	}{
		{"before early tolerance", site, "2026-11-26T09:44:59.999+08:00", deny(rules.OutsideSlot)},
		{"at early tolerance", site, "2026-11-26T09:45:00+08:00", allow(1)},
		{"at slot start", site, "2026-11-26T10:00:00+08:00", allow(1)},
		{"in slot", site, "2026-11-26T10:17:00+08:00", allow(1)},
		{"at slot end", site, "2026-11-26T10:30:00+08:00", allow(1)},
		{"at late tolerance", site, "2026-11-26T11:00:00+08:00", allow(1)},
		{"1ns after late tolerance", site, "2026-11-26T11:00:00.000000001+08:00", deny(rules.OutsideSlot)},
		{"1ms after late tolerance", site, "2026-11-26T11:00:00.001+08:00", deny(rules.OutsideSlot)},
		{"evening", site, "2026-11-26T18:00:00+08:00", deny(rules.OutsideSlot)},
		{"no tolerance, 1ms early", rules.Site{}, "2026-11-26T09:59:59.999+08:00", deny(rules.OutsideSlot)},
		{"no tolerance, at start", rules.Site{}, "2026-11-26T10:00:00+08:00", allow(1)},
		{"no tolerance, at end", rules.Site{}, "2026-11-26T10:30:00+08:00", allow(1)},
		{"no tolerance, 1ms late", rules.Site{}, "2026-11-26T10:30:00.001+08:00", deny(rules.OutsideSlot)},
		{"negative tolerance counts as zero, early", rules.Site{EarlyTolerance: -time.Hour, LateTolerance: -time.Hour}, "2026-11-26T10:00:00+08:00", allow(1)},
		{"negative tolerance counts as zero, late", rules.Site{EarlyTolerance: -time.Hour, LateTolerance: -time.Hour}, "2026-11-26T10:30:00+08:00", allow(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.site.Decide(ticket(t, timed), entryGate, rules.Usage{}, at(t, tc.now))
			if got != tc.want {
				t.Errorf("Decide(timed 10:00–10:30, now=%s) = %v; want %v", tc.now, got, tc.want)
			}
		})
	}
}

func TestDecideEntries(t *testing.T) {
	noon := at(t, "2026-11-26T12:00:00+08:00")
	perDay := func(n int32) func(*sgpb.Entitlement) {
		return func(e *sgpb.Entitlement) { e.EntriesPerDay = n }
	}
	tests := []struct {
		name  string
		tt    sgpb.TicketType
		edits []func(*sgpb.Entitlement)
		usage rules.Usage
		want  rules.Decision
	}{
		{"single, unused", sgpb.TicketType_TICKET_TYPE_SINGLE, nil, rules.Usage{}, allow(1)},
		{"single, used", sgpb.TicketType_TICKET_TYPE_SINGLE, nil, rules.Usage{Entries: 1, EntriesToday: 1}, deny(rules.AlreadyUsed)},
		{"single, used another day", sgpb.TicketType_TICKET_TYPE_SINGLE, nil, rules.Usage{Entries: 1}, deny(rules.AlreadyUsed)},
		{"multi, limit-1", sgpb.TicketType_TICKET_TYPE_MULTI, nil, rules.Usage{Entries: 2, EntriesToday: 2}, allow(3)},
		{"multi, at limit", sgpb.TicketType_TICKET_TYPE_MULTI, nil, rules.Usage{Entries: 3}, deny(rules.AlreadyUsed)},
		{"multi, beyond limit", sgpb.TicketType_TICKET_TYPE_MULTI, nil, rules.Usage{Entries: 7}, deny(rules.AlreadyUsed)},
		{"multi of one, unused", sgpb.TicketType_TICKET_TYPE_MULTI, []func(*sgpb.Entitlement){func(e *sgpb.Entitlement) { e.EntriesAllowed = 1 }}, rules.Usage{}, allow(1)},
		{"day pass, many entries", sgpb.TicketType_TICKET_TYPE_DAY_PASS, nil, rules.Usage{Entries: 1000, EntriesToday: 1000}, allow(1001)},
		{"multi-day, today limit-1", sgpb.TicketType_TICKET_TYPE_MULTI_DAY, nil, rules.Usage{Entries: 5, EntriesToday: 1}, allow(6)},
		{"multi-day, today at limit", sgpb.TicketType_TICKET_TYPE_MULTI_DAY, nil, rules.Usage{Entries: 5, EntriesToday: 2}, deny(rules.AlreadyUsed)},
		{"multi-day, unlimited", sgpb.TicketType_TICKET_TYPE_MULTI_DAY, []func(*sgpb.Entitlement){perDay(0)}, rules.Usage{Entries: 90, EntriesToday: 40}, allow(91)},
		{"annual, today limit-1", sgpb.TicketType_TICKET_TYPE_ANNUAL, nil, rules.Usage{Entries: 200, EntriesToday: 1}, allow(201)},
		{"annual, today at limit", sgpb.TicketType_TICKET_TYPE_ANNUAL, nil, rules.Usage{Entries: 200, EntriesToday: 2}, deny(rules.AlreadyUsed)},
		{"annual, one a day, used", sgpb.TicketType_TICKET_TYPE_ANNUAL, []func(*sgpb.Entitlement){perDay(1)}, rules.Usage{Entries: 3, EntriesToday: 1}, deny(rules.AlreadyUsed)},
		{"annual, unlimited", sgpb.TicketType_TICKET_TYPE_ANNUAL, []func(*sgpb.Entitlement){perDay(0)}, rules.Usage{Entries: 3, EntriesToday: 3}, allow(4)},
		{"timed, used", sgpb.TicketType_TICKET_TYPE_TIMED, nil, rules.Usage{Entries: 1, EntriesToday: 1}, deny(rules.AlreadyUsed)},
		{"negative counts are zero", sgpb.TicketType_TICKET_TYPE_SINGLE, nil, rules.Usage{Entries: -4, EntriesToday: -4}, allow(1)},
		{"negative today on multi-day", sgpb.TicketType_TICKET_TYPE_MULTI_DAY, nil, rules.Usage{Entries: -1, EntriesToday: -9}, allow(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := noon
			if tc.tt == sgpb.TicketType_TICKET_TYPE_TIMED {
				now = at(t, "2026-11-26T10:10:00+08:00")
			}
			got := site.Decide(ticket(t, tc.tt, tc.edits...), entryGate, tc.usage, now)
			if got != tc.want {
				t.Errorf("Decide(%v, %+v) = %v; want %v", tc.tt, tc.usage, got, tc.want)
			}
		})
	}
}

func TestDecideZonesAndGates(t *testing.T) {
	noon := at(t, "2026-11-26T12:00:00+08:00")
	tests := []struct {
		name         string
		zones, gates []string
		gate         rules.Gate
		want         rules.Decision
	}{
		{"no lists", nil, nil, entryGate, allow(1)},
		{"empty lists", []string{}, []string{}, entryGate, allow(1)},
		{"zone listed", []string{"south", "north"}, nil, entryGate, allow(1)},
		{"zone not listed", []string{"south"}, nil, entryGate, deny(rules.WrongZone)},
		{"zone differs in case", []string{"North"}, nil, entryGate, deny(rules.WrongZone)},
		{"gate without zone, zones listed", []string{"north"}, nil, rules.Gate{ID: "north-1"}, deny(rules.WrongZone)},
		{"gate without zone, no zones listed", nil, nil, rules.Gate{ID: "x"}, allow(1)},
		{"gate listed", nil, []string{"north-2", "north-1"}, entryGate, allow(1)},
		{"gate not listed", nil, []string{"north-2"}, entryGate, deny(rules.WrongGate)},
		{"zone and gate listed", []string{"north"}, []string{"north-1"}, entryGate, allow(1)},
		{"zone listed, gate not", []string{"north"}, []string{"south-1"}, entryGate, deny(rules.WrongGate)},
		{"gate listed, zone not", []string{"south"}, []string{"north-1"}, entryGate, deny(rules.WrongZone)},
		{"neither listed: zone first", []string{"south"}, []string{"south-1"}, entryGate, deny(rules.WrongZone)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := ticket(t, sgpb.TicketType_TICKET_TYPE_DAY_PASS, func(e *sgpb.Entitlement) {
				e.Zones, e.Gates = tc.zones, tc.gates
			})
			got := site.Decide(e, tc.gate, rules.Usage{}, noon)
			if got != tc.want {
				t.Errorf("Decide(zones=%q gates=%q, gate %+v) = %v; want %v", tc.zones, tc.gates, tc.gate, got, tc.want)
			}
		})
	}
}

// TestDecideRevoked combines revocation with every other way to fail, and
// with conditions that would otherwise allow.
func TestDecideRevoked(t *testing.T) {
	revoke := func(e *sgpb.Entitlement) { e.Revoked, e.RevokeReason = true, "refunded" }
	noon := "2026-11-26T12:00:00+08:00"
	tests := []struct {
		name  string
		tt    sgpb.TicketType
		edit  func(*sgpb.Entitlement)
		usage rules.Usage
		now   string
	}{
		{"otherwise fine", sgpb.TicketType_TICKET_TYPE_DAY_PASS, nil, rules.Usage{}, noon},
		{"unspecified type", sgpb.TicketType_TICKET_TYPE_UNSPECIFIED, nil, rules.Usage{}, noon},
		{"empty window", sgpb.TicketType_TICKET_TYPE_SINGLE, func(e *sgpb.Entitlement) { e.ValidUntilMs = e.ValidFromMs }, rules.Usage{}, noon},
		{"wrong zone", sgpb.TicketType_TICKET_TYPE_SINGLE, func(e *sgpb.Entitlement) { e.Zones = []string{"south"} }, rules.Usage{}, noon},
		{"wrong gate", sgpb.TicketType_TICKET_TYPE_SINGLE, func(e *sgpb.Entitlement) { e.Gates = []string{"south-1"} }, rules.Usage{}, noon},
		{"not yet valid", sgpb.TicketType_TICKET_TYPE_MULTI, nil, rules.Usage{}, "2026-11-25T12:00:00+08:00"},
		{"expired", sgpb.TicketType_TICKET_TYPE_ANNUAL, nil, rules.Usage{}, "2026-11-28T12:00:00+08:00"},
		{"outside slot", sgpb.TicketType_TICKET_TYPE_TIMED, nil, rules.Usage{}, noon},
		{"in slot", sgpb.TicketType_TICKET_TYPE_TIMED, nil, rules.Usage{}, "2026-11-26T10:00:00+08:00"},
		{"already used", sgpb.TicketType_TICKET_TYPE_SINGLE, nil, rules.Usage{Entries: 1}, noon},
		{"used today", sgpb.TicketType_TICKET_TYPE_MULTI_DAY, nil, rules.Usage{Entries: 2, EntriesToday: 2}, noon},
	}
	gates := []rules.Gate{entryGate, {ID: "north-1", Zone: "north"}}
	for _, tc := range tests {
		for _, g := range gates {
			t.Run(tc.name+"/"+g.Direction.String(), func(t *testing.T) {
				edits := []func(*sgpb.Entitlement){revoke}
				if tc.edit != nil {
					edits = append(edits, tc.edit)
				}
				got := site.Decide(ticket(t, tc.tt, edits...), g, tc.usage, at(t, tc.now))
				if want := deny(rules.Revoked); got != want {
					t.Errorf("Decide(revoked %v, %s) = %v; want %v", tc.tt, tc.name, got, want)
				}
			})
		}
	}
}

// TestDecideExit checks that an exit lets every known ticket out, whatever
// would refuse it at an entry, and consumes nothing.
func TestDecideExit(t *testing.T) {
	noon := "2026-11-26T12:00:00+08:00"
	tests := []struct {
		name  string
		tt    sgpb.TicketType
		edit  func(*sgpb.Entitlement)
		usage rules.Usage
		now   string
	}{
		{"valid", sgpb.TicketType_TICKET_TYPE_SINGLE, nil, rules.Usage{Entries: 1, EntriesToday: 1}, noon},
		{"revoked", sgpb.TicketType_TICKET_TYPE_SINGLE, func(e *sgpb.Entitlement) { e.Revoked = true }, rules.Usage{}, noon},
		{"unspecified type", sgpb.TicketType_TICKET_TYPE_UNSPECIFIED, nil, rules.Usage{}, noon},
		{"wrong zone", sgpb.TicketType_TICKET_TYPE_DAY_PASS, func(e *sgpb.Entitlement) { e.Zones = []string{"south"} }, rules.Usage{}, noon},
		{"wrong gate", sgpb.TicketType_TICKET_TYPE_DAY_PASS, func(e *sgpb.Entitlement) { e.Gates = []string{"south-1"} }, rules.Usage{}, noon},
		{"expired at dusk", sgpb.TicketType_TICKET_TYPE_DAY_PASS, nil, rules.Usage{Entries: 2}, "2026-11-27T00:30:00+08:00"},
		{"not yet valid", sgpb.TicketType_TICKET_TYPE_MULTI, nil, rules.Usage{}, "2026-11-25T12:00:00+08:00"},
		{"after slot", sgpb.TicketType_TICKET_TYPE_TIMED, nil, rules.Usage{Entries: 1}, noon},
		{"all entries used", sgpb.TicketType_TICKET_TYPE_MULTI, nil, rules.Usage{Entries: 3}, noon},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*sgpb.Entitlement)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			got := site.Decide(ticket(t, tc.tt, edits...), exitGate, tc.usage, at(t, tc.now))
			if want := allow(0); got != want {
				t.Errorf("Decide(%v %s at exit) = %v; want %v", tc.tt, tc.name, got, want)
			}
		})
	}
}

func TestDecideInvalid(t *testing.T) {
	noon := at(t, "2026-11-26T12:00:00+08:00")
	tests := []struct {
		name string
		tt   sgpb.TicketType
		edit func(*sgpb.Entitlement)
	}{
		{"unspecified type", sgpb.TicketType_TICKET_TYPE_UNSPECIFIED, nil},
		{"type from the future", sgpb.TicketType(99), nil},
		{"negative type", sgpb.TicketType(-1), nil},
		{"window of zero length", sgpb.TicketType_TICKET_TYPE_DAY_PASS, func(e *sgpb.Entitlement) { e.ValidUntilMs = e.ValidFromMs }},
		{"window reversed", sgpb.TicketType_TICKET_TYPE_DAY_PASS, func(e *sgpb.Entitlement) {
			e.ValidFromMs, e.ValidUntilMs = e.ValidUntilMs, e.ValidFromMs
		}},
		{"window never set", sgpb.TicketType_TICKET_TYPE_SINGLE, func(e *sgpb.Entitlement) { e.ValidFromMs, e.ValidUntilMs = 0, 0 }},
		{"multi with no entries", sgpb.TicketType_TICKET_TYPE_MULTI, func(e *sgpb.Entitlement) { e.EntriesAllowed = 0 }},
		{"multi with negative entries", sgpb.TicketType_TICKET_TYPE_MULTI, func(e *sgpb.Entitlement) { e.EntriesAllowed = -2 }},
		{"multi-day with negative per day", sgpb.TicketType_TICKET_TYPE_MULTI_DAY, func(e *sgpb.Entitlement) { e.EntriesPerDay = -1 }},
		{"annual with negative per day", sgpb.TicketType_TICKET_TYPE_ANNUAL, func(e *sgpb.Entitlement) { e.EntriesPerDay = -1 }},
		{"timed without slot", sgpb.TicketType_TICKET_TYPE_TIMED, func(e *sgpb.Entitlement) { e.SlotStartMs, e.SlotEndMs = 0, 0 }},
		{"timed with empty slot", sgpb.TicketType_TICKET_TYPE_TIMED, func(e *sgpb.Entitlement) { e.SlotEndMs = e.SlotStartMs }},
		{"timed with reversed slot", sgpb.TicketType_TICKET_TYPE_TIMED, func(e *sgpb.Entitlement) {
			e.SlotStartMs, e.SlotEndMs = e.SlotEndMs, e.SlotStartMs
		}},
		// Invalid is checked before the zone, so a broken ticket is reported
		// as broken wherever it is shown.
		{"unspecified type at a wrong zone", sgpb.TicketType_TICKET_TYPE_UNSPECIFIED, func(e *sgpb.Entitlement) { e.Zones = []string{"south"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*sgpb.Entitlement)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			got := site.Decide(ticket(t, tc.tt, edits...), entryGate, rules.Usage{}, noon)
			if want := deny(rules.Invalid); got != want {
				t.Errorf("Decide(%v, %s) = %v; want %v", tc.tt, tc.name, got, want)
			}
		})
	}
	// Fields that a ticket type does not use are ignored.
	e := ticket(t, sgpb.TicketType_TICKET_TYPE_SINGLE, func(e *sgpb.Entitlement) {
		e.EntriesAllowed, e.EntriesPerDay, e.SlotStartMs, e.SlotEndMs = -1, -1, 5, 1
	})
	if got, want := site.Decide(e, entryGate, rules.Usage{}, noon), allow(1); got != want {
		t.Errorf("Decide(single with stray fields) = %v; want %v", got, want)
	}
}

// TestDecideOrder pins down which reason wins when several apply.
func TestDecideOrder(t *testing.T) {
	wrongZone := func(e *sgpb.Entitlement) { e.Zones = []string{"south"} }
	wrongGate := func(e *sgpb.Entitlement) { e.Gates = []string{"south-1"} }
	tests := []struct {
		name  string
		tt    sgpb.TicketType
		edits []func(*sgpb.Entitlement)
		usage rules.Usage
		now   string
		want  rules.Reason
	}{
		{"wrong zone before not yet valid", sgpb.TicketType_TICKET_TYPE_SINGLE, []func(*sgpb.Entitlement){wrongZone}, rules.Usage{}, "2026-11-25T12:00:00+08:00", rules.WrongZone},
		{"wrong gate before expired", sgpb.TicketType_TICKET_TYPE_SINGLE, []func(*sgpb.Entitlement){wrongGate}, rules.Usage{}, "2026-11-28T12:00:00+08:00", rules.WrongGate},
		{"wrong gate before already used", sgpb.TicketType_TICKET_TYPE_SINGLE, []func(*sgpb.Entitlement){wrongGate}, rules.Usage{Entries: 1}, "2026-11-26T12:00:00+08:00", rules.WrongGate},
		{"not yet valid before outside slot", sgpb.TicketType_TICKET_TYPE_TIMED, nil, rules.Usage{}, "2026-11-25T10:00:00+08:00", rules.NotYetValid},
		{"expired before outside slot", sgpb.TicketType_TICKET_TYPE_TIMED, nil, rules.Usage{}, "2026-11-27T10:00:00+08:00", rules.Expired},
		{"not yet valid before already used", sgpb.TicketType_TICKET_TYPE_MULTI, nil, rules.Usage{Entries: 3}, "2026-11-25T12:00:00+08:00", rules.NotYetValid},
		{"expired before already used", sgpb.TicketType_TICKET_TYPE_SINGLE, nil, rules.Usage{Entries: 1}, "2026-11-27T12:00:00+08:00", rules.Expired},
		{"outside slot before already used", sgpb.TicketType_TICKET_TYPE_TIMED, nil, rules.Usage{Entries: 1}, "2026-11-26T12:00:00+08:00", rules.OutsideSlot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := site.Decide(ticket(t, tc.tt, tc.edits...), entryGate, tc.usage, at(t, tc.now))
			if want := deny(tc.want); got != want {
				t.Errorf("Decide(%v, %s) = %v; want %v", tc.tt, tc.name, got, want)
			}
		})
	}
}

// TestDecideUnspecifiedDirection checks that a gate whose direction was
// never configured applies the entry rules rather than letting anyone out.
func TestDecideUnspecifiedDirection(t *testing.T) {
	g := rules.Gate{ID: "north-1", Zone: "north"}
	noon := at(t, "2026-11-26T12:00:00+08:00")
	e := ticket(t, sgpb.TicketType_TICKET_TYPE_SINGLE)
	if got, want := site.Decide(e, g, rules.Usage{Entries: 1}, noon), deny(rules.AlreadyUsed); got != want {
		t.Errorf("Decide(used single, unspecified direction) = %v; want %v", got, want)
	}
	if got, want := site.Decide(e, g, rules.Usage{}, noon), allow(1); got != want {
		t.Errorf("Decide(fresh single, unspecified direction) = %v; want %v", got, want)
	}
}

func TestDecisionString(t *testing.T) {
	tests := []struct {
		d    rules.Decision
		want string
	}{
		{allow(2), "allow ok (entry 2)"},
		{allow(0), "allow ok"},
		{deny(rules.Expired), "deny expired"},
	}
	for _, tc := range tests {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%#v.String() = %q; want %q", tc.d, got, tc.want)
		}
	}
}

func TestReasonsAreDistinctWireCodes(t *testing.T) {
	seen := map[rules.Reason]bool{}
	for _, r := range rules.Reasons() {
		if seen[r] {
			t.Errorf("Reasons() lists %q twice", r)
		}
		seen[r] = true
	}
	// The codes named on the wire in proto/scenicgate.proto.
	for _, r := range []rules.Reason{"ok", "unknown", "revoked", "not_yet_valid", "expired",
		"outside_slot", "wrong_zone", "already_used", "capacity_full"} {
		if !seen[r] {
			t.Errorf("Reasons() lacks the wire code %q", r)
		}
	}
}
