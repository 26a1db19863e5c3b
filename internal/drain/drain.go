// Package drain runs the loop behind every outbox in ScenicGate: empty it
// now, again whenever woken, and again every interval, so what could not be
// sent during an outage goes out once the other side is back.
package drain

import (
	"context"
	"log/slog"
	"time"
)

// Waker wakes a Loop. The zero value is not usable; use NewWaker.
type Waker chan struct{}

// NewWaker returns a Waker.
func NewWaker() Waker { return make(Waker, 1) }

// Wake asks the loop to drain now. It never blocks; wakes that arrive while
// one is pending are merged.
func (w Waker) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// Loop calls drain at once, whenever w is woken and every interval, until ctx
// ends. It logs once when draining starts failing and once when it works
// again, rather than at every retry of an outage. what names the outbox in
// the log ("entitlements", "admissions").
func Loop(ctx context.Context, w Waker, every time.Duration, drain func(context.Context) error, log *slog.Logger, what string) {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		err := drain(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Warn("publishing "+what+" failed; they wait in the outbox", "err", err)
			failing = true
		case err == nil && failing:
			log.Info("publishing " + what + " again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-w:
		case <-t.C:
		}
	}
}
