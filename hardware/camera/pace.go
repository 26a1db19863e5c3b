package camera

import (
	"context"
	"time"
)

// pacer spaces a recorded source's frames at least period apart.
type pacer struct {
	period time.Duration // 0: unpaced
	last   time.Time     // when the previous frame was due; zero before the first
}

// wait blocks until the next frame is due. It returns ctx.Err() when ctx
// ends first and ErrClosed when done is closed first.
func (p *pacer) wait(ctx context.Context, done <-chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.period <= 0 || p.last.IsZero() {
		return nil
	}
	d := time.Until(p.last.Add(p.period))
	if d <= 0 {
		return nil
	}
	return sleep(ctx, done, d)
}

// mark records that a frame was delivered for the slot that began at due:
// the next is due one period later. Counting from the slot rather than from
// the end of decoding keeps the rate at FPS while decoding is faster than a
// period; a consumer slower than that is never made to catch up in a burst.
func (p *pacer) mark(due time.Time) {
	p.last = due
}

// sleep waits for d, returning early with ctx.Err() or ErrClosed.
func sleep(ctx context.Context, done <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return ErrClosed
	case <-t.C:
		return nil
	}
}
