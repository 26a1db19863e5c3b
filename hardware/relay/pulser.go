package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// pulser is the Relay every driver gets: it serialises use of the hardware,
// times pulses, keeps the state and recovers from faults.
type pulser struct {
	drv  driver
	opts Options
	log  *slog.Logger
	name string // driver name for faults
	port string

	// wire holds a token while someone (a Pulse, the supervisor, Close)
	// drives the hardware; the fields below it belong to that holder.
	wire      chan struct{}
	connected bool
	needOff   bool      // an "on" may have reached the board without its "off"
	lastOff   time.Time // when the contact was last opened
	retry     time.Duration

	done       chan struct{} // closed by Close
	supervised chan struct{} // closed when the supervisor has returned
	closeOnce  sync.Once

	mu sync.Mutex // guards st
	st State
}

// start makes the first attempt at the hardware and starts the supervisor.
func start(drv driver, sp spec, opts Options) *pulser {
	log := opts.Logger.With("driver", sp.driver)
	if sp.port != "" {
		log = log.With("port", sp.port)
	}
	p := &pulser{
		drv:        drv,
		opts:       opts,
		log:        log,
		name:       sp.driver,
		port:       sp.port,
		wire:       make(chan struct{}, 1),
		needOff:    true, // the board may have been left on by a previous run
		done:       make(chan struct{}),
		supervised: make(chan struct{}),
		st:         State{Driver: sp.driver, Port: sp.port},
	}
	p.wire <- struct{}{}
	first := opts.CheckEvery
	if err := p.recover(); err != nil {
		p.log.Warn("relay not available; retrying in the background", "err", err)
		first = p.nextRetry()
	}
	p.release()
	go p.supervise(first)
	return p
}

func (p *pulser) Pulse(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		d = p.opts.Pulse
	}
	d = max(d, MinPulse)
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	if err := p.waitGap(ctx); err != nil {
		return err
	}

	onErr := p.commandFor(ctx, true, d)
	var cut error
	if onErr == nil {
		p.healthy(Pulsing)
		cut = hold(ctx, d)
	}
	var offErr error
	if p.connected { // otherwise nothing reached the board
		// The turnstile must not stay open because the caller gave up.
		offErr = p.command(context.WithoutCancel(ctx), false)
	}

	if err := firstFault(onErr, offErr); err != nil {
		p.mu.Lock()
		p.st.Failures++
		p.mu.Unlock()
		p.log.Error("relay pulse failed", "err", err)
		return err
	}
	p.healthy(Ready)
	if onErr != nil {
		return onErr
	}
	if cut != nil {
		return cut
	}
	p.mu.Lock()
	p.st.Pulses++
	p.st.LastPulse = p.lastOff
	p.mu.Unlock()
	return nil
}

// acquire waits for the wire, for the end of ctx or for Close.
func (p *pulser) acquire(ctx context.Context) error {
	p.mu.Lock()
	p.st.WaitingPulses++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.st.WaitingPulses--
		p.mu.Unlock()
	}()
	select {
	case p.wire <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return ErrClosed
	}
	select {
	case <-p.done:
		p.release() // Close is waiting for the wire
		return ErrClosed
	default:
		return nil
	}
}

func (p *pulser) release() { <-p.wire }

// waitGap keeps the contact open for Options.Gap after the previous pulse.
func (p *pulser) waitGap(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	wait := time.Until(p.lastOff.Add(p.opts.Gap))
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hold waits out a pulse of length d, or less if ctx ends.
func hold(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("relay: pulse cut short: %w", ctx.Err())
	}
}

// command switches the contact, opening the port if needed. A port error on
// a port that was already open is retried once on a reopened port, because
// the open file may be left over from a device that has since come back. It
// returns a *Fault, or ctx's error if ctx ended during the command.
func (p *pulser) command(ctx context.Context, on bool) error {
	return p.commandFor(ctx, on, 0)
}

// commandFor is command; an "on" for a pulse of hold asks the driver to
// close the contact for that long, so a board that can time it ends the
// pulse by itself.
func (p *pulser) commandFor(ctx context.Context, on bool, hold time.Duration) error {
	op := "off"
	if on {
		op = "on"
	}
	fresh := false
	for {
		if !p.connected {
			if err := p.drv.connect(); err != nil {
				return p.fault("open", err)
			}
			p.connected, fresh = true, true
		}
		if on {
			p.needOff = true
		}
		var err error
		if on && hold > 0 {
			err = p.drv.closeFor(ctx, hold)
		} else {
			err = p.drv.set(ctx, on)
		}
		switch {
		case err == nil:
			if !on {
				p.needOff = false
				p.lastOff = time.Now()
			}
			return nil
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			return err
		case boardError(err):
			return p.fault(op, err)
		}
		p.disconnect()
		if fresh {
			return p.fault(op, err)
		}
	}
}

// recover drives the relay off, reopening the port if needed, and clears the
// fault when that works. Since "off" is what an idle relay should be anyway,
// it doubles as a probe of the hardware.
func (p *pulser) recover() error {
	if err := p.command(context.Background(), false); err != nil {
		return err
	}
	p.healthy(Ready)
	return nil
}

func (p *pulser) disconnect() {
	p.drv.disconnect() // the port is being given up; its close error says nothing new
	p.connected = false
}

// fault records a hardware failure and returns it.
func (p *pulser) fault(op string, err error) *Fault {
	f := &Fault{Driver: p.name, Port: p.port, Op: op, Err: err}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st.Status != Faulty {
		p.st.FaultSince = time.Now()
	}
	p.st.Status, p.st.Err = Faulty, f
	return f
}

// healthy records that the hardware works: the contact is open (Ready) or
// closed for a pulse (Pulsing).
func (p *pulser) healthy(s Status) {
	p.mu.Lock()
	was := p.st
	p.st.Status, p.st.Err, p.st.FaultSince = s, nil, time.Time{}
	p.mu.Unlock()
	if was.Status == Faulty {
		p.log.Info("relay recovered", "was", was.Err, "down_for", time.Since(was.FaultSince).Round(time.Millisecond))
	}
}

func (p *pulser) status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.Status
}

func (p *pulser) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *pulser) Close() error {
	err := error(nil)
	p.closeOnce.Do(func() {
		close(p.done)
		<-p.supervised
		// Wait for the pulse in progress; the token is never given back, so
		// nothing touches the hardware after Close.
		p.wire <- struct{}{}
		if p.connected && p.needOff {
			p.command(context.Background(), false)
		}
		err = p.drv.disconnect()
		p.connected = false
		p.mu.Lock()
		p.st.Status, p.st.Err, p.st.FaultSince = Closed, nil, time.Time{}
		p.mu.Unlock()
	})
	return err
}

// firstFault returns the first of errs that is a *Fault.
func firstFault(errs ...error) error {
	for _, err := range errs {
		var f *Fault
		if errors.As(err, &f) {
			return err
		}
	}
	return nil
}
