package rules_test

import (
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// The tests' site: Asia/Shanghai by default, with typical slot tolerances.
var site = rules.Site{EarlyTolerance: 15 * time.Minute, LateTolerance: 30 * time.Minute}

var (
	entryGate = rules.Gate{ID: "north-1", Zone: "north", Direction: sgpb.Direction_DIRECTION_ENTRY}
	exitGate  = rules.Gate{ID: "north-9", Zone: "north", Direction: sgpb.Direction_DIRECTION_EXIT}
)

// at parses an RFC 3339 instant, failing the test on a typo.
func at(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("bad instant %q: %v", s, err)
	}
	return t
}

func ms(tb testing.TB, s string) int64 { tb.Helper(); return at(tb, s).UnixMilli() }

// ticket returns a well-formed entitlement of type tt valid on 2026-11-26
// (Shanghai): MULTI has 3 entries, MULTI_DAY and ANNUAL 2 a day, TIMED the
// slot 10:00–10:30. Each edit then changes it.
func ticket(tb testing.TB, tt sgpb.TicketType, edits ...func(*sgpb.Entitlement)) *sgpb.Entitlement {
	tb.Helper()
	e := &sgpb.Entitlement{
		TicketId:     "T-20261126-0001",
		TicketType:   tt,
		ValidFromMs:  ms(tb, "2026-11-26T00:00:00+08:00"),
		ValidUntilMs: ms(tb, "2026-11-27T00:00:00+08:00"),
	}
	switch tt {
	case sgpb.TicketType_TICKET_TYPE_MULTI:
		e.EntriesAllowed = 3
	case sgpb.TicketType_TICKET_TYPE_MULTI_DAY, sgpb.TicketType_TICKET_TYPE_ANNUAL:
		e.EntriesPerDay = 2
	case sgpb.TicketType_TICKET_TYPE_TIMED:
		e.SlotStartMs = ms(tb, "2026-11-26T10:00:00+08:00")
		e.SlotEndMs = ms(tb, "2026-11-26T10:30:00+08:00")
	}
	for _, edit := range edits {
		edit(e)
	}
	return e
}

var allTypes = []sgpb.TicketType{
	sgpb.TicketType_TICKET_TYPE_SINGLE,
	sgpb.TicketType_TICKET_TYPE_MULTI,
	sgpb.TicketType_TICKET_TYPE_DAY_PASS,
	sgpb.TicketType_TICKET_TYPE_MULTI_DAY,
	sgpb.TicketType_TICKET_TYPE_ANNUAL,
	sgpb.TicketType_TICKET_TYPE_TIMED,
}

var (
	allow = func(n int) rules.Decision { return rules.Decision{Allow: true, Reason: rules.OK, EntryNumber: n} }
	deny  = func(r rules.Reason) rules.Decision { return rules.Decision{Reason: r} }
)
