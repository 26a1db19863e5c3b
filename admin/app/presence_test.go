package app

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestClearAStuckPresenceMark shows a ticket whose holder the gates hold to
// be inside, and has an operator mark them outside: the mark in the
// PRESENCE bucket says so, with the operator's name, and the audit log has
// the row.
func TestClearAStuckPresenceMark(t *testing.T) {
	e := newEnv(t, envOptions{enroll: true})
	e.addUser("op1", store.Operator, "operator-pass")
	key, err := e.enroll.Store().CreateAPIKey(context.Background(), "shop", "shop")
	if err != nil {
		t.Fatal(err)
	}
	id := enrollTicket(t, e, key, "presence-1", "李四", "13800138001", "obama.jpg")
	ctx := context.Background()
	kv, err := e.js.KeyValue(ctx, bus.BucketPresence)
	if err != nil {
		t.Fatal(err)
	}
	mark, _ := proto.Marshal(&sgpb.Presence{TicketId: id, Inside: true, GateId: "north-1", AtMs: time.Now().UnixMilli()})
	if _, err := kv.Put(ctx, id, mark); err != nil {
		t.Fatal(err)
	}

	c := e.client()
	c.mustLogin("op1", "operator-pass")
	page := c.get("/tickets/" + id + "?lang=en")
	if !strings.Contains(page.body, "inside: admitted at north-1") || !strings.Contains(page.body, `id="presence-form"`) {
		t.Fatalf("ticket page: %s; want the holder shown inside with a form to clear it", fmtAnswer(page))
	}
	a := c.post("/tickets/"+id+"/presence/clear", url.Values{"csrf": {c.csrf("/tickets/" + id)}, "reason": {"left by the side gate"}})
	if a.status >= 400 {
		t.Fatalf("clear: %s", fmtAnswer(a))
	}
	got, err := kv.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	p := &sgpb.Presence{}
	if err := proto.Unmarshal(got.Value(), p); err != nil || p.Inside || p.Operator != "op1" || p.Note != "left by the side gate" {
		t.Errorf("mark after clearing: %v, %v; want outside, by op1, with the reason", p, err)
	}
	rows, _, err := e.admin.Store().Audit(ctx, store.AuditFilter{Action: "presence_clear", Actor: "op1", Target: id})
	if err != nil || len(rows) != 1 {
		t.Errorf("audit rows for clearing: %d, %v; want 1", len(rows), err)
	}
	if page := c.get("/tickets/" + id + "?lang=en"); !strings.Contains(page.body, "outside: marked by admin") || strings.Contains(page.body, `id="presence-form"`) {
		t.Errorf("ticket page after clearing: %s; want the holder outside and no form", fmtAnswer(page))
	}
}
