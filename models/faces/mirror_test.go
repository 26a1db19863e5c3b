package faces

import (
	"context"
	"image"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// TestFivePointDescriptorsFuseTheMirror: a face aligned on five points is
// described with its mirror image fused in, so a photo and the same photo
// mirrored give nearly one descriptor; without the mirror they are
// measurably apart.
func TestFivePointDescriptorsFuseTheMirror(t *testing.T) {
	e, err := Open(Config{ModelDir: testenv.ModelDir(t), Workers: 1, Models: []string{MobileFaceNet}, Detector: DetectorBlazeFace})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	m, _ := Lookup(MobileFaceNet)
	for _, name := range []string{"obama.jpg", "biden.jpg", "obama2.jpg"} {
		photo, err := gocv.IMDecode(testenv.Photo(t, name), gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		// Small enough for the engine to work on at its own size, so that
		// describeOnce can cut the chip from it.
		img := gocv.NewMat()
		gocv.Resize(photo, &img, fitWithin(image.Pt(photo.Cols(), photo.Rows()), 1000), 0, 0, gocv.InterpolationArea)
		photo.Close()
		mirrored := gocv.NewMat()
		gocv.Flip(img, &mirrored, 1)
		a, errA := e.DetectMat(context.Background(), img)
		b, errB := e.DetectMat(context.Background(), mirrored)
		if errA != nil || errB != nil || len(a) != 1 || len(b) != 1 {
			t.Fatalf("%s: %d and %d faces, %v, %v; want one each", name, len(a), len(b), errA, errB)
		}
		fused := m.Distance(a[0].Descriptor(MobileFaceNet), b[0].Descriptor(MobileFaceNet))
		single := m.Distance(e.describeOnce(t, img, a[0]), e.describeOnce(t, mirrored, b[0]))
		img.Close()
		mirrored.Close()
		t.Logf("%s and its mirror: %.4f apart fused with the mirror, %.4f without", name, fused, single)
		if fused > single/2 {
			t.Errorf("%s and its mirror: %.4f apart; want under half of %.4f, their distance without the mirror fused", name, fused, single)
		}
	}
}

// describeOnce describes f, found in img (small enough to be worked on at
// its own size), from its aligned chip alone, without the mirror.
func (e *Engine) describeOnce(t *testing.T, img gocv.Mat, f Face) []float32 {
	t.Helper()
	w, err := e.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.release(w)
	chip := gocv.NewMat()
	defer chip.Close()
	if err := alignFace(img, f.align, &chip); err != nil {
		t.Fatal(err)
	}
	v, err := w.onnx[0].embed(chip)
	if err != nil {
		t.Fatal(err)
	}
	normalize(v)
	return v
}
