package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/scenicgate/scenicgate/hardware/relay/internal/frame"
)

// modbusReadSlice bounds each Read on a Modbus line (the termios VTIME
// granularity is 100 ms), so that waiting for a reply can stop at the reply
// timeout instead of blocking on a silent board.
const modbusReadSlice = 100 * time.Millisecond

// modbusDriver drives one coil of a Modbus RTU relay board with "write
// single coil" and checks the board's echo.
type modbusDriver struct {
	*line
	addr    byte
	coil    uint16
	timeout time.Duration
	flash   bool // close the contact with "flash on", which ends by itself
}

func (d *modbusDriver) set(ctx context.Context, on bool) error {
	return d.send(ctx, frame.WriteCoil(frame.Coil{Addr: d.addr, Coil: d.coil, On: on}))
}

// closeFor closes the contact for d with the board's flash command when
// the spec asks for it; the board opens it again by itself.
func (d *modbusDriver) closeFor(ctx context.Context, hold time.Duration) error {
	if !d.flash {
		return d.set(ctx, true)
	}
	return d.send(ctx, frame.Flash(frame.FlashCmd{Addr: d.addr, Relay: byte(d.coil), For: hold}))
}

// send writes a request and checks the board's echo.
func (d *modbusDriver) send(ctx context.Context, req []byte) error {
	// A late answer to an earlier, timed-out request would otherwise be
	// taken for this request's echo.
	if err := d.p.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if err := d.write(req); err != nil {
		return err
	}
	reply, err := d.readReply(ctx)
	if err != nil {
		return err
	}
	return checkReply(req, reply)
}

// readReply reads an echo (8 bytes) or an exception response (5 bytes),
// telling them apart by the function byte, until the reply timeout or the
// end of ctx.
func (d *modbusDriver) readReply(ctx context.Context) ([]byte, error) {
	deadline := time.Now().Add(d.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	reply := make([]byte, 0, frame.WriteCoilLen)
	want := frame.WriteCoilLen
	for len(reply) < want {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w within %v (got % X)", ErrNoReply, d.timeout, reply)
		}
		n, err := d.p.Read(reply[len(reply):want])
		reply = reply[:len(reply)+n]
		// io.EOF is how a Read that timed out with no bytes is reported.
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(reply) >= 2 && reply[1]&frame.ExceptionFlag != 0 {
			want = frame.ExceptionLen
		}
	}
	return reply, nil
}

// checkReply compares a board's reply with the request it answers.
func checkReply(req, reply []byte) error {
	if !frame.CheckCRC(reply) {
		return fmt.Errorf("%w: % X", ErrBadCRC, reply)
	}
	if reply[0] == req[0] && reply[1] == req[1]|frame.ExceptionFlag && len(reply) == frame.ExceptionLen {
		return &ExceptionError{Addr: reply[0], Function: req[1], Code: reply[2]}
	}
	if !bytes.Equal(reply, req) {
		return fmt.Errorf("%w: sent % X, got % X", ErrBadEcho, req, reply)
	}
	return nil
}
