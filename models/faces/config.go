package faces

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Defaults used for the zero values of Config's fields.
const (
	// DefaultMaxPixels refuses images above 50 megapixels: larger than any
	// phone or camera photo a visitor would upload, small enough that a
	// decoded image stays within a few hundred megabytes.
	DefaultMaxPixels = 50_000_000
	// DefaultMaxSide is the longest side, in pixels, an image is scaled down
	// to before detection. dlib's detector finds faces from about 80
	// working pixels up, so at 1280 a face of 250 pixels in a 4000x3000
	// photo is still found and 720p camera frames pass unscaled, while that
	// photo takes 0.14 s instead of 0.94 s at full size; the descriptor
	// moves by no more than re-encoding moves it (BenchmarkMaxSide).
	DefaultMaxSide = 1280
	// DefaultMinFaceSize is the smallest face side, in original pixels, that
	// Enroll accepts. dlib aligns each face to a 150-pixel chip; a much
	// smaller face gives a blurry chip and a poor descriptor. The detector
	// seldom reports faces under 80 working pixels anyway, so the default
	// refuses only borderline cases; a site that wants sharper enrollment
	// photos raises it.
	DefaultMinFaceSize = 80
	// DefaultBLASThreads is the number of OpenBLAS threads per matrix
	// product. Parallelism comes from the pool instead: dlib's matrices are
	// small, and its detector and landmark steps run on one thread whatever
	// OpenBLAS does. Measured on 2 shared cores (BenchmarkThroughput): 1
	// recognizer gives 10 to 13 photos/s, no faster with 2 BLAS threads than
	// with 1; 2 recognizers give 21 to 25 photos/s with 1 BLAS thread but
	// only 10 to 14 with 2, when the BLAS threads of both calls fight over
	// the same cores.
	DefaultBLASThreads = 1
	// DefaultOpenCVThreads is the number of threads OpenCV uses for each
	// operation, the ONNX models' layers among them, for the same reason.
	DefaultOpenCVThreads = 1
)

// Face detectors the engine can find faces with.
const (
	// DetectorBlazeFace finds faces with MediaPipe's BlazeFace and aligns
	// them on five points FaceMesh places (the eye centres, the nose tip
	// and the mouth corners): it finds turned, tilted and half-covered
	// faces, in a few milliseconds.
	DetectorBlazeFace = "blazeface"
	// DetectorHOG finds faces with dlib's HOG detector and aligns them on
	// dlib's five landmarks, as ScenicGate did before BlazeFace. It finds
	// upright frontal faces only.
	DetectorHOG = "hog"
	// DefaultDetector is the detector used when Config.Detector is empty.
	// On East-Asian photos BlazeFace found 187 of 187 faces where HOG found
	// 186 (and none tilted past about 30°), and identified more visitors at
	// no stranger admitted: 96.7% against 90.7% (gate calibrate, README).
	DefaultDetector = DetectorBlazeFace
)

// Detectors returns the names of the detectors the engine knows, the
// default first.
func Detectors() []string { return []string{DetectorBlazeFace, DetectorHOG} }

// Config configures an Engine. The zero value of each field selects its
// default.
type Config struct {
	// ModelDir is the folder with the model files: dlib's
	// shape_predictor_5_face_landmarks.dat,
	// dlib_face_recognition_resnet_model_v1.dat and
	// mmod_human_face_detector.dat, which find every face, and the ONNX
	// files of the other models (see Model.File).
	ModelDir string
	// Detector names the face detector: DetectorBlazeFace (its files
	// blazeface.onnx and facemesh.onnx come with `make models`) or
	// DetectorHOG. Empty means DefaultDetector. Whatever the detector, dlib's
	// own descriptor is computed from dlib's landmarks.
	Detector string
	// Models names the embedding models whose descriptors the engine
	// computes, in the order Face.Descriptors lists them. Empty means every
	// model installed in ModelDir (see Installed).
	Models []string
	// Workers is the number of recognizers in the pool, and so the number
	// of images processed at once; each holds its own copy of the models
	// (about 35 MB for dlib's, 5 MB for each ONNX model, and 9 MB more for
	// a second shape predictor when no dlib model is run: see LargestFace).
	// 0 means runtime.NumCPU(): more than one per core only adds waiting.
	Workers int
	// MaxPixels refuses images with more pixels than this with
	// ErrImageTooLarge. 0 means DefaultMaxPixels.
	MaxPixels int
	// MaxSide scales images down so that their longer side is at most this
	// many pixels before detection. 0 means DefaultMaxSide.
	MaxSide int
	// MinFaceSize is the smallest face side, in original pixels, that Enroll
	// accepts. 0 means DefaultMinFaceSize.
	MinFaceSize int
	// BLASThreads sets how many threads OpenBLAS uses for each matrix
	// product. OpenBLAS has one setting per process, so the last Engine
	// opened decides it. 0 means DefaultBLASThreads; a negative value leaves
	// OpenBLAS as it is (OPENBLAS_NUM_THREADS or one thread per core).
	BLASThreads int
	// OpenCVThreads sets how many threads OpenCV uses for each operation.
	// It is one setting per process, like BLASThreads. 0 means
	// DefaultOpenCVThreads; a negative value leaves OpenCV as it is (one
	// thread per core).
	OpenCVThreads int
}

// withDefaults returns c with every zero field replaced by its default, or an
// error if a field is negative or the model folder is missing.
func (c Config) withDefaults() (Config, error) {
	if c.ModelDir == "" {
		return c, fmt.Errorf("faces: open: Config.ModelDir is empty: %w", ErrInvalidConfig)
	}
	for _, f := range []struct {
		name  string
		value int
	}{
		{"Workers", c.Workers},
		{"MaxPixels", c.MaxPixels},
		{"MaxSide", c.MaxSide},
		{"MinFaceSize", c.MinFaceSize},
	} {
		if f.value < 0 {
			return c, fmt.Errorf("faces: open: Config.%s = %d; want 0 (default) or more: %w", f.name, f.value, ErrInvalidConfig)
		}
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	if c.MaxSide == 0 {
		c.MaxSide = DefaultMaxSide
	}
	if c.MinFaceSize == 0 {
		c.MinFaceSize = DefaultMinFaceSize
	}
	if c.BLASThreads == 0 {
		c.BLASThreads = DefaultBLASThreads
	}
	if c.OpenCVThreads == 0 {
		c.OpenCVThreads = DefaultOpenCVThreads
	}
	if c.Detector == "" {
		c.Detector = DefaultDetector
	}
	if !slices.Contains(Detectors(), c.Detector) {
		return c, fmt.Errorf("faces: open: detector %q (known: %s): %w", c.Detector, strings.Join(Detectors(), ", "), ErrInvalidConfig)
	}
	if len(c.Models) == 0 {
		if c.Models = Installed(c.ModelDir); len(c.Models) == 0 {
			return c, fmt.Errorf("faces: open: no model in %s: %w", c.ModelDir, ErrModelMissing)
		}
	}
	if c.Detector == DetectorBlazeFace {
		for _, f := range []string{blazeFaceFile, faceMeshFile} {
			if _, err := os.Stat(filepath.Join(c.ModelDir, f)); err != nil {
				return c, fmt.Errorf("faces: open: the %s detector needs %s, which is not in %s (run `make models`): %w",
					c.Detector, f, c.ModelDir, ErrModelMissing)
			}
		}
	}
	return c, nil
}

// resolveModels looks up the configured models, refusing unknown names,
// repeats and missing files.
func (c Config) resolveModels() ([]Model, error) {
	var models []Model
	for _, name := range c.Models {
		m, err := Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("faces: open: %w", err)
		}
		if slices.ContainsFunc(models, func(o Model) bool { return o.Name == m.Name }) {
			return nil, fmt.Errorf("faces: open: model %q named twice: %w", m.Name, ErrInvalidConfig)
		}
		if f := missingFile(c.ModelDir, m); f != "" {
			return nil, fmt.Errorf("faces: open: model %s needs %s, which is not in %s (run `make models`): %w",
				m.Name, f, c.ModelDir, ErrModelMissing)
		}
		models = append(models, m)
	}
	return models, nil
}
