package faces_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"sync"
	"testing"

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

func TestSamePersonCloser(t *testing.T) {
	var names []string
	person := map[string]string{}
	for who, photos := range testenv.People {
		for _, p := range photos {
			names = append(names, p)
			person[p] = who
		}
	}
	for i, a := range names {
		for _, b := range names[i+1:] {
			d := faces.Distance(enrollPhoto(t, a).Descriptor, enrollPhoto(t, b).Descriptor)
			same := person[a] == person[b]
			t.Logf("Distance(%s, %s) = %.3f (same person: %v)", a, b, d, same)
			if same && d >= faces.DlibThreshold {
				t.Errorf("Distance(%s, %s) = %.3f; want < %v for the same person", a, b, d, faces.DlibThreshold)
			}
			if !same && d <= faces.DlibThreshold {
				t.Errorf("Distance(%s, %s) = %.3f; want > %v for different people", a, b, d, faces.DlibThreshold)
			}
		}
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
		if d := faces.Distance(m.face.Descriptor, enrollPhoto(t, m.photo).Descriptor); d >= faces.DlibThreshold {
			t.Errorf("face at %v: Distance to %s = %.3f; want < %v", m.face.Rect, m.photo, d, faces.DlibThreshold)
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
		if d := faces.Distance(got[i].Descriptor, want[i].Descriptor); d > 1e-5 {
			return fmt.Errorf("Detect(%q)[%d]: descriptor %.2g away from a lone call's; want identical", photo, i, d)
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
		// HOG cells are 8 pixels, so cropping may move the box by a
		// cell or so; forgetting the offset would move it by (60,100).
		{"sub-image at (60,100)", crop, 12},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.DetectImage(context.Background(), tt.img)
			if err != nil || len(got) != 1 {
				t.Fatalf("DetectImage(%s) = %d faces, %v; want 1", tt.name, len(got), err)
			}
			if !closeRect(got[0].Rect, want.Rect, tt.tol) {
				t.Errorf("DetectImage(%s)[0].Rect = %v; want %v within %d pixels", tt.name, got[0].Rect, want.Rect, tt.tol)
			}
			d := faces.Distance(got[0].Descriptor, want.Descriptor)
			t.Logf("DetectImage(%s): %v, %.4f from the JPEG's descriptor", tt.name, got[0].Rect, d)
			if d > 0.05 {
				t.Errorf("DetectImage(%s): descriptor %.3f from the JPEG's; want < 0.05", tt.name, d)
			}
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
