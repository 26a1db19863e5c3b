package faces

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"testing"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// TestPrepareBytes checks which JPEGs reach dlib untouched and, for the
// others, the working size and original frame the faces are mapped with.
func TestPrepareBytes(t *testing.T) {
	cfg, err := Config{ModelDir: "unused: no recognizer is loaded", Models: []string{Dlib}, Detector: DetectorHOG}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{cfg: cfg, decoding: make(chan struct{}, 1), done: make(chan struct{})}

	obama := testenv.Photo(t, "obama.jpg") // 910x1137
	img, err := jpeg.Decode(bytes.NewReader(obama))
	if err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray(img.Bounds())
	for y := range 1137 {
		for x := range 910 {
			gray.Set(x, y, img.At(x, y))
		}
	}
	var grayJPEG bytes.Buffer
	if err := jpeg.Encode(&grayJPEG, gray, nil); err != nil {
		t.Fatal(err)
	}
	turned := append([]byte{0xFF, markerSOI}, exifSegment(binary.LittleEndian, [3]uint32{0x0112, 3, 6})...)
	turned = append(turned, obama[2:]...) // stored sideways: shown as 1137x910

	tests := []struct {
		name        string
		data        []byte
		passThrough bool
		orig, work  image.Point
	}{
		{"small colour JPEG", obama, true, image.Pt(910, 1137), image.Pt(910, 1137)},
		{"large JPEG", testenv.Photo(t, "biden.jpg"), false, image.Pt(970, 2204), image.Pt(563, 1280)},
		{"grayscale JPEG", grayJPEG.Bytes(), false, image.Pt(910, 1137), image.Pt(910, 1137)},
		{"EXIF orientation 6", turned, false, image.Pt(1137, 910), image.Pt(1137, 910)},
		{"PNG", testenv.Photo(t, "32bit.png"), false, image.Pt(626, 1200), image.Pt(626, 1200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := e.prepareBytes(context.Background(), tt.data)
			if err != nil {
				t.Fatalf("prepareBytes(%s): %v", tt.name, err)
			}
			defer p.free()
			passed := p.buf == nil && len(p.jpeg) == len(tt.data) && &p.jpeg[0] == &tt.data[0]
			if passed != tt.passThrough {
				t.Errorf("prepareBytes(%s) passed the caller's bytes through: %v; want %v", tt.name, passed, tt.passThrough)
			}
			if p.geom.orig != (image.Rectangle{Max: tt.orig}) || p.geom.work != tt.work {
				t.Errorf("prepareBytes(%s) geometry = %v from %v; want %v from %v", tt.name, p.geom.work, p.geom.orig, tt.work, tt.orig)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.jpeg))
			if err != nil || cfg.Width != tt.work.X || cfg.Height != tt.work.Y {
				t.Errorf("prepareBytes(%s) JPEG for dlib is %dx%d, %v; want %v", tt.name, cfg.Width, cfg.Height, err, tt.work)
			}
		})
	}
}
