package app

import (
	"bytes"
	"fmt"
	"image"
	"net/http"
	"slices"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/bus/bustest"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// photoOfSize places a test photo on a w×h canvas and encodes it as a JPEG,
// as a ticket shop's upload would be.
func photoOfSize(b *testing.B, w, h int) []byte {
	src, err := gocv.IMDecode(testenv.Photo(b, "obama.jpg"), gocv.IMReadColor)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	pw := src.Cols() * h / src.Rows()
	scaled := gocv.NewMat()
	defer scaled.Close()
	gocv.Resize(src, &scaled, image.Pt(pw, h), 0, 0, gocv.InterpolationArea)
	canvas := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(120, 130, 140, 0), h, w, gocv.MatTypeCV8UC3)
	defer canvas.Close()
	x := (w - pw) / 2
	roi := canvas.Region(image.Rect(x, 0, x+pw, h))
	scaled.CopyTo(&roi)
	roi.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, canvas, []int{gocv.IMWriteJpegQuality, 90})
	if err != nil {
		b.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

// BenchmarkEnroll measures POST /api/v1/tickets with one visitor and one
// photo, end to end through HTTP, the face engine and SQLite.
func BenchmarkEnroll(b *testing.B) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"640x480", 640, 480}, {"12MP", 4000, 3000}} {
		b.Run(size.name, func(b *testing.B) {
			photo := photoOfSize(b, size.w, size.h)
			a, key := startApp(b, b.TempDir(), bustest.Embedded(b))
			defer a.Close()
			srv := newClient(b, a, key)
			var lat []float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				body := mustJSON(orderJSON(fmt.Sprintf("bench-%s-%d", size.name, i), photo))
				start := time.Now()
				req, _ := http.NewRequest(http.MethodPost, srv.srv.URL+"/api/v1/tickets", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					b.Fatalf("status %d", resp.StatusCode)
				}
				lat = append(lat, float64(time.Since(start).Microseconds())/1000)
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(lat[len(lat)/2], "p50-ms")
			b.ReportMetric(lat[int(0.95*float64(len(lat)-1))], "p95-ms")
		})
	}
}
