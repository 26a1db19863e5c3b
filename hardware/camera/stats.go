package camera

import (
	"sync"
	"time"
)

// fpsWindow is how far back Stats.FPS looks: long enough to average a few
// frames of a slow demo folder, short enough to fall to 0 soon after a
// camera stops.
const fpsWindow = 3 * time.Second

// tracker keeps a source's Stats. It has its own lock so that Stats never
// waits behind a Read.
type tracker struct {
	mu    sync.Mutex
	st    Stats
	times [64]time.Time // capture times of the newest frames, a ring
	next  int           // where the next time goes
}

func newTracker(name string, kind Kind) *tracker {
	return &tracker{st: Stats{Source: name, Kind: kind}}
}

// frame records a frame captured or decoded at t and reports whether the
// source was healthy before it.
func (t *tracker) frame(at time.Time) (wasHealthy bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	wasHealthy = t.st.Healthy
	t.st.Frames++
	t.st.LastFrame = at
	t.st.Healthy = true
	t.times[t.next] = at
	t.next = (t.next + 1) % len(t.times)
	return wasHealthy
}

// fault records err and marks the source unhealthy. It reports whether the
// source was healthy before, so that the caller can log the first failure
// loudly and repeats quietly.
func (t *tracker) fault(err error) (wasHealthy bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	wasHealthy = t.st.Healthy
	t.st.Healthy = false
	t.st.LastError = err.Error()
	t.st.LastErrorAt = time.Now()
	return wasHealthy
}

// update changes the stats under the lock.
func (t *tracker) update(f func(*Stats)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.st)
}

// snapshot returns the stats as of now.
func (t *tracker) snapshot(now time.Time) Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.st
	st.FPS = t.rate(now)
	return st
}

// rate is the frame rate over the last fpsWindow: the frames in it, less
// one, over the time from the oldest to now's newest. The caller holds mu.
func (t *tracker) rate(now time.Time) float64 {
	var oldest, newest time.Time
	n := 0
	for _, at := range t.times {
		if at.IsZero() || now.Sub(at) > fpsWindow {
			continue
		}
		n++
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
		if at.After(newest) {
			newest = at
		}
	}
	span := newest.Sub(oldest)
	if n < 2 || span <= 0 {
		return 0
	}
	return float64(n-1) / span.Seconds()
}
