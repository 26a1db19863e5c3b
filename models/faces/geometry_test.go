package faces

import (
	"image"
	"slices"
	"testing"

	face "github.com/Kagami/go-face"
)

func TestFitWithin(t *testing.T) {
	tests := []struct {
		size    image.Point
		maxSide int
		want    image.Point
	}{
		{image.Pt(640, 480), 1280, image.Pt(640, 480)},
		{image.Pt(1280, 720), 1280, image.Pt(1280, 720)},
		{image.Pt(4000, 3000), 1280, image.Pt(1280, 960)},
		{image.Pt(3000, 4000), 1280, image.Pt(960, 1280)},
		{image.Pt(3094, 3865), 1280, image.Pt(1025, 1280)},
		{image.Pt(10000, 3), 1000, image.Pt(1000, 1)}, // never 0 pixels
	}
	for _, tt := range tests {
		if got := fitWithin(tt.size, tt.maxSide); got != tt.want {
			t.Errorf("fitWithin(%v, %d) = %v; want %v", tt.size, tt.maxSide, got, tt.want)
		}
	}
}

func TestJPEGScale(t *testing.T) {
	tests := []struct {
		stored, target image.Point
		want           int
	}{
		{image.Pt(910, 1137), image.Pt(910, 1137), 1},
		{image.Pt(2000, 1500), image.Pt(1280, 960), 1},  // half would be 1000 < 1280
		{image.Pt(2560, 1920), image.Pt(1280, 960), 2},  // exactly half
		{image.Pt(4000, 3000), image.Pt(1280, 960), 2},  // quarter would be 1000
		{image.Pt(6000, 4000), image.Pt(1280, 853), 4},  // quarter is 1500
		{image.Pt(20000, 100), image.Pt(1280, 6), 8},    // an eighth is 2500: the smallest libjpeg has
		{image.Pt(3094, 3865), image.Pt(1025, 1280), 2}, // TestLargePhoto's
	}
	for _, tt := range tests {
		if got := jpegScale(tt.stored, tt.target); got != tt.want {
			t.Errorf("jpegScale(%v, %v) = %d; want %d", tt.stored, tt.target, got, tt.want)
		}
	}
}

func TestGeometryFaces(t *testing.T) {
	// A 4000x3000 original worked on at 1000x750: a scale of 4.
	g := geometry{orig: image.Rect(0, 0, 4000, 3000), work: image.Pt(1000, 750)}
	found := []face.Face{
		// dlib's corners are inclusive: this box is 100 pixels wide.
		{Rectangle: image.Rect(100, 100, 199, 199)},
		{Rectangle: image.Rect(500, 300, 749, 549), Shapes: []image.Point{{700, 400}, {650, 400}, {560, 401}, {600, 401}, {625, 480}}},
		{Rectangle: image.Rect(-20, 600, 79, 749)},
	}
	found[1].Descriptor[0] = 1
	got := g.faces(found)
	want := []Face{
		{Rect: image.Rect(2000, 1200, 3000, 2200), Size: 1000,
			Landmarks: []image.Point{{2800, 1600}, {2600, 1600}, {2240, 1604}, {2400, 1604}, {2500, 1920}}},
		{Rect: image.Rect(400, 400, 800, 800), Size: 400, Landmarks: []image.Point{}},
		{Rect: image.Rect(-80, 2400, 320, 3000), Size: 400, TouchesBorder: true, Landmarks: []image.Point{}},
	}
	if len(got) != len(want) {
		t.Fatalf("faces() = %d faces; want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Rect != want[i].Rect || got[i].Size != want[i].Size || got[i].TouchesBorder != want[i].TouchesBorder ||
			!slices.Equal(got[i].Landmarks, want[i].Landmarks) {
			t.Errorf("faces()[%d] = %v size %d border %v landmarks %v; want %v size %d border %v landmarks %v",
				i, got[i].Rect, got[i].Size, got[i].TouchesBorder, got[i].Landmarks,
				want[i].Rect, want[i].Size, want[i].TouchesBorder, want[i].Landmarks)
		}
		if len(got[i].Descriptors) != 0 {
			t.Errorf("faces()[%d] has %d descriptors; want none before describe", i, len(got[i].Descriptors))
		}
	}
	// The working landmarks and dlib's descriptor travel with their face.
	if got[0].dlib[0] != 1 || !slices.Equal(got[0].work, found[1].Shapes) {
		t.Errorf("faces()[0] carries dlib descriptor %v… and working landmarks %v; want those of found[1]", got[0].dlib[0], got[0].work)
	}

	offset := geometry{orig: image.Rect(50, 60, 850, 660), work: image.Pt(800, 600)}
	if got := offset.faces(found[:1])[0].Rect; got != image.Rect(150, 160, 250, 260) {
		t.Errorf("faces() with bounds at (50,60) = %v; want (150,160)-(250,260)", got)
	}
	if got := g.faces(nil); got == nil || len(got) != 0 {
		t.Errorf("faces(nil) = %#v; want an empty, non-nil slice", got)
	}
}
