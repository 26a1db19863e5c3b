package camera

import (
	"context"
	"sync"
	"time"
)

// turns serialises the Reads of a recorded source (a file or a folder),
// which decode in the caller's goroutine, and lets Close wait for the Read
// in progress. A channel rather than a mutex, so that a waiting Read can
// give up when its context ends.
type turns struct {
	turn    chan struct{} // held by the Read in progress
	done    chan struct{} // closed by Close
	closing sync.Once

	// Held with the turn.
	pace  pacer
	ended bool
}

func newTurns(period time.Duration) turns {
	return turns{turn: make(chan struct{}, 1), done: make(chan struct{}), pace: pacer{period: period}}
}

// begin takes the turn for one Read and waits until the next frame is due.
// On success the caller must call release when its Read is over; due is the
// instant the frame became due, for pace.mark.
func (t *turns) begin(ctx context.Context) (release func(), due time.Time, err error) {
	select {
	case t.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	case <-t.done:
		return nil, time.Time{}, ErrClosed
	}
	release = func() { <-t.turn }
	select {
	case <-t.done:
		release()
		return nil, time.Time{}, ErrClosed
	default:
	}
	if t.ended {
		release()
		return nil, time.Time{}, ErrEndOfStream
	}
	if err := t.pace.wait(ctx, t.done); err != nil {
		release()
		return nil, time.Time{}, err
	}
	return release, time.Now(), nil
}

// shut marks the source closed, waits for a Read in progress (which sees
// done and returns) and then runs free, once. The turn is never given back,
// so later Reads see done too.
func (t *turns) shut(free func()) {
	t.closing.Do(func() {
		close(t.done)
		t.turn <- struct{}{}
		free()
	})
}
