package ingest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// subscribeStatus keeps each gate's latest heartbeat until ctx ends. Core
// NATS subscriptions survive reconnects by themselves; heartbeats sent
// while admin is away are simply missed, the next one replaces them. When
// no heartbeat has come for StallAfter, it checks that the server still
// answers — one that hangs delivers nothing and says nothing — and
// subscribes again once the connection is made anew.
func (i *Ingester) subscribeStatus(ctx context.Context) error {
	p := newProgress(0)
	sub, err := i.nc.Subscribe(bus.StatusSubjects, func(m *nats.Msg) {
		p.touch()
		i.storeStatus(ctx, m)
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", bus.StatusSubjects, err)
	}
	defer sub.Unsubscribe()
	t := time.NewTicker(i.opts.StallAfter)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if p.idle() < i.opts.StallAfter {
			continue
		}
		if err := bus.CheckConnection(i.nc, 2*time.Second, i.log); err != nil {
			return fmt.Errorf("%w: gate heartbeats: %w", errStalled, err)
		}
	}
}

func (i *Ingester) storeStatus(ctx context.Context, m *nats.Msg) {
	var st sgpb.GateStatus
	if err := proto.Unmarshal(m.Data, &st); err != nil {
		i.log.Warn("undecodable gate status", "subject", m.Subject, "err", err)
		return
	}
	if st.GateId == "" {
		// gates.<id>.status
		st.GateId = strings.TrimSuffix(strings.TrimPrefix(m.Subject, "gates."), ".status")
	}
	g := store.GateFromStatus(&st, i.opts.Now())
	if err := i.store.PutGate(ctx, g); err != nil && ctx.Err() == nil {
		i.log.Error("store gate status", "gate", g.ID, "err", err)
		return
	}
	i.hub.Publish(live.Event{Gate: &g})
}
