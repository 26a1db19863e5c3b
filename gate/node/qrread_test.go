package node

import (
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/scene"
)

// TestQRReaderLooksAtTheNewestFrame offers the reader frames faster than it
// reads them: like a live camera it looks at the newest and skips the
// frames offered meanwhile, and the lane gets each code read once.
func TestQRReaderLooksAtTheNewestFrame(t *testing.T) {
	r := newQRReader(quietLog())
	defer r.close()
	a, b := qrFrame(t, "SG1.first"), qrFrame(t, "SG1.second")
	// A camera-like frame without a code: the reader searches it for a
	// while.
	noisy := scene.New(1280, 720, 1).Empty(1)
	defer noisy.Close()

	r.offer(a, time.Now())
	r.settle()
	if read, ok := r.take(); !ok || read.text != "SG1.first" {
		t.Fatalf("take() = %q, %v; want the first code", read.text, ok)
	}
	if read, ok := r.take(); ok {
		t.Fatalf("take() again = %q; want nothing: each code is taken once", read.text)
	}

	r.offer(noisy, time.Now())
	waitBusy(t, r)
	r.offer(a, time.Now()) // replaced before the reader is free
	second := time.Now()
	r.offer(b, second)
	r.settle()
	read, ok := r.take()
	if !ok || read.text != "SG1.second" || !read.capturedAt.Equal(second) {
		t.Fatalf("take() = %+v, %v; want the newest frame's code, captured at %v", read, ok, second)
	}
	if read, ok := r.take(); ok {
		t.Fatalf("take() = %q; want nothing: the frame offered while the reader was busy was replaced", read.text)
	}
}

func waitBusy(t *testing.T, r *qrReader) {
	t.Helper()
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		r.mu.Lock()
		busy := r.busy
		r.mu.Unlock()
		if busy {
			return
		}
		if time.Since(start) > waitLimit {
			t.Fatal("the QR reader never started")
		}
	}
}
