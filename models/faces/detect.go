package faces

import (
	"context"
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// Detect finds the faces in a JPEG or PNG image and computes their
// descriptors. It returns the faces largest first, and an empty, non-nil
// slice with a nil error when there is none. Rectangles are in the upright
// original's coordinates: EXIF orientation applied, at full resolution.
//
// The image's size is read from its header first; more than
// Config.MaxPixels gives ErrImageTooLarge before any pixel is decoded. Data
// that is neither JPEG nor PNG gives ErrUnsupportedImage; empty, truncated or
// damaged data gives ErrCorruptImage, as does any JPEG that libjpeg warns
// about. A JPEG that needs no turning, scaling or colour conversion goes to
// dlib as it is. Detect neither keeps nor modifies img.
//
// ctx is honoured while the call waits for a decoding slot or a recognizer
// (the error then wraps ctx.Err()); dlib's own work, about 0.1 s per image,
// runs to its end once started. After Close, Detect returns ErrClosed.
func (e *Engine) Detect(ctx context.Context, img []byte) ([]Face, error) {
	faces, err := e.detect(ctx, func() (prepared, error) { return e.prepareBytes(ctx, img) })
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
	faces, err := e.detect(ctx, func() (prepared, error) {
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
	faces, err := e.detect(ctx, func() (prepared, error) {
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
	})
	if err != nil {
		return nil, fmt.Errorf("faces: detect frame: %w", err)
	}
	return faces, nil
}

// detect registers the call, prepares the image and runs dlib on it.
func (e *Engine) detect(ctx context.Context, prepare func() (prepared, error)) ([]Face, error) {
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
	return e.recognize(ctx, src)
}

// Enroll finds the one face in a photo that a ticket will be bound to. It
// considers only faces at least Config.MinFaceSize pixels on their shorter
// side: exactly one gives that face; more than one gives ErrManyFaces; none
// gives ErrFaceTooSmall when smaller faces were found and ErrNoFace when no
// face was. Image errors are those of Detect. The caller may want to refuse a
// face with TouchesBorder set, whose descriptor is less reliable.
func (e *Engine) Enroll(ctx context.Context, img []byte) (Face, error) {
	faces, err := e.detect(ctx, func() (prepared, error) { return e.prepareBytes(ctx, img) })
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
