package camera

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gocv.io/x/gocv"
)

// maxStuck bounds the captures left blocked inside OpenCV. Each holds a
// thread and a decoder; a camera whose every read hangs must not pile them
// up, so while this many are stuck no new capture is opened.
const maxStuck = 3

// liveSource reads a camera or stream continuously and keeps the newest
// frame. Its goroutines: one supervisor, which opens a capture, watches it
// and reopens it after a fault, and one per capture, which alone touches its
// gocv.VideoCapture. All of them end by Close, except captures blocked in
// OpenCV, which end when OpenCV returns.
type liveSource struct {
	sp    spec
	opts  Options
	log   *slog.Logger
	stats *tracker

	done    chan struct{} // closed by Close
	closing sync.Once
	wg      sync.WaitGroup // supervisor and every capture goroutine

	mu      sync.Mutex
	closed  bool
	pending gocv.Mat      // newest frame no Read took yet; owned by the source; zero when none
	pendAt  time.Time     // when pending was captured
	pendSeq uint64        // its Seq
	seq     uint64        // frames captured so far
	arrived chan struct{} // closed and replaced when a frame arrives, closed at Close
	running int           // capture goroutines that have not returned
	stuck   int           // of those, the ones abandoned inside OpenCV
}

// capture is one opened VideoCapture and the goroutine that uses it.
type capture struct {
	ended chan error // receives why the capture ended by itself; buffered

	// busySince is when the call into OpenCV in progress began, zero
	// between calls; opening tells open from read. Guarded by the source's
	// mu, like the fields below.
	busySince time.Time
	opening   bool
	frames    int  // frames this capture delivered
	quit      bool // the supervisor gave up on it or the source closed
	stalled   bool // quit because the watchdog found it stuck
}

func openLive(sp spec, opts Options) *liveSource {
	s := &liveSource{
		sp:      sp,
		opts:    opts,
		log:     opts.Logger.With("camera", sp.name),
		stats:   newTracker(sp.name, sp.kind),
		done:    make(chan struct{}),
		arrived: make(chan struct{}),
	}
	s.wg.Add(1)
	go s.supervise()
	return s
}

// openCapture opens the camera or stream. Devices go through V4L2 (by
// path) or OpenCV's choice (by index); streams through FFmpeg, whose own
// 30-second timeouts guarantee that a call the watchdog abandoned does
// return in the end.
func (s *liveSource) openCapture() (*gocv.VideoCapture, error) {
	var vc *gocv.VideoCapture
	var err error
	switch {
	case s.sp.kind == KindDevice && s.sp.index >= 0:
		vc, err = gocv.VideoCaptureDevice(s.sp.index)
	case s.sp.kind == KindDevice:
		vc, err = gocv.VideoCaptureFileWithAPI(s.sp.target, gocv.VideoCaptureV4L2)
	default:
		vc, err = gocv.VideoCaptureFileWithAPI(s.sp.target, gocv.VideoCaptureFFmpeg)
	}
	if err != nil {
		// gocv allocates the capture even when opening fails; its
		// message would quote the URL with its password.
		vc.Close()
		return nil, fmt.Errorf("OpenCV cannot open it")
	}
	if s.sp.kind == KindDevice && s.opts.Width > 0 && s.opts.Height > 0 {
		vc.Set(gocv.VideoCaptureFrameWidth, float64(s.opts.Width))
		vc.Set(gocv.VideoCaptureFrameHeight, float64(s.opts.Height))
	}
	return vc, nil
}

func (s *liveSource) String() string { return s.sp.name }

func (s *liveSource) Stats() Stats {
	st := s.stats.snapshot(time.Now())
	s.mu.Lock()
	st.Stuck = s.stuck
	s.mu.Unlock()
	return st
}

func (s *liveSource) Read(ctx context.Context) (Frame, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Frame{}, ErrClosed
		}
		if s.pending.Ptr() != nil {
			f := Frame{Mat: s.pending, Seq: s.pendSeq, At: s.pendAt, Source: s.sp.name}
			s.pending = gocv.Mat{}
			s.mu.Unlock()
			return f, nil
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		case <-arrived:
		}
	}
}

func (s *liveSource) Close() error {
	var err error
	s.closing.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.done)
		close(s.arrived)
		s.pending.Close()
		s.pending = gocv.Mat{}
		s.mu.Unlock()

		waited := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(waited)
		}()
		t := time.NewTimer(s.opts.CloseTimeout)
		defer t.Stop()
		select {
		case <-waited:
		case <-t.C:
			s.mu.Lock()
			n := s.running
			s.mu.Unlock()
			err = &Fault{Source: s.sp.name, Op: "close", Err: fmt.Errorf("%w: %d after %v", ErrStuck, n, s.opts.CloseTimeout)}
			s.log.Warn("camera closed with captures still blocked in OpenCV", "captures", n)
		}
		s.stats.update(func(st *Stats) { st.Healthy = false })
	})
	return err
}

// supervise opens captures and watches them until Close.
func (s *liveSource) supervise() {
	defer s.wg.Done()
	var wait time.Duration // backoff before the next open
	failures := 0          // in a row, without a frame in between
	for opened := 0; ; opened++ {
		if opened > 0 {
			wait = s.nextBackoff(wait)
			if !s.pause(wait) || !s.waitForStuck(wait) {
				return
			}
			s.stats.update(func(st *Stats) { st.Reopens++ })
			s.log.Debug("camera reopening", "after", wait)
		}
		c := s.start()
		err := s.watch(c)
		if err == nil {
			return // closed
		}
		s.mu.Lock()
		delivered := c.frames > 0
		s.mu.Unlock()
		if delivered {
			// It worked for a while: start the backoff afresh.
			wait, failures = 0, 0
		}
		failures++
		s.stats.fault(err)
		s.dropPending()
		// A camera that stays away would fill the log; the first failure
		// says it, the recovery says the rest.
		if failures == 1 {
			s.log.Warn("camera fault; reopening", "err", err)
		} else {
			s.log.Debug("camera still failing", "err", err, "failures", failures)
		}
	}
}

// dropPending closes a frame no Read took before the capture failed: after
// a stall it may be ReadTimeout old, and a gate must not admit a visitor on
// a picture from before the camera went away. Read waits for the next
// capture instead.
func (s *liveSource) dropPending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending.Close()
	s.pending = gocv.Mat{}
}

// nextBackoff returns the wait before the next open after waiting prev.
func (s *liveSource) nextBackoff(prev time.Duration) time.Duration {
	if prev == 0 {
		return s.opts.Backoff.Initial
	}
	return min(2*prev, s.opts.Backoff.Max)
}

// pause waits d, returning false when the source closes first.
func (s *liveSource) pause(d time.Duration) bool {
	return sleep(context.Background(), s.done, d) == nil
}

// waitForStuck holds the next open while maxStuck abandoned captures are
// still inside OpenCV, checking every d. It returns false on Close.
func (s *liveSource) waitForStuck(d time.Duration) bool {
	for {
		s.mu.Lock()
		n := s.stuck
		s.mu.Unlock()
		if n < maxStuck {
			return true
		}
		s.log.Debug("camera waits for stuck captures before reopening", "stuck", n)
		if !s.pause(d) {
			return false
		}
	}
}

// start launches a capture goroutine.
func (s *liveSource) start() *capture {
	c := &capture{ended: make(chan error, 1)}
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
	s.wg.Add(1)
	go s.run(c)
	return c
}

// watch waits for c to end or stall, or for Close (then it returns nil). A
// stalled capture is abandoned: marked to quit and counted as stuck.
func (s *liveSource) watch(c *capture) error {
	tick := time.NewTicker(s.checkEvery())
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			s.mu.Lock()
			c.quit = true
			s.mu.Unlock()
			return nil
		case err := <-c.ended:
			return err
		case now := <-tick.C:
			if err := s.checkStall(c, now); err != nil {
				return err
			}
		}
	}
}

// checkEvery is how often watch looks at a capture: often enough to notice
// a stall within a fifth of the timeout.
func (s *liveSource) checkEvery() time.Duration {
	return max(10*time.Millisecond, min(s.opts.ReadTimeout, s.opts.OpenTimeout)/5)
}

// checkStall abandons c when its call into OpenCV has run too long.
func (s *liveSource) checkStall(c *capture, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.busySince.IsZero() || c.quit {
		return nil
	}
	limit, what := s.opts.ReadTimeout, "no frame"
	if c.opening {
		limit, what = s.opts.OpenTimeout, "not open"
	}
	busy := now.Sub(c.busySince)
	if busy < limit {
		return nil
	}
	c.quit, c.stalled = true, true
	s.stuck++
	return &Fault{Source: s.sp.name, Op: "stall", Err: fmt.Errorf("%w: %s after %v", ErrStalled, what, busy.Round(time.Millisecond))}
}

// run is a capture goroutine: it opens a capture, reads frames into the
// source until the capture fails or it is told to quit, and closes it. It
// is the only goroutine that touches its VideoCapture.
func (s *liveSource) run(c *capture) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		s.running--
		if c.stalled {
			s.stuck--
		}
		s.mu.Unlock()
	}()

	if !s.begin(c, true) {
		return
	}
	vc, err := s.openCapture()
	s.end(c)
	if err != nil {
		c.ended <- &Fault{Source: s.sp.name, Op: "open", Err: err}
		return
	}
	defer vc.Close()
	for {
		if !s.begin(c, false) {
			return
		}
		m := gocv.NewMat()
		ok := vc.Read(&m)
		at := time.Now()
		s.end(c)
		if !ok || m.Empty() {
			m.Close()
			c.ended <- &Fault{Source: s.sp.name, Op: "read", Err: ErrNoFrame}
			return
		}
		if !s.publish(c, m, at) {
			return
		}
	}
}

// begin marks the start of a call into OpenCV, unless c should quit.
func (s *liveSource) begin(c *capture, opening bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.quit {
		return false
	}
	c.busySince, c.opening = time.Now(), opening
	return true
}

// end marks the end of a call into OpenCV.
func (s *liveSource) end(c *capture) {
	s.mu.Lock()
	c.busySince = time.Time{}
	s.mu.Unlock()
}

// publish makes m the pending frame, closing the one it replaces. When c
// has been abandoned or the source closed, it closes m instead and returns
// false.
func (s *liveSource) publish(c *capture, m gocv.Mat, at time.Time) bool {
	s.mu.Lock()
	if c.quit || s.closed {
		s.mu.Unlock()
		m.Close()
		return false
	}
	// m is the source's, then a Read's, once the lock is released: look
	// at it only now.
	size := [2]int{m.Cols(), m.Rows()}
	dropped := s.pending.Ptr() != nil
	s.pending.Close()
	s.seq++
	s.pending, s.pendAt, s.pendSeq = m, at, s.seq
	c.frames++
	first := c.frames == 1
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()

	if !s.stats.frame(at) && first {
		s.log.Info("camera delivering frames", "width", size[0], "height", size[1])
	}
	if dropped {
		s.stats.update(func(st *Stats) { st.Dropped++ })
	}
	return true
}
