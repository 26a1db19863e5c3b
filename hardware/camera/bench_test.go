package camera

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// BenchmarkFolderRead measures one Read of an unpaced looping folder: file
// read, JPEG decode and, for large photos, the scaling to the lane camera's
// 640x480. It bounds the --camera-fps a demo folder can keep up with.
func BenchmarkFolderRead(b *testing.B) {
	cases := []struct {
		name string
		size image.Point // size of the JPEG files
		opts Options
	}{
		{"640x480", image.Pt(640, 480), Options{}},
		{"4032x3024-fit-640x480", image.Pt(4032, 3024), Options{Width: 640, Height: 480}},
		{"4032x3024-full", image.Pt(4032, 3024), Options{}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			dir := jpegFolder(b, c.size)
			c.opts.Loop = true
			c.opts.Logger = testLogger(b, nil)
			src, err := Open(dir, c.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			ctx := context.Background()
			for b.Loop() {
				f, err := src.Read(ctx)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

// jpegFolder writes the test photos as JPEGs of the given size (quality
// 90, as a camera or phone saves them) into a new folder.
func jpegFolder(tb testing.TB, size image.Point) string {
	tb.Helper()
	dir := tb.TempDir()
	for i, photo := range []string{"obama.jpg", "biden.jpg", "obama2.jpg", "obama3.jpg"} {
		m := gocv.IMRead(testenv.PhotoPath(tb, photo), gocv.IMReadColor)
		scaled := gocv.NewMat()
		gocv.Resize(m, &scaled, size, 0, 0, gocv.InterpolationArea)
		ok := gocv.IMWriteWithParams(filepath.Join(dir, fmt.Sprintf("%02d.jpg", i)), scaled, []int{gocv.IMWriteJpegQuality, 90})
		m.Close()
		scaled.Close()
		if !ok {
			tb.Fatal("cannot write JPEG")
		}
	}
	return dir
}
