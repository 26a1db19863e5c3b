package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// subscribeStatus keeps each gate's latest heartbeat until ctx ends. Core
// NATS subscriptions survive reconnects by themselves; heartbeats sent
// while admin is away are simply missed, the next one replaces them.
func (i *Ingester) subscribeStatus(ctx context.Context) error {
	sub, err := i.nc.Subscribe(bus.StatusSubjects, func(m *nats.Msg) { i.storeStatus(ctx, m) })
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", bus.StatusSubjects, err)
	}
	defer sub.Unsubscribe()
	<-ctx.Done()
	return ctx.Err()
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
