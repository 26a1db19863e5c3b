package mirror

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func entitlement(id string, revoked bool) []byte {
	face := make([]float32, matcher.Dim)
	face[0] = 1
	b, _ := proto.Marshal(&sgpb.Entitlement{
		TicketId: id, TicketType: sgpb.TicketType_TICKET_TYPE_DAY_PASS, Revoked: revoked,
		ValidFromMs: time.Now().Add(-time.Hour).UnixMilli(), ValidUntilMs: time.Now().Add(time.Hour).UnixMilli(),
		Faces: []*sgpb.FaceDescriptor{{Values: face}},
	})
	return b
}

func eligibleUnlessRevoked(e *sgpb.Entitlement, _ time.Time) bool { return !e.Revoked }

// run starts a mirror on dir and returns it with a stop function.
func run(t *testing.T, dir string, s *bustest.Server) (*Mirror, *matcher.Gallery, func()) {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	g := matcher.NewGallery()
	m := New(st, g, eligibleUnlessRevoked, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, js := s.Connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx, js); close(done) }()
	return m, g, func() { cancel(); <-done; st.Close() }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMirrorResumesWhereItStopped(t *testing.T) {
	ctx := context.Background()
	s := bustest.Embedded(t)
	_, js := s.Connect(t)
	kv, _ := js.KeyValue(ctx, bus.BucketEntitlements)
	for _, id := range []string{"A", "B", "C"} {
		kv.Put(ctx, id, entitlement(id, false))
	}
	dir := t.TempDir()
	m, g, stop := run(t, dir, s)
	waitFor(t, "three tickets", func() bool { return m.Len() == 3 && m.Synced() })
	stop()

	// While the gate is off: a new ticket, a revoke, a purge.
	kv.Put(ctx, "D", entitlement("D", false))
	kv.Put(ctx, "B", entitlement("B", true))
	kv.Purge(ctx, "C")
	status, _ := kv.Status(ctx)
	last := status.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq

	m, g, stop = run(t, dir, s)
	defer stop()
	if m.Len() != 3 || !g.Has("A") {
		t.Fatalf("after restart, before any watch: %d tickets; want the 3 from SQLite at once", m.Len())
	}
	waitFor(t, "the changes made while stopped", func() bool { return m.Revision() == last })
	if m.Get("D") == nil || m.Get("C") != nil || !m.Get("B").Revoked {
		t.Errorf("mirror after resume: D %v, C %v, B revoked %v; want D present, C gone, B revoked",
			m.Get("D") != nil, m.Get("C") != nil, m.Get("B") != nil && m.Get("B").Revoked)
	}
	if g.Has("B") || g.Has("C") || !g.Has("D") {
		t.Errorf("gallery: B %v C %v D %v; want only A and D", g.Has("B"), g.Has("C"), g.Has("D"))
	}
	if m.Lag() != 0 {
		t.Errorf("Lag = %d; want 0", m.Lag())
	}
}

func TestMirrorResyncsWhenTheBucketIsRecreated(t *testing.T) {
	ctx := context.Background()
	s := bustest.Embedded(t)
	_, js := s.Connect(t)
	kv, _ := js.KeyValue(ctx, bus.BucketEntitlements)
	for _, id := range []string{"A", "B", "C"} {
		kv.Put(ctx, id, entitlement(id, false))
	}
	dir := t.TempDir()
	m, _, stop := run(t, dir, s)
	waitFor(t, "three tickets", func() bool { return m.Len() == 3 })
	stop()

	js.DeleteKeyValue(ctx, bus.BucketEntitlements)
	bus.Provision(ctx, js, 1)
	kv, _ = js.KeyValue(ctx, bus.BucketEntitlements)
	kv.Put(ctx, "Z", entitlement("Z", false))

	m, _, stop = run(t, dir, s)
	defer stop()
	waitFor(t, "resynchronised to the new bucket", func() bool { return m.Len() == 1 && m.Get("Z") != nil })
}
