package faces

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	"gocv.io/x/gocv"
)

// prepared is an image ready for dlib: JPEG bytes that go-face can read, and
// how their pixels map to the original.
type prepared struct {
	jpeg []byte
	geom geometry
	// buf holds jpeg in OpenCV's memory; nil when jpeg is the caller's own
	// data, passed through unchanged.
	buf *gocv.NativeByteBuffer
}

// free releases the native memory behind p.jpeg, if any.
func (p prepared) free() {
	if p.buf != nil {
		p.buf.Close()
	}
}

const (
	jpegMagic = "\xff\xd8"
	pngMagic  = "\x89PNG\r\n\x1a\n"
)

// prepareBytes identifies JPEG or PNG data by its first bytes and prepares
// it for dlib.
func (e *Engine) prepareBytes(ctx context.Context, data []byte) (prepared, error) {
	switch {
	case len(data) == 0:
		return prepared{}, fmt.Errorf("empty input: %w", ErrCorruptImage)
	case bytes.HasPrefix(data, []byte(jpegMagic)):
		return e.prepareJPEG(ctx, data)
	case bytes.HasPrefix(data, []byte(pngMagic)):
		return e.preparePNG(ctx, data)
	case bytes.HasPrefix([]byte(jpegMagic), data), bytes.HasPrefix([]byte(pngMagic), data):
		return prepared{}, fmt.Errorf("%d bytes, cut off inside the signature: %w", len(data), ErrCorruptImage)
	default:
		return prepared{}, fmt.Errorf("neither JPEG nor PNG: %w", ErrUnsupportedImage)
	}
}

// prepareJPEG passes a JPEG that dlib can use as it is straight through, and
// otherwise decodes it, scaled down on the way when it is large.
func (e *Engine) prepareJPEG(ctx context.Context, data []byte) (prepared, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return prepared{}, headerError("JPEG", err)
	}
	stored := image.Pt(cfg.Width, cfg.Height)
	if err := e.checkPixels(stored); err != nil {
		return prepared{}, err
	}
	markers := scanJPEG(data)
	if !markers.complete {
		return prepared{}, fmt.Errorf("JPEG ends before its end-of-image marker: %w", ErrCorruptImage)
	}
	if markers.scans > maxJPEGScans {
		// Each scan of a progressive JPEG passes over the whole image, so
		// thousands of tiny scans make a small file take minutes.
		return prepared{}, fmt.Errorf("JPEG has %d scans, more than %d: %w", markers.scans, maxJPEGScans, ErrUnsupportedImage)
	}
	target := fitWithin(stored, e.cfg.MaxSide)
	if markers.orientation == orientTopLeft && target == stored && dlibReadsJPEG(cfg.ColorModel) {
		return prepared{jpeg: data, geom: geometry{orig: image.Rectangle{Max: stored}, work: stored}}, nil
	}

	doneDecoding, err := e.startDecoding(ctx)
	if err != nil {
		return prepared{}, err
	}
	defer doneDecoding()
	mat, err := e.decodeJPEG(data, cfg.ColorModel, jpegScale(stored, target))
	if err != nil {
		return prepared{}, err
	}
	defer mat.Close()
	return e.encodeMat(mat, target, markers.orientation, image.Rectangle{Max: upright(stored, markers.orientation)})
}

// decodeJPEG decodes a JPEG into a new BGR Mat, at 1/denom scale when
// libjpeg can do it. The caller must close the Mat.
func (e *Engine) decodeJPEG(data []byte, model color.Model, denom int) (gocv.Mat, error) {
	if model != color.CMYKModel {
		return decodeJPEGScaled(data, denom)
	}
	// Print-shop CMYK: libjpeg cannot turn it into RGB, image/jpeg can.
	// Rare enough that its speed does not matter.
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return gocv.Mat{}, headerError("JPEG", err)
	}
	return bgrMat(img)
}

// maxJPEGScans is the most scans a JPEG may have. Encoders write a dozen or
// so; 500 is the limit libjpeg-turbo's TurboJPEG API applies when asked to
// limit scans.
const maxJPEGScans = 500

// dlibReadsJPEG reports whether go-face's JPEG reader accepts a JPEG of this
// colour model: it wants exactly three components, so grayscale and CMYK
// JPEGs must be converted.
func dlibReadsJPEG(m color.Model) bool {
	return m == color.YCbCrModel || m == color.RGBAModel
}

// preparePNG decodes a PNG with image/png, which handles every PNG colour type
// and bit depth and reports damage as errors. PNG uploads are rare and small
// enough that its speed does not matter.
func (e *Engine) preparePNG(ctx context.Context, data []byte) (prepared, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return prepared{}, headerError("PNG", err)
	}
	size := image.Pt(cfg.Width, cfg.Height)
	if err := e.checkPixels(size); err != nil {
		return prepared{}, err
	}

	doneDecoding, err := e.startDecoding(ctx)
	if err != nil {
		return prepared{}, err
	}
	defer doneDecoding()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return prepared{}, headerError("PNG", err)
	}
	return e.prepareImage(img)
}

// headerError classifies an error from image/jpeg or image/png.
func headerError(format string, err error) error {
	var jpegUnsupported jpeg.UnsupportedError
	var pngUnsupported png.UnsupportedError
	if errors.As(err, &jpegUnsupported) || errors.As(err, &pngUnsupported) {
		return fmt.Errorf("decode %s: %v: %w", format, err, ErrUnsupportedImage)
	}
	return fmt.Errorf("decode %s: %v: %w", format, err, ErrCorruptImage)
}

// checkPixels refuses images with no pixels or more than MaxPixels.
func (e *Engine) checkPixels(size image.Point) error {
	if size.X <= 0 || size.Y <= 0 {
		return fmt.Errorf("image is %dx%d: %w", size.X, size.Y, ErrCorruptImage)
	}
	if n := int64(size.X) * int64(size.Y); n > int64(e.cfg.MaxPixels) {
		return fmt.Errorf("image is %dx%d = %d pixels, more than %d: %w",
			size.X, size.Y, n, e.cfg.MaxPixels, ErrImageTooLarge)
	}
	return nil
}
