package rules_test

import (
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// A two-day ticket with two entries a day, checked at a gate of the north
// zone on its first day.
func Example_decide() {
	site := rules.Site{} // China Standard Time, no slot tolerance
	first, _ := rules.ParseDate("2026-11-26")
	from, until, err := site.ValidityWindow(first, first.AddDays(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	ticket := &sgpb.Entitlement{
		TicketId:      "T-0001",
		TicketType:    sgpb.TicketType_TICKET_TYPE_MULTI_DAY,
		EntriesPerDay: 2,
		ValidFromMs:   from.UnixMilli(),
		ValidUntilMs:  until.UnixMilli(),
		Zones:         []string{"north"},
	}
	gate := rules.Gate{ID: "north-1", Zone: "north", Direction: sgpb.Direction_DIRECTION_ENTRY}
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, rules.DefaultLocation())

	fmt.Println(site.Day(now))
	fmt.Println(site.Decide(ticket, gate, rules.Usage{Entries: 1, EntriesToday: 1}, now))
	fmt.Println(site.Decide(ticket, gate, rules.Usage{Entries: 2, EntriesToday: 2}, now))
	fmt.Println(site.Decide(ticket, gate, rules.Usage{}, now.AddDate(0, 0, 2)))
	gate.Direction = sgpb.Direction_DIRECTION_EXIT
	fmt.Println(site.Decide(ticket, gate, rules.Usage{Entries: 2, EntriesToday: 2}, now.AddDate(0, 0, 2)))
	if reason, ok := rules.CheckCapacity(4999, 5000, 12000, 12000); !ok {
		fmt.Println("deny", reason)
	}
	// Output:
	// 2026-11-26
	// allow ok (entry 2)
	// deny already_used
	// deny expired
	// allow ok
	// deny capacity_full
}
