package node

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Version is reported in the heartbeat.
var Version = "dev"

// Status returns the gate's state as the heartbeat reports it.
func (n *Node) Status(ctx context.Context) *sgpb.GateStatus {
	now := n.now()
	rs := n.relay.State()
	depth, _ := n.store.OutboxDepth(ctx)
	tickets, _ := n.gallery.Len()
	st := &sgpb.GateStatus{
		GateId:              n.cfg.ID,
		Zone:                n.cfg.Zone,
		AtMs:                now.UnixMilli(),
		Mode:                n.cfg.Mode,
		Relay:               rs.Status.String(),
		RelayOk:             rs.Status != relay.Faulty,
		MirrorRevision:      n.mirror.Revision(),
		MirrorLag:           n.mirror.Lag(),
		OutboxDepth:         int64(depth),
		GallerySize:         int64(tickets),
		StartedAtMs:         n.startedAt.UnixMilli(),
		Version:             Version,
		FaceModel:           n.model.Name,
		TicketsWithoutModel: int64(n.mirror.WithoutModel()),
	}
	fs := n.frames.snapshot(now)
	st.Fps = float32(fs.fps)
	if !fs.last.IsZero() {
		st.LastFrameAgeMs = now.Sub(fs.last).Milliseconds()
	}
	st.Faults = n.faults(rs, fs, depth)
	return st
}

// faults lists what staff should look at, in words they can act on.
func (n *Node) faults(rs relay.State, fs frameSnapshot, depth int) []string {
	var f []string
	if rs.Status == relay.Faulty {
		f = append(f, fmt.Sprintf("relay: %v", rs.Err))
	}
	if fs.fault != "" {
		f = append(f, "camera: "+fs.fault)
	} else if fs.last.IsZero() || n.now().Sub(fs.last) > 5*time.Second {
		f = append(f, "camera: no frames")
	}
	if !n.online() {
		f = append(f, "nats: disconnected; deciding offline")
	} else if !n.mirror.Synced() {
		f = append(f, "mirror: catching up")
	}
	if depth > 1000 {
		f = append(f, fmt.Sprintf("outbox: %d admissions not yet published", depth))
	}
	return f
}

// statusLoop publishes the heartbeat on gates.<id>.status.
func (n *Node) statusLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.StatusEvery)
	defer t.Stop()
	for {
		if n.online() {
			if b, err := proto.Marshal(n.Status(ctx)); err == nil {
				n.nc.Publish(bus.StatusSubject(n.cfg.ID), b)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// listenCommands answers staff commands on gates.<id>.command. The
// subscription survives reconnects; commands sent while the gate is away are
// not queued, since opening a turnstile minutes late would be wrong.
func (n *Node) listenCommands() error {
	_, err := n.nc.Subscribe(bus.CommandSubject(n.cfg.ID), func(m *nats.Msg) {
		reply := n.command(m.Data)
		b, _ := proto.Marshal(reply)
		if m.Reply != "" {
			m.Respond(b)
		}
	})
	return err
}

func (n *Node) command(data []byte) *sgpb.GateCommandReply {
	cmd := &sgpb.GateCommand{}
	if err := proto.Unmarshal(data, cmd); err != nil {
		return &sgpb.GateCommandReply{Error: "undecodable command"}
	}
	reply := &sgpb.GateCommandReply{CommandId: cmd.CommandId}
	n.log.Info("staff command", "kind", cmd.Kind.String(), "operator", cmd.Operator, "reason", cmd.Reason, "command", cmd.CommandId)
	switch cmd.Kind {
	case sgpb.CommandKind_COMMAND_KIND_OPEN:
		if err := n.ManualOpen(context.Background(), cmd.Operator, cmd.Reason); err != nil {
			reply.Error = err.Error()
			return reply
		}
	case sgpb.CommandKind_COMMAND_KIND_RELOAD:
		n.mirror.Refresh()
	default:
		reply.Error = "unknown command"
		return reply
	}
	reply.Ok = true
	return reply
}

// ManualOpen pulses the relay for staff (a wheelchair, a pram, a fault) and
// records it as a manual admission naming the operator and reason.
func (n *Node) ManualOpen(ctx context.Context, operator, reason string) error {
	if operator == "" {
		return fmt.Errorf("a manual open needs the operator's name")
	}
	now := n.now()
	out := Outcome{Allow: true, Reason: ReasonManual}
	a := n.admission(Identified{Method: sgpb.Method_METHOD_MANUAL}, out, now)
	a.Operator, a.Note = operator, reason
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := n.relay.Pulse(pctx, n.cfg.Pulse)
	cancel()
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	return n.record(ctx, a, "", n.siteRules().Day(now).String(), out)
}
