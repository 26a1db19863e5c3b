package relay_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/hardware/relay"
	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
)

// testLogger sends a relay's log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// fastOptions make the supervisor react within tens of milliseconds.
func fastOptions(t *testing.T) relay.Options {
	return relay.Options{
		Logger:     testLogger(t),
		CheckEvery: 20 * time.Millisecond,
		Backoff:    relay.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
	}
}

func startSim(t *testing.T) *relaysim.Sim {
	t.Helper()
	s, err := relaysim.Start(t.TempDir())
	if err != nil {
		t.Fatalf("relaysim.Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openRelay(t *testing.T, spec string, opts relay.Options) relay.Relay {
	t.Helper()
	r, err := relay.Open(spec, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", spec, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func waitEvents(t *testing.T, s *relaysim.Sim, n int) []relaysim.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := s.WaitEvents(ctx, n)
	if err != nil {
		t.Fatalf("WaitEvents(%d): %v; have %v", n, err, ev)
	}
	return ev
}

// noMoreEvents fails if the simulator receives more than n events in a short
// while.
func noMoreEvents(t *testing.T, s *relaysim.Sim, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if ev, err := s.WaitEvents(ctx, n+1); err == nil {
		t.Errorf("events = %v; want only %d", ev, n)
	}
}

func waitStatus(t *testing.T, r relay.Relay, want relay.Status) relay.State {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := r.State()
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("State().Status = %v (err %v); want %v", st.Status, st.Err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readSlack is how much shorter than a pulse the simulator may measure it.
// The simulator stamps a frame when its goroutine reads it, which lags the
// relay's write by however long that goroutine waits for a CPU; when the "on"
// waits longer than the "off", the measured gap shrinks by the difference.
// 20 ms leaves room for a loaded machine; a relay that skipped or cut the
// wait would still fall short by far more.
const readSlack = 20 * time.Millisecond

// checkPulse checks that the last two events are exactly on then off, about
// d apart or more.
func checkPulse(t *testing.T, ev []relaysim.Event, on, off []byte, d time.Duration) {
	t.Helper()
	if len(ev) < 2 {
		t.Fatalf("events = %v; want a pulse", ev)
	}
	gotOn, gotOff := ev[len(ev)-2], ev[len(ev)-1]
	if string(gotOn.Raw) != string(on) || string(gotOff.Raw) != string(off) {
		t.Errorf("pulse sent [% X] then [% X]; want [% X] then [% X]", gotOn.Raw, gotOff.Raw, on, off)
	}
	if gap := gotOff.At.Sub(gotOn.At); gap < d-readSlack {
		t.Errorf("off came %v after on; want at least the pulse, %v", gap, d)
	}
}
