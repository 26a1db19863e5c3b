package publish

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func fill(tb testing.TB, st *store.Store, n int) {
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for i := 0; i < n; i++ {
		face := make([]float32, 128)
		face[i%128] = 1
		_, _, err := st.CreateOrder(context.Background(), store.NewOrder{
			OrderID: fmt.Sprintf("o%d", i), RequestHash: "h", Source: "test",
			Tickets: []store.NewTicket{{
				Ticket: store.Ticket{ID: fmt.Sprintf("T%06d", i), Type: "single", VisitorName: "v",
					ValidFrom: "2026-11-26", ValidTo: "2026-11-26", ValidStart: day, ValidUntil: day.Add(24 * time.Hour),
					QRTokenID: "q", QRIssuedAt: day, ConsentAt: day},
				Faces: []store.NewFace{{ID: fmt.Sprintf("F%06d", i), Size: 100, ConsentAt: day, Descriptors: []store.Descriptor{{Model: "m", Values: face}}}},
			}},
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// setup returns a store, a JetStream context logged in as enroll, enroll's
// signer, and a JetStream context that sees everything.
func setup(tb testing.TB) (*store.Store, jetstream.JetStream, *signed.Signer, jetstream.JetStream) {
	st, err := store.Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	s := bustest.Embedded(tb)
	_, observer := s.Connect(tb)
	_, js := s.ConnectAs(tb, bus.Enroll())
	signer, err := signed.LoadOrCreateSigner(filepath.Join(tb.TempDir(), "enroll-signing.key"))
	if err != nil {
		tb.Fatal(err)
	}
	return st, js, signer, observer
}

func TestDrainPublishesCurrentStateOnce(t *testing.T) {
	ctx := context.Background()
	st, js, signer, observer := setup(t)
	fill(t, st, 3)
	if _, err := st.Revoke(ctx, "T000001", "refund", "test", true); err != nil {
		t.Fatal(err)
	}
	p := New(st, js, signer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.Published.Load(); got != 3 {
		t.Errorf("published %d entitlements; want 3 (the revoke coalesced with the create)", got)
	}
	kv, _ := observer.KeyValue(ctx, bus.BucketEntitlements)
	e, err := kv.Get(ctx, "T000001")
	if err != nil {
		t.Fatal(err)
	}
	trusted, _ := signed.NewKeys(signer.PublicKey())
	ent := &sgpb.Entitlement{}
	if _, err := trusted.OpenMessage(signed.Entitlement, e.Value(), ent); err != nil {
		t.Fatalf("T000001 in the bucket is not an entitlement signed by enroll: %v", err)
	}
	if !ent.Revoked || len(ent.Faces) != 0 || ent.Version != 2 {
		t.Errorf("T000001 in the bucket: revoked %v, %d faces, version %d; want the revoked state", ent.Revoked, len(ent.Faces), ent.Version)
	}
	if n, _ := st.OutboxDepth(ctx); n != 0 {
		t.Errorf("outbox depth %d after Drain; want 0", n)
	}
}

// BenchmarkPublish measures entitlements per second from the outbox into
// the ENTITLEMENTS bucket.
func BenchmarkPublish(b *testing.B) {
	st, js, signer, _ := setup(b)
	fill(b, st, b.N)
	p := New(st, js, signer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b.ResetTimer()
	start := time.Now()
	if err := p.Drain(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entitlements/s")
}
