package node

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/disk"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Version is reported in the heartbeat.
var Version = "dev"

// Status returns the gate's state as the heartbeat reports it.
func (n *Node) Status(ctx context.Context) *sgpb.GateStatus {
	now := n.now()
	rs := n.relay.State()
	depth, oldest, _ := n.store.Outbox(ctx)
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
	c, source := n.threshold.get()
	st.Threshold, st.ThresholdSource, st.ThresholdGallery = c.Threshold, source, int64(c.Gallery)
	st.ImpostorPairs, st.ExpectedFpir = int64(c.Pairs), c.ExpectedFPIR
	if !n.fixedThreshold {
		st.TargetFpir = n.cfg.TargetFPIR
	}
	fs := n.frames.snapshot(now)
	st.Fps = float32(fs.fps)
	if !fs.last.IsZero() {
		st.LastFrameAgeMs = now.Sub(fs.last).Milliseconds()
	}
	st.Faults = n.faults(rs, fs, depth, oldest)
	return st
}

// outboxLate is how long an admission may wait in the outbox, NATS being
// reachable, before the gate reports it.
const outboxLate = time.Minute

// faults lists what staff should look at, in words they can act on.
func (n *Node) faults(rs relay.State, fs frameSnapshot, depth int, oldest time.Time) []string {
	var f []string
	if rs.Status == relay.Faulty {
		f = append(f, fmt.Sprintf("relay: %v", rs.Err))
	}
	if fs.fault != "" {
		f = append(f, "camera: "+fs.fault)
	} else if fs.last.IsZero() || n.now().Sub(fs.last) > 5*time.Second {
		f = append(f, "camera: no frames")
	}
	now := n.now()
	if !n.online() {
		f = append(f, "nats: disconnected; deciding offline")
	} else {
		f = append(f, n.jetstream.faults(now, n.cfg.ClaimWait)...)
		if !n.mirror.Synced() {
			f = append(f, "mirror: catching up")
		}
	}
	if c, source := n.threshold.get(); source == ThresholdMeasured && !c.TargetMet {
		f = append(f, fmt.Sprintf("threshold: --target-fpir %g cannot be met with %d tickets: a stranger matches one with chance %.2g at %.3f, the strictest allowed",
			n.cfg.TargetFPIR, c.Gallery, c.ExpectedFPIR, c.Threshold))
	}
	if fault := n.unrecorded.fault(now); fault != "" {
		f = append(f, fault)
	}
	if fault := disk.Fault(n.cfg.Data); fault != "" {
		f = append(f, fault)
	}
	if depth > 0 && now.Sub(oldest) > outboxLate {
		f = append(f, fmt.Sprintf("outbox: %d admissions not yet published, the oldest decided %v ago",
			depth, now.Sub(oldest).Round(time.Second)))
	}
	// What the gate refused from the bus: a forgery, a replay, or enroll or
	// admin signing with a key the gate was not installed with.
	return append(f, n.refusals.Faults()...)
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
