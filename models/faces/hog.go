package faces

/*
#cgo CXXFLAGS: -O3 -DNDEBUG -march=native
#cgo LDFLAGS: -ldlib -lblas -lcblas -llapack
#include <stdlib.h>
#include "hog.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"unsafe"

	"gocv.io/x/gocv"
)

// maxFaces bounds the faces one frame reports; a camera at a turnstile sees
// a few.
const maxFaces = 32

// hogDetector is dlib's HOG face detector and five-point shape predictor,
// the same go-face runs, on an OpenCV Mat's own pixels: no JPEG to encode
// and decode, and no descriptor network unless one is asked for. The gate's
// LargestFace uses it when the engine runs no dlib model, so that a frame
// costs finding the faces, the landmarks of the largest and its ONNX
// descriptor, and nothing for the faces it does not describe. It is not
// safe for concurrent use: each worker has its own.
type hogDetector struct {
	h C.SGHog
}

func openHOG(dir string) (*hogDetector, error) {
	path := C.CString(filepath.Join(dir, "shape_predictor_5_face_landmarks.dat"))
	defer C.free(unsafe.Pointer(path))
	var cerr *C.char
	h := C.sghog_new(path, &cerr)
	if h == nil {
		return nil, fmt.Errorf("faces: open: load dlib's shape predictor from %s: %w", dir, takeError(cerr))
	}
	return &hogDetector{h: h}, nil
}

func (d *hogDetector) Close() {
	C.sghog_free(d.h)
}

// detect returns the faces dlib finds in m (8-bit grey or BGR), as go-face
// reports them: right and bottom are the last pixels inside the face.
func (d *hogDetector) detect(m gocv.Mat) ([]image.Rectangle, error) {
	var rects [4 * maxFaces]C.long
	var cerr *C.char
	n := int(C.sghog_detect(d.h, unsafe.Pointer(m.Ptr()), &rects[0], maxFaces, &cerr))
	if n < 0 {
		return nil, fmt.Errorf("dlib: detect: %w", takeError(cerr))
	}
	out := make([]image.Rectangle, min(n, maxFaces))
	for i := range out {
		out[i] = image.Rect(int(rects[4*i]), int(rects[4*i+1]), int(rects[4*i+2]), int(rects[4*i+3]))
	}
	return out, nil
}

// landmarks returns the five landmarks of the face in r, a rectangle detect
// returned, in m.
func (d *hogDetector) landmarks(m gocv.Mat, r image.Rectangle) ([]image.Point, error) {
	rect := [4]C.long{C.long(r.Min.X), C.long(r.Min.Y), C.long(r.Max.X), C.long(r.Max.Y)}
	var pts [10]C.long
	var cerr *C.char
	if C.sghog_landmarks(d.h, unsafe.Pointer(m.Ptr()), &rect[0], &pts[0], &cerr) != 0 {
		return nil, fmt.Errorf("dlib: landmarks: %w", takeError(cerr))
	}
	out := make([]image.Point, 5)
	for i := range out {
		out[i] = image.Pt(int(pts[2*i]), int(pts[2*i+1]))
	}
	return out, nil
}

// takeError turns a message from the C++ side into an error and frees it.
func takeError(cerr *C.char) error {
	if cerr == nil {
		return errors.New("unknown error")
	}
	defer C.free(unsafe.Pointer(cerr))
	return errors.New(C.GoString(cerr))
}
