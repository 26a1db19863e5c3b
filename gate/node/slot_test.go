package node

import (
	"context"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	sitecfg "github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestSiteSettingsWidenTimedSlots saves site settings with an early and a
// late tolerance other than the defaults (15 and 30 minutes) and checks
// that the gate turns them into its rules: timed tickets whose slots lie
// around now are admitted within the widened slot and denied outside_slot
// beyond it. Every case is at least three minutes from a boundary, so the
// seconds the test takes do not matter.
func TestSiteSettingsWidenTimedSlots(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "slot-1", nil)
	ctx := context.Background()
	_, js := s.nats.Connect(t)
	kv, err := js.KeyValue(ctx, bus.BucketSite)
	if err != nil {
		t.Fatal(err)
	}
	settings := s.settings
	settings.TimeZone = "Europe/Berlin"
	settings.SlotEarly, settings.SlotLate = sitecfg.Duration(20*time.Minute), sitecfg.Duration(40*time.Minute)
	if err := sitecfg.SaveSettings(ctx, kv, settings, s.admin); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLimit, "settings reach the gate", func() bool { return g.node.site.Settings() == settings })
	r := g.node.siteRules()
	if r.Location.String() != "Europe/Berlin" || r.EarlyTolerance != 20*time.Minute || r.LateTolerance != 40*time.Minute {
		t.Fatalf("the gate's rules: zone %v, early %v, late %v; want Europe/Berlin, 20m, 40m", r.Location, r.EarlyTolerance, r.LateTolerance)
	}

	now := time.Now()
	tests := []struct {
		name       string
		start, end time.Duration // of the slot, from now
		allow      bool
	}{
		{"slot begins in 17 minutes", 17 * time.Minute, 77 * time.Minute, true},
		{"slot begins in 25 minutes", 25 * time.Minute, 85 * time.Minute, false},
		{"slot now", -30 * time.Minute, 30 * time.Minute, true},
		{"slot ended 35 minutes ago", -95 * time.Minute, -35 * time.Minute, true},
		{"slot ended 45 minutes ago", -105 * time.Minute, -45 * time.Minute, false},
	}
	// Valid from yesterday to tomorrow, so that every slot lies inside the
	// ticket's validity whatever the time of day.
	today := rules.Site{}.Day(now)
	var visitors []service.VisitorRequest
	for _, tc := range tests {
		visitors = append(visitors, service.VisitorRequest{Name: tc.name, TicketType: "timed",
			ValidFrom: today.AddDays(-1).String(), ValidTo: today.AddDays(1).String(),
			SlotStart: now.Add(tc.start).Format(time.RFC3339), SlotEnd: now.Add(tc.end).Format(time.RFC3339)})
	}
	res, err := s.enroll.Service().CreateOrder(ctx, service.System("test"), service.OrderRequest{OrderID: "o-slots", Visitors: visitors})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := res.Tickets[i].ID
			eventually(t, waitLimit, "ticket reaches the gate", func() bool { return held(g.node, id) })
			out, err := g.node.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_QR, Frames: 1,
				TokenID: entitlement(t, g.node, id).QrTokenId})
			if err != nil {
				t.Fatal(err)
			}
			if tc.allow && (!out.Allow || out.Reason != rules.OK) {
				t.Errorf("%s: %s; want allow (early tolerance 20m, late 40m)", tc.name, out.Reason)
			}
			if !tc.allow && (out.Allow || out.Reason != rules.OutsideSlot) {
				t.Errorf("%s: allow %v %s; want deny %s", tc.name, out.Allow, out.Reason, rules.OutsideSlot)
			}
		})
	}
}
