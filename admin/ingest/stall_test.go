package ingest_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/ingest"
	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestIngestRecoversFromAFrozenServer freezes (SIGSTOP) the node of a
// three-node cluster that admin is connected to, as a hung machine would
// be: its connections stay open and nothing answers. Admissions, tickets
// and heartbeats sent through the other nodes must still reach admin's
// database, without restarting admin.
func TestIngestRecoversFromAFrozenServer(t *testing.T) {
	c := bustest.StartCluster(t, 3)
	c.Connect(t)
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs logLines
	nc, err := bus.Connect(c.Options(t, bus.Admin()), bus.Admin(), bustest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ing := ingest.New(st, nc, js, live.New(), slog.New(slog.NewTextHandler(&logs, nil)), ingest.Options{MaxBackoff: 500 * time.Millisecond,
		StallAfter: time.Second, Signer: adminKey})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ing.Run(ctx) }()
	defer func() { cancel(); <-done }()

	_, obs := c.Connect(t)
	publish(t, obs, admission("before", "T1", sgpb.Direction_DIRECTION_ENTRY))
	eventually(t, "the first admission", func() bool { return count(t, st) == 1 })
	eventually(t, "admin connected", func() bool { return nc.ConnectedServerName() != "" })

	frozen := c.Node(nc.ConnectedServerName())
	t.Logf("freezing %s, which admin is connected to", frozen.Name)
	frozen.Freeze()
	defer frozen.Thaw()
	start := time.Now()
	var alive *bustest.Server
	for _, s := range c.Nodes {
		if s != frozen {
			alive = s
		}
	}
	onc, other := alive.Connect(t)
	for i := range 3 {
		publishEventually(t, other, admission(fmt.Sprintf("after-%d", i), "T2", sgpb.Direction_DIRECTION_ENTRY))
	}
	kv, err := other.KeyValue(context.Background(), bus.BucketEntitlements)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), "T9", entitlement(&sgpb.Entitlement{TicketId: "T9", VisitorName: "王五"})); err != nil {
		t.Fatal(err)
	}
	heartbeat, _ := proto.Marshal(&sgpb.GateStatus{GateId: "north-9", AtMs: time.Now().UnixMilli()})

	const limit = 90 * time.Second
	deadline := time.Now().Add(limit)
	for {
		onc.Publish(bus.StatusSubject("north-9"), heartbeat)
		_, entErr := st.Entitlement(context.Background(), "T9")
		gates, _ := st.Gates(context.Background())
		if count(t, st) == 4 && entErr == nil && len(gates) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within %v of freezing the server admin was connected to: %d of 4 admissions, ticket: %v, %d gates\n%s",
				limit, count(t, st), entErr, len(gates), logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("admissions, tickets and heartbeats arrive again %v after the freeze; admin now on %s",
		time.Since(start).Round(100*time.Millisecond), nc.ConnectedServerName())
	if !strings.Contains(logs.String(), "stalled") && !strings.Contains(logs.String(), "not answering") {
		t.Logf("admin's log:\n%s", logs.String())
	}
}

// publishEventually publishes a, trying again while the cluster elects a
// new leader for the stream.
func publishEventually(t *testing.T, js jetstream.JetStream, a *sgpb.Admission) {
	t.Helper()
	b, _ := proto.Marshal(a)
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.Publish(ctx, bus.AdmissionSubject(a.GateId), b, jetstream.WithMsgID(a.EventId))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish %s: %v", a.EventId, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
