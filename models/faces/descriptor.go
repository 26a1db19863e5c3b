package faces

// Descriptor is a face embedding computed by one model. Descriptors of
// different models cannot be compared, so stored descriptors carry the
// model's name.
type Descriptor struct {
	// Model is the model's name, as Lookup knows it.
	Model string
	// Values has the model's Dim values: as dlib gives them for Euclidean
	// models, L2-normalised for Cosine ones. Compare them with
	// Model.Distance.
	Values []float32
}
