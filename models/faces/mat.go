package faces

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// jpegQuality is the quality of the JPEG handed to dlib when the engine has
// to re-encode. Re-encoding moves a descriptor by 0.02 to 0.10 at any quality
// from 75 to 100 (measured on the test photos): dlib's network answers that
// much to any change of a pixel by one or two levels. That is far below the
// 0.3 to 0.45 between two photos of the same person, and 95 keeps the
// encoding itself out of the picture at little cost.
const jpegQuality = 95

// bgrFrame returns frame as 8-bit BGR: frame itself (not to be closed) when it
// already is, otherwise a converted copy that the caller must close. It
// accepts the types a camera or imdecode gives: 8-bit with 1, 3 or 4 channels,
// and checks the size before converting anything.
func (e *Engine) bgrFrame(frame gocv.Mat) (m gocv.Mat, owned bool, err error) {
	// A zero or closed Mat has no C object; asking it anything would
	// dereference a null pointer.
	if frame.Ptr() == nil || frame.Empty() {
		return gocv.Mat{}, false, fmt.Errorf("empty frame: %w", ErrCorruptImage)
	}
	var code gocv.ColorConversionCode
	switch frame.Type() {
	case gocv.MatTypeCV8UC3:
	case gocv.MatTypeCV8UC1:
		code = gocv.ColorGrayToBGR
	case gocv.MatTypeCV8UC4:
		code = gocv.ColorBGRAToBGR
	default:
		return gocv.Mat{}, false, fmt.Errorf("frame type %v; want 8-bit with 1, 3 or 4 channels: %w", frame.Type(), ErrUnsupportedImage)
	}
	if err := e.checkPixels(image.Pt(frame.Cols(), frame.Rows())); err != nil {
		return gocv.Mat{}, false, err
	}
	if frame.Type() == gocv.MatTypeCV8UC3 {
		return frame, false, nil
	}
	bgr := gocv.NewMat()
	gocv.CvtColor(frame, &bgr, code)
	return bgr, true, nil
}

// encodeMat scales a BGR image of the stored orientation to target (its size
// for dlib, in stored orientation), turns it upright and encodes it as JPEG
// for go-face, keeping the pixels when an ONNX model needs them. orig is the
// upright original the results refer to. m stays the caller's.
//
// OpenCV's encoder (libjpeg-turbo) is used rather than image/jpeg: a 640x480
// frame takes 0.9 ms instead of 7.3 ms, and needs no copy into a Go image
// (BenchmarkEncodeFrame).
func (e *Engine) encodeMat(m gocv.Mat, target image.Point, o orientation, orig image.Rectangle) (prepared, error) {
	// Each step makes a new Mat; all but the one kept as p.pixels are
	// closed on return.
	var made []gocv.Mat
	defer func() {
		for _, x := range made {
			x.Close()
		}
	}()
	work := m
	if m.Cols() != target.X || m.Rows() != target.Y {
		scaled := gocv.NewMat()
		made = append(made, scaled)
		// Area interpolation averages every source pixel, so shrinking
		// adds no aliasing that the detector could mistake for edges.
		gocv.Resize(m, &scaled, target, 0, 0, gocv.InterpolationArea)
		work = scaled
	}
	if o != orientTopLeft {
		turned := gocv.NewMat()
		made = append(made, turned)
		orient(work, &turned, o)
		work = turned
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, work, []int{gocv.IMWriteJpegQuality, jpegQuality})
	if err != nil {
		return prepared{}, fmt.Errorf("encode JPEG for dlib: %w", err)
	}
	if buf.Len() == 0 {
		buf.Close()
		return prepared{}, fmt.Errorf("encode JPEG for dlib: OpenCV wrote nothing")
	}
	p := prepared{
		jpeg: buf.GetBytes(),
		buf:  buf,
		geom: geometry{orig: orig, work: image.Pt(work.Cols(), work.Rows())},
	}
	if e.pixels {
		if n := len(made); n > 0 {
			p.pixels, made = made[n-1], made[:n-1]
		} else {
			p.pixels = m.Clone()
		}
	}
	return p, nil
}

// orient writes into dst the upright picture that src shows with EXIF
// orientation o.
func orient(src gocv.Mat, dst *gocv.Mat, o orientation) {
	switch o {
	case orientTopRight:
		gocv.Flip(src, dst, 1) // around the vertical axis
	case orientBottomRight:
		gocv.Rotate(src, dst, gocv.Rotate180Clockwise)
	case orientBottomLeft:
		gocv.Flip(src, dst, 0) // around the horizontal axis
	case orientLeftTop:
		gocv.Transpose(src, dst)
	case orientRightTop:
		gocv.Rotate(src, dst, gocv.Rotate90Clockwise)
	case orientRightBottom:
		// The transpose across the anti-diagonal: turn 180°, then
		// transpose.
		turned := gocv.NewMat()
		defer turned.Close()
		gocv.Flip(src, &turned, -1)
		gocv.Transpose(turned, dst)
	case orientLeftBottom:
		gocv.Rotate(src, dst, gocv.Rotate90CounterClockwise)
	default:
		src.CopyTo(dst)
	}
}
