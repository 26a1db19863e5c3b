// Package relaysim simulates turnstile relay boards on a real
// pseudo-terminal, so the relay drivers (and the programs that use them) can
// be tested and demonstrated without hardware.
//
// A Sim owns a stable path (a symbolic link to the current pty slave) that is
// passed to the relay as its port, e.g. "lcus:"+sim.Path() or
// "modbus:"+sim.Path()+"?addr=1&coil=0". It decodes what it receives — LCUS
// commands and Modbus RTU write-single-coil requests, told apart by their
// checksums — records each as an Event, and answers Modbus requests the way a
// board does, by echoing them (or otherwise, see SetModbusAnswer). Like
// boards that have the function, it takes Modbus "flash on" requests and
// opens the contact by itself when the flash is over, recorded as a Timer
// event. Bytes it cannot decode are kept in Undecoded.
//
// Unplug and Plug make the port vanish and return, as a USB relay does when
// its cable is pulled and pushed back: Unplug removes the link and hangs up
// the pty, so a relay holding it gets I/O errors; Plug opens a fresh pty and
// points the link at it.
package relaysim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// LinkName is the name of the link Start creates in its folder.
const LinkName = "ttyRELAY0"

// ModbusAnswer says how the simulated Modbus board answers a write-coil
// request. The zero value answers as a healthy board does: with an echo of
// the request.
type ModbusAnswer struct {
	// Silent sends no answer at all, as a board that is unpowered or set to
	// another address; the master times out.
	Silent bool
	// Exception, when non-zero, answers with this Modbus exception code
	// (2 = illegal data address, as for a coil the board does not have).
	Exception byte
	// CorruptCRC echoes the request with a broken CRC, as line noise would.
	CorruptCRC bool
}

// Sim is a simulated relay board on a pseudo-terminal. Its methods are safe
// for concurrent use. Close releases it.
type Sim struct {
	link   string
	ownDir string // folder made by Start, removed by Close; "" when the caller chose it

	// plugging serialises Plug and Unplug, so that an Unplug still removing
	// the old link cannot remove the one a concurrent Plug just made.
	plugging sync.Mutex

	mu      sync.Mutex
	term    *terminal     // nil while unplugged
	served  chan struct{} // closed when the reader of term has returned
	events  []Event
	junk    [][]byte
	changed chan struct{} // closed and replaced whenever events grows
	answer  ModbusAnswer
	closed  bool
}

// Start opens a simulator with its link in dir (a fresh temporary folder when
// dir is ""). The simulator is plugged in when Start returns.
func Start(dir string) (*Sim, error) {
	s := &Sim{changed: make(chan struct{})}
	if dir == "" {
		d, err := os.MkdirTemp("", "relaysim-")
		if err != nil {
			return nil, fmt.Errorf("relaysim: %w", err)
		}
		dir, s.ownDir = d, d
	}
	s.link = filepath.Join(dir, LinkName)
	if err := s.Plug(); err != nil {
		if s.ownDir != "" {
			os.RemoveAll(s.ownDir)
		}
		return nil, err
	}
	return s, nil
}

// Path returns the port path to give the relay. It stays the same across
// Unplug and Plug; it does not exist while unplugged.
func (s *Sim) Path() string { return s.link }

// Device returns the pty slave the link points at, or "" while unplugged.
func (s *Sim) Device() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.term == nil {
		return ""
	}
	return s.term.slave.Name()
}

// SetModbusAnswer changes how later Modbus requests are answered.
func (s *Sim) SetModbusAnswer(a ModbusAnswer) {
	s.mu.Lock()
	s.answer = a
	s.mu.Unlock()
}

// Events returns the commands received so far, oldest first. The slice is a
// copy; the Raw bytes inside it are shared and must not be modified.
func (s *Sim) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// WaitEvents waits until at least n commands have been received and returns
// all of them, as Events does. When ctx ends first it returns the events
// received so far and an error wrapping ctx.Err().
func (s *Sim) WaitEvents(ctx context.Context, n int) ([]Event, error) {
	for {
		s.mu.Lock()
		got, changed := len(s.events), s.changed
		if got >= n {
			ev := slices.Clone(s.events)
			s.mu.Unlock()
			return ev, nil
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return s.Events(), fmt.Errorf("relaysim: received %d of %d events: %w", got, n, ctx.Err())
		}
	}
}

// Undecoded returns the bytes that were not part of any valid command, in
// arrival order, one slice per run of consecutive bad bytes. A healthy relay
// driver leaves it empty.
func (s *Sim) Undecoded() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.junk))
	for i, b := range s.junk {
		out[i] = slices.Clone(b)
	}
	return out
}

// Plug opens a new pseudo-terminal and points Path at it. Plugging an already
// plugged simulator does nothing.
func (s *Sim) Plug() error {
	s.plugging.Lock()
	defer s.plugging.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("relaysim: plug: simulator is closed")
	}
	if s.term != nil {
		return nil
	}
	t, err := openTerminal()
	if err != nil {
		return err
	}
	// Replace the link in one rename, so a relay reopening the path never
	// sees it missing or half-made.
	tmp := s.link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(t.slave.Name(), tmp); err != nil {
		t.close()
		return fmt.Errorf("relaysim: plug: %w", err)
	}
	if err := os.Rename(tmp, s.link); err != nil {
		os.Remove(tmp)
		t.close()
		return fmt.Errorf("relaysim: plug: %w", err)
	}
	s.term, s.served = t, make(chan struct{})
	go s.serve(t, s.served)
	return nil
}

// Unplug removes Path and hangs up the pseudo-terminal, and returns once the
// simulator has stopped reading it. Unplugging an unplugged simulator does
// nothing.
func (s *Sim) Unplug() error {
	s.plugging.Lock()
	defer s.plugging.Unlock()
	s.mu.Lock()
	t, served := s.term, s.served
	s.term = nil
	s.mu.Unlock()
	if t == nil {
		return nil
	}
	// The device node goes first, as when a USB adapter is pulled: a relay
	// that reopens after its write fails must not find the old port.
	err := os.Remove(s.link)
	if cerr := t.close(); err == nil {
		err = cerr
	}
	<-served
	if err != nil {
		return fmt.Errorf("relaysim: unplug: %w", err)
	}
	return nil
}

// Close unplugs the simulator and removes the folder Start made. The recorded
// events stay readable. Close may be called more than once.
func (s *Sim) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return nil
	}
	err := s.Unplug()
	if s.ownDir != "" {
		if rerr := os.RemoveAll(s.ownDir); err == nil {
			err = rerr
		}
	}
	return err
}
