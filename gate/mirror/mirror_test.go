package mirror

import (
	"context"
	"fmt"
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

// The tests' gate matches with a 4-value model called "gate-model".
const testModel, testDim = "gate-model", 4

// enroll and intruder sign entitlements; the mirrors trust enroll only.
var enroll, intruder = newSigner(1), newSigner(2)

func newSigner(seed byte) *signed.Signer {
	s, err := signed.NewSigner(ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), seed)))
	if err != nil {
		panic(err)
	}
	return s
}

// ticket returns a day pass with one face for each model named (by
// default the gate's model).
func ticket(id string, version int64, revoked bool, models ...string) *sgpb.Entitlement {
	if models == nil {
		models = []string{testModel}
	}
	e := &sgpb.Entitlement{
		TicketId: id, TicketType: sgpb.TicketType_TICKET_TYPE_DAY_PASS, Revoked: revoked, Version: version,
		ValidFromMs: time.Now().Add(-time.Hour).UnixMilli(), ValidUntilMs: time.Now().Add(time.Hour).UnixMilli(),
	}
	for i, model := range models {
		n := testDim
		if model != testModel {
			n += 1 + i // each model its own length
		}
		face := make([]float32, n)
		face[0] = 1
		e.Faces = append(e.Faces, &sgpb.FaceDescriptor{FaceId: "F-" + model, Model: model, Values: face})
	}
	return e
}

func sign(by *signed.Signer, e *sgpb.Entitlement) []byte {
	b, err := by.SignMessage(signed.Entitlement, e, time.Now())
	if err != nil {
		panic(err)
	}
	return b
}

// entitlement returns the value enroll puts for a ticket of version 1, with
// a face for each model named.
func entitlement(id string, revoked bool, models ...string) []byte {
	return sign(enroll, ticket(id, 1, revoked, models...))
}

func eligibleUnlessRevoked(s Summary, _ time.Time) bool { return !s.Revoked }

// get reads a ticket from the mirror, nil when it has none.
func get(t *testing.T, m *Mirror, id string) *sgpb.Entitlement {
	t.Helper()
	e, err := m.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// searched reports whether the gallery searches ticket.
func searched(g *matcher.Gallery, ticket string) bool {
	_, active := g.Has(ticket)
	return active
}

// run starts a mirror on dir and returns it with a stop function.
func run(t *testing.T, dir string, s *bustest.Server) (*Mirror, *matcher.Gallery, func()) {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	g := matcher.NewGallery(testDim, matcher.Cosine)
	sameModel := func(model string) bool { return model == testModel }
	trusted, _ := signed.NewKeys(enroll.PublicKey())
	m := New(st, g, sameModel, "", eligibleUnlessRevoked, trusted, NewRefusals(time.Now), slog.New(slog.NewTextHandler(io.Discard, nil)))
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
	if m.Len() != 3 || !searched(g, "A") {
		t.Fatalf("after restart, before any watch: %d tickets; want the 3 from SQLite at once", m.Len())
	}
	waitFor(t, "the changes made while stopped", func() bool { return m.Revision() == last })
	if get(t, m, "D") == nil || get(t, m, "C") != nil || !get(t, m, "B").Revoked {
		t.Errorf("mirror after resume: D %v, C %v, B revoked %v; want D present, C gone, B revoked",
			get(t, m, "D") != nil, get(t, m, "C") != nil, get(t, m, "B") != nil && get(t, m, "B").Revoked)
	}
	if searched(g, "B") || searched(g, "C") || !searched(g, "D") {
		t.Errorf("gallery searches B %v C %v D %v; want only A and D", searched(g, "B"), searched(g, "C"), searched(g, "D"))
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
	waitFor(t, "resynchronised to the new bucket", func() bool { return m.Len() == 1 && get(t, m, "Z") != nil })
}

// TestMirrorKeepsOnlyTheGatesModel gives tickets faces from several models
// and alignments: only the gate's model's descriptors reach the gallery, a
// ticket without one is counted; those aligned as the gate aligns are
// preferred, and a ticket with only the other alignment is searched with
// it and counted.
func TestMirrorKeepsOnlyTheGatesModel(t *testing.T) {
	ctx := context.Background()
	s := bustest.Embedded(t)
	_, js := s.Connect(t)
	kv, _ := js.KeyValue(ctx, bus.BucketEntitlements)
	kv.Put(ctx, "BOTH", entitlement("BOTH", false, "dlib", testModel))
	kv.Put(ctx, "OLD", entitlement("OLD", false, "dlib"))
	kv.Put(ctx, "NONE", entitlement("NONE", false, []string{}...))
	fivePoint := ticket("FIVE", 1, false)
	fivePoint.Faces[0].Alignment = "five-point"
	kv.Put(ctx, "FIVE", sign(enroll, fivePoint))
	mixed := ticket("MIXED", 1, false, testModel, testModel)
	mixed.Faces[1].Alignment = "five-point"
	kv.Put(ctx, "MIXED", sign(enroll, mixed))
	m, g, stop := run(t, t.TempDir(), s)
	defer stop()
	waitFor(t, "five tickets", func() bool { return m.Len() == 5 && m.Synced() })
	if !searched(g, "FIVE") {
		t.Error("FIVE, with the gate's model aligned on five points only, is not searched")
	}
	if got := m.OtherAlignment(); got != 1 {
		t.Errorf("OtherAlignment() = %d; want 1 (FIVE)", got)
	}
	if tickets, faces := g.Len(); tickets != 3 || faces != 3 {
		t.Errorf("gallery holds %d tickets, %d faces; want BOTH, FIVE and MIXED with one face each (MIXED's of the gate's alignment only)", tickets, faces)
	}

	if !searched(g, "BOTH") {
		t.Error("BOTH, with a face from the gate's model, is not searched")
	}
	if held, _ := g.Has("OLD"); held {
		t.Error("OLD, with a dlib face only, is in the gate-model gallery")
	}
	if got := m.WithoutModel(); got != 1 {
		t.Errorf("WithoutModel() = %d; want 1 (OLD)", got)
	}
	if s, _ := m.Summary("BOTH"); s.Faces != 2 {
		t.Errorf("BOTH's summary counts %d faces; want 2", s.Faces)
	}
	if s, ok := m.Summary("NOBODY"); ok || s.Faces != 0 || s.Zones != nil {
		t.Errorf("Summary(NOBODY) = %+v, %v; want nothing", s, ok)
	}
	if e := get(t, m, "BOTH"); len(e.Faces) != 2 || len(e.Faces[1].Values) != testDim {
		t.Errorf("BOTH read back with faces %v; want both, with their values", e.Faces)
	}
	// Enrolled again with the gate's model: no longer counted.
	kv.Put(ctx, "OLD", entitlement("OLD", false, "dlib", testModel))
	waitFor(t, "OLD with the gate's model", func() bool { return searched(g, "OLD") })
	if got := m.WithoutModel(); got != 0 {
		t.Errorf("WithoutModel() after OLD gained the model = %d; want 0", got)
	}
	// FIVE described again aligned as the gate aligns: no longer counted.
	kv.Put(ctx, "FIVE", entitlement("FIVE", false))
	waitFor(t, "FIVE aligned as the gate aligns", func() bool { return m.OtherAlignment() == 0 })
	// Revoked: held aside, not searched.
	kv.Put(ctx, "BOTH", entitlement("BOTH", true, "dlib", testModel))
	waitFor(t, "BOTH revoked", func() bool { return !searched(g, "BOTH") })
	if s, ok := m.Summary("BOTH"); !ok || !s.Revoked || s.Faces != 2 {
		t.Errorf("BOTH's summary after the revoke = %+v, %v; want revoked, 2 faces", s, ok)
	}
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
	waitFor(t, "A", func() bool { return get(t, m, "A") != nil })

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
	if a := get(t, m, "A"); a == nil || a.Version != 2 || !a.Revoked || searched(g, "A") {
		t.Errorf("A after the forgeries: %v, in the gallery %v; want version 2, revoked, not in the gallery", a, searched(g, "A"))
	}
	if get(t, m, "X") != nil || searched(g, "X") || get(t, m, "Y") != nil {
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
	waitFor(t, "A removed", func() bool { return get(t, m, "A") == nil })
	stop()
	m, g, stop = run(t, dir, s)
	defer stop()
	put("A", sign(enroll, ticket("A", 1, false)))
	put("B", entitlement("B", false))
	waitFor(t, "B", func() bool { return get(t, m, "B") != nil })
	if get(t, m, "A") != nil || searched(g, "A") {
		t.Error("an older value of a removed ticket was taken in")
	}
	put("A", sign(enroll, ticket("A", 3, false)))
	waitFor(t, "a newer A", func() bool { return get(t, m, "A") != nil && get(t, m, "A").Version == 3 })
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
	waitFor(t, "A again, signed, from the bucket", func() bool { return get(t, m, "A") != nil && searched(g, "A") })
}

// TestMirrorLoadsEveryStoredEntitlement fills a gate's database with many
// entitlements, a few of them no longer opening, and checks that loading
// them on every core takes in each good one once and drops the others.
func TestMirrorLoadsEveryStoredEntitlement(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var changes []store.Change
	for i := range n {
		id := fmt.Sprintf("T%04d", i)
		data := entitlement(id, i%10 == 0)
		if i%250 == 0 {
			data, _ = proto.Marshal(ticket(id, 1, false)) // unsigned
		}
		changes = append(changes, store.Change{TicketID: id, Data: data, Revision: uint64(i + 1)})
	}
	if err := st.Apply(ctx, changes, n); err != nil {
		t.Fatal(err)
	}
	g := matcher.NewGallery(testDim, matcher.Cosine)
	trusted, _ := signed.NewKeys(enroll.PublicKey())
	m := New(st, g, func(model string) bool { return model == testModel }, "", eligibleUnlessRevoked, trusted,
		NewRefusals(time.Now), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if m.Revision() != 0 {
		t.Errorf("revision after dropping stored values = %d; want 0, to read the bucket again", m.Revision())
	}
	wantHeld, wantSearched := 0, 0
	for i := range n {
		id := fmt.Sprintf("T%04d", i)
		_, held := m.Summary(id)
		switch {
		case i%250 == 0:
			if held {
				t.Errorf("%s, unsigned, was taken in", id)
			}
		case !held:
			t.Errorf("%s was not loaded", id)
		default:
			wantHeld++
			if i%10 != 0 {
				wantSearched++
			}
			if searched(g, id) != (i%10 != 0) {
				t.Errorf("%s searched = %v; want %v", id, searched(g, id), i%10 != 0)
			}
		}
	}
	if m.Len() != wantHeld {
		t.Errorf("Len = %d; want %d", m.Len(), wantHeld)
	}
	if tickets, faces := g.Len(); tickets != wantSearched || faces != wantSearched {
		t.Errorf("gallery searches %d tickets, %d faces; want %d of each", tickets, faces, wantSearched)
	}
	for i := 0; i < n; i += 250 {
		if data, err := st.Entitlement(ctx, fmt.Sprintf("T%04d", i)); err == nil {
			t.Errorf("T%04d, unsigned, is still stored (%d bytes)", i, len(data))
		}
	}
}

// TestMirrorFusesATicketsFaces: a ticket enrolled with three photos is one
// template in the gallery, their normalised mean, not three descriptors.
func TestMirrorFusesATicketsFaces(t *testing.T) {
	ctx := context.Background()
	s := bustest.Embedded(t)
	_, js := s.Connect(t)
	kv, _ := js.KeyValue(ctx, bus.BucketEntitlements)
	e := ticket("THREE", 1, false, "dlib")
	for i, v := range [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}, {2, 2, 0, 0}} {
		e.Faces = append(e.Faces, &sgpb.FaceDescriptor{FaceId: fmt.Sprintf("F%d", i), Model: testModel, Values: v})
	}
	kv.Put(ctx, "THREE", sign(enroll, e))
	kv.Put(ctx, "ONE", entitlement("ONE", false))
	m, g, stop := run(t, t.TempDir(), s)
	defer stop()
	waitFor(t, "two tickets", func() bool { return m.Len() == 2 && m.Synced() })

	if tickets, descs := g.Len(); tickets != 2 || descs != 2 {
		t.Errorf("gallery Len() = %d tickets, %d descriptors; want 2 and 2 (one template per ticket)", tickets, descs)
	}
	// The fused template is the direction between the first two faces.
	h := float32(math.Sqrt(0.5))
	for _, c := range []struct {
		probe []float32
		want  float32
	}{
		{[]float32{h, h, 0, 0}, 0},
		{[]float32{1, 0, 0, 0}, 1 - h},
		{[]float32{0, 1, 0, 0}, 1 - h},
	} {
		d, ok, err := g.Compare("THREE", c.probe)
		if err != nil || !ok || math.Abs(float64(d-c.want)) > 0.02 {
			t.Errorf("Compare(THREE, %v) = %.3f, %v, %v; want %.3f: the fused template", c.probe, d, ok, err, c.want)
		}
	}
	if s, _ := m.Summary("THREE"); s.Faces != 4 {
		t.Errorf("THREE's summary counts %d faces; want 4 (every model's)", s.Faces)
	}
	if e := get(t, m, "THREE"); len(e.Faces) != 4 {
		t.Errorf("THREE read back with %d faces; want the 4 enrolled", len(e.Faces))
	}
}
