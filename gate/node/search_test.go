package node

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/models/faces"
)

// realDescriptors describes the test photos' faces under small changes —
// crops, scales, mirror images, lighting — as a camera sees a visitor from
// frame to frame, and returns the descriptors by model and by person.
func realDescriptors(t *testing.T) map[string][][]float32 {
	out := map[string][][]float32{}
	for _, photo := range []string{"obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"} {
		src := frame(t, photo)
		for i := range 12 {
			m := gocv.NewMat()
			w, h := src.Cols(), src.Rows()
			crop := src.Region(image.Rect(i*w/60, i*h/80, w-i*w/70, h))
			gocv.Resize(crop, &m, image.Pt(0, 0), 0.6+0.05*float64(i), 0.6+0.05*float64(i), gocv.InterpolationArea)
			crop.Close()
			if i%2 == 1 {
				gocv.Flip(m, &m, 1)
			}
			m.ConvertToWithParams(&m, gocv.MatTypeCV8UC3, float32(0.8+0.04*float64(i)), 0)
			found, err := engine.DetectMat(context.Background(), m)
			m.Close()
			if err != nil || len(found) != 1 {
				continue
			}
			for _, d := range found[0].Descriptors {
				out[d.Model] = append(out[d.Model], d.Values)
			}
		}
	}
	return out
}

// TestSearchOnRealDescriptors checks the gallery's two-pass search against
// its exact scan with real descriptors as tickets and as queries, among
// enough other tickets to share the first pass between workers; and that the gallery's distances,
// from the descriptors as it holds them (16-bit fixed point), are the
// model's own distances between the float32 descriptors to within 2e-5
// (measured: 1.0e-5 for dlib, 8e-6 for MobileFaceNet, 4e-6 for fr-feature;
// 2e-7 when the gallery held float32).
func TestSearchOnRealDescriptors(t *testing.T) {
	real := realDescriptors(t)
	for _, m := range engine.Models() {
		t.Run(m.Name, func(t *testing.T) {
			ds := real[m.Name]
			if len(ds) < 20 {
				t.Fatalf("%d real %s descriptors; want at least 20", len(ds), m.Name)
			}
			g := matcher.NewGallery(m.Dim, galleryMetric(m.Metric))
			r := rand.New(rand.NewPCG(1, 2))
			// Strangers: real descriptors with their values shuffled, which
			// keeps their spread of values but not their identity.
			for i := range 20_000 {
				src := ds[r.IntN(len(ds))]
				f := make([]float32, len(src))
				for j, k := range r.Perm(len(src)) {
					f[j] = src[k]
				}
				if err := g.Set(fmt.Sprintf("S%05d", i), [][]float32{f}, true); err != nil {
					t.Fatal(err)
				}
			}
			for i, d := range ds[:len(ds)/2] {
				g.Set(fmt.Sprintf("R%03d", i), [][]float32{d}, true)
			}
			var worst float64
			for i, q := range ds[len(ds)/2:] {
				for j, d := range ds[:len(ds)/2] {
					got, _, err := g.Compare(fmt.Sprintf("R%03d", j), q)
					if err != nil {
						t.Fatal(err)
					}
					worst = max(worst, math.Abs(float64(got-m.Distance(d, q))))
				}
				got, err := g.Search(q)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteForce(m, g, q)
				if got.Best != want.Best || got.Second != want.Second ||
					math.Abs(float64(got.BestDistance-want.BestDistance)) > 1e-5 ||
					math.Abs(float64(got.SecondDistance-want.SecondDistance)) > 1e-5 {
					t.Fatalf("%s query %d: Search = %+v; every descriptor compared gives %+v", m.Name, i, got, want)
				}
			}
			t.Logf("%s: the gallery's distances differ from the model's by at most %.3g", m.Name, worst)
			if worst > 2e-5 {
				t.Errorf("%s: a gallery distance differs from the model's by %.3g; want at most 2e-5", m.Name, worst)
			}
		})
	}
}

// bruteForce compares q with each ticket's faces through Compare, one
// ticket at a time.
func bruteForce(m faces.Model, g *matcher.Gallery, q []float32) matcher.Result {
	res := matcher.Result{BestDistance: float32(math.Inf(1)), SecondDistance: float32(math.Inf(1))}
	for _, id := range g.Tickets() {
		d, _, _ := g.Compare(id, q)
		switch {
		case d < res.BestDistance:
			res.Second, res.SecondDistance = res.Best, res.BestDistance
			res.Best, res.BestDistance = id, d
		case d < res.SecondDistance:
			res.Second, res.SecondDistance = id, d
		}
	}
	return res
}
