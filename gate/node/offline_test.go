package node

import (
	"context"
	"testing"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestOfflinePolicyForASingleUseTicket stops NATS and brings a gate a
// single-use ticket, whose entry must be claimed in REDEMPTIONS so that no
// two gates admit it. With --offline-policy allow the gate admits and flags
// the admission offline for admin's conflict review; with deny it refuses
// with offline_policy and the turnstile stays shut. Either way the decision
// reaches ADMISSIONS once NATS is back.
func TestOfflinePolicyForASingleUseTicket(t *testing.T) {
	tests := []struct {
		policy string
		allow  bool
		reason rules.Reason
		pulses uint64
		// then is the reason of a second try, still offline.
		then rules.Reason
	}{
		// The gate counts its own admissions: the ticket is used up.
		{"allow", true, rules.OK, 1, rules.AlreadyUsed},
		{"deny", false, ReasonOfflinePolicy, 0, ReasonOfflinePolicy},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			s := startSite(t)
			g := startGate(t, s, "offline-"+tc.policy, func(c *Config) { c.OfflinePolicy = tc.policy })
			id, _ := enrollTicket(t, s, "o-offline-"+tc.policy, "", "single")
			eventually(t, waitLimit, "ticket reaches the gate", func() bool { return held(g.node, id) })

			s.nats.Stop()
			eventually(t, waitLimit, "gate notices NATS is gone", func() bool { return !g.node.online() })
			ctx := context.Background()
			decide := func() Outcome {
				t.Helper()
				out, err := g.node.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_FACE, Distance: 0.3, Frames: 2})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			out := decide()
			if out.Allow != tc.allow || out.Reason != tc.reason || !out.Offline || !out.Admission.Offline {
				t.Fatalf("offline decision with policy %s: allow %v, reason %s, offline %v (admission %v); want allow %v, reason %s, flagged offline",
					tc.policy, out.Allow, out.Reason, out.Offline, out.Admission.Offline, tc.allow, tc.reason)
			}
			if n := relayPulses(g); n != tc.pulses {
				t.Errorf("the relay gave %d pulses; want %d", n, tc.pulses)
			}
			if tc.allow {
				g.pulses(t, 2) // the simulator saw the turnstile open and close
			} else if n := len(g.sim.Events()) - g.base; n != 0 {
				t.Errorf("the relay simulator received %d commands; want none", n)
			}
			if again := decide(); again.Allow || again.Reason != tc.then {
				t.Errorf("second try offline: allow %v, reason %s; want deny %s", again.Allow, again.Reason, tc.then)
			}

			s.nats.Start()
			got := admissions(t, s)(2)
			if len(got) != 2 || got[0].EventId != out.Admission.EventId {
				t.Fatalf("ADMISSIONS after the outage: %v; want the two offline decisions, first %s", got, out.Admission.EventId)
			}
			wantDecision := sgpb.Decision_DECISION_DENY
			if tc.allow {
				wantDecision = sgpb.Decision_DECISION_ALLOW
			}
			if a := got[0]; a.Decision != wantDecision || a.Reason != string(tc.reason) || !a.Offline || a.TicketId != id {
				t.Errorf("published admission %v; want %v %s for %s, flagged offline", a, wantDecision, tc.reason, id)
			}
			eventually(t, waitLimit, "outbox empties", func() bool {
				d, _ := g.node.store.OutboxDepth(ctx)
				return d == 0
			})
			_, js := s.nats.Connect(t)
			st, err := js.Stream(ctx, bus.StreamAdmissions)
			if err != nil {
				t.Fatal(err)
			}
			info, err := st.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.State.Msgs != 2 {
				t.Errorf("ADMISSIONS holds %d admissions; want exactly 2", info.State.Msgs)
			}
		})
	}
}
