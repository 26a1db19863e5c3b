package relay

import (
	"errors"
	"fmt"
)

// ErrBadSpec is wrapped by the error Open returns for a spec it cannot use;
// the message says what is wrong with it.
var ErrBadSpec = errors.New("relay: bad spec")

// ErrClosed is returned by Pulse after Close.
var ErrClosed = errors.New("relay: closed")

// Errors a Modbus board's answer can cause, found inside a *Fault.
var (
	// ErrNoReply means the board did not answer (completely) within the
	// reply timeout: unpowered, wrong address, wrong baud rate, or a broken
	// RS-485 pair.
	ErrNoReply = errors.New("relay: no reply from the modbus device")
	// ErrBadCRC means the answer arrived damaged.
	ErrBadCRC = errors.New("relay: modbus reply has a bad CRC")
	// ErrBadEcho means the answer was well formed but is not the echo of
	// the request, e.g. another device answered.
	ErrBadEcho = errors.New("relay: modbus reply is not the echo of the request")
)

// Fault is a hardware failure: the port could not be opened, a command could
// not be written, or the board answered badly. Pulse returns it and State
// reports it. Find it with errors.As.
type Fault struct {
	Driver string // "lcus" or "modbus"
	Port   string // device path from the spec
	// Op is what failed: "open" (the port), "on" or "off" (a command), or
	// "watch" (the port vanished while idle).
	Op  string
	Err error
}

func (f *Fault) Error() string {
	return fmt.Sprintf("relay %s %s: %s: %v", f.Driver, f.Port, f.Op, f.Err)
}

func (f *Fault) Unwrap() error { return f.Err }

// ExceptionError is a Modbus exception response: the board understood the
// request and refused it. It is found inside a *Fault.
type ExceptionError struct {
	Addr     byte // device that answered
	Function byte // function of the refused request
	Code     byte // Modbus exception code
}

func (e *ExceptionError) Error() string {
	return fmt.Sprintf("relay: modbus device %d refused function 0x%02X: exception %d (%s)",
		e.Addr, e.Function, e.Code, exceptionName(e.Code))
}

func exceptionName(code byte) string {
	switch code {
	case 1:
		return "illegal function"
	case 2:
		return "illegal data address"
	case 3:
		return "illegal data value"
	case 4:
		return "device failure"
	case 5:
		return "acknowledge"
	case 6:
		return "device busy"
	case 0x0A:
		return "gateway path unavailable"
	case 0x0B:
		return "gateway target failed to respond"
	}
	return "unknown"
}

// boardError reports whether err is an answer from the board rather than a
// failure of the port itself. The port stays open after a board error; after
// a port error it is closed and reopened.
func boardError(err error) bool {
	var exc *ExceptionError
	return errors.As(err, &exc) || errors.Is(err, ErrNoReply) ||
		errors.Is(err, ErrBadCRC) || errors.Is(err, ErrBadEcho)
}
