package node

import (
	"context"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/internal/rules"
	sitecfg "github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestUsedTicketLeavesTheGallery: a single-use ticket once used leaves the
// 1:N gallery of the gate that admitted it — its face is matched no more —
// and of another gate once that gate finds its entry claimed; its QR code
// still answers already_used, and a restarted gate still leaves it out.
func TestUsedTicketLeavesTheGallery(t *testing.T) {
	s := startSite(t)
	a := startGate(t, s, "used-1", nil)
	b := startGate(t, s, "used-2", nil)
	waitForQRKey(t, a)
	single, token := enrollTicket(t, s, "o-used", "obama.jpg", "single")
	day, _ := enrollTicket(t, s, "o-used-day", "biden.jpg", "day_pass")
	for _, g := range []*lane{a, b} {
		waitInGallery(t, g, single)
		waitInGallery(t, g, day)
	}
	if tickets, _ := a.node.gallery.Len(); tickets != 2 {
		t.Fatalf("gallery of %d tickets; want 2", tickets)
	}

	la := a.node.NewLane()
	defer la.Close()
	if out := show(t, la, "obama2.jpg", 5); out == nil || !out.Allow || out.Admission.TicketId != single {
		t.Fatalf("first use: %+v; want allow %s", out, single)
	}
	if searched(a.node, single) {
		t.Fatalf("the used single-use ticket is still searched")
	}
	if tickets, _ := a.node.gallery.Len(); tickets != 1 {
		t.Errorf("gallery of %d tickets after the use; want 1", tickets)
	}
	if st := a.node.Status(context.Background()); st.GallerySize != 1 {
		t.Errorf("heartbeat gallery size %d; want 1", st.GallerySize)
	}
	// Its face matches nobody now; the day pass is still recognised.
	la2 := a.node.NewLane()
	defer la2.Close()
	if out := show(t, la2, "obama3.jpg", 5); out == nil || out.Allow || out.Admission.TicketId != "" || out.Reason != rules.Unknown {
		t.Fatalf("the used ticket's face again: %+v; want an unknown face", out)
	}
	if out := show(t, la2, "biden.jpg", 5); out == nil || !out.Allow || out.Admission.TicketId != day {
		t.Fatalf("the day pass: %+v; want allow %s", out, day)
	}
	// The QR code still gets its precise reason.
	lq := a.node.NewLane()
	defer lq.Close()
	if out := showQR(t, lq, token); out == nil || out.Allow || out.Reason != rules.AlreadyUsed || out.Admission.TicketId != single {
		t.Fatalf("the used ticket's QR code: %+v; want deny already_used", out)
	}

	// Gate B learns of the use from the claim its own match runs into.
	if !searched(b.node, single) {
		t.Fatal("gate B does not search the ticket it has not seen used")
	}
	out, err := b.node.Decide(context.Background(), Identified{TicketID: single, Method: sgpb.Method_METHOD_FACE, Frames: 2})
	if err != nil || out.Allow || out.Reason != rules.AlreadyUsed {
		t.Fatalf("gate B: %+v, %v; want deny already_used", out, err)
	}
	if searched(b.node, single) {
		t.Error("gate B still searches the ticket it found used")
	}

	// A restarted gate counts its entries from its database.
	dir, sim := a.dir, a.sim
	a.node.Close()
	n := openGate(t, s, "used-1", dir, sim, nil)
	if held, active := n.gallery.Has(single); !held || active {
		t.Errorf("after a restart: held %v, searched %v; want held, not searched", held, active)
	}
	if !searched(n, day) {
		t.Error("after a restart the day pass is not searched")
	}
}

// TestSpentDailyTicketLeavesTheGallery: a multi-day ticket with one entry a
// day leaves the gallery once today's entry is used; a multi-entry ticket
// stays until its last entry.
func TestSpentDailyTicketLeavesTheGallery(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "daily-1", nil)
	ctx := context.Background()
	today := rules.Site{}.Day(time.Now())
	res, err := s.enroll.Service().CreateOrder(ctx, service.System("test"), service.OrderRequest{OrderID: "o-daily", Consent: true,
		Visitors: []service.VisitorRequest{
			{Name: "多日", TicketType: "multi_day", EntriesPerDay: 1, ValidFrom: today.String(), ValidTo: today.AddDays(2).String(),
				Photos: [][]byte{testenv.Photo(t, "obama.jpg")}},
			{Name: "多次", TicketType: "multi", Entries: 2, ValidFrom: today.String(), Photos: [][]byte{testenv.Photo(t, "biden.jpg")}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	daily, multi := res.Tickets[0].ID, res.Tickets[1].ID
	waitInGallery(t, g, daily)
	waitInGallery(t, g, multi)
	decide := func(id string) Outcome {
		t.Helper()
		out, err := g.node.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_FACE, Frames: 2})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := decide(daily); !out.Allow {
		t.Fatalf("multi-day, first today: %s; want allow", out.Reason)
	}
	if searched(g.node, daily) {
		t.Error("the multi-day ticket with today's entry used is still searched")
	}
	// Tomorrow it has an entry again.
	s2 := g.node.siteRules()
	if e, _ := g.node.mirror.Summary(daily); !g.node.eligible(e, s2.StartOfDay(s2.Day(time.Now()).AddDays(1)).Add(time.Hour)) {
		t.Error("the multi-day ticket would not be searched tomorrow")
	}
	if out := decide(multi); !out.Allow || !searched(g.node, multi) {
		t.Fatalf("multi, first of two: %s, searched %v; want allow, still searched", out.Reason, searched(g.node, multi))
	}
	if out := decide(multi); !out.Allow || searched(g.node, multi) {
		t.Fatalf("multi, second of two: %s, searched %v; want allow, no longer searched", out.Reason, searched(g.node, multi))
	}
}

// TestTimedTicketJoinsTheGalleryWhenItsSlotOpens: a timed ticket is
// searched only around its slot: one whose slot shut is not, one whose slot
// opens soon joins the gallery as it does, and both QR codes still get
// outside_slot.
func TestTimedTicketJoinsTheGalleryWhenItsSlotOpens(t *testing.T) {
	s := startSite(t)
	s.settings = saveSettings(t, s.bus, s.admin, func(st *sitecfg.Settings) {
		st.PassbackWindow, st.SlotEarly, st.SlotLate = 0, 0, 0
	})
	g := startGate(t, s, "timed-1", nil)
	ctx := context.Background()
	now := time.Now()
	today := rules.Site{}.Day(now)
	// The gallery searches a ticket from eligibleAhead before it may enter;
	// this slot reaches that point in a few seconds.
	opens := now.Add(eligibleAhead + 4*time.Second).Truncate(time.Second).Add(time.Second)
	res, err := s.enroll.Service().CreateOrder(ctx, service.System("test"), service.OrderRequest{OrderID: "o-timed", Consent: true,
		Visitors: []service.VisitorRequest{
			{Name: "将至", TicketType: "timed", ValidFrom: today.AddDays(-1).String(), ValidTo: today.AddDays(1).String(),
				SlotStart: opens.Format(time.RFC3339), SlotEnd: opens.Add(time.Hour).Format(time.RFC3339),
				Photos: [][]byte{testenv.Photo(t, "obama.jpg")}},
			{Name: "已过", TicketType: "timed", ValidFrom: today.AddDays(-1).String(), ValidTo: today.AddDays(1).String(),
				SlotStart: now.Add(-70 * time.Minute).Format(time.RFC3339), SlotEnd: now.Add(-10 * time.Minute).Format(time.RFC3339),
				Photos: [][]byte{testenv.Photo(t, "biden.jpg")}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	soon, past := res.Tickets[0].ID, res.Tickets[1].ID
	for _, id := range []string{soon, past} {
		eventually(t, waitLimit, "ticket reaches the gate", func() bool { return held(g.node, id) })
		if searched(g.node, id) {
			t.Errorf("timed ticket %s searched outside its slot", id)
		}
		out, err := g.node.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_QR, Frames: 1,
			TokenID: entitlement(t, g.node, id).QrTokenId})
		if err != nil || out.Allow || out.Reason != rules.OutsideSlot {
			t.Errorf("QR code of %s outside its slot: %+v, %v; want deny outside_slot", id, out, err)
		}
	}
	if e, _ := g.node.mirror.Summary(soon); e.SlotStartMs != opens.UnixMilli() {
		t.Errorf("mirrored slot start %v; want %v", time.UnixMilli(e.SlotStartMs), opens)
	}
	// The gallery is re-checked every half minute; the test re-checks it
	// as the refresh loop does, more often.
	eventually(t, waitLimit, "the timed ticket joins the gallery", func() bool {
		g.node.mirror.Refresh()
		return searched(g.node, soon)
	})
	if time.Now().Add(eligibleAhead).Before(opens) {
		t.Errorf("the timed ticket joined the gallery before %v ahead of its slot", eligibleAhead)
	}
	if searched(g.node, past) {
		t.Error("the timed ticket whose slot shut joined the gallery")
	}
}
