package qr_test

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/hardware/qr"
)

// A ticket token is "SG1." and about 170 base45 characters.
const tokenLen = 170

func TestDecodeTokenInScene(t *testing.T) {
	tok := token(1, tokenLen)
	d := qr.NewDetector()
	defer d.Close()

	tests := []struct {
		name  string
		px    int // pixels a module
		at    image.Point
		alter func(tb testing.TB, frame *gocv.Mat)
	}{
		{name: "4 px modules, centred", px: 4, at: image.Pt(214, 134)},
		{name: "2 px modules (106 px code), top left", px: 2, at: image.Pt(8, 8)},
		{name: "1 px modules (53 px code)", px: 1, at: image.Pt(400, 300)},
		{name: "3 px modules, blurred and noisy", px: 3, at: image.Pt(300, 200),
			alter: func(tb testing.TB, f *gocv.Mat) {
				gocv.GaussianBlur(*f, f, image.Pt(5, 5), 0, 0, gocv.BorderDefault)
				addNoise(tb, f, 20, 7)
			}},
		{name: "4 px modules, turned 45°", px: 4, at: image.Pt(214, 134),
			alter: func(tb testing.TB, f *gocv.Mat) { rotate(f, 45) }},
		{name: "4 px modules, upside down", px: 4, at: image.Pt(214, 134),
			alter: func(tb testing.TB, f *gocv.Mat) { rotate(f, 180) }},
		{name: "4 px modules, low contrast", px: 4, at: image.Pt(100, 100),
			alter: func(tb testing.TB, f *gocv.Mat) {
				// A dim phone screen: the code spans 100..151 of 255.
				region := f.Region(image.Rect(100, 100, 312, 312))
				defer region.Close()
				region.ConvertToWithParams(&region, gocv.MatTypeCV8UC3, 0.2, 100)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, q := codeMat(t, tok, tt.px)
			defer code.Close()
			if q.VersionNumber < 7 || q.VersionNumber > 8 {
				t.Fatalf("token encodes as QR version %d; the gate's tokens are 7 or 8", q.VersionNumber)
			}
			frame := scene(t, 640, 480)
			defer frame.Close()
			paste(t, &frame, code, tt.at)
			if tt.alter != nil {
				tt.alter(t, &frame)
			}
			got, ok := d.Decode(frame)
			if !ok || got != tok {
				t.Errorf("Decode = %q, %v; want %q, true", got, ok, tok)
			}
		})
	}
}

// rotate turns frame by deg degrees about its centre.
func rotate(f *gocv.Mat, deg float64) {
	m := gocv.GetRotationMatrix2D(image.Pt(f.Cols()/2, f.Rows()/2), deg, 1)
	defer m.Close()
	gocv.WarpAffine(*f, f, m, image.Pt(f.Cols(), f.Rows()))
}

func TestDecodeTexts(t *testing.T) {
	d := qr.NewDetector()
	defer d.Close()
	tests := []struct {
		name, text string
	}{
		// Short texts matter: gocv's own WeChat binding frees
		// them with an invalid delete[] (see the package doc).
		{"one digit", "7"},
		{"short URL", "http://a.cn"},
		{"UTF-8 in byte mode", "景区门票 成人票 2025-05-01"},
		{"long token", token(2, 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := codeMat(t, tt.text, 4)
			defer code.Close()
			frame := scene(t, 640, 480)
			defer frame.Close()
			paste(t, &frame, code, image.Pt(20, 20))
			got, err := d.DecodeAll(frame)
			if err != nil || len(got) != 1 || got[0] != tt.text {
				t.Errorf("DecodeAll = %q, %v; want [%q], nil", got, err, tt.text)
			}
		})
	}
}

func TestDecodeFrameTypes(t *testing.T) {
	tok := token(3, tokenLen)
	d := qr.NewDetector()
	defer d.Close()
	tests := []struct {
		name string
		code gocv.ColorConversionCode
	}{
		{"gray", gocv.ColorBGRToGray},
		{"BGRA", gocv.ColorBGRToBGRA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := codeMat(t, tok, 3)
			defer code.Close()
			frame := scene(t, 640, 480)
			defer frame.Close()
			paste(t, &frame, code, image.Pt(50, 60))
			converted := gocv.NewMat()
			defer converted.Close()
			gocv.CvtColor(frame, &converted, tt.code)
			if got, ok := d.Decode(converted); !ok || got != tok {
				t.Errorf("Decode(%s frame) = %q, %v; want the token", tt.name, got, ok)
			}
		})
	}
}

func TestNoCode(t *testing.T) {
	d := qr.NewDetector()
	defer d.Close()
	tests := []struct {
		name  string
		frame func(tb testing.TB) gocv.Mat
	}{
		{"photo of a face", func(tb testing.TB) gocv.Mat { return scene(tb, 640, 480) }},
		{"blank grey", func(testing.TB) gocv.Mat {
			return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 480, 640, gocv.MatTypeCV8UC3)
		}},
		{"noise", func(tb testing.TB) gocv.Mat {
			m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 480, 640, gocv.MatTypeCV8UC3)
			addNoise(tb, &m, 60, 9)
			return m
		}},
		{"smaller than OpenCV reads (20x20)", func(testing.TB) gocv.Mat {
			return gocv.NewMatWithSize(20, 20, gocv.MatTypeCV8UC3)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := tt.frame(t)
			defer frame.Close()
			if got, err := d.DecodeAll(frame); err != nil || got != nil {
				t.Errorf("DecodeAll = %q, %v; want nil, nil", got, err)
			}
			if got, ok := d.Decode(frame); ok {
				t.Errorf("Decode = %q, true; want false", got)
			}
		})
	}
}

func TestDecodeAllErrors(t *testing.T) {
	empty := gocv.NewMat()
	defer empty.Close()
	float := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV32FC3)
	defer float.Close()
	closedMat := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	closedMat.Close()

	d := qr.NewDetector()
	defer d.Close()
	tests := []struct {
		name  string
		frame gocv.Mat
		want  error
	}{
		{"zero Mat", gocv.Mat{}, qr.ErrEmptyFrame},
		{"empty Mat", empty, qr.ErrEmptyFrame},
		{"closed Mat", closedMat, qr.ErrEmptyFrame},
		{"float pixels", float, qr.ErrUnsupportedFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := d.DecodeAll(tt.frame); !errors.Is(err, tt.want) {
				t.Errorf("DecodeAll = %v; want %v", err, tt.want)
			}
			if _, ok := d.Decode(tt.frame); ok {
				t.Error("Decode ok = true; want false")
			}
		})
	}
}

func TestClose(t *testing.T) {
	frame := scene(t, 640, 480)
	defer frame.Close()
	d := qr.NewDetector()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
	if _, err := d.DecodeAll(frame); !errors.Is(err, qr.ErrClosed) {
		t.Errorf("DecodeAll after Close = %v; want ErrClosed", err)
	}
}

// One Detector shared by several goroutines gives each the right answer.
func TestConcurrentUse(t *testing.T) {
	d := qr.NewDetector()
	defer d.Close()
	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		tok := token(uint64(100+w), tokenLen)
		code, _ := codeMat(t, tok, 3)
		frame := scene(t, 640, 480)
		paste(t, &frame, code, image.Pt(40*w, 30*w))
		code.Close()
		wg.Go(func() {
			defer frame.Close()
			for range rounds {
				if got, ok := d.Decode(frame); !ok || got != tok {
					errs <- fmt.Errorf("worker %d: Decode = %q, %v; want %q", w, got, ok, tok)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
