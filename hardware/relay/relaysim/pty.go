package relaysim

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// terminal is one pseudo-terminal pair. The simulator reads and answers on
// the master; the slave is what the relay under test opens.
type terminal struct {
	master *os.File // pollable, so Close interrupts a blocked Read
	slave  *os.File // held open so the master never reads EIO between relay reopens
}

// openTerminal opens a pseudo-terminal in raw mode.
func openTerminal() (*terminal, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("relaysim: open pty: %w", err)
	}
	if err := makeRaw(slave); err != nil {
		master.Close()
		slave.Close()
		return nil, err
	}
	pollable, err := pollable(master)
	if err != nil {
		slave.Close()
		return nil, err
	}
	return &terminal{master: pollable, slave: slave}, nil
}

// makeRaw turns off every line-discipline feature that would change bytes on
// their way through: echo, canonical mode, CR/LF translation, signals and
// flow-control characters. Relay frames are binary (0xA0, 0x0D, 0x11 and 0x13
// all occur), so the relay must see exactly what the simulator wrote and vice
// versa. A serial library that sets termios itself on open still starts from
// this state.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("relaysim: read termios of %s: %w", f.Name(), err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("relaysim: set raw mode on %s: %w", f.Name(), err)
	}
	return nil
}

// pollable returns a non-blocking, runtime-polled copy of f and closes f.
// pty.Open hands back a master in blocking mode, and a blocking Read cannot be
// interrupted by Close, which would leave the reader goroutine stuck forever
// after Unplug.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("relaysim: dup pty master: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("relaysim: pty master non-blocking: %w", err)
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// close hangs up the terminal: a relay still holding the slave gets EIO on
// its next write, as it would from a USB adapter that was pulled out.
func (t *terminal) close() error {
	err := t.master.Close()
	if serr := t.slave.Close(); err == nil {
		err = serr
	}
	return err
}
