package faces

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

func near(a, b point, tol float64) bool { return math.Hypot(a.X-b.X, a.Y-b.Y) <= tol }

// TestFitSimilarity checks the closed-form fit on points that a known
// similarity maps exactly: it must find that similarity again.
func TestFitSimilarity(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for i := range 100 {
		angle := (rng.Float64() - 0.5) * 2 * math.Pi
		scale := 0.05 + rng.Float64()*3
		want := similarity{A: scale * math.Cos(angle), B: scale * math.Sin(angle), TX: rng.Float64()*400 - 200, TY: rng.Float64()*400 - 200}
		var src, dst []point
		for range 3 + i%3 {
			p := point{rng.Float64() * 1000, rng.Float64() * 1000}
			src, dst = append(src, p), append(dst, want.apply(p))
		}
		got, err := fitSimilarity(src, dst)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.A-want.A) > 1e-9 || math.Abs(got.B-want.B) > 1e-9 || math.Abs(got.TX-want.TX) > 1e-6 || math.Abs(got.TY-want.TY) > 1e-6 {
			t.Fatalf("fitSimilarity(%v → %v) = %+v; want %+v", src, dst, got, want)
		}
	}
	if _, err := fitSimilarity([]point{{1, 1}, {1, 1}}, []point{{0, 0}, {5, 5}}); err == nil {
		t.Error("fitSimilarity with coinciding source points = nil error; want one")
	}
	if _, err := fitSimilarity([]point{{1, 1}}, []point{{0, 0}}); err == nil {
		t.Error("fitSimilarity with one point = nil error; want one")
	}
}

// TestAlignmentPoints checks which landmarks make the eyes and the nose.
func TestAlignmentPoints(t *testing.T) {
	// shape_predictor_5 lists one eye's corners, then the other's, then
	// the nose; which eye comes first depends on nothing the engine
	// should rely on.
	for _, shape := range [][]image.Point{
		{{70, 40}, {60, 40}, {20, 42}, {30, 42}, {45, 70}},
		{{20, 42}, {30, 42}, {70, 40}, {60, 40}, {45, 70}},
	} {
		got, err := alignmentPoints(shape)
		if err != nil {
			t.Fatal(err)
		}
		want := []point{{25, 42}, {65, 40}, {45, 70}}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("alignmentPoints(%v) = %v; want %v (left eye, right eye, nose)", shape, got, want)
				break
			}
		}
	}
	if _, err := alignmentPoints(make([]image.Point, 68)); err == nil {
		t.Error("alignmentPoints(68 points) = nil error; want one: only shape_predictor_5 is understood")
	}
}

// dot draws a filled white disc of radius r centred at p.
func dot(m gocv.Mat, p point, r int) {
	gocv.Circle(&m, image.Pt(int(math.Round(p.X)), int(math.Round(p.Y))), r, color.RGBA{255, 255, 255, 0}, -1)
}

// centroid returns the brightness-weighted centre of the bright pixels of a
// grey image inside r.
func centroid(g gocv.Mat, r image.Rectangle) point {
	var sx, sy, sw float64
	for y := max(r.Min.Y, 0); y < min(r.Max.Y, g.Rows()); y++ {
		for x := max(r.Min.X, 0); x < min(r.Max.X, g.Cols()); x++ {
			if w := float64(g.GetUCharAt(y, x)); w > 40 {
				sx, sy, sw = sx+w*float64(x), sy+w*float64(y), sw+w
			}
		}
	}
	return point{sx / sw, sy / sw}
}

// TestAlignFaceGeometry draws three dots where a face's eyes and nose would
// be — turned, at a distance or close up — and checks that alignFace puts
// them on the chip's template points. Close up the image is first shrunk,
// which must not move them either.
func TestAlignFaceGeometry(t *testing.T) {
	cases := []struct {
		name   string
		angle  float64 // degrees
		scale  float64 // image pixels per chip pixel
		centre point
	}{
		{"upright, chip size", 0, 1, point{320, 240}},
		{"turned 20°, small", 20, 0.8, point{200, 300}},
		{"turned −15°, large", -15, 3, point{640, 400}},
		{"upright, very large (shrunk first)", 0, 6, point{640, 500}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := gocv.NewMatWithSize(960, 1280, gocv.MatTypeCV8UC3)
			defer img.Close()
			// Chip point q lands at centre + scale·R·(q − chip centre).
			rad := c.angle * math.Pi / 180
			place := func(q point) point {
				dx, dy := (q.X-ChipSize/2)*c.scale, (q.Y-ChipSize/2)*c.scale
				return point{c.centre.X + dx*math.Cos(rad) - dy*math.Sin(rad), c.centre.Y + dx*math.Sin(rad) + dy*math.Cos(rad)}
			}
			le, re, nose := place(dlibTemplate[0]), place(dlibTemplate[1]), place(dlibTemplate[2])
			radius := max(2, int(2*c.scale))
			for _, p := range []point{le, re, nose} {
				dot(img, p, radius)
			}
			// Landmarks as dlib gives them: eye corners either side of
			// each eye centre, integers.
			corner := func(p point, side float64) image.Point {
				return image.Pt(int(math.Round(p.X+side*4*c.scale*math.Cos(rad))), int(math.Round(p.Y+side*4*c.scale*math.Sin(rad))))
			}
			shape := []image.Point{corner(re, 1), corner(re, -1), corner(le, 1), corner(le, -1),
				image.Pt(int(math.Round(nose.X)), int(math.Round(nose.Y)))}

			pts, err := alignmentPoints(shape)
			if err != nil {
				t.Fatal(err)
			}
			chip := gocv.NewMat()
			defer chip.Close()
			if err := alignFace(img, pts, &chip); err != nil {
				t.Fatal(err)
			}
			if chip.Cols() != ChipSize || chip.Rows() != ChipSize {
				t.Fatalf("chip is %dx%d; want %dx%d", chip.Cols(), chip.Rows(), ChipSize, ChipSize)
			}
			gray := gocv.NewMat()
			defer gray.Close()
			gocv.CvtColor(chip, &gray, gocv.ColorBGRToGray)
			for _, want := range []struct {
				name string
				at   point
			}{{"left eye", dlibTemplate[0]}, {"right eye", dlibTemplate[1]}, {"nose", dlibTemplate[2]}} {
				box := image.Rect(int(want.at.X)-8, int(want.at.Y)-8, int(want.at.X)+9, int(want.at.Y)+9)
				got := centroid(gray, box)
				t.Logf("%s at (%.2f, %.2f); template (%.2f, %.2f)", want.name, got.X, got.Y, want.at.X, want.at.Y)
				if !near(got, want.at, 1) {
					t.Errorf("%s lands at (%.2f, %.2f); want within a pixel of (%.2f, %.2f)", want.name, got.X, got.Y, want.at.X, want.at.Y)
				}
			}
		})
	}
}

// TestAlignRealFaces aligns the faces of the test photos as dlib finds them.
// The three points of a real face, a little turned, never fit the template
// exactly: the fit shares the error, so each point lands within a few pixels
// of its place (measured on these photos: at most 4.6). A fit gone wrong — eyes swapped, a
// point from the wrong landmark — lands tens of pixels away.
func TestAlignRealFaces(t *testing.T) {
	for _, c := range []struct {
		detector string
		tol      float64
	}{
		{DetectorHOG, 6},
		// Five points fit worse than three: a smile moves the mouth
		// corners (6.2 pixels on obama.jpg).
		{DetectorBlazeFace, 8},
	} {
		t.Run(c.detector, func(t *testing.T) { alignRealFaces(t, c.detector, c.tol) })
	}
}

func alignRealFaces(t *testing.T, detector string, tol float64) {
	e, err := Open(Config{ModelDir: testenv.ModelDir(t), Workers: 1, Models: []string{MobileFaceNet}, Detector: detector})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, name := range []string{"obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "32bit.png"} {
		t.Run(name, func(t *testing.T) {
			got, err := e.Detect(context.Background(), testenv.Photo(t, name))
			if err != nil || len(got) != 1 {
				t.Fatalf("Detect(%s) = %d faces, %v", name, len(got), err)
			}
			pts := got[0].align
			s, err := alignTransform(pts)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, _ := templateFor(pts)
			for i, want := range tmpl {
				at := s.apply(pts[i])
				msg := fmt.Sprintf("point %d lands at (%.2f, %.2f); template (%.2f, %.2f)", i, at.X, at.Y, want.X, want.Y)
				t.Log(msg)
				if !near(at, want, tol) {
					t.Errorf("%s; want within %v pixels", msg, tol)
				}
			}
		})
	}
}

// TestAlignFaceReadsOnlyTheFace checks that cutting the chip from the part of
// the frame around the face gives the chip that warping the whole frame
// gives, on a frame of noise where a pixel's shift would show at once: at a
// distance (no shrink), close up (shrunk first) and half outside the frame,
// whose missing half must stay black.
func TestAlignFaceReadsOnlyTheFace(t *testing.T) {
	img := gocv.NewMatWithSize(720, 1280, gocv.MatTypeCV8UC3)
	defer img.Close()
	gocv.RandU(&img, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(256, 256, 256, 0))
	blur := gocv.NewMat()
	defer blur.Close()
	gocv.GaussianBlur(img, &blur, image.Pt(0, 0), 3, 3, gocv.BorderReflect)
	cases := []struct {
		name  string
		shape []image.Point // eye corners, then the nose base
		mean  float64       // largest mean difference per value allowed
	}{
		{"at a distance", []image.Point{{660, 300}, {640, 300}, {600, 302}, {580, 302}, {622, 340}}, 0.5},
		{"turned", []image.Point{{700, 330}, {672, 318}, {615, 300}, {590, 290}, {635, 355}}, 0.5},
		// Area averaging starts its cells at the crop's corner rather than
		// the frame's, so values move a little (0.7 on average here); a
		// crop taken one pixel off moves them by 1.7 in every case.
		{"close up", []image.Point{{800, 330}, {740, 330}, {600, 335}, {540, 335}, {670, 450}}, 1.2},
		{"half outside", []image.Point{{1290, 300}, {1270, 300}, {1230, 302}, {1210, 302}, {1252, 340}}, 0.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := gocv.NewMat()
			defer got.Close()
			pts, err := alignmentPoints(c.shape)
			if err != nil {
				t.Fatal(err)
			}
			if err := alignFace(blur, pts, &got); err != nil {
				t.Fatal(err)
			}
			want := wholeFrameChip(t, blur, c.shape)
			defer want.Close()
			diff := gocv.NewMat()
			defer diff.Close()
			gocv.AbsDiff(got, want, &diff)
			mean := diff.Mean()
			avg := (mean.Val1 + mean.Val2 + mean.Val3) / 3
			t.Logf("mean difference %.3f per value", avg)
			if avg > c.mean {
				t.Errorf("chip differs from the whole frame's by %.3f per value on average; want at most %v", avg, c.mean)
			}
			if c.name == "half outside" {
				// The chip's right part maps beyond the frame's right edge.
				gray := gocv.NewMat()
				defer gray.Close()
				gocv.CvtColor(got, &gray, gocv.ColorBGRToGray)
				right := gray.Region(image.Rect(ChipSize-10, 0, ChipSize, ChipSize))
				defer right.Close()
				if n := gocv.CountNonZero(right); n != 0 {
					t.Errorf("%d pixels beyond the frame are not black", n)
				}
			}
		})
	}
}

// wholeFrameChip is the chip cut the simple way: the similarity fitted on
// the frame's own coordinates, the whole frame shrunk when the face is large.
func wholeFrameChip(t *testing.T, img gocv.Mat, shape []image.Point) gocv.Mat {
	t.Helper()
	pts, err := alignmentPoints(shape)
	if err != nil {
		t.Fatal(err)
	}
	s, err := alignTransform(pts)
	if err != nil {
		t.Fatal(err)
	}
	src := img
	if sc := s.scale(); sc < 0.5 {
		size := image.Pt(int(math.Round(float64(img.Cols())*2*sc)), int(math.Round(float64(img.Rows())*2*sc)))
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(img, &small, size, 0, 0, gocv.InterpolationArea)
		for i := range pts {
			pts[i] = point{pts[i].X * float64(size.X) / float64(img.Cols()), pts[i].Y * float64(size.Y) / float64(img.Rows())}
		}
		if s, err = fitSimilarity(pts, dlibTemplate); err != nil {
			t.Fatal(err)
		}
		src = small
	}
	m := s.mat()
	defer m.Close()
	chip := gocv.NewMat()
	gocv.WarpAffineWithParams(src, &chip, m, image.Pt(ChipSize, ChipSize), gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	return chip
}
