package faces_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// BenchmarkTestPhotos runs every test photo through Detect on one worker:
// the same photos `make bench` gives to Python's face_recognition, so the
// two can be compared.
func BenchmarkTestPhotos(b *testing.B) {
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(b), Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	entries, err := os.ReadDir(testenv.PhotoDir())
	if err != nil {
		b.Fatal(err)
	}
	var photos [][]byte
	for _, en := range entries {
		if ext := strings.ToLower(filepath.Ext(en.Name())); ext == ".jpg" || ext == ".png" {
			photos = append(photos, testenv.Photo(b, en.Name()))
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range photos {
			if _, err := e.Detect(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(photos)), "ms/photo")
}
