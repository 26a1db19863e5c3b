package faces

import (
	"fmt"
	"image"
	"image/color"

	"gocv.io/x/gocv"
)

// prepareImage converts a decoded image for dlib. Results refer to img's own
// coordinates, so an image whose bounds do not start at (0, 0) keeps its
// offset.
func (e *Engine) prepareImage(img image.Image) (prepared, error) {
	if img == nil {
		return prepared{}, fmt.Errorf("nil image: %w", ErrCorruptImage)
	}
	b := img.Bounds()
	if b.Empty() {
		return prepared{}, fmt.Errorf("image has no pixels: %w", ErrCorruptImage)
	}
	if err := e.checkPixels(b.Size()); err != nil {
		return prepared{}, err
	}
	m, err := bgrMat(img)
	if err != nil {
		return prepared{}, err
	}
	defer m.Close()
	return e.encodeMat(m, fitWithin(b.Size(), e.cfg.MaxSide), orientTopLeft, b)
}

// bgrMat copies img into a new 8-bit BGR Mat, which the caller must close.
// Transparent pixels are blended onto white, the background of a cut-out
// portrait, so that they do not become black.
func bgrMat(img image.Image) (gocv.Mat, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	pix, err := m.DataPtrUint8()
	if err != nil {
		m.Close()
		return gocv.Mat{}, fmt.Errorf("convert image: %w", err)
	}
	switch src := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			row := pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				yi := src.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := src.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
				row[3*x], row[3*x+1], row[3*x+2] = bl, g, r
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			in := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			row := pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				v := in[x]
				row[3*x], row[3*x+1], row[3*x+2] = v, v, v
			}
		}
	case *image.RGBA:
		// Premultiplied: over white, each channel gains 255 - alpha. The
		// min guards against images that break the premultiplied rule.
		for y := 0; y < h; y++ {
			in := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			row := pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				p := in[4*x : 4*x+4 : 4*x+4]
				white := 255 - uint16(p[3])
				row[3*x] = uint8(min(uint16(p[2])+white, 255))
				row[3*x+1] = uint8(min(uint16(p[1])+white, 255))
				row[3*x+2] = uint8(min(uint16(p[0])+white, 255))
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			in := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			row := pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				p := in[4*x : 4*x+4 : 4*x+4]
				a := uint32(p[3])
				blend := func(c uint8) uint8 { return uint8((uint32(c)*a + 255*(255-a) + 127) / 255) }
				row[3*x], row[3*x+1], row[3*x+2] = blend(p[2]), blend(p[1]), blend(p[0])
			}
		}
	default:
		// Every other kind (16-bit, paletted, CMYK ...) through the
		// 16-bit premultiplied colour each image type can give.
		at := func(x, y int) color.RGBA64 {
			r, g, bl, a := img.At(x, y).RGBA()
			return color.RGBA64{uint16(r), uint16(g), uint16(bl), uint16(a)}
		}
		if fast, ok := img.(image.RGBA64Image); ok {
			at = fast.RGBA64At
		}
		for y := 0; y < h; y++ {
			row := pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				c := at(b.Min.X+x, b.Min.Y+y)
				white := 0xffff - uint32(c.A)
				row[3*x] = uint8(min(uint32(c.B)+white, 0xffff) >> 8)
				row[3*x+1] = uint8(min(uint32(c.G)+white, 0xffff) >> 8)
				row[3*x+2] = uint8(min(uint32(c.R)+white, 0xffff) >> 8)
			}
		}
	}
	return m, nil
}
