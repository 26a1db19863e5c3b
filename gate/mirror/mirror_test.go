package mirror

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"crypto/ed25519"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// enroll and intruder sign entitlements; the mirrors trust enroll only.
var enroll, intruder = newSigner(1), newSigner(2)

func newSigner(seed byte) *signed.Signer {
	s, err := signed.NewSigner(ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), seed)))
	if err != nil {
		panic(err)
	}
	return s
}

func ticket(id string, version int64, revoked bool) *sgpb.Entitlement {
	face := make([]float32, matcher.Dim)
	face[0] = 1
	return &sgpb.Entitlement{
		TicketId: id, TicketType: sgpb.TicketType_TICKET_TYPE_DAY_PASS, Revoked: revoked, Version: version,
		ValidFromMs: time.Now().Add(-time.Hour).UnixMilli(), ValidUntilMs: time.Now().Add(time.Hour).UnixMilli(),
		Faces: []*sgpb.FaceDescriptor{{Values: face}},
	}
}

func sign(by *signed.Signer, e *sgpb.Entitlement) []byte {
	b, err := by.SignMessage(signed.Entitlement, e, time.Now())
	if err != nil {
		panic(err)
	}
	return b
}

// entitlement returns the value enroll puts for a ticket of version 1.
func entitlement(id string, revoked bool) []byte { return sign(enroll, ticket(id, 1, revoked)) }

func eligibleUnlessRevoked(e *sgpb.Entitlement, _ time.Time) bool { return !e.Revoked }

// run starts a mirror on dir and returns it with a stop function.
func run(t *testing.T, dir string, s *bustest.Server) (*Mirror, *matcher.Gallery, func()) {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	g := matcher.NewGallery()
	trusted, _ := signed.NewKeys(enroll.PublicKey())
	m := New(st, g, eligibleUnlessRevoked, trusted, NewRefusals(time.Now), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, js := s.ConnectAs(t, bus.Gate("mirror-1"))
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

func TestMirrorRefusesForgedOldAndOutOfRangeEntitlements(t *testing.T) {
	ctx := context.Background()
	s := bustest.Embedded(t)
	_, js := s.Connect(t) // may write anything: the bus is not to be trusted here
	kv, _ := js.KeyValue(ctx, bus.BucketEntitlements)
	put := func(key string, value []byte) {
		t.Helper()
		if _, err := kv.Put(ctx, key, value); err != nil {
			t.Fatal(err)
		}
	}
	put("A", sign(enroll, ticket("A", 2, true))) // revoked at version 2
	dir := t.TempDir()
	m, g, stop := run(t, dir, s)
	waitFor(t, "A", func() bool { return m.Get("A") != nil })

	unsigned, _ := proto.Marshal(ticket("A", 9, false))
	huge := ticket("X", 1, false)
	huge.TicketType, huge.EntriesAllowed = sgpb.TicketType_TICKET_TYPE_MULTI, math.MaxInt32
	refused := []struct {
		name, key string
		value     []byte
	}{
		{"signed by another key", "A", sign(intruder, ticket("A", 3, false))},
		{"unsigned", "A", unsigned},
		{"an older version, un-revoked", "A", sign(enroll, ticket("A", 1, false))},
		{"stored under another ticket", "A", sign(enroll, ticket("Y", 5, false))},
		{"entries_allowed 2147483647", "X", sign(enroll, huge)},
	}
	for _, r := range refused {
		put(r.key, r.value)
	}
	status, _ := kv.Status(ctx)
	last := status.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq
	waitFor(t, "every put seen", func() bool { return m.Revision() == last })
	if a := m.Get("A"); a == nil || a.Version != 2 || !a.Revoked || g.Has("A") {
		t.Errorf("A after the forgeries: %v, in the gallery %v; want version 2, revoked, not in the gallery", a, g.Has("A"))
	}
	if m.Get("X") != nil || g.Has("X") || m.Get("Y") != nil {
		t.Errorf("X (out of range) or Y (under A's key) was taken in")
	}
	faults := strings.Join(m.refusals.Faults(), "\n")
	for _, want := range []string{"refused entitlement A", "refused entitlement X: out of range (entries_allowed 2147483647"} {
		if !strings.Contains(faults, want) {
			t.Errorf("faults %q lack %q", faults, want)
		}
	}

	// Removed from the bucket, A cannot come back with an older value
	// either, even across a restart.
	if err := kv.Purge(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A removed", func() bool { return m.Get("A") == nil })
	stop()
	m, g, stop = run(t, dir, s)
	defer stop()
	put("A", sign(enroll, ticket("A", 1, false)))
	put("B", entitlement("B", false))
	waitFor(t, "B", func() bool { return m.Get("B") != nil })
	if m.Get("A") != nil || g.Has("A") {
		t.Error("an older value of a removed ticket was taken in")
	}
	put("A", sign(enroll, ticket("A", 3, false)))
	waitFor(t, "a newer A", func() bool { return m.Get("A") != nil && m.Get("A").Version == 3 })
}

func TestMirrorDropsStoredValuesThatDoNotOpen(t *testing.T) {
	ctx := context.Background()
	s := bustest.Embedded(t)
	_, js := s.Connect(t)
	kv, _ := js.KeyValue(ctx, bus.BucketEntitlements)
	kv.Put(ctx, "A", entitlement("A", false))
	dir := t.TempDir()
	// A gate that kept A unsigned, as gates did before entitlements were
	// signed, at the bucket's latest revision.
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := proto.Marshal(ticket("A", 1, false))
	if err := st.Apply(ctx, []store.Change{{TicketID: "A", Data: raw, Revision: 1}}, 1); err != nil {
		t.Fatal(err)
	}
	st.Close()
	m, g, stop := run(t, dir, s)
	defer stop()
	if m.Revision() != 0 {
		t.Errorf("revision after dropping the stored value = %d; want 0, to read the bucket again", m.Revision())
	}
	waitFor(t, "A again, signed, from the bucket", func() bool { return m.Get("A") != nil && g.Has("A") })
}
