package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	sitecfg "github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// passbackSite starts a site whose gates refuse a ticket inside for window.
func passbackSite(t *testing.T, window time.Duration) *site {
	t.Helper()
	s := startSite(t)
	s.settings = saveSettings(t, s.bus, s.admin, func(st *sitecfg.Settings) { st.PassbackWindow = sitecfg.Duration(window) })
	return s
}

// decideByQR decides on a ticket's QR code at a gate, as the lane does once
// it has read and verified the code.
func decideByQR(t *testing.T, g *lane, id string) Outcome {
	t.Helper()
	out, err := g.node.Decide(context.Background(), Identified{TicketID: id, Method: sgpb.Method_METHOD_QR, Frames: 1,
		TokenID: entitlement(t, g.node, id).QrTokenId, CapturedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// presenceMark reads a ticket's mark in the PRESENCE bucket; nil for none.
func presenceMark(t *testing.T, s *site, id string) *sgpb.Presence {
	t.Helper()
	_, js := s.bus.Connect(t)
	kv, err := js.KeyValue(context.Background(), bus.BucketPresence)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), id)
	if err != nil {
		return nil
	}
	p := &sgpb.Presence{}
	if err := proto.Unmarshal(e.Value(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAntiPassback lets a day pass in at one entry, by face, then shows the
// same pass — its QR code, the same face — at another entry: refused
// already_inside, and the turnstile stays shut. After the holder leaves
// through an exit the pass enters again.
func TestAntiPassback(t *testing.T) {
	s := passbackSite(t, time.Hour)
	in1 := startGate(t, s, "in-1", nil)
	in2 := startGate(t, s, "in-2", nil)
	out := startGate(t, s, "out-1", func(c *Config) { c.Direction = "exit" })
	id, _ := enrollTicket(t, s, "o-passback", "obama.jpg", "day_pass")
	for _, g := range []*lane{in1, in2, out} {
		waitInGallery(t, g, id)
	}

	l1 := in1.node.NewLane()
	defer l1.Close()
	if got := show(t, l1, "obama2.jpg", 5); got == nil || !got.Allow || got.Admission.TicketId != id {
		t.Fatalf("first entry by face at in-1: %+v; want allowed", got)
	}
	in1.pulses(t, 2)
	if p := presenceMark(t, s, id); p == nil || !p.Inside || p.GateId != "in-1" {
		t.Fatalf("presence after the entry: %v; want inside, marked by in-1", p)
	}

	// The same pass at the other entry, by QR code and by face.
	if got := decideByQR(t, in2, id); got.Allow || got.Reason != ReasonAlreadyInside {
		t.Errorf("QR code at in-2 while inside: allow %v, reason %s; want deny %s", got.Allow, got.Reason, ReasonAlreadyInside)
	}
	l2 := in2.node.NewLane()
	defer l2.Close()
	if got := show(t, l2, "obama3.jpg", 5); got == nil || got.Allow || got.Reason != ReasonAlreadyInside {
		t.Errorf("face at in-2 while inside: %+v; want deny %s", got, ReasonAlreadyInside)
	}
	// And at the first entry again, after its cooldown.
	if got := decideByQR(t, in1, id); got.Allow || got.Reason != ReasonAlreadyInside {
		t.Errorf("QR code at in-1 while inside: allow %v, reason %s; want deny %s", got.Allow, got.Reason, ReasonAlreadyInside)
	}
	if n := len(in2.sim.Events()) - in2.base; n != 0 {
		t.Errorf("in-2's relay received %d commands; want none", n)
	}

	// Out through the exit, and in again.
	lo := out.node.NewLane()
	defer lo.Close()
	if got := show(t, lo, "obama.jpg", 5); got == nil || !got.Allow || got.Admission.Direction != sgpb.Direction_DIRECTION_EXIT {
		t.Fatalf("exit: %+v; want let out", got)
	}
	if p := presenceMark(t, s, id); p == nil || p.Inside || p.GateId != "out-1" {
		t.Fatalf("presence after the exit: %v; want outside, marked by out-1", p)
	}
	if got := decideByQR(t, in2, id); !got.Allow {
		t.Errorf("QR code at in-2 after the exit: %s; want allowed", got.Reason)
	}
	in2.pulses(t, 2)
}

// TestAntiPassbackTwoGatesAtOnce has two entries decide on one day pass at
// the same moment: the compare-and-set lets exactly one of them in.
func TestAntiPassbackTwoGatesAtOnce(t *testing.T) {
	s := passbackSite(t, time.Hour)
	a := startGate(t, s, "race-a", nil)
	b := startGate(t, s, "race-b", nil)
	for round := range 5 {
		id, _ := enrollTicket(t, s, "o-race-"+string(rune('a'+round)), "", "day_pass")
		eventually(t, waitLimit, "ticket reaches both gates", func() bool { return held(a.node, id) && held(b.node, id) })
		var wg sync.WaitGroup
		outs := make([]Outcome, 2)
		for i, g := range []*lane{a, b} {
			wg.Go(func() { outs[i] = decideByQR(t, g, id) })
		}
		wg.Wait()
		allowed := 0
		for _, o := range outs {
			if o.Allow {
				allowed++
			} else if o.Reason != ReasonAlreadyInside {
				t.Errorf("round %d: a refusal with %s; want %s", round, o.Reason, ReasonAlreadyInside)
			}
			if o.Offline {
				t.Errorf("round %d: decided offline with NATS up", round)
			}
		}
		if allowed != 1 {
			t.Fatalf("round %d: %d gates let the pass in at once; want exactly 1", round, allowed)
		}
	}
}

// TestAntiPassbackWindowEnds lets a pass in, and lets it in again once the
// passback window has passed without an exit: a visitor who left where
// there is no exit gate is not refused for ever.
func TestAntiPassbackWindowEnds(t *testing.T) {
	const window = 3 * time.Second
	s := passbackSite(t, window)
	a := startGate(t, s, "window-a", nil)
	b := startGate(t, s, "window-b", nil)
	id, _ := enrollTicket(t, s, "o-window", "", "day_pass")
	eventually(t, waitLimit, "ticket reaches both gates", func() bool { return held(a.node, id) && held(b.node, id) })
	first := decideByQR(t, a, id)
	if !first.Allow {
		t.Fatalf("first entry: %s; want allowed", first.Reason)
	}
	if got := decideByQR(t, b, id); got.Allow {
		t.Fatal("second entry within the window was allowed")
	}
	time.Sleep(window - time.Since(time.UnixMilli(first.Admission.AtMs)) + 200*time.Millisecond)
	if got := decideByQR(t, b, id); !got.Allow {
		t.Errorf("entry after the window: %s; want allowed", got.Reason)
	}
}

// TestAntiPassbackRefusedClaimTakesTheMarkBack brings a used single-use
// ticket to an entry: anti-passback lets it past (its holder went out), the
// claim refuses it, and the mark is put back to outside, so the refusal
// leaves no one counted inside.
func TestAntiPassbackRefusedClaimTakesTheMarkBack(t *testing.T) {
	s := passbackSite(t, time.Hour)
	a := startGate(t, s, "single-a", nil)
	b := startGate(t, s, "single-b", nil)
	x := startGate(t, s, "single-x", func(c *Config) { c.Direction = "exit" })
	id, _ := enrollTicket(t, s, "o-single-pb", "", "single")
	eventually(t, waitLimit, "ticket reaches the gates", func() bool { return held(a.node, id) && held(b.node, id) && held(x.node, id) })
	if got := decideByQR(t, a, id); !got.Allow {
		t.Fatalf("entry: %s; want allowed", got.Reason)
	}
	if got := decideByQR(t, x, id); !got.Allow {
		t.Fatalf("exit: %s; want let out", got.Reason)
	}
	if got := decideByQR(t, b, id); got.Allow || got.Reason != rules.AlreadyUsed {
		t.Fatalf("the used ticket again: allow %v, %s; want deny %s", got.Allow, got.Reason, rules.AlreadyUsed)
	}
	if p := presenceMark(t, s, id); p == nil || p.Inside {
		t.Errorf("presence after the refused entry: %v; want outside, as the exit left it", p)
	}
}

// TestAntiPassbackOffline stops NATS after a pass entered at gate A: A
// still knows the holder is inside and refuses the pass; gate B, which never
// saw it, admits it and flags the admission offline for review.
func TestAntiPassbackOffline(t *testing.T) {
	s := passbackSite(t, time.Hour)
	a := startGate(t, s, "off-a", nil)
	b := startGate(t, s, "off-b", nil)
	id, _ := enrollTicket(t, s, "o-off-pb", "", "day_pass")
	eventually(t, waitLimit, "ticket reaches both gates", func() bool { return held(a.node, id) && held(b.node, id) })
	if got := decideByQR(t, a, id); !got.Allow || got.Offline {
		t.Fatalf("online entry at A: allow %v offline %v; want allowed online", got.Allow, got.Offline)
	}
	s.nats.Stop()
	eventually(t, waitLimit, "gates notice NATS is gone", func() bool { return !a.node.online() && !b.node.online() })
	if got := decideByQR(t, a, id); got.Allow || got.Reason != ReasonAlreadyInside || !got.Offline {
		t.Errorf("offline at A: allow %v, %s, offline %v; want deny %s, flagged offline", got.Allow, got.Reason, got.Offline, ReasonAlreadyInside)
	}
	if got := decideByQR(t, b, id); !got.Allow || !got.Offline || !got.Admission.Offline {
		t.Errorf("offline at B: allow %v, %s, offline %v; want allowed and flagged offline", got.Allow, got.Reason, got.Offline)
	}
	s.nats.Start()
}
