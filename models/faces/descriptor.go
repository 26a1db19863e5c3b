package faces

import "math"

// ModelName names the dlib network that computes the descriptors. Descriptors
// from different models cannot be compared, so stored descriptors carry it.
const ModelName = "dlib_face_recognition_resnet_model_v1"

// DescriptorSize is the number of values in a descriptor.
const DescriptorSize = 128

// DlibThreshold is dlib's published same-person threshold: two descriptors
// closer than this are, on the LFW benchmark, usually the same person. It
// accepts too many impostors for 1:N matching at a gate, whose stricter
// default is measured on the site's own photos.
const DlibThreshold = 0.6

// Descriptor is a face embedding computed by ModelName. Its values are as
// dlib returned them (not normalised); compare descriptors with Distance.
type Descriptor [DescriptorSize]float32

// Distance returns the euclidean distance between two descriptors.
func Distance(a, b Descriptor) float32 {
	return float32(math.Sqrt(float64(SquaredDistance(a, b))))
}

// SquaredDistance returns the square of Distance. It skips the square root,
// so a search over many descriptors can compare squared distances against a
// squared threshold.
func SquaredDistance(a, b Descriptor) float32 {
	// Four partial sums let the CPU overlap the additions instead of
	// waiting for each one in turn.
	var s0, s1, s2, s3 float32
	for i := 0; i < DescriptorSize; i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	return (s0 + s1) + (s2 + s3)
}
