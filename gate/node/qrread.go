package node

import (
	"log/slog"
	"runtime"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/hardware/qr"
)

// maxQRReads bounds the codes read and not yet acted on. The lane takes
// them at every frame, so more than one or two wait only while a decision
// is being made.
const maxQRReads = 8

// qrPeriod is the least time from the start of one QR pass to the next. A
// visitor holds a code up for a second or more, so five looks a second read
// it in time, and the rest of the time is the face engine's: on two shared
// cores a QR reader searching frame after frame slowed finding faces by
// about a third (BenchmarkTimeToOpen).
const qrPeriod = 200 * time.Millisecond

// qrReader looks for QR codes on a goroutine of its own, always at the
// newest frame the lane gave it, as a live camera keeps only its newest
// frame. A frame without a code keeps the reader searching longer than
// finding a face takes (the more so at 1280x720 or in a noisy picture), so
// the lane never waits for it: a code read is acted on at the lane's next
// look (see Lane.takeQR), and a face decision is never held up by a QR pass.
//
// Its goroutine's thread runs at a lower priority (niceness 10 on Linux):
// on a busy machine the face engine, which decides most visitors, goes
// first. Its methods are safe for concurrent use; close it once.
type qrReader struct {
	det *qr.Detector
	log *slog.Logger

	mu      sync.Mutex
	changed *sync.Cond // signalled when a frame is offered, a pass ends, or the reader closes
	next    gocv.Mat   // the newest frame offered and not looked at; reused from frame to frame
	nextAt  time.Time
	hasNext bool
	busy    bool     // a pass is running
	reads   []qrRead // codes read and not yet taken, oldest first
	closed  bool

	stop chan struct{} // closed by close
	done chan struct{} // closed when the goroutine has returned
}

// qrRead is a code read from a frame captured at capturedAt.
type qrRead struct {
	text       string
	capturedAt time.Time
}

func newQRReader(log *slog.Logger) *qrReader {
	r := &qrReader{det: qr.NewDetector(), log: log, next: gocv.NewMat(), stop: make(chan struct{}), done: make(chan struct{})}
	r.changed = sync.NewCond(&r.mu)
	go r.run()
	return r
}

// offer gives the reader frame, captured at capturedAt, to look at when it
// is free: a copy replaces a frame offered before and not looked at yet.
// The caller keeps frame.
func (r *qrReader) offer(frame gocv.Mat, capturedAt time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	// CopyTo reuses next's pixels when the frame size stays the same.
	frame.CopyTo(&r.next)
	r.nextAt, r.hasNext = capturedAt, true
	r.changed.Broadcast()
}

// take returns the oldest code read and not taken yet.
func (r *qrReader) take() (qrRead, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reads) == 0 {
		return qrRead{}, false
	}
	read := r.reads[0]
	r.reads = r.reads[1:]
	return read, true
}

// settle waits until the reader has looked at every frame offered so far.
func (r *qrReader) settle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for !r.closed && (r.hasNext || r.busy) {
		r.changed.Wait()
	}
}

func (r *qrReader) run() {
	defer close(r.done)
	// The reader's thread runs at a lower priority, so that when the cores
	// are busy a QR pass takes no time from finding faces. The thread is
	// never unlocked: it ends with the goroutine and its priority with it.
	runtime.LockOSThread()
	if err := lowerThreadPriority(); err != nil {
		r.log.Debug("QR reader runs at normal priority", "err", err)
	}
	work := gocv.NewMat()
	defer work.Close()
	for {
		r.mu.Lock()
		for !r.closed && !r.hasNext {
			r.changed.Wait()
		}
		if r.closed {
			r.mu.Unlock()
			return
		}
		// Swap the buffers: the frame to look at becomes work, and the
		// next offer copies into the old one.
		r.next, work = work, r.next
		at := r.nextAt
		r.hasNext, r.busy = false, true
		r.mu.Unlock()

		start := time.Now()
		text, ok := r.det.Decode(work)
		took := time.Since(start)

		r.mu.Lock()
		r.busy = false
		if ok {
			if len(r.reads) == maxQRReads {
				r.reads = r.reads[1:]
			}
			r.reads = append(r.reads, qrRead{text: text, capturedAt: at})
		}
		r.changed.Broadcast()
		r.mu.Unlock()
		if !r.rest(took) {
			return
		}
	}
}

// rest waits after a pass that took took, so that passes start at least
// qrPeriod apart and the reader is busy at most a third of the time. A pass
// over a frame without a code is the slow one (tens of milliseconds at
// 640x480, hundreds at 1280x720); a code in view is read in a few, and
// waits for at most one slow pass and its rest. It returns false when the
// reader closes meanwhile.
func (r *qrReader) rest(took time.Duration) bool {
	t := time.NewTimer(max(qrPeriod-took, 2*took))
	defer t.Stop()
	select {
	case <-r.stop:
		return false
	case <-t.C:
		return true
	}
}

// close stops the reader, after the pass in progress, and frees it.
func (r *qrReader) close() error {
	r.mu.Lock()
	r.closed = true
	r.changed.Broadcast()
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.next.Close()
	return r.det.Close()
}
