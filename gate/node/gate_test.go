package node

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"gocv.io/x/gocv"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// enrollTicket creates a ticket valid today through the enroll API and
// returns its id and QR token.
func enrollTicket(t testing.TB, s *site, order, photo, ticketType string) (string, string) {
	t.Helper()
	var photos []string
	if photo != "" {
		photos = []string{photo}
	}
	return enrollVisitor(t, s, order, ticketType, photos...)
}

// enrollVisitor creates a ticket valid today for one visitor with these
// photos through the enroll API and returns its id and QR token.
func enrollVisitor(t testing.TB, s *site, order, ticketType string, photos ...string) (string, string) {
	t.Helper()
	srv := httptest.NewServer(s.enroll.Handler())
	defer srv.Close()
	today := rules.Site{}.Day(time.Now()).String()
	visitor := map[string]any{"name": "游客", "ticket_type": ticketType, "valid_from": today, "zones": []string{"main"}}
	if len(photos) > 0 {
		data := make([][]byte, len(photos))
		for i, p := range photos {
			data[i] = testenv.Photo(t, p)
		}
		visitor["photos"] = data
	}
	if ticketType == "multi" {
		visitor["entries"] = 2
	}
	body, _ := json.Marshal(map[string]any{"order_id": order, "consent": true, "visitors": []any{visitor}})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/tickets", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Tickets []struct {
			TicketID string `json:"ticket_id"`
			QRToken  string `json:"qr_token"`
		} `json:"tickets"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated || len(out.Tickets) != 1 {
		t.Fatalf("enroll %s with %d photos: status %d", order, len(photos), resp.StatusCode)
	}
	return out.Tickets[0].TicketID, out.Tickets[0].QRToken
}

func revoke(t testing.TB, s *site, id string) {
	t.Helper()
	if _, err := s.enroll.Service().Revoke(context.Background(), service.System("test"), id, "refund"); err != nil {
		t.Fatal(err)
	}
}

func frame(t testing.TB, photo string) gocv.Mat {
	t.Helper()
	m := gocv.IMRead(testenv.PhotoPath(t, photo), gocv.IMReadColor)
	if m.Empty() {
		t.Fatalf("cannot read %s", photo)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// show is a visitor's approach: the photo fed to the lane up to n times,
// then frames of nobody until the visitor's track has ended (a gap longer
// than Policy.TrackGap, in real time). It returns the first decision: made
// while the face was in view, or the refusal of a stranger when they left.
func show(t testing.TB, l *Lane, photo string, n int) *Outcome {
	t.Helper()
	m := frame(t, photo)
	var first *Outcome
	for i := 0; i < n && first == nil; i++ {
		out, err := l.Frame(context.Background(), m, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		first = out
	}
	if out := leave(t, l); first == nil {
		first = out
	}
	return first
}

// leave feeds the lane frames of nobody until it follows no face, and
// returns the decision made meanwhile, if any.
func leave(t testing.TB, l *Lane) *Outcome {
	t.Helper()
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(200, 200, 200, 0), 480, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	var first *Outcome
	for deadline := time.Now().Add(waitLimit); l.track != nil; {
		if time.Now().After(deadline) {
			t.Fatalf("the lane still follows a face %v after it left", waitLimit)
		}
		out, err := l.Frame(context.Background(), blank, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
		}
		time.Sleep(20 * time.Millisecond)
	}
	return first
}

func waitInGallery(t testing.TB, l *lane, id string) {
	t.Helper()
	eventually(t, waitLimit, "ticket "+id+" reaches the gate's gallery", func() bool { return searched(l.node, id) })
}

// held reports whether the gate's mirror holds ticket id.
func held(n *Node, id string) bool {
	_, ok := n.mirror.Summary(id)
	return ok
}

// entitlement reads ticket id from the gate's mirror, nil when it has none.
func entitlement(t testing.TB, n *Node, id string) *sgpb.Entitlement {
	t.Helper()
	e, err := n.mirror.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// searched reports whether the gate's gallery searches ticket id.
func searched(n *Node, id string) bool {
	_, active := n.gallery.Has(id)
	return active
}

// admissions consumes the ADMISSIONS stream from the start.
func admissions(t testing.TB, s *site) func(n int) []*sgpb.Admission {
	_, js := s.bus.Connect(t)
	ctx := context.Background()
	c, err := js.OrderedConsumer(ctx, bus.StreamAdmissions, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return func(n int) []*sgpb.Admission {
		t.Helper()
		var out []*sgpb.Admission
		deadline := time.Now().Add(waitLimit)
		for len(out) < n && time.Now().Before(deadline) {
			msgs, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(time.Second))
			if err != nil {
				continue
			}
			for m := range msgs.Messages() {
				a := &sgpb.Admission{}
				if err := proto.Unmarshal(m.Data(), a); err != nil {
					t.Fatal(err)
				}
				out = append(out, a)
			}
		}
		return out
	}
}

func TestFaceAdmitsEnrolledVisitorAndPulsesRelay(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "north-1", nil)
	next := admissions(t, s)
	id, _ := enrollTicket(t, s, "o-face-1", "obama.jpg", "single")
	waitInGallery(t, g, id)

	l := g.node.NewLane()
	defer l.Close()
	out := show(t, l, "obama2.jpg", 5)
	if out == nil || !out.Allow || out.Admission.TicketId != id || out.EntryNumber != 1 {
		t.Fatalf("another photo of the enrolled visitor: %+v; want an allowed first entry of %s", out, id)
	}
	events := g.pulses(t, 2)
	if !bytes.Equal(events[0].Raw, []byte{0xA0, 0x01, 0x01, 0xA2}) || !bytes.Equal(events[1].Raw, []byte{0xA0, 0x01, 0x00, 0xA1}) {
		t.Errorf("relay received % X then % X; want A0 01 01 A2 then A0 01 00 A1", events[0].Raw, events[1].Raw)
	}
	got := next(1)
	if len(got) != 1 || got[0].EventId != out.Admission.EventId || got[0].Decision != sgpb.Decision_DECISION_ALLOW {
		t.Fatalf("ADMISSIONS got %v; want the allow of %s", got, id)
	}

	// Someone else is denied and nothing reaches the port.
	out = show(t, l, "biden.jpg", 5)
	if out == nil || out.Allow || out.Reason != rules.Unknown {
		t.Fatalf("a stranger: %+v; want deny unknown", out)
	}
	if n := relayPulses(g); n != 1 {
		t.Errorf("the relay gave %d pulses after the stranger; want still 1", n)
	}
	if got = next(1); len(got) != 1 || got[0].Reason != "unknown" {
		t.Errorf("ADMISSIONS got %v; want the stranger's deny", got)
	}
}

func TestRevokeAndSingleUseAcrossGates(t *testing.T) {
	s := startSite(t)
	a := startGate(t, s, "north-1", nil)
	b := startGate(t, s, "north-2", nil)
	single, _ := enrollTicket(t, s, "o-single", "obama.jpg", "single")
	waitInGallery(t, a, single)
	waitInGallery(t, b, single)

	la, lb := a.node.NewLane(), b.node.NewLane()
	defer la.Close()
	defer lb.Close()
	if out := show(t, la, "obama2.jpg", 5); out == nil || !out.Allow {
		t.Fatalf("gate A: %+v; want allow", out)
	}
	if out := show(t, lb, "obama3.jpg", 5); out == nil || out.Allow || out.Reason != rules.AlreadyUsed {
		t.Fatalf("gate B after A admitted the single-use ticket: %+v; want deny already_used", out)
	}

	// A revoke reaches the gate and takes the face out of its gallery. How
	// fast is measured by the sync benchmark; here it only has to arrive.
	day, _ := enrollTicket(t, s, "o-day", "biden.jpg", "day_pass")
	waitInGallery(t, a, day)
	revoke(t, s, day)
	eventually(t, waitLimit, "revoked ticket leaves gate A", func() bool {
		e := entitlement(t, a.node, day)
		return e != nil && e.Revoked && !searched(a.node, day)
	})
	if out := show(t, la, "biden.jpg", 5); out == nil || out.Allow {
		t.Fatalf("revoked ticket: %+v; want deny", out)
	}
}

func TestOfflineAdmissionsArriveOnceAfterOutage(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "south-1", nil)
	id, _ := enrollTicket(t, s, "o-pass", "obama.jpg", "day_pass")
	waitInGallery(t, g, id)

	s.nats.Stop()
	eventually(t, waitLimit, "gate notices NATS is gone", func() bool { return !g.node.online() })
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		out, err := g.node.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_FACE, Distance: 0.3, Frames: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !out.Allow || !out.Offline {
			t.Fatalf("offline decision %d: %+v; want allow, flagged offline", i, out)
		}
	}
	if d, _ := g.node.store.OutboxDepth(ctx); d != 20 {
		t.Fatalf("outbox depth = %d; want 20", d)
	}
	s.nats.Start()
	next := admissions(t, s)
	got := next(25)
	if len(got) != 20 {
		t.Fatalf("ADMISSIONS holds %d admissions after the outage; want exactly 20", len(got))
	}
	seen := map[string]bool{}
	for _, a := range got {
		if seen[a.EventId] || !a.Offline {
			t.Errorf("admission %s: duplicate %v, offline %v", a.EventId, seen[a.EventId], a.Offline)
		}
		seen[a.EventId] = true
	}
	eventually(t, waitLimit, "outbox empties", func() bool {
		d, _ := g.node.store.OutboxDepth(ctx)
		return d == 0
	})
}

func TestRelayPortRemovedAndReturned(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "east-1", nil)
	ctx := context.Background()
	if err := g.sim.Unplug(); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLimit, "relay fault reported in the status", func() bool {
		st := g.node.Status(ctx)
		return !st.RelayOk && hasFault(st, "relay")
	})
	if err := g.node.ManualOpen(ctx, "staff", "test"); err == nil {
		t.Error("manual open with the relay unplugged succeeded")
	}
	if err := g.sim.Plug(); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLimit, "relay recovers", func() bool { return g.node.Status(ctx).RelayOk })
	before := len(g.sim.Events())
	if err := g.node.ManualOpen(ctx, "staff", "wheelchair"); err != nil {
		t.Fatalf("manual open after recovery: %v", err)
	}
	if _, err := g.sim.WaitEvents(ctx, before+2); err != nil {
		t.Fatal(err)
	}
}

func hasFault(st *sgpb.GateStatus, prefix string) bool {
	for _, f := range st.Faults {
		if len(f) >= len(prefix) && f[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

func TestManualOpenCommandOverNATS(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "west-1", nil)
	nc, _ := s.nats.ConnectAs(t, bus.Admin())
	cmd := s.command(t, &sgpb.GateCommand{CommandId: "c1", Kind: sgpb.CommandKind_COMMAND_KIND_OPEN, Operator: "王五", Reason: "轮椅",
		GateId: "west-1"}, time.Now())
	msg, err := nc.Request(bus.CommandSubject("west-1"), cmd, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	reply := &sgpb.GateCommandReply{}
	proto.Unmarshal(msg.Data, reply)
	if !reply.Ok || reply.CommandId != "c1" {
		t.Fatalf("reply %+v; want ok for c1", reply)
	}
	g.pulses(t, 2)
	got := admissions(t, s)(1)
	if len(got) != 1 || got[0].Method != sgpb.Method_METHOD_MANUAL || got[0].Operator != "王五" || got[0].Note != "轮椅" {
		t.Errorf("ADMISSIONS got %v; want the manual open by 王五", got)
	}
	// Heartbeats arrive.
	sub, _ := nc.SubscribeSync(bus.StatusSubject("west-1"))
	m, err := sub.NextMsg(waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	st := &sgpb.GateStatus{}
	proto.Unmarshal(m.Data, st)
	if st.GateId != "west-1" || st.Mode != ModeFaceOrQR {
		t.Errorf("heartbeat %+v", st)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "http-1", nil)
	id, _ := enrollTicket(t, s, "o-http", "obama.jpg", "day_pass")
	waitInGallery(t, g, id)
	l := g.node.NewLane()
	defer l.Close()
	if out := show(t, l, "obama2.jpg", 5); out == nil || !out.Allow {
		t.Fatalf("decision %+v; want allow", out)
	}
	srv := httptest.NewServer(g.node.Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || st["gateId"] != "http-1" || st["gallerySize"] != "1" {
		t.Errorf("healthz: %d %v; want 200 for gate http-1 with 1 ticket", resp.StatusCode, st)
	}
	// Once frames stop coming, the gate reports it and is unhealthy.
	g.node.frames.mu.Lock()
	g.node.frames.last = time.Now().Add(-time.Minute)
	g.node.frames.mu.Unlock()
	resp, err = http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz a minute after the last frame: %d; want 503", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`scenicgate_gate_decisions_total{decision="DECISION_ALLOW",method="METHOD_FACE",reason="ok"} 1`,
		"scenicgate_gate_gallery_tickets 1",
		"scenicgate_gate_decision_seconds_count 1",
		"scenicgate_gate_tracks_total 1",
		"scenicgate_gate_tickets_other_alignment 0",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
