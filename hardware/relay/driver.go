package relay

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/tarm/serial"
)

// driver talks to one kind of relay hardware. The pulser calls it from one
// goroutine at a time (whoever holds the wire), so drivers need no locking.
type driver interface {
	// connect opens the port. It is called only while disconnected.
	connect() error
	// set switches the contact. It is called only while connected. Errors
	// for which boardError is true leave the port usable; any other error
	// means the port is broken.
	set(ctx context.Context, on bool) error
	// closeFor closes the contact for a pulse of d. A board that can time
	// it (Modbus "flash") opens the contact again by itself, so the pulse
	// ends even if the program dies during it; the others are set on.
	closeFor(ctx context.Context, d time.Duration) error
	// disconnect closes the port; it does nothing while disconnected.
	disconnect() error
	// present reports whether the port still exists, without using it.
	present() error
}

// port is the part of *serial.Port the drivers use.
type port interface {
	io.ReadWriteCloser
	// Flush discards bytes received but not yet read.
	Flush() error
}

// line is a serial port that can be closed and opened again.
type line struct {
	cfg  serial.Config
	open func(*serial.Config) (port, error)
	p    port // nil while disconnected
}

// newLine returns a disconnected 8N1 line. readTimeout bounds each Read; 0
// makes reads block until a byte arrives.
func newLine(path string, baud int, readTimeout time.Duration) *line {
	return &line{
		cfg:  serial.Config{Name: path, Baud: baud, ReadTimeout: readTimeout},
		open: openSerial,
	}
}

func openSerial(c *serial.Config) (port, error) {
	p, err := serial.OpenPort(c)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (l *line) connect() error {
	p, err := l.open(&l.cfg)
	if err != nil {
		return err
	}
	l.p = p
	return nil
}

func (l *line) disconnect() error {
	if l.p == nil {
		return nil
	}
	err := l.p.Close()
	l.p = nil
	return err
}

// present stats the path: a USB serial adapter's device node disappears
// when it is unplugged, while the open file merely starts failing.
func (l *line) present() error {
	_, err := os.Stat(l.cfg.Name)
	return err
}

func (l *line) write(b []byte) error {
	n, err := l.p.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}
