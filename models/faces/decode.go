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
	"io"
	"slices"

	"golang.org/x/image/webp"

	"gocv.io/x/gocv"
)

// prepared is an image ready for the models: JPEG bytes that go-face can
// read, the same picture's pixels when an ONNX model needs them, and how
// they map to the original.
type prepared struct {
	jpeg []byte
	geom geometry
	// buf holds jpeg in OpenCV's memory; nil when jpeg is the caller's own
	// data, passed through unchanged.
	buf *gocv.NativeByteBuffer
	// pixels is the working image, 8-bit BGR, owned by prepared; a zero
	// Mat when the engine runs no ONNX model.
	pixels gocv.Mat
	// warning is libjpeg's complaint about a JPEG it decoded in full.
	warning string
}

// free releases the native memory behind p.jpeg and p.pixels, if any.
func (p prepared) free() {
	if p.buf != nil {
		p.buf.Close()
	}
	if p.pixels.Ptr() != nil {
		p.pixels.Close()
	}
}

const (
	jpegMagic = "\xff\xd8"
	pngMagic  = "\x89PNG\r\n\x1a\n"
)

// isWebP reports whether data starts like a WebP file: a RIFF container of
// type WEBP.
func isWebP(data []byte) bool {
	return len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP"
}

// prepareBytes identifies JPEG, PNG or WebP data by its first bytes and
// prepares it for the models.
func (e *Engine) prepareBytes(ctx context.Context, data []byte) (prepared, error) {
	switch {
	case len(data) == 0:
		return prepared{}, fmt.Errorf("empty input: %w", ErrCorruptImage)
	case bytes.HasPrefix(data, []byte(jpegMagic)):
		return e.prepareJPEG(ctx, data)
	case bytes.HasPrefix(data, []byte(pngMagic)):
		return e.prepareDecoded(ctx, data, "PNG", png.DecodeConfig, png.Decode)
	case isWebP(data):
		return e.prepareDecoded(ctx, data, "WebP", webp.DecodeConfig, webp.Decode)
	case bytes.HasPrefix([]byte(jpegMagic), data), bytes.HasPrefix([]byte(pngMagic), data),
		len(data) < 12 && bytes.HasPrefix([]byte("RIFF"), data[:min(len(data), 4)]):
		return prepared{}, fmt.Errorf("%d bytes, cut off inside the signature: %w", len(data), ErrCorruptImage)
	default:
		return prepared{}, fmt.Errorf("neither JPEG, PNG nor WebP: %w", ErrUnsupportedImage)
	}
}

// prepareJPEG decodes a JPEG, scaled down on the way when it is large. A
// clean one that dlib can read as it is goes to dlib unchanged; any other is
// encoded again from its pixels.
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
	if markers.scans > maxJPEGScans {
		// Each scan of a progressive JPEG passes over the whole image, so
		// thousands of tiny scans make a small file take minutes.
		return prepared{}, fmt.Errorf("JPEG has %d scans, more than %d: %w", markers.scans, maxJPEGScans, ErrUnsupportedImage)
	}
	target := fitWithin(stored, e.cfg.MaxSide)

	doneDecoding, err := e.startDecoding(ctx)
	if err != nil {
		return prepared{}, err
	}
	defer doneDecoding()
	// A JPEG without its end-of-image marker is either whole but for the
	// marker, as some phones and apps write them, or cut off. With the
	// marker added, the first decodes cleanly and the second still
	// fails.
	src := data
	if !markers.complete {
		src = append(slices.Clip(data), 0xFF, markerEOI)
	}
	// Decoded even when dlib could read the file itself: the decoder is
	// what tells a clean JPEG from one libjpeg warns about, and the ONNX
	// models need the pixels anyway.
	mat, warning, err := e.decodeJPEG(src, cfg.ColorModel, jpegScale(stored, target))
	if err != nil {
		return prepared{}, err
	}
	if !markers.complete && warning == "" {
		warning = "the JPEG has no end-of-image marker"
	}
	defer mat.Close()
	if warning == "" && markers.orientation == orientTopLeft && target == stored && dlibReadsJPEG(cfg.ColorModel) {
		p := prepared{jpeg: data, geom: geometry{orig: image.Rectangle{Max: stored}, work: stored}}
		if e.pixels {
			p.pixels = mat.Clone()
		}
		return p, nil
	}
	p, err := e.encodeMat(mat, target, markers.orientation, image.Rectangle{Max: upright(stored, markers.orientation)})
	p.warning = warning
	return p, err
}

// decodeJPEG decodes a JPEG into a new BGR Mat, at 1/denom scale when
// libjpeg can do it, with libjpeg's warning about data after the last row
// (see decodeJPEGScaled). The caller must close the Mat.
func (e *Engine) decodeJPEG(data []byte, model color.Model, denom int) (gocv.Mat, string, error) {
	if model != color.CMYKModel {
		return decodeJPEGScaled(data, denom)
	}
	// Print-shop CMYK: libjpeg cannot turn it into RGB, image/jpeg can.
	// Rare enough that its speed does not matter.
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return gocv.Mat{}, "", headerError("JPEG", err)
	}
	m, err := bgrMat(img)
	return m, "", err
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

// prepareDecoded decodes a PNG or WebP image with Go's decoders, which
// handle every colour type and bit depth and report damage as errors. Such
// uploads are rare and small enough that their speed does not matter.
func (e *Engine) prepareDecoded(ctx context.Context, data []byte, format string,
	decodeConfig func(io.Reader) (image.Config, error), decode func(io.Reader) (image.Image, error)) (prepared, error) {
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return prepared{}, headerError(format, err)
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
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return prepared{}, headerError(format, err)
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
