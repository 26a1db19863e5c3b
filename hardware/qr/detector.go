package qr

/*
#cgo pkg-config: opencv4
#include <stdlib.h>
#include "wechat.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"gocv.io/x/gocv"
)

// Errors from DecodeAll. Decode reports all of them as ok == false.
var (
	// ErrClosed means the Detector was closed.
	ErrClosed = errors.New("qr: detector closed")
	// ErrEmptyFrame means the frame is empty, zero or already closed.
	ErrEmptyFrame = errors.New("qr: empty frame")
	// ErrUnsupportedFrame means the frame is not 8-bit with 1 (gray),
	// 3 (BGR) or 4 (BGRA) channels.
	ErrUnsupportedFrame = errors.New("qr: unsupported frame type")
)

// OpenCVError is a failure inside OpenCV (a C++ exception), which the shim
// catches so that it cannot take the process down.
type OpenCVError struct {
	Msg string
}

func (e *OpenCVError) Error() string { return "qr: opencv: " + e.Msg }

// Detector finds and decodes QR codes in camera frames.
//
// A Detector is safe for concurrent use, but its calls are serialised:
// OpenCV does not promise that one reader may be used from several threads.
// A program that decodes on several goroutines at once should give each its
// own Detector. Close it when done.
type Detector struct {
	mu     sync.Mutex
	reader C.SGQRReader // nil after Close
}

// NewDetector returns a Detector. It panics only when OpenCV cannot allocate
// the reader, which like any failed allocation leaves nothing to recover.
func NewDetector() *Detector {
	var cerr *C.char
	r := C.sgqr_new(&cerr)
	if r == nil {
		msg := "no reader"
		if cerr != nil {
			msg = C.GoString(cerr)
			C.free(unsafe.Pointer(cerr))
		}
		panic("qr: create OpenCV QR reader: " + msg)
	}
	return &Detector{reader: r}
}

// Close frees the reader, after waiting for a decode in progress. Close may
// be called more than once; later calls do nothing.
func (d *Detector) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.reader != nil {
		C.sgqr_free(d.reader)
		d.reader = nil
	}
	return nil
}

// Decode returns the text of a QR code in frame, with ok false when the frame
// holds no code it can read. Every error DecodeAll would return also gives
// ok == false: a gate treats every frame it cannot read a code from alike.
// frame is only read; the caller keeps it.
func (d *Detector) Decode(frame gocv.Mat) (text string, ok bool) {
	texts, err := d.DecodeAll(frame)
	if err != nil || len(texts) == 0 {
		return "", false
	}
	return texts[0], true
}

// DecodeAll returns the text of the QR codes it decodes in frame, nil when
// there are none. Without WeChat's CNN detector OpenCV decodes one code a
// frame, so a frame with several codes gives one of them.
//
// A text is the code's content exactly as encoded: usually UTF-8, but a code
// in byte mode may hold any bytes. frame must be 8-bit gray, BGR or BGRA; it
// is only read and the caller keeps it. Errors are ErrClosed, ErrEmptyFrame,
// ErrUnsupportedFrame and *OpenCVError.
func (d *Detector) DecodeAll(frame gocv.Mat) ([]string, error) {
	// A zero or closed Mat has no C object; asking it anything would
	// dereference a null pointer.
	if frame.Ptr() == nil || frame.Empty() {
		return nil, ErrEmptyFrame
	}
	switch frame.Type() {
	case gocv.MatTypeCV8UC1, gocv.MatTypeCV8UC3, gocv.MatTypeCV8UC4:
	default:
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedFrame, frame.Type())
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.reader == nil {
		return nil, ErrClosed
	}
	res := C.sgqr_decode(d.reader, unsafe.Pointer(frame.Ptr()))
	defer C.sgqr_result_free(res)
	if res.err != nil {
		return nil, &OpenCVError{Msg: C.GoString(res.err)}
	}
	if res.n == 0 {
		return nil, nil
	}
	texts := make([]string, res.n)
	for i, c := range unsafe.Slice(res.codes, int(res.n)) {
		texts[i] = C.GoStringN(c.text, c.len)
	}
	return texts, nil
}
