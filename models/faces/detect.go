package faces

import (
	"context"
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"
)

// Detect finds the faces in a JPEG, PNG or WebP image and computes their
// descriptors with every model of the engine. It returns the faces largest
// first, and an empty, non-nil slice with a nil error when there is none.
// Rectangles are in the upright original's coordinates: EXIF orientation
// applied, at full resolution.
//
// The image's size is read from its header first; more than
// Config.MaxPixels gives ErrImageTooLarge before any pixel is decoded. Data
// that is none of those formats gives ErrUnsupportedImage; empty, truncated
// or damaged data gives ErrCorruptImage. A JPEG that libjpeg decodes in full
// but warns about (a missing end-of-image marker, stray bytes before it) is
// used, and each face's ImageWarning says so. A clean JPEG that needs no
// turning, scaling or colour conversion goes to dlib as it is. Detect
// neither keeps nor modifies img.
//
// ctx is honoured while the call waits for a decoding slot or a worker (the
// error then wraps ctx.Err()); dlib's own work, about 0.1 s per image, runs
// to its end once started. After Close, Detect returns ErrClosed.
func (e *Engine) Detect(ctx context.Context, img []byte) ([]Face, error) {
	faces, err := e.detect(ctx, false, all, func() (prepared, error) { return e.prepareBytes(ctx, img) })
	if err != nil {
		return nil, fmt.Errorf("faces: detect: %w", err)
	}
	return faces, nil
}

// DetectImage is Detect for an image already decoded. Rectangles are in img's
// coordinate space, so they include img.Bounds().Min. A nil or empty image
// gives ErrCorruptImage, one of more than Config.MaxPixels ErrImageTooLarge.
// Transparent pixels count as white.
func (e *Engine) DetectImage(ctx context.Context, img image.Image) ([]Face, error) {
	faces, err := e.detect(ctx, false, all, func() (prepared, error) {
		done, err := e.startDecoding(ctx)
		if err != nil {
			return prepared{}, err
		}
		defer done()
		return e.prepareImage(img)
	})
	if err != nil {
		return nil, fmt.Errorf("faces: detect image: %w", err)
	}
	return faces, nil
}

// DetectMat is Detect for an OpenCV frame, as a camera delivers it: 8-bit BGR,
// or 8-bit grayscale or BGRA. An empty, zero or closed Mat gives
// ErrCorruptImage; any other type ErrUnsupportedImage; one of more than
// Config.MaxPixels ErrImageTooLarge. DetectMat neither keeps, modifies nor
// closes frame, and writes no files.
func (e *Engine) DetectMat(ctx context.Context, frame gocv.Mat) ([]Face, error) {
	faces, err := e.detect(ctx, false, all, func() (prepared, error) { return e.prepareMat(ctx, frame) })
	if err != nil {
		return nil, fmt.Errorf("faces: detect frame: %w", err)
	}
	return faces, nil
}

// LargestFace finds the faces in a camera frame, as DetectMat does, and
// returns the largest — the visitor at the turnstile; the others are still
// queueing — with its descriptors. ok is false when there is no face, or
// when the largest is smaller than minSize pixels: then no descriptor is
// computed at all, which keeps a lane quick while a visitor walks up.
//
// dlib's HOG detector looks for faces on the frame's own pixels, on one
// grey channel of a copy shrunk as far as minSize allows (hogScale): with
// --min-face 160 on 1280x720, it scans 667x375 grey pixels. Only the
// largest face goes further. An engine that runs no dlib model (a gate
// matching with an ONNX model) places that face's landmarks on the full
// frame and describes it there, without go-face. One with a dlib model
// hands go-face only the part of the frame around the face (cropMargin),
// which finds it again and describes it: go-face reads JPEG, and given the
// whole frame it would encode all of it, scan it in colour, and describe
// every face in it.
func (e *Engine) LargestFace(ctx context.Context, frame gocv.Mat, minSize int) (largest Face, ok bool, err error) {
	return e.LargestFaceNear(ctx, frame, minSize, image.Rectangle{})
}

// LargestFaceNear is LargestFace for a frame that follows one in which the
// visitor's face was at near (Face.Rect of that frame). BlazeFace looks
// first at a square about three faces wide around near, one look where
// LargestFace may need four, and takes the largest face of minSize there;
// only when it shows none does it look at the whole frame. A larger face
// elsewhere in the frame is not looked for meanwhile: at a turnstile nobody
// stands nearer the camera than the visitor in it, and the lane looks at
// the whole frame again whenever the face leaves the square. With HOG, or
// an empty near, it is LargestFace.
func (e *Engine) LargestFaceNear(ctx context.Context, frame gocv.Mat, minSize int, near image.Rectangle) (largest Face, ok bool, err error) {
	largest, ok, err = e.largestFace(ctx, frame, minSize, near)
	if err != nil {
		return Face{}, false, fmt.Errorf("faces: largest face: %w", err)
	}
	return largest, ok, nil
}

// prepareMat checks and prepares a camera frame.
func (e *Engine) prepareMat(ctx context.Context, frame gocv.Mat) (prepared, error) {
	done, err := e.startDecoding(ctx)
	if err != nil {
		return prepared{}, err
	}
	defer done()
	bgr, owned, err := e.bgrFrame(frame)
	if err != nil {
		return prepared{}, err
	}
	if owned {
		defer bgr.Close()
	}
	size := image.Pt(bgr.Cols(), bgr.Rows())
	return e.encodeMat(bgr, fitWithin(size, e.cfg.MaxSide), orientTopLeft, image.Rectangle{Max: size})
}

// largestFace is LargestFace without its error's prefix.
func (e *Engine) largestFace(ctx context.Context, frame gocv.Mat, minSize int, near image.Rectangle) (Face, bool, error) {
	if err := e.enter(); err != nil {
		return Face{}, false, err
	}
	defer e.inFlight.Done()
	if err := ctx.Err(); err != nil {
		return Face{}, false, err
	}
	work, owned, geom, err := e.workingFrame(ctx, frame)
	if err != nil {
		return Face{}, false, err
	}
	if owned {
		defer work.Close()
	}
	w, err := e.acquire(ctx)
	if err != nil {
		return Face{}, false, err
	}
	defer e.release(w)
	if e.blaze {
		return e.largestBlaze(w, work, geom, minSize, near)
	}
	hog, err := w.detector(e.cfg.ModelDir)
	if err != nil {
		return Face{}, false, err
	}
	rects, err := detectAtScale(hog, work, hogScale(minSize, geom))
	if err != nil {
		return Face{}, false, err
	}
	if len(rects) == 0 {
		return Face{}, false, nil
	}
	faces := make([]Face, len(rects))
	for i, r := range rects {
		faces[i] = geom.face(r, nil)
	}
	largest := 0
	for i := range faces {
		if largestFirst(faces[i], faces[largest]) < 0 {
			largest = i
		}
	}
	f := faces[largest]
	if f.Size < minSize {
		return Face{}, false, nil
	}
	if e.dlibModel {
		return e.describeCrop(w, work, geom, rects[largest], f)
	}
	shape, err := hog.landmarks(work, rects[largest])
	if err != nil {
		return Face{}, false, err
	}
	geom.setLandmarks(&f, shape)
	if err := e.describe(w, prepared{pixels: work}, &f); err != nil {
		return Face{}, false, err
	}
	return f, true, nil
}

// cropMargin is how much of the frame around a face, as a fraction of the
// face's size on each side, go-face is given to find it again: dlib's
// detector window reaches a little beyond the face it reports, and a face
// cut close is missed. A quarter found every face of the approach
// benchmark's frames again, and its crop is a little over twice the face's
// area (a half made go-face's part a third slower).
const cropMargin = 0.25

// describeCrop has go-face find and describe the face that the HOG detector
// found at rect in work, from the part of work around it. found is that
// face as the detector saw it. ok is false when go-face finds no face there.
func (e *Engine) describeCrop(w *worker, work gocv.Mat, geom geometry, rect image.Rectangle, found Face) (Face, bool, error) {
	// rect's right and bottom are inside the face.
	r := image.Rect(rect.Min.X, rect.Min.Y, rect.Max.X+1, rect.Max.Y+1)
	pad := int(math.Ceil(cropMargin * float64(min(r.Dx(), r.Dy()))))
	crop := r.Inset(-pad).Intersect(image.Rect(0, 0, work.Cols(), work.Rows()))
	if crop.Empty() {
		return Face{}, false, nil
	}
	part := work.Region(crop)
	defer part.Close()
	src, err := e.encodeMat(part, crop.Size(), orientTopLeft, geom.rect(crop))
	if err != nil {
		return Face{}, false, err
	}
	defer src.free()
	// The HOG detector has judged the face large enough; go-face's box for
	// it may come out a step of its pyramid smaller on the crop, and is
	// not judged again.
	faces, err := e.recognizeDlib(w, src, false, first)
	if err != nil {
		return Face{}, false, err
	}
	if len(faces) == 0 {
		return Face{}, false, nil
	}
	// The face keeps the box it was judged by, which also says whether it
	// reaches the frame's edge (go-face's says whether it reaches the
	// crop's), and takes go-face's landmarks and descriptors.
	f := faces[0]
	f.Rect, f.Size, f.TouchesBorder = found.Rect, found.Size, found.TouchesBorder
	return f, true, nil
}

// hogFace is the size, in pixels of the image the HOG detector looks at, that
// a face of minSize is given. The detector's window is 80 pixels and its
// pyramid steps by 6/5, so the faces it reports are 80, 96, 115, ... pixels:
// at 250/3 a face of minSize is 83 pixels, the smallest faces reported are
// 0.96 of minSize, too small, and the next 1.15. A larger hogFace would
// only add a level of faces that are all turned away (at 100: 80 and 96
// pixels, 0.8 and 0.96 of minSize) and 44% more pixels to scan.
const hogFace = 250.0 / 3

// hogScale is how far a lane's working frame can be shrunk before the HOG
// detector looks at it, so that a face of minSize is still found: a face
// smaller than minSize is not wanted anyway, and the detector's time grows
// with the pixels it scans. It is 1 when minSize is too small to shrink for.
func hogScale(minSize int, geom geometry) float64 {
	work := float64(minSize) * float64(geom.work.X) / float64(geom.orig.Dx())
	if work <= hogFace {
		return 1
	}
	return hogFace / work
}

// detectAtScale runs the HOG detector on a grey copy of m (8-bit BGR) shrunk
// by scale (at most 1), and returns the faces in m's own coordinates, right
// and bottom inclusive as dlib reports them. Landmarks are then found on
// m's full pixels. The detector takes each pixel's strongest gradient of
// the three channels; on one grey channel it finds the same faces in two
// thirds of the time (44 against 69 ms on 800x600 camera-like frames).
func detectAtScale(d *hogDetector, m gocv.Mat, scale float64) ([]image.Rectangle, error) {
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(m, &gray, gocv.ColorBGRToGray)
	if scale >= 1 {
		return d.detect(gray)
	}
	full := image.Pt(m.Cols(), m.Rows())
	size := image.Pt(max(1, int(math.Round(float64(full.X)*scale))), max(1, int(math.Round(float64(full.Y)*scale))))
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(gray, &small, size, 0, 0, gocv.InterpolationArea)
	rects, err := d.detect(small)
	if err != nil {
		return nil, err
	}
	sx, sy := float64(full.X)/float64(size.X), float64(full.Y)/float64(size.Y)
	for i, r := range rects {
		rects[i] = image.Rect(
			scaleCoord(r.Min.X, sx), scaleCoord(r.Min.Y, sy),
			scaleCoord(r.Max.X+1, sx)-1, scaleCoord(r.Max.Y+1, sy)-1)
	}
	return rects, nil
}

// workingFrame returns frame as the engine works on it: 8-bit BGR, scaled
// down to Config.MaxSide, and its geometry. The caller must close it when
// owned; otherwise it is frame itself.
func (e *Engine) workingFrame(ctx context.Context, frame gocv.Mat) (work gocv.Mat, owned bool, geom geometry, err error) {
	done, err := e.startDecoding(ctx)
	if err != nil {
		return gocv.Mat{}, false, geometry{}, err
	}
	defer done()
	bgr, owned, err := e.bgrFrame(frame)
	if err != nil {
		return gocv.Mat{}, false, geometry{}, err
	}
	size := image.Pt(bgr.Cols(), bgr.Rows())
	target := fitWithin(size, e.cfg.MaxSide)
	geom = geometry{orig: image.Rectangle{Max: size}, work: target}
	if target == size {
		return bgr, owned, geom, nil
	}
	if owned {
		defer bgr.Close()
	}
	scaled := gocv.NewMat()
	gocv.Resize(bgr, &scaled, target, 0, 0, gocv.InterpolationArea)
	return scaled, true, geom, nil
}

// detect registers the call, prepares the image and runs the models on it.
func (e *Engine) detect(ctx context.Context, cnn bool, describe func([]Face) []int, prepare func() (prepared, error)) ([]Face, error) {
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer e.inFlight.Done()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src, err := prepare()
	if err != nil {
		return nil, err
	}
	defer src.free()
	return e.recognize(ctx, src, cnn, describe)
}

// Enroll finds the one face in a photo that a ticket will be bound to, and
// computes its descriptors with every model of the engine. It considers only
// faces at least Config.MinFaceSize pixels on their shorter side: exactly
// one gives that face; more than one gives ErrManyFaces; none gives
// ErrFaceTooSmall when smaller faces were found and ErrNoFace when no face
// was. When dlib's HOG detector finds no face at all, its CNN detector, slower
// (about a second) but better at turned and poorly lit faces, looks again
// before Enroll answers ErrNoFace. Image errors are those of Detect. The
// caller may want to refuse a face with TouchesBorder set, whose descriptors
// are less reliable, and pass on ImageWarning.
func (e *Engine) Enroll(ctx context.Context, img []byte) (Face, error) {
	pick := func(faces []Face) []int {
		if _, err := e.pickEnrollFace(faces); err != nil {
			return nil
		}
		return []int{0}
	}
	faces, err := e.detect(ctx, true, pick, func() (prepared, error) { return e.prepareBytes(ctx, img) })
	if err != nil {
		return Face{}, fmt.Errorf("faces: enroll: %w", err)
	}
	return e.pickEnrollFace(faces)
}

// pickEnrollFace applies Enroll's rule to faces sorted largest first.
func (e *Engine) pickEnrollFace(faces []Face) (Face, error) {
	large := 0
	for _, f := range faces {
		if f.Size >= e.cfg.MinFaceSize {
			large++
		}
	}
	switch {
	case large == 1:
		return faces[0], nil
	case large > 1:
		return Face{}, fmt.Errorf("faces: enroll: %d faces of at least %d pixels: %w", large, e.cfg.MinFaceSize, ErrManyFaces)
	case len(faces) > 0:
		return Face{}, fmt.Errorf("faces: enroll: largest face is %d pixels, less than %d: %w", faces[0].Size, e.cfg.MinFaceSize, ErrFaceTooSmall)
	default:
		return Face{}, fmt.Errorf("faces: enroll: %w", ErrNoFace)
	}
}
