package node

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// errCrash plays a gate dying between its claim and its record.
var errCrash = errors.New("the gate died here")

// crashAfterClaim makes n's next decision, for ticket, stop as a crash
// would, right after its entry is claimed in REDEMPTIONS.
func crashAfterClaim(t *testing.T, n *Node, ticket string) {
	t.Helper()
	n.afterClaim = func() { panic(errCrash) }
	defer func() {
		n.afterClaim = nil
		if r := recover(); r != errCrash {
			t.Fatalf("the decision went on past its claim (recovered %v)", r)
		}
	}()
	n.Decide(context.Background(), Identified{TicketID: ticket, Method: sgpb.Method_METHOD_FACE, Distance: 0.3, Frames: 2})
}

// claimOf returns the value of a claim in REDEMPTIONS, or nil.
func claimOf(t *testing.T, s *site, key string) []byte {
	t.Helper()
	_, js := s.bus.Connect(t)
	kv, err := js.KeyValue(context.Background(), bus.BucketRedemptions)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return e.Value()
}

// TestAClaimNeverUsedStillAdmitsItsVisitor stops a gate after it claimed a
// ticket's entry and before it recorded the decision or opened the
// turnstile — the visitor was not let in — and starts it again. The claim
// cannot be taken back (REDEMPTIONS refuses it), so the gate must use it:
// the visitor comes in with that entry, once, under the event id the claim
// names; with NATS away at the restart, the offline decision takes the
// claim's event id, so the entry still counts once.
func TestAClaimNeverUsedStillAdmitsItsVisitor(t *testing.T) {
	tests := []struct {
		name, ticketType string
		offline          bool
		// then is what a further visit gets: the next entry, or none.
		then rules.Reason
	}{
		{"single", "single", false, rules.AlreadyUsed},
		{"multi", "multi", false, rules.OK},
		{"single-offline", "single", true, rules.AlreadyUsed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startSite(t)
			sim, err := relaysim.Start(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sim.Close() })
			dir, gate := t.TempDir(), "crash-"+tc.name
			n := openGate(t, s, gate, dir, sim, nil)
			id, _ := enrollTicket(t, s, "o-crash-"+tc.name, "", tc.ticketType)
			eventually(t, waitLimit, "ticket reaches the gate", func() bool { return held(n, id) })
			crashAfterClaim(t, n, id)
			key := bus.RedemptionKey(id, 1)
			claim := claimOf(t, s, key)
			if claim == nil {
				t.Fatal("no claim in REDEMPTIONS after the gate stopped")
			}
			n.Close()
			if n.relay.State().Pulses != 0 {
				t.Fatal("the turnstile opened before the decision was recorded")
			}

			if tc.offline {
				s.nats.Stop()
			}
			n = openGate(t, s, gate, dir, sim, nil)
			ctx := context.Background()
			out, err := n.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_FACE, Distance: 0.3, Frames: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !out.Allow || out.EntryNumber != 1 || out.Offline != tc.offline || !claimedFor(claim, out.Admission.EventId) {
				t.Fatalf("the visitor after the restart: allow %v, %s, entry %d, offline %v, event %s; want entry 1 allowed, offline %v, under the claim's event (%s)",
					out.Allow, out.Reason, out.EntryNumber, out.Offline, out.Admission.EventId, tc.offline, claim)
			}
			if tc.offline {
				s.nats.Start()
			}
			again, err := n.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_FACE, Distance: 0.3, Frames: 2})
			if err != nil {
				t.Fatal(err)
			}
			if again.Reason != tc.then || (tc.then == rules.OK && again.EntryNumber != 2) {
				t.Errorf("the next visit: allow %v, %s, entry %d; want %s", again.Allow, again.Reason, again.EntryNumber, tc.then)
			}
			got := admissions(t, s)(2)
			if len(got) != 2 || got[0].EventId != out.Admission.EventId || got[0].EntryNumber != 1 {
				t.Errorf("ADMISSIONS holds %v; want entry 1 under %s first", got, out.Admission.EventId)
			}
			if c, err := n.store.Claims(ctx); err != nil || len(c) != 0 {
				t.Errorf("claims kept after the visitor came in: %v (%v); want none", c, err)
			}
		})
	}
}

// TestAnOfflineDenialLeavesTheClaim: a gate with --offline-policy deny
// stops after claiming a single-use entry and starts again with NATS away.
// It refuses the visitor offline — and must not count that refusal as the
// claim's use: once NATS is back, the claim admits the visitor.
func TestAnOfflineDenialLeavesTheClaim(t *testing.T) {
	s := startSite(t)
	sim, err := relaysim.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	dir, deny := t.TempDir(), func(c *Config) { c.OfflinePolicy = "deny" }
	n := openGate(t, s, "crash-deny", dir, sim, deny)
	id, _ := enrollTicket(t, s, "o-crash-deny", "", "single")
	eventually(t, waitLimit, "ticket reaches the gate", func() bool { return held(n, id) })
	crashAfterClaim(t, n, id)
	claim := claimOf(t, s, bus.RedemptionKey(id, 1))
	n.Close()

	s.nats.Stop()
	n = openGate(t, s, "crash-deny", dir, sim, deny)
	ctx := context.Background()
	visit := func() Outcome {
		t.Helper()
		out, err := n.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_FACE, Distance: 0.3, Frames: 2})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := visit(); out.Allow || out.Reason != ReasonOfflinePolicy || claimedFor(claim, out.Admission.EventId) {
		t.Fatalf("offline with policy deny: allow %v, %s, event %s; want a denial under an event id of its own",
			out.Allow, out.Reason, out.Admission.EventId)
	}
	s.nats.Start()
	var out Outcome
	eventually(t, waitLimit, "the visitor is admitted with the claim once NATS is back", func() bool {
		out = visit()
		return out.Allow
	})
	if out.EntryNumber != 1 || !claimedFor(claim, out.Admission.EventId) {
		t.Errorf("admitted with entry %d under %s; want entry 1 under the claim's event (%s)", out.EntryNumber, out.Admission.EventId, claim)
	}
}
