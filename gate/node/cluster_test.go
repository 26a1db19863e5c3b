package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	adminapp "github.com/scenicgate/scenicgate/admin/app"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/signed"
	sitecfg "github.com/scenicgate/scenicgate/internal/site"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// checking samples a gate's status until stop is closed and reports
// whether it ever said it was checking a claim with JetStream.
func checking(n *Node, stop <-chan struct{}) <-chan bool {
	seen := make(chan bool, 1)
	go func() {
		saw := false
		for {
			saw = saw || hasFault(n.Status(context.Background()), "claims: checking")
			select {
			case <-stop:
				seen <- saw
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return seen
}

// decideTimed decides an identification of ticket at n and says how long
// the decision took.
func decideTimed(t *testing.T, n *Node, ticket string) (Outcome, time.Duration) {
	t.Helper()
	start := time.Now()
	out, err := n.Decide(context.Background(), Identified{TicketID: ticket, Method: sgpb.Method_METHOD_FACE, Distance: 0.3, Frames: 2})
	if err != nil {
		t.Fatal(err)
	}
	return out, time.Since(start)
}

// newLeader waits until a node other than old leads stream, as seen from
// js, and returns it.
func newLeader(t *testing.T, c *bustest.Cluster, js jetstream.JetStream, stream string, old *bustest.Server) *bustest.Server {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if l := c.Leader(t, js, stream); l != old {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new leader for %s within %v", stream, waitLimit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterLosesNodes runs enroll, admin and two gates with three
// replicas on a three-node cluster of the nats-server go.mod pins.
//
//   - The node leading KV_REDEMPTIONS is killed while both gates claim the
//     same single-use ticket: the claims wait for the new leader ("checking")
//     and exactly one gate admits; neither decides offline.
//   - With two nodes, enrollment, sync, revoke, claims and admin's ingest go
//     on.
//   - A second node dies and JetStream loses its quorum: a claim waits
//     --claim-wait, then the gate decides offline and reports JetStream
//     unavailable, and decides offline at once after that; enroll's and the
//     gate's /healthz answer 503 naming JetStream.
//   - The nodes return, and everything decided meanwhile reaches admin.
func TestClusterLosesNodes(t *testing.T) {
	c := bustest.StartCluster(t, 3)
	_, obs := c.Connect(t)
	s := startSiteWith(t, c, engine)
	adminData := t.TempDir()
	var err error
	if s.admin, err = signed.LoadOrCreateSigner(adminapp.SigningKeyPath(adminData)); err != nil {
		t.Fatal(err)
	}
	// The gates trust the admin program's key: the settings again, signed
	// with it.
	s.settings = saveSettings(t, c, s.admin, func(st *sitecfg.Settings) { st.PassbackWindow = 0 })
	acfg := adminapp.DefaultConfig()
	acfg.Data, acfg.NATS = adminData, c.Options(t, bus.Admin())
	admin, err := adminapp.New(context.Background(), acfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	a := startGate(t, s, "east-1", nil)
	b := startGate(t, s, "east-2", nil)
	var tickets []string
	for _, order := range []string{"o-c1", "o-c2", "o-c3", "o-c4", "o-c5"} {
		id, _ := enrollTicket(t, s, order, "", "single")
		tickets = append(tickets, id)
	}
	for _, id := range tickets {
		eventually(t, waitLimit, "ticket "+id+" reaches both gates", func() bool { return held(a.node, id) && held(b.node, id) })
	}
	ctx := context.Background()
	adminCount := func() int {
		list, err := admin.Store().RecentAdmissions(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}

	// 1. The REDEMPTIONS leader dies while both gates claim one ticket.
	leader := c.Leader(t, obs, "KV_REDEMPTIONS")
	_, survivor := c.Node(otherThan(c, leader)).Connect(t)
	t.Logf("killing %s, the leader of KV_REDEMPTIONS", leader.Name)
	leader.Kill()
	killed := time.Now()
	election := make(chan string, 1)
	go func() {
		elected := newLeader(t, c, survivor, "KV_REDEMPTIONS", leader)
		election <- fmt.Sprintf("%s after %v", elected.Name, time.Since(killed).Round(100*time.Millisecond))
	}()
	stop := make(chan struct{})
	sawA, sawB := checking(a.node, stop), checking(b.node, stop)
	var outs [2]Outcome
	var took [2]time.Duration
	var wg sync.WaitGroup
	for i, g := range []*lane{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); outs[i], took[i] = decideTimed(t, g.node, tickets[0]) }()
	}
	wg.Wait()
	close(stop)
	checked := <-sawA || <-sawB
	t.Logf("a new leader: %s; the claims waited %v and %v", <-election, took[0].Round(10*time.Millisecond), took[1].Round(10*time.Millisecond))
	allowed := 0
	for i, out := range outs {
		if out.Offline {
			t.Errorf("gate %d decided offline (%s) with two of three nodes up", i+1, out.Reason)
		}
		if out.Allow {
			allowed++
		} else if out.Reason != rules.AlreadyUsed {
			t.Errorf("gate %d: %s; want already_used for the gate that lost the claim", i+1, out.Reason)
		}
	}
	if allowed != 1 {
		t.Fatalf("%d gates admitted the single-use ticket while REDEMPTIONS elected a leader; want exactly 1", allowed)
	}
	if max(took[0], took[1]) > time.Second && !checked {
		t.Error("a claim waited over a second and neither gate's status said it was checking")
	}

	// 2. With two nodes up, everything goes on.
	fresh, _ := enrollTicket(t, s, "o-c6", "", "single")
	eventually(t, waitLimit, "a ticket enrolled now reaches both gates", func() bool { return held(a.node, fresh) && held(b.node, fresh) })
	revoke(t, s, tickets[1])
	eventually(t, waitLimit, "the revoke reaches both gates", func() bool {
		ea, eb := entitlement(t, a.node, tickets[1]), entitlement(t, b.node, tickets[1])
		return ea != nil && ea.Revoked && eb != nil && eb.Revoked
	})
	if out, _ := decideTimed(t, a.node, tickets[2]); !out.Allow || out.Offline {
		t.Errorf("a claim with two nodes up: %s, offline %v; want allowed online", out.Reason, out.Offline)
	}
	if out, _ := decideTimed(t, b.node, tickets[2]); out.Allow || out.Reason != rules.AlreadyUsed {
		t.Errorf("the same ticket at the other gate: %s; want already_used", out.Reason)
	}
	eventually(t, waitLimit, "admin takes in the four decisions", func() bool { return adminCount() == 4 })
	eventually(t, waitLimit, "admin's mirror takes in the new ticket", func() bool {
		_, err := admin.Store().Entitlement(ctx, fresh)
		return err == nil
	})

	// 3. A second node dies: no quorum.
	second := c.Node(otherThan(c, leader))
	t.Logf("killing %s too: no quorum", second.Name)
	second.Kill()
	eventually(t, waitLimit, "enroll's /healthz reports JetStream unavailable", func() bool {
		code, faults := healthz(t, s.enroll.Handler())
		return code == http.StatusServiceUnavailable && strings.Contains(faults, "JetStream unavailable")
	})
	stop = make(chan struct{})
	saw := checking(a.node, stop)
	out, waited := decideTimed(t, a.node, tickets[3])
	close(stop)
	t.Logf("without quorum the claim waited %v (--claim-wait %v), then decided offline", waited.Round(10*time.Millisecond), DefaultClaimWait)
	if !out.Offline || !out.Allow {
		t.Errorf("a claim without quorum: allow %v, %s, offline %v; want allowed offline (--offline-policy allow)", out.Allow, out.Reason, out.Offline)
	}
	if waited < DefaultClaimWait || !<-saw {
		t.Errorf("the claim waited %v, checking seen %v; want --claim-wait (%v) with the status checking", waited, <-saw, DefaultClaimWait)
	}
	if !hasFault(a.node.Status(ctx), "nats: JetStream unavailable") {
		t.Errorf("gate faults %q; want JetStream unavailable", a.node.Status(ctx).Faults)
	}
	if code, faults := healthz(t, a.node.Handler()); code != http.StatusServiceUnavailable || !strings.Contains(faults, "JetStream") {
		t.Errorf("the gate's /healthz without quorum: %d %s; want 503 naming JetStream", code, faults)
	}
	if out, took := decideTimed(t, a.node, fresh); !out.Offline || took > DefaultClaimWait/2 {
		t.Errorf("the next claim: offline %v after %v; want offline at once", out.Offline, took)
	}

	// 4. The nodes return.
	leader.Start()
	second.Start()
	eventually(t, waitLimit, "the gate sees JetStream answer again", func() bool {
		return !hasFault(a.node.Status(ctx), "nats: JetStream")
	})
	eventually(t, waitLimit, "admin takes in the offline decisions", func() bool { return adminCount() == 6 })
}

// otherThan names a node of c other than not.
func otherThan(c *bustest.Cluster, not *bustest.Server) string {
	for _, n := range c.Nodes {
		if n != not && n.Name != "" {
			return n.Name
		}
	}
	return ""
}

// healthz asks h for /healthz and returns the status and the faults named.
func healthz(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Faults []string }
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, strings.Join(body.Faults, "\n")
}
