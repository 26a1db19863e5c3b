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
	"path/filepath"
	"strings"

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

// Person is someone in view: a photo of them, their face's rectangle in
// it, the width their face should have in the frame and where its centre
// should be.
type Person struct {
	Photo  gocv.Mat // 8-bit BGR; the caller keeps it
	Face   image.Rectangle
	Size   int
	Centre image.Point
}

// Visitor returns a frame with photo in the lane: scaled so that face, the
// face's rectangle in photo, is faceSize pixels wide, its centre in the
// middle of the frame's width at FaceY of its height. The noise is drawn
// from seed. photo must be 8-bit BGR; the caller keeps it and must close the
// returned Mat.
func (s *Scene) Visitor(photo gocv.Mat, face image.Rectangle, faceSize int, seed uint64) (gocv.Mat, error) {
	return s.People(seed, Person{Photo: photo, Face: face, Size: faceSize, Centre: image.Pt(s.w/2, int(float64(s.h)*FaceY))})
}

// People returns a frame with each person in the lane, pasted in turn (a
// later one in front), their photos' edges blended into the background over
// a few pixels, and noise drawn from seed. The caller must close the Mat.
func (s *Scene) People(seed uint64, people ...Person) (gocv.Mat, error) {
	m := s.background()
	for _, p := range people {
		if p.Photo.Type() != gocv.MatTypeCV8UC3 || p.Face.Dx() <= 0 || p.Size <= 0 {
			m.Close()
			return gocv.Mat{}, fmt.Errorf("scene: want a BGR photo, a face rectangle and a size, got %v, %v and %d", p.Photo.Type(), p.Face, p.Size)
		}
		scale := float64(p.Size) / float64(p.Face.Dx())
		size := image.Pt(max(1, int(float64(p.Photo.Cols())*scale+0.5)), max(1, int(float64(p.Photo.Rows())*scale+0.5)))
		scaled := gocv.NewMat()
		interp := gocv.InterpolationArea // shrinking: no aliasing
		if scale > 1 {
			interp = gocv.InterpolationLinear
		}
		gocv.Resize(p.Photo, &scaled, size, 0, 0, interp)
		cx := (float64(p.Face.Min.X) + float64(p.Face.Dx())/2) * scale
		cy := (float64(p.Face.Min.Y) + float64(p.Face.Dy())/2) * scale
		blend(m, scaled, image.Pt(int(float64(p.Centre.X)-cx), int(float64(p.Centre.Y)-cy)))
		scaled.Close()
	}
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

// The frames both face engines are given in `make bench`'s comparison with
// Python's face_recognition: each photo's face at each width in a 640x480
// frame.
var (
	ComparisonPhotos = []string{"obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"}
	ComparisonWidths = []int{90, 130, 170}
)

// Frame is a frame made from a photo; Name says which and how, e.g.
// "obama2-130.png".
type Frame struct {
	Name string
	Mat  gocv.Mat
}

// Comparison returns the comparison's frames, made from the photos in
// photoDir. face finds the face's rectangle in a photo. The caller must
// close every frame's Mat.
func Comparison(photoDir string, face func(photo gocv.Mat) (image.Rectangle, error)) ([]Frame, error) {
	s := New(640, 480, 1)
	var frames []Frame
	seed := uint64(1)
	for _, name := range ComparisonPhotos {
		photo := gocv.IMRead(filepath.Join(photoDir, name), gocv.IMReadColor)
		if photo.Empty() {
			photo.Close()
			closeAll(frames)
			return nil, fmt.Errorf("scene: cannot read %s in %s", name, photoDir)
		}
		rect, err := face(photo)
		for _, w := range ComparisonWidths {
			if err != nil {
				break
			}
			var m gocv.Mat
			if m, err = s.Visitor(photo, rect, w, seed); err == nil {
				frames = append(frames, Frame{Name: fmt.Sprintf("%s-%d.png", strings.TrimSuffix(name, filepath.Ext(name)), w), Mat: m})
			}
			seed++
		}
		photo.Close()
		if err != nil {
			closeAll(frames)
			return nil, fmt.Errorf("scene: %s: %w", name, err)
		}
	}
	return frames, nil
}

func closeAll(frames []Frame) {
	for _, f := range frames {
		f.Mat.Close()
	}
}
