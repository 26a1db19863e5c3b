package camera

import (
	"errors"
	"fmt"
)

var (
	// ErrEndOfStream is returned by Read when a recorded source that does
	// not loop has no more frames, and by every Read after that.
	ErrEndOfStream = errors.New("camera: end of stream")
	// ErrClosed is returned by Read after Close.
	ErrClosed = errors.New("camera: source closed")
	// ErrBadSpec is wrapped by the error Open returns for a spec it cannot
	// use; the message says what is wrong with it.
	ErrBadSpec = errors.New("camera: bad source spec")
	// ErrStalled is found inside the *Fault of a capture that sent no frame
	// within Options.ReadTimeout, or did not open within
	// Options.OpenTimeout.
	ErrStalled = errors.New("camera: capture stalled")
	// ErrNoFrame is found inside the *Fault of a capture whose read failed
	// (OpenCV reports no reason), or of a looping video file that holds no
	// frame at all.
	ErrNoFrame = errors.New("camera: no frame")
	// ErrStuck is found inside the *Fault Close returns when abandoned
	// captures are still blocked inside OpenCV after
	// Options.CloseTimeout.
	ErrStuck = errors.New("camera: captures still blocked in OpenCV")
)

// Fault is a failure of a camera, stream, file or folder. Live sources
// report them through Stats and the logger; recorded sources return them
// from Read. Find it with errors.As.
type Fault struct {
	Source string // the source's String()
	// Op is what failed: "open", "read" or "list" (a folder), "stall"
	// (the watchdog gave up waiting) or "close".
	Op  string
	Err error
}

func (f *Fault) Error() string {
	return fmt.Sprintf("camera %s: %s: %v", f.Source, f.Op, f.Err)
}

func (f *Fault) Unwrap() error { return f.Err }
