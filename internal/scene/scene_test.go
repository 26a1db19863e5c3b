package scene_test

import (
	"bytes"
	"context"
	"image"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/scene"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// TestVisitorFaceSize places a photo's face at a chosen size and finds it
// there again, at that size and place; the same seeds give the same pixels.
func TestVisitorFaceSize(t *testing.T) {
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(t), Workers: 1, Models: []string{faces.Dlib}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	photo := gocv.IMRead(testenv.PhotoPath(t, "obama2.jpg"), gocv.IMReadColor)
	defer photo.Close()
	found, err := e.DetectMat(context.Background(), photo)
	if err != nil || len(found) != 1 {
		t.Fatalf("DetectMat(obama2.jpg) = %d faces, %v; want 1", len(found), err)
	}
	for _, tc := range []struct {
		w, h, size int
	}{{640, 480, 120}, {640, 480, 200}, {1280, 720, 300}} {
		s := scene.New(tc.w, tc.h, 1)
		frame, err := s.Visitor(photo, found[0].Rect, tc.size, 7)
		if err != nil {
			t.Fatal(err)
		}
		if frame.Cols() != tc.w || frame.Rows() != tc.h {
			t.Fatalf("Visitor frame is %dx%d; want %dx%d", frame.Cols(), frame.Rows(), tc.w, tc.h)
		}
		got, err := e.DetectMat(context.Background(), frame)
		if err != nil || len(got) != 1 {
			t.Fatalf("%dx%d face %d: DetectMat = %d faces, %v; want 1", tc.w, tc.h, tc.size, len(got), err)
		}
		r := got[0].Rect
		centre := image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
		want := image.Pt(tc.w/2, int(float64(tc.h)*scene.FaceY))
		if d := r.Dx() - tc.size; d < -tc.size/8 || d > tc.size/8 {
			t.Errorf("%dx%d: face found %d pixels wide; want %d", tc.w, tc.h, r.Dx(), tc.size)
		}
		if d := centre.Sub(want); d.X*d.X+d.Y*d.Y > tc.size*tc.size/64 {
			t.Errorf("%dx%d: face centred at %v; want %v", tc.w, tc.h, centre, want)
		}
		again, _ := s.Visitor(photo, found[0].Rect, tc.size, 7)
		if !bytes.Equal(frame.ToBytes(), again.ToBytes()) {
			t.Errorf("%dx%d: the same seeds gave other pixels", tc.w, tc.h)
		}
		frame.Close()
		again.Close()
	}
	empty, other := scene.New(640, 480, 1).Empty(1), scene.New(640, 480, 1).Empty(2)
	defer empty.Close()
	defer other.Close()
	if got, err := e.DetectMat(context.Background(), empty); err != nil || len(got) != 0 {
		t.Errorf("DetectMat(empty lane) = %d faces, %v; want none", len(got), err)
	}
	if bytes.Equal(empty.ToBytes(), other.ToBytes()) {
		t.Error("frames with different noise seeds are equal")
	}
}
