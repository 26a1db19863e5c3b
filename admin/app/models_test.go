package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/store"
	enrollstore "github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestPagesShowFaceModels checks that staff see which model each gate
// matches with, how many of its tickets lack it, which models described a
// ticket's faces, and which gates cannot recognise that ticket's visitor.
func TestPagesShowFaceModels(t *testing.T) {
	e := newEnv(t, envOptions{enroll: true})
	e.addUser("viewer1", store.Viewer, "viewer-pass")
	key, err := e.enroll.Store().CreateAPIKey(context.Background(), "shop", enrollstore.ScopeShop)
	if err != nil {
		t.Fatal(err)
	}
	id := enrollTicket(t, e, key, "models-1", "王小明", "13800138000", "obama.jpg")
	for _, g := range []*sgpb.GateStatus{
		{GateId: "east-1", Zone: "main", FaceModel: "mobilefacenet"},
		{GateId: "west-1", Zone: "main", FaceModel: "newmodel", TicketsWithoutModel: 3},
	} {
		g.AtMs = time.Now().UnixMilli()
		b, _ := proto.Marshal(g)
		if err := e.nc.Publish(bus.StatusSubject(g.GateId), b); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both heartbeats", func() bool { g, _ := e.admin.Store().Gates(context.Background()); return len(g) == 2 })
	c := e.client()
	c.mustLogin("viewer1", "viewer-pass")

	rows := c.get("/gates/rows?lang=en")
	for _, want := range []string{"mobilefacenet", "newmodel", "3 tickets without it"} {
		if !strings.Contains(rows.body, want) {
			t.Errorf("gates rows lack %q: %s", want, fmtAnswer(rows))
		}
	}
	page := c.get("/tickets/" + id + "?lang=en")
	for _, want := range []string{"described by", "mobilefacenet", "No newmodel descriptor", "west-1"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("ticket page lacks %q: %s", want, fmtAnswer(page))
		}
	}
	if strings.Contains(page.body, "No mobilefacenet descriptor") {
		t.Errorf("ticket page says the ticket lacks mobilefacenet, which described it: %s", fmtAnswer(page))
	}
}
