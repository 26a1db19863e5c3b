// Command benchframes writes the camera-like 640x480 frames `make bench`
// gives both to ScenicGate's face engine and to Python's face_recognition,
// as PNG files (lossless, so both read the same pixels):
//
//	benchframes -models DIR -photos DIR OUT
//
// Each test photo of internal/scene's comparison set is shown at several
// face widths on a textured background with sensor noise; dlib finds the
// face in the photo first.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/scene"
	"github.com/scenicgate/scenicgate/models/faces"
)

func main() {
	models := flag.String("models", "models", "folder with the model files")
	photos := flag.String("photos", "testdata", "folder with the test photos")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: benchframes [-models DIR] [-photos DIR] OUT")
		os.Exit(2)
	}
	if err := run(*models, *photos, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "benchframes:", err)
		os.Exit(1)
	}
}

func run(models, photos, out string) error {
	e, err := faces.Open(faces.Config{ModelDir: models, Workers: 1, Models: []string{faces.Dlib}, Detector: faces.DetectorHOG})
	if err != nil {
		return err
	}
	defer e.Close()
	frames, err := scene.Comparison(photos, func(photo gocv.Mat) (image.Rectangle, error) {
		found, err := e.DetectMat(context.Background(), photo)
		if err != nil {
			return image.Rectangle{}, err
		}
		if len(found) != 1 {
			return image.Rectangle{}, fmt.Errorf("%d faces; want 1", len(found))
		}
		return found[0].Rect, nil
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, f := range frames {
		if !gocv.IMWrite(filepath.Join(out, f.Name), f.Mat) {
			err = errors.Join(err, fmt.Errorf("cannot write %s", f.Name))
		}
		f.Mat.Close()
	}
	if err == nil {
		fmt.Printf("benchframes: %d frames of 640x480 in %s\n", len(frames), out)
	}
	return err
}
