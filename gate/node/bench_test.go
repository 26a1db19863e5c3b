package node

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// BenchmarkDecision measures a gate decision from the capture of the
// deciding frame to the relay's "on" command reaching the relay, at 640x480
// with 10k and 100k tickets in the gallery: a visitor decided on their
// first frame, then a frame of nobody (not timed), then the next visitor. The visitor holds a day pass, so
// no claim over NATS is part of the figure.
func BenchmarkDecision(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("gallery=%d", n), func(b *testing.B) { benchmarkDecision(b, n) })
	}
}

func benchmarkDecision(b *testing.B, size int) {
	s := startSite(b)
	g := startGateWith(b, s, "bench-1", gateEngine(b, faces.DefaultModel), func(c *Config) {
		c.Pulse = 100 * time.Millisecond
		c.Policy.Cooldown = 0
		c.Policy.MinFaceSize = 80 // the README's for 640x480
		// Each visitor decided on their first frame, and gone once a
		// frame without them was seen: the figure is a decision's, not an
		// approach's (BenchmarkTimeToOpen).
		c.Policy.Agree, c.Policy.TrackGap = 1, time.Nanosecond
	})
	id, _ := enrollTicket(b, s, "o-bench", "obama.jpg", "day_pass")
	waitInGallery(b, g, id)
	fillGallery(b, s, g.node, id, size)

	src := gocv.IMRead(testenv.PhotoPath(b, "obama2.jpg"), gocv.IMReadColor)
	defer src.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	// A 640x480 camera frame with the visitor in it.
	gocv.Resize(src, &frame, image.Pt(250, 480), 0, 0, gocv.InterpolationArea)
	canvas := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer canvas.Close()
	roi := canvas.Region(image.Rect(195, 0, 445, 480))
	frame.CopyTo(&roi)
	roi.Close()

	// Nobody: the frame between two visitors.
	nobody := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer nobody.Close()

	l := g.node.NewLane()
	defer l.Close()
	ctx := context.Background()
	var lat []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seen := len(g.sim.Events())
		var out *Outcome
		var captured time.Time
		for out == nil {
			captured = time.Now()
			var err error
			if out, err = l.Frame(ctx, canvas, captured); err != nil {
				b.Fatal(err)
			}
		}
		if !out.Allow {
			b.Fatalf("decision %+v; want allow", out)
		}
		events, err := g.sim.WaitEvents(ctx, seen+2)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, float64(events[seen].At.Sub(captured).Microseconds())/1000)
		b.StopTimer()
		if _, err := l.Frame(ctx, nobody, time.Now()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))] }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// fillGallery adds size-1 other visitors valid today, with a face from the
// gate's model each, as far from the enrolled visitor's as real strangers'
// faces are, so the search does as much work as on a site: for dlib the
// visitor's descriptor moved by about 0.85 in a random direction; for a
// cosine model a random direction, about 1 away (the development set's
// impostor median is 0.98 for MobileFaceNet). They are signed with enroll's
// key, as the gate takes in nothing else.
func fillGallery(b *testing.B, s *site, n *Node, id string, size int) {
	ctx := context.Background()
	var base []float32
	if e, err := n.mirror.Get(ctx, id); err == nil && e != nil {
		for _, f := range e.Faces {
			if f.Model == n.model.Name {
				base = f.Values
			}
		}
	}
	if base == nil {
		b.Fatalf("ticket %s has no %s face", id, n.model.Name)
	}
	r := rand.New(rand.NewPCG(1, 1))
	signer := s.enroll.Keys().Signer()
	now := time.Now()
	changes := make([]store.Change, 0, size)
	for i := 1; i < size; i++ {
		f := make([]float32, n.model.Dim)
		var norm float64
		for j := range f {
			f[j] = float32(r.NormFloat64())
			norm += float64(f[j] * f[j])
		}
		if n.model.Metric == faces.Euclidean {
			scale := float32(0.85 / math.Sqrt(norm))
			for j := range f {
				f[j] = base[j] + f[j]*scale
			}
		}
		e := &sgpb.Entitlement{
			TicketId: fmt.Sprintf("BENCH%07d", i), TicketType: sgpb.TicketType_TICKET_TYPE_DAY_PASS, Version: 1,
			ValidFromMs: now.Add(-time.Hour).UnixMilli(), ValidUntilMs: now.Add(time.Hour).UnixMilli(),
			Faces: []*sgpb.FaceDescriptor{{FaceId: "F", Model: n.model.Name, Values: f}},
		}
		data, err := signer.SignMessage(signed.Entitlement, e, now)
		if err != nil {
			b.Fatal(err)
		}
		changes = append(changes, store.Change{TicketID: e.TicketId, Data: data, Revision: n.mirror.Revision()})
	}
	if err := n.store.Apply(ctx, changes, n.mirror.Revision()); err != nil {
		b.Fatal(err)
	}
	if err := n.mirror.Load(ctx); err != nil {
		b.Fatal(err)
	}
	if tickets, _ := n.gallery.Len(); tickets < size {
		b.Fatalf("gallery holds %d tickets; want %d", tickets, size)
	}
}

// BenchmarkSync measures how long a new ticket takes from enroll's commit to
// a gate's mirror: outbox, publisher, KV, watch, SQLite, memory.
func BenchmarkSync(b *testing.B) {
	s := startSite(b)
	g := startGate(b, s, "sync-1", nil)
	ctx := context.Background()
	today := rules.Site{}.Day(time.Now()).String()
	var lat []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := s.enroll.Service().CreateOrder(ctx, service.System("bench"), service.OrderRequest{
			OrderID:  fmt.Sprintf("sync-%d", i),
			Visitors: []service.VisitorRequest{{Name: "v", TicketType: "day_pass", ValidFrom: today}},
		})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		id := res.Tickets[0].ID
		for !held(g.node, id) {
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[int(0.99*float64(len(lat)-1))], "p99-ms")
}
