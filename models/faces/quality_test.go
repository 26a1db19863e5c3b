package faces_test

import (
	"context"
	"image"
	"image/color"
	"math"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// qualityEngine opens an engine with the detector named, describing with
// the default model only.
func qualityEngine(t *testing.T, detector string) *faces.Engine {
	t.Helper()
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(t), Workers: 1, Models: []string{faces.DefaultModel}, Detector: detector})
	if err != nil {
		t.Fatalf("Open(%s): %v", detector, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// photoMat decodes a test photo into a BGR Mat the test closes.
func photoMat(t *testing.T, name string) gocv.Mat {
	t.Helper()
	m, err := gocv.IMDecode(testenv.Photo(t, name), gocv.IMReadColor)
	if err != nil || m.Empty() {
		t.Fatalf("decode %s: %v", name, err)
	}
	return m
}

// jpegOf encodes m as a JPEG of high quality.
func jpegOf(t *testing.T, m gocv.Mat) []byte {
	t.Helper()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegQuality, 95})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

// rotated returns m turned by deg degrees counter-clockwise about its
// centre, on a canvas large enough to keep every pixel.
func rotated(m gocv.Mat, deg float64) gocv.Mat {
	w, h := float64(m.Cols()), float64(m.Rows())
	r := deg * math.Pi / 180
	nw := int(math.Ceil(w*math.Abs(math.Cos(r)) + h*math.Abs(math.Sin(r))))
	nh := int(math.Ceil(w*math.Abs(math.Sin(r)) + h*math.Abs(math.Cos(r))))
	rot := gocv.GetRotationMatrix2D(image.Pt(m.Cols()/2, m.Rows()/2), deg, 1)
	defer rot.Close()
	rot.SetDoubleAt(0, 2, rot.GetDoubleAt(0, 2)+float64(nw-m.Cols())/2)
	rot.SetDoubleAt(1, 2, rot.GetDoubleAt(1, 2)+float64(nh-m.Rows())/2)
	out := gocv.NewMat()
	gocv.WarpAffineWithParams(m, &out, rot, image.Pt(nw, nh), gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
	return out
}

func enrollQuality(t *testing.T, e *faces.Engine, what string, img []byte) (sharp, yaw, roll float64) {
	t.Helper()
	f, err := e.Enroll(context.Background(), img)
	if err != nil {
		t.Fatalf("Enroll(%s): %v", what, err)
	}
	sharp, ok := f.Sharpness()
	if !ok {
		t.Fatalf("%s: Sharpness not measured", what)
	}
	yaw, roll, ok = f.Pose()
	if !ok {
		t.Fatalf("%s: Pose not estimated", what)
	}
	return sharp, yaw, roll
}

// TestFaceQuality measures real photos with both detectors: the frontal
// test photos are sharp and frontal; blurring the same photo drops its
// sharpness below enroll's default bound; turning it in the image's plane
// shows in the roll, and mirroring it turns the yaw the other way.
func TestFaceQuality(t *testing.T) {
	for _, det := range []string{faces.DetectorHOG, faces.DetectorBlazeFace} {
		t.Run(det, func(t *testing.T) {
			e := qualityEngine(t, det)
			for _, name := range []string{"obama.jpg", "obama2.jpg", "biden.jpg"} {
				sharp, yaw, roll := enrollQuality(t, e, name, testenv.Photo(t, name))
				t.Logf("%s: sharpness %.0f, yaw %.1f°, roll %.1f°", name, sharp, yaw, roll)
				if sharp < 60 || math.Abs(yaw) > 40 || math.Abs(roll) > 15 {
					t.Errorf("%s: sharpness %.0f, yaw %.1f°, roll %.1f°; want a sharp (≥ 60), nearly frontal face (|yaw| ≤ 40°, |roll| ≤ 15°)", name, sharp, yaw, roll)
				}
			}

			orig := photoMat(t, "obama.jpg")
			defer orig.Close()
			sharp, _, roll := enrollQuality(t, e, "obama.jpg", jpegOf(t, orig))

			blurred := gocv.NewMat()
			defer blurred.Close()
			gocv.GaussianBlur(orig, &blurred, image.Pt(0, 0), 0.012*float64(orig.Cols()), 0, gocv.BorderReplicate)
			bs, _, _ := enrollQuality(t, e, "obama.jpg blurred", jpegOf(t, blurred))
			if bs >= 30 || bs > sharp/4 {
				t.Errorf("blurred obama.jpg: sharpness %.1f; want below 30 and a quarter of the photo's %.0f", bs, sharp)
			}

			const turn = 20
			tilted := rotated(orig, turn)
			defer tilted.Close()
			_, _, tr := enrollQuality(t, e, "obama.jpg turned", jpegOf(t, tilted))
			// Counter-clockwise on screen lifts the eye line's right end.
			if got := roll - tr; math.Abs(got-turn) > 4 {
				t.Errorf("obama.jpg turned %d° counter-clockwise: roll %.1f° from %.1f°; want %d° less (±4)", turn, tr, roll, turn)
			}

			// obama2.jpg is turned to the image's left; mirrored, to its
			// right by as much. dlib's nose base is placed less precisely
			// than FaceMesh's nose tip, hence the tolerance.
			side := photoMat(t, "obama2.jpg")
			defer side.Close()
			_, sy, sr := enrollQuality(t, e, "obama2.jpg", jpegOf(t, side))
			flipped := gocv.NewMat()
			defer flipped.Close()
			gocv.Flip(side, &flipped, 1)
			_, fy, fr := enrollQuality(t, e, "obama2.jpg mirrored", jpegOf(t, flipped))
			if sy > -15 || math.Abs(fy+sy) > 8 || math.Abs(fr+sr) > 3 {
				t.Errorf("obama2.jpg: yaw %.1f°, roll %.1f°; mirrored %.1f°, %.1f°; want turned left by more than 15°, and as far the other way mirrored", sy, sr, fy, fr)
			}
		})
	}
}
