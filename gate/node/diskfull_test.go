package node

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestFullDiskKeepsEveryDecision caps the gate's database at its size, so
// that SQLite refuses writes as on a full disk, and keeps deciding. Every
// decision must still reach ADMISSIONS, once; the fault must show in
// /healthz (503) and in the heartbeat; with --disk-full-policy deny the
// lane refuses while it cannot record. Once the disk takes writes again,
// the decisions held in memory are written to the outbox and the fault
// clears.
func TestFullDiskKeepsEveryDecision(t *testing.T) {
	for _, policy := range []string{"allow", "deny"} {
		t.Run(policy, func(t *testing.T) {
			s := startSite(t)
			gate := "full-" + policy
			g := startGate(t, s, gate, func(c *Config) { c.DiskFullPolicy = policy })
			id, _ := enrollTicket(t, s, "o-full-"+policy, "", "day_pass")
			eventually(t, waitLimit, "ticket reaches the gate", func() bool { return held(g.node, id) })
			next := admissions(t, s)
			nc, _ := s.nats.ConnectAs(t, bus.Admin())
			heartbeats, err := nc.SubscribeSync(bus.StatusSubject(gate))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			decide := func() Outcome {
				t.Helper()
				out, err := g.node.Decide(ctx, Identified{TicketID: id, Method: sgpb.Method_METHOD_FACE, Distance: 0.3, Frames: 2})
				if err != nil {
					t.Fatalf("a decision with a full disk: %v; want it kept, not an error", err)
				}
				return out
			}

			if err := g.node.store.LimitSize(ctx, true); err != nil {
				t.Fatal(err)
			}
			var decided []string
			allowed := 0
			for !g.node.unrecorded.failing() {
				if len(decided) == 200 {
					t.Fatal("200 decisions fit into a database capped at its size")
				}
				out := decide()
				if !out.Allow {
					t.Fatalf("decision %d, as the disk filled: %s; want allowed", len(decided)+1, out.Reason)
				}
				decided = append(decided, out.Admission.EventId)
				allowed++
			}
			t.Logf("the database refused the %d. decision", len(decided))
			for range 3 {
				out := decide()
				decided = append(decided, out.Admission.EventId)
				switch {
				case policy == "allow" && !out.Allow:
					t.Errorf("decision with a full disk under policy allow: %s; want allowed", out.Reason)
				case policy == "deny" && (out.Allow || out.Reason != ReasonNotRecorded):
					t.Errorf("decision with a full disk under policy deny: allow %v, %s; want deny %s", out.Allow, out.Reason, ReasonNotRecorded)
				}
				if out.Allow {
					allowed++
				}
			}
			if n := relayPulses(g); n != uint64(allowed) {
				t.Errorf("the relay gave %d pulses; want one per allowed decision, %d", n, allowed)
			}

			st := g.node.Status(ctx)
			if !hasFault(st, "disk: full") {
				t.Errorf("status faults %q; want the full disk reported", st.Faults)
			}
			srv := httptest.NewServer(g.node.Handler())
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			var health struct{ Faults []string }
			json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(strings.Join(health.Faults, "\n"), "disk: full") {
				t.Errorf("healthz with a full disk: %d %q; want 503 naming the disk", resp.StatusCode, health.Faults)
			}
			eventually(t, waitLimit, "a heartbeat reports the full disk", func() bool {
				m, err := heartbeats.NextMsg(waitLimit)
				if err != nil {
					t.Fatal(err)
				}
				hb := &sgpb.GateStatus{}
				proto.Unmarshal(m.Data, hb)
				return hasFault(hb, "disk: full")
			})

			// Every decision reaches the stream, those the disk refused
			// straight from memory.
			got := next(len(decided))
			if len(got) != len(decided) {
				t.Fatalf("ADMISSIONS holds %d decisions; want all %d", len(got), len(decided))
			}
			var ids []string
			for _, a := range got {
				ids = append(ids, a.EventId)
			}
			slices.Sort(ids)
			if want := slices.Sorted(slices.Values(decided)); !slices.Equal(ids, want) {
				t.Errorf("ADMISSIONS holds %v; want %v", ids, want)
			}

			// The disk takes writes again.
			if err := g.node.store.LimitSize(ctx, false); err != nil {
				t.Fatal(err)
			}
			eventually(t, waitLimit, "the held decisions are written and the fault clears", func() bool {
				return !g.node.unrecorded.failing() && !hasFault(g.node.Status(ctx), "disk:")
			})
			ids, err = g.node.store.EventIDs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(ids, " ") != strings.Join(decided, " ") {
				t.Errorf("the outbox holds %v; want every decision, %v", ids, decided)
			}
			if d, _ := g.node.store.OutboxDepth(ctx); d != 0 {
				t.Errorf("outbox depth %d; want 0: the held decisions were published already", d)
			}
			if n := streamMessages(t, s, bus.StreamAdmissions); n != len(decided) {
				t.Errorf("ADMISSIONS holds %d messages; want %d, each decision once", n, len(decided))
			}
		})
	}
}

// streamMessages returns how many messages stream holds.
func streamMessages(t testing.TB, s *site, stream string) int {
	t.Helper()
	_, js := s.bus.Connect(t)
	st, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Msgs)
}
