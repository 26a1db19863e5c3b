// Package testenv finds the files that tests share: the dlib model files and
// the photos of real people fetched by `make models` and `make testdata`.
//
// Tests fail, rather than skip, when the files are missing, so that a test run
// can never pass without having looked at a single face.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the repository's top folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ModelFiles are the model files the tests need: dlib's, the face detector
// and landmark networks, and the ONNX file of every other model the face
// engine knows. `make test` fetches them all,
// fr-feature included, which a site's `make models` leaves out.
var ModelFiles = []string{
	"dlib_face_recognition_resnet_model_v1.dat",
	"shape_predictor_5_face_landmarks.dat",
	"mmod_human_face_detector.dat",
	"mobilefacenet.onnx",
	"fr-feature.onnx",
	"blazeface.onnx",
	"facemesh.onnx",
}

// ModelDir returns the folder with the model files: $SCENICGATE_MODELS or
// models/ in the repository. It fails the test when a model file is missing.
func ModelDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("SCENICGATE_MODELS")
	if dir == "" {
		dir = filepath.Join(Root(), "models")
	}
	for _, name := range ModelFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			tb.Fatalf("model file missing (run `make models FACE_MODELS=\"mobilefacenet fr-feature\"`): %v", err)
		}
	}
	return dir
}

// PhotoDir returns the folder with the test photos: $SCENICGATE_TESTDATA or
// testdata/ in the repository.
func PhotoDir() string {
	if dir := os.Getenv("SCENICGATE_TESTDATA"); dir != "" {
		return dir
	}
	return filepath.Join(Root(), "testdata")
}

// PhotoPath returns the path of a test photo such as "obama.jpg", failing the
// test when it is missing.
func PhotoPath(tb testing.TB, name string) string {
	tb.Helper()
	path := filepath.Join(PhotoDir(), name)
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("test photo missing (run `make testdata`): %v", err)
	}
	return path
}

// Photo returns the bytes of a test photo such as "obama.jpg".
func Photo(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(PhotoPath(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// People maps each person in the test photos to their photos. Every photo in
// it holds exactly one face large enough to enroll.
var People = map[string][]string{
	"obama": {"obama.jpg", "obama2.jpg", "obama3.jpg", "32bit.png"},
	"biden": {"biden.jpg"},
}
