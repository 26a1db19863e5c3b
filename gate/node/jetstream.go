package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// jetStreamState is what the gate knows of JetStream's answers to its
// claims. It is safe for concurrent use.
//
// A claim that gets no answer waits (checking) up to --claim-wait. When it
// has waited that long, claims decide offline at once (offline) until
// JetStream answers again: a claim, or the probe (watchJetStream). The probe
// alone never makes claims decide offline: a leader election is short, and
// a visitor arriving during one waits for it rather than risk a double
// admission.
type jetStreamState struct {
	mu            sync.Mutex
	checkingSince time.Time
	checkingErr   error
	offlineSince  time.Time // claims decide offline at once
	offlineErr    error
	probeErr      error // the probe's last failure; nil once it answers
	probeSince    time.Time
}

func (s *jetStreamState) checking(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkingSince, s.checkingErr = time.Now(), err
}

func (s *jetStreamState) checked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkingSince, s.checkingErr = time.Time{}, nil
}

// unavailable: a claim waited --claim-wait in vain.
func (s *jetStreamState) unavailable(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.offlineSince.IsZero() {
		s.offlineSince = time.Now()
	}
	s.offlineErr = err
}

// up: JetStream answered a claim.
func (s *jetStreamState) up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offlineSince, s.offlineErr = time.Time{}, nil
}

// down reports whether claims decide offline at once.
func (s *jetStreamState) down() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.offlineSince.IsZero()
}

// probed records the probe's outcome; an answer also ends offline claims.
func (s *jetStreamState) probed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.probeErr, s.probeSince = nil, time.Time{}
		s.offlineSince, s.offlineErr = time.Time{}, nil
		return
	}
	if s.probeErr == nil {
		s.probeSince = time.Now()
	}
	s.probeErr = err
}

// faults says what staff should know, in the words of the gate's status.
func (s *jetStreamState) faults(now time.Time, wait time.Duration) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var f []string
	if !s.checkingSince.IsZero() {
		f = append(f, fmt.Sprintf("claims: checking with NATS JetStream for %v (%v); a visitor waits up to %v",
			now.Sub(s.checkingSince).Round(100*time.Millisecond), s.checkingErr, wait))
	}
	switch {
	case !s.offlineSince.IsZero():
		f = append(f, fmt.Sprintf("nats: JetStream unavailable since %s (%v); entry-limited tickets decided offline",
			s.offlineSince.Format(time.TimeOnly), s.offlineErr))
	case s.probeErr != nil:
		f = append(f, fmt.Sprintf("nats: JetStream not answering since %s (%v)", s.probeSince.Format(time.TimeOnly), s.probeErr))
	}
	return f
}

// watchJetStream asks JetStream for its state every interval (the
// heartbeat's) while the gate is connected, so the status tells when claims
// cannot be made even with nobody at the gate, and claims stop deciding
// offline as soon as JetStream answers again.
func (n *Node) watchJetStream(ctx context.Context, interval time.Duration) {
	for {
		if n.online() {
			n.jetstream.probed(n.probeJetStream(ctx))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// probeJetStream asks for the account's JetStream state, which only a
// JetStream with a quorum answers. A stream's state is no such test: a
// node left alone still describes the streams it holds.
func (n *Node) probeJetStream(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := n.js.AccountInfo(pctx)
	return err
}

// link remembers since when the NATS connection has been down.
type link struct {
	mu        sync.Mutex
	downSince time.Time // zero while connected
}

// follow keeps track of nc's status until ctx ends.
func (l *link) follow(ctx context.Context, nc *nats.Conn) {
	ch := nc.StatusChanged()
	defer nc.RemoveStatusListener(ch)
	l.set(nc.Status())
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-ch:
			l.set(st)
		}
	}
}

func (l *link) set(st nats.Status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case st == nats.CONNECTED:
		l.downSince = time.Time{}
	case l.downSince.IsZero():
		l.downSince = time.Now()
	}
}

// downFor returns how long the connection has been down at now; 0 while
// it is up.
func (l *link) downFor(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.downSince.IsZero() {
		return 0
	}
	return now.Sub(l.downSince)
}
