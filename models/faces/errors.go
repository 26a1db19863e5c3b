package faces

import (
	"errors"
	"fmt"

	face "github.com/Kagami/go-face"
)

// Errors returned by the engine, always wrapped with context such as
// "faces: enroll: ...". Check them with [errors.Is].
var (
	// ErrNoFace means Enroll found no face in the image. (Detect returns an
	// empty slice instead.)
	ErrNoFace = errors.New("no face found")
	// ErrManyFaces means Enroll found more than one face large enough to
	// enroll, so it cannot tell whose ticket this is.
	ErrManyFaces = errors.New("more than one face")
	// ErrFaceTooSmall means Enroll found faces, but all smaller than
	// Config.MinFaceSize.
	ErrFaceTooSmall = errors.New("face too small")
	// ErrUnsupportedImage means the data is neither JPEG, PNG nor WebP, uses a
	// feature of those formats that is not supported (such as 12-bit or
	// arithmetic-coded JPEG, or a JPEG of more than 500 scans), or is a
	// gocv.Mat of a type the engine cannot convert.
	ErrUnsupportedImage = errors.New("unsupported image")
	// ErrCorruptImage means the data looks like JPEG, PNG or WebP but
	// cannot be decoded: truncated, damaged (including a JPEG libjpeg warns
	// about before its last row), or empty. An empty input, and a nil or empty image.Image or gocv.Mat,
	// give ErrCorruptImage, not ErrUnsupportedImage.
	ErrCorruptImage = errors.New("corrupt image")
	// ErrImageTooLarge means the image has more pixels than
	// Config.MaxPixels. For JPEG and PNG this is known from the header,
	// before any pixel memory is allocated.
	ErrImageTooLarge = errors.New("image too large")
	// ErrClosed means the Engine was closed before or during the call.
	ErrClosed = errors.New("engine closed")
	// ErrInvalidConfig means a Config field has a value Open cannot use.
	ErrInvalidConfig = errors.New("invalid engine configuration")
	// ErrUnknownModel means a model name is not one Lookup knows.
	ErrUnknownModel = errors.New("unknown model")
	// ErrModelMissing means a model's file is not in Config.ModelDir:
	// `make models` fetches it.
	ErrModelMissing = errors.New("model file missing")
)

// recognizeError maps an error from go-face (and so from dlib and libjpeg)
// onto the package's sentinels. dlib reports every problem with the pixel data
// as an image load error; anything else is a fault inside dlib, which keeps
// go-face's error type so that it can still be told apart with errors.As.
func recognizeError(err error) error {
	var load face.ImageLoadError
	if errors.As(err, &load) {
		return fmt.Errorf("dlib: %v: %w", err, ErrCorruptImage)
	}
	return fmt.Errorf("dlib: %w", err)
}
