package faces_test

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/scene"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// BenchmarkCameraFrames runs the comparison's camera-like 640x480 frames
// (internal/scene) through DetectMat with dlib's model only: every face
// found (HOG, no upsampling), its five landmarks and dlib's descriptor —
// the work Python's face_recognition does with
// number_of_times_to_upsample=0 and model="small", which `make bench` gives
// the same frames. One worker, one OpenBLAS and one OpenCV thread; run it
// with -cpu 1 on one core (taskset). The frames are the PNG files in
// $SCENICGATE_BENCH_FRAMES (scripts/benchframes writes them), or made here
// when it is not set; decoding them is not timed, on either side.
func BenchmarkCameraFrames(b *testing.B) {
	frames := comparisonFrames(b)
	defer func() {
		for _, f := range frames {
			f.Close()
		}
	}()
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(b), Workers: 1, Models: []string{faces.Dlib},
		Detector: faces.DetectorHOG, BLASThreads: 1, OpenCVThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	found := 0
	for b.Loop() {
		found = 0
		for _, f := range frames {
			got, err := e.DetectMat(ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			found += len(got)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*len(frames)), "ms/frame")
	b.ReportMetric(float64(found), "faces")
	b.ReportMetric(float64(len(frames)), "frames")
}

func comparisonFrames(b *testing.B) []gocv.Mat {
	var frames []gocv.Mat
	if dir := os.Getenv("SCENICGATE_BENCH_FRAMES"); dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, en := range entries {
			if strings.HasSuffix(en.Name(), ".png") {
				m := gocv.IMRead(filepath.Join(dir, en.Name()), gocv.IMReadColor)
				if m.Empty() {
					b.Fatalf("cannot read %s", en.Name())
				}
				frames = append(frames, m)
			}
		}
		if len(frames) == 0 {
			b.Fatalf("no PNG frames in %s", dir)
		}
		return frames
	}
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(b), Workers: 1, Models: []string{faces.Dlib}, Detector: faces.DetectorHOG})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	made, err := scene.Comparison(testenv.PhotoDir(), func(photo gocv.Mat) (image.Rectangle, error) {
		found, err := e.DetectMat(context.Background(), photo)
		if err != nil || len(found) != 1 {
			b.Fatalf("DetectMat = %d faces, %v; want 1", len(found), err)
		}
		return found[0].Rect, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range made {
		frames = append(frames, f.Mat)
	}
	return frames
}
