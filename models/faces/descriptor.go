package faces

// Descriptor is a face embedding computed by one model. Descriptors of
// different models cannot be compared, so stored descriptors carry the
// model's name; and an ONNX model's descriptors of faces aligned two
// different ways are not comparable either, so they carry the alignment.
type Descriptor struct {
	// Model is the model's name, as Lookup knows it.
	Model string
	// Alignment is how the face was aligned for the model: AlignFivePoint,
	// or AlignDlib (empty) for dlib's own descriptor and for ONNX
	// descriptors of faces aligned on dlib's landmarks (the HOG detector,
	// and every descriptor stored before five-point alignment).
	Alignment string
	// Values has the model's Dim values: as dlib gives them for Euclidean
	// models, L2-normalised for Cosine ones. Compare them with
	// Model.Distance.
	Values []float32
}

// Alignments of descriptors (Descriptor.Alignment).
const (
	// AlignDlib: dlib's landmarks placed the eyes and the nose base; also
	// dlib's own descriptor, whichever detector found the face.
	AlignDlib = ""
	// AlignFivePoint: FaceMesh placed the eye centres, nose tip and mouth
	// corners, matched to the ArcFace template (the BlazeFace detector),
	// and the descriptor is the fusion of the aligned face's and its
	// mirror image's.
	AlignFivePoint = "five-point"
)

// Alignment returns the alignment of the descriptors model's gets from an
// engine finding faces with detector (empty: DefaultDetector). A gate
// matches only descriptors of its own model and alignment: a descriptor
// aligned otherwise is as useless to it as one from another model.
func Alignment(detector, model string) string {
	if detector == "" {
		detector = DefaultDetector
	}
	if m, err := Lookup(model); err == nil && m.onnx == nil {
		return AlignDlib // dlib's descriptor keeps dlib's landmarks
	}
	if detector == DetectorBlazeFace {
		return AlignFivePoint
	}
	return AlignDlib
}
