package faces_test

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"sync"
	"testing"

	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// The tests share one engine: loading the models takes about half a second
// per recognizer.
var shared struct {
	once   sync.Once
	engine *faces.Engine
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.engine != nil {
		shared.engine.Close()
	}
	os.Exit(code)
}

// testEngine returns the engine shared by the tests: default settings with a
// pool of two recognizers, so that the pool is exercised even on one core.
func testEngine(tb testing.TB) *faces.Engine {
	tb.Helper()
	dir := testenv.ModelDir(tb)
	shared.once.Do(func() {
		shared.engine, shared.err = faces.Open(faces.Config{ModelDir: dir, Workers: 2})
	})
	if shared.err != nil {
		tb.Fatalf("Open: %v", shared.err)
	}
	return shared.engine
}

// decodePhoto returns a test photo's pixels.
func decodePhoto(tb testing.TB, name string) image.Image {
	tb.Helper()
	img, _, err := image.Decode(bytes.NewReader(testenv.Photo(tb, name)))
	if err != nil {
		tb.Fatalf("decode %s: %v", name, err)
	}
	return img
}

// toRGBA copies img into an RGBA image whose bounds start at (0, 0).
func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// scaleImage resizes img to w x h by sampling the nearest pixel; the tests
// need sizes, not beauty.
func scaleImage(img image.Image, w, h int) *image.RGBA {
	src := toRGBA(img)
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		sy := (2*y + 1) * sh / (2 * h)
		for x := 0; x < w; x++ {
			sx := (2*x + 1) * sw / (2 * w)
			copy(out.Pix[out.PixOffset(x, y):][:4], src.Pix[src.PixOffset(sx, sy):][:4])
		}
	}
	return out
}

// closeRect reports whether two rectangles agree within tol pixels on every
// side.
func closeRect(a, b image.Rectangle, tol int) bool {
	near := func(p, q int) bool { return p-q <= tol && q-p <= tol }
	return near(a.Min.X, b.Min.X) && near(a.Min.Y, b.Min.Y) && near(a.Max.X, b.Max.X) && near(a.Max.Y, b.Max.Y)
}

// distance returns how far apart two faces are by model.
func distance(tb testing.TB, model string, a, b faces.Face) float32 {
	tb.Helper()
	m, err := faces.Lookup(model)
	if err != nil {
		tb.Fatal(err)
	}
	da, db := a.Descriptor(model), b.Descriptor(model)
	if da == nil || db == nil {
		tb.Fatalf("no %s descriptor (%d and %d values)", model, len(da), len(db))
	}
	return m.Distance(da, db)
}

// checkNear fails the test unless got and want, two findings of the same
// face, agree by every model of the engine: within frac of each model's
// same-person threshold. It returns the distances, by model.
func checkNear(tb testing.TB, e *faces.Engine, what string, got, want faces.Face, frac float32) map[string]float32 {
	tb.Helper()
	out := map[string]float32{}
	for _, m := range e.Models() {
		d := distance(tb, m.Name, got, want)
		out[m.Name] = d
		if limit := frac * m.Threshold; d > limit {
			tb.Errorf("%s: %s descriptor %.3f from the reference; want at most %.3f (%.2f of its threshold)", what, m.Name, d, limit, frac)
		}
	}
	return out
}
