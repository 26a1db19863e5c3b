package relay

import (
	"context"
	"time"

	"github.com/scenicgate/scenicgate/hardware/relay/internal/frame"
)

// lcusDriver drives an LCUS-type USB relay. The board does not answer, so a
// command counts as sent once the port has taken it.
type lcusDriver struct {
	*line
	channel byte
}

func (d *lcusDriver) set(_ context.Context, on bool) error {
	return d.write(frame.LCUS(d.channel, on))
}

// closeFor switches on: an LCUS board cannot time a pulse, and stays closed
// until told otherwise.
func (d *lcusDriver) closeFor(ctx context.Context, _ time.Duration) error { return d.set(ctx, true) }
