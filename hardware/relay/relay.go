// Package relay opens turnstiles. A gate admits a visitor by pulsing a relay
// whose contact is wired to the turnstile's dry-contact input: the contact
// closes for the pulse (turnstiles need at least 100 ms) and opens again.
//
// Open takes the spec a gate is configured with:
//
//	lcus:/dev/ttyUSB0[?channel=1&baud=9600]
//	    LCUS-type USB relay (CH340). Commands A0 <channel> <state> <sum>.
//	modbus:/dev/ttyUSB0[?addr=1&coil=0&baud=9600&timeout=500ms&flash=1]
//	    Modbus RTU board, "write single coil" (function 0x05). The board's
//	    echo of each request is read and checked. coil is the 0-based
//	    address sent on the wire: the board's relay 1 is usually coil 0.
//	    flash=1 starts each pulse with the board's "flash on" command
//	    (Waveshare's Modbus RTU Relay and boards like it: coil 0x0200+N,
//	    the time in tenths of a second), so the board opens the contact by
//	    itself when the pulse is over, even if the gate died meanwhile.
//	    Boards without it refuse the command: the relay shows a fault.
//	log
//	    No hardware: each change of the contact is logged, for demos and
//	    lanes without a turnstile.
//
// # Pulses
//
// Pulses are serialised: a Pulse that arrives while another is in progress
// waits its turn and then gives its own full pulse, with the contact open for
// at least Options.Gap in between. Many turnstiles count pulses, one passage
// per pulse, so stretching the pulse in progress would admit one visitor
// where two were accepted. A caller that stops waiting (its context ends)
// leaves the queue without anything being sent.
//
// # Faults and recovery
//
// A hardware failure never panics and never stops the relay; it becomes a
// *Fault, which Pulse returns and State reports until the hardware works
// again. Recovery needs no restart:
//
//   - Every Pulse tries the hardware, reopening the port first if it is
//     closed. A command that fails on a port that was already open (a USB
//     adapter that was pulled out and pushed back leaves a dead file behind)
//     is retried once on a freshly opened port. Commands are idempotent
//     (absolute on and off, never toggle), so the retry is safe.
//   - A supervisor goroutine checks every Options.CheckEvery that the port's
//     path still exists, so an unplugged relay shows as faulty before the
//     next visitor arrives. While the relay is faulty it reopens the port
//     and sends "off", with exponential backoff (Options.Backoff); the first
//     success clears the fault.
//   - Open drives the relay off as soon as it reaches the port, and while
//     an "off" is owed (it failed, or the port went away mid-pulse) the
//     supervisor keeps sending it, so a turnstile is not left held open by
//     a pulse whose end was lost. A program that dies mid-pulse sends no
//     "off" at all: an LCUS board then stays closed until the program
//     starts again, a Modbus board with flash=1 opens by itself.
//
// A Modbus board that answers with an exception, a bad CRC or not at all is a
// fault too, but its port stays open.
package relay

import (
	"context"
	"log/slog"
	"time"
)

// Relay pulses one turnstile relay. Implementations are safe for concurrent
// use.
type Relay interface {
	// Pulse closes the contact, holds it for d and opens it again. d <= 0
	// means Options.Pulse; shorter than MinPulse means MinPulse. Pulse waits
	// for pulses in progress to finish first (see the package
	// documentation).
	//
	// When ctx ends while waiting nothing is sent and ctx.Err() is returned.
	// When it ends mid-pulse the pulse is cut short, the contact is still
	// opened, and ctx.Err() is returned. A hardware failure returns a
	// *Fault; after Close, ErrClosed.
	Pulse(ctx context.Context, d time.Duration) error
	// State reports the relay's condition, for the gate's status page.
	State() State
	// Close lets a pulse in progress finish, stops the supervisor and
	// closes the port. Pulses still waiting get ErrClosed. Close may be
	// called more than once; later calls return nil.
	Close() error
}

// Status summarises a relay.
type Status int

const (
	// Ready: the hardware works (or none is needed) and the contact is
	// open, so the turnstile is locked.
	Ready Status = iota
	// Pulsing: the contact is closed for a pulse.
	Pulsing
	// Faulty: the last use of the hardware failed; State.Err says why.
	Faulty
	// Closed: Close was called.
	Closed
)

func (s Status) String() string {
	switch s {
	case Ready:
		return "ready"
	case Pulsing:
		return "pulsing"
	case Faulty:
		return "fault"
	case Closed:
		return "closed"
	}
	return "unknown"
}

// State is a snapshot of a relay. Err is the *Fault behind Faulty and nil
// otherwise.
type State struct {
	Status        Status
	Driver        string // "lcus", "modbus" or "log"
	Port          string // device path; "" for the log driver
	Err           error
	FaultSince    time.Time // when the current fault began; zero when not Faulty
	Pulses        uint64    // pulses completed since Open
	Failures      uint64    // pulses that returned a *Fault
	LastPulse     time.Time // end of the last completed pulse
	WaitingPulses int       // Pulse calls queued behind the one in progress
}

// Pulse lengths.
const (
	// MinPulse is the shortest pulse turnstile inputs reliably register.
	MinPulse = 100 * time.Millisecond
	// DefaultPulse is used when Options.Pulse is zero.
	DefaultPulse = 300 * time.Millisecond
)

// Defaults for Options.
const (
	DefaultGap            = 100 * time.Millisecond
	DefaultBackoffInitial = 250 * time.Millisecond
	DefaultBackoffMax     = 10 * time.Second
	DefaultCheckEvery     = time.Second
)

// Options tunes a relay. The zero value uses the defaults above.
type Options struct {
	// Logger receives faults and recoveries (and, for the log driver, every
	// pulse). nil means slog.Default().
	Logger *slog.Logger
	// Pulse is the length of Pulse(ctx, 0); at least MinPulse.
	Pulse time.Duration
	// Gap is the least time the contact stays open between two pulses, so
	// that the turnstile sees two pulses rather than one long one.
	Gap time.Duration
	// Backoff paces the supervisor's attempts to get a faulty relay back.
	// A Pulse always makes its own attempt: a visitor is waiting.
	Backoff Backoff
	// CheckEvery is how often the supervisor checks that an idle port still
	// exists.
	CheckEvery time.Duration
}

// Backoff is an exponential backoff: Initial, doubled after each failure, at
// most Max.
type Backoff struct {
	Initial, Max time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Pulse <= 0 {
		o.Pulse = DefaultPulse
	}
	o.Pulse = max(o.Pulse, MinPulse)
	if o.Gap <= 0 {
		o.Gap = DefaultGap
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff.Initial = DefaultBackoffInitial
	}
	if o.Backoff.Max <= 0 {
		o.Backoff.Max = DefaultBackoffMax
	}
	o.Backoff.Max = max(o.Backoff.Max, o.Backoff.Initial)
	if o.CheckEvery <= 0 {
		o.CheckEvery = DefaultCheckEvery
	}
	return o
}

// Open returns the relay described by spec (see the package documentation).
// It fails only for a bad spec, with an error wrapping ErrBadSpec. A port that
// is missing or broken does not stop Open: the relay starts Faulty and
// recovers by itself once the port works, so a gate can boot with its USB
// relay unplugged and show the fault rather than refuse to run.
//
// Open tries the port once before returning, so State is meaningful at once.
// The caller must Close the relay.
func Open(spec string, opts Options) (Relay, error) {
	sp, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return start(newDriver(sp, opts.Logger), sp, opts), nil
}

// newDriver builds the driver a spec names.
func newDriver(sp spec, log *slog.Logger) driver {
	switch sp.driver {
	case "lcus":
		return &lcusDriver{line: newLine(sp.port, sp.baud, 0), channel: sp.channel}
	case "modbus":
		return &modbusDriver{
			line:    newLine(sp.port, sp.baud, modbusReadSlice),
			addr:    sp.addr,
			coil:    sp.coil,
			timeout: sp.timeout,
			flash:   sp.flash,
		}
	}
	return &logDriver{log: log}
}
