package qr_test

import (
	"image"
	"image/color"
	"math/rand/v2"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// base45 is the alphabet of RFC 9285, which is also the QR alphanumeric
// set: a token in it encodes at 5.5 bits a character.
const base45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// token returns a string shaped like a gate ticket token: "SG1." and n
// base45 characters, the same for the same seed.
func token(seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, 0))
	var b strings.Builder
	b.WriteString("SG1.")
	for range n {
		b.WriteByte(base45[rng.IntN(len(base45))])
	}
	return b.String()
}

// codeMat renders text as a QR code at error correction level M with px
// pixels a module and the standard four-module quiet zone: black on white,
// 8-bit gray. The caller closes it.
func codeMat(tb testing.TB, text string, px int) (gocv.Mat, *qrcode.QRCode) {
	tb.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		tb.Fatalf("encode %q: %v", text, err)
	}
	bits := q.Bitmap()
	n := len(bits)
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	for y := range n * px {
		for x := range n * px {
			if !bits[y/px][x/px] {
				img.SetGray(x, y, color.Gray{Y: 255})
			}
		}
	}
	m, err := gocv.ImageGrayToMatGray(img)
	if err != nil {
		tb.Fatal(err)
	}
	return m, q
}

// scene returns a w×h BGR frame of a real photo (the background a lane
// camera sees behind a visitor). The caller closes it.
func scene(tb testing.TB, w, h int) gocv.Mat {
	tb.Helper()
	photo := gocv.IMRead(testenv.PhotoPath(tb, "obama.jpg"), gocv.IMReadColor)
	defer photo.Close()
	if photo.Empty() {
		tb.Fatal("cannot decode obama.jpg")
	}
	out := gocv.NewMat()
	gocv.Resize(photo, &out, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	return out
}

// paste copies a gray code into frame with its top-left corner at at and
// returns the rectangle it covers.
func paste(tb testing.TB, frame *gocv.Mat, code gocv.Mat, at image.Point) image.Rectangle {
	tb.Helper()
	r := image.Rectangle{Min: at, Max: at.Add(image.Pt(code.Cols(), code.Rows()))}
	if !r.In(image.Rect(0, 0, frame.Cols(), frame.Rows())) {
		tb.Fatalf("code of %v does not fit the frame at %v", r.Size(), at)
	}
	bgr := gocv.NewMat()
	defer bgr.Close()
	gocv.CvtColor(code, &bgr, gocv.ColorGrayToBGR)
	dst := frame.Region(r)
	defer dst.Close()
	bgr.CopyTo(&dst)
	return r
}

// addNoise adds Gaussian noise of the given standard deviation to every
// channel of frame, from a fixed seed so that every run sees the same
// pixels.
func addNoise(tb testing.TB, frame *gocv.Mat, stddev float64, seed uint64) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	buf := make([]byte, frame.Rows()*frame.Cols()*frame.Channels())
	for i := range buf {
		v := 128 + rng.NormFloat64()*stddev
		buf[i] = byte(min(255, max(0, v)))
	}
	noise, err := gocv.NewMatFromBytes(frame.Rows(), frame.Cols(), frame.Type(), buf)
	if err != nil {
		tb.Fatal(err)
	}
	defer noise.Close()
	// frame + (noise - 128), saturated: AddWeighted computes before it
	// rounds, so the offset does not clip the noise.
	gocv.AddWeighted(*frame, 1, noise, 1, -128, frame)
}
