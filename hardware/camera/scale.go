package camera

import (
	"bytes"
	"image"
	_ "image/jpeg" // header sizes for decodeFlag
	_ "image/png"

	"gocv.io/x/gocv"
)

// fit scales m down to fit inside w×h, keeping its aspect ratio, and
// returns the result; m is closed when a scaled copy replaces it. A zero w or
// h leaves that side unbounded.
func fit(m gocv.Mat, w, h int) gocv.Mat {
	s := fitScale(m.Cols(), m.Rows(), w, h)
	if s >= 1 {
		return m
	}
	size := image.Pt(max(1, int(float64(m.Cols())*s+0.5)), max(1, int(float64(m.Rows())*s+0.5)))
	out := gocv.NewMat()
	// Area interpolation averages every source pixel, so shrinking adds
	// no aliasing for the face or QR detectors to trip over.
	gocv.Resize(m, &out, size, 0, 0, gocv.InterpolationArea)
	m.Close()
	return out
}

// fitScale is the factor (at most 1) that makes cols×rows fit inside w×h.
func fitScale(cols, rows, w, h int) float64 {
	s := 1.0
	if w > 0 && cols > w {
		s = min(s, float64(w)/float64(cols))
	}
	if h > 0 && rows > h {
		s = min(s, float64(h)/float64(rows))
	}
	return s
}

// decodeFlag picks how to decode an image file for a w×h box. A JPEG much
// larger than the box (a phone photo in a demo folder) is decoded at 1/2,
// 1/4 or 1/8 size by libjpeg itself, which skips most of the work, as long
// as the result still covers the box; fit then does the rest. The stored
// orientation is not known here, so the check compares long with long and
// short with short sides.
func decodeFlag(data []byte, w, h int) gocv.IMReadFlag {
	if w <= 0 || h <= 0 {
		return gocv.IMReadColor
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || format != "jpeg" {
		return gocv.IMReadColor
	}
	long, short := max(cfg.Width, cfg.Height), min(cfg.Width, cfg.Height)
	boxLong, boxShort := max(w, h), min(w, h)
	for _, r := range []struct {
		div  int
		flag gocv.IMReadFlag
	}{
		{8, gocv.IMReadReducedColor8},
		{4, gocv.IMReadReducedColor4},
		{2, gocv.IMReadReducedColor2},
	} {
		if long/r.div >= boxLong && short/r.div >= boxShort {
			return r.flag
		}
	}
	return gocv.IMReadColor
}
