package service

import (
	"sync"
	"time"
)

// limiter allows max events per key in each fixed window. It is how login
// attempts per address are capped; the account lockout is separate.
type limiter struct {
	max    int
	window time.Duration

	mu   sync.Mutex
	hits map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(max int, w time.Duration) *limiter {
	return &limiter{max: max, window: w, hits: map[string]*window{}}
}

// allow counts one event for key at now and reports whether it is within
// the limit. A max of 0 or less means no limit.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.max <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hits) > 10000 {
		for k, w := range l.hits {
			if now.Sub(w.start) >= l.window {
				delete(l.hits, k)
			}
		}
	}
	w := l.hits[key]
	if w == nil || now.Sub(w.start) >= l.window || now.Before(w.start) {
		w = &window{start: now}
		l.hits[key] = w
	}
	w.n++
	return w.n <= l.max
}
