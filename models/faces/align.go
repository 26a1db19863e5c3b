package faces

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"
)

// The ONNX models take a 112x112 face chip with the eyes and the nose base
// at fixed places (the ArcFace template's points, which MobileFaceNet-class
// models are trained on).
var (
	templateLeftEye  = point{38.2946, 51.6963}
	templateRightEye = point{73.5318, 51.5014}
	templateNose     = point{55.7940, 80.5830}
)

// point is a position in pixels, with sub-pixel precision.
type point struct{ X, Y float64 }

// similarity is x' = A·x − B·y + TX, y' = B·x + A·y + TY: a rotation,
// a uniform scale of √(A²+B²) and a translation.
type similarity struct{ A, B, TX, TY float64 }

func (s similarity) apply(p point) point {
	return point{s.A*p.X - s.B*p.Y + s.TX, s.B*p.X + s.A*p.Y + s.TY}
}

func (s similarity) scale() float64 { return math.Hypot(s.A, s.B) }

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

// alignmentPoints returns the left eye, right eye and nose base from the five
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
// face with these landmarks.
func alignTransform(shape []image.Point) (similarity, error) {
	src, err := alignmentPoints(shape)
	if err != nil {
		return similarity{}, err
	}
	return fitSimilarity(src, templatePoints())
}

func templatePoints() []point { return []point{templateLeftEye, templateRightEye, templateNose} }

// alignFace cuts the ChipSize x ChipSize face chip out of img (BGR) for a
// face with these landmarks into chip. When the face is more than twice the
// chip's size, img is first shrunk by area averaging so that the warp
// scales by 0.5: linear interpolation alone would skip pixels and alias.
// Pixels from outside img are black.
func alignFace(img gocv.Mat, shape []image.Point, chip *gocv.Mat) error {
	s, err := alignTransform(shape)
	if err != nil {
		return err
	}
	src := img
	if sc := s.scale(); sc < 0.5 {
		f := 2 * sc
		size := image.Pt(max(1, int(math.Round(float64(img.Cols())*f))), max(1, int(math.Round(float64(img.Rows())*f))))
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(img, &small, size, 0, 0, gocv.InterpolationArea)
		// The shrunk image's coordinates are img's times the factor each
		// axis actually got after rounding; fit again on them.
		fx, fy := float64(size.X)/float64(img.Cols()), float64(size.Y)/float64(img.Rows())
		pts, _ := alignmentPoints(shape)
		for i := range pts {
			pts[i] = point{pts[i].X * fx, pts[i].Y * fy}
		}
		if s, err = fitSimilarity(pts, templatePoints()); err != nil {
			return err
		}
		src = small
	}
	m := s.mat()
	defer m.Close()
	gocv.WarpAffineWithParams(src, chip, m, image.Pt(ChipSize, ChipSize),
		gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{})
	return nil
}
