package relaysim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/tarm/serial"

	"github.com/scenicgate/scenicgate/hardware/relay/internal/frame"
)

func startSim(t *testing.T) *Sim {
	t.Helper()
	s, err := Start(t.TempDir())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openPort opens the simulator's path the way the relay drivers do.
func openPort(t *testing.T, s *Sim) *serial.Port {
	t.Helper()
	p, err := serial.OpenPort(&serial.Config{Name: s.Path(), Baud: 9600, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("serial.OpenPort(%s): %v", s.Path(), err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func waitEvents(t *testing.T, s *Sim, n int) []Event {
	t.Helper()
	// Far above what a loaded machine takes: reaching it means a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev, err := s.WaitEvents(ctx, n)
	if err != nil {
		t.Fatalf("WaitEvents(%d): %v; have %v", n, err, ev)
	}
	return ev
}

// readFull reads n bytes from p, giving up after within.
func readFull(t *testing.T, p io.Reader, n int, within time.Duration) []byte {
	t.Helper()
	got := make([]byte, 0, n)
	deadline := time.Now().Add(within)
	if f, ok := p.(*os.File); ok {
		f.SetReadDeadline(deadline)
	}
	for len(got) < n && time.Now().Before(deadline) {
		m, err := p.Read(got[len(got):n])
		got = got[:len(got)+m]
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("read: %v", err)
		}
	}
	return got
}

var (
	lcusOn      = []byte{0xA0, 0x01, 0x01, 0xA2}
	modbusOn    = []byte{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A}
	modbusOff   = []byte{0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0xCD, 0xCA}
	controlJunk = []byte{0x0D, 0x0A, 0x11, 0x13, 0x03, 0x7F}
)

// TestRawBytes sends bytes a terminal in its default (cooked) mode would
// translate, echo or swallow: CR, LF, XON, XOFF, ^C, DEL. It opens the port
// with tarm/serial, as the relay drivers do, and as a plain file, which
// leaves the terminal settings to the simulator.
func TestRawBytes(t *testing.T) {
	openers := []struct {
		name string
		open func(*testing.T, *Sim) io.ReadWriter
	}{
		{"tarm/serial", func(t *testing.T, s *Sim) io.ReadWriter { return openPort(t, s) }},
		{"plain file", func(t *testing.T, s *Sim) io.ReadWriter {
			f, err := os.OpenFile(s.Path(), os.O_RDWR|syscall.O_NOCTTY, 0)
			if err != nil {
				t.Fatalf("open %s: %v", s.Path(), err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}},
	}
	for _, o := range openers {
		t.Run(o.name, func(t *testing.T) {
			s := startSim(t)
			p := o.open(t, s)
			var msg []byte
			msg = append(msg, lcusOn...)
			msg = append(msg, controlJunk...)
			msg = append(msg, modbusOn...)
			if _, err := p.Write(msg); err != nil {
				t.Fatalf("write: %v", err)
			}
			ev := waitEvents(t, s, 2)
			if ev[0].Protocol != LCUS || ev[0].Channel != 1 || !ev[0].On || !bytes.Equal(ev[0].Raw, lcusOn) {
				t.Errorf("event 0 = %v; want lcus channel 1 on [% X]", ev[0], lcusOn)
			}
			if ev[1].Protocol != Modbus || ev[1].Addr != 1 || ev[1].Channel != 0 || !ev[1].On || !bytes.Equal(ev[1].Raw, modbusOn) {
				t.Errorf("event 1 = %v; want modbus device 1 coil 0 on [% X]", ev[1], modbusOn)
			}
			if got := bytes.Join(s.Undecoded(), nil); !bytes.Equal(got, controlJunk) {
				t.Errorf("Undecoded = % X; want % X", got, controlJunk)
			}
			// The echo must come back unchanged and alone: a terminal that
			// echoes input would also bounce it back to the simulator.
			if got := readFull(t, p, len(modbusOn), 5*time.Second); !bytes.Equal(got, modbusOn) {
				t.Errorf("reply = % X; want the echo % X", got, modbusOn)
			}
			if got := readFull(t, p, 1, 300*time.Millisecond); len(got) != 0 {
				t.Errorf("extra byte after the echo: % X", got)
			}
			if ev := s.Events(); len(ev) != 2 {
				t.Errorf("events = %v; want exactly 2", ev)
			}
		})
	}
}

func TestModbusAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer ModbusAnswer
		want   []byte
	}{
		{"echo", ModbusAnswer{}, modbusOff},
		{"exception", ModbusAnswer{Exception: 2}, []byte{0x01, 0x85, 0x02, 0xC3, 0x51}},
		{"corrupt CRC", ModbusAnswer{CorruptCRC: true}, []byte{0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0xCD, 0x35}},
		{"silent", ModbusAnswer{Silent: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSim(t)
			s.SetModbusAnswer(tt.answer)
			p := openPort(t, s)
			if _, err := p.Write(modbusOff); err != nil {
				t.Fatalf("write: %v", err)
			}
			got := readFull(t, p, len(tt.want), 5*time.Second)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("answer = % X; want % X", got, tt.want)
			}
			if extra := readFull(t, p, 1, 300*time.Millisecond); len(extra) != 0 {
				t.Errorf("extra byte after the answer: % X", extra)
			}
			if ev := waitEvents(t, s, 1); ev[0].On || ev[0].Protocol != Modbus {
				t.Errorf("event = %v; want modbus off", ev[0])
			}
		})
	}
}

// A frame cut short must end up as undecoded bytes and must not swallow the
// next good frame, however the two arrive.
func TestPartialFrame(t *testing.T) {
	s := startSim(t)
	p := openPort(t, s)
	if _, err := p.Write(modbusOn[:3]); err != nil {
		t.Fatalf("write: %v", err)
	}
	time.Sleep(2 * idleFlush)
	if _, err := p.Write(modbusOn); err != nil {
		t.Fatalf("write: %v", err)
	}
	ev := waitEvents(t, s, 1)
	if !bytes.Equal(ev[0].Raw, modbusOn) {
		t.Errorf("event = %v; want [% X]", ev[0], modbusOn)
	}
	if got := bytes.Join(s.Undecoded(), nil); !bytes.Equal(got, modbusOn[:3]) {
		t.Errorf("Undecoded = % X; want % X", got, modbusOn[:3])
	}
}

func TestUnplugAndPlug(t *testing.T) {
	s := startSim(t)
	old := openPort(t, s)
	before := s.Device()
	if err := s.Unplug(); err != nil {
		t.Fatalf("Unplug: %v", err)
	}
	if err := s.Unplug(); err != nil {
		t.Fatalf("second Unplug: %v", err)
	}
	if _, err := os.Stat(s.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%s) after Unplug = %v; want ErrNotExist", s.Path(), err)
	}
	if s.Device() != "" {
		t.Errorf("Device() after Unplug = %q; want \"\"", s.Device())
	}
	if _, err := old.Write(lcusOn); err == nil {
		t.Errorf("write to an unplugged port succeeded; want an I/O error")
	}
	if err := s.Plug(); err != nil {
		t.Fatalf("Plug: %v", err)
	}
	if s.Device() == "" {
		t.Fatalf("Device() after Plug = \"\"; want a pty (was %s)", before)
	}
	p := openPort(t, s)
	if _, err := p.Write(lcusOn); err != nil {
		t.Fatalf("write after Plug: %v", err)
	}
	if ev := waitEvents(t, s, 1); !bytes.Equal(ev[0].Raw, lcusOn) {
		t.Errorf("event after Plug = %v; want [% X]", ev[0], lcusOn)
	}
}

func TestWaitEventsTimeout(t *testing.T) {
	s := startSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ev, err := s.WaitEvents(ctx, 1)
	if !errors.Is(err, context.DeadlineExceeded) || len(ev) != 0 {
		t.Errorf("WaitEvents with no traffic = %v, %v; want no events and DeadlineExceeded", ev, err)
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Start("")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%s) after Close = %v; want ErrNotExist", path, err)
	}
	if err := s.Plug(); err == nil {
		t.Errorf("Plug after Close succeeded; want an error")
	}
}

// TestFlashEndsByItself: a "flash on" closes the contact for its time, then
// the simulated board opens it by itself, unless a command came first.
func TestFlashEndsByItself(t *testing.T) {
	s := startSim(t)
	p := openPort(t, s)
	flash := frame.Flash(frame.FlashCmd{Addr: 1, Relay: 0, For: 200 * time.Millisecond})
	if _, err := p.Write(flash); err != nil {
		t.Fatal(err)
	}
	ev := waitEvents(t, s, 2)
	if !ev[0].On || ev[0].Flash != 200*time.Millisecond || !ev[1].Timer || ev[1].On || ev[1].Channel != 0 {
		t.Fatalf("events %v; want a flash of 200ms, then the board's own off", ev)
	}
	if held := ev[1].At.Sub(ev[0].At); held < 200*time.Millisecond {
		t.Errorf("the board opened after %v; want the flash's 200ms", held)
	}
	readFull(t, p, len(flash), 5*time.Second)

	// An "off" before the flash ends leaves the timer nothing to do.
	if _, err := p.Write(append(slices.Clone(flash), modbusOff...)); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, s, 4)
	time.Sleep(400 * time.Millisecond)
	if ev := s.Events(); len(ev) != 4 || ev[3].Timer {
		t.Errorf("events %v; want no timer after the off", ev)
	}
}
