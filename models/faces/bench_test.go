package faces_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
	"gocv.io/x/gocv"
)

// benchFrame returns a BGR frame of the given size with obama.jpg scaled to
// its height in the middle, on grey: one face of about a quarter of the
// frame's height, as a camera at a gate or a phone photo shows it.
func benchFrame(b *testing.B, w, h int) gocv.Mat {
	b.Helper()
	photo, err := gocv.IMDecode(testenv.Photo(b, "obama.jpg"), gocv.IMReadColor)
	if err != nil || photo.Empty() {
		b.Fatalf("IMDecode(obama.jpg): %v", err)
	}
	defer photo.Close()
	pw := photo.Cols() * h / photo.Rows()
	scaled := gocv.NewMat()
	defer scaled.Close()
	gocv.Resize(photo, &scaled, image.Pt(pw, h), 0, 0, gocv.InterpolationArea)
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), h, w, gocv.MatTypeCV8UC3)
	x := (w - pw) / 2
	roi := frame.Region(image.Rect(x, 0, x+pw, h))
	scaled.CopyTo(&roi)
	roi.Close()
	return frame
}

// benchJPEG is benchFrame encoded as a JPEG of quality 90.
func benchJPEG(b *testing.B, w, h int) []byte {
	b.Helper()
	frame := benchFrame(b, w, h)
	defer frame.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, frame, []int{gocv.IMWriteJpegQuality, 90})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

var benchSizes = []struct {
	name string
	w, h int
}{
	{"640x480", 640, 480},
	{"1280x720", 1280, 720},
	{"12MP", 4000, 3000},
}

// BenchmarkDescriptor times one photo, bytes to descriptor, on one core.
func BenchmarkDescriptor(b *testing.B) {
	e := testEngine(b)
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			photo := benchJPEG(b, s.w, s.h)
			for b.Loop() {
				got, err := e.Detect(context.Background(), photo)
				if err != nil || len(got) != 1 {
					b.Fatalf("Detect(%s) = %d faces, %v; want 1", s.name, len(got), err)
				}
			}
		})
	}
}

// BenchmarkDetectMat times one camera frame, Mat to descriptor.
func BenchmarkDetectMat(b *testing.B) {
	e := testEngine(b)
	for _, s := range benchSizes[:2] {
		b.Run(s.name, func(b *testing.B) {
			frame := benchFrame(b, s.w, s.h)
			defer frame.Close()
			for b.Loop() {
				got, err := e.DetectMat(context.Background(), frame)
				if err != nil || len(got) != 1 {
					b.Fatalf("DetectMat(%s) = %d faces, %v; want 1", s.name, len(got), err)
				}
			}
		})
	}
}

// BenchmarkThroughput measures photos per second with a pool of 1 and of
// NumCPU recognizers, each with OpenBLAS on 1 thread and on NumCPU threads,
// keeping twice as many calls in flight as there are recognizers.
func BenchmarkThroughput(b *testing.B) {
	n := runtime.NumCPU()
	photo := testenv.Photo(b, "obama2.jpg")
	for _, workers := range []int{1, n} {
		for _, blas := range []int{1, n} {
			b.Run(fmt.Sprintf("workers=%d/blas=%d", workers, blas), func(b *testing.B) {
				e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(b), Workers: workers, BLASThreads: blas})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				var next atomic.Int64
				var failed atomic.Value
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for range 2 * workers {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							if _, err := e.Detect(context.Background(), photo); err != nil {
								failed.Store(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "photos/s")
				if err := failed.Load(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkMaxSide times a 12-megapixel photo at several working sizes and
// reports how far each descriptor lies from the one at full resolution.
func BenchmarkMaxSide(b *testing.B) {
	photo := benchJPEG(b, 4000, 3000)
	var full faces.Face
	for _, side := range []int{4000, 2048, 1600, 1280, 960, 640} {
		b.Run(fmt.Sprintf("maxside=%d", side), func(b *testing.B) {
			e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(b), Workers: 1, MaxSide: side})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			var got []faces.Face
			for b.Loop() {
				if got, err = e.Detect(context.Background(), photo); err != nil || len(got) != 1 {
					b.Fatalf("Detect(12MP) with MaxSide %d = %d faces, %v; want 1", side, len(got), err)
				}
			}
			if side == 4000 {
				full = got[0]
			}
			for _, m := range e.Models() {
				b.ReportMetric(float64(distance(b, m.Name, full, got[0])), m.Name+"-dist-to-full")
			}
		})
	}
}

// BenchmarkEncodeFrame compares the two ways to hand a camera frame to
// go-face, which reads only JPEG: OpenCV's encoder on the Mat, or a copy into
// a Go image and image/jpeg.
func BenchmarkEncodeFrame(b *testing.B) {
	for _, s := range benchSizes[:2] {
		frame := benchFrame(b, s.w, s.h)
		b.Run(s.name+"/imencode", func(b *testing.B) {
			for b.Loop() {
				buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, frame, []int{gocv.IMWriteJpegQuality, 95})
				if err != nil {
					b.Fatal(err)
				}
				buf.Close()
			}
		})
		b.Run(s.name+"/image-jpeg", func(b *testing.B) {
			var out bytes.Buffer
			for b.Loop() {
				img, err := frame.ToImage()
				if err != nil {
					b.Fatal(err)
				}
				out.Reset()
				if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 95}); err != nil {
					b.Fatal(err)
				}
			}
		})
		frame.Close()
	}
}

// BenchmarkLargestFace times a lane's search for its largest face in a
// 1280x720 frame with --min-face 160, by each detector, on one OpenCV
// thread: a frame with nobody in it (BlazeFace then also looks in the
// squares) and the benchmark frame's face (about 250 pixels), found,
// aligned and described by MobileFaceNet.
func BenchmarkLargestFace(b *testing.B) {
	withFace := benchFrame(b, 1280, 720)
	defer withFace.Close()
	nobody := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 720, 1280, gocv.MatTypeCV8UC3)
	defer nobody.Close()
	for _, detector := range faces.Detectors() {
		e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(b), Workers: 1, Models: []string{faces.MobileFaceNet},
			Detector: detector, BLASThreads: 1, OpenCVThreads: 1})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			frame gocv.Mat
			want  bool
		}{{"nobody", nobody, false}, {"face", withFace, true}} {
			b.Run(detector+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					_, ok, err := e.LargestFace(context.Background(), c.frame, 160)
					if err != nil || ok != c.want {
						b.Fatalf("LargestFace = %v, %v; want %v", ok, err, c.want)
					}
				}
			})
		}
		e.Close()
	}
}
