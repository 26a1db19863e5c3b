package faces

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"
)

// The ONNX models take a 112x112 face chip with the face's points at fixed
// places: the ArcFace template, which MobileFaceNet-class models are trained
// on. Its five points are the eye centres, the nose tip and the mouth
// corners, the person's right first (on the chip's left).
var arcFaceTemplate = []point{
	{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
}

// dlibTemplate is where a face aligned by dlib's five landmarks puts the
// eyes' centres and the base of the nose (dlib's fifth point, below the
// ArcFace template's nose tip), as the HOG detector's faces were always
// aligned.
var dlibTemplate = []point{{38.2946, 51.6963}, {73.5318, 51.5014}, {55.7940, 80.5830}}

// templateFor returns the template for a face's alignment points: five from
// FaceMesh, three from dlib's landmarks.
func templateFor(pts []point) ([]point, error) {
	switch len(pts) {
	case len(arcFaceTemplate):
		return arcFaceTemplate, nil
	case len(dlibTemplate):
		return dlibTemplate, nil
	default:
		return nil, fmt.Errorf("align: %d alignment points; want 5 (FaceMesh) or 3 (dlib)", len(pts))
	}
}

// point is a position in pixels, with sub-pixel precision.
type point struct{ X, Y float64 }

// similarity is x' = A·x − B·y + TX, y' = B·x + A·y + TY: a rotation,
// a uniform scale of √(A²+B²) and a translation.
type similarity struct{ A, B, TX, TY float64 }

func (s similarity) apply(p point) point {
	return point{s.A*p.X - s.B*p.Y + s.TX, s.B*p.X + s.A*p.Y + s.TY}
}

func (s similarity) scale() float64 { return math.Hypot(s.A, s.B) }

// inverse returns the similarity that undoes s. s must not be degenerate
// (scale 0).
func (s similarity) inverse() similarity {
	d := s.A*s.A + s.B*s.B
	inv := similarity{A: s.A / d, B: -s.B / d}
	inv.TX = -(inv.A*s.TX - inv.B*s.TY)
	inv.TY = -(inv.B*s.TX + inv.A*s.TY)
	return inv
}

// mat returns s as the 2x3 matrix WarpAffine takes; the caller closes it.
func (s similarity) mat() gocv.Mat {
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	for i, v := range []float64{s.A, -s.B, s.TX, s.B, s.A, s.TY} {
		m.SetDoubleAt(i/3, i%3, v)
	}
	return m
}

// fitSimilarity returns the similarity that maps src onto dst with the least
// squared error: with both point sets centred, A and B come from their dot
// and cross products, and the translation moves one centroid onto the other.
func fitSimilarity(src, dst []point) (similarity, error) {
	if len(src) != len(dst) || len(src) < 2 {
		return similarity{}, fmt.Errorf("fit similarity: %d source and %d target points", len(src), len(dst))
	}
	var sc, dc point
	for i := range src {
		sc.X, sc.Y = sc.X+src[i].X, sc.Y+src[i].Y
		dc.X, dc.Y = dc.X+dst[i].X, dc.Y+dst[i].Y
	}
	n := float64(len(src))
	sc.X, sc.Y, dc.X, dc.Y = sc.X/n, sc.Y/n, dc.X/n, dc.Y/n
	var norm, dot, cross float64
	for i := range src {
		px, py := src[i].X-sc.X, src[i].Y-sc.Y
		qx, qy := dst[i].X-dc.X, dst[i].Y-dc.Y
		norm += px*px + py*py
		dot += px*qx + py*qy
		cross += px*qy - py*qx
	}
	if norm == 0 {
		return similarity{}, errors.New("fit similarity: the source points coincide")
	}
	s := similarity{A: dot / norm, B: cross / norm}
	s.TX = dc.X - (s.A*sc.X - s.B*sc.Y)
	s.TY = dc.Y - (s.B*sc.X + s.A*sc.Y)
	return s, nil
}

// alignmentPoints returns the eyes' centres and the nose base from the five
// landmarks of dlib's shape_predictor_5: two corners of one eye, two of the
// other, then the nose base. Each eye is the mean of its corners; the eyes
// are told apart by x, left in the image first.
func alignmentPoints(shape []image.Point) ([]point, error) {
	if len(shape) != 5 {
		return nil, fmt.Errorf("align: %d landmarks; want the 5 of shape_predictor_5", len(shape))
	}
	mid := func(a, b image.Point) point {
		return point{float64(a.X+b.X) / 2, float64(a.Y+b.Y) / 2}
	}
	e1, e2 := mid(shape[0], shape[1]), mid(shape[2], shape[3])
	if e2.X < e1.X {
		e1, e2 = e2, e1
	}
	return []point{e1, e2, {float64(shape[4].X), float64(shape[4].Y)}}, nil
}

// alignTransform returns the similarity from image pixels to the chip for a
// face with these alignment points (see templateFor).
func alignTransform(pts []point) (similarity, error) {
	tmpl, err := templateFor(pts)
	if err != nil {
		return similarity{}, err
	}
	return fitSimilarity(pts, tmpl)
}

// alignFace cuts the ChipSize x ChipSize face chip out of img (BGR) for a
// face with these alignment points into chip.
func alignFace(img gocv.Mat, pts []point, chip *gocv.Mat) error {
	s, err := alignTransform(pts)
	if err != nil {
		return err
	}
	return warpSimilarity(img, s, ChipSize, chip)
}

// warpSimilarity writes into dst the size x size picture that similarity s
// (img's pixels to dst's) makes of img (8-bit). Only the part of img the
// picture comes from is read: a frame is much larger than a face. When s
// shrinks by more than half, that part is first shrunk by area averaging so
// that the warp scales by 0.5: linear interpolation alone would skip pixels
// and alias. Pixels from outside img are black.
func warpSimilarity(img gocv.Mat, s similarity, size int, dst *gocv.Mat) error {
	roi := chipSource(s, size, image.Rect(0, 0, img.Cols(), img.Rows()))
	if roi.Empty() {
		// The whole picture lies outside the image: it is black.
		black := gocv.Zeros(size, size, img.Type())
		defer black.Close()
		black.CopyTo(dst)
		return nil
	}
	region := img.Region(roi)
	defer region.Close()
	small := gocv.NewMat()
	defer small.Close()
	src, f := region, point{1, 1}
	if sc := s.scale(); sc < 0.5 {
		sz := image.Pt(max(1, int(math.Round(float64(roi.Dx())*2*sc))), max(1, int(math.Round(float64(roi.Dy())*2*sc))))
		gocv.Resize(region, &small, sz, 0, 0, gocv.InterpolationArea)
		// Each axis is scaled by what it actually got after rounding.
		src, f = small, point{float64(sz.X) / float64(roi.Dx()), float64(sz.Y) / float64(roi.Dy())}
	}
	// A pixel q of src is the pixel q/f + roi.Min of img.
	rx, ry := float64(roi.Min.X), float64(roi.Min.Y)
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	for i, v := range []float64{
		s.A / f.X, -s.B / f.Y, s.A*rx - s.B*ry + s.TX,
		s.B / f.X, s.A / f.Y, s.B*rx + s.A*ry + s.TY,
	} {
		m.SetDoubleAt(i/3, i%3, v)
	}
	gocv.WarpAffineWithParams(src, dst, m, image.Pt(size, size),
		gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	return nil
}

// chipSource returns the part of bounds that the size x size picture of
// similarity s (image to picture) is cut from: the box around the picture's
// corners mapped back into the image, widened by what linear interpolation
// and area averaging read beyond it, and clipped to bounds.
func chipSource(s similarity, size int, bounds image.Rectangle) image.Rectangle {
	d := s.A*s.A + s.B*s.B
	back := func(x, y float64) point {
		x, y = x-s.TX, y-s.TY
		return point{(s.A*x + s.B*y) / d, (-s.B*x + s.A*y) / d}
	}
	lo := point{math.Inf(1), math.Inf(1)}
	hi := point{math.Inf(-1), math.Inf(-1)}
	n := float64(size)
	for _, c := range []point{{0, 0}, {n, 0}, {0, n}, {n, n}} {
		p := back(c.X, c.Y)
		lo = point{math.Min(lo.X, p.X), math.Min(lo.Y, p.Y)}
		hi = point{math.Max(hi.X, p.X), math.Max(hi.Y, p.Y)}
	}
	// One chip pixel is 1/scale image pixels; two of them and two more
	// pixels cover both the interpolation's neighbours and the averaging.
	pad := 2/s.scale() + 2
	r := image.Rect(int(math.Floor(lo.X-pad)), int(math.Floor(lo.Y-pad)), int(math.Ceil(hi.X+pad)), int(math.Ceil(hi.Y+pad)))
	return r.Intersect(bounds)
}
