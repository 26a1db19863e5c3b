package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// approachFolder returns a folder camera that, played in a loop at 10 fps,
// shows one visitor's approach after another: a second of photo, then a
// second and a half of nobody, longer than the gate's --track-gap, so that
// each pass is a new approach, decided anew.
func approachFolder(t testing.TB, photo string) string {
	t.Helper()
	dir := t.TempDir()
	visitor := testenv.Photo(t, photo)
	empty := image.NewGray(image.Rect(0, 0, 640, 480))
	for i := range empty.Pix {
		empty.Pix[i] = 150
	}
	empty.Set(0, 0, color.Gray{Y: 149}) // not a flat image, as no camera's is
	var nobody bytes.Buffer
	if err := jpeg.Encode(&nobody, empty, nil); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		write(fmt.Sprintf("%02d-visitor.jpg", i), visitor)
	}
	for i := 10; i < 25; i++ {
		write(fmt.Sprintf("%02d-nobody.jpg", i), nobody.Bytes())
	}
	return dir
}
