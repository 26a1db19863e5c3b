package faces_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// pngHeaderOnly returns a PNG whose header claims the given size, followed by
// a few bytes of compressed data: a decompression bomb's opening.
func pngHeaderOnly(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(kind string, data []byte) {
		binary.Write(&buf, binary.BigEndian, uint32(len(data)))
		body := append([]byte(kind), data...)
		buf.Write(body)
		binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(body))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00})
	chunk("IEND", nil)
	return buf.Bytes()
}

// jpegClaiming returns a real JPEG whose frame header is edited to claim the
// given size.
func jpegClaiming(t *testing.T, w, h uint16) []byte {
	data := encodeJPEG(t, gradient(64, 48))
	sof := bytes.Index(data, []byte{0xFF, 0xC0})
	if sof < 0 {
		t.Fatal("no SOF0 marker in image/jpeg's output")
	}
	// Marker, length, precision, then height and width.
	binary.BigEndian.PutUint16(data[sof+5:], h)
	binary.BigEndian.PutUint16(data[sof+7:], w)
	return data
}

func TestDetectBadInput(t *testing.T) {
	e := testEngine(t)
	obama := testenv.Photo(t, "obama.jpg")
	biden := testenv.Photo(t, "biden.jpg") // larger than MaxSide: decoded by OpenCV
	random := make([]byte, 100_000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var gifData bytes.Buffer
	if err := gif.Encode(&gifData, gradient(64, 48), nil); err != nil {
		t.Fatal(err)
	}
	png32 := testenv.Photo(t, "32bit.png")
	// Damage in the middle of the compressed data, end marker intact.
	damage := func(photo []byte) []byte {
		out := bytes.Clone(photo)
		mid := len(out) / 2
		for i := mid; i < mid+4096; i++ {
			out[i] = byte(rng.Uint32()) & 0x7F // no 0xFF: no false markers
		}
		return out
	}

	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", []byte{}, faces.ErrCorruptImage},
		{"nil", nil, faces.ErrCorruptImage},
		{"random bytes", random, faces.ErrUnsupportedImage},
		{"text", []byte("<html>not a photo</html>"), faces.ErrUnsupportedImage},
		{"GIF", gifData.Bytes(), faces.ErrUnsupportedImage},
		{"JPEG signature only", []byte{0xFF, 0xD8}, faces.ErrCorruptImage},
		{"first byte of PNG signature", []byte{0x89}, faces.ErrCorruptImage},
		{"JPEG signature then random bytes", append([]byte{0xFF, 0xD8, 0xFF}, random...), faces.ErrCorruptImage},
		{"JPEG cut in half", obama[:len(obama)/2], faces.ErrCorruptImage},
		{"JPEG cut after the header", obama[:2000], faces.ErrCorruptImage},
		{"JPEG cut 100 bytes before its end", obama[:len(obama)-100], faces.ErrCorruptImage},
		{"JPEG cut 100 bytes before its end, end marker added", append(slices.Clone(obama[:len(obama)-100]), 0xFF, 0xD9), faces.ErrCorruptImage},
		{"RIFF signature only", []byte("RIFF"), faces.ErrCorruptImage},
		{"WebP header only", []byte("RIFF\x00\x10\x00\x00WEBPVP8 "), faces.ErrCorruptImage},
		{"large JPEG cut in half", biden[:len(biden)/2], faces.ErrCorruptImage},
		{"JPEG damaged in the middle", damage(obama), faces.ErrCorruptImage},
		{"large JPEG damaged in the middle", damage(biden), faces.ErrCorruptImage},
		{"PNG cut in half", png32[:len(png32)/2], faces.ErrCorruptImage},
		{"PNG cut in the header", png32[:20], faces.ErrCorruptImage},
		{"PNG claiming 30000x30000", pngHeaderOnly(30000, 30000), faces.ErrImageTooLarge},
		{"PNG claiming 4000x3000 with no data", pngHeaderOnly(4000, 3000), faces.ErrCorruptImage},
		{"PNG claiming 0x0", pngHeaderOnly(0, 0), faces.ErrCorruptImage},
		{"JPEG claiming 65000x65000", jpegClaiming(t, 65000, 65000), faces.ErrImageTooLarge},
		{"JPEG claiming 8000x6000 with 64x48 of data", jpegClaiming(t, 8000, 6000), faces.ErrCorruptImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Detect(context.Background(), tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Detect(%s) = %d faces, %v; want error %v", tt.name, len(got), err, tt.want)
			}
			t.Logf("Detect(%s): %v", tt.name, err)
		})
	}
}

// TestBombAllocatesNothing checks that an image refused for its size is
// refused before its pixels are allocated.
func TestBombAllocatesNothing(t *testing.T) {
	e := testEngine(t)
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"PNG 30000x30000", pngHeaderOnly(30000, 30000)},
		{"JPEG 65000x65000", jpegClaiming(t, 65000, 65000)},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := e.Detect(context.Background(), tt.data)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, faces.ErrImageTooLarge) {
			t.Fatalf("Detect(%s) error = %v; want %v", tt.name, err, faces.ErrImageTooLarge)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("Detect(%s) allocated %d bytes; want under 1 MiB", tt.name, n)
		}
	}
}

// TestImageKinds feeds the same photo in the forms an upload may take; each
// must give obama2.jpg's face.
func TestImageKinds(t *testing.T) {
	e := testEngine(t)
	want := enrollPhoto(t, "obama2.jpg")
	src := toRGBA(decodePhoto(t, "obama2.jpg"))
	b := src.Bounds()

	gray := image.NewGray(b)
	draw.Draw(gray, b, src, image.Point{}, draw.Src)
	gray16 := image.NewGray16(b)
	draw.Draw(gray16, b, src, image.Point{}, draw.Src)
	rgba64 := image.NewRGBA64(b)
	draw.Draw(rgba64, b, src, image.Point{}, draw.Src)
	paletted := image.NewPaletted(b, palette.WebSafe)
	draw.FloydSteinberg.Draw(paletted, b, src, image.Point{})
	// Half-transparent background around an opaque face.
	nrgba := image.NewNRGBA(b)
	draw.Draw(nrgba, b, src, image.Point{}, draw.Src)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if !(image.Point{x, y}.In(want.Rect.Inset(-40))) {
				c := nrgba.NRGBAAt(x, y)
				c.A = 128
				nrgba.SetNRGBA(x, y, c)
			}
		}
	}

	tests := []struct {
		name    string
		data    []byte
		maxDist float32 // as a fraction of each model's threshold
	}{
		// dlib: photos differ by 0.3 or more; re-encoding moves a
		// descriptor by up to 0.1, dropping colour or depth by more.
		{"RGBA PNG (32bit.png)", testenv.Photo(t, "32bit.png"), 0.33},
		{"8-bit grayscale PNG", encodePNG(t, gray), 0.67},
		{"16-bit grayscale PNG", encodePNG(t, gray16), 0.67},
		{"16-bit RGBA PNG", encodePNG(t, rgba64), 0.33},
		{"paletted PNG", encodePNG(t, paletted), 0.67},
		{"half-transparent PNG", encodePNG(t, nrgba), 0.33},
		{"grayscale JPEG", encodeJPEG(t, gray), 0.67},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Enroll(context.Background(), tt.data)
			if err != nil {
				t.Fatalf("Enroll(%s): %v", tt.name, err)
			}
			d := checkNear(t, e, "Enroll("+tt.name+")", got, want, tt.maxDist)
			t.Logf("Enroll(%s): %v, %v from obama2.jpg", tt.name, got.Rect, d)
			// Without colour BlazeFace's box moves by up to 3% of the
			// face (9 of 300 pixels here).
			if !closeRect(got.Rect, want.Rect, 12) {
				t.Errorf("Enroll(%s).Rect = %v; want %v within 12 pixels", tt.name, got.Rect, want.Rect)
			}
		})
	}
}

// TestJPEGFlavours runs the JPEG variants of Go's own decoder tests (chroma
// subsampling, progressive, restart markers, grayscale, RGB, CMYK) through the
// engine, each as it is and with EXIF orientation 6, which sends it through
// the engine's own decoder. None holds a face: each must decode without error
// and give no face.
func TestJPEGFlavours(t *testing.T) {
	e := testEngine(t)
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "src", "image", "testdata")
	names, err := filepath.Glob(filepath.Join(dir, "video-00*.jpeg"))
	if err != nil || len(names) < 20 {
		t.Fatalf("Go's JPEG test images in %s: found %d, %v; want 20 or more", dir, len(names), err)
	}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// "progressive.truncated" lacks the last refinement scans but is
		// a valid JPEG, which image/jpeg decodes too.
		base := filepath.Base(name)
		for _, variant := range []struct {
			name string
			data []byte
		}{
			{base, data},
			{base + " turned", withOrientation(data, 6, binary.LittleEndian)},
		} {
			// The picture shows two people, with faces of about 20
			// pixels: too small for the HOG detector, near the least
			// BlazeFace finds.
			got, err := e.Detect(context.Background(), variant.data)
			if err != nil || len(got) > 2 {
				t.Errorf("Detect(%s) = %d faces, %v; want at most the 2 in the picture and no error", variant.name, len(got), err)
			}
		}
	}
}

// TestRepairableJPEG feeds JPEGs that libjpeg decodes in full but that are
// not quite right, as phones and messaging apps send them: each is enrolled
// like the clean photo, and the face says what was wrong with the file.
func TestRepairableJPEG(t *testing.T) {
	e := testEngine(t)
	obama := testenv.Photo(t, "obama.jpg")
	want := enrollPhoto(t, "obama.jpg")
	withoutEOI := bytes.TrimSuffix(obama, []byte{0xFF, 0xD9})
	if len(withoutEOI) == len(obama) {
		t.Fatal("obama.jpg does not end with an end-of-image marker")
	}
	tests := []struct {
		name    string
		data    []byte
		warning string // "" for a clean JPEG
	}{
		{"missing its end marker", withoutEOI, "no end-of-image marker"},
		{"zero bytes before its end marker", append(append(slices.Clone(withoutEOI), make([]byte, 64)...), 0xFF, 0xD9), "extraneous bytes"},
		{"data after its end marker", append(slices.Clone(obama), "a thumbnail or an app's own data"...), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Enroll(context.Background(), tt.data)
			if err != nil {
				t.Fatalf("Enroll(JPEG %s): %v; want the face", tt.name, err)
			}
			t.Logf("Enroll(JPEG %s): %v, warning %q", tt.name, got.Rect, got.ImageWarning)
			if tt.warning == "" && got.ImageWarning != "" || !strings.Contains(got.ImageWarning, tt.warning) {
				t.Errorf("Enroll(JPEG %s).ImageWarning = %q; want it to mention %q", tt.name, got.ImageWarning, tt.warning)
			}
			if !closeRect(got.Rect, want.Rect, 2) {
				t.Errorf("Enroll(JPEG %s).Rect = %v; want %v", tt.name, got.Rect, want.Rect)
			}
			checkNear(t, e, "Enroll(JPEG "+tt.name+")", got, want, 0.33)
		})
	}
}

// TestWebP enrolls a WebP photo, as some phones and apps send them.
func TestWebP(t *testing.T) {
	e := testEngine(t)
	want := enrollPhoto(t, "obama2.jpg")
	bgr, err := gocv.IMDecode(testenv.Photo(t, "obama2.jpg"), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer bgr.Close()
	for _, quality := range []int{80, 101} { // lossy, and lossless above 100
		buf, err := gocv.IMEncodeWithParams(gocv.FileExt(".webp"), bgr, []int{gocv.IMWriteWebpQuality, quality})
		if err != nil {
			t.Fatalf("encode WebP: %v", err)
		}
		webp := bytes.Clone(buf.GetBytes())
		buf.Close()
		got, err := e.Enroll(context.Background(), webp)
		if err != nil {
			t.Fatalf("Enroll(WebP quality %d, %d bytes): %v", quality, len(webp), err)
		}
		if !closeRect(got.Rect, want.Rect, 8) {
			t.Errorf("Enroll(WebP quality %d).Rect = %v; want %v within 8 pixels", quality, got.Rect, want.Rect)
		}
		d := checkNear(t, e, fmt.Sprintf("Enroll(WebP quality %d)", quality), got, want, 0.33)
		t.Logf("Enroll(WebP quality %d, %d bytes): %v, %v from the JPEG's", quality, len(webp), got.Rect, d)
	}
	if _, err := e.Detect(context.Background(), []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00garbage garbage garbage!")); !errors.Is(err, faces.ErrCorruptImage) {
		t.Errorf("Detect(damaged WebP) error = %v; want %v", err, faces.ErrCorruptImage)
	}
}
