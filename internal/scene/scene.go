// Package scene makes camera-like frames from photos, for benchmarks: a
// fixed camera's view of a lane (a textured background, not a flat colour),
// a visitor's photo placed in it with its face at a chosen size, and sensor
// noise that differs from frame to frame. The same seeds give the same
// pixels, so the Go benchmarks and the Python comparison can be fed the
// same frames.
package scene

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"gocv.io/x/gocv"
)

// Noise is the standard deviation, in 8-bit levels, of the sensor noise
// added to every frame: a camera in a lit lane.
const Noise = 3.0

// FaceY is where the centre of a visitor's face sits, as a fraction of the
// frame's height: a camera at face height looking slightly down.
const FaceY = 0.42

// Scene is an empty lane as one camera sees it. It is safe for concurrent
// use: its methods only read it.
type Scene struct {
	w, h int
	bg   []byte // BGR, w*h*3
}

// New returns the lane seen by a w×h camera; seed picks the background.
func New(w, h int, seed uint64) *Scene {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	// Soft blotches of light and colour: random values on a coarse grid,
	// enlarged with cubic interpolation.
	coarse := gocv.NewMatWithSize(9, 12, gocv.MatTypeCV8UC3)
	defer coarse.Close()
	cp, _ := coarse.DataPtrUint8()
	for i := 0; i < len(cp); i += 3 {
		// Mostly grey, slightly tinted, as walls and floors are.
		lum := 70 + r.IntN(110)
		for c := 0; c < 3; c++ {
			cp[i+c] = uint8(lum + r.IntN(21) - 10)
		}
	}
	big := gocv.NewMat()
	defer big.Close()
	gocv.Resize(coarse, &big, image.Pt(w, h), 0, 0, gocv.InterpolationCubic)
	// Edges, as walls, a doorway and the turnstile's posts give a real
	// picture: a few flat rectangles of another shade.
	for i := 0; i < 6; i++ {
		x0, y0 := r.IntN(w), r.IntN(h)
		rect := image.Rect(x0, y0, x0+w/8+r.IntN(w/3), y0+h/8+r.IntN(h/3)).Intersect(image.Rect(0, 0, w, h))
		shade := uint8(40 + r.IntN(170))
		gocv.Rectangle(&big, rect, color.RGBA{R: shade, G: shade - shade/16, B: shade - shade/8, A: 255}, -1)
	}
	p, _ := big.DataPtrUint8()
	return &Scene{w: w, h: h, bg: append([]byte(nil), p...)}
}

// Size returns the frame size.
func (s *Scene) Size() image.Point { return image.Pt(s.w, s.h) }

// Empty returns the lane with nobody in it and sensor noise drawn from seed.
// The caller must close the Mat.
func (s *Scene) Empty(seed uint64) gocv.Mat {
	m := s.background()
	addNoise(m, seed)
	return m
}

// Visitor returns a frame with photo in the lane: scaled so that face, the
// face's rectangle in photo, is faceSize pixels wide, its centre in the
// middle of the frame's width at FaceY of its height. The photo's edges are
// blended into the background over a few pixels, and the noise is drawn from
// seed. photo must be 8-bit BGR; the caller keeps it and must close the
// returned Mat.
func (s *Scene) Visitor(photo gocv.Mat, face image.Rectangle, faceSize int, seed uint64) (gocv.Mat, error) {
	if photo.Type() != gocv.MatTypeCV8UC3 || face.Dx() <= 0 {
		return gocv.Mat{}, fmt.Errorf("scene: want a BGR photo and a face rectangle, got %v and %v", photo.Type(), face)
	}
	scale := float64(faceSize) / float64(face.Dx())
	size := image.Pt(max(1, int(float64(photo.Cols())*scale+0.5)), max(1, int(float64(photo.Rows())*scale+0.5)))
	scaled := gocv.NewMat()
	defer scaled.Close()
	interp := gocv.InterpolationArea // shrinking: no aliasing
	if scale > 1 {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(photo, &scaled, size, 0, 0, interp)
	cx := (float64(face.Min.X) + float64(face.Dx())/2) * scale
	cy := (float64(face.Min.Y) + float64(face.Dy())/2) * scale
	at := image.Pt(int(float64(s.w)/2-cx), int(float64(s.h)*FaceY-cy))
	m := s.background()
	blend(m, scaled, at)
	addNoise(m, seed)
	return m, nil
}

func (s *Scene) background() gocv.Mat {
	m := gocv.NewMatWithSize(s.h, s.w, gocv.MatTypeCV8UC3)
	p, _ := m.DataPtrUint8()
	copy(p, s.bg)
	return m
}

// feather is how many pixels a pasted photo takes to blend into the
// background, so that its edges are not sharper than a real person's.
const feather = 12

// blend pastes src into dst with its top-left corner at at, clipped to dst,
// fading in over feather pixels from each edge of src.
func blend(dst, src gocv.Mat, at image.Point) {
	dp, _ := dst.DataPtrUint8()
	sp, _ := src.DataPtrUint8()
	dw, dh, sw, sh := dst.Cols(), dst.Rows(), src.Cols(), src.Rows()
	for y := max(0, at.Y); y < min(dh, at.Y+sh); y++ {
		sy := y - at.Y
		ey := min(sy, sh-1-sy)
		for x := max(0, at.X); x < min(dw, at.X+sw); x++ {
			sx := x - at.X
			edge := min(ey, sx, sw-1-sx)
			a := min(1, float64(edge)/feather)
			d, s := (y*dw+x)*3, (sy*sw+sx)*3
			for c := 0; c < 3; c++ {
				dp[d+c] = uint8(float64(sp[s+c])*a + float64(dp[d+c])*(1-a) + 0.5)
			}
		}
	}
}

// addNoise adds Gaussian noise of standard deviation Noise to every sample.
func addNoise(m gocv.Mat, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x0153))
	p, _ := m.DataPtrUint8()
	for i, v := range p {
		p[i] = uint8(math.Max(0, math.Min(255, float64(v)+r.NormFloat64()*Noise+0.5)))
	}
}
