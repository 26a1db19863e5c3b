package faces_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// enrolled caches each photo's enrolled face, since several tests compare
// against the same photos.
var enrolled sync.Map // photo name → faces.Face

func enrollPhoto(t *testing.T, name string) faces.Face {
	t.Helper()
	if f, ok := enrolled.Load(name); ok {
		return f.(faces.Face)
	}
	f, err := testEngine(t).Enroll(context.Background(), testenv.Photo(t, name))
	if err != nil {
		t.Fatalf("Enroll(%q): %v", name, err)
	}
	enrolled.Store(name, f)
	return f
}

func TestPhotoFaces(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		photo         string
		faces         int
		touchesBorder bool
	}{
		{"obama.jpg", 1, false},
		{"obama2.jpg", 1, false},
		{"obama3.jpg", 1, false},
		{"32bit.png", 1, false},
		{"biden.jpg", 1, false},
		// Half the face is cut off by the image's edge.
		{"obama_partial_face.jpg", 1, true},
		{"obama_partial_face2.jpg", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.photo, func(t *testing.T) {
			got, err := e.Detect(context.Background(), testenv.Photo(t, tt.photo))
			if err != nil {
				t.Fatalf("Detect(%q): %v", tt.photo, err)
			}
			if len(got) != tt.faces {
				t.Fatalf("Detect(%q) found %d faces; want %d", tt.photo, len(got), tt.faces)
			}
			f := got[0]
			t.Logf("%s: %v size %d touches border %v", tt.photo, f.Rect, f.Size, f.TouchesBorder)
			if f.TouchesBorder != tt.touchesBorder {
				t.Errorf("Detect(%q)[0].TouchesBorder = %v; want %v", tt.photo, f.TouchesBorder, tt.touchesBorder)
			}
			if want := min(f.Rect.Dx(), f.Rect.Dy()); f.Size != want {
				t.Errorf("Detect(%q)[0].Size = %d; want %d, the shorter side of %v", tt.photo, f.Size, want, f.Rect)
			}
			if f.Size < faces.DefaultMinFaceSize {
				t.Errorf("Detect(%q)[0].Size = %d; want at least %d", tt.photo, f.Size, faces.DefaultMinFaceSize)
			}
		})
	}
}

// TestSamePersonCloser checks every model on the test photos: each pair of
// photos of the same person is closer than the model's default threshold,
// each pair of different people farther, and so every same-person pair
// closer than every different-people pair.
func TestSamePersonCloser(t *testing.T) {
	var names []string
	person := map[string]string{}
	for who, photos := range testenv.People {
		for _, p := range photos {
			names = append(names, p)
			person[p] = who
		}
	}
	slices.Sort(names)
	models := testEngine(t).Models()
	if len(models) != len(faces.Models()) {
		t.Fatalf("the engine runs %d models; want every one of the %d known (run `make models`)", len(models), len(faces.Models()))
	}
	for _, m := range models {
		t.Run(m.Name, func(t *testing.T) {
			farthestSame, nearestOther := float32(0), float32(math.Inf(1))
			for i, a := range names {
				for _, b := range names[i+1:] {
					d := distance(t, m.Name, enrollPhoto(t, a), enrollPhoto(t, b))
					same := person[a] == person[b]
					t.Logf("%s distance(%s, %s) = %.3f (same person: %v)", m.Name, a, b, d, same)
					if same {
						farthestSame = max(farthestSame, d)
						if d >= m.Threshold {
							t.Errorf("%s distance(%s, %s) = %.3f; want < %v for the same person", m.Name, a, b, d, m.Threshold)
						}
					} else {
						nearestOther = min(nearestOther, d)
						if d <= m.Threshold {
							t.Errorf("%s distance(%s, %s) = %.3f; want > %v for different people", m.Name, a, b, d, m.Threshold)
						}
					}
				}
			}
			t.Logf("%s (%v): farthest same-person pair %.3f, nearest different-people pair %.3f", m.Name, m.Metric, farthestSame, nearestOther)
			if farthestSame >= nearestOther {
				t.Errorf("%s: a same-person pair is %.3f apart, a different-people pair %.3f; want every same-person pair closer",
					m.Name, farthestSame, nearestOther)
			}
		})
	}
}

// gradient is a picture with no face in it.
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(255 * x / w), uint8(255 * y / h), 128, 255})
		}
	}
	return img
}

// sideBySide puts two photos next to each other at the same height.
func sideBySide(t *testing.T, left, right string) image.Image {
	a, b := decodePhoto(t, left), decodePhoto(t, right)
	h := 1000
	wa := a.Bounds().Dx() * h / a.Bounds().Dy()
	wb := b.Bounds().Dx() * h / b.Bounds().Dy()
	out := image.NewRGBA(image.Rect(0, 0, wa+wb, h))
	draw.Draw(out, image.Rect(0, 0, wa, h), scaleImage(a, wa, h), image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(wa, 0, wa+wb, h), scaleImage(b, wb, h), image.Point{}, draw.Src)
	return out
}

func TestEnrollErrors(t *testing.T) {
	e := testEngine(t)
	// The lower half of biden.jpg: his suit, hands and the room.
	body := toRGBA(decodePhoto(t, "biden.jpg"))
	bodyOnly := body.SubImage(image.Rect(0, body.Bounds().Dy()/2, body.Bounds().Dx(), body.Bounds().Dy()))
	tests := []struct {
		name  string
		photo []byte
		want  error
	}{
		{"gradient", encodeJPEG(t, gradient(640, 480)), faces.ErrNoFace},
		{"no face in a photo", encodeJPEG(t, bodyOnly), faces.ErrNoFace},
		{"obama and biden", encodeJPEG(t, sideBySide(t, "obama.jpg", "biden.jpg")), faces.ErrManyFaces},
		{"empty", nil, faces.ErrCorruptImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := e.Enroll(context.Background(), tt.photo)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Enroll(%s) = %v, %v; want error %v", tt.name, f.Rect, err, tt.want)
			}
			t.Logf("Enroll(%s): %v", tt.name, err)
		})
	}
}

func TestDetectTwoPeople(t *testing.T) {
	e := testEngine(t)
	got, err := e.Detect(context.Background(), encodeJPEG(t, sideBySide(t, "obama.jpg", "biden.jpg")))
	if err != nil {
		t.Fatalf("Detect(obama and biden): %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("Detect(obama and biden) found %d faces; want 2", len(got))
	}
	if got[0].Size < got[1].Size {
		t.Errorf("Detect(obama and biden) sizes %d, %d; want largest first", got[0].Size, got[1].Size)
	}
	// Whoever is on the left is obama, and each face matches its own photo.
	left, right := got[0], got[1]
	if left.Rect.Min.X > right.Rect.Min.X {
		left, right = right, left
	}
	for _, m := range []struct {
		face  faces.Face
		photo string
	}{{left, "obama.jpg"}, {right, "biden.jpg"}} {
		for _, model := range testEngine(t).Models() {
			if d := distance(t, model.Name, m.face, enrollPhoto(t, m.photo)); d >= model.Threshold {
				t.Errorf("face at %v: %s distance to %s = %.3f; want < %v", m.face.Rect, model.Name, m.photo, d, model.Threshold)
			}
		}
	}
}

func TestEnrollFaceTooSmall(t *testing.T) {
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(t), Workers: 1, MinFaceSize: 400})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer e.Close()
	// obama.jpg's face is about 260 pixels.
	f, err := e.Enroll(context.Background(), testenv.Photo(t, "obama.jpg"))
	if !errors.Is(err, faces.ErrFaceTooSmall) {
		t.Fatalf("Enroll(obama.jpg) with MinFaceSize 400 = %v, %v; want %v", f.Rect, err, faces.ErrFaceTooSmall)
	}
}

func TestDetectNoFaceIsEmpty(t *testing.T) {
	got, err := testEngine(t).Detect(context.Background(), encodeJPEG(t, gradient(320, 240)))
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Detect(gradient) = %v (nil: %v), %v; want an empty slice and no error", got, got == nil, err)
	}
}

// TestConcurrentSameAsSerial runs 8 goroutines through a pool of 2 and
// checks that each gets the descriptors a lone call gets.
func TestConcurrentSameAsSerial(t *testing.T) {
	e := testEngine(t)
	photos := []string{"obama.jpg", "obama2.jpg", "biden.jpg", "32bit.png"}
	want := map[string][]faces.Face{}
	for _, p := range photos {
		got, err := e.Detect(context.Background(), testenv.Photo(t, p))
		if err != nil {
			t.Fatalf("Detect(%q): %v", p, err)
		}
		want[p] = got
	}
	const goroutines = 8
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			p := photos[g%len(photos)]
			got, err := e.Detect(context.Background(), testenv.Photo(t, p))
			errs <- compareFaces(p, got, err, want[p])
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func compareFaces(photo string, got []faces.Face, err error, want []faces.Face) error {
	if err != nil {
		return fmt.Errorf("Detect(%q): %v", photo, err)
	}
	if len(got) != len(want) {
		return fmt.Errorf("Detect(%q) found %d faces; want %d", photo, len(got), len(want))
	}
	for i := range got {
		if got[i].Rect != want[i].Rect {
			return fmt.Errorf("Detect(%q)[%d].Rect = %v; want %v", photo, i, got[i].Rect, want[i].Rect)
		}
		if len(got[i].Descriptors) != len(want[i].Descriptors) {
			return fmt.Errorf("Detect(%q)[%d]: %d descriptors; want %d", photo, i, len(got[i].Descriptors), len(want[i].Descriptors))
		}
		for j, d := range got[i].Descriptors {
			if w := want[i].Descriptors[j]; d.Model != w.Model || !slices.Equal(d.Values, w.Values) {
				return fmt.Errorf("Detect(%q)[%d]: %s descriptor differs from a lone call's; want identical", photo, i, d.Model)
			}
		}
	}
	return nil
}

func TestDetectImage(t *testing.T) {
	e := testEngine(t)
	want := enrollPhoto(t, "obama2.jpg")
	full := toRGBA(decodePhoto(t, "obama2.jpg"))
	// A sub-image keeps its parent's coordinates; so must the face.
	crop := full.SubImage(image.Rect(60, 100, full.Bounds().Dx(), full.Bounds().Dy()))
	for _, tt := range []struct {
		name string
		img  image.Image
		tol  int
	}{
		{"whole", full, 2},
		// BlazeFace sees the image letterboxed into a square, so
		// cropping moves the face within what it sees, and its box by
		// up to 7% of the face (19 of 300 pixels here); forgetting the
		// offset would move it by (60,100).
		{"sub-image at (60,100)", crop, 24},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.DetectImage(context.Background(), tt.img)
			if err != nil || len(got) != 1 {
				t.Fatalf("DetectImage(%s) = %d faces, %v; want 1", tt.name, len(got), err)
			}
			if !closeRect(got[0].Rect, want.Rect, tt.tol) {
				t.Errorf("DetectImage(%s)[0].Rect = %v; want %v within %d pixels", tt.name, got[0].Rect, want.Rect, tt.tol)
			}
			d := checkNear(t, e, "DetectImage("+tt.name+")", got[0], want, 0.12)
			t.Logf("DetectImage(%s): %v, %v from the JPEG's descriptors", tt.name, got[0].Rect, d)
		})
	}
	for _, tt := range []struct {
		name string
		img  image.Image
	}{
		{"nil", nil},
		{"empty", image.NewRGBA(image.Rect(5, 5, 5, 9))},
	} {
		if _, err := e.DetectImage(context.Background(), tt.img); !errors.Is(err, faces.ErrCorruptImage) {
			t.Errorf("DetectImage(%s) error = %v; want %v", tt.name, err, faces.ErrCorruptImage)
		}
	}
}

// TestEnrollFallsBackOnCNN enrolls a photo in which dlib's HOG detector
// finds no face — biden.jpg squeezed to half its width, as a face turned
// away from the camera looks narrower — but its CNN detector does, with the
// HOG detector chosen.
func TestEnrollFallsBackOnCNN(t *testing.T) {
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(t), Workers: 1, Detector: faces.DetectorHOG})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	bgr, err := gocv.IMDecode(testenv.Photo(t, "biden.jpg"), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer bgr.Close()
	narrow := gocv.NewMat()
	defer narrow.Close()
	gocv.Resize(bgr, &narrow, image.Pt(bgr.Cols()/2, bgr.Rows()), 0, 0, gocv.InterpolationArea)
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, narrow)
	if err != nil {
		t.Fatal(err)
	}
	photo := bytes.Clone(buf.GetBytes())
	buf.Close()

	if hog, err := e.Detect(context.Background(), photo); err != nil || len(hog) != 0 {
		t.Fatalf("Detect(narrow biden.jpg) = %d faces, %v; want none from the HOG detector, or the test proves nothing", len(hog), err)
	}
	got, err := e.Enroll(context.Background(), photo)
	if err != nil {
		t.Fatalf("Enroll(narrow biden.jpg): %v; want the face the CNN detector finds", err)
	}
	t.Logf("Enroll(narrow biden.jpg): %v, size %d", got.Rect, got.Size)
	if len(got.Descriptors) != len(e.Models()) {
		t.Errorf("Enroll(narrow biden.jpg) gave %d descriptors; want one for each of %d models", len(got.Descriptors), len(e.Models()))
	}
	if !got.Rect.Overlaps(image.Rect(0, 0, narrow.Cols(), narrow.Rows())) || got.Size < faces.DefaultMinFaceSize {
		t.Errorf("Enroll(narrow biden.jpg) = %v size %d; want a face inside the photo", got.Rect, got.Size)
	}
}

// TestLargestFace gives a lane's frame with two people: only the larger
// face, the one at the turnstile, is described.
func TestLargestFace(t *testing.T) {
	e := testEngine(t)
	pair := sideBySide(t, "obama.jpg", "biden.jpg")
	frame, err := gocv.IMDecode(encodeJPEG(t, pair), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer frame.Close()
	all, err := e.DetectMat(context.Background(), frame)
	if err != nil || len(all) != 2 {
		t.Fatalf("DetectMat(obama and biden) = %d faces, %v; want 2", len(all), err)
	}
	got, ok, err := e.LargestFace(context.Background(), frame, faces.DefaultMinFaceSize)
	if err != nil || !ok {
		t.Fatalf("LargestFace(obama and biden) = %v, %v; want a face", ok, err)
	}
	// The face is found on one grey channel, then go-face finds it again
	// in the part of the frame around it: the box may be a step of the
	// detector's pyramid, a sixth, larger or smaller; the landmarks, fitted
	// to the face, are near DetectMat's.
	if d := got.Rect.Min.Sub(all[0].Rect.Min); abs(d.X) > all[0].Size/6 || abs(d.Y) > all[0].Size/6 || abs(got.Size-all[0].Size) > all[0].Size/6 {
		t.Errorf("LargestFace(obama and biden).Rect = %v; want the largest, %v, within %d pixels", got.Rect, all[0].Rect, all[0].Size/6)
	}
	for i, p := range got.Landmarks {
		if d := p.Sub(all[0].Landmarks[i]); abs(d.X) > 3 || abs(d.Y) > 3 {
			t.Errorf("LargestFace landmark %d = %v; want DetectMat's %v within 3 pixels", i, p, all[0].Landmarks[i])
		}
	}
	if got.TouchesBorder != all[0].TouchesBorder {
		t.Errorf("LargestFace.TouchesBorder = %v; DetectMat says %v", got.TouchesBorder, all[0].TouchesBorder)
	}
	if len(got.Descriptors) != len(e.Models()) {
		t.Fatalf("LargestFace gave %d descriptors; want %d", len(got.Descriptors), len(e.Models()))
	}
	t.Logf("LargestFace: %v, descriptors this far from DetectMat's: %v", got.Rect, checkNear(t, e, "LargestFace(obama and biden)", got, all[0], 0.25))
	// A face at the frame's edge: go-face is given what there is of the
	// frame around it, and the face says it touches the edge.
	edge := frame.Region(image.Rect(max(0, all[0].Rect.Min.X+4), 0, frame.Cols(), frame.Rows()))
	defer edge.Close()
	atEdge, ok, err := e.LargestFace(context.Background(), edge, faces.DefaultMinFaceSize)
	if err != nil || !ok || !atEdge.TouchesBorder || len(atEdge.Descriptors) != len(e.Models()) {
		t.Fatalf("LargestFace(a face cut by the frame's edge) = %v, TouchesBorder %v, %d descriptors, %v; want a described face touching the border",
			ok, atEdge.TouchesBorder, len(atEdge.Descriptors), err)
	}
	t.Logf("LargestFace(a face cut by the frame's edge): %v, descriptors this far from the whole face's: %v", atEdge.Rect, checkNear(t, e, "LargestFace(a face cut by the frame's edge)", atEdge, got, 0.5))
	// A face below the lane's minimum size is not worth describing.
	small, ok, err := e.LargestFace(context.Background(), frame, all[0].Size*5/4)
	if err != nil || ok || len(small.Descriptors) != 0 {
		t.Errorf("LargestFace(minSize %d) = %v with %d descriptors, %v; want no face", all[0].Size*5/4, ok, len(small.Descriptors), err)
	}
}

// TestLargestFaceWithoutDlib gives the same frame to an engine that runs
// ONNX models only, as a gate's does: its LargestFace finds the faces on the
// frame's own pixels (no JPEG) and describes only the largest, and finds
// what DetectMat finds, also when the frame is scaled down to MaxSide.
func TestLargestFaceWithoutDlib(t *testing.T) {
	pair := sideBySide(t, "obama.jpg", "biden.jpg")
	frame, err := gocv.IMDecode(encodeJPEG(t, pair), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer frame.Close()
	for _, maxSide := range []int{0, 800} {
		e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(t), Workers: 1, MaxSide: maxSide,
			Models: []string{faces.MobileFaceNet, faces.FRFeature}})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		all, err := e.DetectMat(context.Background(), frame)
		if err != nil || len(all) != 2 {
			t.Fatalf("MaxSide %d: DetectMat(obama and biden) = %d faces, %v; want 2", maxSide, len(all), err)
		}
		got, ok, err := e.LargestFace(context.Background(), frame, faces.DefaultMinFaceSize)
		if err != nil || !ok {
			t.Fatalf("MaxSide %d: LargestFace(obama and biden) = %v, %v; want a face", maxSide, ok, err)
		}
		what := fmt.Sprintf("MaxSide %d: LargestFace(obama and biden)", maxSide)
		if d := got.Rect.Min.Sub(all[0].Rect.Min); abs(d.X) > 2 || abs(d.Y) > 2 || abs(got.Size-all[0].Size) > 2 {
			t.Errorf("%s.Rect = %v; want DetectMat's largest, %v, within 2 pixels", what, got.Rect, all[0].Rect)
		}
		for i, p := range got.Landmarks {
			if d := p.Sub(all[0].Landmarks[i]); abs(d.X) > 3 || abs(d.Y) > 3 {
				t.Errorf("%s landmark %d = %v; want DetectMat's %v within 3 pixels", what, i, p, all[0].Landmarks[i])
			}
		}
		if len(got.Descriptors) != len(e.Models()) {
			t.Fatalf("%s gave %d descriptors; want %d", what, len(got.Descriptors), len(e.Models()))
		}
		// Only JPEG re-encoding (DetectMat's) tells the two apart.
		t.Logf("%s: %v, descriptors this far from DetectMat's: %v", what, got.Rect, checkNear(t, e, what, got, all[0], 0.25))
		// A minSize that lets the detector look at a shrunk frame finds the
		// same face, its landmarks placed on the full frame.
		shrinkFor := all[0].Size * 3 / 4
		if workingPixels(frame, maxSide, shrinkFor) <= 250.0/3 { // hogFace: below it the detector sees the whole frame
			t.Fatalf("%s: the largest face, %d pixels, is too small to test shrinking with", what, all[0].Size)
		}
		shrunk, ok, err := e.LargestFace(context.Background(), frame, shrinkFor)
		if err != nil || !ok {
			t.Fatalf("%s with minSize %d = %v, %v; want a face", what, shrinkFor, ok, err)
		}
		// The detector's rectangles come in steps of its image pyramid, a
		// sixth apart, so a face found at another scale may be a step larger
		// or smaller; the landmarks do not depend on that.
		if d := shrunk.Rect.Min.Sub(got.Rect.Min); abs(d.X) > got.Size/6 || abs(d.Y) > got.Size/6 || abs(shrunk.Size-got.Size) > got.Size/6 {
			t.Errorf("%s with minSize %d: Rect = %v; want %v within %d pixels", what, shrinkFor, shrunk.Rect, got.Rect, got.Size/6)
		}
		for i, p := range shrunk.Landmarks {
			if d := p.Sub(got.Landmarks[i]); abs(d.X) > 4 || abs(d.Y) > 4 {
				t.Errorf("%s with minSize %d: landmark %d = %v; want %v within 4 pixels", what, shrinkFor, i, p, got.Landmarks[i])
			}
		}
		t.Logf("%s with minSize %d: %v, descriptors this far from the full frame's: %v", what, shrinkFor, shrunk.Rect, checkNear(t, e, what+" shrunk", shrunk, got, 0.25))
		tooLarge := all[0].Size * 5 / 4
		small, ok, err := e.LargestFace(context.Background(), frame, tooLarge)
		if err != nil || ok || len(small.Descriptors) != 0 {
			t.Errorf("MaxSide %d: LargestFace(minSize %d) = %v with %d descriptors, %v; want no face", maxSide, tooLarge, ok, len(small.Descriptors), err)
		}
	}
}

func abs(v int) int { return max(v, -v) }

// workingPixels is how many pixels n pixels of frame become in the engine
// with the given Config.MaxSide (0: the default), where a shrink is decided.
func workingPixels(frame gocv.Mat, maxSide, n int) float64 {
	if maxSide == 0 {
		maxSide = faces.DefaultMaxSide
	}
	return float64(n) * min(1, float64(maxSide)/float64(max(frame.Cols(), frame.Rows())))
}
