package faces

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// BenchmarkEmbedder times one face through each ONNX model — alignment from
// the landmarks and the network — on one core: the cost a model adds to a
// frame beyond finding the face. dlib's own descriptor comes with finding
// the face (BenchmarkDetectMat) and costs nothing more.
func BenchmarkEmbedder(b *testing.B) {
	dir := testenv.ModelDir(b)
	e, err := Open(Config{ModelDir: dir, Workers: 1, Models: []string{Dlib}})
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
				if _, err := o.describe(frame, found[0].work); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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
					if _, err := w.onnx[0].describe(frame, found[0].work); err != nil {
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
