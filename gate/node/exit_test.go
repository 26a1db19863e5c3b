package node

import (
	"context"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func TestExitLetsOutAVisitorWhoseTicketEnded(t *testing.T) {
	s := startSite(t)
	entry := startGate(t, s, "in-1", nil)
	exit := startGate(t, s, "out-1", func(c *Config) { c.Direction = "exit" })
	// The ticket was sold yesterday, for yesterday.
	yesterday := time.Now().Add(-24 * time.Hour)
	s.enroll.Service().SetClock(func() time.Time { return yesterday })
	res, err := s.enroll.Service().CreateOrder(context.Background(), service.System("test"), orderFor(t, "o-exit", rules.Site{}.Day(yesterday).String()))
	s.enroll.Service().SetClock(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Tickets[0].ID
	waitInGallery(t, exit, id)
	if searched(entry.node, id) {
		t.Error("an ended ticket is in the entry gate's gallery")
	}
	l := exit.node.NewLane()
	defer l.Close()
	out := show(t, l, "obama2.jpg", 5)
	if out == nil || !out.Allow || out.Admission.Direction != sgpb.Direction_DIRECTION_EXIT {
		t.Fatalf("exit with yesterday's ticket: %+v; want allowed out", out)
	}
	exit.pulses(t, 2)
}

func orderFor(t *testing.T, order, day string) service.OrderRequest {
	return service.OrderRequest{OrderID: order, Consent: true, Visitors: []service.VisitorRequest{{
		Name: "游客", TicketType: "single", ValidFrom: day, Photos: [][]byte{testenv.Photo(t, "obama.jpg")},
	}}}
}
