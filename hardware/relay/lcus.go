package relay

import (
	"context"

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
