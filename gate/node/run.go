package node

import (
	"context"
	"errors"
	"time"

	"github.com/scenicgate/scenicgate/hardware/camera"
)

// Camera is where a lane's frames come from; hardware/camera opens real
// ones.
type Camera interface {
	Read(ctx context.Context) (camera.Frame, error)
}

// Run feeds the camera's frames through a lane until ctx ends or the camera
// runs out (a video file or a folder played once). Camera faults are
// reported in the status and retried by the camera itself; a frame that
// fails to process is logged and skipped.
func (n *Node) Run(ctx context.Context, cam Camera) error {
	lane := n.NewLane()
	defer lane.Close()
	for {
		f, err := cam.Read(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, camera.ErrEndOfStream):
			// The last face seen leaves with the stream: a stranger is
			// refused now.
			if _, err := lane.endTrack(ctx, n.now()); err != nil {
				n.log.Warn("the last face's refusal not recorded", "err", err)
			}
			return nil
		case err != nil:
			n.frames.setFault(err.Error())
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		n.frames.setFault("")
		_, err = lane.Frame(ctx, f.Mat, f.At)
		f.Mat.Close()
		if err != nil && ctx.Err() == nil {
			n.log.Warn("frame not processed", "err", err)
		}
	}
}
