package faces

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/scenicgate/scenicgate/internal/testenv"
	"gocv.io/x/gocv"
)

// BenchmarkDecodeJPEG compares three ways to get a 12-megapixel JPEG down to
// the engine's working size (1280x960): libjpeg-turbo at 1/2 scale (what the
// engine does), OpenCV's imdecode at 1/2 scale (the same library, but it
// hides damage), and a full decode with image/jpeg. Each includes the final
// resize to 1280x960, done by OpenCV.
func BenchmarkDecodeJPEG(b *testing.B) {
	small, err := gocv.IMDecode(testenv.Photo(b, "obama.jpg"), gocv.IMReadColor)
	if err != nil || small.Empty() {
		b.Fatalf("IMDecode(obama.jpg): %v", err)
	}
	defer small.Close()
	large := gocv.NewMat()
	defer large.Close()
	gocv.Resize(small, &large, image.Pt(4000, 3000), 0, 0, gocv.InterpolationCubic)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, large, []int{gocv.IMWriteJpegQuality, 90})
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Clone(buf.GetBytes())
	buf.Close()
	target := image.Pt(1280, 960)

	resize := func(b *testing.B, m gocv.Mat) {
		out := gocv.NewMat()
		gocv.Resize(m, &out, target, 0, 0, gocv.InterpolationArea)
		out.Close()
	}
	b.Run("libjpeg-scaled", func(b *testing.B) {
		for b.Loop() {
			m, _, err := decodeJPEGScaled(data, jpegScale(image.Pt(4000, 3000), target))
			if err != nil {
				b.Fatal(err)
			}
			resize(b, m)
			m.Close()
		}
	})
	b.Run("opencv-reduced", func(b *testing.B) {
		for b.Loop() {
			m, err := gocv.IMDecode(data, gocv.IMReadReducedColor2|gocv.IMReadIgnoreOrientation)
			if err != nil || m.Empty() {
				b.Fatal(err)
			}
			resize(b, m)
			m.Close()
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		for b.Loop() {
			img, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			m, err := bgrMat(img)
			if err != nil {
				b.Fatal(err)
			}
			resize(b, m)
			m.Close()
		}
	})
}
