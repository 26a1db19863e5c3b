package faces

import (
	"context"
	"image"
	"math"
	"slices"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

func TestBlazeFaceAnchors(t *testing.T) {
	a := blazeFaceAnchors()
	if len(a) != 896 {
		t.Fatalf("%d anchors; want the model's 896", len(a))
	}
	for _, c := range []struct {
		i    int
		want anchor
	}{
		{0, anchor{1.0 / 32, 1.0 / 32}},     // stride 8, first cell, first anchor
		{1, anchor{1.0 / 32, 1.0 / 32}},     // its second anchor
		{2, anchor{3.0 / 32, 1.0 / 32}},     // the next cell along the row
		{32, anchor{1.0 / 32, 3.0 / 32}},    // the second row
		{511, anchor{31.0 / 32, 31.0 / 32}}, // the last of stride 8
		{512, anchor{1.0 / 16, 1.0 / 16}},   // stride 16: six anchors a cell
		{517, anchor{1.0 / 16, 1.0 / 16}},
		{518, anchor{3.0 / 16, 1.0 / 16}},
		{895, anchor{15.0 / 16, 15.0 / 16}},
	} {
		if got := a[c.i]; math.Abs(got.x-c.want.x) > 1e-12 || math.Abs(got.y-c.want.y) > 1e-12 {
			t.Errorf("anchor %d = %v; want %v", c.i, got, c.want)
		}
	}
}

func TestSuppress(t *testing.T) {
	box := func(x, y, side, score float64) detection {
		d := detection{x0: x, y0: y, x1: x + side, y1: y + side, score: score}
		for k := range d.kp {
			d.kp[k] = point{x + side/2, y + side/2}
		}
		return d
	}
	got := suppress([]detection{
		box(0, 0, 100, 0.6),
		box(300, 300, 50, 0.7), // another face
		box(10, 0, 100, 0.9),   // the first face, seen at the next anchor
	})
	if len(got) != 2 {
		t.Fatalf("suppress gave %d faces; want 2: %+v", len(got), got)
	}
	if got[0].score != 0.9 || got[1].score != 0.7 {
		t.Errorf("scores %v, %v; want the best of each face, highest first: 0.9, 0.7", got[0].score, got[1].score)
	}
	// The score-weighted mean of x0: (0.6·0 + 0.9·10) / 1.5 = 6.
	if math.Abs(got[0].x0-6) > 1e-9 || math.Abs(got[0].kp[kpNoseTip].X-56) > 1e-9 {
		t.Errorf("merged face x0 %v, nose x %v; want the weighted means 6 and 56", got[0].x0, got[0].kp[kpNoseTip].X)
	}
	if got[1].x0 != 300 {
		t.Errorf("the lone face moved to x0 %v; want 300", got[1].x0)
	}
}

func TestTileStarts(t *testing.T) {
	for _, c := range []struct {
		length, side int
		want         []int
	}{
		{1280, 720, []int{0, 360, 560}},
		{720, 720, []int{0}},
		{500, 800, []int{0}},
		{1000, 400, []int{0, 200, 400, 600}},
	} {
		if got := tileStarts(c.length, c.side); !slices.Equal(got, c.want) {
			t.Errorf("tileStarts(%d, %d) = %v; want %v", c.length, c.side, got, c.want)
		}
	}
}

// turned returns photo turned by deg degrees about its centre, on a canvas
// large enough to hold all of it. The caller closes it.
func turned(t *testing.T, photo []byte, deg float64) gocv.Mat {
	t.Helper()
	img, err := gocv.IMDecode(photo, gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	side := int(math.Hypot(float64(img.Cols()), float64(img.Rows())))
	rad := deg * math.Pi / 180
	s := similarity{A: math.Cos(rad), B: math.Sin(rad)}
	c := point{float64(img.Cols()) / 2, float64(img.Rows()) / 2}
	at := s.apply(c)
	s.TX, s.TY = float64(side)/2-at.X, float64(side)/2-at.Y
	out := gocv.NewMat()
	if err := warpSimilarity(img, s, side, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBlazeFaceFindsWhatHOGMisses turns a test photo far enough that dlib's
// HOG detector, which looks for an upright face, finds nothing, and covers
// the lower half of a face as a mask or a hand would: BlazeFace finds both,
// and aligned on FaceMesh's points the turned face is described as the same
// person.
func TestBlazeFaceFindsWhatHOGMisses(t *testing.T) {
	dir := testenv.ModelDir(t)
	blaze, err := Open(Config{ModelDir: dir, Workers: 1, Models: []string{MobileFaceNet}, Detector: DetectorBlazeFace})
	if err != nil {
		t.Fatal(err)
	}
	defer blaze.Close()
	hog, err := Open(Config{ModelDir: dir, Workers: 1, Models: []string{MobileFaceNet}, Detector: DetectorHOG})
	if err != nil {
		t.Fatal(err)
	}
	defer hog.Close()
	ctx := context.Background()
	m, _ := Lookup(MobileFaceNet)
	upright, err := blaze.Detect(ctx, testenv.Photo(t, "obama.jpg"))
	if err != nil || len(upright) != 1 {
		t.Fatalf("Detect(obama.jpg) = %d faces, %v; want 1", len(upright), err)
	}
	other, err := blaze.Detect(ctx, testenv.Photo(t, "biden.jpg"))
	if err != nil || len(other) != 1 {
		t.Fatalf("Detect(biden.jpg) = %d faces, %v; want 1", len(other), err)
	}

	for _, deg := range []float64{-50, 55} {
		frame := turned(t, testenv.Photo(t, "obama.jpg"), deg)
		defer frame.Close()
		if got, err := hog.DetectMat(ctx, frame); err != nil || len(got) != 0 {
			t.Fatalf("HOG found %d faces in obama.jpg turned %v°, %v; want none, or the test proves nothing", len(got), deg, err)
		}
		got, err := blaze.DetectMat(ctx, frame)
		if err != nil || len(got) != 1 {
			t.Fatalf("BlazeFace found %d faces in obama.jpg turned %v°, %v; want 1", len(got), deg, err)
		}
		// The eyes' line is turned by deg too: the person's right eye
		// first, left second.
		eyes := got[0].Landmarks
		angle := math.Atan2(float64(eyes[1].Y-eyes[0].Y), float64(eyes[1].X-eyes[0].X)) * 180 / math.Pi
		if math.Abs(angle-deg) > 8 {
			t.Errorf("turned %v°: the eyes' line is at %.1f°; want within 8° of it", deg, angle)
		}
		same := m.Distance(got[0].Descriptor(MobileFaceNet), upright[0].Descriptor(MobileFaceNet))
		diff := m.Distance(got[0].Descriptor(MobileFaceNet), other[0].Descriptor(MobileFaceNet))
		t.Logf("turned %v°: eyes at %.1f°, distance to upright %.3f, to biden %.3f", deg, angle, same, diff)
		if same > m.Threshold/2 || diff < m.Threshold {
			t.Errorf("turned %v°: distance to the upright photo %.3f, to another person %.3f; want below %.2f and above %.2f",
				deg, same, diff, m.Threshold/2, m.Threshold)
		}
	}

	// The mouth and chin covered in grey.
	img, err := gocv.IMDecode(testenv.Photo(t, "obama.jpg"), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	r := upright[0].Rect
	cover := img.Region(image.Rect(r.Min.X-20, r.Min.Y+r.Dy()*3/5, r.Max.X+20, r.Max.Y+40).Intersect(image.Rect(0, 0, img.Cols(), img.Rows())))
	cover.SetTo(gocv.NewScalar(128, 128, 128, 0))
	cover.Close()
	got, err := blaze.DetectMat(ctx, img)
	if err != nil || len(got) != 1 {
		t.Fatalf("BlazeFace found %d faces in obama.jpg with the mouth covered, %v; want 1", len(got), err)
	}
	if !got[0].Rect.Overlaps(r) {
		t.Errorf("covered face at %v; want where the face is, %v", got[0].Rect, r)
	}
	t.Logf("mouth covered: %v; distance to the uncovered photo %.3f", got[0].Rect,
		m.Distance(got[0].Descriptor(MobileFaceNet), upright[0].Descriptor(MobileFaceNet)))
}

// blazeAndPortrait returns a BlazeFace engine and obama.jpg's head and
// shoulders, 470 pixels square with a face of about 276, both closed when
// the test ends.
func blazeAndPortrait(t *testing.T) (*Engine, gocv.Mat) {
	t.Helper()
	e, err := Open(Config{ModelDir: testenv.ModelDir(t), Workers: 1, Models: []string{MobileFaceNet}, Detector: DetectorBlazeFace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	full, err := gocv.IMDecode(testenv.Photo(t, "obama.jpg"), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	photo := full.Region(image.Rect(250, 50, 720, 520))
	t.Cleanup(func() { photo.Close(); full.Close() })
	return e, photo
}

// TestLargestFaceLooksInTiles puts a face of a little more than min-face in
// the corner of a 1280x720 frame: too small for BlazeFace looking at the
// whole frame at once, so the lane finds it in the tiles; one smaller than
// min-face is not taken.
func TestLargestFaceLooksInTiles(t *testing.T) {
	e, photo := blazeAndPortrait(t)
	for _, c := range []struct {
		scale   float64
		minFace int
		want    bool
	}{{0.5, 120, true}, {0.35, 120, false}} {
		frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 100, 110, 0), 720, 1280, gocv.MatTypeCV8UC3)
		small := gocv.NewMat()
		gocv.Resize(photo, &small, image.Pt(int(float64(photo.Cols())*c.scale), int(float64(photo.Rows())*c.scale)), 0, 0, gocv.InterpolationArea)
		at := image.Rect(1280-small.Cols()-20, 720-small.Rows(), 1280-20, 720)
		dst := frame.Region(at)
		small.CopyTo(&dst)
		dst.Close()
		small.Close()
		whole, err := e.blazeOnly(frame)
		if err != nil {
			t.Fatal(err)
		}
		f, ok, err := e.LargestFace(context.Background(), frame, c.minFace)
		frame.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("scale %.2f: %d faces seen in the whole frame; LargestFace %v %v size %d", c.scale, whole, ok, f.Rect, f.Size)
		if ok != c.want {
			t.Errorf("LargestFace(face at %.2f of obama.jpg, min-face %d) = %v; want %v", c.scale, c.minFace, ok, c.want)
		}
		if c.want && whole != 0 {
			t.Errorf("the whole frame at once showed %d faces; want none, or the test proves nothing about tiles", whole)
		}
		if ok && (!f.Rect.Overlaps(at) || f.Size < c.minFace || len(f.Descriptors) != 1) {
			t.Errorf("LargestFace = %v size %d with %d descriptors; want the face in %v", f.Rect, f.Size, len(f.Descriptors), at)
		}
	}
}

// TestLargestFaceNearLooksOnce puts a face that one look at the whole
// 1280x720 frame cannot find in it: LargestFace needs the tiles, and
// LargestFaceNear, told where the face was a frame before, finds the same
// face in one look; told a place where it is not, it still finds it.
func TestLargestFaceNearLooksOnce(t *testing.T) {
	e, photo := blazeAndPortrait(t)
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 100, 110, 0), 720, 1280, gocv.MatTypeCV8UC3)
	defer frame.Close()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(photo, &small, image.Pt(photo.Cols()/2, photo.Rows()/2), 0, 0, gocv.InterpolationArea)
	at := image.Rect(700, 200, 700+small.Cols(), 200+small.Rows())
	dst := frame.Region(at)
	small.CopyTo(&dst)
	dst.Close()

	ctx := context.Background()
	m, _ := Lookup(MobileFaceNet)
	looks := func(find func() (Face, bool, error)) (Face, int) {
		t.Helper()
		w, err := e.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		before := w.blaze.looks
		e.release(w)
		f, ok, err := find()
		if err != nil || !ok {
			t.Fatalf("no face: %v", err)
		}
		w, _ = e.acquire(ctx)
		defer e.release(w)
		return f, w.blaze.looks - before
	}
	first, n := looks(func() (Face, bool, error) { return e.LargestFace(ctx, frame, 120) })
	if n < 2 {
		t.Fatalf("LargestFace looked %d times; want the whole frame and tiles, or the test proves nothing", n)
	}
	again, n := looks(func() (Face, bool, error) { return e.LargestFaceNear(ctx, frame, 120, first.Rect) })
	if n != 1 {
		t.Errorf("LargestFaceNear(where the face was) looked %d times; want 1", n)
	}
	if !again.Rect.Overlaps(first.Rect) || m.Distance(again.Descriptor(MobileFaceNet), first.Descriptor(MobileFaceNet)) > 0.05 {
		t.Errorf("LargestFaceNear found %v; want the face LargestFace found at %v, described alike", again.Rect, first.Rect)
	}
	elsewhere, n := looks(func() (Face, bool, error) {
		return e.LargestFaceNear(ctx, frame, 120, image.Rect(20, 20, 180, 180))
	})
	if !elsewhere.Rect.Overlaps(first.Rect) || n < 3 {
		t.Errorf("LargestFaceNear(a corner with no face) found %v in %d looks; want the face at %v, after looking at the whole frame", elsewhere.Rect, n, first.Rect)
	}
}

// blazeOnly counts the faces BlazeFace finds looking at the whole of img at
// once, without tiles.
func (e *Engine) blazeOnly(img gocv.Mat) (int, error) {
	w, err := e.acquire(context.Background())
	if err != nil {
		return 0, err
	}
	defer e.release(w)
	long := max(img.Cols(), img.Rows())
	found, err := w.blaze.detectSquare(img, image.Pt((img.Cols()-long)/2, (img.Rows()-long)/2), long)
	return len(suppress(found)), err
}
