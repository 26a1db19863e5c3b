package faces

import "image"

// Face is one face found in an image.
type Face struct {
	// Rect bounds the face in the upright original image's coordinates
	// (see the package documentation). It may reach past the image's
	// edges.
	Rect image.Rectangle
	// Size is min(Rect.Dx(), Rect.Dy()) in original pixels: how much detail
	// the descriptors were computed from.
	Size int
	// TouchesBorder reports that Rect touches or crosses the image's edge,
	// so part of the face may be cut off and the descriptors less reliable.
	TouchesBorder bool
	// Landmarks are the points the face was aligned by, in the upright
	// original's coordinates. With the BlazeFace detector they are five
	// points FaceMesh placed: the centre of the person's right eye (on the
	// image's left), of the left eye, the nose tip, the right and the left
	// mouth corner. With the HOG detector they are the five of dlib's
	// shape_predictor_5: the two corners of one eye, the two of the other,
	// and the base of the nose.
	Landmarks []image.Point
	// Descriptors holds one descriptor per model the engine runs, in the
	// order of Engine.Models. It is empty for a face the call was not
	// asked to describe (see Engine.LargestFace).
	Descriptors []Descriptor
	// ImageWarning is libjpeg's complaint about a JPEG it could decode in
	// full all the same, such as a missing end-of-image marker; "" when
	// the image was clean.
	ImageWarning string

	// work holds dlib's landmarks in the working image's pixels, when dlib
	// placed them.
	work []image.Point
	// align holds the points the ONNX models' chip is aligned by, in the
	// working image's pixels, with sub-pixel precision: five from FaceMesh,
	// or three (the eyes' centres and the nose base) from dlib's landmarks.
	align []point
	// box is the detector's box in the working image's pixels, Max
	// outside it.
	box image.Rectangle
	// dlib is dlib's descriptor, valid when hasDlib: go-face computes it
	// for every face it finds.
	dlib    [128]float32
	hasDlib bool
	// sharpness is Sharpness's value, measured when hasSharpness.
	sharpness    float64
	hasSharpness bool
}

// Descriptor returns the face's descriptor by model (a name Lookup knows),
// or nil when the engine did not compute one.
func (f Face) Descriptor(model string) []float32 {
	model = CanonicalModel(model)
	for _, d := range f.Descriptors {
		if d.Model == model {
			return d.Values
		}
	}
	return nil
}
