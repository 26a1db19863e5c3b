package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/gate/node"
	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
	"github.com/scenicgate/scenicgate/internal/bus"
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
