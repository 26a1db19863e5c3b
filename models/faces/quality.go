package faces

import (
	"image"
	"math"

	"gocv.io/x/gocv"
)

// sharpnessArea is the part of the aligned face chip whose detail Sharpness
// measures: from the brows to below the mouth, cheek to cheek, so that the
// background at the chip's corners counts for nothing.
var sharpnessArea = image.Rect(24, 32, 88, 104)

// Sharpness returns how much fine detail the face shows, and ok false when
// it was not measured (an engine that runs only dlib keeps no pixels). It is
// the variance of the Laplacian over the middle of the face, on the grey
// ChipSize x ChipSize chip aligned as for the ONNX models: at the scale the
// models see, whatever the photo's resolution. A blurred or out-of-focus
// photo gives a low value; the enroll program refuses faces below its
// --min-sharpness.
func (f Face) Sharpness() (v float64, ok bool) {
	return f.sharpness, f.hasSharpness
}

// Pose returns an estimate of how far the face is turned, in degrees: yaw,
// to the side (positive when the nose points to the image's right), and
// roll, in the image's plane (positive when the eye line goes down to the
// image's right). ok is false for a face without alignment points.
//
// Roll is the eye line's slope. Yaw comes from where the nose lies between
// the eyes along that line: on a frontal face midway, and off the middle
// by (d/w)·tan(yaw) of half the eyes' distance w, for a nose point d in
// front of the eyes (see noseDepth). The figure is that of an average head,
// for telling frontal faces from turned ones, not a measured angle.
func (f Face) Pose() (yaw, roll float64, ok bool) {
	if len(f.align) < 3 {
		return 0, 0, false
	}
	return pose(f.align)
}

// noseDepth is how far the nose point lies in front of the eyes' centres,
// in half eye-distances, on an average adult head: the nose tip (FaceMesh)
// about 27 mm in front with the eyes about 63 mm apart; dlib's nose base
// (under the nose) less far out, so that both detectors give the same yaw
// for the same photo (the ratio was measured on the development photos,
// see hogNoseRatio).
func noseDepth(points int) float64 {
	const tip = 27.0 / 31.5
	if points == len(dlibTemplate) {
		return tip * hogNoseRatio
	}
	return tip
}

// hogNoseRatio is how far dlib's nose base moves off the eyes' middle for
// each step of FaceMesh's nose tip, on the same photo: the median ratio over
// the 128 East-Asian development photos both detectors found whose nose tip
// is off the middle by more than a tenth of half the eye distance (quartiles
// 0.38 and 0.69: dlib's point is the less precise).
const hogNoseRatio = 0.55

// pose computes Pose from the alignment points: the eye on the image's left
// first, then the other, then the nose.
func pose(pts []point) (yaw, roll float64, ok bool) {
	e1, e2, nose := pts[0], pts[1], pts[2]
	dx, dy := e2.X-e1.X, e2.Y-e1.Y
	d2 := dx*dx + dy*dy
	if d2 == 0 {
		return 0, 0, false
	}
	roll = math.Atan2(dy, dx) * 180 / math.Pi
	// Where the nose falls along the eye line: 0 at the first eye, 1 at
	// the second; off the middle in half eye-distances.
	t := ((nose.X-e1.X)*dx + (nose.Y-e1.Y)*dy) / d2
	off := 2*t - 1
	yaw = math.Atan(off/noseDepth(len(pts))) * 180 / math.Pi
	return yaw, roll, true
}

// measureSharpness sets f's sharpness from the working image img (8-bit
// BGR) it was found in.
func measureSharpness(img gocv.Mat, f *Face) error {
	if img.Ptr() == nil || img.Empty() || len(f.align) == 0 {
		return nil
	}
	chip := gocv.NewMat()
	defer chip.Close()
	if err := alignFace(img, f.align, &chip); err != nil {
		return err
	}
	v, err := chipSharpness(chip)
	if err != nil {
		return err
	}
	f.sharpness, f.hasSharpness = v, true
	return nil
}

// chipSharpness returns the variance of the Laplacian over sharpnessArea of
// a BGR face chip.
func chipSharpness(chip gocv.Mat) (float64, error) {
	grey := gocv.NewMat()
	defer grey.Close()
	gocv.CvtColor(chip, &grey, gocv.ColorBGRToGray)
	area := grey.Region(sharpnessArea)
	defer area.Close()
	lap := gocv.NewMat()
	defer lap.Close()
	gocv.Laplacian(area, &lap, gocv.MatTypeCV64F, 1, 1, 0, gocv.BorderReplicate)
	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	gocv.MeanStdDev(lap, &mean, &std)
	s := std.GetDoubleAt(0, 0)
	return s * s, nil
}
