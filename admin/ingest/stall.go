package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/scenicgate/scenicgate/internal/bus"
)

// errStalled ends a loop whose consumer delivers nothing while its stream
// holds more, or whose server no longer answers, as the gates' mirror does
// (gate/mirror); the loop then starts again with a new consumer, from the
// position it stored.
var errStalled = errors.New("stalled")

// progress is how far a loop has come: the last stream sequence (or bucket
// revision) it took in, and when it last received anything.
type progress struct {
	pos atomic.Uint64
	at  atomic.Int64 // Unix nanoseconds
}

func newProgress(pos uint64) *progress {
	p := &progress{}
	p.pos.Store(pos)
	p.touch()
	return p
}

// advance records that the loop took in everything up to pos.
func (p *progress) advance(pos uint64) {
	p.pos.Store(max(p.pos.Load(), pos))
	p.touch()
}

func (p *progress) touch() { p.at.Store(time.Now().UnixNano()) }

func (p *progress) idle() time.Duration { return time.Since(time.Unix(0, p.at.Load())) }

// watchStall ends ctx with errStalled, as seen through cancel, when the
// source is ahead of p and nothing has arrived for StallAfter, or when the
// source's position cannot be read twice in a row — then it also checks
// the connection, which reconnects if its server hangs. last reads the
// source's position. It returns when ctx ends.
func (i *Ingester) watchStall(ctx context.Context, cancel context.CancelCauseFunc, what string, p *progress,
	last func(context.Context) (uint64, error)) {
	every := max(i.opts.StallAfter/2, 100*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lctx, lcancel := context.WithTimeout(ctx, min(i.opts.StallAfter, 3*time.Second))
		pos, err := last(lctx)
		lcancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if failed++; failed < 2 {
				continue
			}
			bus.CheckConnection(i.nc, 2*time.Second, i.log)
			cancel(fmt.Errorf("%w: %s: no answer from NATS: %w", errStalled, what, err))
			return
		case pos > p.pos.Load() && p.idle() > i.opts.StallAfter:
			cancel(fmt.Errorf("%w: %s: at %d of %d, nothing received for %v", errStalled, what, p.pos.Load(), pos,
				p.idle().Round(time.Second)))
			return
		}
		failed = 0
	}
}

// stalled returns why ctx ended, when the stall watch ended it, else err.
func stalled(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
		return cause
	}
	return err
}
