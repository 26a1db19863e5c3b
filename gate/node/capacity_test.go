package node

import (
	"context"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	sitecfg "github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func TestCapacityFullWhenTheSiteEnforcesIt(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "cap-1", nil)
	id, _ := enrollTicket(t, s, "o-cap", "obama.jpg", "day_pass")
	waitInGallery(t, g, id)
	ctx := context.Background()
	_, js := s.nats.Connect(t)
	kv, err := js.KeyValue(ctx, bus.BucketSite)
	if err != nil {
		t.Fatal(err)
	}
	today := rules.Site{}.Day(time.Now()).String()
	settings := s.settings
	settings.DailyCapacity, settings.InstantCapacity = 100, 10
	if err := sitecfg.SaveSettings(ctx, kv, settings, s.admin); err != nil {
		t.Fatal(err)
	}
	if err := sitecfg.SaveOccupancy(ctx, kv, sitecfg.Occupancy{Day: today, AdmittedToday: 100, InPark: 5, At: time.Now()}, s.admin); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLimit, "site values reach the gate", func() bool {
		return g.node.site.Occupancy().AdmittedToday == 100 && g.node.site.Settings().DailyCapacity == 100
	})
	decide := func() Outcome {
		out, err := g.node.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_FACE, Frames: 2})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := decide(); !out.Allow {
		t.Fatalf("capacity reached but not enforced: %+v; want allow", out)
	}
	settings.EnforceCapacity = true
	sitecfg.SaveSettings(ctx, kv, settings, s.admin)
	eventually(t, waitLimit, "enforcement reaches the gate", func() bool { return g.node.site.Settings().EnforceCapacity })
	if out := decide(); out.Allow || out.Reason != rules.CapacityFull {
		t.Fatalf("daily capacity reached and enforced: %+v; want deny capacity_full", out)
	}
	// Yesterday's count does not close today's gates.
	sitecfg.SaveOccupancy(ctx, kv, sitecfg.Occupancy{Day: "2000-01-01", AdmittedToday: 1000, InPark: 1000}, s.admin)
	eventually(t, waitLimit, "new occupancy reaches the gate", func() bool { return g.node.site.Occupancy().Day == "2000-01-01" })
	if out := decide(); !out.Allow {
		t.Fatalf("an old day's occupancy: %+v; want allow", out)
	}
}
