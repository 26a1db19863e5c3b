package relaysim

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/scenicgate/scenicgate/hardware/relay/internal/frame"
)

// Protocol names the command set of a received frame.
type Protocol string

// The protocols the simulator decodes.
const (
	LCUS   Protocol = "lcus"
	Modbus Protocol = "modbus"
)

// Event is one command the simulated board received, or the end of a
// flash the board timed itself (Timer).
type Event struct {
	At       time.Time // when the simulator read the frame's last byte
	Protocol Protocol
	Addr     int  // Modbus device address; 0 for LCUS
	Channel  int  // LCUS channel (1-based) or Modbus coil address (0-based)
	On       bool // the command closes the contact
	// Flash is how long a Modbus "flash on" command closes the contact;
	// the board then opens it by itself. 0 for other commands.
	Flash time.Duration
	// Timer: no command, but the board opening the contact at the end of
	// a flash that no later command replaced. Raw is nil.
	Timer bool
	Raw   []byte
}

// String describes the event for people, e.g. "lcus channel 1 on".
func (e Event) String() string {
	state := "off"
	switch {
	case e.Flash > 0:
		state = fmt.Sprintf("flash %v", e.Flash)
	case e.On:
		state = "on"
	case e.Timer:
		return fmt.Sprintf("modbus device %d coil %d off by itself", e.Addr, e.Channel)
	}
	if e.Protocol == Modbus {
		return fmt.Sprintf("modbus device %d coil %d %s [% X]", e.Addr, e.Channel, state, e.Raw)
	}
	return fmt.Sprintf("lcus channel %d %s [% X]", e.Channel, state, e.Raw)
}

// idleFlush is how long an incomplete frame may wait for its remaining bytes.
// A real master sends a frame in one go (Modbus RTU even requires it, with
// 3.5 character times of silence between frames), so a stalled partial frame
// is garbage and must not swallow the next good one.
const idleFlush = 100 * time.Millisecond

// serve reads the master of t until it is closed, recording and answering
// what arrives. It closes done when it returns.
func (s *Sim) serve(t *terminal, done chan<- struct{}) {
	defer close(done)
	var pending []byte
	chunk := make([]byte, 256)
	for {
		deadline := time.Time{}
		if len(pending) > 0 {
			deadline = time.Now().Add(idleFlush)
		}
		if err := t.master.SetReadDeadline(deadline); err != nil {
			s.addJunk(pending)
			return
		}
		n, err := t.master.Read(chunk)
		pending = s.decode(t, append(pending, chunk[:n]...), time.Now())
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.addJunk(pending)
			pending = nil
		default: // closed by Unplug, or hung up
			s.addJunk(pending)
			return
		}
	}
}

// frameKind is what the start of the buffer holds.
type frameKind int

const (
	needMore frameKind = iota
	lcusFrame
	modbusFrame
	flashFrame
	badByte
)

// classify looks at the start of b. LCUS frames start with 0xA0, which is
// also a valid Modbus address, so a frame counts as LCUS only when its
// checksum holds and is tried as Modbus otherwise.
func classify(b []byte) frameKind {
	if len(b) == 0 {
		return needMore
	}
	if b[0] == frame.LCUSStart {
		if len(b) < frame.LCUSLen {
			return needMore
		}
		if _, _, ok := frame.ParseLCUS(b); ok {
			return lcusFrame
		}
	}
	if b[0] == 0 || b[0] > 247 || (len(b) > 1 && b[1] != frame.FuncWriteCoil) {
		return badByte // not the start of a write-coil request to a unicast address
	}
	if len(b) < frame.WriteCoilLen {
		return needMore
	}
	if _, err := frame.ParseWriteCoil(b); err == nil {
		return modbusFrame
	}
	if _, err := frame.ParseFlash(b); err == nil {
		return flashFrame
	}
	return badByte
}

// decode records every complete frame at the start of b, answers Modbus
// requests, and returns the bytes of an incomplete frame left at the end.
func (s *Sim) decode(t *terminal, b []byte, at time.Time) []byte {
	var junk []byte
	for {
		switch classify(b) {
		case needMore:
			s.addJunk(junk)
			return b
		case badByte:
			junk = append(junk, b[0])
			b = b[1:]
		case lcusFrame:
			ch, on, _ := frame.ParseLCUS(b)
			raw := slices.Clone(b[:frame.LCUSLen])
			b = b[frame.LCUSLen:]
			s.addJunk(junk)
			junk = nil
			s.record(Event{At: at, Protocol: LCUS, Channel: int(ch), On: on, Raw: raw})
		case modbusFrame:
			c, _ := frame.ParseWriteCoil(b)
			raw := slices.Clone(b[:frame.WriteCoilLen])
			b = b[frame.WriteCoilLen:]
			s.addJunk(junk)
			junk = nil
			s.record(Event{At: at, Protocol: Modbus, Addr: int(c.Addr), Channel: int(c.Coil), On: c.On, Raw: raw})
			s.answerModbus(t, raw)
		case flashFrame:
			c, _ := frame.ParseFlash(b)
			raw := slices.Clone(b[:frame.WriteCoilLen])
			b = b[frame.WriteCoilLen:]
			s.addJunk(junk)
			junk = nil
			s.record(Event{At: at, Protocol: Modbus, Addr: int(c.Addr), Channel: int(c.Relay), On: true, Flash: c.For, Raw: raw})
			s.answerModbus(t, raw)
		}
	}
}

// flashEnds opens the contact of a flash, as the board's timer does, unless
// a later command to that coil came first.
func (s *Sim) flashEnds(e Event, seq int) {
	time.AfterFunc(e.Flash, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, later := range s.events[seq+1:] {
			if later.Protocol == Modbus && later.Addr == e.Addr && later.Channel == e.Channel {
				return
			}
		}
		s.events = append(s.events, Event{At: time.Now(), Protocol: Modbus, Addr: e.Addr, Channel: e.Channel, Timer: true})
		close(s.changed)
		s.changed = make(chan struct{})
	})
}

// answerModbus replies to a write-coil request as the current ModbusAnswer
// says. A failed write means the pty was hung up; the reader notices on its
// next Read.
func (s *Sim) answerModbus(t *terminal, req []byte) {
	s.mu.Lock()
	a := s.answer
	s.mu.Unlock()
	var reply []byte
	switch {
	case a.Silent:
		return
	case a.Exception != 0:
		reply = frame.Exception(req[0], req[1], a.Exception)
	default:
		reply = slices.Clone(req)
	}
	if a.CorruptCRC {
		reply[len(reply)-1] ^= 0xFF
	}
	t.master.Write(reply)
}

func (s *Sim) record(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	close(s.changed)
	s.changed = make(chan struct{})
	if e.Flash > 0 {
		s.flashEnds(e, len(s.events)-1)
	}
}

func (s *Sim) addJunk(b []byte) {
	if len(b) == 0 {
		return
	}
	s.mu.Lock()
	s.junk = append(s.junk, slices.Clone(b))
	s.mu.Unlock()
}
