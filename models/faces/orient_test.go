package faces_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"testing"

	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
	"gocv.io/x/gocv"
)

// storeRotated returns the pixels a camera would store for the upright
// picture u with EXIF orientation o. It follows the standard's definition of
// each value, where the stored first row and first column appear in the
// upright picture, independently of how the engine turns images.
func storeRotated(u *image.RGBA, o int) *image.RGBA {
	w, h := u.Bounds().Dx(), u.Bounds().Dy()
	sw, sh := w, h
	if o >= 5 {
		sw, sh = h, w
	}
	s := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for r := 0; r < sh; r++ {
		for c := 0; c < sw; c++ {
			var x, y int // the upright pixel stored at column c, row r
			switch o {
			case 1: // row 0 at the top, column 0 at the left
				x, y = c, r
			case 2: // row 0 at the top, column 0 at the right
				x, y = w-1-c, r
			case 3: // row 0 at the bottom, column 0 at the right
				x, y = w-1-c, h-1-r
			case 4: // row 0 at the bottom, column 0 at the left
				x, y = c, h-1-r
			case 5: // row 0 at the left, column 0 at the top
				x, y = r, c
			case 6: // row 0 at the right, column 0 at the top
				x, y = w-1-r, c
			case 7: // row 0 at the right, column 0 at the bottom
				x, y = w-1-r, h-1-c
			case 8: // row 0 at the left, column 0 at the bottom
				x, y = r, h-1-c
			}
			copy(s.Pix[s.PixOffset(c, r):][:4], u.Pix[u.PixOffset(x, y):][:4])
		}
	}
	return s
}

// withOrientation inserts an EXIF segment holding only the orientation tag
// right after the JPEG's start-of-image marker.
func withOrientation(jpegData []byte, o int, order binary.ByteOrder) []byte {
	tiff := make([]byte, 26)
	if order == binary.BigEndian {
		copy(tiff, "MM")
	} else {
		copy(tiff, "II")
	}
	order.PutUint16(tiff[2:], 42)
	order.PutUint32(tiff[4:], 8)       // first directory right after the header
	order.PutUint16(tiff[8:], 1)       // one entry
	order.PutUint16(tiff[10:], 0x0112) // orientation
	order.PutUint16(tiff[12:], 3)      // SHORT
	order.PutUint32(tiff[14:], 1)      // one value
	order.PutUint16(tiff[18:], uint16(o))
	// tiff[22:26]: no next directory.
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+len(payload)))
	out := append([]byte{}, jpegData[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpegData[2:]...)
}

func TestEXIFOrientation(t *testing.T) {
	e := testEngine(t)
	upright := toRGBA(decodePhoto(t, "obama.jpg"))
	want, err := e.Detect(context.Background(), encodeJPEG(t, upright))
	if err != nil || len(want) != 1 {
		t.Fatalf("Detect(upright) = %d faces, %v; want 1", len(want), err)
	}
	type orientCase struct {
		o     int
		order binary.ByteOrder
	}
	var cases []orientCase
	for o := 1; o <= 8; o++ {
		cases = append(cases, orientCase{o, binary.LittleEndian})
	}
	// Big-endian EXIF (written by some cameras) for the two turns phones
	// use most.
	cases = append(cases, orientCase{6, binary.BigEndian}, orientCase{8, binary.BigEndian})
	for _, tt := range cases {
		t.Run(fmt.Sprintf("orientation=%d/%v", tt.o, tt.order), func(t *testing.T) {
			photo := withOrientation(encodeJPEG(t, storeRotated(upright, tt.o)), tt.o, tt.order)
			got, err := e.Detect(context.Background(), photo)
			if err != nil || len(got) != 1 {
				t.Fatalf("Detect(orientation %d) = %d faces, %v; want 1", tt.o, len(got), err)
			}
			if !closeRect(got[0].Rect, want[0].Rect, 4) {
				t.Errorf("Detect(orientation %d)[0].Rect = %v; want %v within 4 pixels", tt.o, got[0].Rect, want[0].Rect)
			}
			checkNear(t, e, fmt.Sprintf("Detect(orientation %d)", tt.o), got[0], want[0], 0.33)
		})
	}
	// The same sideways pixels without the tag: the engine must not find
	// the upright face there, or the test above proves nothing.
	sideways := encodeJPEG(t, storeRotated(upright, 6))
	got, err := e.Detect(context.Background(), sideways)
	if err != nil {
		t.Fatalf("Detect(sideways, no tag): %v", err)
	}
	for _, f := range got {
		if closeRect(f.Rect, want[0].Rect, 4) {
			t.Errorf("Detect(sideways, no tag) found %v, the upright face; the orientation test cannot fail", f.Rect)
		}
	}
}

// TestLargePhoto upscales a photo to about 12 megapixels: the engine works on
// a scaled-down copy but must report the face in the large photo's pixels.
func TestLargePhoto(t *testing.T) {
	e := testEngine(t)
	small, err := gocv.IMDecode(testenv.Photo(t, "obama.jpg"), gocv.IMReadColor)
	if err != nil || small.Empty() {
		t.Fatalf("IMDecode(obama.jpg): %v", err)
	}
	defer small.Close()
	const factor = 3.4 // 910x1137 becomes 3094x3866, 12.0 megapixels
	large := gocv.NewMat()
	defer large.Close()
	size := image.Pt(int(float64(small.Cols())*factor), int(float64(small.Rows())*factor))
	gocv.Resize(small, &large, size, 0, 0, gocv.InterpolationCubic)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, large, []int{gocv.IMWriteJpegQuality, 92})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()

	want := enrollPhoto(t, "obama.jpg")
	got, err := e.Detect(context.Background(), buf.GetBytes())
	if err != nil || len(got) != 1 {
		t.Fatalf("Detect(%dx%d) = %d faces, %v; want 1", size.X, size.Y, len(got), err)
	}
	scaled := image.Rect(
		int(float64(want.Rect.Min.X)*factor), int(float64(want.Rect.Min.Y)*factor),
		int(float64(want.Rect.Max.X)*factor), int(float64(want.Rect.Max.Y)*factor))
	// dlib's detector places boxes on its grid of 8-pixel cells at the
	// pyramid level where the face is about 80 pixels, so a box may move by
	// a tenth of the face between two resolutions. A missed or wrong scaling
	// would move it by several times the face.
	tol := scaled.Dx() * 12 / 100
	t.Logf("Detect(%dx%d)[0].Rect = %v; small photo's scaled %v", size.X, size.Y, got[0].Rect, scaled)
	if !closeRect(got[0].Rect, scaled, tol) {
		t.Errorf("Detect(%dx%d)[0].Rect = %v; want %v within %d pixels", size.X, size.Y, got[0].Rect, scaled, tol)
	}
	checkNear(t, e, fmt.Sprintf("Detect(%dx%d)", size.X, size.Y), got[0], want, 0.33)
}

func TestDetectMat(t *testing.T) {
	e := testEngine(t)
	want := enrollPhoto(t, "obama2.jpg")
	bgr, err := gocv.IMDecode(testenv.Photo(t, "obama2.jpg"), gocv.IMReadColor)
	if err != nil || bgr.Empty() {
		t.Fatalf("IMDecode(obama2.jpg): %v", err)
	}
	defer bgr.Close()
	gray, bgra := gocv.NewMat(), gocv.NewMat()
	defer gray.Close()
	defer bgra.Close()
	gocv.CvtColor(bgr, &gray, gocv.ColorBGRToGray)
	gocv.CvtColor(bgr, &bgra, gocv.ColorBGRToBGRA)

	for _, tt := range []struct {
		name    string
		frame   gocv.Mat
		maxDist float32 // as a fraction of each model's threshold
		tol     int     // pixels the box may move
	}{
		{"BGR", bgr, 0.33, 2},
		{"BGRA", bgra, 0.33, 2},
		// Without colour the descriptor moves more, but stays the
		// same person's, and BlazeFace's box moves by up to 3% of the
		// face.
		{"gray", gray, 0.67, 12},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.DetectMat(context.Background(), tt.frame)
			if err != nil || len(got) != 1 {
				t.Fatalf("DetectMat(%s) = %d faces, %v; want 1", tt.name, len(got), err)
			}
			d := checkNear(t, e, "DetectMat("+tt.name+")", got[0], want, tt.maxDist)
			t.Logf("DetectMat(%s): %v, %v from Detect's descriptors", tt.name, got[0].Rect, d)
			if !closeRect(got[0].Rect, want.Rect, tt.tol) {
				t.Errorf("DetectMat(%s)[0].Rect = %v; want %v within %d pixels", tt.name, got[0].Rect, want.Rect, tt.tol)
			}
		})
	}

	float := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV32FC3)
	defer float.Close()
	closed := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	closed.Close()
	for _, tt := range []struct {
		name  string
		frame gocv.Mat
		want  error
	}{
		{"zero Mat", gocv.Mat{}, faces.ErrCorruptImage},
		{"closed Mat", closed, faces.ErrCorruptImage},
		{"empty Mat", gocv.NewMat(), faces.ErrCorruptImage},
		{"32-bit float", float, faces.ErrUnsupportedImage},
	} {
		if _, err := e.DetectMat(context.Background(), tt.frame); !errors.Is(err, tt.want) {
			t.Errorf("DetectMat(%s) error = %v; want %v", tt.name, err, tt.want)
		}
	}
}
