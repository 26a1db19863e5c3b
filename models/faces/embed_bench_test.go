package faces

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"runtime"
	"testing"
	"time"

	face "github.com/Kagami/go-face"
	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/scene"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// BenchmarkEmbedder times one face through each model on one core, and
// reports it as ms/face: for the ONNX models, alignment from the landmarks
// and the network, the cost a model adds to a frame beyond finding the
// face; for dlib, the five landmarks, the aligned chip and its ResNet, which
// go-face runs for every face it finds whatever the gate's model. go-face
// has no call for those alone, so dlib's figure is the difference between
// a frame with two faces described and the same frame only searched for
// faces (RecognizeSingle stops at the second face), halved.
func BenchmarkEmbedder(b *testing.B) {
	dir := testenv.ModelDir(b)
	e, err := Open(Config{ModelDir: dir, Workers: 1, Models: []string{Dlib}, Detector: DetectorHOG})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	frame, err := gocv.IMDecode(testenv.Photo(b, "obama2.jpg"), gocv.IMReadColor)
	if err != nil {
		b.Fatal(err)
	}
	defer frame.Close()
	found, err := e.DetectMat(context.Background(), frame)
	if err != nil || len(found) != 1 {
		b.Fatalf("DetectMat = %d faces, %v", len(found), err)
	}
	b.Run(Dlib, func(b *testing.B) { benchmarkDlibFace(b, dir) })
	for _, m := range catalogue {
		if m.onnx == nil {
			continue
		}
		b.Run(m.Name, func(b *testing.B) {
			o, err := openONNX(dir, m)
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			for b.Loop() {
				if _, err := o.describe(frame, found[0].align); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/face")
		})
	}
}

// benchmarkDlibFace times dlib's landmarks and descriptor for one face:
// a frame with two faces described, less the same frame searched only.
func benchmarkDlibFace(b *testing.B, dir string) {
	rec, err := face.NewRecognizer(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	two := twoFaces(b, dir)
	var described, searched time.Duration
	for b.Loop() {
		start := time.Now()
		if f, err := rec.RecognizeSingle(two); err != nil || f != nil {
			b.Fatalf("RecognizeSingle(two faces) = %v, %v; want no face", f, err)
		}
		mid := time.Now()
		if got, err := rec.Recognize(two); err != nil || len(got) != 2 {
			b.Fatalf("Recognize(two faces) = %d faces, %v; want 2", len(got), err)
		}
		searched += mid.Sub(start)
		described += time.Since(mid)
	}
	b.ReportMetric(float64((described-searched).Microseconds())/1000/float64(2*b.N), "ms/face")
}

// twoFaces is a 640x480 camera-like frame with two visitors' faces of 130
// pixels side by side, as JPEG.
func twoFaces(b *testing.B, dir string) []byte {
	e, err := Open(Config{ModelDir: dir, Workers: 1, Models: []string{Dlib}, Detector: DetectorHOG})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var people []scene.Person
	for i, name := range []string{"obama2.jpg", "biden.jpg"} {
		photo := gocv.IMRead(testenv.PhotoPath(b, name), gocv.IMReadColor)
		defer photo.Close()
		found, err := e.DetectMat(context.Background(), photo)
		if err != nil || len(found) != 1 {
			b.Fatalf("DetectMat(%s) = %d faces, %v; want 1", name, len(found), err)
		}
		people = append(people, scene.Person{Photo: photo, Face: found[0].Rect, Size: 130, Centre: image.Pt(160+320*i, 200)})
	}
	frame, err := scene.New(640, 480, 1).People(1, people...)
	if err != nil {
		b.Fatal(err)
	}
	defer frame.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, frame, []int{gocv.IMWriteJpegQuality, jpegQuality})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

// BenchmarkEmbedderThreads compares OpenCV on one thread with OpenCV on
// every core, with as many calls at once as there are cores: the way the
// engine's workers use it.
func BenchmarkEmbedderThreads(b *testing.B) {
	dir := testenv.ModelDir(b)
	frame, err := gocv.IMDecode(testenv.Photo(b, "obama2.jpg"), gocv.IMReadColor)
	if err != nil {
		b.Fatal(err)
	}
	defer frame.Close()
	for _, threads := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("opencv-threads=%d", threads), func(b *testing.B) {
			e, err := Open(Config{ModelDir: dir, Models: []string{MobileFaceNet}, OpenCVThreads: threads})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			found, err := e.DetectMat(context.Background(), frame)
			if err != nil || len(found) != 1 {
				b.Fatalf("DetectMat = %d faces, %v", len(found), err)
			}
			b.SetParallelism(1) // GOMAXPROCS goroutines: one per core
			b.RunParallel(func(pb *testing.PB) {
				w, err := e.acquire(context.Background())
				if err != nil {
					b.Error(err)
					return
				}
				defer e.release(w)
				for pb.Next() {
					if _, err := w.onnx[0].describe(frame, found[0].align); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "faces/s")
		})
	}
	setOpenCVThreads(DefaultOpenCVThreads)
}
