package relay

import "time"

// supervise watches the hardware between pulses until Close: it notices a
// port that vanished and brings a faulty relay back. first is the wait
// before the first check.
func (p *pulser) supervise(first time.Duration) {
	defer close(p.supervised)
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		t.Reset(p.check())
	}
}

// check runs one round of supervision and returns the wait until the next.
func (p *pulser) check() time.Duration {
	select {
	case p.wire <- struct{}{}:
	default:
		// A pulse is using the hardware and will find any fault itself.
		return p.opts.CheckEvery
	}
	defer p.release()

	if p.connected && !p.needOff && p.status() != Faulty {
		if err := p.drv.present(); err != nil {
			p.disconnect()
			f := p.fault("watch", err)
			p.log.Warn("relay port vanished", "err", f)
			p.retry = 0
			return p.nextRetry()
		}
		return p.opts.CheckEvery
	}
	if err := p.recover(); err != nil {
		wait := p.nextRetry()
		p.log.Debug("relay still faulty", "err", err, "retry_in", wait)
		return wait
	}
	p.retry = 0
	return p.opts.CheckEvery
}

// nextRetry advances the backoff and returns the wait before the next
// attempt. The caller holds the wire.
func (p *pulser) nextRetry() time.Duration {
	if p.retry == 0 {
		p.retry = p.opts.Backoff.Initial
	} else {
		p.retry = min(2*p.retry, p.opts.Backoff.Max)
	}
	return p.retry
}
