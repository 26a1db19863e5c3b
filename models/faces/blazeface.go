package faces

import (
	"fmt"
	"image"
	"math"
	"path/filepath"
	"slices"

	"gocv.io/x/gocv"
)

// BlazeFace is MediaPipe's short-range face detector
// (face_detection_short_range.tflite of @mediapipe/face_detection, converted
// to ONNX by `make models`): a 128x128 RGB input in [-1, 1], and for each of
// 896 fixed anchors a face score and a box with six keypoints (the eyes, the
// nose tip, the mouth's centre and the ear tragions) relative to the anchor.
// It finds faces that are turned, tilted or half covered, where dlib's HOG
// detector, which looks for an upright frontal face's gradients, finds
// none, and takes a few milliseconds where HOG takes tens.
const (
	blazeFaceFile  = "blazeface.onnx"
	blazeFaceInput = 128
	// blazeFaceScore is the least score, after the sigmoid, that counts as
	// a face: MediaPipe's own setting for this model.
	blazeFaceScore = 0.5
	// blazeFaceOverlap is the intersection over union above which two
	// boxes are one face, whose box is then their score-weighted mean (as
	// MediaPipe's weighted non-maximum suppression does).
	blazeFaceOverlap = 0.3
	// blazeFaceSmallest is the smallest face, as a fraction of the square
	// the detector looks at, that it finds reliably: its smallest anchors
	// are 0.148 of the input, and it was trained on faces near the camera.
	// Smaller faces are looked for in tiles (see findFaces).
	blazeFaceSmallest = 0.2
)

// blazeFaceNames are the ONNX graph's input and outputs.
var blazeFaceNames = struct{ input, boxes, scores string }{"input", "regressors", "classificators"}

// anchor is the centre of one of BlazeFace's anchors, in units of the input's
// side; every anchor is one input wide and high, so offsets are scaled by the
// input's side alone.
type anchor struct{ x, y float64 }

// blazeFaceAnchors returns the 896 anchors in the order of the model's
// outputs: a 16x16 grid with 2 anchors a cell (stride 8), then an 8x8 grid
// with 6 (the three layers of stride 16, merged as MediaPipe's SSD anchor
// generator merges layers of one stride), row by row.
func blazeFaceAnchors() []anchor {
	var out []anchor
	for _, layer := range []struct{ stride, perCell int }{{8, 2}, {16, 6}} {
		grid := blazeFaceInput / layer.stride
		for y := 0; y < grid; y++ {
			for x := 0; x < grid; x++ {
				for range layer.perCell {
					out = append(out, anchor{(float64(x) + 0.5) / float64(grid), (float64(y) + 0.5) / float64(grid)})
				}
			}
		}
	}
	return out
}

// Keypoints of a BlazeFace detection, by index. Right and left are the
// person's own: the right eye is on the image's left in an upright photo.
const (
	kpRightEye = iota
	kpLeftEye
	kpNoseTip
	kpMouth
	kpRightEar
	kpLeftEar
	numKeypoints
)

// detection is one face BlazeFace found, in the pixels of the image it was
// given.
type detection struct {
	// x0, y0, x1, y1 bound the face; x1 and y1 are exclusive.
	x0, y0, x1, y1 float64
	score          float64
	kp             [numKeypoints]point
}

func (d detection) width() float64  { return d.x1 - d.x0 }
func (d detection) height() float64 { return d.y1 - d.y0 }

// rect returns the box as whole pixels, Max exclusive.
func (d detection) rect() image.Rectangle {
	return image.Rect(int(math.Floor(d.x0)), int(math.Floor(d.y0)), int(math.Ceil(d.x1)), int(math.Ceil(d.y1)))
}

func iou(a, b detection) float64 {
	ix := math.Min(a.x1, b.x1) - math.Max(a.x0, b.x0)
	iy := math.Min(a.y1, b.y1) - math.Max(a.y0, b.y0)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / (a.width()*a.height() + b.width()*b.height() - inter)
}

// blazeFace runs the detector. It is not safe for concurrent use: each
// worker has its own.
type blazeFace struct {
	net     gocv.Net
	anchors []anchor
	// canvas is the 128x128 input, kept between calls.
	canvas gocv.Mat
	// looks counts the network's passes, for tests.
	looks int
}

func openBlazeFace(dir string) (*blazeFace, error) {
	net, err := openNet(filepath.Join(dir, blazeFaceFile))
	if err != nil {
		return nil, err
	}
	return &blazeFace{net: net, anchors: blazeFaceAnchors(),
		canvas: gocv.NewMatWithSize(blazeFaceInput, blazeFaceInput, gocv.MatTypeCV8UC3)}, nil
}

func (b *blazeFace) Close() {
	b.net.Close()
	b.canvas.Close()
}

// openNet loads an ONNX file for OpenCV's own CPU backend.
func openNet(path string) (gocv.Net, error) {
	net := gocv.ReadNetFromONNX(path)
	if net.Empty() {
		net.Close()
		return gocv.Net{}, fmt.Errorf("faces: open: OpenCV cannot load %s as an ONNX model (run `make models`)", path)
	}
	if err := net.SetPreferableBackend(gocv.NetBackendOpenCV); err != nil {
		net.Close()
		return gocv.Net{}, fmt.Errorf("faces: open: %s: %w", path, err)
	}
	if err := net.SetPreferableTarget(gocv.NetTargetCPU); err != nil {
		net.Close()
		return gocv.Net{}, fmt.Errorf("faces: open: %s: %w", path, err)
	}
	return net, nil
}

// forward runs net on blob and returns the named outputs' values, which stay
// valid until done is called.
func forward(net gocv.Net, blob gocv.Mat, input string, outputs ...string) (vals [][]float32, done func(), err error) {
	net.SetInput(blob, input)
	mats := net.ForwardLayers(outputs)
	done = func() {
		for _, m := range mats {
			m.Close()
		}
	}
	if len(mats) != len(outputs) {
		done()
		return nil, nil, fmt.Errorf("%d outputs; want %d", len(mats), len(outputs))
	}
	for i, m := range mats {
		v, err := m.DataPtrFloat32()
		if err != nil {
			done()
			return nil, nil, fmt.Errorf("output %s: %w", outputs[i], err)
		}
		vals = append(vals, v)
	}
	return vals, done, nil
}

// detectSquare looks for faces in the square of img (8-bit BGR) whose top
// left corner is at and whose side is side pixels; the part of the square
// outside img is black, so a whole frame is looked at letterboxed. It returns
// the faces in img's pixels, before non-maximum suppression.
func (b *blazeFace) detectSquare(img gocv.Mat, at image.Point, side int) ([]detection, error) {
	b.looks++
	square := image.Rectangle{Min: at, Max: at.Add(image.Pt(side, side))}
	inside := square.Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if inside.Empty() {
		return nil, nil
	}
	scale := float64(blazeFaceInput) / float64(side)
	// The part inside the frame, shrunk by area averaging (no aliasing),
	// at its place on a black canvas.
	dst := image.Rect(
		int(math.Round(float64(inside.Min.X-at.X)*scale)), int(math.Round(float64(inside.Min.Y-at.Y)*scale)),
		int(math.Round(float64(inside.Max.X-at.X)*scale)), int(math.Round(float64(inside.Max.Y-at.Y)*scale)))
	dst = dst.Intersect(image.Rect(0, 0, blazeFaceInput, blazeFaceInput))
	if dst.Empty() {
		return nil, nil
	}
	b.canvas.SetTo(gocv.NewScalar(0, 0, 0, 0))
	part := img.Region(inside)
	defer part.Close()
	target := b.canvas.Region(dst)
	defer target.Close()
	interp := gocv.InterpolationArea
	if scale > 1 {
		interp = gocv.InterpolationLinear
	}
	gocv.Resize(part, &target, dst.Size(), 0, 0, interp)
	// Each axis maps back by what it actually got after rounding.
	sx := float64(inside.Dx()) / float64(dst.Dx())
	sy := float64(inside.Dy()) / float64(dst.Dy())
	back := func(u, v float64) point {
		return point{float64(inside.Min.X) + (u*blazeFaceInput-float64(dst.Min.X))*sx,
			float64(inside.Min.Y) + (v*blazeFaceInput-float64(dst.Min.Y))*sy}
	}

	blob := gocv.BlobFromImage(b.canvas, 1/127.5, image.Pt(blazeFaceInput, blazeFaceInput),
		gocv.NewScalar(127.5, 127.5, 127.5, 0), true, false)
	defer blob.Close()
	outs, done, err := forward(b.net, blob, blazeFaceNames.input, blazeFaceNames.boxes, blazeFaceNames.scores)
	if err != nil {
		return nil, fmt.Errorf("blazeface: %w", err)
	}
	defer done()
	boxes, scores := outs[0], outs[1]
	const coords = 4 + 2*numKeypoints
	if len(scores) != len(b.anchors) || len(boxes) != coords*len(b.anchors) {
		return nil, fmt.Errorf("blazeface: %d scores and %d box values; want %d and %d",
			len(scores), len(boxes), len(b.anchors), coords*len(b.anchors))
	}
	var found []detection
	for i, a := range b.anchors {
		if sigmoid(float64(scores[i])) < blazeFaceScore {
			continue
		}
		r := boxes[i*coords : (i+1)*coords]
		// Offsets are in input pixels from the anchor's centre.
		cx, cy := a.x+float64(r[0])/blazeFaceInput, a.y+float64(r[1])/blazeFaceInput
		w, h := float64(r[2])/blazeFaceInput, float64(r[3])/blazeFaceInput
		lo, hi := back(cx-w/2, cy-h/2), back(cx+w/2, cy+h/2)
		d := detection{x0: lo.X, y0: lo.Y, x1: hi.X, y1: hi.Y, score: sigmoid(float64(scores[i]))}
		for k := range d.kp {
			d.kp[k] = back(a.x+float64(r[4+2*k])/blazeFaceInput, a.y+float64(r[5+2*k])/blazeFaceInput)
		}
		if d.width() > 0 && d.height() > 0 {
			found = append(found, d)
		}
	}
	return found, nil
}

// sigmoid is the logistic function, with the logit clipped as MediaPipe
// clips it (at ±100) so that exp never overflows.
func sigmoid(x float64) float64 {
	x = math.Max(-100, math.Min(100, x))
	return 1 / (1 + math.Exp(-x))
}

// suppress merges the detections that overlap into one each, highest score
// first: the box and keypoints of each face are the score-weighted mean of
// the detections that overlap the best of them by more than
// blazeFaceOverlap, and its score that best one's. A face seen at two
// neighbouring anchors, or in two overlapping tiles, is one face.
func suppress(found []detection) []detection {
	rest := slices.Clone(found)
	slices.SortStableFunc(rest, func(a, b detection) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	var out []detection
	for len(rest) > 0 {
		best := rest[0]
		var merged detection
		var weight float64
		keep := rest[:0]
		for _, d := range rest {
			if iou(best, d) <= blazeFaceOverlap {
				keep = append(keep, d)
				continue
			}
			w := d.score
			merged.x0 += w * d.x0
			merged.y0 += w * d.y0
			merged.x1 += w * d.x1
			merged.y1 += w * d.y1
			for k := range merged.kp {
				merged.kp[k].X += w * d.kp[k].X
				merged.kp[k].Y += w * d.kp[k].Y
			}
			weight += w
		}
		// best overlaps itself, so weight is at least its score.
		merged.x0, merged.y0, merged.x1, merged.y1 = merged.x0/weight, merged.y0/weight, merged.x1/weight, merged.y1/weight
		for k := range merged.kp {
			merged.kp[k] = point{merged.kp[k].X / weight, merged.kp[k].Y / weight}
		}
		merged.score = best.score
		out = append(out, merged)
		rest = keep
	}
	return out
}

// findFaces returns the faces BlazeFace finds in img (8-bit BGR), merged
// across the squares it looked at, in img's pixels. It looks at the whole
// image first, letterboxed into one square; a face smaller than
// blazeFaceSmallest of that square may be missed there, so when minSize
// (pixels of img; 0 for any) asks for faces that small and none of at least
// minSize was found, it looks again in overlapping squares small enough for
// minSize, each half a square from the one before.
func (b *blazeFace) findFaces(img gocv.Mat, minSize float64) ([]detection, error) {
	w, h := img.Cols(), img.Rows()
	long := max(w, h)
	found, err := b.detectSquare(img, image.Pt((w-long)/2, (h-long)/2), long)
	if err != nil {
		return nil, err
	}
	found = suppress(found)
	if slices.ContainsFunc(found, func(d detection) bool { return faceSide(d) >= minSize }) {
		return found, nil
	}
	side := min(w, h)
	if minSize > 0 {
		side = min(side, max(blazeFaceInput, int(math.Ceil(minSize/blazeFaceSmallest))))
	}
	if side >= long {
		return found, nil
	}
	for _, y := range tileStarts(h, side) {
		for _, x := range tileStarts(w, side) {
			more, err := b.detectSquare(img, image.Pt(x, y), side)
			if err != nil {
				return nil, err
			}
			found = append(found, more...)
		}
	}
	return suppress(found), nil
}

// findNear looks at one square around near, where the face was in the
// frame before: about three times its size, so that the face fills a third
// of it after moving by its own width, and no larger than the frame's
// shorter side. It returns what it found there only if a face is at least
// minSize, and nothing otherwise.
func (b *blazeFace) findNear(img gocv.Mat, minSize float64, near image.Rectangle) ([]detection, error) {
	w, h := img.Cols(), img.Rows()
	side := min(max(3*max(near.Dx(), near.Dy()), blazeFaceInput), w, h)
	c := near.Min.Add(near.Max).Div(2)
	at := image.Pt(min(max(c.X-side/2, 0), w-side), min(max(c.Y-side/2, 0), h-side))
	found, err := b.detectSquare(img, at, side)
	if err != nil {
		return nil, err
	}
	found = suppress(found)
	if slices.ContainsFunc(found, func(d detection) bool { return faceSide(d) >= minSize }) {
		return found, nil
	}
	return nil, nil
}

// faceSide is a detection's size as Face.Size counts it.
func faceSide(d detection) float64 { return math.Min(d.width(), d.height()) }

// tileStarts returns where squares of side along a length begin: every half
// side, the last one ending at the length, so that any face up to half a
// square wide lies whole in one of them.
func tileStarts(length, side int) []int {
	if side >= length {
		return []int{0}
	}
	var out []int
	for at := 0; ; at += side / 2 {
		if at+side >= length {
			return append(out, length-side)
		}
		out = append(out, at)
	}
}
