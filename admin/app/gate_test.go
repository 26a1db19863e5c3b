package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/gate/node"
	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// laneGate is a real gate on one lane, its relay a simulated board on a
// pseudo-terminal, for the tests that act on gates from admin.
type laneGate struct {
	Gate string
	Sim  *relaysim.Sim // what reached the relay board
	Node *node.Node
}

// startLaneGate starts the gate program's node for gate against the test's
// NATS server; it stops when the test ends.
func startLaneGate(t *testing.T, e *env, gate string) *laneGate {
	t.Helper()
	sim, err := relaysim.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	cfg := node.DefaultConfig()
	cfg.ID, cfg.Data, cfg.Listen = gate, t.TempDir(), ""
	cfg.NATS = e.nats.Options(t, bus.Gate(gate))
	cfg.TrustEnroll = qrtoken.MarshalPublicKey(e.enrollKey.PublicKey())
	cfg.TrustAdmin = qrtoken.MarshalPublicKey(e.admin.PublicKey())
	cfg.Relay = "lcus:" + sim.Path()
	cfg.Pulse = relay.MinPulse
	cfg.StatusEvery = time.Second
	r, err := relay.Open(cfg.Relay, relay.Options{Logger: slog.New(slog.DiscardHandler), Pulse: cfg.Pulse})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(context.Background(), cfg, node.Parts{Engine: faceEngine(t), Relay: r}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return &laneGate{Gate: gate, Sim: sim, Node: n}
}

// manualOpens returns the manual admissions in the ADMISSIONS stream.
func manualOpens(t *testing.T, js jetstream.JetStream) []*sgpb.Admission {
	t.Helper()
	ctx := context.Background()
	c, err := js.OrderedConsumer(ctx, bus.StreamAdmissions, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*sgpb.Admission
	for {
		batch, err := c.Fetch(100, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			a := &sgpb.Admission{}
			if proto.Unmarshal(m.Data(), a) == nil && a.Method == sgpb.Method_METHOD_MANUAL {
				out = append(out, a)
			}
		}
		if n == 0 {
			return out
		}
	}
}

// TestManualOpenIsSignedAndAudited opens a real gate from admin, then tries
// what someone holding admin's NATS credentials but not its signing key
// could: the gate refuses, and admin shows the refusal.
func TestManualOpenIsSignedAndAudited(t *testing.T) {
	e := newEnv(t, envOptions{})
	lane := startLaneGate(t, e, "lane-1")
	ctx := context.Background()
	waitFor(t, "the gate's heartbeat", func() bool {
		gates, _ := e.admin.Service().Gates(ctx)
		return len(gates) == 1 && gates[0].Online
	})
	wang := service.Actor{Name: "wang", Role: store.Operator, IP: "10.0.0.7"}
	if _, err := e.admin.Service().CommandGate(ctx, wang, "lane-1", "open", "轮椅通道"); err != nil {
		t.Fatalf("manual open: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := lane.Sim.WaitEvents(wctx, 3); err != nil {
		t.Fatalf("relay board: %v", err)
	}
	audit, _, err := e.admin.Store().Audit(ctx, store.AuditFilter{Action: service.ActionGateOpen})
	if err != nil || len(audit) != 1 || audit[0].Actor != "wang" || audit[0].Target != "lane-1" || !audit[0].OK {
		t.Fatalf("audit of the open: %+v, %v; want one row by wang for lane-1", audit, err)
	}
	var opens []*sgpb.Admission
	waitFor(t, "the gate's record of the opening", func() bool { opens = manualOpens(t, e.js); return len(opens) == 1 })
	if opens[0].Operator != "wang" {
		t.Errorf("the gate recorded operator %q; want wang", opens[0].Operator)
	}

	// A command signed with another key, on admin's own connection rights.
	intruder, err := signed.LoadOrCreateSigner(filepath.Join(t.TempDir(), "intruder.key"))
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := intruder.SignMessage(signed.GateCommand, &sgpb.GateCommand{CommandId: "x", Kind: sgpb.CommandKind_COMMAND_KIND_OPEN,
		Operator: "wang", GateId: "lane-1", AtMs: time.Now().UnixMilli(), Nonce: make([]byte, 16)}, time.Now())
	nc, _ := e.nats.ConnectAs(t, bus.Admin())
	msg, err := nc.Request(bus.CommandSubject("lane-1"), forged, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var reply sgpb.GateCommandReply
	proto.Unmarshal(msg.Data, &reply)
	if reply.Ok {
		t.Fatalf("a forged command was done: %+v", &reply)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(lane.Sim.Events()); n != 3 {
		t.Errorf("the relay received %d commands; want the 3 of the one real open", n)
	}
	waitFor(t, "the refusal shown in admin", func() bool {
		gates, _ := e.admin.Service().Gates(ctx)
		return len(gates) == 1 && gates[0].Faulty() && strings.Contains(strings.Join(gates[0].Faults, " "), "refused command")
	})
}
