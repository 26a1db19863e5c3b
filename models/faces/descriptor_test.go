package faces

import (
	"context"
	"testing"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// TestDescriptorsSayHowTheyWereAligned: an ONNX model's descriptors are
// tagged five-point with BlazeFace and dlib-landmark with HOG, and dlib's
// own always dlib-landmark, so that a gate never compares a face aligned
// one way with faces aligned the other.
func TestDescriptorsSayHowTheyWereAligned(t *testing.T) {
	for _, c := range []struct{ detector, model, want string }{
		{DetectorBlazeFace, MobileFaceNet, AlignFivePoint},
		{DetectorBlazeFace, FRFeature, AlignFivePoint},
		{DetectorBlazeFace, Dlib, AlignDlib},
		{DetectorHOG, MobileFaceNet, AlignDlib},
		{DetectorHOG, Dlib, AlignDlib},
		{"", Dlib, AlignDlib},
	} {
		if got := Alignment(c.detector, c.model); got != c.want {
			t.Errorf("Alignment(%q, %q) = %q; want %q", c.detector, c.model, got, c.want)
		}
	}

	dir := testenv.ModelDir(t)
	photo := testenv.Photo(t, "obama.jpg")
	got := map[string][]Descriptor{}
	for _, detector := range Detectors() {
		e, err := Open(Config{ModelDir: dir, Workers: 1, Models: []string{Dlib, MobileFaceNet}, Detector: detector})
		if err != nil {
			t.Fatal(err)
		}
		f, err := e.Enroll(context.Background(), photo)
		e.Close()
		if err != nil {
			t.Fatalf("%s: Enroll(obama.jpg): %v", detector, err)
		}
		for _, d := range f.Descriptors {
			if want := Alignment(detector, d.Model); d.Alignment != want {
				t.Errorf("%s: %s descriptor aligned %q; want %q", detector, d.Model, d.Alignment, want)
			}
		}
		if len(f.Descriptors) != 2 {
			t.Fatalf("%s: %d descriptors; want dlib's and mobilefacenet's", detector, len(f.Descriptors))
		}
		got[detector] = f.Descriptors
	}
	m, _ := Lookup(MobileFaceNet)
	t.Logf("mobilefacenet, one photo aligned both ways: distance %.3f (threshold %.2f)",
		m.Distance(got[DetectorHOG][1].Values, got[DetectorBlazeFace][1].Values), m.Threshold)
}
