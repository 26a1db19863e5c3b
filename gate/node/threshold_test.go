package node

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// lookalikeFaces returns count descriptors of dim values that share a
// common part, so that two of them are about 0.5 apart in cosine distance —
// nearer than real strangers' (about 1), so that the threshold a gallery of
// them needs falls below the model's default.
func lookalikeFaces(r *rand.Rand, dim, count int) [][]float32 {
	base := unit(r, dim)
	out := make([][]float32, count)
	for i := range out {
		noise := unit(r, dim)
		f := make([]float32, dim)
		for j := range f {
			f[j] = 0.7*base[j] + 0.714*noise[j]
		}
		out[i] = f
	}
	return out
}

func unit(r *rand.Rand, dim int) []float32 {
	f := make([]float32, dim)
	var norm float64
	for j := range f {
		f[j] = float32(r.NormFloat64())
		norm += float64(f[j] * f[j])
	}
	for j := range f {
		f[j] /= float32(math.Sqrt(norm))
	}
	return f
}

// putFaces stores day passes valid now with these faces, one each, signed
// by enroll, in the gate's database, and loads the mirror again.
func putFaces(t *testing.T, s *site, n *Node, faces [][]float32) {
	t.Helper()
	putTickets(t, s, n, faces, 0, false)
}

// putTickets stores tickets LOOK<from>... with these faces, revoked or not
// (a revoked one at a newer version), and loads the mirror again.
func putTickets(t *testing.T, s *site, n *Node, faces [][]float32, from int, revoked bool) {
	t.Helper()
	ctx := context.Background()
	signer := s.enroll.Keys().Signer()
	now := time.Now()
	var changes []store.Change
	version := int64(1)
	if revoked {
		version = 2
	}
	for i, f := range faces {
		e := &sgpb.Entitlement{
			TicketId: fmt.Sprintf("LOOK%05d", from+i), TicketType: sgpb.TicketType_TICKET_TYPE_DAY_PASS, Version: version,
			Revoked:     revoked,
			ValidFromMs: now.Add(-time.Hour).UnixMilli(), ValidUntilMs: now.Add(time.Hour).UnixMilli(),
			Faces: []*sgpb.FaceDescriptor{{FaceId: "F", Model: n.model.Name, Values: f}},
		}
		data, err := signer.SignMessage(signed.Entitlement, e, now)
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, store.Change{TicketID: e.TicketId, Data: data, Revision: n.mirror.Revision()})
	}
	if err := n.store.Apply(ctx, changes, n.mirror.Revision()); err != nil {
		t.Fatal(err)
	}
	if err := n.mirror.Load(ctx); err != nil {
		t.Fatal(err)
	}
}

// heartbeat waits for a heartbeat of gate id that satisfies ok.
func heartbeat(t *testing.T, s *site, id string, ok func(*sgpb.GateStatus) bool) *sgpb.GateStatus {
	t.Helper()
	nc, _ := s.bus.Connect(t)
	sub, err := nc.SubscribeSync(bus.StatusSubject(id))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		m, err := sub.NextMsg(time.Second)
		if err == nats.ErrTimeout {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		st := &sgpb.GateStatus{}
		if err := proto.Unmarshal(m.Data, st); err != nil {
			t.Fatal(err)
		}
		if ok(st) {
			return st
		}
	}
	t.Fatalf("no heartbeat of %s as expected within %v", id, waitLimit)
	return nil
}

// TestThresholdTightensAsTheGalleryGrows: with too few tickets the gate
// matches with the model's default and says so; with more it measures, and
// a larger gallery gets a stricter threshold, so that a face at a distance
// the smaller gallery accepted is nobody in the larger one. The heartbeat
// carries the figures.
func TestThresholdTightensAsTheGalleryGrows(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "thresh-1", func(c *Config) { c.Policy.Margin = 0.01 })
	n := g.node
	def := n.model.Threshold
	st := heartbeat(t, s, "thresh-1", func(st *sgpb.GateStatus) bool { return st.ThresholdSource != "" })
	if st.ThresholdSource != ThresholdDefault || st.Threshold != def || st.TargetFpir != DefaultTargetFPIR || st.ExpectedFpir != 0 {
		t.Fatalf("empty gallery: heartbeat threshold %v (%s), target %v, expected FPIR %v; want the default %v",
			st.Threshold, st.ThresholdSource, st.TargetFpir, st.ExpectedFpir, def)
	}

	r := rand.New(rand.NewPCG(4, 2))
	faces := lookalikeFaces(r, n.model.Dim, 600)
	// 30 tickets: 435 pairs, too few to measure.
	putFaces(t, s, n, faces[:30])
	st = heartbeat(t, s, "thresh-1", func(st *sgpb.GateStatus) bool { return st.ThresholdGallery == 30 })
	if st.ThresholdSource != ThresholdDefault || st.Threshold != def || st.ImpostorPairs != 435 {
		t.Fatalf("30 tickets: threshold %v (%s) from %d pairs; want the default from 435", st.Threshold, st.ThresholdSource, st.ImpostorPairs)
	}

	// 60 tickets, every pair measured; then 600, pairs sampled.
	putFaces(t, s, n, faces[:60])
	small := heartbeat(t, s, "thresh-1", func(st *sgpb.GateStatus) bool { return st.ThresholdGallery == 60 })
	putFaces(t, s, n, faces)
	large := heartbeat(t, s, "thresh-1", func(st *sgpb.GateStatus) bool { return st.ThresholdGallery == 600 })
	t.Logf("60 tickets: %.4f from %d pairs, expected FPIR %.3g; 600: %.4f from %d pairs, expected FPIR %.3g",
		small.Threshold, small.ImpostorPairs, small.ExpectedFpir, large.Threshold, large.ImpostorPairs, large.ExpectedFpir)
	for _, st := range []*sgpb.GateStatus{small, large} {
		if st.ThresholdSource != ThresholdMeasured || st.Threshold >= def || st.ExpectedFpir <= 0 || st.ExpectedFpir > DefaultTargetFPIR*1.0001 {
			t.Errorf("%d tickets: threshold %v (%s), expected FPIR %v; want measured below %v, FPIR within the target",
				st.ThresholdGallery, st.Threshold, st.ThresholdSource, st.ExpectedFpir, def)
		}
	}
	if small.ImpostorPairs != 60*59/2 || large.ImpostorPairs != impostorPairs {
		t.Errorf("pairs: %d for 60 tickets, %d for 600; want %d and %d", small.ImpostorPairs, large.ImpostorPairs, 60*59/2, impostorPairs)
	}
	if large.Threshold >= small.Threshold {
		t.Fatalf("threshold %v for 600 tickets; want below %v, 60 tickets'", large.Threshold, small.Threshold)
	}
	if got := n.searchThreshold(); got != large.Threshold {
		t.Errorf("search threshold %v; the heartbeat says %v", got, large.Threshold)
	}

	// A face between the two thresholds from LOOK00000's: the larger
	// gallery calls it nobody.
	mid := (small.Threshold + large.Threshold) / 2
	probe := rotated(r, faces[0], mid)
	v, err := n.searchVote(probe)
	if err != nil {
		t.Fatal(err)
	}
	if v.Ticket != "" || math.Abs(float64(v.Distance-mid)) > 0.01 {
		t.Errorf("600 tickets: a face %.3f from LOOK00000 votes %q at %.3f; want nobody", mid, v.Ticket, v.Distance)
	}
	putTickets(t, s, n, faces[60:], 60, true) // the others are revoked: back to 60
	heartbeat(t, s, "thresh-1", func(st *sgpb.GateStatus) bool { return st.ThresholdGallery == 60 })
	if v, _ := n.searchVote(probe); v.Ticket != "LOOK00000" {
		t.Errorf("60 tickets: a face %.3f from LOOK00000 votes %q at %.3f; want LOOK00000", mid, v.Ticket, v.Distance)
	}

	// A target the gallery cannot meet above the floor is a fault.
	if hasFault(n.Status(context.Background()), "threshold:") {
		t.Error("a fault about the threshold while the target is met")
	}
	c, _ := n.threshold.get()
	c.TargetMet, c.ExpectedFPIR = false, 0.02
	n.threshold.set(c, ThresholdMeasured)
	if !hasFault(n.Status(context.Background()), "threshold: --target-fpir 0.001 cannot be met with 60 tickets") {
		t.Errorf("faults %q; want the target unmet", n.Status(context.Background()).Faults)
	}
}

// rotated returns f turned by cosine distance d in a random direction.
func rotated(r *rand.Rand, f []float32, d float32) []float32 {
	v := unitOf(f)
	u := unit(r, len(f))
	var dot float64
	for j := range u {
		dot += float64(u[j] * v[j])
	}
	for j := range u {
		u[j] -= float32(dot) * v[j]
	}
	u = unitOf(u)
	c := 1 - float64(d)
	sn := math.Sqrt(1 - c*c)
	out := make([]float32, len(f))
	for j := range out {
		out[j] = float32(c)*v[j] + float32(sn)*u[j]
	}
	return out
}

func unitOf(f []float32) []float32 {
	var norm float64
	for _, x := range f {
		norm += float64(x * x)
	}
	out := make([]float32, len(f))
	for j, x := range f {
		out[j] = x / float32(math.Sqrt(norm))
	}
	return out
}
