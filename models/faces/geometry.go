package faces

import (
	"image"
	"math"
	"slices"

	face "github.com/Kagami/go-face"
)

// geometry relates the pixels handed to dlib (the working image, upright and
// perhaps scaled down) to the upright original image.
type geometry struct {
	orig image.Rectangle // the upright original's bounds
	work image.Point     // the working image's size
}

// faces converts go-face's results into Faces in the original's coordinates,
// largest first, without descriptors.
func (g geometry) faces(found []face.Face) []Face {
	out := make([]Face, 0, len(found))
	for _, f := range found {
		out = append(out, g.face(f.Rectangle, f.Shapes))
		out[len(out)-1].dlib, out[len(out)-1].hasDlib = f.Descriptor, true
	}
	slices.SortStableFunc(out, largestFirst)
	return out
}

// face converts a face dlib found in the working image — its rectangle,
// whose right and bottom are the last pixels inside the face, and its
// landmarks, if any — into a Face in the original's coordinates.
func (g geometry) face(rect image.Rectangle, shapes []image.Point) Face {
	// image.Rectangle's Max is the first pixel outside.
	x0, y0 := rect.Min.X, rect.Min.Y
	x1, y1 := rect.Max.X+1, rect.Max.Y+1
	r := g.rect(image.Rect(x0, y0, x1, y1))
	f := Face{
		Rect: r,
		Size: min(r.Dx(), r.Dy()),
		// Judged in working pixels, where the edge is exact.
		TouchesBorder: x0 <= 0 || y0 <= 0 || x1 >= g.work.X || y1 >= g.work.Y,
	}
	g.setLandmarks(&f, shapes)
	return f
}

// detected converts a face BlazeFace found in the working image into a Face
// in the original's coordinates, without landmarks.
func (g geometry) detected(d detection) Face {
	r := d.rect()
	f := g.face(image.Rect(r.Min.X, r.Min.Y, r.Max.X-1, r.Max.Y-1), nil)
	f.box = r
	return f
}

// rect converts a rectangle of the working image (Max outside it) into the
// original's coordinates.
func (g geometry) rect(r image.Rectangle) image.Rectangle {
	sx := float64(g.orig.Dx()) / float64(g.work.X)
	sy := float64(g.orig.Dy()) / float64(g.work.Y)
	return image.Rect(scaleCoord(r.Min.X, sx), scaleCoord(r.Min.Y, sy), scaleCoord(r.Max.X, sx), scaleCoord(r.Max.Y, sy)).Add(g.orig.Min)
}

// toWork converts a rectangle in the original's coordinates into the
// working image's, the inverse of rect.
func (g geometry) toWork(r image.Rectangle) image.Rectangle {
	sx := float64(g.work.X) / float64(g.orig.Dx())
	sy := float64(g.work.Y) / float64(g.orig.Dy())
	r = r.Sub(g.orig.Min)
	return image.Rect(scaleCoord(r.Min.X, sx), scaleCoord(r.Min.Y, sy), scaleCoord(r.Max.X, sx), scaleCoord(r.Max.Y, sy))
}

// setLandmarks gives f the landmarks dlib placed in the working image, and
// the alignment points they make.
func (g geometry) setLandmarks(f *Face, shapes []image.Point) {
	sx := float64(g.orig.Dx()) / float64(g.work.X)
	sy := float64(g.orig.Dy()) / float64(g.work.Y)
	f.Landmarks = make([]image.Point, len(shapes))
	for i, p := range shapes {
		f.Landmarks[i] = image.Pt(scaleCoord(p.X, sx), scaleCoord(p.Y, sy)).Add(g.orig.Min)
	}
	f.work = shapes
	f.align = nil
	if pts, err := alignmentPoints(shapes); err == nil {
		f.align = pts
	}
}

// setPoints gives f the alignment points FaceMesh placed in the working
// image, which are also its Landmarks.
func (g geometry) setPoints(f *Face, pts []point) {
	sx := float64(g.orig.Dx()) / float64(g.work.X)
	sy := float64(g.orig.Dy()) / float64(g.work.Y)
	f.Landmarks = make([]image.Point, len(pts))
	for i, p := range pts {
		f.Landmarks[i] = image.Pt(int(math.Round(p.X*sx)), int(math.Round(p.Y*sy))).Add(g.orig.Min)
	}
	f.work = nil
	f.align = pts
}

// largestFirst orders faces by size, larger first, then top to bottom and
// left to right, so that the order never depends on dlib's.
func largestFirst(a, b Face) int {
	switch {
	case a.Size != b.Size:
		return b.Size - a.Size
	case a.Rect.Min.Y != b.Rect.Min.Y:
		return a.Rect.Min.Y - b.Rect.Min.Y
	default:
		return a.Rect.Min.X - b.Rect.Min.X
	}
}

func scaleCoord(v int, s float64) int {
	return int(math.Round(float64(v) * s))
}

// fitWithin returns size scaled down, keeping its aspect ratio, so that its
// longer side is at most maxSide; size itself when it already fits.
func fitWithin(size image.Point, maxSide int) image.Point {
	long := max(size.X, size.Y)
	if long <= maxSide {
		return size
	}
	s := float64(maxSide) / float64(long)
	return image.Pt(
		max(1, int(math.Round(float64(size.X)*s))),
		max(1, int(math.Round(float64(size.Y)*s))),
	)
}

// upright returns the size of the picture shown upright from stored pixels of
// the given size.
func upright(stored image.Point, o orientation) image.Point {
	if o.swapsAxes() {
		return image.Pt(stored.Y, stored.X)
	}
	return stored
}
