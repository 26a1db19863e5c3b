package qr_test

import (
	"image"
	"testing"

	"github.com/scenicgate/scenicgate/hardware/qr"
)

// BenchmarkDecode measures one Decode of a camera frame. Most frames a gate
// sees hold no code, so a miss matters as much as a hit, and a miss is the
// slow case: the reader keeps looking for finder patterns, the more so the
// noisier the picture (a dim lane at night, a camera at high gain).
func BenchmarkDecode(b *testing.B) {
	tok := token(1, tokenLen)
	cases := []struct {
		name string
		w, h int
		px   int     // pixels a module; 0 for no code
		σ    float64 // standard deviation of added sensor noise
	}{
		{"640x480/token-4px", 640, 480, 4, 0},
		{"640x480/token-3px", 640, 480, 3, 0},
		{"640x480/token-3px-noise10", 640, 480, 3, 10},
		{"640x480/none", 640, 480, 0, 0},
		{"640x480/none-noise10", 640, 480, 0, 10},
		{"1280x720/token-6px", 1280, 720, 6, 0},
		{"1280x720/none", 1280, 720, 0, 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			frame := scene(b, c.w, c.h)
			defer frame.Close()
			if c.px > 0 {
				code, _ := codeMat(b, tok, c.px)
				paste(b, &frame, code, image.Pt(c.w/3, c.h/5))
				code.Close()
			}
			if c.σ > 0 {
				addNoise(b, &frame, c.σ, 11)
			}
			d := qr.NewDetector()
			defer d.Close()
			b.ResetTimer()
			for b.Loop() {
				text, ok := d.Decode(frame)
				if ok != (c.px > 0) || (ok && text != tok) {
					b.Fatalf("Decode = %q, %v", text, ok)
				}
			}
		})
	}
}
